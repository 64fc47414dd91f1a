/**
 * `!terraform.output` / `!terraform.state` to a component outside this deployment's target
 * (issue 13): read from its Terraform state when the configuration is resolved, as Atmos's
 * `!terraform.state` reads it (internal/exec/terraform_state_utils.go `GetTerraformState` →
 * internal/terraform_backend `GetTerraformBackend`), with no Terraform process.
 *
 * Where the component is:
 *  - a component of another atmos-pipe deployment or target whose stack has that name: its
 *    state is where atmos-pipe keeps it (modules/terraform: `.atmos/state/<d>/<t>/<c>.tfstate`
 *    when the stacks set no backend, else the stacks' repository-relative local `path`, the
 *    workspace under `workspace_dir` or `<path>.d`);
 *  - else the component in the stack file Atmos gives that name (manifest `name:`,
 *    `stacks.name_template`, `name_pattern`, file path), its backend and workspace derived as
 *    Atmos derives them; a `local` backend is read as Atmos reads it
 *    (terraform_backend_local.go `ReadTerraformBackendLocal`): the backend's `path` (relative
 *    to the component's directory), else `terraform.tfstate` for the `default` workspace, else
 *    `terraform.tfstate.d/<workspace>/terraform.tfstate` (under the backend's `workspace_dir`
 *    instead when it sets one, where Terraform writes it).
 *  - a `pg` backend (Terraform's built-in PostgreSQL backend) is read too: the workspace's row
 *    of `<schema_name>.states`, read-only, over the stacks' `conn_str` or the runner's
 *    `PG_CONN_STR`.
 *
 * The value is the yq expression over the state's outputs (`outputs.<name>.value`), with
 * Atmos's `// default` applied when the state or the output is missing
 * (yaml_func_terraform_state.go `hasYqDefault`). Everything that cannot be read here (a remote
 * backend, a missing state file or output, a sensitive output) is a located error naming the
 * component, the stack, the backend and why.
 *
 * Sensitive outputs: Atmos returns them (terraform_backend_utils.go `ProcessTerraformStateFile`
 * keeps every `outputs.<name>.value`). atmos-pipe refuses them: a value read here becomes part
 * of the component's configuration (the tfvars in the CAS, describe, release records), and
 * SPEC 4.1 keeps sensitive outputs out of plaintext outside Terraform's state.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, didYouMean, type DiagnosticBag, type Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import { listDeploymentFiles, loadDeploymentFile, type DeploymentConfig } from '../config/deployment.js';
import type { YamlFileCache } from '../config/files.js';
import { loadStack } from '../stacks/index.js';
import { stackNames } from '../stacks/names.js';
import type { ResolvedStackComponent } from '../stacks/types.js';
import { isPlainMap } from '../yaml/index.js';
import { splitArgs } from '../yaml/functions.js';
import { loadTargetStacks, stackComponent, stackLoadOptions } from './stack-config.js';
import { pgIdentifier, postgresRowSync } from '../steps/facts.js';
import { secrets } from '../secrets/index.js';

/** The arguments of `!terraform.output` / `!terraform.state`: `component [stack] expression`. */
export interface TerraformArgs {
  component: string;
  /** Absent: the component's own stack. */
  stack?: string;
  /** The output name or yq expression (`vpc_id`, `.subnets[0]`, `.id // "none"`). */
  expression: string;
}

/** Atmos pkg/function/parser `isExpressionStart`: an argument that begins the expression. */
const EXPRESSION_START = /^[.[{|'"]/;

/** Atmos pkg/function/parser `unquote`: one pair of matching quotes removed, doubled quotes read as one. */
function unquote(v: string): string {
  const t = v.trim();
  const q = t[0];
  if (t.length < 2 || (q !== '"' && q !== "'") || t[t.length - 1] !== q) return t;
  return t.slice(1, -1).replaceAll(q + q, q);
}

/**
 * The arguments parsed as Atmos `ParseTerraform` parses them: the expression is everything
 * from the argument that starts it (so `.id // "none"` may hold spaces) or the last argument.
 */
export function parseTerraformArgs(args: string): TerraformArgs | { error: string } {
  const split = splitArgs(args);
  if ('error' in split) return split;
  if (split.length < 2) return { error: 'it takes a component, an optional stack and an output' };
  const startsExpression = (i: number) => EXPRESSION_START.test(args.slice(split[i].start));
  const component = split[0].value;
  if (split.length === 2 || startsExpression(1)) return { component, expression: unquote(args.slice(split[1].start)) };
  if (split.length > 3 && !startsExpression(2)) return { error: 'it takes a component, an optional stack and an output' };
  return { component, stack: split[1].value, expression: unquote(args.slice(split[2].start)) };
}

type Alternative = { path: (string | number)[] } | { literal: unknown };

/**
 * The yq expressions Atmos repositories write after `!terraform.state`: a path (`.a.b`,
 * `.a[0]`, `.a["k"]`, a bare output name) and `//` alternatives ending in a JSON literal.
 */
function parseYq(expression: string): Alternative[] | { error: string } {
  const parts = splitOutsideQuotes(expression, '//');
  const out: Alternative[] = [];
  for (const [i, raw] of parts.entries()) {
    const part = raw.trim();
    // Atmos GetTerraformBackendVariable: an expression not starting with "." gets one.
    const p = i === 0 && !part.startsWith('.') ? `.${part}` : part;
    if (p.startsWith('.')) {
      const steps = parsePath(p);
      if (!steps) return { error: `"${part}" is not a path atmos-pipe evaluates (.name, .name.key, .name[0], .name["key"])` };
      out.push({ path: steps });
      continue;
    }
    try {
      out.push({ literal: JSON.parse(p) as unknown });
    } catch {
      return { error: `the default "${part}" is not a JSON value` };
    }
  }
  return out;
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (text.startsWith(sep, i)) {
      out.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parsePath(p: string): (string | number)[] | undefined {
  if (p === '.') return [];
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\.?\[(\d+)\]|\.?\["((?:[^"\\]|\\.)*)"\]/y;
  let i = 0;
  while (i < p.length) {
    re.lastIndex = i;
    const m = re.exec(p);
    if (!m) return undefined;
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else {
      const key = jsonString(m[3]);
      if (key === undefined) return undefined;
      steps.push(key);
    }
    i = re.lastIndex;
  }
  return steps;
}

/** A double-quoted key's text read as JSON reads it (`\"` and `\\` escapes), or undefined when it is not valid. */
function jsonString(body: string): string | undefined {
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return undefined;
  }
}

/** yq on `data`: the first alternative that is neither null nor false, else the last; undefined for none. */
function evaluateYq(alternatives: Alternative[], data: unknown): { value: unknown; path?: (string | number)[] } {
  let last: { value: unknown; path?: (string | number)[] } = { value: undefined };
  for (const alt of alternatives) {
    if ('literal' in alt) return { value: alt.literal };
    let v: unknown = data;
    for (const s of alt.path) v = typeof s === 'number' ? (Array.isArray(v) ? v[s] : undefined) : isPlainMap(v) && Object.hasOwn(v, s) ? v[s] : undefined;
    last = { value: v, path: alt.path };
    if (v !== undefined && v !== null && v !== false) return last;
  }
  return last;
}

/** One function call to a component outside the deployment's target. */
export interface ForeignRequest {
  /** The whole function string, for messages. */
  text: string;
  component: string;
  stack: string;
  /** The stack is the calling component's own (a component missing there may be a typo of one of the deployment's). */
  ownStack: boolean;
  expression: string;
  location: Location;
}

/** What the reads of one resolution share. */
export interface ForeignContext {
  cfg: AtmosConfig;
  files: YamlFileCache;
  /** The deployment and target being resolved (their own components are read at run time instead). */
  deployment: string;
  target: string;
  /** The Terraform components of this deployment (for did-you-mean). */
  deployed: string[];
}

/** Where a component's state is, or why it cannot be read here. */
type StateWhere =
  | { backend: string; file: string; workspace: string; owner: string }
  | { backend: 'pg'; pg: { conn: string | undefined; schema: string }; workspace: string; owner: string }
  | { backend: string; unreadable: string; owner: string };

/**
 * A `pg` backend's state (Terraform's `pg` backend: the workspace's row in
 * `<schema_name>.states`), read-only over the stacks' `conn_str`, else the runner's
 * `PG_CONN_STR` (the secret the steps get).
 */
function pgState(backend: Record<string, unknown>, workspace: string, owner: string): StateWhere {
  const conn = typeof backend.conn_str === 'string' && backend.conn_str !== '' ? backend.conn_str : process.env.PG_CONN_STR;
  const schema = typeof backend.schema_name === 'string' && backend.schema_name !== '' ? backend.schema_name : 'terraform_remote_state';
  return { backend: 'pg', pg: { conn, schema }, workspace: workspace === '' ? 'default' : workspace, owner };
}

/** The components of other atmos-pipe deployments or targets that are `component` in the stack named `stack` (once per resolution). */
function pipeComponents(req: ForeignRequest, ctx: ForeignContext): PipeComponent[] {
  const key = `foreign-pipe:${ctx.deployment}\0${ctx.target}\0${req.component}\0${req.stack}`;
  return ctx.files.memo(key, () => findPipeComponents(req, ctx));
}

/** A Terraform component of an atmos-pipe deployment's target, as resolved in that target's stack. */
interface PipeComponent {
  dep: DeploymentConfig;
  target: string;
  component: ResolvedStackComponent;
  workspace: string;
}

function findPipeComponents(req: ForeignRequest, ctx: ForeignContext): PipeComponent[] {
  const out: PipeComponent[] = [];
  for (const f of listDeploymentFiles(ctx.cfg)) {
    let dep: DeploymentConfig;
    try {
      dep = loadDeploymentFile(ctx.cfg, f.abs, ctx.files);
    } catch (e) {
      // A deployment that does not load has deployed nothing with its current configuration.
      if (e instanceof DiagnosticError) continue;
      throw e;
    }
    const c = dep.body.components?.terraform?.[req.component];
    if (!c) continue;
    for (const target of Object.keys(dep.body.targets)) {
      if (dep.name === ctx.deployment && target === ctx.target) continue;
      try {
        const stack = loadTargetStacks(ctx.cfg, dep, target, ctx.files);
        const inherits = c.metadata?.inherits as string[] | undefined;
        const found = stackComponent(ctx.cfg, stack, req.component, inherits, ctx.files);
        if (found.identity.name === req.stack) out.push({ dep, target, component: found.component, workspace: found.identity.workspace });
      } catch (e) {
        if (e instanceof DiagnosticError) continue;
        throw e;
      }
    }
  }
  return out;
}

const REMOTE_WHY = 'atmos-pipe reads only local and pg state when it resolves a configuration';

/** The state of a component atmos-pipe deploys, where modules/terraform keeps it. */
function pipeState(ctx: ForeignContext, hit: PipeComponent, name: string): StateWhere {
  const c = hit.component;
  const owner = `terraform/${name} of deployment ${hit.dep.name}, target ${hit.target}`;
  const type = c.backend_type ?? 'local';
  if (type === 'pg') return pgState(c.backend, hit.workspace, owner);
  if (type !== 'local') return { backend: type, unreadable: REMOTE_WHY, owner };
  const p = c.backend.path;
  if (typeof p !== 'string' || p === '') return { backend: 'local', file: path.join(ctx.cfg.cacheDir, 'state', hit.dep.name, hit.target, `${name}.tfstate`), workspace: 'default', owner };
  const workspace = hit.workspace;
  const state = path.resolve(ctx.cfg.repoRoot, p);
  if (workspace === 'default') return { backend: 'local', file: state, workspace, owner };
  const dir = typeof c.backend.workspace_dir === 'string' && c.backend.workspace_dir !== '' ? path.resolve(ctx.cfg.repoRoot, c.backend.workspace_dir) : `${state}.d`;
  return { backend: 'local', file: path.join(dir, workspace, 'terraform.tfstate'), workspace, owner };
}

/** The state of a component in an Atmos stack, where Atmos reads it; or a diagnostic's message and hint. */
function atmosState(req: ForeignRequest, ctx: ForeignContext, bag: DiagnosticBag): StateWhere | undefined {
  const deployed = ctx.deployed;
  const opts = stackLoadOptions(ctx.cfg);
  const all = stackNames(opts, ctx.cfg.stackNaming, ctx.files);
  const hits = all.filter((s) => s.name === req.stack);
  if (hits.length !== 1) {
    const guess = didYouMean(
      req.stack,
      all.map((s) => s.name),
    );
    bag.error(
      'yaml/foreign-output',
      hits.length ? `${req.text}: stack name "${req.stack}" names ${hits.length} stack files (${hits.map((h) => h.path).join(', ')})` : `${req.text}: no stack is named "${req.stack}"`,
      req.location,
      guess && !hits.length ? `did you mean "${guess}"?` : 'name the stack as Atmos names it (manifest name:, stacks.name_template, stacks.name_pattern or its file path)',
    );
    return undefined;
  }
  const file = hits[0].path;
  const stack = loadStack([{ path: file, location: req.location }], opts, ctx.files);
  if (!stack.componentNames.terraform.includes(req.component)) {
    const known = [...new Set([...(req.ownStack ? deployed : []), ...stack.componentNames.terraform])];
    const guess = didYouMean(req.component, known);
    bag.error(
      'yaml/foreign-output',
      req.ownStack
        ? `${req.text}: ${req.component} is not a Terraform component of this deployment, and its stack "${req.stack}" has none of that name`
        : `${req.text}: stack "${req.stack}" has no Terraform component ${req.component}`,
      req.location,
      guess ? `did you mean "${guess}"?` : `components there: ${known.join(', ') || '(none)'}`,
    );
    return undefined;
  }
  const {
    component: c,
    identity: { workspace },
  } = stackComponent(ctx.cfg, stack, req.component, undefined, ctx.files);
  const owner = `terraform/${req.component} in stack "${req.stack}"`;
  const type = c.backend_type ?? 'local';
  if (type === 'pg') return pgState(c.backend, workspace, owner);
  if (type !== 'local') return { backend: type, unreadable: REMOTE_WHY, owner };
  const dir = path.join(ctx.cfg.terraformBasePath, c.component);
  const configured = typeof c.backend.path === 'string' ? c.backend.path : '';
  // `workspace_dir` is where Terraform's local backend keeps the named workspaces (Atmos's reader
  // assumes the default, terraform.tfstate.d, and would find nothing there).
  const wsDir = typeof c.backend.workspace_dir === 'string' && c.backend.workspace_dir !== '' ? path.resolve(dir, c.backend.workspace_dir) : path.join(dir, 'terraform.tfstate.d');
  const state = configured ? path.resolve(dir, configured) : workspace === 'default' || workspace === '' ? path.join(dir, 'terraform.tfstate') : path.join(wsDir, workspace, 'terraform.tfstate');
  return { backend: 'local', file: state, workspace, owner };
}

/** Terraform state (JSON, `outputs.<name>.value`): the outputs and which are sensitive. */
function readState(text: string): { outputs: Record<string, unknown>; sensitive: Set<string> } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { error: `it is not a Terraform state file (${(e as Error).message})` };
  }
  const raw = isPlainMap(doc) && isPlainMap(doc.outputs) ? doc.outputs : {};
  const outputs: Record<string, unknown> = {};
  const sensitive = new Set<string>();
  for (const [k, o] of Object.entries(raw)) {
    if (!isPlainMap(o)) continue;
    outputs[k] = o.value;
    if (o.sensitive === true) sensitive.add(k);
  }
  return { outputs, sensitive };
}

/**
 * The value of a `!terraform.output`/`!terraform.state` to a component outside this
 * deployment's target, or undefined when it cannot be read (reported, located at the function).
 */
export function readForeignOutput(req: ForeignRequest, ctx: ForeignContext, bag: DiagnosticBag): { value: unknown } | undefined {
  const alternatives = parseYq(req.expression);
  if ('error' in alternatives) {
    bag.error('yaml/function-args', `${req.text}: ${alternatives.error}`, req.location, 'write an output name or a yq path, optionally with a default: .name // "default"');
    return undefined;
  }
  const hasDefault = alternatives.length > 1;
  const pipe = pipeComponents(req, ctx);
  if (pipe.length > 1) {
    bag.error(
      'yaml/foreign-output',
      `${req.text}: ${pipe.length} atmos-pipe targets deploy ${req.component} in stack "${req.stack}" (${pipe.map((h) => `${h.dep.name}/${h.target}`).join(', ')})`,
      req.location,
      'give those targets stacks with distinct names',
    );
    return undefined;
  }
  const where = pipe.length === 1 ? pipeState(ctx, pipe[0], req.component) : atmosState(req, ctx, bag);
  if (!where) return undefined;
  const fail = (why: string, hint: string) => {
    bag.error('yaml/foreign-state', `${req.text}: cannot read the outputs of ${where.owner} (backend ${where.backend}): ${why}`, req.location, hint);
    return undefined;
  };
  if ('unreadable' in where) return fail(where.unreadable, 'pass the value as a var, or read it with a data source (terraform_remote_state) inside the module');
  let text: string | null;
  let shown: string;
  if ('pg' in where) {
    shown = `${where.pg.schema}.states`;
    if (!where.pg.conn) return fail('no connection string (no backend.pg.conn_str, and PG_CONN_STR is not set)', 'set PG_CONN_STR on the runner (the secret the steps get)');
    try {
      text = postgresRowSync(where.pg.conn, `SELECT data FROM ${pgIdentifier(where.pg.schema)}.states WHERE name = $1`, [where.workspace]);
    } catch (e) {
      return fail(secrets.mask((e as Error).message), 'check that the database is reachable from this runner');
    }
  } else {
    shown = path.relative(ctx.cfg.repoRoot, where.file).split(path.sep).join('/');
    text = existsSync(where.file) ? readFileSync(where.file, 'utf8') : null;
  }
  // Atmos: a state that does not exist is "not provisioned", where a `//` default applies.
  if (text === null) {
    if (hasDefault) return { value: evaluateYq(alternatives, {}).value ?? null };
    return fail(
      `its state ${shown} (workspace ${where.workspace}) does not exist`,
      `apply ${req.component} first, or give a default: ${req.component} '.${req.expression.replace(/^\./, '')} // "value"'`,
    );
  }
  const state = readState(text);
  if ('error' in state) return fail(`${shown}: ${state.error}`, 'the state must be Terraform JSON state (version 4)');
  const got = evaluateYq(alternatives, state.outputs);
  const first = got.path?.[0];
  if (got.path && (got.path.length === 0 ? state.sensitive.size > 0 : typeof first === 'string' && state.sensitive.has(first))) {
    return fail(
      `the output ${got.path.length ? String(first) : '(all outputs)'} is sensitive, and a value read here would be written into the step's inputs, describe and release records`,
      'pass it to the component as a secret (secrets: in atmos.yaml or the deployment)',
    );
  }
  if (got.value === undefined) {
    const names = Object.keys(state.outputs);
    return fail(`${shown} has no output for ${req.expression}`, `outputs there: ${names.join(', ') || '(none)'}; or give a default: '${req.expression} // "value"'`);
  }
  return { value: got.value };
}
