/**
 * What a command takes, read from its clipanion definition (the same option objects clipanion
 * parses with), for the help pages, the usage errors and the shell completion scripts. Nothing
 * here is a hand-written list of commands or options: a new option or command shows up in all
 * three by being declared.
 *
 * Option groups: an option's group is the command's own `static optionGroups` entry for its
 * long name, else {@link OPTION_GROUPS} (the options many commands share), else "Options".
 */
import { Command } from 'clipanion';

/** One option as clipanion registers it. */
export interface OptionSpec {
  /** e.g. ['-t', '--target'] */
  names: string[];
  /** 0 for a flag, 1 for an option that takes a value. */
  arity: number;
  description?: string;
  hidden: boolean;
  required: boolean;
  /** The help section it is listed under. */
  group: string;
}

/** One positional argument (`rest`: any number of them). */
export interface PositionalSpec {
  name: string;
  required: boolean;
  rest: boolean;
}

export interface CommandSpec {
  /** Every path the command answers to; the first is its name. */
  paths: string[][];
  category?: string;
  description?: string;
  details?: string;
  examples: [string, string][];
  options: OptionSpec[];
  positionals: PositionalSpec[];
}

/** The sections of a help page, in order (an unknown group goes before Global). */
export const GROUP_ORDER = ['Target & scope', 'Execution', 'Release & tracking', 'Output', 'Options', 'Global'];

/**
 * The group of the options several commands share, by long name. A command's own option
 * goes under "Options" unless the command names its group in `static optionGroups`.
 */
const OPTION_GROUPS: Record<string, string> = {
  '--chdir': 'Global',
  '--config': 'Global',
  '--color': 'Global',
  '--verbose': 'Global',
  '--quiet': 'Global',
  '--target': 'Target & scope',
  '--component': 'Target & scope',
  '--with-deps': 'Target & scope',
  '--label': 'Target & scope',
  '--all': 'Target & scope',
  '--context': 'Target & scope',
  '--parallelism': 'Execution',
  '--no-cache': 'Execution',
  '--engine': 'Execution',
  '--sandbox': 'Execution',
  '--keep-going': 'Execution',
  '--keep-workspace': 'Execution',
  '--lock-timeout': 'Execution',
  '--allow-tool-drift': 'Execution',
  '--dry-run': 'Execution',
  '--cache-remote': 'Execution',
  '--skip-push': 'Execution',
  '--promote-from': 'Release & tracking',
  '--release': 'Release & tracking',
  '--git-sha': 'Release & tracking',
  '--skip-promotion-check': 'Release & tracking',
  '--approve': 'Release & tracking',
  '--approver': 'Release & tracking',
  '--annotation': 'Release & tracking',
  '--push': 'Release & tracking',
  '--remote': 'Release & tracking',
  '--allow-dirty': 'Release & tracking',
  '--fetch': 'Release & tracking',
  '--from-plan': 'Release & tracking',
  '--format': 'Output',
  '--events': 'Output',
  '--junit-xml': 'Output',
  '--out': 'Output',
  '--output': 'Output',
};

/** A command class as this module reads it. */
export type CommandClass = (new () => Command) & {
  paths?: string[][];
  usage?: { category?: string; description?: string; details?: string; examples?: [string, string][] };
  /** Long option name -> help section, for this command's own options (see {@link GROUP_ORDER}). */
  optionGroups?: Record<string, string>;
};

/** The long name of an option (its last name), e.g. `--target`. */
export function longName(o: { names: string[] }): string {
  return o.names[o.names.length - 1];
}

/** What `cls` takes, by running its option definitions against a recording builder. */
export function commandSpec(cls: CommandClass): CommandSpec {
  const options: OptionSpec[] = [];
  const positionals: PositionalSpec[] = [];
  const groups = cls.optionGroups ?? {};
  const builder = {
    addOption(o: { names: string[]; arity?: number; description?: string; hidden?: boolean; required?: boolean }) {
      const long = longName(o);
      options.push({
        names: o.names,
        arity: o.arity ?? 0,
        description: o.description,
        hidden: Boolean(o.hidden),
        required: Boolean(o.required),
        group: groups[long] ?? OPTION_GROUPS[long] ?? 'Options',
      });
    },
    addPositional(p: { name?: string; required?: boolean } = {}) {
      positionals.push({ name: p.name ?? 'arg', required: p.required ?? true, rest: false });
    },
    addRest(p: { name?: string; required?: number } = {}) {
      positionals.push({ name: p.name ?? 'arg', required: (p.required ?? 0) > 0, rest: true });
    },
    addProxy(p: { name?: string; required?: number } = {}) {
      positionals.push({ name: p.name ?? 'arg', required: (p.required ?? 0) > 0, rest: true });
    },
  };
  const instance = new cls() as unknown as Record<string, unknown>;
  for (const key of Object.keys(instance)) {
    const v = instance[key] as { [Command.isOption]?: boolean; definition?: (b: typeof builder, key: string) => void } | null;
    if (v && typeof v === 'object' && v[Command.isOption] && v.definition) v.definition(builder, key);
  }
  const u = cls.usage;
  return { paths: cls.paths ?? [], category: u?.category, description: u?.description, details: u?.details, examples: u?.examples ?? [], options, positionals };
}

/** `<deployment>`, `[deployment]`, `[file...]`: a positional as usage lines show it. */
export function positionalText(p: PositionalSpec): string {
  const name = `${p.name}${p.rest ? '...' : ''}`;
  return p.required ? `<${name}>` : `[${name}]`;
}

/**
 * A flag that is on by default and documented by its negation (`description: '--no-fetch: …'`):
 * its help shows `--no-fetch`.
 */
export function negatedFlag(o: OptionSpec): string | undefined {
  const neg = `--no-${longName(o).replace(/^-+/, '')}`;
  return o.arity === 0 && o.description?.startsWith(`${neg}:`) ? neg : undefined;
}

/** The value placeholder of an option: `--target <target>` (never clipanion's `#0`). */
export function optionText(o: OptionSpec): string {
  const neg = negatedFlag(o);
  if (neg) return neg;
  const names = o.names.join(', ');
  return o.arity > 0 ? `${names} <${longName(o).replace(/^-+/, '')}>` : names;
}

/** Every name an option answers to, with `--no-x` for a flag (clipanion accepts it for every boolean). */
export function optionNames(o: OptionSpec): string[] {
  return o.arity === 0 ? [...o.names, ...o.names.filter((n) => n.startsWith('--') && !n.startsWith('--no-')).map((n) => `--no-${n.slice(2)}`)] : o.names;
}

/**
 * The command `words` (argv without options) name: the longest path that prefixes them, with
 * how many words it used; undefined when none does.
 */
export function findCommand<T extends { paths: string[][] }>(specs: T[], words: string[]): { spec: T; used: number } | undefined {
  let best: { spec: T; used: number } | undefined;
  for (const spec of specs) {
    for (const p of spec.paths) {
      if (p.length === 0 || p.length > words.length || !p.every((w, i) => words[i] === w)) continue;
      if (!best || p.length > best.used) best = { spec, used: p.length };
    }
  }
  return best;
}

/** The leading words of argv that are not options (the command path and positionals). */
export function leadingWords(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    out.push(a);
  }
  return out;
}

/** A command as clipanion's `cli.definitions()` describes it (the registered commands). */
export interface ClipanionDefinition {
  path: string;
  usage: string;
  category?: string;
  description?: string;
  options: { definition: string; description?: string; required?: boolean }[];
}

/**
 * The spec of a registered command from clipanion's own description of it (what a running
 * command sees through `this.cli.definitions()`): names and arity from `-t,--target #0`,
 * positionals from the usage line.
 */
export function specFromDefinition(d: ClipanionDefinition): CommandSpec {
  const path = d.path.split(' ').slice(1);
  const options: OptionSpec[] = d.options.map((o) => {
    const [names, ...args] = o.definition.split(' ');
    const list = names.split(',');
    return { names: list, arity: args.length, description: o.description, hidden: false, required: Boolean(o.required), group: OPTION_GROUPS[list[list.length - 1]] ?? 'Options' };
  });
  const positionals: PositionalSpec[] = d.usage
    .split(' ')
    .slice(1 + path.length)
    .filter((w) => /^[<[][^-]/.test(w))
    .map((w) => ({ name: w.replace(/^[<[]|[>\]]$/g, '').replace(/\.\.\.$/, ''), required: w.startsWith('<'), rest: w.includes('...') }));
  return { paths: [path], category: d.category, description: d.description, examples: [], options, positionals };
}
