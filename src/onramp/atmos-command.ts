/**
 * The Atmos custom command `deployment` (issue 20): added to atmos.yaml's `commands:` list so
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

/** What adding the block to an atmos.yaml did. */
export type AddCommandResult = { status: 'added'; text: string } | { status: 'present' } | { status: 'invalid'; reason: string };

/**
 * atmos.yaml's text with the `deployment` command appended to its `commands:` list (created
 * when absent). The file is parsed with the `yaml` Document API to find the list, and the new
 * entry is inserted as text after its last item (or a `commands:` section appended at the
 * end): every other byte — comments, key order, quoting — stays as it was. A `deployment`
 * command already there is left alone (never duplicated).
 */
export function addAtmosCommand(text: string, command: AtmosCommand): AddCommandResult {
  const doc = parseDocument(text);
  if (doc.errors.length) return { status: 'invalid', reason: doc.errors[0].message.split('\n')[0] };
  if (doc.contents !== null && !isMap(doc.contents)) return { status: 'invalid', reason: 'its top level is not a mapping' };
  const existing = doc.contents === null ? undefined : doc.get('commands', true);
  const item = compact(new Document([command])).toString({ lineWidth: 0, indentSeq: true });
  let out: string;
  if (existing === undefined || (isScalar(existing) && existing.value === null)) {
    const body = `commands:\n${indent(item, 2)}`;
    const base = existing === undefined ? text : removeEmptyKey(text, doc);
    out = `${base}${base === '' || base.endsWith('\n') ? '' : '\n'}${base.trim() === '' ? '' : '\n'}${ATMOS_COMMENT}${body}`;
  } else if (isSeq(existing)) {
    if (existing.items.some((i) => isMap(i) && i.get('name') === ATMOS_COMMAND_NAME)) return { status: 'present' };
    if (existing.flow || !existing.range || existing.items.length === 0) return { status: 'invalid', reason: '`commands:` is a flow list; write it as a block list (- name: …) first' };
    const first = existing.items[0] as { range?: [number, number, number] };
    const col = first.range ? first.range[0] - text.lastIndexOf('\n', first.range[0] - 1) - 1 : 2;
    // The dash of the first item sits two columns before its content.
    const dashCol = Math.max(0, col - 2);
    const end = existing.range[1];
    const lineEnd = text.indexOf('\n', end - 1) === -1 ? text.length : text.indexOf('\n', end - 1) + 1;
    const at = text.slice(0, end).endsWith('\n') ? end : lineEnd;
    const head = text.slice(0, at);
    out = `${head}${head.endsWith('\n') ? '' : '\n'}${indent(item, dashCol)}${text.slice(at)}`;
  } else {
    return { status: 'invalid', reason: '`commands:` is not a list' };
  }
  // What was written must parse to the same document plus the one command.
  const check = parseDocument(out);
  const before = (doc.toJS() ?? {}) as Record<string, unknown>;
  const after = check.toJS() as Record<string, unknown>;
  const cmds = after?.commands;
  if (check.errors.length || !Array.isArray(cmds) || JSON.stringify(cmds[cmds.length - 1]) !== JSON.stringify(command)) {
    return { status: 'invalid', reason: 'the commands list could not be extended in place; add the block from the README by hand' };
  }
  const { commands: _a, ...restBefore } = before;
  const { commands: _b, ...restAfter } = after;
  if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) return { status: 'invalid', reason: 'adding the block would change other keys; add it by hand' };
  return { status: 'added', text: out };
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

const ATMOS_COMMENT = '# `atmos deployment <command> …` runs `atmos-pipe <command> …` (added by atmos-pipe init)\n';

function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

/** The text without an empty `commands:` key (a null value), so it can be written again below. */
function removeEmptyKey(text: string, doc: Document): string {
  const pair = isMap(doc.contents) ? doc.contents.items.find((p) => isScalar(p.key) && p.key.value === 'commands') : undefined;
  const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return text;
  const lineStart = text.lastIndexOf('\n', range[0] - 1) + 1;
  const lineEnd = text.indexOf('\n', range[0]);
  return text.slice(0, lineStart) + (lineEnd === -1 ? '' : text.slice(lineEnd + 1));
}
