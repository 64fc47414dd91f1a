/**
 * The Dagger client surface and the session that provides it. The engine talks only to the
 * narrow {@link DaggerClient} interface (exactly the calls it makes), so tests inject a
 * recording fake and no engine is needed to test the translation.
 *
 * The SDK (`@dagger.io/dagger`, heavy: GraphQL, OpenTelemetry, gRPC) is imported lazily by
 * {@link sdkSession} the first time a session is needed; this file only imports its types,
 * which the compiler erases.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import type * as DaggerSdk from '@dagger.io/dagger';
import { whichDaggerOnPath } from '../select.js';

// ---------------------------------------------------------------------------------------------
// The client surface: exactly the Dagger calls this engine makes.

export type DaggerCacheSharing = 'SHARED' | 'PRIVATE';

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

export interface DaggerFile {
  /** Writes the file to the host. */
  export(hostPath: string): Promise<string>;
}

/** An immutable container definition; each `with*` returns a new one. */
export interface DaggerContainer {
  from(address: string): DaggerContainer;
  withMountedDirectory(path: string, source: DaggerDirectory, opts?: { readOnly?: boolean }): DaggerContainer;
  withMountedCache(path: string, cache: DaggerCacheVolume, opts?: { sharing?: DaggerCacheSharing }): DaggerContainer;
  withMountedFile(path: string, source: DaggerHostFile): DaggerContainer;
  withEnvVariable(name: string, value: string): DaggerContainer;
  withSecretVariable(name: string, secret: DaggerSecret): DaggerContainer;
  withWorkdir(path: string): DaggerContainer;
  /** `expect: 'ANY'`: a non-zero exit is a result, not an error (except 128-191: signals). */
  withExec(args: string[], opts?: { expect?: 'ANY' }): DaggerContainer;
  /** The exec's exit code; aborting `signal` cancels the exec on the engine where the session allows it. */
  exitCode(signal?: AbortSignal): Promise<number>;
  stdout(): Promise<string>;
  stderr(): Promise<string>;
  /** stdout and stderr interleaved as the command wrote them. */
  combinedOutput(): Promise<string>;
  /** A directory of the container after its execs; mounts are included. */
  directory(path: string): DaggerDirectory;
  /** A file of the container after its execs (`Container.file`). */
  file(path: string): DaggerFile;
  /**
   * Writes the container as an OCI image layout tarball to the host (`Container.export`);
   * layers gzip-compressed, OCI media types (what `readOciArchive` in src/oci reads).
   */
  export(hostPath: string): Promise<string>;
}

/** A file loaded from the host (`Host.file`), to mount. */
export interface DaggerHostFile {
  readonly hostPath: string;
}

export interface DaggerHost {
  /** `noCache`: reload from the host (a session otherwise caches a host path's first load). */
  directory(path: string, opts?: { exclude?: string[]; noCache?: boolean }): DaggerDirectory;
  /** A host file, reloaded each time (`noCache`). */
  file(path: string): DaggerHostFile;
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
// Errors and time limits of a session.

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

/** A connection failure whose message is already what the user should read. */
export class SessionError extends Error {
  override name = 'SessionError';
}

/** `p`, or a {@link SessionError} saying what took longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    const took = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)}s`;
    timer = setTimeout(() => reject(new SessionError(`${what} took longer than ${took}`)), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The version of the Dagger SDK atmos-pipe uses (read from its package.json, without loading
 * it), or undefined when it cannot be read.
 */
export function sdkVersion(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@dagger.io/dagger');
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), '../../package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Says when the engine's version is not the SDK's (major.minor): the SDK sends queries of its
 * own schema, which another engine may not answer alike.
 */
export function versionMismatch(engine: string, sdk: string | undefined): string | undefined {
  const mm = (v: string) => /^v?(\d+)\.(\d+)\./.exec(v)?.slice(1, 3).join('.');
  if (!sdk || !mm(engine) || mm(engine) === mm(sdk)) return undefined;
  return `the Dagger engine ${engine} is not the version of the Dagger SDK atmos-pipe uses (v${sdk}): queries follow the SDK's schema; use a dagger CLI and engine v${sdk}`;
}

// ---------------------------------------------------------------------------------------------
// The default session factory: the real SDK, imported on first use.

type Sdk = typeof DaggerSdk;

/** The session's GraphQL endpoint, when known: a session started here, or DAGGER_SESSION_PORT. */
interface Endpoint {
  port: number;
  token: string;
}

interface SdkContext {
  sdk: Sdk;
  endpoint?: Endpoint;
}

/** Dagger's exec failure as the SDK reports it (`ExecError`): what session.ts reads. */
class QueryExecError extends Error {
  override name = 'ExecError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/**
 * One GraphQL query to the session, as the SDK sends it (POST /query, the token as basic-auth
 * user), abortable: aborting closes the request. Plain node:http, not fetch: fetch gives up
 * on a response whose headers take more than 5 minutes, and an exec answers when it ends.
 */
function abortableQuery(endpoint: Endpoint, query: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query });
    const req = request(
      {
        host: '127.0.0.1',
        port: endpoint.port,
        path: '/query',
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Basic ${Buffer.from(`${endpoint.token}:`).toString('base64')}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let parsed: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof parsed;
          } catch {
            return reject(new Error(`the Dagger session answered HTTP ${res.statusCode} without a GraphQL response`));
          }
          const e = parsed.errors?.[0];
          if (!e) return resolve(parsed.data);
          const x = e.extensions ?? {};
          if (x._type === 'EXEC_ERROR') return reject(new QueryExecError(e.message, Number(x.exitCode ?? -1), String(x.stdout ?? ''), String(x.stderr ?? '')));
          reject(new Error(e.message));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

class SdkDirectory implements DaggerDirectory {
  constructor(
    private readonly ctx: SdkContext,
    readonly raw: DaggerSdk.Directory,
  ) {}
  export(hostPath: string, opts?: { wipe?: boolean }): Promise<string> {
    return this.raw.export(hostPath, opts?.wipe ? { wipe: true } : undefined);
  }
  dockerBuild(opts?: { dockerfile?: string }): DaggerContainer {
    return new SdkContainer(this.ctx, this.raw.dockerBuild(opts?.dockerfile ? { dockerfile: opts.dockerfile } : undefined));
  }
}

class SdkContainer implements DaggerContainer {
  constructor(
    private readonly ctx: SdkContext,
    readonly raw: DaggerSdk.Container,
  ) {}
  private wrap(c: DaggerSdk.Container): SdkContainer {
    return new SdkContainer(this.ctx, c);
  }
  from(address: string): DaggerContainer {
    return this.wrap(this.raw.from(address));
  }
  withMountedDirectory(p: string, source: DaggerDirectory, opts?: { readOnly?: boolean }): DaggerContainer {
    return this.wrap(this.raw.withMountedDirectory(p, (source as SdkDirectory).raw, opts?.readOnly ? { readOnly: true } : undefined));
  }
  withMountedCache(p: string, cache: DaggerCacheVolume, opts?: { sharing?: DaggerCacheSharing }): DaggerContainer {
    const modes = { SHARED: this.ctx.sdk.CacheSharingMode.Shared, PRIVATE: this.ctx.sdk.CacheSharingMode.Private };
    return this.wrap(this.raw.withMountedCache(p, (cache as SdkCacheVolume).raw, opts?.sharing ? { sharing: modes[opts.sharing] } : undefined));
  }
  withMountedFile(p: string, source: DaggerHostFile): DaggerContainer {
    return this.wrap(this.raw.withMountedFile(p, (source as SdkHostFile).raw));
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
    return this.wrap(this.raw.withExec(args, opts?.expect === 'ANY' ? { expect: this.ctx.sdk.ReturnType.Any } : undefined));
  }
  async exitCode(signal?: AbortSignal): Promise<number> {
    const endpoint = this.ctx.endpoint;
    if (!signal || !endpoint) return this.raw.exitCode();
    // The SDK cannot abort a query; this one is sent directly, so that aborting it closes the
    // request, which is what makes Dagger cancel the exec (the container by its ID, as the SDK
    // itself loads objects: `node(id:)` with an inline fragment).
    const id = await this.raw.id();
    const data = (await abortableQuery(endpoint, `{ node(id: ${JSON.stringify(id)}) { ... on Container { exitCode } } }`, signal)) as { node: { exitCode: number } };
    return data.node.exitCode;
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
    return new SdkDirectory(this.ctx, this.raw.directory(p));
  }
  file(p: string): DaggerFile {
    const raw = this.raw.file(p);
    return { export: (hostPath) => raw.export(hostPath) };
  }
  export(hostPath: string): Promise<string> {
    // gzip layers and OCI media types whatever the engine has cached: what readOciArchive reads.
    return this.raw.export(hostPath, { forcedCompression: this.ctx.sdk.ImageLayerCompression.Gzip, mediaTypes: this.ctx.sdk.ImageMediaTypes.Oci });
  }
}

class SdkHostFile implements DaggerHostFile {
  constructor(
    readonly hostPath: string,
    readonly raw: DaggerSdk.File,
  ) {}
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
    private readonly ctx: SdkContext,
    private readonly dag: DaggerSdk.Client,
  ) {}
  version(): Promise<string> {
    return this.dag.version();
  }
  container(): DaggerContainer {
    return new SdkContainer(this.ctx, this.dag.container());
  }
  host(): DaggerHost {
    const host = this.dag.host();
    return {
      directory: (p, opts) => {
        const o: DaggerSdk.HostDirectoryOpts = {};
        if (opts?.exclude?.length) o.exclude = opts.exclude;
        if (opts?.noCache) o.noCache = true;
        return new SdkDirectory(this.ctx, host.directory(p, o));
      },
      file: (p) => new SdkHostFile(p, host.file(p, { noCache: true })),
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
      const waited = (ms: number) => {
        let t: NodeJS.Timeout | undefined;
        return Promise.race([closed.then(() => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(t));
      };
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
      // The child and its pipes stay referenced: while close() waits for the session to end,
      // they are what keeps Node's event loop alive (unref'd, the loop emptied in the middle of
      // close() and atmos-pipe exited 13 with no summary). The engine is always closed.
      resolve({ port: p.port, token: p.session_token, stop });
    });
  });
}

/** Variables the SDK reads from process.env (it has no other way to receive them). */
const SDK_ENV = ['DAGGER_SESSION_PORT', 'DAGGER_SESSION_TOKEN', '_EXPERIMENTAL_DAGGER_CLI_BIN', '_EXPERIMENTAL_DAGGER_RUNNER_HOST'] as const;
type SdkEnv = Partial<Record<(typeof SDK_ENV)[number], string>>;

/**
 * Runs the SDK's `connect(fn)`: `fn` hands the session's client out and waits until
 * {@link DaggerSession.close}; the SDK's global `dag` is left alone. `vars` are the SDK's variables
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

  const endpoint = vars.DAGGER_SESSION_PORT && vars.DAGGER_SESSION_TOKEN ? { port: Number(vars.DAGGER_SESSION_PORT), token: vars.DAGGER_SESSION_TOKEN } : undefined;
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  let ready!: (c: DaggerClient) => void;
  const readyP = new Promise<DaggerClient>((r) => (ready = r));
  let client: DaggerClient;
  let done: Promise<void>;
  try {
    // connect(), not connection(): connection() sets the SDK's global client and resets it when
    // it ends, which breaks a caller that uses `dag` itself (atmos-pipe inside a Dagger module).
    // connect() checks the engine's version first and prints a failure with console.error;
    // that one message is held back (the engine's own version query reports it, as a diagnostic).
    const print = console.error;
    console.error = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('failed to check version compatibility')) return;
      print(...args);
    };
    const unmute = () => {
      if (console.error !== print) console.error = print;
    };
    done = sdk.connect(async (dag) => {
      unmute();
      ready(new SdkClient({ sdk, ...(endpoint ? { endpoint } : {}) }, dag));
      await hold;
    });
    done.then(unmute, unmute);
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
