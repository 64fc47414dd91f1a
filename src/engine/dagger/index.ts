/**
 * The Dagger engine (SPEC 4.2): every step runs in a container of its pinned image on a Dagger
 * engine (local, `dagger run`, or remote through `_EXPERIMENTAL_DAGGER_RUNNER_HOST`). In four
 * parts:
 *
 * - dagger/client.ts: the narrow client surface the engine uses, and the session factory
 *   ({@link connectWithSdk}) that imports the SDK lazily, on first use;
 * - dagger/translate.ts: a step as a container plan (pure; tested with a recording fake);
 * - dagger/session.ts: running a translated step and exporting its files back to the host;
 * - this file: the engine, which owns the session (one per run: opened by prepare() or the
 *   first exec, shared by parallel execs, ended by close()), timeouts and cancellation.
 *
 * When a session cannot be opened, prepare/exec throw a DiagnosticError (exit 2) saying no
 * Dagger engine is reachable, with the cause's first line and a hint, never a stack.
 *
 * Images run by digest only (a tag-only image is refused unless --allow-tool-drift). A timeout or
 * a cancellation closes the exec's query, which cancels the exec on the engine.
 *
 * Not enforced here: `network: false`. Dagger containers always have network (Dagger 0.21 has no
 * per-exec switch); the engine says so once (see {@link DaggerEngine.drainNotices}).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { DiagnosticError, error } from '../../diagnostics/index.js';
import type { Capability, Step } from '../../steps/types.js';
import { SessionError, connectWithSdk, rootMessage, sdkVersion, versionMismatch, withTimeout, type DaggerConnect, type DaggerSession } from './client.js';
import { runStep } from './session.js';
import { isContainerBuild } from './translate.js';
import type { Engine, ExecRequest, ExecResult, Support } from '../types.js';

export * from './client.js';
export * from './translate.js';

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
  /** The SDK's version the engine's is compared with (default: the installed SDK's). */
  sdkVersion?: () => string | undefined;
  /** Cache-busting value per exec (default a random UUID); see {@link NONCE_VARIABLE}. */
  nonce?: () => string;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 300_000;

export const NETWORK_NOTICE = 'the Dagger engine does not enforce `network: false`: step containers always have network access';

const UNREACHABLE_HINT =
  'run the steps on this machine with --engine local, or point the Dagger CLI at a running engine with _EXPERIMENTAL_DAGGER_RUNNER_HOST (tcp://, unix://, kube-pod://, container://, image://)';

function unreachable(e: unknown): DiagnosticError {
  if (e instanceof DiagnosticError) return e;
  const msg = e instanceof SessionError ? e.message : rootMessage(e);
  return new DiagnosticError(error('engine/dagger-unreachable', `no Dagger engine is reachable: ${msg}`, undefined, UNREACHABLE_HINT));
}

/** `name@sha256:<64 hex>`: an image reference that names content, not a tag that can move. */
export function isPinnedByDigest(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}

export class DaggerEngine implements Engine {
  readonly name = 'dagger' as const;
  private sessionP: Promise<{ session: DaggerSession; version: string }> | undefined;
  private readonly notices: string[] = [];
  private networkNoted = false;
  private closed = false;
  private allowToolDrift = false;
  private readonly byTag = new Set<string>();

  constructor(private readonly opts: DaggerEngineOptions = {}) {}

  /** Steps run in containers on an engine with BuildKit: every capability is supported. */
  supports(_capability: Capability): Support {
    return { supported: true };
  }

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
      pending
        .then(
          (s) => s.close(),
          () => undefined,
        )
        .catch(() => undefined);
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

  async prepare(steps: Step[], opts: { allowToolDrift: boolean }): Promise<string[]> {
    this.allowToolDrift = opts.allowToolDrift;
    const noImage = steps.filter((s) => !s.image);
    if (noImage.length) {
      throw new DiagnosticError(
        noImage.map((s) =>
          error(
            'engine/dagger-no-image',
            `step ${s.id} (${s.module}) has no container image, so the Dagger engine cannot run it`,
            undefined,
            'pin an image for the module, or run with --engine local',
          ),
        ),
      );
    }
    const { session, version } = await this.session();
    const runner = this.env._EXPERIMENTAL_DAGGER_RUNNER_HOST;
    const out = [`steps run in containers on the Dagger engine ${version}, through ${session.via}${runner ? ` (runner ${runner})` : ''}`];
    const mismatch = versionMismatch(version, (this.opts.sdkVersion ?? sdkVersion)());
    if (mismatch) out.push(mismatch);
    if (steps.some((s) => !s.network)) this.noteNetwork();
    out.push(...this.drainNotices());
    return out;
  }

  /**
   * Images run by digest: a tag can move, and the image is in the step's fingerprint, so a
   * tag-only reference would let a cached result stand for software that is no longer the
   * image's. Nothing here can resolve a tag (no registry is asked), so the digest comes from
   * configuration; --allow-tool-drift runs a tag, with a notice.
   */
  private checkPinned(step: Step): void {
    if (isPinnedByDigest(step.image)) return;
    if (this.allowToolDrift) {
      if (!this.byTag.has(step.image)) this.notices.push(`the Dagger engine runs ${step.image} by tag (--allow-tool-drift): a tag can move, the fingerprint does not`);
      this.byTag.add(step.image);
      return;
    }
    const where = step.imageChosenIn
      ? `; the image is chosen in ${step.imageChosenIn}`
      : step.hostTool?.pinnedIn
        ? `; the tool is pinned in ${step.hostTool.pinnedIn}, beside which an \`image\` key takes the reference`
        : '';
    throw new DiagnosticError(
      error(
        'engine/dagger-image-tag',
        `step ${step.id} (${step.module}) runs the image ${step.image}, pinned by tag only: the Dagger engine runs images by digest`,
        undefined,
        `pin it as name@sha256:<digest> (\`skopeo inspect docker://${step.image}\` prints the digest)${where}, or pass --allow-tool-drift to run it by tag`,
      ),
    );
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
      throw new DiagnosticError(
        error(
          'engine/dagger-no-image',
          `step ${step.id} (${step.module}) has no container image, so the Dagger engine cannot run it`,
          undefined,
          'pin an image for the module, or run with --engine local',
        ),
      );
    }
    if (!isContainerBuild(step)) this.checkPinned(step);
    if (step.argv.length === 0) throw new Error(`step ${step.id} has no command`);
    if (req.signal.aborted) throw new Error(`step ${step.id} was cancelled before it started`);
    if (!step.network) this.noteNetwork();
    const { session } = await this.session();
    for (const m of step.mounts ?? []) mkdirSync(m.host, { recursive: true });
    const secretValues = step.secrets.map((n) => req.env[n]).filter((v): v is string => typeof v === 'string' && v.length >= 4);
    const redact = (s: string) => secretValues.reduce((acc, v) => acc.split(v).join('***'), s);

    // Aborted on a timeout or a cancellation: the exec's query is closed, which cancels the exec
    // on the engine, and nothing is exported afterwards (see runStep).
    const stop = new AbortController();
    const run = runStep(session.client, { ...req, signal: stop.signal }, redact, (this.opts.nonce ?? randomUUID)(), this.env);
    run.catch(() => undefined); // settled later than a timeout or cancellation: nobody waits
    const races: Promise<ExecResult>[] = [run];
    const cleanups: (() => void)[] = [];
    if (step.timeoutSeconds) {
      const secs = step.timeoutSeconds;
      races.push(
        new Promise<ExecResult>((resolve) => {
          const t = setTimeout(() => {
            stop.abort();
            req.onOutput(Buffer.from(`\natmos-pipe: step timed out after ${secs}s (the Dagger exec was cancelled)\n`));
            resolve({ exitCode: 124 });
          }, secs * 1000);
          cleanups.push(() => clearTimeout(t));
        }),
      );
    }
    races.push(
      new Promise<ExecResult>((_, reject) => {
        const onAbort = () => {
          stop.abort();
          reject(new Error(`step ${step.id} was cancelled`));
        };
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
