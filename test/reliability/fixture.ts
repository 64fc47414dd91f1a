/**
 * Shared machinery of the reliability tests (SPEC 4.1, 5.4, 13): a generated repository of
 * Terraform components in dependency waves, the real CLI started as a real process whose
 * NDJSON events are read line by line (so a test can SIGKILL it at an exact point of the
 * event stream), and independent checkers of what a run leaves on disk (Terraform state,
 * action cache, CAS, run lock, stray processes). Nothing here imports the code under test:
 * the checks re-implement the on-disk contracts from the spec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent } from '../../src/engine/types.js';
import { CLI, makeRepo } from '../helpers.js';

export type Ev = RunEvent;
export type Finished = Extract<RunEvent, { type: 'step.finished' }>;
export type Started = Extract<RunEvent, { type: 'step.started' }>;
export type RunStartedEv = Extract<RunEvent, { type: 'run.started' }>;
export type RunFinishedEv = Extract<RunEvent, { type: 'run.finished' }>;

export const DEPLOYMENT = 'chain';

// ---------------------------------------------------------------------------------------
// The repository
// ---------------------------------------------------------------------------------------

/** One root module shared by every component: one resource whose apply takes `delay` seconds. */
const NODE_TF = `variable "name" { type = string }
variable "upstream" {
  type    = string
  default = ""
}
variable "delay" {
  type    = string
  default = "0.2"
}
resource "terraform_data" "this" {
  input = "\${var.name}<-\${var.upstream}"
  provisioner "local-exec" {
    command = "sleep \${var.delay}"
  }
}
output "id" { value = terraform_data.this.output }
`;

export interface WaveRepoOptions {
  /** Number of dependency generations. */
  waves: number;
  /** Components per wave. */
  width: number;
  /** Per-component `delay` (seconds of `sleep` in the apply), by component name. */
  slow?: Record<string, string>;
}

export interface WaveRepo {
  dir: string;
  names: string[];
  /** Component address -> addresses it depends on (depends_on and template references). */
  deps: Record<string, string[]>;
  /** Component name -> the value its `id` output must have after a rollout. */
  expectedId: Record<string, string>;
  /** Every step id a complete rollout runs. */
  stepIds: string[];
}

export const address = (name: string) => `terraform/${name}`;
export const stepId = (name: string, step: 'init' | 'apply' | 'output') => `rollout:terraform/${name}:${step}`;

/**
 * `waves × width` components c00, c01, ...: component i of wave w depends on component i of
 * wave w-1 (`depends_on`). With width ≥ 3 and ≥ 2 waves, c<width+2> also reads
 * `{{ terraform.c02.outputs.id }}`; with ≥ 3 waves the last component depends on every
 * component of the wave before it and reads the output of the one above it.
 */
export function waveRepo(opts: WaveRepoOptions): WaveRepo {
  const { waves, width } = opts;
  const n = waves * width;
  const names = Array.from({ length: n }, (_, i) => `c${String(i).padStart(2, '0')}`);
  const dependsOn: Record<string, string[]> = {};
  const reference: Record<string, string> = {};
  for (let i = 0; i < n; i++) if (i >= width) dependsOn[names[i]] = [names[i - width]];
  if (waves >= 2 && width >= 3) reference[names[width + 2]] = names[2];
  if (waves >= 3) {
    const last = n - 1;
    dependsOn[names[last]] = names.slice(n - 2 * width, n - width);
    reference[names[last]] = names[last - width];
  }

  let stack = 'components:\n  terraform:\n';
  for (const c of names) stack += `    ${c}:\n      metadata: { component: node }\n      vars: { name: ${c} }\n`;

  let dep = `deployment:\n  name: ${DEPLOYMENT}\n  stacks: [catalog/chain]\n  components:\n    terraform:\n`;
  for (const c of names) {
    dep += `      ${c}:\n`;
    if (dependsOn[c]) dep += `        metadata: { depends_on: [${dependsOn[c].join(', ')}] }\n`;
    const vars: string[] = [];
    if (reference[c]) vars.push(`upstream: "{{ terraform.${reference[c]}.outputs.id }}"`);
    if (opts.slow?.[c]) vars.push(`delay: "${opts.slow[c]}"`);
    dep += `        vars: { ${vars.join(', ')} }\n`;
  }
  dep += '  targets:\n    dev: {}\n    staging: {}\n';

  const dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
    'components/terraform/node/main.tf': NODE_TF,
    'stacks/catalog/chain.yaml': stack,
    [`deployments/${DEPLOYMENT}.yaml`]: dep,
  });

  const deps: Record<string, string[]> = {};
  const expectedId: Record<string, string> = {};
  for (const c of names) {
    deps[address(c)] = [...new Set([...(dependsOn[c] ?? []), ...(reference[c] ? [reference[c]] : [])])].map(address);
    expectedId[c] = `${c}<-${reference[c] ? expectedId[reference[c]] : ''}`;
  }
  const stepIds = names.flatMap((c) => [stepId(c, 'init'), stepId(c, 'apply'), stepId(c, 'output')]);
  return { dir, names, deps, expectedId, stepIds };
}

// ---------------------------------------------------------------------------------------
// The CLI as a real process, its events read as they come
// ---------------------------------------------------------------------------------------

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Ev[];
  stdout: string;
  stderr: string;
  /** A last stdout line that was not a whole JSON event (cut by a kill). */
  torn?: string;
}

export interface CliProcess {
  child: ChildProcess;
  pid: number;
  events: Ev[];
  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(pred: (e: Ev) => boolean, what: string, timeoutMs?: number): Promise<Ev>;
  /** SIGKILL the CLI's whole process group (it is started as a group leader). */
  killGroup(): void;
  /** Whether killGroup() was called before the process exited. */
  readonly killed: boolean;
  exited: Promise<Exit>;
  /** The process has exited (and was reaped). */
  readonly done: boolean;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Called synchronously for every event as it is read; return true to SIGKILL the process group right away. */
  killWhen?: (e: Ev, seen: Ev[]) => boolean;
}

export function rolloutArgs(repo: string, target: string, extra: string[] = []): string[] {
  return ['--chdir', repo, 'rollout', DEPLOYMENT, '--target', target, '--events', 'ndjson', ...extra];
}

/** Start `node dist/cli.mjs <args>` in its own process group; events are parsed as they arrive. */
export function startCli(args: string[], opts: StartOptions = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  const pid = child.pid!;
  const events: Ev[] = [];
  const waiters: { pred: (e: Ev) => boolean; resolve: (e: Ev) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  let killed = false;
  let done = false;

  const killGroup = () => {
    if (done || killed) return;
    killed = true;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const onLine = (line: string) => {
    if (!line.trim()) return;
    const e = JSON.parse(line) as Ev;
    events.push(e);
    if (!killed && opts.killWhen?.(e, events)) killGroup();
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString('utf8');
    stdout += d.toString('utf8');
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      for (const w of waiters.splice(0)) w.resolve(undefined as unknown as Ev);
      resolve({ code, signal, events, stdout, stderr, ...(partial ? { torn: partial } : {}) });
    });
  });

  return {
    child,
    pid,
    events,
    killGroup,
    exited,
    get killed() {
      return killed;
    },
    get done() {
      return done;
    },
    waitFor(pred, what, timeoutMs = 45_000) {
      const hit = events.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise<Ev>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${stderr}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(timer);
            if (e === undefined) reject(new Error(`the CLI exited before ${what}; stderr:\n${stderr}`));
            else resolve(e);
          },
        });
      });
    },
  };
}

/** Run the CLI to completion. */
export async function runToEnd(args: string[], env?: NodeJS.ProcessEnv): Promise<Exit> {
  return startCli(args, { env }).exited;
}

export const finished = (events: Ev[]) => events.filter((e): e is Finished => e.type === 'step.finished');
export const started = (events: Ev[]) => events.filter((e): e is Started => e.type === 'step.started');
export const byStatus = (events: Ev[], status: Finished['status']) =>
  new Set(
    finished(events)
      .filter((e) => e.status === status)
      .map((e) => e.id),
  );
export const runStarted = (events: Ev[]) => events.find((e): e is RunStartedEv => e.type === 'run.started');
export const runFinished = (events: Ev[]) => events.find((e): e is RunFinishedEv => e.type === 'run.finished');
export const notices = (events: Ev[]) => events.filter((e): e is Extract<Ev, { type: 'notice' }> => e.type === 'notice').map((e) => e.message);

/**
 * Every component starts (its first step starts or is a cache hit) only after every
 * component it depends on has finished its last step. Returns the violations.
 */
export function orderViolations(events: Ev[], deps: Record<string, string[]>): string[] {
  const out: string[] = [];
  const first = new Map<string, number>();
  const outputDone = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.type !== 'step.started' && e.type !== 'step.finished') return;
    if (!first.has(e.component)) first.set(e.component, i);
    if (e.type === 'step.finished' && e.id.endsWith(':output') && (e.status === 'done' || e.status === 'cached')) outputDone.set(e.component, i);
  });
  for (const [c, ds] of Object.entries(deps)) {
    const f = first.get(c);
    if (f === undefined) continue;
    for (const d of ds) {
      const o = outputDone.get(d);
      if (o === undefined || o > f) out.push(`${c} started (event #${f}) before ${d} finished (${o === undefined ? 'never' : `event #${o}`})`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// What a run leaves on disk
// ---------------------------------------------------------------------------------------

export const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const HEX64 = /^[0-9a-f]{64}$/;

export interface CacheReport {
  /** Parsed action-cache entries. */
  entries: { file: string; fingerprint: string; step: string; outputs: Record<string, { kind: string; digest: string }>; logDigest?: string }[];
  /** Leftover temp files (never entries). */
  tmpFiles: string[];
  blobs: number;
  /** Every inconsistency found (empty: consistent). */
  problems: string[];
}

/**
 * The action cache and the CAS are consistent: every `actions/<hex>.json` parses, names its
 * own fingerprint, and every artifact (file or tree, with every blob of the tree) and log it
 * names is in `cas/sha256/<hex>` with a matching sha256; every CAS blob's content matches its
 * name; the only other files are temp files (`*.tmp`), which are not named like entries.
 */
export function checkCache(repo: string): CacheReport {
  const cacheDir = path.join(repo, '.atmos', 'cache');
  const actionsDir = path.join(cacheDir, 'actions');
  const casDir = path.join(cacheDir, 'cas', 'sha256');
  const report: CacheReport = { entries: [], tmpFiles: [], blobs: 0, problems: [] };
  const blob = (digest: string, what: string): Buffer | undefined => {
    const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
    if (!m) {
      report.problems.push(`${what}: not a sha256 digest: ${digest}`);
      return undefined;
    }
    const f = path.join(casDir, m[1]);
    if (!existsSync(f)) {
      report.problems.push(`${what}: ${digest} is not in the CAS`);
      return undefined;
    }
    const b = readFileSync(f);
    if (sha256hex(b) !== m[1]) report.problems.push(`${what}: CAS blob ${m[1]} does not match its content`);
    return b;
  };

  if (existsSync(casDir)) {
    for (const n of readdirSync(casDir)) {
      if (n.endsWith('.tmp')) report.tmpFiles.push(path.join('cas/sha256', n));
      else if (!HEX64.test(n)) report.problems.push(`unexpected file in the CAS: ${n}`);
      else {
        report.blobs++;
        if (sha256hex(readFileSync(path.join(casDir, n))) !== n) report.problems.push(`CAS blob ${n} does not match its content`);
      }
    }
  }
  if (existsSync(actionsDir)) {
    for (const n of readdirSync(actionsDir)) {
      if (n.endsWith('.tmp')) {
        report.tmpFiles.push(path.join('actions', n));
        if (/^[0-9a-f]{64}\.json$/.test(n)) report.problems.push(`temp file named like an entry: ${n}`);
        continue;
      }
      const m = /^([0-9a-f]{64})\.json$/.exec(n);
      if (!m) {
        report.problems.push(`unexpected file in the action cache: ${n}`);
        continue;
      }
      let e: CacheReport['entries'][number] & { exitCode?: number };
      try {
        e = JSON.parse(readFileSync(path.join(actionsDir, n), 'utf8'));
      } catch (err) {
        report.problems.push(`action entry ${n} does not parse: ${(err as Error).message}`);
        continue;
      }
      if (e.fingerprint !== `sha256:${m[1]}`) report.problems.push(`action entry ${n} names fingerprint ${e.fingerprint}`);
      if (e.exitCode !== 0) report.problems.push(`action entry ${n} records exit ${e.exitCode}`);
      for (const [name, a] of Object.entries(e.outputs ?? {})) {
        const b = blob(a.digest, `${e.step} output ${name}`);
        if (b && a.kind === 'dir') {
          let manifest: { kind: string; entries: { path: string; type: string; digest?: string }[] };
          try {
            manifest = JSON.parse(b.toString('utf8'));
          } catch {
            report.problems.push(`${e.step} output ${name}: tree manifest does not parse`);
            continue;
          }
          if (manifest.kind !== 'atmos-pipe/tree@1') report.problems.push(`${e.step} output ${name}: not a tree manifest`);
          for (const te of manifest.entries) if (te.type === 'file') blob(te.digest!, `${e.step} output ${name}/${te.path}`);
        }
      }
      if (e.logDigest) blob(e.logDigest, `${e.step} log`);
      report.entries.push({ ...e, file: n });
    }
  }
  return report;
}

export const stateDir = (repo: string, target: string) => path.join(repo, '.atmos', 'state', DEPLOYMENT, target);

export interface TfState {
  version: number;
  lineage: string;
  serial: number;
  outputs: Record<string, { value: unknown }>;
  resources: { mode: string; type: string; name: string; instances: unknown[] }[];
}

export interface StateReport {
  /** Component name -> parsed state (absent: no state file; null: empty file). */
  states: Record<string, TfState | null>;
  /** Terraform lock-info files left next to the states. */
  lockInfos: string[];
  problems: string[];
}

/**
 * Every file in the state directory: `<c>.tfstate` (and `.backup`) is Terraform state JSON
 * (version 4, a lineage) — or empty, which Terraform itself leaves when it took the lock of
 * a state that did not exist yet and was killed before writing it (Terraform reads an empty
 * file as "no state"); `.<c>.tfstate.lock.info` files are reported.
 */
export function checkStates(repo: string, target: string): StateReport {
  const dir = stateDir(repo, target);
  const r: StateReport = { states: {}, lockInfos: [], problems: [] };
  if (!existsSync(dir)) return r;
  for (const n of readdirSync(dir).sort()) {
    const f = path.join(dir, n);
    if (n.endsWith('.lock.info')) {
      r.lockInfos.push(n);
      continue;
    }
    if (!/\.tfstate(\.backup)?$/.test(n)) {
      r.problems.push(`unexpected file in the state directory: ${n}`);
      continue;
    }
    const text = readFileSync(f, 'utf8');
    if (text.length === 0) {
      if (n.endsWith('.tfstate')) r.states[n.replace(/\.tfstate$/, '')] = null;
      continue;
    }
    try {
      const s = JSON.parse(text) as TfState;
      if (s.version !== 4 || typeof s.lineage !== 'string' || !Array.isArray(s.resources)) r.problems.push(`${n} is JSON but not Terraform state`);
      if (n.endsWith('.tfstate')) r.states[n.replace(/\.tfstate$/, '')] = s;
    } catch (e) {
      r.problems.push(`${n} is not valid JSON (${text.length} bytes): ${(e as Error).message}`);
    }
  }
  return r;
}

/** Problems with a component's final state: its resource exists and its output has the expected value. */
export function stateProblems(s: TfState | null | undefined, name: string, expectedId: string): string[] {
  if (!s) return [`${name}: no state`];
  const out: string[] = [];
  const res = s.resources.find((x) => x.mode === 'managed' && x.type === 'terraform_data' && x.name === 'this');
  if (res?.instances.length !== 1) out.push(`${name}: terraform_data.this is not in the state`);
  if (s.outputs?.id?.value !== expectedId) out.push(`${name}: output id is ${JSON.stringify(s.outputs?.id?.value)}, expected ${JSON.stringify(expectedId)}`);
  return out;
}

export interface LockFile {
  pid: number;
  host: string;
  runId: string;
  since: string;
}

export const lockPath = (repo: string, target: string) => path.join(repo, '.atmos', 'locks', DEPLOYMENT, `${target}.lock`);

export function readLock(repo: string, target: string): LockFile | undefined {
  const f = lockPath(repo, target);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as LockFile;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run records (`.atmos/runs/*.json`) that do not parse. */
export function tornRunRecords(repo: string): string[] {
  const dir = path.join(repo, '.atmos', 'runs');
  if (!existsSync(dir)) return [];
  const bad: string[] = [];
  for (const n of readdirSync(dir)) {
    // A record is written as a temp file renamed into place: a killed write leaves a
    // `*.tmp` file, which is not a record (and is removed by a later run).
    if (!n.endsWith('.json')) continue;
    const f = path.join(dir, n);
    try {
      JSON.parse(readFileSync(f, 'utf8'));
    } catch {
      bad.push(`${n} (${statSync(f).size} bytes)`);
    }
  }
  return bad;
}

/** Live processes (not zombies) whose working directory or command line is inside `dir`. */
export function processesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let cwd = '';
    let cmd = '';
    try {
      cwd = readlinkSync(`/proc/${p}/cwd`);
    } catch {
      // gone, a zombie, or not ours to read
    }
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      // gone
    }
    if (!cmd) continue; // zombie or kernel thread
    if (cwd === dir || cwd.startsWith(dir + path.sep) || cmd.includes(dir)) out.push(`${p}: ${cmd.slice(0, 160)}`);
  }
  return out;
}

/** Poll until no process runs inside `dir`, for at most `timeoutMs`; returns the survivors (empty: none). */
export async function waitNoProcessesUnder(dir: string, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesUnder(dir);
    if (left.length === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A PATH without bubblewrap: a directory of links to terraform, sh and sleep only (the local
 * engine then runs steps unsandboxed, as on macOS or a Linux host without bwrap).
 */
export function pathWithoutBwrap(root: string): string {
  const bin = path.join(root, 'bin-no-bwrap');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['terraform', 'sh', 'sleep']) {
    const found = (process.env.PATH ?? '')
      .split(path.delimiter)
      .map((d) => path.join(d, tool))
      .find((p) => existsSync(p));
    if (!found) throw new Error(`${tool} is not on PATH`);
    if (!existsSync(path.join(bin, tool))) symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}
