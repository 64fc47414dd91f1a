/**
 * The built-in Terraform module (SPEC 5.4): one Terraform component becomes a short chain of
 * content-addressed steps, written with the public module API exactly as a user's module
 * would be.
 *
 *   terraform.apply (rollout):  init → apply → output
 *   terraform.plan  (plan):     init → plan  → show
 *
 * Every step runs in a fresh workspace built from CAS inputs: the root module tree at `.`
 * plus the generated `backend.tf.json`, `providers_override.tf.json` (when providers are
 * configured) and `terraform.tfvars.json`. Nothing is ever written into
 * `components/terraform/**`: generated files exist only in the CAS and in step workspaces.
 *
 * State: by default a local backend at `<cacheDir>/state/<deployment>/<target>/<component>.tfstate`,
 * whose directory is bound into the steps that read or write it. The backend file and the
 * mount name it RELATIVE to the step's working directory (`../../../state/<d>/<t>/…`; see
 * {@link stateLocation}), so no host path reaches a fingerprint and a copy of the repository
 * at another path hits the cache. Those steps carry the sha256 of the state they start from
 * as the `state` fact (so drift re-runs them) and name the state file in `refreshFacts` (so a
 * re-run from the state they produced is a cache hit).
 *
 * A `pg` backend (PostgreSQL, the recommended shared state without a cloud backend) is digested
 * the same way from its row in `<schema_name>.states`, read over the network (read-only) when
 * the steps are made and again after apply (see {@link stateSource}): runners at different
 * paths agree on the state while it is unchanged, so a fresh clone with a warm cache re-runs
 * nothing, and a state another runner changed re-runs the apply. Its connection string is a
 * secret (`PG_CONN_STR`), never part of the generated backend file. Other remote backends (s3,
 * gcs, ...) cannot be digested cheaply, so the steps that read them are never cached.
 *
 * Workspace: every step selects the component's Atmos workspace with `TF_WORKSPACE` (see
 * {@link selectedWorkspace}); a local backend then keeps it in
 * `<workspace_dir>/<workspace>/terraform.tfstate` (`workspace_dir` defaults to `<path>.d`),
 * which the mounts, the `state` fact and `refreshFacts` follow.
 *
 * Secrets: the component's declared secrets (src/secrets) reach every step as env. A variable
 * whose value holds a secret (e.g. an upstream's sensitive output) is passed as a
 * `TF_VAR_<name>` secret, never through the tfvars file (which enters the CAS); Terraform
 * parses it as HCL only for a declared complex type, so such a variable must declare its type
 * (a string needs nothing). Sensitive outputs and the JSON plan are stored sealed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  DiagnosticError,
  defineModule,
  error,
  fromWorkspace,
  holdsSecret,
  keepSecret,
  openSensitive,
  openValue,
  fileFact,
  pgIdentifier,
  readFact,
  stepSecretValue,
  stepSecrets,
  type Artifact,
  type FactSource,
  type HostTool,
  type ModuleContext,
  type Step,
  type StepCache,
  type StepInput,
  type StepMount,
  type StepResult,
} from 'atmos-pipe/module';
import { checkedPlan, LOCK_FILE, PLAN_FILE, planState, storePlan } from './stored-plan.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Inputs of both Terraform modules. */
export const terraformInputs = z
  .object({
    /**
     * Environment variables passed through to every Terraform step as secrets (e.g. cloud
     * credentials): values are HMAC'd into the fingerprint, never stored or logged.
     */
    secrets: z.array(z.string().regex(ENV_NAME, 'must be an environment variable name')).default([]),
  })
  .strict();
export type TerraformInputs = z.infer<typeof terraformInputs>;

type Ctx = ModuleContext<TerraformInputs>;

/** Generated files, by workspace-relative name. */
export const BACKEND_FILE = 'backend.tf.json';
export const PROVIDERS_FILE = 'providers_override.tf.json';
export const TFVARS_FILE = 'terraform.tfvars.json';

/** Object keys sorted at every depth (arrays keep their order): stable bytes, stable digests. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value as Record<string, unknown>).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortKeysDeep(v);
  }
  return out;
}

/** The JSON text of a generated file: keys sorted, two-space indent, trailing newline. */
export function jsonFile(value: unknown): string {
  return `${JSON.stringify(sortKeysDeep(value), null, 2)}\n`;
}

/** The value of a state fact: sha256 of the file, or `none` (same rule as the scheduler's refresh). */
export function stateFact(file: string): string {
  return fileFact(file);
}

/**
 * Absolute path of the component's local state: the backend's `path` (repository-relative in
 * describe output) resolved against the repository root, else the default under the cache dir.
 */
export function localStatePath(ctx: ModuleContext<unknown>): string {
  const p = ctx.component.backend?.path;
  if (typeof p === 'string' && p !== '') return path.resolve(ctx.repoRoot, p);
  return ownStatePath(ctx);
}

/** Terraform's name for the workspace a fresh configuration is in: its state is the backend's `path`. */
export const DEFAULT_WORKSPACE = 'default';

/**
 * Where Terraform's local backend keeps the non-default workspaces: the backend's
 * `workspace_dir` when the stacks set one, else `<state>.d` next to the default state (instead
 * of Terraform's `terraform.tfstate.d` under the working directory, which is a step's throwaway
 * workspace).
 */
export function localWorkspaceDir(ctx: ModuleContext<unknown>): string {
  const d = ctx.component.backend?.workspace_dir;
  if (typeof d === 'string' && d !== '') return path.resolve(ctx.repoRoot, d);
  return `${localStatePath(ctx)}.d`;
}

/** atmos-pipe's own local state of a component: `<cacheDir>/state/<deployment>/<target>/<component>.tfstate`. */
function ownStatePath(ctx: ModuleContext<unknown>): string {
  return path.join(ctx.cacheDir, 'state', ctx.deployment, ctx.target, `${ctx.component.name}.tfstate`);
}

/**
 * The workspace the steps select (`TF_WORKSPACE`), or undefined for Terraform's `default`:
 * the one Atmos derives (src/resolve/workspace.ts), except with atmos-pipe's own local state
 * (no backend in the stacks). That file already belongs to one component of one target, and
 * selecting a workspace there would move every existing state to an empty one (the next
 * apply would create everything again).
 */
export function selectedWorkspace(ctx: ModuleContext<unknown>): string | undefined {
  const c = ctx.component;
  const ws = c.workspace;
  if (ws === undefined || ws === DEFAULT_WORKSPACE) return undefined;
  if ((c.backend_type ?? 'local') === 'local' && localStatePath(ctx) === ownStatePath(ctx)) return undefined;
  return ws;
}

/**
 * The local state file of the selected workspace: the backend's `path` for `default`, else
 * `<workspace_dir>/<workspace>/terraform.tfstate`, as Terraform's local backend lays them out.
 */
export function workspaceStatePath(ctx: ModuleContext<unknown>): string {
  const ws = selectedWorkspace(ctx);
  return ws === undefined ? localStatePath(ctx) : path.join(localWorkspaceDir(ctx), ws, 'terraform.tfstate');
}

/** Root module files that never enter the workspace (Terraform's own leftovers, our generated vars). */
export function excludeFromModule(rel: string): boolean {
  const parts = rel.split('/');
  const base = parts[parts.length - 1];
  if (parts.includes('.terraform')) return true;
  if (base.includes('.tfstate')) return true; // terraform.tfstate, *.tfstate.backup, terraform.tfstate.d/
  return rel === TFVARS_FILE;
}

/**
 * How a step names a local-state path: relative to its working directory (the workspace).
 *
 * Why relative (and not a fixed in-sandbox mount point, nor a path substituted when the
 * workspace is materialised): the generated `backend.tf.json` is a CAS input and the mounts
 * are part of the fingerprint, so neither may hold a host path, or a copy of the repository at
 * another path (a CI checkout, a restored `.atmos` cache) would miss the cache for every step
 * and re-apply. The workspace (`<cacheDir>/workspaces/<run>/<step>/`) and the state (under the
 * cache dir by default, else a repository-relative `backend.path`; both are kept inside the
 * repository at validation) move together, so the relative path is the same text in every
 * copy, and it needs no engine support beyond binding the state directory where that path
 * leads (StepMount): an engine of host processes binds it at its host path, sandboxed or not
 * (a fixed mount point would need a sandbox, and a substitution would put Terraform knowledge
 * into the scheduler); a container engine mirrors the host layout in the container.
 */
export function stateLocation(ctx: ModuleContext<unknown>, hostPath: string): string {
  return fromWorkspace(ctx.cacheDir, hostPath);
}

/** The variable Terraform's `pg` backend reads its connection string from when `conn_str` is unset: always a secret here. */
export const PG_CONN_ENV = 'PG_CONN_STR';
/**
 * What `terraform init` of a `pg` backend fails with when another init runs at the same moment
 * (first runs of a deployment do it for every component at once): transient, the init runs
 * again (`Step.retryWhen`).
 * - PostgreSQL's `CREATE … IF NOT EXISTS` of the schema, table or sequence is not safe against
 *   a concurrent create of the same;
 * - creating a workspace takes one lock for the whole database (advisory lock -1), without
 *   waiting (init's `-lock-timeout` does not cover it).
 */
const PG_INIT_RACES = ['duplicate key value violates unique constraint', 'Already locked for workspace creation'];
/** Terraform's default `schema_name` of the `pg` backend. */
const PG_DEFAULT_SCHEMA = 'terraform_remote_state';

/**
 * Where the state the steps start from lives, as a fact source (see `FactSource`):
 * - local backend: the state file of the selected workspace;
 * - `pg`: the row of the selected workspace (Terraform names it after the workspace,
 *   `default` when none is selected) in `<schema_name>.states`, read over the connection the
 *   steps get as the {@link PG_CONN_ENV} secret. The shared state, not the runner's disk, so
 *   two runners agree while it is unchanged;
 * - another remote backend: null (not digested: its steps are never cached).
 */
export function stateSource(ctx: ModuleContext<unknown>): FactSource | null {
  const c = ctx.component;
  const type = c.backend_type ?? 'local';
  if (type === 'local') return workspaceStatePath(ctx);
  if (type !== 'pg') return null;
  const schema = typeof c.backend?.schema_name === 'string' && c.backend.schema_name !== '' ? c.backend.schema_name : PG_DEFAULT_SCHEMA;
  return { postgres: { connection: PG_CONN_ENV, query: `SELECT data FROM ${pgIdentifier(schema)}.states WHERE name = $1`, params: [selectedWorkspace(ctx) ?? DEFAULT_WORKSPACE] } };
}

/**
 * The `pg` backend's connection string as a secret: the stacks' `conn_str` (taken out of the
 * generated backend file, which enters the CAS, and kept in the run's secret store), else the
 * {@link PG_CONN_ENV} secret declared for the component. A connection that would travel as
 * plain env, or none at all, is a located error.
 */
function pgConnection(ctx: ModuleContext<unknown>, declared: ReturnType<typeof stepSecrets>, moduleSecrets: string[]): { env?: Record<string, string>; value: () => string | undefined } {
  const c = ctx.component;
  const conn = c.backend?.conn_str;
  if (typeof conn === 'string' && conn !== '') {
    const key = `pg:${c.address}`;
    keepSecret(key, conn);
    const password = pgPassword(conn);
    if (password) keepSecret(`${key}:password`, password);
    return { env: { [PG_CONN_ENV]: key }, value: () => conn };
  }
  if (declared.secrets.includes(PG_CONN_ENV) || moduleSecrets.includes(PG_CONN_ENV)) return { value: () => stepSecretValue(declared.secretSources, PG_CONN_ENV) };
  const plain = c.env?.[PG_CONN_ENV] !== undefined || c.credentials.env.some((e) => e.name === PG_CONN_ENV);
  throw new DiagnosticError(
    error(
      'terraform/pg-connection',
      plain
        ? `${c.address}: the pg backend's connection string ${PG_CONN_ENV} is declared as plain env: it would be stored in fingerprints and shown in logs`
        : `${c.address}: the pg backend has no connection string (no backend.pg.conn_str, no ${PG_CONN_ENV} secret)`,
      c.location,
      `declare it as a secret: \`secrets: [${PG_CONN_ENV}]\` in the deployment (or atmos.yaml \`deployments.secrets\`), and set ${PG_CONN_ENV} on the runner`,
    ),
  );
}

/** The password of a connection string (`postgres://user:pw@…` or `password=pw`), to be masked on its own too. */
function pgPassword(conn: string): string | undefined {
  try {
    const u = new URL(conn);
    if (u.password) return decodeURIComponent(u.password);
  } catch {
    // keyword/value form
  }
  const m = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/.exec(conn);
  return m ? m[1].replace(/^'|'$/g, '') : undefined;
}

/**
 * The digest of the state the steps start from, read now: a local file, or the `pg` row over
 * the network (read-only; never waits for Terraform's lock). undefined for other remote
 * backends.
 */
export async function startingState(ctx: Ctx): Promise<string | undefined> {
  const source = stateSource(ctx);
  if (source === null) return undefined;
  if (typeof source === 'string') return fileFact(source);
  const conn = pgConnection(ctx, stepSecrets(ctx.component.credentials), ctx.inputs?.secrets ?? []);
  return readFact(source, () => conn.value());
}

export interface TerraformWorkspace {
  /** Content-addressed inputs every step mounts: `.` (the root module) and the generated files. */
  inputs: Record<string, Artifact>;
  /** The generated files' exact text, by name. */
  files: Record<string, string>;
  /** Local backend: the absolute state file of the component's workspace. Remote backends: null. */
  statePath: string | null;
  /** Where the state the steps start from is read (the `state` fact): see {@link stateSource}. */
  state: FactSource | null;
  /** Local backend: the directories holding its state files (bound into the steps that read or write state). */
  stateDirs: string[];
  /**
   * Variables that carry a secret value (e.g. an upstream's sensitive output): passed as
   * `TF_VAR_<name>` secrets, never written into the tfvars file (which enters the CAS).
   * Env name -> key of the value in the run's secret store.
   */
  secretVars: Record<string, string>;
}

/** Put the root module and the generated files into the CAS (nothing is written elsewhere). */
export function terraformWorkspace(ctx: ModuleContext<unknown>): TerraformWorkspace {
  const c = ctx.component;
  if (c.type !== 'terraform' || !c.moduleDir) throw new Error(`${c.address} is not a Terraform component`);
  const local = (c.backend_type ?? 'local') === 'local';
  const statePath = local ? workspaceStatePath(ctx) : null;
  const type = c.backend_type ?? 'local';
  const backend: Record<string, unknown> = { ...c.backend };
  const stateDirs: string[] = [];
  if (local) {
    const defaultState = localStatePath(ctx);
    const wsDir = localWorkspaceDir(ctx);
    backend.path = stateLocation(ctx, defaultState);
    stateDirs.push(path.dirname(defaultState));
    // Only a selected workspace needs the workspace directory: the default one keeps its files unchanged.
    if (statePath !== defaultState) {
      backend.workspace_dir = stateLocation(ctx, wsDir);
      if (path.relative(path.dirname(defaultState), wsDir).startsWith('..')) stateDirs.push(wsDir);
    } else if (typeof backend.workspace_dir === 'string') backend.workspace_dir = stateLocation(ctx, wsDir);
  }

  const secretVars: Record<string, string> = {};
  if (type === 'pg') {
    // Never in the backend file (a CAS input): Terraform reads it from the secret env.
    delete backend.conn_str;
    const ctxInputs = (ctx.inputs ?? {}) as { secrets?: string[] };
    Object.assign(secretVars, pgConnection(ctx, stepSecrets(c.credentials), ctxInputs.secrets ?? []).env);
  }

  const files: Record<string, string> = {};
  files[BACKEND_FILE] = jsonFile({ terraform: { backend: { [type]: backend } } });
  if (c.providers && Object.keys(c.providers).length > 0) files[PROVIDERS_FILE] = jsonFile({ provider: c.providers });
  const plainVars: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(c.vars ?? {})) {
    const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    if (!holdsSecret(text)) {
      plainVars[name] = value;
      continue;
    }
    const key = `tfvar:${c.address}:${name}`;
    keepSecret(key, text);
    secretVars[`TF_VAR_${name}`] = key;
  }
  files[TFVARS_FILE] = jsonFile(plainVars);

  const inputs: Record<string, Artifact> = { '.': { kind: 'dir', digest: ctx.cas.putDir(c.moduleDir, { exclude: excludeFromModule, within: c.vendored ? ctx.cacheDir : ctx.repoRoot }) } };
  for (const [name, text] of Object.entries(files)) inputs[name] = { kind: 'file', digest: ctx.cas.putBytes(text) };
  // Files of other components bound into the vars (`{{ zip.fn.path }}` names one of these paths).
  Object.assign(inputs, c.files);
  return { inputs, files, statePath, state: stateSource(ctx), stateDirs, secretVars };
}

/**
 * The component's `env` section as plain strings (null and undefined values are dropped), with
 * the workspace Atmos derives for it selected through `TF_WORKSPACE` (part of the fingerprint:
 * another workspace is another state).
 */
function plainEnv(env: Record<string, unknown> | undefined, workspace: string | undefined): Record<string, string> {
  const out: Record<string, string> = { TF_IN_AUTOMATION: '1' };
  // Set last: the component's own env cannot select another workspace than the derived one.
  for (const [k, v] of Object.entries(env ?? {})) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  if (workspace !== undefined) out.TF_WORKSPACE = workspace;
  return out;
}

/** Image for an engine that runs steps in containers: the pinned one, else the official image of the tool's version. */
export function terraformImage(tools: ModuleContext['tools']): string {
  const t = tools.terraform;
  if (t.image) return t.image;
  const v = t.version ?? 'latest';
  return path.basename(t.command) === 'tofu' ? `ghcr.io/opentofu/opentofu:${v}` : `hashicorp/terraform:${v}`;
}

/**
 * Terraform's provider plugin cache as a tool cache: one volume per tool and version (never
 * shared across versions), written by one step at a time because Terraform's plugin cache is
 * not safe for concurrent writers. An engine that keeps cache volumes saves the downloads.
 */
export function pluginCache(tools: ModuleContext['tools']): StepCache {
  const t = tools.terraform;
  const tool = path.posix.basename(t.command);
  return { volume: `${tool}-plugins-${t.version ?? '*'}`, dir: `${tool}-plugins`, env: 'TF_PLUGIN_CACHE_DIR', sharing: 'locked' };
}

/**
 * How an engine that runs host processes finds and checks Terraform: `version -json` names the version first;
 * the user's CLI configuration (`TF_CLI_CONFIG_FILE`, read-only) and plugin cache directory
 * reach every step.
 */
export const TERRAFORM_HOST: HostTool = {
  versionArgs: ['version', '-json'],
  install: 'install Terraform >= 1.5 or OpenTofu (deployments.tools.terraform.command: tofu in atmos.yaml)',
  pinnedIn: 'deployments.tools.terraform.version in atmos.yaml',
  env: ['TF_CLI_CONFIG_FILE', 'TF_PLUGIN_CACHE_DIR'],
  files: ['TF_CLI_CONFIG_FILE'],
};

/**
 * The tool a component's steps run: its own `command` (set in the stacks, Atmos's per-component
 * command, located) when it names another tool than the run's, without atmos.yaml's version and image
 * pins (they pin that other tool); else the pinned tool.
 */
function toolOf(ctx: Ctx): ModuleContext['tools'] {
  const own = ctx.component.commandLocation ? ctx.component.command : undefined;
  return own === undefined || own === ctx.tools.terraform.command ? ctx.tools : { terraform: { command: own } };
}

/** Fields shared by every step of one component. */
function base(ctx: Ctx, ws: TerraformWorkspace, name: string, module: string): Omit<Step, 'argv' | 'inputs' | 'outputs' | 'needs' | 'network' | 'cache'> {
  const tools = toolOf(ctx);
  const t = tools.terraform;
  const declared = stepSecrets(ctx.component.credentials);
  const secretSources = { ...declared.secretSources, ...ws.secretVars };
  return {
    id: ctx.stepId(name),
    module,
    component: ctx.component.address,
    image: terraformImage(tools),
    tool: { name: t.command, version: t.version ?? '*' },
    hostTool: TERRAFORM_HOST,
    env: plainEnv(ctx.component.env, selectedWorkspace(ctx)),
    secrets: [...new Set([...(ctx.inputs?.secrets ?? []), ...Object.keys(secretSources)])].sort(),
    ...(Object.keys(secretSources).length ? { secretSources } : {}),
    caches: [pluginCache(tools)],
  };
}

/** `lock`: a stored plan's lock file, so that init installs the providers the plan was made with. */
function initStep(ctx: Ctx, ws: TerraformWorkspace, lock?: Artifact): Step {
  return {
    ...base(ctx, ws, 'init', 'terraform.init'),
    argv: [toolOf(ctx).terraform.command, 'init', '-input=false', '-no-color'],
    // Selecting a workspace (TF_WORKSPACE) makes init create its state directory: the same causes apply.
    ...stateHints(ws),
    ...(ctx.component.backend_type === 'pg' ? { retryWhen: PG_INIT_RACES } : {}),
    inputs: { ...ws.inputs, ...(lock ? { [LOCK_FILE]: lock } : {}) },
    // The scheduler tolerates declared outputs that are not produced (no lock file without providers).
    outputs: { dirs: ['.terraform'], files: ['.terraform.lock.hcl'] },
    needs: [],
    network: true, // provider downloads (and a remote backend's check)
    cache: 'content',
  };
}

/** Inputs of the steps after init: the workspace plus what init installed. */
function initialized(ws: TerraformWorkspace, init: Step): Record<string, StepInput> {
  return { ...ws.inputs, '.terraform': { step: init.id, output: '.terraform' }, '.terraform.lock.hcl': { step: init.id, output: '.terraform.lock.hcl' } };
}

/**
 * The digest of the state the step starts from (`start`, read by {@link startingState}) and
 * where to read it again after the step; local state: the state directory bound where the
 * backend's relative path leads (see {@link stateLocation}).
 */
function stateBinding(ctx: Ctx, ws: TerraformWorkspace, start: string | undefined, writable: boolean, refresh: boolean): Pick<Step, 'mounts' | 'facts' | 'refreshFacts'> {
  if (ws.state === null || start === undefined) return {};
  const mounts: StepMount[] = ws.stateDirs.map((dir) => ({ host: dir, path: stateLocation(ctx, dir), writable }));
  return {
    ...(mounts.length ? { mounts } : {}),
    facts: { state: start },
    ...(refresh ? { refreshFacts: { state: ws.state } } : {}),
  };
}

/** The state fact given, else a local state file's, read now; a `pg` state must be read first (async). */
function startOf(ws: TerraformWorkspace, start: string | undefined): string | undefined {
  if (start !== undefined || ws.state === null) return start;
  if (typeof ws.state === 'string') return fileFact(ws.state);
  throw new Error('the state of a pg backend is read before the steps are made (startingState)');
}

/** What Terraform prints when another process holds the state lock past -lock-timeout. */
export const STATE_LOCK_ERROR = 'Error acquiring the state lock';
/**
 * Terraform reports any failure to take the lock under {@link STATE_LOCK_ERROR} (a corrupt
 * state file, a name too long for the lock file); only a lock held by someone else names its
 * holder under "Lock Info:". Both must appear for exit 4.
 */
const STATE_LOCKED = [STATE_LOCK_ERROR, 'Lock Info:'];

/** The causes Terraform reports under the lock error that are not a held lock: what to do. */
function stateHints(ws: TerraformWorkspace): Pick<Step, 'failureHints'> {
  const file = ws.statePath ?? 'the remote state';
  return {
    failureHints: [
      {
        when: 'Unsupported state file format',
        hint: `the state file ${file} is corrupt (not Terraform state JSON); restore it from ${ws.statePath ? `${ws.statePath}.backup or ` : ''}a backup, or remove it if nothing of this component exists yet, then run again`,
      },
      { when: 'file name too long', hint: `a file name of the state of this component is too long for the file system (${file}); use a shorter component name or set backend.path` },
      { when: 'read-only file system', hint: `the state directory of ${file} is on a read-only file system; run from a writable checkout` },
      { when: 'no space left on device', hint: `the disk holding ${file} is full; free space and run again` },
    ],
  };
}

const lockTimeout = (ctx: Ctx) => `-lock-timeout=${Math.max(0, Math.floor(ctx.options.lockTimeoutSeconds))}s`;

/**
 * What a template evaluates to when an upstream output is not known (src/resolve/templates.ts).
 * Such a value is never applied: {@link assertKnownVars} refuses apply steps that carry it.
 */
export const UNKNOWN_VALUE_MARKER = '(known after apply';

/** Paths (`a.b[0]`) of every string, key or value, containing the unknown-value marker, at any depth. */
export function unknownValuePaths(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return value.includes(UNKNOWN_VALUE_MARKER) ? [at || '(value)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownValuePaths(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    const p = at ? `${at}.${k}` : k;
    return k.includes(UNKNOWN_VALUE_MARKER) ? [p] : unknownValuePaths(v, p);
  });
}

/**
 * An apply step never receives an unknown upstream value as if it were a string: the run
 * checks upstream outputs before anything runs; this is the last line. A dry run builds the
 * steps of components whose upstream has not run yet only to list them (never applied).
 */
export function assertKnownVars(ctx: Ctx): void {
  if (ctx.options.dryRun) return;
  const c = ctx.component;
  const bad = unknownValuePaths({ vars: c.vars ?? {}, env: c.env ?? {}, providers: c.providers ?? {}, backend: c.backend ?? {} });
  if (bad.length === 0) return;
  throw new DiagnosticError(
    error(
      'terraform/unknown-value',
      `${c.address}: refusing to apply unknown upstream values (${bad.join(', ')}): an output of a dependency that has not been applied`,
      c.location,
      `apply its dependencies in the same run (--with-deps), or roll them out first (${c.depends_on.join(', ') || 'see describe'})`,
    ),
  );
}

/** The state the steps start from: its digest, serial and lineage (see ./stored-plan.ts). */
function currentState(ws: TerraformWorkspace) {
  return planState(ws.statePath, ws.statePath ? stateFact(ws.statePath) : 'none');
}

/**
 * The stored plan to apply, checked again now that upstream outputs are known. The run's
 * verify() found it valid before anything ran, so what changed since is an upstream output
 * applied in this run: the component fails (a step failure, exit 1) and the run records what
 * it applied, rather than stopping before its records are written.
 */
function planToApply(ctx: Ctx, dir: string, ws: TerraformWorkspace): ReturnType<typeof checkedPlan> {
  try {
    return checkedPlan(ctx, dir, { inputs: ws.inputs, state: currentState(ws) });
  } catch (e) {
    const d = e instanceof DiagnosticError ? e.diagnostics[0] : undefined;
    if (d) throw new Error(`${d.message}, after a dependency applied in this run changed its outputs; ${d.hint ?? 'plan again'}`);
    throw e;
  }
}

/**
 * Steps of a rollout: init → apply → output. With `--from-plan` the apply applies the stored
 * plan of the component (checked first: ./stored-plan.ts), and init installs the providers of
 * its lock file (unless the module directory carries its own, which the plan was made with).
 */
export function applySteps(ctx: Ctx, start?: string): Step[] {
  assertKnownVars(ctx);
  const ws = terraformWorkspace(ctx);
  const state = startOf(ws, start);
  const digested = state !== undefined;
  const remote = ws.statePath === null;
  const cmd = toolOf(ctx).terraform.command;
  const stored = ctx.options.fromPlan ? planToApply(ctx, ctx.options.fromPlan, ws) : undefined;
  const ownLock = ctx.component.moduleDir !== undefined && existsSync(path.join(ctx.component.moduleDir, LOCK_FILE));
  const init = initStep(ctx, ws, ownLock ? undefined : stored?.lock);
  const apply: Step = {
    ...base(ctx, ws, 'apply', 'terraform.apply'),
    argv: stored ? [cmd, 'apply', '-input=false', '-no-color'] : [cmd, 'apply', '-auto-approve', '-input=false', '-no-color'],
    // The plan file must follow every option, and operational args come last: it goes with
    // them (its content is an input, so the fingerprint still names it).
    operationalArgs: stored ? [lockTimeout(ctx), PLAN_FILE] : [lockTimeout(ctx)],
    lockedWhen: STATE_LOCKED,
    ...stateHints(ws),
    inputs: { ...initialized(ws, init), ...(stored ? { [PLAN_FILE]: stored.plan } : {}) },
    outputs: {},
    ...stateBinding(ctx, ws, state, true, true),
    needs: [init.id],
    network: true, // providers talk to their APIs
    cache: digested ? 'content' : 'never',
  };
  const output: Step = {
    ...base(ctx, ws, 'output', 'terraform.output'),
    argv: [cmd, 'output', '-json', '-no-color'],
    inputs: initialized(ws, init),
    stdout: 'outputs.json',
    outputs: { values: ['outputs.json'] },
    // Reads the state apply left (never locks it): its digest is the key, refreshed after apply.
    ...stateBinding(ctx, ws, state, false, true),
    needs: [init.id, apply.id],
    network: remote, // a remote backend is read over the network
    cache: digested ? 'content' : 'never',
  };
  return [init, apply, output];
}

/** Steps of a plan: init → plan → show. */
export function planSteps(ctx: Ctx, start?: string): Step[] {
  const ws = terraformWorkspace(ctx);
  const state = startOf(ws, start);
  const cmd = toolOf(ctx).terraform.command;
  const init = initStep(ctx, ws);
  const plan: Step = {
    ...base(ctx, ws, 'plan', 'terraform.plan'),
    argv: [cmd, 'plan', '-input=false', '-no-color', '-out=tfplan'],
    operationalArgs: [lockTimeout(ctx)],
    lockedWhen: STATE_LOCKED,
    ...stateHints(ws),
    inputs: initialized(ws, init),
    outputs: { files: ['tfplan'] },
    // Plan takes the state lock (writes a lock file next to the state): read-write.
    ...stateBinding(ctx, ws, state, true, false),
    needs: [init.id],
    network: true, // refresh asks the providers' APIs
    cache: state !== undefined ? 'content' : 'never',
  };
  const show: Step = {
    ...base(ctx, ws, 'show', 'terraform.show'),
    argv: [cmd, 'show', '-json', '-no-color', 'tfplan'],
    inputs: { ...initialized(ws, init), tfplan: { step: plan.id, output: 'tfplan' } },
    stdout: 'plan.json',
    outputs: { values: ['plan.json'] },
    // The JSON plan prints every variable's value (secrets passed as TF_VAR_ too): kept sealed.
    sealValues: true,
    needs: [init.id, plan.id],
    network: false, // the plan file holds everything it shows
    cache: 'content',
  };
  return [init, plan, show];
}

/**
 * Steps of a drift check: init → `plan -detailed-exitcode` → show. Terraform exits 2 when the
 * configuration and the real state differ (0: no changes), so both are success; the exit code
 * is kept with the cached result. The plan step carries the digest of the state it reads (the
 * `state` fact), so an unchanged state and configuration re-use the cached plan; `--no-cache`
 * plans again (a change made outside Terraform that the local state does not show is only
 * seen by a new plan). A remote backend is never cached.
 */
function driftSteps(ctx: Ctx): Step[] {
  const [init, plan, show] = planSteps(ctx);
  const cmd = toolOf(ctx).terraform.command;
  const detailed: Step = { ...plan, module: 'terraform.drift', argv: [cmd, 'plan', '-detailed-exitcode', '-input=false', '-no-color', '-out=tfplan'], successCodes: [0, 2] };
  return [init, detailed, show];
}

/** What a drift check found for one component: `-detailed-exitcode` (2: changes) and the counts of the plan. */
interface DriftOutcome extends PlanCounts {
  drift: boolean;
  /** Terraform's exit code of the plan (0 or 2); null when the plan step did not finish. */
  exit_code: number | null;
}

function resultOf(results: StepResult[], ctx: Ctx, name: string, module: string): StepResult | undefined {
  const id = ctx.stepId(name);
  return results.find((r) => r.id === id) ?? results.find((r) => r.module === module);
}

/** `terraform output -json` (its sensitive values already opened: {@link openSensitive}) → `{ name: value }`. */
export function parseOutputs(json: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (json === null || typeof json !== 'object') return out;
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    out[name] = entry !== null && typeof entry === 'object' && 'value' in entry ? (entry as { value: unknown }).value : undefined;
  }
  return out;
}

/** `terraform output -json` → `{ name: value }` without the outputs Terraform marks sensitive: what may be recorded in Git. */
export function publicOutputs(json: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (json === null || typeof json !== 'object') return out;
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object' || !('value' in entry)) continue;
    if ((entry as { sensitive?: unknown }).sensitive !== false) continue; // only what Terraform says is not sensitive
    out[name] = (entry as { value: unknown }).value;
  }
  return out;
}

export interface PlanCounts {
  add: number;
  change: number;
  destroy: number;
}

/**
 * Counts of a `terraform show -json` plan, as Terraform's "Plan: X to add, Y to change, Z to
 * destroy": create → add; update → change; delete → destroy; a replacement (delete+create in
 * either order) → add and destroy; no-op, read and forget → nothing.
 */
export function countPlanChanges(plan: unknown): PlanCounts {
  const counts: PlanCounts = { add: 0, change: 0, destroy: 0 };
  const changes = (plan as { resource_changes?: unknown } | null)?.resource_changes;
  if (!Array.isArray(changes)) return counts;
  for (const rc of changes) {
    const actions = (rc as { change?: { actions?: unknown } } | null)?.change?.actions;
    if (!Array.isArray(actions)) continue;
    if (actions.includes('create') && actions.includes('delete')) {
      counts.add++;
      counts.destroy++;
    } else if (actions.includes('create')) counts.add++;
    else if (actions.includes('update')) counts.change++;
    else if (actions.includes('delete')) counts.destroy++;
  }
  return counts;
}

/** Rollout: apply one Terraform component; dependents read its outputs. */
export const terraformApply = defineModule<TerraformInputs>({
  name: 'terraform.apply',
  description: 'terraform init + apply in an isolated workspace; outputs from `terraform output -json`',
  inputs: terraformInputs,
  steps: async (ctx) => applySteps(ctx, await startingState(ctx)),
  // `--from-plan`: every stored plan is checked before the release is written or anything
  // applies; applySteps checks again once upstream outputs are known (vars that take an
  // output of a dependency applied in this run are not known before).
  verify(ctx) {
    if (!ctx.options.fromPlan) return;
    const ws = terraformWorkspace(ctx);
    const pending = unknownValuePaths(ctx.component.vars ?? {}).length > 0;
    checkedPlan(ctx, ctx.options.fromPlan, { inputs: ws.inputs, state: currentState(ws), ...(pending ? { unknown: [TFVARS_FILE] } : {}) });
  },
  outputs(results, ctx) {
    // Sensitive outputs are stored sealed (see the scheduler): opened here, in memory, and masked.
    return parseOutputs(openSensitive(ctx, resultOf(results, ctx, 'output', 'terraform.output')?.values['outputs.json']));
  },
  recordOutputs(results, ctx) {
    return publicOutputs(resultOf(results, ctx, 'output', 'terraform.output')?.values['outputs.json']);
  },
});

/** Plan: what applying one Terraform component would change (records nothing). */
export const terraformPlan = defineModule<TerraformInputs>({
  name: 'terraform.plan',
  description: 'terraform init + plan in an isolated workspace; add/change/destroy counts from `terraform show -json`',
  inputs: terraformInputs,
  steps: async (ctx) => planSteps(ctx, await startingState(ctx)),
  outputs(results, ctx) {
    const plan = resultOf(results, ctx, 'show', 'terraform.show')?.values['plan.json'];
    const out = ctx.options.planOut;
    const planFile = resultOf(results, ctx, 'plan', 'terraform.plan')?.outputs[PLAN_FILE]?.digest;
    if (out && planFile) {
      // The inputs and state as the plan step saw them: its fingerprint holds both, so a cached plan was made from these.
      const ws = terraformWorkspace(ctx);
      const lockFile = resultOf(results, ctx, 'init', 'terraform.init')?.outputs[LOCK_FILE]?.digest;
      const id = storePlan(ctx, out, { inputs: ws.inputs, state: currentState(ws), planFile, ...(lockFile ? { lockFile } : {}) });
      ctx.notice?.(`stored the plan of ${ctx.component.address} in ${out} (${id.slice(0, 19)})`);
    }
    return { ...countPlanChanges(openValue(ctx, plan)) };
  },
});

/** Drift check: whether applying one Terraform component would change anything (records nothing). */
export const terraformDrift = defineModule<TerraformInputs>({
  name: 'terraform.drift',
  description: 'terraform init + plan -detailed-exitcode in an isolated workspace; drift when the plan has changes (cached by the state digest)',
  inputs: terraformInputs,
  steps: (ctx) => driftSteps(ctx),
  outputs(results, ctx) {
    const exit = resultOf(results, ctx, 'plan', 'terraform.drift')?.exitCode;
    const plan = resultOf(results, ctx, 'show', 'terraform.show')?.values['plan.json'];
    const outcome: DriftOutcome = { drift: exit === 2, exit_code: exit ?? null, ...countPlanChanges(openValue(ctx, plan)) };
    return { ...outcome };
  },
});
