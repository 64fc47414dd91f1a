/**
 * The local engine (SPEC 4.2): runs a step's argv in its workspace. In the default `strict`
 * sandbox mode every step runs in bubblewrap with a user namespace, no capabilities and an
 * assembled read-only root (see sandbox.ts); where that cannot be had the run refuses before
 * any step. `off` runs steps unsandboxed on the host. Host tools are checked against their
 * pins the first time a step that needs them actually runs (a fully cached run starts no tool).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import type { Writable } from 'node:stream';
import path from 'node:path';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { commandLine, type Capability, type Step, type StepMount, type HostTool } from '../steps/types.js';
import { SANDBOX_GROUP, SANDBOX_PASSWD, SEAL_ROOT, isolationArgs, seccompFilter, sandboxChoice, setUpSandbox, toolBinds, type SandboxMode, type SandboxSetup } from './sandbox.js';
import type { Engine, ExecRequest, ExecResult, Support } from './types.js';

/** Find an executable on PATH (no process spawned). */
export function which(cmd: string, envPath = process.env.PATH ?? ''): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** The version a tool prints when asked (`hostTool.versionArgs`, default `--version`): its first `x.y.z`. */
function probeVersion(bin: string, host: HostTool | undefined): string | undefined {
  const r = spawnSync(bin, host?.versionArgs ?? ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return /(\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

/** What to do when a step's tool is not on PATH: the step's own advice, else install it; or use containers. */
function installHint(cmd: string, step: Step): string {
  return `${step.hostTool?.install ?? `install ${path.basename(step.tool?.name ?? cmd)}`}, or run the steps in containers with --engine dagger`;
}

/** Kill a process and every descendant (found through /proc), children first. */
export function killTree(pid: number): void {
  const children = new Map<number, number[]>();
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        const list = children.get(ppid) ?? [];
        list.push(Number(d));
        children.set(ppid, list);
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    // no /proc (not Linux): only the process itself
  }
  const order: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) walk(c);
    order.push(p);
  };
  walk(pid);
  for (const p of order) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface LocalEngineOptions {
  /**
   * strict (default): every step in the hardened bubblewrap sandbox, or the run refuses
   * (exit 2) before any step; off: unsandboxed. A ready {@link SandboxSetup} skips the probe.
   */
  sandbox?: SandboxMode | SandboxSetup;
  /** Environment the host passes through to steps (PATH, HOME, proxies...). */
  baseEnv?: NodeJS.ProcessEnv;
}

/** The runner's variables every step sees (besides its host tool's `env`). */
const PASS_THROUGH = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

/**
 * Where a mount appears in the step: an absolute path as is; a relative one (see StepMount)
 * from the working directory. The sandbox binds the host path there; its parents are made in
 * the sandbox's own root, so `..` from the workspace leads to it as it does on the host.
 */
function mountPoint(m: StepMount, cwd: string): string {
  return path.isAbsolute(m.path) ? m.path : path.resolve(cwd, m.path);
}

/** Both paths name the same directory (after symlinks), or neither exists yet and they are equal. */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export class LocalEngine implements Engine {
  readonly name = 'local' as const;

  /** Steps run as host processes: no container runtime, so neither containers nor container builds. */
  supports(capability: Capability): Support {
    switch (capability) {
      case 'container-build':
        return {
          supported: false,
          cannot: 'cannot build',
          hint: 'a Dockerfile runs its RUN instructions in containers and the local engine has no container runtime: run it on a Dagger engine (--engine dagger)',
        };
      case 'container':
        return {
          supported: false,
          cannot: 'cannot run in a container',
          hint: 'the local engine runs host tools and has no container runtime: run it on a Dagger engine (--engine dagger)',
        };
    }
  }
  private setup: SandboxSetup | undefined;
  private readonly checkedTools = new Map<string, { bin: string; version?: string }>();
  private allowToolDrift = false;
  private readonly notices: string[] = [];
  constructor(private readonly opts: LocalEngineOptions = {}) {}

  /** The sandbox steps run in; strict and unavailable: a DiagnosticError (exit 2). */
  sandboxSetup(): SandboxSetup {
    if (!this.setup) {
      const s = this.opts.sandbox;
      this.setup = typeof s === 'object' ? s : setUpSandbox(sandboxChoice(s, this.opts.baseEnv ?? process.env, undefined), this.opts.baseEnv ?? process.env, which);
    }
    return this.setup;
  }

  /** Whether steps run inside bubblewrap. */
  get sandboxed(): boolean {
    return this.sandboxSetup().mode === 'strict';
  }

  async prepare(_steps: Step[], opts: { allowToolDrift: boolean }): Promise<string[]> {
    this.allowToolDrift = opts.allowToolDrift;
    // Before any step: strict refuses here when the sandbox cannot be had (the probe result is
    // remembered per machine, so a fully cached run starts nothing).
    this.sandboxSetup();
    const out = [...this.notices];
    this.notices.length = 0;
    return out;
  }

  /** Locate and version-check a tool, once per run. Throws a DiagnosticError (exit 2). */
  private tool(step: Step, env: NodeJS.ProcessEnv): string {
    const cmd = step.argv[0];
    const hit = this.checkedTools.get(cmd);
    if (hit) return hit.bin;
    const bin = which(cmd, env.PATH);
    if (!bin) {
      throw new DiagnosticError(error('engine/tool-missing', `step ${step.id} needs "${cmd}", which is not on PATH`, undefined, installHint(cmd, step)));
    }
    let version: string | undefined;
    if (step.tool?.version && step.tool.version !== '*' && path.basename(step.tool.name) === path.basename(cmd)) {
      version = probeVersion(bin, step.hostTool);
      if (version !== step.tool.version) {
        const msg = `${cmd} ${version ?? '(unknown version)'} is on PATH, but the pinned version is ${step.tool.version}`;
        const hint = `install the pinned version, change ${step.hostTool?.pinnedIn ?? 'the pinned version'}, or pass --allow-tool-drift`;
        if (!this.allowToolDrift) throw new DiagnosticError(error('engine/tool-version', msg, undefined, hint));
        this.notices.push(`warning: ${msg} (--allow-tool-drift)`);
      }
    }
    this.checkedTools.set(cmd, { bin, version });
    return bin;
  }

  /** Notices produced after prepare (e.g. tool drift warnings); drained by the scheduler. */
  drainNotices(): string[] {
    const out = [...this.notices];
    this.notices.length = 0;
    return out;
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const { step, workspace } = req;
    const setup = this.sandboxSetup();
    const base = this.opts.baseEnv ?? process.env;
    const cwd = step.workdir ? path.join(workspace, step.workdir) : workspace;
    const home = path.join(workspace, '.home');
    mkdirSync(home, { recursive: true });
    const env: Record<string, string> = {};
    for (const k of [...PASS_THROUGH, ...(step.hostTool?.env ?? [])]) if (base[k] !== undefined) env[k] = base[k]!;
    Object.assign(env, { HOME: home, TMPDIR: '/tmp' }, req.env);
    const bin = this.tool(step, env);
    for (const m of step.mounts ?? []) mkdirSync(m.host, { recursive: true });

    let file = bin;
    let args = commandLine(step).slice(1);
    let data: (string | Buffer)[] = [];
    if (setup.mode === 'strict') {
      const b = isolationArgs({ network: step.network, version: setup.version });
      // The step's own passwd and group (fds 3 and 4), not the host's list of users; fd 5: the seccomp filter.
      b.push('--ro-bind-data', '3', '/etc/passwd', '--ro-bind-data', '4', '/etc/group');
      data = [SANDBOX_PASSWD, SANDBOX_GROUP];
      const filter = seccompFilter();
      if (filter) {
        b.push('--seccomp', '5');
        data.push(filter);
      }
      // The tool and its companions, where their install directories live outside /usr (e.g. a
      // CI runner's /opt/hostedtoolcache/node/20/x64).
      const visible = new Set<string>();
      for (const t of [bin, ...(step.hostTool?.companions ?? []).map((c) => which(c, env.PATH))]) if (t) for (const d of toolBinds(t, workspace, env.PATH, which)) visible.add(d);
      // Host files the tool reads, when the user points at one (read-only), e.g. its CLI configuration.
      for (const k of step.hostTool?.files ?? []) if (env[k] && existsSync(env[k])) visible.add(path.resolve(env[k]));
      for (const d of visible) b.push('--ro-bind', d, d);
      b.push('--bind', workspace, workspace);
      for (const m of step.mounts ?? []) b.push(m.writable ? '--bind' : '--ro-bind', m.host, mountPoint(m, cwd));
      b.push(...SEAL_ROOT, '--chdir', cwd, '--', bin, ...args);
      file = setup.bwrap;
      args = b;
    } else {
      // Unsandboxed, the step sees the host itself: each mount must already be where it says.
      const bad = (step.mounts ?? []).find((m) => !sameFile(m.host, mountPoint(m, cwd)));
      if (bad) throw new Error(`step ${step.id}: unsandboxed runs can only mount host paths where the step looks for them (${bad.host} at ${bad.path})`);
    }

    return new Promise<ExecResult>((resolve, reject) => {
      // Not detached: the step stays in our process group, so whatever stops atmos-pipe
      // (Ctrl-C, a CI job's kill of the group) stops the step too; bwrap adds --die-with-parent.
      const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe', ...data.map(() => 'pipe' as const)] });
      data.forEach((text, i) => {
        const fd = child.stdio[3 + i] as Writable;
        fd.on('error', () => undefined); // bwrap failed before reading it: its exit status says why
        fd.end(text);
      });
      const stdout: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => {
        if (step.stdout) stdout.push(d);
        else req.onOutput(d);
      });
      child.stderr!.on('data', (d: Buffer) => req.onOutput(d));
      const kill = () => {
        if (child.pid) killTree(child.pid);
      };
      const onAbort = () => kill();
      req.signal.addEventListener('abort', onAbort, { once: true });
      let timedOut = false;
      const timer = step.timeoutSeconds
        ? setTimeout(() => {
            timedOut = true;
            req.onOutput(Buffer.from(`\natmos-pipe: step timed out after ${step.timeoutSeconds}s\n`));
            kill();
          }, step.timeoutSeconds * 1000)
        : undefined;
      child.on('error', (e) => {
        req.signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, sig) => {
        req.signal.removeEventListener('abort', onAbort);
        if (timer) clearTimeout(timer);
        const exitCode = code ?? (timedOut ? 124 : sig ? 128 + (sig === 'SIGKILL' ? 9 : 15) : 1);
        resolve({ exitCode, ...(step.stdout ? { stdout: Buffer.concat(stdout) } : {}) });
      });
    });
  }

  async close(): Promise<void> {
    // nothing held between steps
  }
}
