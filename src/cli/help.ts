/**
 * Help pages and usage errors, from the command definitions (src/cli/spec.ts): `atmos-pipe
 * --help` lists the commands by category, one line each; `atmos-pipe <cmd> --help` (or `help
 * <cmd>`) shows what that command takes, grouped, with its examples; a mistyped command or
 * option is one line with the closest match (git, cargo), never every command's usage.
 */
import { didYouMean } from '../diagnostics/index.js';
import { escapeControls } from '../output/format.js';
import { exitCode } from './exit.js';
import { type CommandSpec, findCommand, GROUP_ORDER, leadingWords, negatedFlag, type OptionSpec, optionNames, optionText, positionalText } from './spec.js';

const BIN = 'atmos-pipe';
const CATEGORY_ORDER = ['Run', 'Inspect', 'Tracking', 'CI', 'Vendoring'];

/** Strip the common indentation of a template string and its blank first and last lines. */
function dedent(text: string): string {
  const lines = text
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '')
    .split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Word-wrap one paragraph at `width` columns, every line indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out.join('\n');
}

/** The usage line of a command: `atmos-pipe rollout [deployment] [options]`. */
export function usageLine(spec: CommandSpec): string {
  const pos = spec.positionals.map(positionalText);
  const required = spec.options.filter((o) => o.required && !o.hidden).map(optionText);
  return [BIN, ...(spec.paths[0] ?? []), ...pos, ...required, ...(spec.options.some((o) => !o.required && !o.hidden) ? ['[options]'] : [])].join(' ');
}

function commandName(spec: CommandSpec): string {
  return (spec.paths[0] ?? []).join(' ');
}

/** The options of a command by help section, sections in {@link GROUP_ORDER}. */
function grouped(options: OptionSpec[]): [string, OptionSpec[]][] {
  const by = new Map<string, OptionSpec[]>();
  for (const o of options) {
    if (o.hidden) continue;
    by.set(o.group, [...(by.get(o.group) ?? []), o]);
  }
  const rank = (g: string) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.indexOf('Options') + 0.5);
  return [...by.entries()].sort((a, b) => rank(a[0]) - rank(b[0]));
}

/** One command's help page. */
export function renderCommandHelp(spec: CommandSpec, width = 100): string {
  const out: string[] = [];
  if (spec.description) out.push(`${spec.description}\n`);
  out.push(`Usage: ${usageLine(spec)}`);
  for (const p of spec.paths.slice(1)) out.push(`       ${BIN} ${p.join(' ')} …`);
  out.push('');
  if (spec.details) {
    for (const para of dedent(spec.details).split(/\n\s*\n/)) out.push(wrap(para, width, '  '), '');
  }
  const cols = Math.min(34, Math.max(...spec.options.map((o) => optionText(o).length + 4), 0));
  for (const [group, opts] of grouped(spec.options)) {
    out.push(`${group}:`);
    for (const o of opts) {
      const left = `  ${optionText(o)}`;
      const neg = negatedFlag(o);
      const text = neg ? (o.description ?? '').slice(neg.length + 1) : (o.description ?? '');
      const desc = wrap(text, width, ' '.repeat(cols + 2)).trimStart();
      out.push(left.length + 2 <= cols + 2 ? `${left.padEnd(cols + 2)}${desc}` : `${left}\n${' '.repeat(cols + 2)}${desc}`);
    }
    out.push('');
  }
  if (spec.examples.length) {
    out.push('Examples:');
    for (const [label, cmd] of spec.examples) out.push(`  ${label}`, `    $ ${cmd.replace(/\$0/g, BIN)}`);
    out.push('');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** `atmos-pipe --help`: the commands by category, one line each. */
export function renderCommandList(specs: CommandSpec[], version: string): string {
  const out = [`${BIN} ${version}: explicit deployments for Atmos-style repositories`, '', `Usage: ${BIN} <command> [options]`, ''];
  const cats = [...new Set(specs.map((s) => s.category ?? 'Other'))].sort((a, b) => {
    const r = (c: string) => (CATEGORY_ORDER.includes(c) ? CATEGORY_ORDER.indexOf(c) : CATEGORY_ORDER.length);
    return r(a) - r(b) || a.localeCompare(b);
  });
  const width = Math.max(...specs.map((s) => commandName(s).length)) + 2;
  for (const cat of cats) {
    out.push(`${cat}:`);
    for (const s of specs.filter((x) => (x.category ?? 'Other') === cat)) out.push(`  ${commandName(s).padEnd(width)}${s.description ?? ''}`);
    out.push('');
  }
  out.push(`Global options: -C/--chdir <dir>, --config <file>, --color auto|always|never, -v/--verbose, -q/--quiet, -V/--version`);
  out.push(`Run '${BIN} <command> --help' (or '${BIN} help <command>') for its options and examples.`);
  return `${out.join('\n')}\n`;
}

/** A pointer to the help of a command (or of the tool). */
function seeHelp(spec?: CommandSpec): string {
  return spec ? `see '${BIN} ${commandName(spec)} --help'` : `see '${BIN} --help'`;
}

/** `rollot` is not a command (or `vendor pul`): one line, with the closest command. */
export function unknownCommandError(words: string[], specs: CommandSpec[]): string {
  const names = [...new Set(specs.flatMap((s) => s.paths.map((p) => p.join(' '))))];
  const firsts = [...new Set(specs.flatMap((s) => s.paths.map((p) => p[0])))];
  if (firsts.includes(words[0])) {
    const subs = names.filter((n) => n.startsWith(`${words[0]} `));
    if (words.length < 2) return `${BIN}: '${words[0]}' needs a subcommand: ${subs.join(', ')} (${seeHelp()})\n`;
    const word = `${words[0]} ${words[1]}`;
    const guess = didYouMean(word, subs);
    return `${BIN}: '${word}' is not a command${guess ? `; did you mean '${guess}'?` : ''} (${seeHelp()})\n`;
  }
  const guess = didYouMean(words[0], firsts) ?? didYouMean(words[0], names);
  return `${BIN}: '${words[0]}' is not a command${guess ? `; did you mean '${guess}'?` : ''} (${seeHelp()})\n`;
}

/**
 * The first option in `args` that `spec` does not take (`--taget`, or a letter of a `-xyz`
 * cluster), up to a `--`; undefined when all are known.
 */
export function unknownOption(spec: CommandSpec, args: string[]): string | undefined {
  const known = new Set(['-h', '--help', ...spec.options.flatMap(optionNames)]);
  for (const a of args) {
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) continue;
    const name = a.startsWith('--') ? a.split('=')[0] : a.length > 2 && !a.includes('=') ? undefined : a.split('=')[0];
    if (name !== undefined) {
      if (!known.has(name)) return name;
      continue;
    }
    for (const ch of a.slice(1)) if (!known.has(`-${ch}`)) return `-${ch}`;
  }
  return undefined;
}

/** The arguments of a command line that are not options nor option values. */
function positionalArgs(spec: CommandSpec, args: string[]): string[] {
  const valued = new Set(spec.options.filter((o) => o.arity > 0).flatMap((o) => o.names));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return [...out, ...args.slice(i + 1)];
    if (a.startsWith('-') && a !== '-') {
      if (!a.includes('=') && valued.has(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** `--taget` is not an option of rollout: one line, with the closest option. */
export function unknownOptionError(spec: CommandSpec, option: string): string {
  const longs = spec.options.filter((o) => !o.hidden).flatMap((o) => optionNames(o).filter((n) => n.startsWith('--')));
  const guess = option.startsWith('--') ? didYouMean(option, longs) : undefined;
  return `${BIN} ${commandName(spec)}: unknown option '${option}'${guess ? `; did you mean '${guess}'?` : ''} (${seeHelp(spec)})\n`;
}

/**
 * Any other usage error of a command (a missing or extra argument, an option without its
 * value, a value out of range), as one line located to the command.
 */
export function commandUsageError(spec: CommandSpec | undefined, message: string): string {
  let text = message
    .split('\n')[0]
    .replace(/^(Unknown Syntax Error|Usage Error):\s*/, '')
    .replace(/\.$/, '');
  if (spec && /^Not enough positional arguments/.test(text)) {
    const missing = spec.positionals.filter((p) => p.required).map(positionalText);
    text = `missing ${missing.join(' ') || 'argument'}`;
  }
  if (spec && /^Extraneous positional argument/.test(text)) text = `${text.charAt(0).toLowerCase()}${text.slice(1)}; it takes ${spec.positionals.map(positionalText).join(' ') || 'no arguments'}`;
  text = text.charAt(0).toLowerCase() + text.slice(1);
  return `${BIN}${spec ? ` ${commandName(spec)}` : ''}: ${text} (usage: ${spec ? usageLine(spec) : `${BIN} <command> [options]`}; ${seeHelp(spec)})\n`;
}

/** What to print instead of running a command: help on stdout (exit 0) or a usage error on stderr (exit 2). */
export interface Answer {
  stdout?: string;
  stderr?: string;
  code: number;
}

/**
 * `--help` / `-h` anywhere before `--`, `help [command]`, or no arguments at all: the help
 * page asked for; undefined when argv asks for something else.
 */
export function answerHelp(argv: string[], specs: CommandSpec[], version: string): Answer | undefined {
  const end = argv.indexOf('--');
  const opts = end < 0 ? argv : argv.slice(0, end);
  const helpFlag = opts.includes('--help') || opts.includes('-h');
  let words = leadingWords(argv);
  if (words[0] === 'help') words = words.slice(1);
  else if (!helpFlag && argv.length > 0) return undefined;
  if (words.length === 0) return { stdout: renderCommandList(specs, version), code: exitCode('success') };
  const found = findCommand(specs, words);
  if (!found) return { stderr: inert(unknownCommandError(words, specs)), code: exitCode('invalid') };
  return { stdout: renderCommandHelp(found.spec, Math.min(100, process.stdout.columns || 100)), code: exitCode('success') };
}

/** An error line that echoes the command line: its control characters shown escaped, never sent to the terminal. */
function inert(line: string): string {
  return `${escapeControls(line.replace(/\n$/, ''))}\n`;
}

/** A usage error clipanion raised for `argv`, as one line located to the command. */
export function answerUsageError(argv: string[], specs: CommandSpec[], message: string): Answer {
  const a = usageErrorOf(argv, specs, message);
  return { ...a, stderr: inert(a.stderr ?? '') };
}

function usageErrorOf(argv: string[], specs: CommandSpec[], message: string): Answer {
  const words = leadingWords(argv);
  const found = findCommand(specs, words);
  if (!found) {
    if (words.length) return { stderr: unknownCommandError(words, specs), code: exitCode('invalid') };
    const opt = argv.find((a) => a.startsWith('-'));
    return { stderr: `${BIN}: unknown option '${opt ?? ''}'; a command comes first (see '${BIN} --help')\n`, code: exitCode('invalid') };
  }
  const bad = unknownOption(found.spec, argv.slice(found.used));
  if (bad) return { stderr: unknownOptionError(found.spec, bad), code: exitCode('invalid') };
  // More arguments than the command takes (clipanion then finds no command at all).
  const pos = found.spec.positionals;
  const extra = pos.some((p) => p.rest) ? undefined : positionalArgs(found.spec, argv.slice(found.used))[pos.length];
  if (extra !== undefined && /^Command not found/.test(message)) message = `Extraneous positional argument ("${extra}")`;
  return { stderr: commandUsageError(found.spec, message), code: exitCode('invalid') };
}
