/**
 * The Dagger engine (SPEC 4.2): every step runs in a container of its pinned image on a Dagger
 * engine (local, `dagger run`, or remote through `_EXPERIMENTAL_DAGGER_RUNNER_HOST`).
 *
 * Per step: `container().from(step.image)`; the prepared workspace (inputs already materialised
 * by the scheduler) mounted from the host at {@link WORKSPACE_PATH}; each `step.mounts` entry
 * mounted from the host (relative ones where they lead from the workspace: {@link containerLayout}); cache volumes for tool caches (Terraform plugins); plain env sorted by
 * name; secrets via `setSecret` + `withSecretVariable`, never as plain env; `withExec(argv,
 * {expect: ANY})`; then the exit code and output; finally the workspace (and writable mounts)
 * exported back to the host, so the scheduler collects `step.outputs` exactly as with the
 * local engine.
 *
 * A `nixpack.dockerfile` step (the Dockerfile escape) is not an exec: its argv describes a
 * Dockerfile build, run as `host().directory(<workspace>/<workdir>).dockerBuild({dockerfile})`
 * with the image exported (`Container.export`) as an OCI tarball into the workspace.
 *
 * The SDK (`@dagger.io/dagger`, heavy: GraphQL, OpenTelemetry, gRPC) is imported lazily by
 * {@link connectWithSdk} the first time a session is needed; this module only imports its
 * types, which the compiler erases. The engine talks to the narrow {@link DaggerClient}
 * surface, so tests inject a recording fake and no engine is needed to test the translation.
 *
 * One session per run: opened by prepare() (or the first exec), shared by parallel execs, ended
 * by close(). When it cannot be opened, prepare/exec throw a DiagnosticError (exit 2) saying no
 * Dagger engine is reachable, with the cause's first line and a hint, never a stack.
 *
 * Not enforced here: `network: false`. Dagger containers always have network; the engine says
 * so once (see {@link DaggerEngine.drainNotices}). Output is not streamed: Dagger returns a
 * command's output when it finishes, so `onOutput` receives it in one chunk.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type * as DaggerSdk from '@dagger.io/dagger';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { commandLine, type Step } from '../steps/types.js';
import { whichDaggerOnPath } from './select.js';
import type { Engine, ExecRequest, ExecResult } from './types.js';

// ---------------------------------------------------------------------------------------------
// The client surface: exactly the Dagger calls this engine makes.

export type DaggerCacheSharing = 'SHARED' | 'PRIVATE' | 'LOCKED';

/** A secret handle (`dag.setSecret`); carries its name, never its value. */
export interface DaggerSecret {
  readonly secretName: string;
}

/** A cache volume handle (`dag.cacheVolume`). */
export interface DaggerCacheVolume {
  readonly volumeKey: string;
}

export interface DaggerDirectory {
  /** Writes the directory to the host; `wipe` deletes host files absent from it. */
  export(hostPath: string, opts?: { wipe?: boolean }): Promise<string>;
  /** Builds the directory (the build context) with its Dockerfile (`Directory.dockerBuild`). */
  dockerBuild(opts?: { dockerfile?: string }): DaggerContainer;
}

/** An immutable container definition; each `with*` returns a new one. */
export interface DaggerContainer {
  from(address: string): DaggerContainer;
  withMountedDirectory(path: string, source: DaggerDirectory, opts?: { readOnly?: boolean }): DaggerContainer;
  withMountedCache(path: string, cache: DaggerCacheVolume, opts?: { sharing?: DaggerCacheSharing }): DaggerContainer;
  withEnvVariable(name: string, value: string): DaggerContainer;
  withSecretVariable(name: string, secret: DaggerSecret): DaggerContainer;
  withWorkdir(path: string): DaggerContainer;
  /** `expect: 'ANY'`: a non-zero exit is a result, not an error (except 128-191: signals). */
  withExec(args: string[], opts?: { expect?: 'ANY' }): DaggerContainer;
  exitCode(): Promise<number>;
  stdout(): Promise<string>;
  stderr(): Promise<string>;
  /** stdout and stderr interleaved as the command wrote them. */
  combinedOutput(): Promise<string>;
  /** A directory of the container after its execs; mounts are included. */
  directory(path: string): DaggerDirectory;
  /**
   * Writes the container as an OCI image layout tarball to the host (`Container.export`);
   * layers gzip-compressed, OCI media types (what `readOciArchive` in src/oci reads).
   */
  export(hostPath: string): Promise<string>;
}

export interface DaggerHost {
  /** `noCache`: reload from the host (a session otherwise caches a host path's first load). */
  directory(path: string, opts?: { exclude?: string[]; noCache?: boolean }): DaggerDirectory;
}

export interface DaggerClient {
  /** Engine version; the first call that really talks to the engine. */
  version(): Promise<string>;
  container(): DaggerContainer;
  host(): DaggerHost;
  cacheVolume(key: string): DaggerCacheVolume;
  setSecret(name: string, plaintext: string): DaggerSecret;
}

export interface DaggerSession {
  client: DaggerClient;
  /** How the session was reached, for notices and errors (never contains a secret). */
  via: string;
  /** Ends the session (idempotent). */
  close(): Promise<void>;
}

export interface DaggerConnectOptions {
  /** Environment to connect with (DAGGER_SESSION_*, _EXPERIMENTAL_DAGGER_*, PATH). */
  env: NodeJS.ProcessEnv;
  /** Aborted when the engine stops waiting (connect timeout): release what was started. */
  signal?: AbortSignal;
}

export type DaggerConnect = (opts: DaggerConnectOptions) => Promise<DaggerSession>;

// ---------------------------------------------------------------------------------------------
// Translation of one step.

/** Where the step's workspace is mounted in its container. */
export const WORKSPACE_PATH = '/atmos-pipe/workspace';
/** Where tool caches are mounted (unless the step names a path, e.g. TF_PLUGIN_CACHE_DIR). */
export const TOOL_CACHE_ROOT = '/atmos-pipe/cache';
/**
 * Set right before `withExec` to a fresh value: the scheduler is the cache authority (its
 * action cache keys on the secret HMACs, state facts and `cache: 'never'`, which Dagger's
 * layer cache does not see, dagger#6368), so an exec it asks for must really run.
 */
export const NONCE_VARIABLE = 'ATMOS_PIPE_EXEC_NONCE';

const TERRAFORM_TOOLS = new Set(['terraform', 'tofu', 'opentofu']);

export interface ToolCache {
  /** Mount path in the container. */
  path: string;
  /** Cache volume name: tool and version, so versions never share a cache. */
  volume: string;
  /** Variable pointing the tool at the cache, when the step does not set it itself. */
  env?: [string, string];
}

function sanitizeKey(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** The tool a step runs: its pinned host tool, else the image's repository name and tag. */
function toolOf(step: Step): { name: string; version: string } | undefined {
  if (step.tool) return { name: path.posix.basename(step.tool.name), version: step.tool.version };
  const ref = step.image.split('@')[0];
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  if (!last) return undefined;
  const colon = last.indexOf(':');
  return colon < 0 ? { name: last, version: 'latest' } : { name: last.slice(0, colon), version: last.slice(colon + 1) };
}

/**
 * Cache volumes for a step's tool: the Terraform/OpenTofu plugin cache, one volume per tool and
 * version, LOCKED because Terraform's plugin cache is not safe for concurrent writers.
 */
export function toolCaches(step: Step, workdir: string): ToolCache[] {
  const tool = toolOf(step);
  if (!tool || !TERRAFORM_TOOLS.has(tool.name)) return [];
  const volume = `atmos-pipe-${sanitizeKey(tool.name)}-plugins-${sanitizeKey(tool.version)}`;
  const own = step.env.TF_PLUGIN_CACHE_DIR;
  if (own) return [{ path: path.posix.resolve(workdir, own), volume }];
  const dir = `${TOOL_CACHE_ROOT}/${sanitizeKey(tool.name)}-plugins`;
  return [{ path: dir, volume, env: ['TF_PLUGIN_CACHE_DIR', dir] }];
}

function inside(parent: string, p: string): boolean {
  return p === parent || p.startsWith(parent + '/');
}

interface Translation {
  container: DaggerContainer;
  /** What to export back after the exec, in order. */
  exports: { from: string; to: string; wipe: boolean }[];
}

/** Below it, the container mirrors the host around a step that names its mounts relatively (see {@link containerLayout}). */
export const MIRROR_ROOT = '/atmos-pipe/host';

/** Where a step's workspace and mounts are in its container. */
export interface ContainerLayout {
  workspace: string;
  /** The step's mounts, in order, with their container paths. */
  mounts: { host: string; path: string; writable: boolean }[];
}

/**
 * Container paths of a step's workspace and mounts. Without relative mounts: the workspace at
 * {@link WORKSPACE_PATH}, each mount at its absolute path. A mount named relative to the
 * working directory (see StepMount: e.g. Terraform's local state, `../../../state/<d>/<t>`,
 * relative so that no host path reaches a fingerprint) must be where that path leads in the
 * container too: the workspace and those mounts are then placed below {@link MIRROR_ROOT} at
 * their positions relative to their nearest common host directory (e.g. the cache dir), so
 * every relative path resolves in the container as on the host, and no host path shows.
 */
export function containerLayout(step: Step, workspace: string): ContainerLayout {
  const hostWorkdir = path.resolve(workspace, step.workdir ?? '.');
  const leadsTo = new Map<number, string>();
  (step.mounts ?? []).forEach((m, i) => {
    if (!path.posix.isAbsolute(m.path)) leadsTo.set(i, path.resolve(hostWorkdir, m.path));
  });
  let ws = WORKSPACE_PATH;
  if (leadsTo.size > 0) {
    let common = path.resolve(workspace);
    for (const t of leadsTo.values()) while (common !== path.dirname(common) && path.relative(common, t).startsWith('..')) common = path.dirname(common);
    const mirror = (p: string) => path.posix.join(MIRROR_ROOT, path.relative(common, p).split(path.sep).join('/'));
    ws = mirror(workspace);
    for (const [i, t] of leadsTo) leadsTo.set(i, mirror(t));
  }
  return { workspace: ws, mounts: (step.mounts ?? []).map((m, i) => ({ host: m.host, path: leadsTo.get(i) ?? m.path, writable: m.writable })) };
}

/** The container of one step, up to and including `withExec`. */
export function translateStep(client: DaggerClient, req: Pick<ExecRequest, 'step' | 'workspace' | 'env'>, nonce: string): Translation {
  const { step, workspace } = req;
  const layout = containerLayout(step, workspace);
  const wsPath = layout.workspace;
  const workdir = path.posix.resolve(wsPath, step.workdir ?? '.');
  if (!inside(wsPath, workdir)) throw new Error(`step ${step.id}: workdir ${step.workdir} escapes the workspace`);

  let c = client.container().from(step.image);
  c = c.withMountedDirectory(wsPath, client.host().directory(workspace, { noCache: true }));
  const exports: Translation['exports'] = [];
  for (const m of layout.mounts) {
    if (inside(wsPath, m.path) || inside(m.path, wsPath)) {
      throw new Error(`step ${step.id}: mount path ${m.path} overlaps the workspace mount ${wsPath}`);
    }
    c = c.withMountedDirectory(m.path, client.host().directory(m.host, { noCache: true }), m.writable ? undefined : { readOnly: true });
    if (m.writable) exports.push({ from: m.path, to: m.host, wipe: false });
  }
  const caches = toolCaches(step, workdir);
  for (const tc of caches) c = c.withMountedCache(tc.path, client.cacheVolume(tc.volume), { sharing: 'LOCKED' });

  const secretNames = new Set(step.secrets);
  const plain = new Map<string, string>();
  for (const [k, v] of Object.entries(step.env)) if (!secretNames.has(k)) plain.set(k, v);
  for (const [k, v] of Object.entries(req.env)) if (!secretNames.has(k)) plain.set(k, v);
  for (const tc of caches) if (tc.env && !plain.has(tc.env[0])) plain.set(tc.env[0], tc.env[1]);
  for (const k of [...plain.keys()].sort()) c = c.withEnvVariable(k, plain.get(k)!);

  for (const name of [...secretNames].sort()) {
    const value = req.env[name];
    if (value === undefined) continue; // not set on the host: the tool sees it unset, as locally
    c = c.withSecretVariable(name, client.setSecret(`atmos-pipe:${step.id}:${name}`, value));
  }

  c = c.withWorkdir(workdir);
  c = c.withEnvVariable(NONCE_VARIABLE, nonce);
  c = c.withExec(commandLine(step), { expect: 'ANY' });
  // The workspace last: the scheduler reads it once the exec and every export are done. Wiped,
  // so files the step deleted are gone as they would be locally. Host mounts are merged.
  exports.push({ from: wsPath, to: workspace, wipe: true });
  return { container: c, exports };
}

// ---------------------------------------------------------------------------------------------
// Dockerfile builds (the nixpack Dockerfile escape, SPEC 5.1).

/**
 * The step module whose argv is data, not a command: `docker-build --dockerfile <path>
 * --output <file>` (both relative to the step's workdir, the build context). The Dagger engine
 * builds the context with `Directory.dockerBuild` and exports the image as an OCI tarball to
 * `<workdir>/<file>`; there is no container of `step.image` and no exec.
 */
export const DOCKER_BUILD_MODULE = 'nixpack.dockerfile';

export interface DockerBuild {
  /** Host directory of the build context: `<workspace>/<workdir>`. */
  context: string;
  /** The Dockerfile, relative to the context. */
  dockerfile: string;
  /** Host path the OCI tarball is written to, inside the context. */
  output: string;
}

function relativeInside(value: string, flag: string, step: Step): string {
  const n = path.posix.normalize(value.replace(/\\/g, '/'));
  if (!value || path.posix.isAbsolute(n) || n === '..' || n.startsWith('../') || n === '.') {
    throw new Error(`step ${step.id}: ${flag} ${JSON.stringify(value)} must be a file path inside the build context`);
  }
  return n;
}

/** The Dockerfile build a `nixpack.dockerfile` step describes. */
export function dockerBuildOf(step: Step, workspace: string): DockerBuild {
  const [verb, ...rest] = step.argv;
  if (verb !== 'docker-build') throw new Error(`step ${step.id}: expected argv docker-build --dockerfile <path> --output <file>, got ${JSON.stringify(step.argv)}`);
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const [k, v] = [rest[i], rest[i + 1]];
    if ((k !== '--dockerfile' && k !== '--output') || v === undefined) throw new Error(`step ${step.id}: unexpected docker-build argument ${JSON.stringify(k)}`);
    flags[k] = v;
  }
  if (flags['--output'] === undefined) throw new Error(`step ${step.id}: docker-build needs --output <file>`);
  const dockerfile = relativeInside(flags['--dockerfile'] ?? 'Dockerfile', '--dockerfile', step);
  const output = relativeInside(flags['--output'], '--output', step);
  const context = path.resolve(workspace, step.workdir ?? '.');
  if (!inside(path.resolve(workspace), context)) throw new Error(`step ${step.id}: workdir ${step.workdir} escapes the workspace`);
  return { context, dockerfile, output: path.join(context, output) };
}

// ---------------------------------------------------------------------------------------------
// The engine.

export interface DaggerEngineOptions {
  /** Opens a session; default {@link connectWithSdk} (the real SDK). Tests inject a fake. */
  connect?: DaggerConnect;
  /** Environment used to connect (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * How long connecting (and the first query) may take. Default 5 minutes, as the SDK's own:
   * a first session may pull the engine image.
   */
  connectTimeoutMs?: number;
  /** Cache-busting value per exec (default a random UUID); see {@link NONCE_VARIABLE}. */
  nonce?: () => string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 300_000;

export const NETWORK_NOTICE =
  'the Dagger engine does not enforce `network: false`: step containers always have network access';

const UNREACHABLE_HINT =
  'run the steps on this machine with --engine local, or point the Dagger CLI at a running engine with _EXPERIMENTAL_DAGGER_RUNNER_HOST (tcp://, unix://, kube-pod://, container://, image://)';

/** First line of the deepest message of an error chain (no stack). */
export function rootMessage(e: unknown): string {
  const messages: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 8 && cur; i++) {
    const m = cur instanceof Error ? cur.message : typeof cur === 'string' ? cur : '';
    if (m) messages.push(m);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  const line = (messages.at(-1) ?? String(e)).split('\n').find((l) => l.trim()) ?? 'unknown error';
  return line.trim().slice(0, 500);
}

function unreachable(e: unknown): DiagnosticError {
  if (e instanceof DiagnosticError) return e;
  const msg = e instanceof SessionError ? e.message : rootMessage(e);
  return new DiagnosticError(error('engine/dagger-unreachable', `no Dagger engine is reachable: ${msg}`, undefined, UNREACHABLE_HINT));
}

/** A connection failure whose message is already what the user should read. */
class SessionError extends Error {
  override name = 'SessionError';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    const took = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)}s`;
    timer = setTimeout(() => reject(new SessionError(`${what} took longer than ${took}`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

interface ExecErrorLike {
  name: 'ExecError';
  exitCode: number;
  stdout: string;
  stderr: string;
}

function isExecError(e: unknown): e is ExecErrorLike {
  return e instanceof Error && e.name === 'ExecError' && typeof (e as unknown as ExecErrorLike).exitCode === 'number';
}

export class DaggerEngine implements Engine {
  readonly name = 'dagger' as const;
  private sessionP: Promise<{ session: DaggerSession; version: string }> | undefined;
  private readonly notices: string[] = [];
  private networkNoted = false;
  private closed = false;

  constructor(private readonly opts: DaggerEngineOptions = {}) {}

  private get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  private session(): Promise<{ session: DaggerSession; version: string }> {
    this.closed = false;
    this.sessionP ??= this.open();
    return this.sessionP;
  }

  private async open(): Promise<{ session: DaggerSession; version: string }> {
    const connect = this.opts.connect ?? connectWithSdk;
    const timeout = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const giveUp = new AbortController();
    const pending = Promise.resolve().then(() => connect({ env: this.env, signal: giveUp.signal }));
    let session: DaggerSession;
    try {
      session = await withTimeout(pending, timeout, 'starting a Dagger session');
    } catch (e) {
      // Whatever the factory started must not linger, nor a session that shows up late.
      giveUp.abort();
      pending.then((s) => s.close(), () => undefined).catch(() => undefined);
      throw unreachable(e);
    }
    try {
      const version = await withTimeout(session.client.version(), timeout, `reaching ${session.via}`);
      return { session, version };
    } catch (e) {
      await session.close().catch(() => undefined);
      throw unreachable(e instanceof SessionError ? e : new SessionError(`${session.via}: ${rootMessage(e)}`));
    }
  }

  async prepare(steps: Step[], _opts: { allowToolDrift: boolean }): Promise<string[]> {
    const noImage = steps.filter((s) => !s.image);
    if (noImage.length) {
      throw new DiagnosticError(
        noImage.map((s) => error('engine/dagger-no-image', `step ${s.id} (${s.module}) has no container image, so the Dagger engine cannot run it`, undefined, 'pin an image for the module, or run with --engine local')),
      );
    }
    const { session, version } = await this.session();
    const runner = this.env._EXPERIMENTAL_DAGGER_RUNNER_HOST;
    const out = [`steps run in containers on the Dagger engine ${version}, through ${session.via}${runner ? ` (runner ${runner})` : ''}`];
    if (steps.some((s) => !s.network)) this.noteNetwork();
    out.push(...this.drainNotices());
    return out;
  }

  private noteNetwork(): void {
    if (this.networkNoted) return;
    this.networkNoted = true;
    this.notices.push(NETWORK_NOTICE);
  }

  /** Notices produced after prepare (drained by the scheduler after each step). */
  drainNotices(): string[] {
    const out = [...this.notices];
    this.notices.length = 0;
    return out;
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const { step } = req;
    if (!step.image) {
      throw new DiagnosticError(error('engine/dagger-no-image', `step ${step.id} (${step.module}) has no container image, so the Dagger engine cannot run it`, undefined, 'pin an image for the module, or run with --engine local'));
    }
    if (step.argv.length === 0) throw new Error(`step ${step.id} has no command`);
    if (req.signal.aborted) throw new Error(`step ${step.id} was cancelled before it started`);
    if (!step.network) this.noteNetwork();
    const { session } = await this.session();
    for (const m of step.mounts ?? []) mkdirSync(m.host, { recursive: true });
    const secretValues = step.secrets.map((n) => req.env[n]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
    const redact = (s: string) => secretValues.reduce((acc, v) => acc.split(v).join('***'), s);

    const run = this.run(session.client, req, redact);
    run.catch(() => undefined); // settled later than a timeout or cancellation: nobody waits
    const races: Promise<ExecResult>[] = [run];
    const cleanups: (() => void)[] = [];
    if (step.timeoutSeconds) {
      const secs = step.timeoutSeconds;
      races.push(
        new Promise<ExecResult>((resolve) => {
          const t = setTimeout(() => {
            req.onOutput(Buffer.from(`\natmos-pipe: step timed out after ${secs}s (the Dagger exec is abandoned; it stops when the session ends)\n`));
            resolve({ exitCode: 124 });
          }, secs * 1000);
          cleanups.push(() => clearTimeout(t));
        }),
      );
    }
    races.push(
      new Promise<ExecResult>((_, reject) => {
        const onAbort = () => reject(new Error(`step ${step.id} was cancelled`));
        req.signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => req.signal.removeEventListener('abort', onAbort));
      }),
    );
    try {
      return await Promise.race(races);
    } finally {
      for (const c of cleanups) c();
    }
  }

  private async run(client: DaggerClient, req: ExecRequest, redact: (s: string) => string): Promise<ExecResult> {
    const { step } = req;
    if (step.module === DOCKER_BUILD_MODULE) return this.dockerBuild(client, req, redact);
    const { container, exports } = translateStep(client, req, (this.opts.nonce ?? randomUUID)());
    let exitCode: number;
    let stdout: string | undefined;
    try {
      exitCode = await container.exitCode();
      if (step.stdout) {
        // As locally: stdout goes to the file, only stderr to the log.
        stdout = await container.stdout();
        const err = await container.stderr();
        if (err) req.onOutput(Buffer.from(err));
      } else {
        const out = await container.combinedOutput();
        if (out) req.onOutput(Buffer.from(out));
      }
    } catch (e) {
      if (isExecError(e)) {
        // Exit codes 128-191 (killed by a signal) fail the exec even with expect ANY; the
        // container has no result, so there is nothing to export.
        if (step.stdout) {
          if (e.stderr) req.onOutput(Buffer.from(e.stderr));
          return { exitCode: e.exitCode, stdout: Buffer.from(e.stdout ?? '') };
        }
        const out = [e.stdout, e.stderr].filter(Boolean).join('\n');
        if (out) req.onOutput(Buffer.from(out));
        return { exitCode: e.exitCode };
      }
      throw new Error(redact(`dagger: ${rootMessage(e)}`));
    }
    // Exported whatever the exit code: a failed `terraform apply` still writes its state, and
    // --keep-workspace shows what a failed step left behind.
    try {
      for (const x of exports) await container.directory(x.from).export(x.to, x.wipe ? { wipe: true } : undefined);
    } catch (e) {
      throw new Error(redact(`dagger: exporting the step's files failed: ${rootMessage(e)}`));
    }
    return { exitCode, ...(step.stdout ? { stdout: Buffer.from(stdout ?? '') } : {}) };
  }

  /**
   * A Dockerfile build: the context loaded from the host (never a stale session copy), built
   * by the engine's BuildKit, the image exported as an OCI tarball into the workspace, where
   * the scheduler collects it as the step's output. The SDK returns no build log, so the log
   * says what was built; a failed build is exit 1 with the reason (and, for a failed RUN, its
   * output), never a stack.
   */
  private async dockerBuild(client: DaggerClient, req: ExecRequest, redact: (s: string) => string): Promise<ExecResult> {
    const b = dockerBuildOf(req.step, req.workspace);
    const rel = path.relative(b.context, b.output);
    try {
      const dir = client.host().directory(b.context, { noCache: true });
      await dir.dockerBuild({ dockerfile: b.dockerfile }).export(b.output);
    } catch (e) {
      const lines: string[] = [];
      if (isExecError(e)) for (const s of [e.stdout, e.stderr]) if (s) lines.push(s.replace(/\n$/, ''));
      lines.push(`dagger: building ${b.dockerfile} failed: ${rootMessage(e)}`);
      req.onOutput(Buffer.from(redact(lines.join('\n') + '\n')));
      return { exitCode: 1 };
    }
    req.onOutput(Buffer.from(`built ${b.dockerfile} on the Dagger engine; OCI image written to ${rel}\n`));
    return { exitCode: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const p = this.sessionP;
    this.sessionP = undefined;
    if (!p) return;
    try {
      const { session } = await p;
      await session.close();
    } catch {
      // a session that never opened has nothing to close
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The default session factory: the real SDK, imported on first use.

type Sdk = typeof DaggerSdk;

class SdkDirectory implements DaggerDirectory {
  constructor(
    private readonly sdk: Sdk,
    readonly raw: DaggerSdk.Directory,
  ) {}
  export(hostPath: string, opts?: { wipe?: boolean }): Promise<string> {
    return this.raw.export(hostPath, opts?.wipe ? { wipe: true } : undefined);
  }
  dockerBuild(opts?: { dockerfile?: string }): DaggerContainer {
    return new SdkContainer(this.sdk, this.raw.dockerBuild(opts?.dockerfile ? { dockerfile: opts.dockerfile } : undefined));
  }
}

class SdkContainer implements DaggerContainer {
  constructor(
    private readonly sdk: Sdk,
    readonly raw: DaggerSdk.Container,
  ) {}
  private wrap(c: DaggerSdk.Container): SdkContainer {
    return new SdkContainer(this.sdk, c);
  }
  from(address: string): DaggerContainer {
    return this.wrap(this.raw.from(address));
  }
  withMountedDirectory(p: string, source: DaggerDirectory, opts?: { readOnly?: boolean }): DaggerContainer {
    return this.wrap(this.raw.withMountedDirectory(p, (source as SdkDirectory).raw, opts?.readOnly ? { readOnly: true } : undefined));
  }
  withMountedCache(p: string, cache: DaggerCacheVolume, opts?: { sharing?: DaggerCacheSharing }): DaggerContainer {
    const modes = { SHARED: this.sdk.CacheSharingMode.Shared, PRIVATE: this.sdk.CacheSharingMode.Private, LOCKED: this.sdk.CacheSharingMode.Locked };
    return this.wrap(this.raw.withMountedCache(p, (cache as SdkCacheVolume).raw, opts?.sharing ? { sharing: modes[opts.sharing] } : undefined));
  }
  withEnvVariable(name: string, value: string): DaggerContainer {
    return this.wrap(this.raw.withEnvVariable(name, value));
  }
  withSecretVariable(name: string, secret: DaggerSecret): DaggerContainer {
    return this.wrap(this.raw.withSecretVariable(name, (secret as SdkSecret).raw));
  }
  withWorkdir(p: string): DaggerContainer {
    return this.wrap(this.raw.withWorkdir(p));
  }
  withExec(args: string[], opts?: { expect?: 'ANY' }): DaggerContainer {
    return this.wrap(this.raw.withExec(args, opts?.expect === 'ANY' ? { expect: this.sdk.ReturnType.Any } : undefined));
  }
  exitCode(): Promise<number> {
    return this.raw.exitCode();
  }
  stdout(): Promise<string> {
    return this.raw.stdout();
  }
  stderr(): Promise<string> {
    return this.raw.stderr();
  }
  combinedOutput(): Promise<string> {
    return this.raw.combinedOutput();
  }
  directory(p: string): DaggerDirectory {
    return new SdkDirectory(this.sdk, this.raw.directory(p));
  }
  export(hostPath: string): Promise<string> {
    // gzip layers and OCI media types whatever the engine has cached: what readOciArchive reads.
    return this.raw.export(hostPath, { forcedCompression: this.sdk.ImageLayerCompression.Gzip, mediaTypes: this.sdk.ImageMediaTypes.Oci });
  }
}

class SdkSecret implements DaggerSecret {
  constructor(
    readonly secretName: string,
    readonly raw: DaggerSdk.Secret,
  ) {}
}

class SdkCacheVolume implements DaggerCacheVolume {
  constructor(
    readonly volumeKey: string,
    readonly raw: DaggerSdk.CacheVolume,
  ) {}
}

class SdkClient implements DaggerClient {
  constructor(
    private readonly sdk: Sdk,
    private readonly dag: DaggerSdk.Client,
  ) {}
  version(): Promise<string> {
    return this.dag.version();
  }
  container(): DaggerContainer {
    return new SdkContainer(this.sdk, this.dag.container());
  }
  host(): DaggerHost {
    const host = this.dag.host();
    return {
      directory: (p, opts) => {
        const o: DaggerSdk.HostDirectoryOpts = {};
        if (opts?.exclude?.length) o.exclude = opts.exclude;
        if (opts?.noCache) o.noCache = true;
        return new SdkDirectory(this.sdk, host.directory(p, o));
      },
    };
  }
  cacheVolume(key: string): DaggerCacheVolume {
    return new SdkCacheVolume(key, this.dag.cacheVolume(key));
  }
  setSecret(name: string, plaintext: string): DaggerSecret {
    return new SdkSecret(name, this.dag.setSecret(name, plaintext));
  }
}

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function lastLine(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .at(-1);
}

interface CliSession {
  port: number;
  token: string;
  /** Ends the session: closes its stdin (the CLI's own shutdown signal), then signals. */
  stop(): Promise<void>;
}

/**
 * Starts `dagger session` (the internal command every SDK runs): it prints one JSON line
 * `{"port":…,"session_token":…}` once connected to an engine, serves the session's GraphQL API
 * on 127.0.0.1:port, and shuts down when its stdin is closed. Its stderr is kept for errors.
 */
function startCliSession(bin: string, env: NodeJS.ProcessEnv, via: string, signal?: AbortSignal): Promise<CliSession> {
  const childEnv = { ...env };
  delete childEnv.DAGGER_SESSION_PORT;
  delete childEnv.DAGGER_SESSION_TOKEN;
  return new Promise<CliSession>((resolve, reject) => {
    const child = spawn(bin, ['session', '--label', 'dagger.io/sdk.name:nodejs', '--label', 'dagger.io/sdk.client:atmos-pipe'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnv,
    });
    let stderr = '';
    let exited = false;
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-16_384);
    });
    child.stdin.on('error', () => undefined); // EPIPE when the CLI is already gone
    const stop = async (): Promise<void> => {
      if (exited) return;
      child.stdin.end();
      const waited = (ms: number) => Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      if (await waited(10_000)) return;
      child.kill('SIGTERM');
      if (await waited(5_000)) return;
      child.kill('SIGKILL');
    };
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (!exited) child.kill('SIGTERM');
      reject(new SessionError(`${via}: ${why}`));
    };
    const onAbort = () => fail('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => fail(rootMessage(e)));
    child.on('close', (code, sig) => {
      exited = true;
      fail(lastLine(stderr) ?? `exited (${code ?? sig}) before the session started`);
    });
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      lines.close();
      let p: { port?: unknown; session_token?: unknown } = {};
      try {
        p = JSON.parse(line) as typeof p;
      } catch {
        // reported below
      }
      if (typeof p.port !== 'number' || typeof p.session_token !== 'string') return fail(`unexpected session parameters: ${line.slice(0, 200)}`);
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      // A session never keeps atmos-pipe alive: if it exits without close(), the CLI sees its
      // stdin close and ends the session itself.
      child.unref();
      for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.();
      resolve({ port: p.port, token: p.session_token, stop });
    });
  });
}

/** Variables the SDK reads from process.env (it has no other way to receive them). */
const SDK_ENV = ['DAGGER_SESSION_PORT', 'DAGGER_SESSION_TOKEN', '_EXPERIMENTAL_DAGGER_CLI_BIN', '_EXPERIMENTAL_DAGGER_RUNNER_HOST'] as const;
type SdkEnv = Partial<Record<(typeof SDK_ENV)[number], string>>;

/**
 * Runs the SDK's `connection(fn)`: it sets the global `dag` for as long as `fn` runs, so `fn`
 * hands `dag` out and waits until {@link DaggerSession.close}. `vars` are the SDK's variables
 * for this connection; they are set in process.env only until the SDK has read them.
 * Exported for tests; use {@link connectWithSdk}.
 */
export async function sdkSession(via: string, vars: SdkEnv, onClose?: () => Promise<void>, strayGuard = false): Promise<DaggerSession> {
  const sdk = await import('@dagger.io/dagger');

  // SDK 0.21 quirk, on its own provisioning path only: when the CLI it starts fails, the connect
  // rejects with an unhelpful TypeError ("reading 'port'") AND an EngineSessionError carrying
  // the CLI's stderr is left as an unhandled rejection, which would crash Node. While
  // connecting, this listener keeps that error (for the message) and contains it.
  const strayErrors: string[] = [];
  const guard = (reason: unknown) => {
    if (reason instanceof sdk.EngineSessionError || (reason instanceof Error && reason.name === 'EngineSessionError')) {
      strayErrors.push(rootMessage(reason));
      return;
    }
    if (process.listenerCount('unhandledRejection') <= 1) throw reason; // as if we were not here
  };
  const unguard = () => {
    if (strayGuard) setTimeout(() => process.off('unhandledRejection', guard), 100).unref();
  };
  if (strayGuard) process.on('unhandledRejection', guard);

  const saved: SdkEnv = {};
  for (const k of SDK_ENV) {
    saved[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  const restore = () => {
    for (const k of SDK_ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };

  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  let ready!: (c: DaggerClient) => void;
  const readyP = new Promise<DaggerClient>((r) => (ready = r));
  let client: DaggerClient;
  let done: Promise<void>;
  try {
    done = sdk.connection(async () => {
      ready(new SdkClient(sdk, sdk.dag));
      await hold;
    });
    client = await Promise.race([
      readyP,
      done.then(() => {
        throw new Error('the session ended before it started');
      }),
    ]);
  } catch (e) {
    // Let a stray rejection surface (it follows this microtask queue) before reading it.
    await new Promise((r) => setImmediate(r));
    unguard();
    throw new SessionError(`${via}: ${strayErrors[0] ?? rootMessage(e)}`, { cause: e });
  } finally {
    restore();
  }
  let closing: Promise<void> | undefined;
  return {
    client,
    via,
    close: () => {
      closing ??= (async () => {
        release();
        await withTimeout(done, 30_000, 'closing the Dagger session').catch(() => undefined);
        await onClose?.();
        unguard();
      })();
      return closing;
    },
  };
}

/**
 * The default session factory, with the real SDK (imported here, on first use). In the SDK's
 * order of precedence:
 * 1. DAGGER_SESSION_PORT (+ DAGGER_SESSION_TOKEN), as `dagger run` sets them: the SDK talks to
 *    that session.
 * 2. A dagger CLI: _EXPERIMENTAL_DAGGER_CLI_BIN, else `dagger` on PATH (which the SDK alone
 *    would ignore, downloading its own CLI). We start `dagger session` ourselves and hand its
 *    port and token to the SDK as in 1: we own the process (stopped on close or on a connect
 *    timeout, unlike the SDK's), read its stderr for the error, and avoid the SDK's stray
 *    rejection. The CLI reads _EXPERIMENTAL_DAGGER_RUNNER_HOST (remote engines) itself.
 * 3. Neither: the SDK provisions (downloads) its CLI; this needs network.
 */
export const connectWithSdk: DaggerConnect = async ({ env, signal }) => {
  const port = env.DAGGER_SESSION_PORT || undefined;
  if (port) {
    return sdkSession(`the Dagger session on port ${port} (DAGGER_SESSION_PORT)`, { DAGGER_SESSION_PORT: port, DAGGER_SESSION_TOKEN: env.DAGGER_SESSION_TOKEN || undefined });
  }
  let bin = env._EXPERIMENTAL_DAGGER_CLI_BIN || undefined;
  let via: string;
  if (bin) {
    via = `the dagger CLI ${bin} (_EXPERIMENTAL_DAGGER_CLI_BIN)`;
    if (!isExecutableFile(bin)) throw new SessionError(`${via}: not an executable file`);
  } else {
    bin = whichDaggerOnPath(env);
    via = bin ? `the dagger CLI ${bin} (on PATH)` : 'a dagger CLI downloaded by the SDK (none on PATH)';
  }
  if (!bin) return sdkSession(via, { _EXPERIMENTAL_DAGGER_RUNNER_HOST: env._EXPERIMENTAL_DAGGER_RUNNER_HOST || undefined }, undefined, true);
  const cli = await startCliSession(bin, env, via, signal);
  try {
    return await sdkSession(via, { DAGGER_SESSION_PORT: String(cli.port), DAGGER_SESSION_TOKEN: cli.token }, () => cli.stop());
  } catch (e) {
    await cli.stop();
    throw e;
  }
};
