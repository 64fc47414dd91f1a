/**
 * The Atmos custom command `deployment` (issue 20), written by init to `.atmos.d/atmos-pipe.yaml` so
 * that `atmos deployment rollout payment-service --target dev` runs `atmos-pipe rollout
 * payment-service --target dev` inside an Atmos installation, every verb and flag unchanged.
 *
 * Atmos custom commands (cloudposse/atmos pkg/schema/command.go `Command`, cmd/cmd_utils.go
 * `createCustomCommand`) are Cobra commands: a flag must be declared to be accepted, and only
 * what follows `--` reaches `{{ .TrailingArgs }}` (shell-quoted). So the block declares one
 * sub-command per atmos-pipe command (nested `commands:` for `vendor pull` …), each with the
 * command's positional `arguments` and its `flags` (`type: bool` for switches, `string`
 * otherwise; no shorthands, which could clash with Atmos's global ones such as `-C`), generated
 * from atmos-pipe's own command definitions. Values never become shell text: each one is
 * exported through the command's `env` (Go-templated there) and its single step reads it
 * quoted (`${V:+--target "$V"}`), so a value with spaces, quotes or `;` stays one argument.
 * `atmos deployment -- <anything>` forwards raw arguments (repeated flags, new commands).
 * `ATMOS_PIPE_BIN` overrides the program (`npx atmos-pipe`).
 */
import { Document, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';

/** One atmos-pipe command, as its CLI definition describes it. */
export interface CommandShape {
  /** Words after the program (`['vendor', 'pull']`). */
  path: string[];
  description: string;
  positionals: { name: string; required: boolean }[];
  options: { name: string; boolean: boolean; description: string }[];
}

/** Atmos's global flags (pkg/flags/global_builder.go) and atmos-pipe's, which Atmos handles itself: never redeclared. */
const RESERVED_FLAGS = new Set([
  'chdir',
  'config',
  'config-path',
  'color',
  'base-path',
  'logs-level',
  'logs-file',
  'no-color',
  'interactive',
  'pager',
  'cast',
  'identity',
  'profiler-enabled',
  'profiler-port',
  'profiler-host',
  'profile-file',
  'profile-type',
  'heatmap',
  'heatmap-mode',
  'ai',
  'redirect-stderr',
  'use-version',
  'settings-list-merge-strategy',
  'edition',
  'help',
  'version',
]);

/** The default of an optional argument (Atmos needs one): stands for "not given". */
const OMITTED = '-';

/** The name of the custom command. */
export const ATMOS_COMMAND_NAME = 'deployment';

/** The program a step runs: `ATMOS_PIPE_BIN` (e.g. `npx atmos-pipe`), else atmos-pipe on PATH (shell text, not a template). */
const PROGRAM = ['$', '{ATMOS_PIPE_BIN:-atmos-pipe}'].join('');

const envName = (kind: 'ARG' | 'FLAG', name: string) => `ATMOS_PIPE_${kind}_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
/** A flag's help in Atmos: the first clause of atmos-pipe's, short (the full text is in `atmos-pipe <command> --help`). */
const short = (s: string) => {
  const first = oneLine(s)
    .split(/(?<=\.)\s|;\s|\s\(/)[0]
    .replace(/\.$/, '');
  return first.length > 60 ? `${first.slice(0, 57)}…` : first;
};

/** An Atmos custom command (the subset of Atmos's `Command` schema this block uses). */
export interface AtmosCommand {
  name: string;
  description: string;
  arguments?: { name: string; description: string; required: boolean; default?: string }[];
  flags?: { name: string; type: 'string' | 'bool'; description: string }[];
  env?: { key: string; value: string }[];
  steps?: string[];
  commands?: AtmosCommand[];
}

/** The sub-command forwarding one atmos-pipe command. */
function leaf(word: string, c: CommandShape): AtmosCommand {
  // Atmos refuses an omitted argument that has no default, `required: false` or not (cmd/cmd_utils.go
  // preCustomCommand): an optional one gets the default OMITTED, which never reaches atmos-pipe.
  const args = c.positionals.map((p) => ({
    name: p.name,
    description: `${p.name}${p.required ? '' : ' (optional)'}`,
    required: p.required,
    ...(p.required ? {} : { default: OMITTED }),
  }));
  const flags = c.options
    .filter((o) => !RESERVED_FLAGS.has(o.name))
    .flatMap((o) => {
      const f = { name: o.name, type: o.boolean ? ('bool' as const) : ('string' as const), description: short(o.description) || o.name };
      // A switch that is on by default is turned off with `--no-<name>`: Atmos needs that one declared too.
      const negated = o.boolean && o.description.includes(`--no-${o.name}`) ? [{ name: `no-${o.name}`, type: 'bool' as const, description: `Turn off --${o.name}` }] : [];
      return [f, ...negated];
    });
  const env = [
    ...args.map((a) => ({
      key: envName('ARG', a.name),
      value: a.required ? `{{ index .Arguments "${a.name}" }}` : `{{ with index .Arguments "${a.name}" }}{{ if ne . "${OMITTED}" }}{{ . }}{{ end }}{{ end }}`,
    })),
    ...flags.filter((f) => f.type === 'string').map((f) => ({ key: envName('FLAG', f.name), value: `{{ index .Flags "${f.name}" }}` })),
  ];
  const words = [
    PROGRAM,
    ...c.path,
    ...args.map((a) => `\${${envName('ARG', a.name)}:+"$${envName('ARG', a.name)}"}`),
    ...flags.map((f) => (f.type === 'bool' ? `{{ if index .Flags "${f.name}" }}--${f.name}{{ end }}` : `\${${envName('FLAG', f.name)}:+--${f.name} "$${envName('FLAG', f.name)}"}`)),
    '{{ .TrailingArgs }}',
  ];
  return {
    name: word,
    description: oneLine(c.description) || `atmos-pipe ${c.path.join(' ')}`,
    ...(args.length ? { arguments: args } : {}),
    ...(flags.length ? { flags } : {}),
    ...(env.length ? { env } : {}),
    steps: [words.join(' ')],
  };
}

/** The `deployment` custom command forwarding every given atmos-pipe command (nested by path). */
export function atmosDeploymentCommand(commands: CommandShape[]): AtmosCommand {
  const root: AtmosCommand = {
    name: ATMOS_COMMAND_NAME,
    description: 'Deployments with atmos-pipe: `atmos deployment <command> …` runs `atmos-pipe <command> …` (`atmos deployment -- <args>` passes arguments as they are)',
    steps: [`${PROGRAM} {{ .TrailingArgs }}`],
    commands: [],
  };
  const sorted = [...commands].filter((c) => c.path.length > 0).sort((a, b) => a.path.length - b.path.length || a.path.join(' ').localeCompare(b.path.join(' ')));
  for (const c of sorted) {
    let parent = root;
    for (const w of c.path.slice(0, -1)) {
      parent.commands ??= [];
      let group = parent.commands.find((x) => x.name === w);
      if (!group) {
        group = { name: w, description: `atmos-pipe ${c.path.slice(0, c.path.indexOf(w) + 1).join(' ')} commands`, commands: [] };
        parent.commands.push(group);
      }
      parent = group;
    }
    parent.commands ??= [];
    const word = c.path[c.path.length - 1];
    const existing = parent.commands.find((x) => x.name === word);
    // A group that is also a command (`promotion` beside `promotion graph` would be one): its own leaf keeps the group's children.
    if (existing) Object.assign(existing, { ...leaf(word, c), commands: existing.commands });
    else parent.commands.push(leaf(word, c));
  }
  return root;
}

/** Where init writes the block: an Atmos config fragment beside atmos.yaml (see `atmosCommandFile`). */
export const ATMOS_COMMAND_FILE = '.atmos.d/atmos-pipe.yaml';

/** The line an older init wrote above the block it inserted into atmos.yaml itself. */
const OLD_MARKER = '(added by atmos-pipe init)';

/**
 * The text of `.atmos.d/atmos-pipe.yaml`: a header and a `commands:` list holding the
 * `deployment` command, nothing else.
 *
 * Atmos reads it without any reference from atmos.yaml (cloudposse/atmos 0a1cb448,
 * pkg/config/load.go): `mergeDefaultImports` (:1637) loads the fragments of the Git root
 * (`loadAtmosDFromGitRoot`, :1665) and then of atmos.yaml's own directory, later winning;
 * `loadAtmosDFromDirectory` (:1704) reads `atmos.d/` and then `.atmos.d/` of a directory,
 * each recursively (a `**` glob, :1711, :1723) that `SearchAtmosConfig`
 * (pkg/config/imports.go:201, `generatePatterns`) narrows to `.yaml` and `.yml` files,
 * shallower files first, then by name. Commands merge by name (`mergeCommandArrays`,
 * load.go:2086, the later one wins), and in the final order (load.go:1429-1431) these default
 * imports come first, then atmos.yaml's
 * explicit `import:`s, then atmos.yaml's own `commands:`: a `deployment` the user defines in
 * atmos.yaml overrides this one (init does not write it then).
 */
export function atmosCommandFile(command: AtmosCommand): string {
  const item = compact(new Document([command])).toString({ lineWidth: 0, indentSeq: true });
  return `${FILE_HEADER}commands:\n${indent(item, 2)}`;
}

const FILE_HEADER = `# Generated by \`atmos-pipe init\`: the Atmos custom command \`deployment\`
# (\`atmos deployment <command> …\` runs \`atmos-pipe <command> …\`), one sub-command per
# atmos-pipe command with its arguments and flags. Atmos loads it from .atmos.d/ beside
# atmos.yaml; atmos.yaml is not changed. Do not edit: run \`atmos-pipe init\` again to
# regenerate it (after upgrading atmos-pipe), or delete this file to remove the command.
`;

/**
 * Whether an Atmos config text (atmos.yaml or a fragment) already defines the `deployment`
 * command: `old-init` when an older init inserted it there (its comment line is above it),
 * `defined` when someone else did, `none`, or `invalid` (the text does not parse).
 */
export function deploymentDefinedIn(text: string): { status: 'none' | 'defined' | 'old-init' } | { status: 'invalid'; reason: string } {
  const doc = parseDocument(text);
  if (doc.errors.length) return { status: 'invalid', reason: doc.errors[0].message.split('\n')[0] };
  const cmds = isMap(doc.contents) ? doc.contents.get('commands', true) : undefined;
  if (!isSeq(cmds) || !cmds.items.some((i) => isMap(i) && i.get('name') === ATMOS_COMMAND_NAME)) return { status: 'none' };
  return { status: text.includes(OLD_MARKER) ? 'old-init' : 'defined' };
}

/** One line per argument, flag and env entry (flow maps): the block stays readable. */
function compact(doc: Document): Document {
  visit(doc, {
    Pair(_, pair) {
      const k = isScalar(pair.key) ? pair.key.value : undefined;
      if ((k === 'arguments' || k === 'flags' || k === 'env') && isSeq(pair.value)) for (const i of pair.value.items) if (isMap(i)) i.flow = true;
    },
  });
  return doc;
}

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}
