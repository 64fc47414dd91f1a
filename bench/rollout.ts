/**
 * The `rollout` benchmark group: what a Terraform rollout costs beyond Terraform itself.
 *
 *   node dist/bench/run.js rollout
 *
 * Two synthetic repositories are generated into one temp dir (removed at the end), each with
 * an `atmos.yaml` (only `components.terraform.base_path` and `stacks.base_path`), one stack
 * file, a deployment `deployments/fleet.yaml` of 100 independent Terraform components (no
 * dependencies) with a target `dev`, and one Git commit:
 *
 * - `instant/`: 100 root modules (`components/terraform/m000..m099`), one per component, each
 *   a `terraform_data` resource that applies instantly.
 *   1. a full rollout (timed once, informational: "cold, instant modules");
 *   2. the no-op re-run, measured like every other figure (`ctx.measure`: 1 warm-up + N runs,
 *      median): every step must be a cache hit and no terraform process may start; then the
 *      same from a `cp -a` copy of the whole repository (`.atmos` included) in another
 *      directory, with the ratio to the in-place figure;
 *   3. the baseline: a plain sequential loop of `terraform init && terraform apply` over
 *      copies of the same 100 modules, already applied once (their own "no-op").
 * - `sleep/`: 100 components of one root module (`metadata.component: sleeper`) whose
 *   `terraform_data` runs a `local-exec` provisioner `sleep 1`; one cold rollout with
 *   `--parallelism 16`, fresh cache and state, compared with the ideal ceil(100/16) × 1 s.
 *
 * Counting terraform processes: a `terraform` wrapper script is put first on PATH; it runs the
 * real terraform (absolute path, found once) and appends a line to a log. Steps run inside
 * bubblewrap when it is installed, where the host's /tmp is replaced by a private tmpfs (a
 * log under /tmp would be lost, and the wrapper itself would be invisible), so a `bwrap`
 * wrapper is put on PATH as well: it logs every sandbox it starts, outside the sandbox, and
 * swaps the `terraform` wrapper for the real binary in the sandbox's command line. A
 * terraform process is therefore either a `terraform` line (started outside a sandbox, e.g.
 * the version probe) or a `bwrap` line whose command is terraform. Both lines carry the
 * start and end time of the process (bash `$EPOCHREALTIME`), which gives the time spent in
 * Terraform (sandbox included) for the in-step overhead of the cold run.
 *
 * CPU time of the cold run: the whole machine's, from `/proc/stat` before and after (this
 * includes the sandboxed terraform processes, which `/usr/bin/time -v` cannot see: inside
 * bwrap's PID namespace they are reaped by the namespace's init, so their rusage never
 * reaches the measured process), and atmos-pipe's own (node, the bwrap launchers and the
 * wrappers) from `/usr/bin/time -v` when GNU time is installed.
 */
import { which } from '../src/engine/local.js';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchGroup, Figure, Sample } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLI = path.resolve(BENCH_DIR, '..', 'cli.mjs');
const GNU_TIME = '/usr/bin/time';

const COMPONENTS = 100;
const PARALLELISM = 16;
const SLEEP_SECONDS = 1;
const STEPS_PER_COMPONENT = 3; // init → apply → output
/** The cold run and each plain loop are single long commands: generous limits. */
const LONG_TIMEOUT_MS = 600_000;

// ---------------------------------------------------------------------------
// Small helpers

export const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
export const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pad3 = (i: number) => String(i).padStart(3, '0');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------
// The synthetic repositories

interface Fleet {
  dir: string;
  components: string[];
  /** Root module directory per component (absolute). */
  moduleDirs: string[];
}

function write(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
}

const instantModule = (i: number) => `# m${pad3(i)}: an instant root module of the rollout benchmark.
variable "name" {
  type = string
}

variable "stage" {
  type = string
}

resource "terraform_data" "this" {
  input = "\${var.stage}-\${var.name}-${i}"
}

output "id" {
  value = terraform_data.this.output
}
`;

const sleeperModule = `# sleeper: every instance takes ${SLEEP_SECONDS} s to create (the rollout benchmark).
variable "name" {
  type = string
}

variable "stage" {
  type = string
}

resource "terraform_data" "this" {
  input = "\${var.stage}-\${var.name}"

  # One trigger per component: every instance is its own resource, created fresh.
  triggers_replace = [var.name]

  provisioner "local-exec" {
    command = "sleep ${SLEEP_SECONDS}"
  }
}

output "id" {
  value = terraform_data.this.output
}
`;

/**
 * A repository with one deployment `fleet` of `COMPONENTS` independent Terraform components
 * and a target `dev`: one module per component (`instant`) or one shared module (`sleep`).
 */
export function generateFleet(dir: string, kind: 'instant' | 'sleep', opts: { pg?: boolean } = {}): Fleet {
  write(path.join(dir, 'atmos.yaml'), ['components:', '  terraform:', '    base_path: components/terraform', '', 'stacks:', '  base_path: stacks', ''].join('\n'));
  write(path.join(dir, '.gitignore'), '.atmos/\n');
  // With `pg`: state in PostgreSQL (Terraform's pg backend), a schema per component, the connection from the PG_CONN_STR secret.
  const backend = opts.pg ? ['terraform:', '  backend_type: pg', 'components:', '  terraform:'] : [];
  for (let i = 0; opts.pg && i < COMPONENTS; i++) backend.push(`    c${pad3(i)}: { backend: { pg: { schema_name: c${pad3(i)} } } }`);
  write(path.join(dir, 'stacks', 'fleet.yaml'), ['# The only stack file of the rollout benchmark.', 'vars:', '  stage: dev', ...backend, ''].join('\n'));

  const components: string[] = [];
  const moduleDirs: string[] = [];
  const lines = [
    `# ${COMPONENTS} independent Terraform components (rollout benchmark, ${kind} modules).`,
    'deployment:',
    '  name: fleet',
    `  description: ${COMPONENTS} independent components`,
    '  stacks:',
    '    - fleet',
    ...(opts.pg ? ['  secrets: [PG_CONN_STR]'] : []),
    '  components:',
    '    terraform:',
  ];
  if (kind === 'sleep') write(path.join(dir, 'components', 'terraform', 'sleeper', 'main.tf'), sleeperModule);
  for (let i = 0; i < COMPONENTS; i++) {
    const name = `c${pad3(i)}`;
    const module = kind === 'instant' ? `m${pad3(i)}` : 'sleeper';
    const moduleDir = path.join(dir, 'components', 'terraform', module);
    if (kind === 'instant') write(path.join(moduleDir, 'main.tf'), instantModule(i));
    components.push(name);
    moduleDirs.push(moduleDir);
    lines.push(`      ${name}:`, '        metadata:', `          component: ${module}`, '        vars:', `          name: ${name}`);
  }
  lines.push('  targets:', '    dev:', '      labels:', '        environment: dev', '');
  write(path.join(dir, 'deployments', 'fleet.yaml'), lines.join('\n'));
  gitCommit(dir);
  return { dir, components, moduleDirs };
}

/** One commit, as a user's repository has (a rollout records what it deployed in Git). */
export function gitCommit(dir: string): void {
  const run = (...args: string[]) => {
    const r = spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'user.name=atmos-bench', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z' },
    });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${dir}: ${(r.stderr || r.error?.message || '').trim()}`);
  };
  run('init', '-q');
  run('add', '-A');
  run('commit', '-q', '--no-verify', '-m', 'synthetic fleet');
}

// ---------------------------------------------------------------------------
// Counting (and timing) terraform processes

interface ToolCall {
  kind: 'terraform' | 'bwrap';
  startMs: number;
  endMs: number;
  code: number;
  /** The sandbox runs terraform (bwrap lines); always true for terraform lines. */
  terraform: boolean;
}

export interface Wrappers {
  binDir: string;
  log: string;
  sandboxWrapped: boolean;
  /** Lines logged so far. */
  calls(): ToolCall[];
}

/**
 * The counting wrappers (see the file's comment) in `<root>/bin`, to put first on PATH; also
 * used by the modules group for the example's no-op rollout with hooks.
 */
export function writeWrappers(root: string, realTerraform: string): Wrappers {
  const binDir = path.join(root, 'bin');
  const log = path.join(root, 'tool-calls.log');
  mkdirSync(binDir, { recursive: true });
  writeFileSync(log, '');
  const wrapper = path.join(binDir, 'terraform');
  writeFileSync(
    wrapper,
    [
      '#!/bin/bash',
      '# atmos-pipe bench: one line per terraform process started outside a sandbox.',
      `start=$EPOCHREALTIME`,
      `${shq(realTerraform)} "$@"`,
      'rc=$?',
      `printf 'terraform %s %s %s 1\\n' "$start" "$EPOCHREALTIME" "$rc" >> ${shq(log)}`,
      'exit $rc',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const realBwrap = which('bwrap');
  if (realBwrap) {
    writeFileSync(
      path.join(binDir, 'bwrap'),
      [
        '#!/bin/bash',
        '# atmos-pipe bench: one line per sandbox; the terraform wrapper (invisible inside the',
        '# sandbox, whose /tmp is private) is replaced by the real terraform.',
        'args=()',
        'tf=0',
        'for a in "$@"; do',
        `  if [ "$a" = ${shq(wrapper)} ]; then args+=(${shq(realTerraform)}); tf=1; else args+=("$a"); fi`,
        'done',
        'start=$EPOCHREALTIME',
        `${shq(realBwrap)} "\${args[@]}"`,
        'rc=$?',
        `printf 'bwrap %s %s %s %s\\n' "$start" "$EPOCHREALTIME" "$rc" "$tf" >> ${shq(log)}`,
        'exit $rc',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  }
  return {
    binDir,
    log,
    sandboxWrapped: realBwrap !== undefined,
    calls() {
      const out: ToolCall[] = [];
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const [kind, start, end, code, tf] = line.trim().split(/\s+/);
        if (kind !== 'terraform' && kind !== 'bwrap') continue;
        const sec = (x: string) => Number(x.replace(',', '.')) * 1000;
        out.push({ kind, startMs: sec(start), endMs: sec(end), code: Number(code), terraform: tf === '1' });
      }
      return out;
    },
  };
}

export const terraformCalls = (calls: ToolCall[]) => calls.filter((c) => c.terraform);

// ---------------------------------------------------------------------------
// Running commands outside ctx.measure (single long runs)

export interface TimedRun {
  wallMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** From GNU time -v, when available: CPU seconds of the process and all its children. */
  userS?: number;
  sysS?: number;
  maxRssKb?: number;
}

function gnuTime(): boolean {
  if (process.env.ATMOS_BENCH_NO_GNU_TIME || !existsSync(GNU_TIME)) return false;
  const r = spawnSync(GNU_TIME, ['-v', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /Maximum resident set size/.test(r.stderr);
}

export function timedRun(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; scratch: string; cpu?: boolean }): Promise<TimedRun> {
  const timeFile = path.join(opts.scratch, `time-${process.hrtime.bigint()}.txt`);
  const useTime = opts.cpu === true && gnuTime();
  const file = useTime ? GNU_TIME : command;
  const argv = useTime ? ['-v', '-o', timeFile, command, ...args] : args;
  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const start = process.hrtime.bigint();
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: LONG_TIMEOUT_MS });
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const finish = (code: number | null, extra = '') => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const r: TimedRun = { wallMs, code, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') + extra };
      if (useTime && existsSync(timeFile)) {
        const t = readFileSync(timeFile, 'utf8');
        const num = (re: RegExp) => {
          const m = re.exec(t);
          return m ? Number(m[1]) : undefined;
        };
        r.userS = num(/User time \(seconds\):\s*([\d.]+)/);
        r.sysS = num(/System time \(seconds\):\s*([\d.]+)/);
        r.maxRssKb = num(/Maximum resident set size \(kbytes\):\s*(\d+)/);
        rmSync(timeFile, { force: true });
      }
      resolve(r);
    };
    child.on('error', (e) => finish(null, `\n${e.message}`));
    child.on('close', (code) => finish(code));
  });
}

/**
 * CPU time of the whole machine so far (Linux `/proc/stat`, all CPUs): busy = user + nice +
 * system + irq + softirq + steal; total adds idle and iowait. Undefined elsewhere.
 */
let clockTicks: number | undefined;

function machineCpu(): { busyMs: number; totalMs: number } | undefined {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
  const hz = clockTicks;
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = m[1].trim().split(/\s+/).map(Number);
  const busy = user + nice + system + (irq || 0) + (softirq || 0) + (steal || 0);
  return { busyMs: (busy / hz) * 1000, totalMs: ((busy + idle + (iowait || 0)) / hz) * 1000 };
}

// ---------------------------------------------------------------------------
// NDJSON events of a run

export interface RunEvents {
  runStartMs?: number;
  runFinishMs?: number;
  runDurationMs?: number;
  status?: string;
  counts?: Record<string, number>;
  started: Map<string, number>;
  finished: Map<string, { timeMs: number; durationMs: number; status: string; module: string; component: string }>;
}

/** The events of an `--events ndjson` run, by step. */
export function parseEvents(stdout: string): RunEvents {
  const ev: RunEvents = { started: new Map(), finished: new Map() };
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const t = typeof e.time === 'string' ? Date.parse(e.time) : NaN;
    if (e.type === 'run.started') ev.runStartMs = t;
    else if (e.type === 'run.finished') {
      ev.runFinishMs = t;
      ev.status = String(e.status);
      ev.runDurationMs = Number(e.durationMs);
      ev.counts = e.counts as Record<string, number>;
    } else if (e.type === 'step.started') ev.started.set(String(e.id), t);
    else if (e.type === 'step.finished') {
      ev.finished.set(String(e.id), { timeMs: t, durationMs: Number(e.durationMs), status: String(e.status), module: String(e.module), component: String(e.component) });
    }
  }
  return ev;
}

/** Why a run's events are not what a successful rollout of the fleet prints, if they are not. */
export function eventsProblem(ev: RunEvents, expectSteps: number, expectStatus: 'done' | 'cached'): string | undefined {
  if (ev.status !== 'success') return `run.finished status ${ev.status ?? '(no run.finished event)'}`;
  const statuses = [...ev.finished.values()].map((f) => f.status);
  const n = statuses.filter((s) => s === expectStatus).length;
  if (n !== expectSteps) return `${n} steps ${expectStatus} (expected ${expectSteps}; statuses: ${JSON.stringify(ev.counts)})`;
  return undefined;
}

/**
 * Scheduler overhead from the events: the slot-time during which a step was ready (its
 * predecessor had finished; the first step of every component is ready when the run starts)
 * and a parallelism slot was free, yet the step had not started. Integrated over the run:
 * ∫ min(free slots, ready-but-not-started steps) dt. This is time the scheduler, not a step
 * nor the parallelism limit, kept work waiting (fingerprinting, cache look-ups, component
 * expansion, event-loop latency).
 */
function schedulerGap(ev: RunEvents, parallelism: number): { totalMs: number; perStepMs: number; steps: number } | undefined {
  if (ev.runStartMs === undefined) return undefined;
  const byComponent = new Map<string, { id: string; module: string; startMs: number; finishMs: number }[]>();
  for (const [id, f] of ev.finished) {
    const startMs = ev.started.get(id);
    if (startMs === undefined) continue; // cached or skipped: never occupied a slot
    const list = byComponent.get(f.component) ?? [];
    list.push({ id, module: f.module, startMs, finishMs: f.timeMs });
    byComponent.set(f.component, list);
  }
  const points: { t: number; dWaiting: number; dRunning: number }[] = [];
  let steps = 0;
  for (const list of byComponent.values()) {
    list.sort((a, b) => a.startMs - b.startMs || a.finishMs - b.finishMs);
    let readyAt = ev.runStartMs;
    for (const s of list) {
      steps++;
      const ready = Math.min(readyAt, s.startMs);
      points.push({ t: ready, dWaiting: +1, dRunning: 0 }, { t: s.startMs, dWaiting: -1, dRunning: +1 }, { t: s.finishMs, dWaiting: 0, dRunning: -1 });
      readyAt = s.finishMs; // the next step of this component (apply after init, output after apply)
    }
  }
  // At equal times: finishes first (free the slot), then starts, then readiness.
  const order = (p: { dWaiting: number; dRunning: number }) => (p.dRunning < 0 ? 0 : p.dRunning > 0 ? 1 : 2);
  points.sort((a, b) => a.t - b.t || order(a) - order(b));
  let waiting = 0;
  let running = 0;
  let lost = 0;
  let prev = points[0]?.t ?? 0;
  for (const p of points) {
    lost += Math.max(0, Math.min(parallelism - running, waiting)) * (p.t - prev);
    prev = p.t;
    waiting += p.dWaiting;
    running += p.dRunning;
  }
  return steps ? { totalMs: lost, perStepMs: lost / steps, steps } : undefined;
}

// ---------------------------------------------------------------------------
// The group

const rolloutArgs = (repo: string, extra: string[] = []) => [CLI, '--chdir', repo, 'rollout', 'fleet', '--target', 'dev', '--engine', 'local', '--events', 'ndjson', ...extra];

export const rolloutGroup: BenchGroup = {
  name: 'rollout',
  description: `rollout of ${COMPONENTS} Terraform components: no-op re-run (all cached) and a cold run of ${SLEEP_SECONDS} s steps`,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const realTerraform = which('terraform');
    if (!realTerraform) throw new Error('terraform is not on PATH: the rollout benchmark runs real Terraform (>= 1.5)');
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-rollout-'));
    try {
      return await runGroup(ctx, root, realTerraform);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

async function runGroup(ctx: BenchContext, root: string, realTerraform: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const scratch = path.join(root, 'scratch');
  mkdirSync(scratch);
  const wrappers = writeWrappers(root, realTerraform);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${wrappers.binDir}${path.delimiter}${process.env.PATH ?? ''}` };
  const cpus = os.cpus().length;
  const totalSteps = COMPONENTS * STEPS_PER_COMPONENT;
  const fail = (what: string, r: TimedRun, cmd: string[]) => {
    throw new Error(`${what}: \`${cmd.join(' ')}\` exited with ${r.code}\n${tail(`${r.stderr}\n${r.stdout}`).replace(/^/gm, '    ')}`);
  };

  // --- the instant fleet --------------------------------------------------
  const fleet = generateFleet(path.join(root, 'instant'), 'instant');
  const validate = spawnSync(process.execPath, [CLI, '--chdir', fleet.dir, 'validate', 'fleet'], { encoding: 'utf8' });
  if (validate.status !== 0) throw new Error(`validate fleet exited with ${validate.status}:\n${tail(`${validate.stderr}\n${validate.stdout}`)}`);

  const coldArgs = rolloutArgs(fleet.dir);
  const before0 = wrappers.calls().length;
  const cold = await timedRun(process.execPath, coldArgs, { env, scratch });
  if (cold.code !== 0) fail('cold rollout (instant modules)', cold, ['node', ...coldArgs]);
  const coldEvents = parseEvents(cold.stdout);
  const coldProblem = eventsProblem(coldEvents, totalSteps, 'done');
  if (coldProblem) throw new Error(`cold rollout (instant modules): ${coldProblem}`);
  const coldTf = terraformCalls(wrappers.calls().slice(before0)).length;
  ctx.note(
    `rollout: ${COMPONENTS} independent Terraform components (${COMPONENTS} instant terraform_data modules), deployment fleet, target dev, engine local` +
      `${wrappers.sandboxWrapped ? ', steps sandboxed by bubblewrap' : ''}; the first (cold) rollout, default --parallelism (${cpus}), ` +
      `took ${fmtS(cold.wallMs)} and started ${coldTf} terraform processes (measured runs have the counting wrappers first on PATH: one bash process per sandbox)`,
  );
  figures.push({ figure: `cold rollout, ${COMPONENTS} instant modules: wall`, value: fmtS(cold.wallMs), goal: 'info' });

  // No-op re-run: everything cached, no terraform process.
  const beforeNoop = wrappers.calls().length;
  let lastProblem: string | undefined;
  const noop = await ctx.measure(`rollout no-op (${COMPONENTS} components)`, {
    args: rolloutArgs(fleet.dir),
    env: { PATH: env.PATH ?? '' },
    check: (s: Sample) => {
      const ev = parseEvents(s.stdout);
      lastProblem = eventsProblem(ev, totalSteps, 'cached') ?? (ev.started.size ? `${ev.started.size} steps started` : undefined);
      return lastProblem;
    },
  });
  const noopCalls = wrappers.calls().slice(beforeNoop);
  const noopTf = terraformCalls(noopCalls).length;
  const noopRuns = noop.samples.length + (noop.ok ? 1 : 0); // + the warm-up
  if (noop.ok) {
    figures.push({
      figure: `no-op re-run, ${COMPONENTS} components: wall`,
      value: `${fmtMs(noop.wallMedianMs)} (best ${fmtMs(noop.wallBestMs)})`,
      goal: '< 1.5 s',
      pass: noop.wallMedianMs < 1500,
    });
  } else figures.push({ figure: `no-op re-run, ${COMPONENTS} components: wall`, value: 'FAILED', goal: '< 1.5 s', pass: false });
  figures.push({
    figure: `no-op re-run: terraform processes started (${noopRuns} runs)`,
    value: noop.ok ? String(noopTf) : 'FAILED',
    goal: '= 0',
    pass: noop.ok && noopTf === 0,
  });
  if (noop.ok && noop.rssMedianKb !== undefined) {
    figures.push({ figure: 'no-op re-run: peak RSS', value: `${(noop.rssMedianKb / 1024).toFixed(1)} MB`, goal: 'info' });
  }

  // The same no-op re-run from a copy of the whole repository (work tree, .git and .atmos, as
  // a CI cache restore makes it) in another, deeper directory: fingerprints hold no host path,
  // so every step is still a cache hit and no terraform process starts.
  const copyDir = path.join(root, 'elsewhere', 'ci-runner', 'checkout', 'fleet');
  mkdirSync(path.dirname(copyDir), { recursive: true });
  const cp = spawnSync('cp', ['-a', fleet.dir, copyDir], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a ${fleet.dir} ${copyDir} failed: ${cp.stderr}`);
  const beforeCopy = wrappers.calls().length;
  let copyProblem: string | undefined;
  const moved = await ctx.measure(`rollout no-op from a copy (${COMPONENTS} components)`, {
    args: rolloutArgs(copyDir),
    env: { PATH: env.PATH ?? '' },
    check: (s: Sample) => {
      const ev = parseEvents(s.stdout);
      copyProblem = eventsProblem(ev, totalSteps, 'cached') ?? (ev.started.size ? `${ev.started.size} steps started` : undefined);
      return copyProblem;
    },
  });
  const copyTf = terraformCalls(wrappers.calls().slice(beforeCopy)).length;
  const copyRuns = moved.samples.length + (moved.ok ? 1 : 0);
  figures.push({
    figure: `no-op re-run, ${COMPONENTS} components, from a copy of the repository in another directory: wall`,
    value: moved.ok ? `${fmtMs(moved.wallMedianMs)} (best ${fmtMs(moved.wallBestMs)})` : 'FAILED',
    goal: '< 1.5 s (as in place)',
    pass: moved.ok && moved.wallMedianMs < 1500,
  });
  figures.push({
    figure: `  from the copy: terraform processes started (${copyRuns} runs)`,
    value: moved.ok ? String(copyTf) : 'FAILED',
    goal: '= 0',
    pass: moved.ok && copyTf === 0,
  });
  if (moved.ok && noop.ok) figures.push({ figure: '  ratio copy / in place', value: `${(moved.wallMedianMs / noop.wallMedianMs).toFixed(2)}×`, goal: 'info (≈ 1×)' });
  if (!moved.ok && copyProblem) ctx.note(`rollout: no-op re-run from a copy failed its check: ${copyProblem}`);

  // The baseline: a plain sequential terraform loop over copies of the same modules.
  const plainDir = path.join(root, 'plain');
  for (let i = 0; i < COMPONENTS; i++) {
    const d = path.join(plainDir, fleet.components[i]);
    cpSync(fleet.moduleDirs[i], d, { recursive: true });
    writeFileSync(path.join(d, 'terraform.tfvars.json'), `${JSON.stringify({ name: fleet.components[i], stage: 'dev' })}\n`);
  }
  const loop = path.join(root, 'plain-loop.sh');
  writeFileSync(
    loop,
    [
      '#!/bin/bash',
      'set -e',
      `for d in ${shq(plainDir)}/*/; do`,
      `  (cd "$d" && ${shq(realTerraform)} init -input=false >/dev/null && ${shq(realTerraform)} apply -auto-approve -input=false >/dev/null)`,
      'done',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const loopEnv = { ...process.env, TF_IN_AUTOMATION: '1' };
  const first = await timedRun('/bin/bash', [loop], { env: loopEnv, scratch });
  if (first.code !== 0) fail('plain terraform loop (first apply)', first, ['bash', loop]);
  const loopRuns = Math.min(ctx.runs, 3);
  const loopWalls: number[] = [];
  for (let i = 0; i < loopRuns; i++) {
    const r = await timedRun('/bin/bash', [loop], { env: loopEnv, scratch });
    if (r.code !== 0) fail('plain terraform loop (no-op)', r, ['bash', loop]);
    loopWalls.push(r.wallMs);
  }
  const loopMs = median(loopWalls);
  figures.push({
    figure: `plain loop init+apply × ${COMPONENTS}, no-op: wall`,
    value: `${fmtS(loopMs)} (first apply ${fmtS(first.wallMs)})`,
    goal: 'info',
  });
  if (noop.ok) {
    figures.push({ figure: 'ratio plain loop / atmos-pipe no-op re-run', value: `${(loopMs / noop.wallMedianMs).toFixed(1)}×`, goal: 'info' });
  }

  // --- the cold run of 1 s components ---------------------------------------
  const sleep = generateFleet(path.join(root, 'sleep'), 'sleep');
  const sleepArgs = rolloutArgs(sleep.dir, ['--parallelism', String(PARALLELISM)]);
  const beforeSleep = wrappers.calls().length;
  const cpu0 = machineCpu();
  const run = await timedRun(process.execPath, sleepArgs, { env, scratch, cpu: true });
  const cpu1 = machineCpu();
  if (run.code !== 0) fail(`cold rollout (${SLEEP_SECONDS} s components)`, run, ['node', ...sleepArgs]);
  const ev = parseEvents(run.stdout);
  const problem = eventsProblem(ev, totalSteps, 'done');
  if (problem) throw new Error(`cold rollout (${SLEEP_SECONDS} s components): ${problem}`);
  const tf = terraformCalls(wrappers.calls().slice(beforeSleep));
  const idealMs = Math.ceil(COMPONENTS / PARALLELISM) * SLEEP_SECONDS * 1000;
  const ratio = run.wallMs / idealMs;
  const label = `cold rollout, ${COMPONENTS} × ${SLEEP_SECONDS} s, --parallelism ${PARALLELISM}`;
  figures.push(
    { figure: `${label}: wall`, value: fmtS(run.wallMs), goal: 'info' },
    { figure: `  ideal wall: ceil(${COMPONENTS}/${PARALLELISM}) × ${SLEEP_SECONDS} s`, value: fmtS(idealMs), goal: 'info' },
    { figure: '  ratio wall / ideal', value: `${ratio.toFixed(2)}×`, goal: '≤ 1.25×', pass: ratio <= 1.25 },
  );
  if (cpu0 && cpu1) {
    const busyMs = cpu1.busyMs - cpu0.busyMs;
    const totalMs = cpu1.totalMs - cpu0.totalMs;
    figures.push({
      figure: '  CPU time, whole machine (/proc/stat)',
      value: `${fmtS(busyMs)} busy of ${fmtS(totalMs)} (${((busyMs / totalMs) * 100).toFixed(0)}% of ${cpus} CPUs)`,
      goal: 'info',
    });
  } else figures.push({ figure: '  CPU time, whole machine (/proc/stat)', value: 'n/a (no /proc/stat)', goal: 'info' });
  if (run.userS !== undefined && run.sysS !== undefined) {
    // rusage only reaches processes their parents reap: bwrap --unshare-pid makes a PID
    // namespace whose own init reaps terraform, so this is atmos-pipe and the sandbox launchers.
    figures.push({
      figure: '  CPU time, atmos-pipe outside sandboxes',
      value: `${fmtS((run.userS + run.sysS) * 1000)} (user ${run.userS.toFixed(2)} + sys ${run.sysS.toFixed(2)}, /usr/bin/time -v)`,
      goal: 'info',
    });
  }
  figures.push({
    figure: `  (wall − ideal) / ${totalSteps} steps`,
    value: fmtMs((run.wallMs - idealMs) / totalSteps),
    goal: 'info',
  });
  const gap = schedulerGap(ev, PARALLELISM);
  figures.push(
    gap
      ? { figure: '  scheduler overhead per step (events)', value: `${fmtMs(gap.perStepMs)} (${fmtS(gap.totalMs)} slot-time / ${gap.steps} steps)`, goal: '< 50 ms', pass: gap.perStepMs < 50 }
      : { figure: '  scheduler overhead per step (events)', value: 'FAILED', goal: '< 50 ms', pass: false },
  );

  // Inside the steps: what the step's duration holds beyond the (sandboxed) terraform process.
  const stepMs = [...ev.finished.values()].filter((f) => f.status === 'done').reduce((a, f) => a + f.durationMs, 0);
  const tfMs = tf.reduce((a, c) => a + (c.endMs - c.startMs), 0);
  if (tf.length === totalSteps) {
    figures.push({
      figure: '  in-step overhead per step (step − terraform)',
      value: `${fmtMs((stepMs - tfMs) / totalSteps)} (steps ${fmtS(stepMs)}, terraform ${fmtS(tfMs)})`,
      goal: 'info',
    });
  }
  figures.push({ figure: '  terraform processes started', value: String(tf.length), goal: `info (${totalSteps} steps)` });

  const byModule = new Map<string, number[]>();
  for (const f of ev.finished.values()) if (f.status === 'done') byModule.set(f.module, [...(byModule.get(f.module) ?? []), f.durationMs]);
  ctx.note(
    `rollout: cold run of ${COMPONENTS} components × (init → apply with local-exec \`sleep ${SLEEP_SECONDS}\` → output), --parallelism ${PARALLELISM}, fresh cache and state. ` +
      `This machine has ${cpus} CPUs, so ${PARALLELISM} concurrent terraform processes are CPU-bound; the ideal counts only the sleeps. ` +
      `Median step durations: ${[...byModule].map(([m, d]) => `${m} ${fmtMs(median(d))}`).join(', ')}; run.finished durationMs ${fmtS(ev.runDurationMs ?? NaN)}.`,
  );
  if (!noop.ok && lastProblem) ctx.note(`rollout: no-op re-run check failed: ${lastProblem}`);
  return figures;
}
