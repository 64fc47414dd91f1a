/**
 * atmos-pipe benchmarks (`npm run bench`): performance and scale figures with their goals.
 *
 *   node dist/bench/run.js [group...] [--runs N] [--repo DIR] [--keep] [--json]
 *
 * Every figure is measured in a child process: wall time is the whole process (spawn to
 * exit, `process.hrtime`), peak RSS comes from GNU `/usr/bin/time -v` when present, else
 * from `process.resourceUsage().maxRSS` reported by the child (bench/rss-reporter.ts).
 * (Set ATMOS_BENCH_NO_GNU_TIME=1 to force the second way.)
 * Each command runs once to warm the file cache, then `--runs` times (default 5); the
 * median is compared with the goal and the best run is shown next to it.
 *
 * The benchmark reports, it does not assert: it exits 0 when a goal is missed, 1 when a
 * measured command fails (non-zero exit or unexpected output), 2 on bad arguments.
 *
 * Adding a group: write a `BenchGroup` (a name, a description and `run(ctx)` returning
 * figures) and append it to `GROUPS`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateRepo, type GeneratedRepo } from './generate.js';
import type { BenchContext, BenchGroup, Figure, Measurement, MeasureOptions, Sample } from './types.js';
import { rolloutGroup } from './rollout.js';
import { buildGroup } from './build.js';
import { modulesGroup } from './modules.js';
import { affectedGroup } from './affected.js';
import { trackingGroup } from './tracking.js';
import { uiGroup } from './ui.js';
import { rcacheGroup } from './rcache.js';
import { pgstateGroup } from './pgstate.js';

// ---------------------------------------------------------------------------
// Paths

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const PROJECT_ROOT = path.resolve(BENCH_DIR, '..', '..');
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli.mjs'); // the bundled CLI the package's bin runs
const FULL_LOAD = path.join(BENCH_DIR, 'full-load.js');
const SCOPED_LOAD = path.join(BENCH_DIR, 'scoped-load.js');
const RSS_REPORTER = path.join(BENCH_DIR, 'rss-reporter.js');
const GNU_TIME = '/usr/bin/time';
const COMMAND_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------
// Measuring

let gnuTimeAvailable: boolean | undefined;

/** GNU time with `-v -o` (BusyBox and BSD time do not support both). */
function hasGnuTime(): boolean {
  if (gnuTimeAvailable !== undefined) return gnuTimeAvailable;
  gnuTimeAvailable = false;
  if (process.env.ATMOS_BENCH_NO_GNU_TIME || !existsSync(GNU_TIME)) return false;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-time-'));
  try {
    const out = path.join(dir, 'time.txt');
    const r = spawnSync(GNU_TIME, ['-v', '-o', out, process.execPath, '-e', '0'], { stdio: 'ignore' });
    gnuTimeAvailable = r.status === 0 && existsSync(out) && /Maximum resident set size/.test(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return gnuTimeAvailable;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function runOnce(opts: MeasureOptions, scratch: string): Promise<Sample> {
  const rssFile = path.join(scratch, 'rss.txt');
  rmSync(rssFile, { force: true });
  const gnu = hasGnuTime();
  const command = gnu ? GNU_TIME : process.execPath;
  const args = gnu ? ['-v', '-o', rssFile, process.execPath, ...opts.args] : ['--import', pathToFileURL(RSS_REPORTER).href, ...opts.args];
  const env = { ...process.env, ...opts.env, ...(gnu ? {} : { ATMOS_BENCH_RSS_FILE: rssFile }) };

  return new Promise((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const start = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS });
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const finish = (code: number | null, signal: NodeJS.Signals | null, extraErr = '') => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      let rssKb: number | undefined;
      if (existsSync(rssFile)) {
        const text = readFileSync(rssFile, 'utf8');
        const m = gnu ? /Maximum resident set size \(kbytes\):\s*(\d+)/.exec(text) : /^(\d+)/.exec(text.trim());
        if (m) rssKb = Number(m[1]);
      }
      resolve({ wallMs, rssKb, code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') + extraErr });
    };
    child.on('error', (e) => finish(null, null, `\n${e.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function tail(text: string, lines = 15): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

async function measure(label: string, opts: MeasureOptions, runs: number): Promise<Measurement> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-run-'));
  const samples: Sample[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const s = await runOnce(opts, scratch);
      const problem = s.code !== 0 ? `exited with ${s.code ?? s.signal ?? 'an error'}` : opts.check?.(s);
      if (problem) {
        const cmd = ['node', ...opts.args].join(' ');
        const output = tail(`${s.stderr}\n${s.stdout}`.trim());
        return {
          label,
          ok: false,
          error: `${label}: \`${cmd}\` ${problem}${output ? `\n${output.replace(/^/gm, '    ')}` : ''}`,
          samples,
          wallMedianMs: NaN,
          wallBestMs: NaN,
        };
      }
      if (i > 0) samples.push(s); // run 0 warms the file cache
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const walls = samples.map((s) => s.wallMs);
  const rss = samples.map((s) => s.rssKb).filter((x): x is number => x !== undefined);
  return {
    label,
    ok: true,
    samples,
    wallMedianMs: median(walls),
    wallBestMs: Math.min(...walls),
    rssMedianKb: rss.length ? median(rss) : undefined,
    rssMaxKb: rss.length ? Math.max(...rss) : undefined,
  };
}

// ---------------------------------------------------------------------------
// Formatting

const fmtMs = (ms: number) => (ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`);
const fmtMb = (kb: number | undefined) => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(1)} MB`);
const MB = 1024; // KiB per MiB

function wallFigure(m: Measurement, figure: string, goal: string, ok: (ms: number) => boolean): Figure {
  if (!m.ok) return { figure, value: 'FAILED', goal, pass: false };
  return { figure, value: `${fmtMs(m.wallMedianMs)} (best ${fmtMs(m.wallBestMs)})`, goal, pass: ok(m.wallMedianMs) };
}

/** Without `limitKb` the figure is informational. */
function rssFigure(m: Measurement, figure: string, goal: string, limitKb?: number): Figure {
  if (!m.ok) return { figure, value: 'FAILED', goal, pass: false };
  if (m.rssMedianKb === undefined) return { figure, value: 'n/a', goal };
  const value = `${fmtMb(m.rssMedianKb)} (max ${fmtMb(m.rssMaxKb)})`;
  return { figure, value, goal, pass: limitKb === undefined ? undefined : m.rssMedianKb < limitKb };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------
// Groups

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Full load of every stack vs. a deployment-scoped `describe` on the synthetic repo. */
const scaleGroup: BenchGroup = {
  name: 'scale',
  description: 'full load of ~1,000 stack files / 10,000 instances vs. a scoped describe',
  async run(ctx) {
    const repo = ctx.repo();
    const target = repo.deployment.targets[0];
    ctx.note(
      `scale: ${repo.stackFiles} stack files, ${repo.topLevelStacks} top-level stacks, ${repo.instances.toLocaleString('en-US')} component instances, ` +
        `import depth ${repo.importDepth}; deployment "${repo.deployment.name}" (${repo.deployment.stacks.length} stack files, ` +
        `${repo.deployment.components.length} components, targets ${repo.deployment.targets.join(', ')})`,
    );

    let reportedInstances: number | undefined;
    const loadMs: number[] = [];
    const full = await ctx.measure('full load', {
      args: [FULL_LOAD, repo.dir],
      check: (s) => {
        const out = parseJson(s.stdout.trim().split('\n').pop() ?? '') as { instances?: unknown; loadMs?: unknown } | undefined;
        if (!out || typeof out.instances !== 'number') return 'did not print {"instances": <number>}';
        reportedInstances = out.instances;
        if (typeof out.loadMs === 'number') loadMs.push(out.loadMs);
        return undefined;
      },
    });

    let describedComponents: number | undefined;
    const scoped = await ctx.measure('scoped describe', {
      args: [CLI, '--chdir', repo.dir, 'describe', repo.deployment.name, '--target', target, '--format', 'json'],
      check: (s) => {
        const out = parseJson(s.stdout) as { components?: unknown } | undefined;
        if (!out || !Array.isArray(out.components)) return 'did not print the describe JSON (no "components" array)';
        describedComponents = out.components.length;
        return undefined;
      },
    });

    const scopedLoadMs: number[] = [];
    const scopedLoad = await ctx.measure('scoped load (in-process)', {
      args: [SCOPED_LOAD, repo.dir, repo.deployment.name, target],
      check: (s) => {
        const out = parseJson(s.stdout.trim().split('\n').pop() ?? '') as { loadMs?: unknown } | undefined;
        if (!out || typeof out.loadMs !== 'number') return 'did not print {"loadMs": <number>}';
        scopedLoadMs.push(out.loadMs);
        return undefined;
      },
    });

    const figures: Figure[] = [
      {
        figure: 'full load: instances resolved',
        value: full.ok ? String(reportedInstances) : 'FAILED',
        goal: `= ${repo.instances}`,
        pass: full.ok && reportedInstances === repo.instances,
      },
      wallFigure(full, 'full load: wall time', '≤ 1000 ms', (ms) => ms <= 1000),
    ];
    if (full.ok && loadMs.length) figures.push({ figure: 'full load: in-process loadAllStacks', value: fmtMs(median(loadMs.slice(1))), goal: 'info' });
    figures.push(
      rssFigure(full, 'full load: peak RSS', '< 300 MB', 300 * MB),
      {
        figure: `scoped describe --target ${target}: components`,
        value: scoped.ok ? String(describedComponents) : 'FAILED',
        goal: `= ${repo.deployment.components.length}`,
        pass: scoped.ok && describedComponents === repo.deployment.components.length,
      },
      wallFigure(scoped, 'scoped describe: wall time', '< 300 ms', (ms) => ms < 300),
      rssFigure(scoped, 'scoped describe: peak RSS', '< 80 MB', 80 * MB),
    );
    if (scopedLoad.ok && scopedLoadMs.length) {
      figures.push({ figure: 'scoped load+resolve: in-process', value: fmtMs(median(scopedLoadMs.slice(1))), goal: 'info' });
    }
    if (full.ok && loadMs.length && scopedLoad.ok && scopedLoadMs.length) {
      // The loading work itself: what scoping saves, independent of Node's own start-up.
      const r = median(loadMs.slice(1)) / median(scopedLoadMs.slice(1));
      figures.push({ figure: 'ratio full / scoped (in-process load work)', value: `${r.toFixed(1)}×`, goal: '≥ 20×', pass: r >= 20 });
    } else {
      figures.push({ figure: 'ratio full / scoped (in-process load work)', value: 'FAILED', goal: '≥ 20×', pass: false });
    }
    if (full.ok && scoped.ok) {
      // Whole processes: both include Node's start-up and module loading (~60-100 ms), which
      // bounds this ratio (a 1 s full load can never be 20× a process that needs 60 ms to start).
      const ratio = full.wallMedianMs / scoped.wallMedianMs;
      figures.push({ figure: 'ratio full / scoped (whole process wall)', value: `${ratio.toFixed(1)}×`, goal: 'info' });
      if (full.rssMedianKb !== undefined && scoped.rssMedianKb !== undefined) {
        figures.push({ figure: 'ratio full / scoped (peak RSS)', value: `${(full.rssMedianKb / scoped.rssMedianKb).toFixed(1)}×`, goal: 'info' });
      }
    }
    return figures;
  },
};

/** Process start-up: `atmos-pipe --version`. */
const startupGroup: BenchGroup = {
  name: 'startup',
  description: 'CLI start-up (`atmos-pipe --version`)',
  async run(ctx) {
    const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    const m = await ctx.measure('--version', {
      args: [CLI, '--version'],
      check: (s) => (s.stdout.includes(pkg.version) ? undefined : `printed ${JSON.stringify(s.stdout.trim())}, expected the version ${pkg.version}`),
    });
    return [wallFigure(m, '--version: wall time', '< 150 ms', (ms) => ms < 150), rssFigure(m, '--version: peak RSS', 'info')];
  },
};

export const GROUPS: BenchGroup[] = [scaleGroup, startupGroup, rolloutGroup, trackingGroup, uiGroup, buildGroup, modulesGroup, affectedGroup, rcacheGroup, pgstateGroup];

// ---------------------------------------------------------------------------
// Main

interface Args {
  groups: string[];
  runs: number;
  repoDir?: string;
  keep: boolean;
  json: boolean;
}

function usage(): string {
  return [
    'usage: node dist/bench/run.js [group...] [--runs N] [--repo DIR] [--keep] [--json]',
    '',
    'groups:',
    ...GROUPS.map((g) => `  ${g.name.padEnd(10)} ${g.description}`),
    '',
    '  --runs N    measured runs per command after one warm-up (default 5)',
    '  --repo DIR  generate the synthetic repository into DIR (kept) instead of a temp dir',
    '  --keep      keep the temporary repository and print its path',
    '  --json      print the results as JSON instead of a table',
  ].join('\n');
}

function parseArgs(argv: string[]): Args | string {
  const a: Args = { groups: [], runs: 5, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--help' || x === '-h') return '';
    else if (x === '--keep') a.keep = true;
    else if (x === '--json') a.json = true;
    else if (x === '--runs' || x === '--repo') {
      const v = argv[++i];
      if (v === undefined) return `${x} needs a value`;
      if (x === '--repo') a.repoDir = path.resolve(v);
      else {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) return `--runs must be a positive integer, got "${v}"`;
        a.runs = n;
      }
    } else if (x.startsWith('-')) return `unknown option ${x}`;
    else if (!GROUPS.some((g) => g.name === x)) return `unknown group "${x}"; valid groups: ${GROUPS.map((g) => g.name).join(', ')}`;
    else a.groups.push(x);
  }
  return a;
}

/** Make the generated repository a Git repository with one commit (as a user's repo is). */
function gitInit(dir: string): void {
  const git = (...args: string[]) =>
    spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'user.name=atmos-bench', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z' },
    }).status === 0;
  if (existsSync(path.join(dir, '.git'))) return;
  if (!(git('init', '-q') && git('add', '-A') && git('commit', '-q', '--no-verify', '-m', 'synthetic repository'))) {
    process.stderr.write(`bench: could not create a Git commit in ${dir}; continuing without one\n`);
  }
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    if (parsed) process.stderr.write(`bench: ${parsed}\n\n`);
    process.stderr.write(`${usage()}\n`);
    return parsed ? 2 : 0;
  }
  const groups = parsed.groups.length ? GROUPS.filter((g) => parsed.groups.includes(g.name)) : GROUPS;
  const missing = [CLI, FULL_LOAD, RSS_REPORTER].filter((p) => !existsSync(p));
  if (missing.length) process.stderr.write(`bench: not built yet (run \`npm run build\`): ${missing.map((p) => path.relative(PROJECT_ROOT, p)).join(', ')}\n`);

  const notes: string[] = [];
  const failures: string[] = [];
  let repo: GeneratedRepo | undefined;
  let tempDir: string | undefined;
  const ctx: BenchContext = {
    runs: parsed.runs,
    repo() {
      if (repo) return repo;
      const dir = parsed.repoDir ?? (tempDir = mkdtempSync(path.join(os.tmpdir(), 'atmos-pipe-bench-')));
      const t0 = process.hrtime.bigint();
      repo = generateRepo(dir);
      gitInit(dir);
      notes.push(`generated ${repo.files} files into ${dir} in ${fmtMs(Number(process.hrtime.bigint() - t0) / 1e6)}`);
      return repo;
    },
    async measure(label, opts) {
      const m = await measure(label, opts, parsed.runs);
      if (!m.ok && m.error) failures.push(m.error);
      return m;
    },
    note: (line) => notes.push(line),
  };

  const results: { group: string; figures: Figure[] }[] = [];
  try {
    for (const g of groups) {
      if (!parsed.json) process.stderr.write(`bench: running ${g.name} ...\n`);
      try {
        results.push({ group: g.name, figures: await g.run(ctx) });
      } catch (e) {
        failures.push(`${g.name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        results.push({ group: g.name, figures: [{ figure: 'group', value: 'FAILED', goal: '', pass: false }] });
      }
    }
  } finally {
    if (tempDir && !parsed.keep) rmSync(tempDir, { recursive: true, force: true });
    else if (tempDir) notes.push(`kept ${tempDir}`);
  }

  const env = `node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} CPUs; ${parsed.runs} runs + 1 warm-up per command; peak RSS via ${hasGnuTime() ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS'}`;
  if (parsed.json) {
    process.stdout.write(`${JSON.stringify({ environment: env, notes, results, failures }, null, 2)}\n`);
  } else {
    const rows = [['group', 'figure', 'measured (median)', 'goal', 'result']];
    for (const r of results) for (const f of r.figures) rows.push([r.group, f.figure, f.value, f.goal, f.pass === undefined ? '' : f.pass ? 'pass' : 'FAIL']);
    const out = [`atmos-pipe benchmarks (${env})`, ...notes, '', table(rows)];
    const judged = results.flatMap((r) => r.figures).filter((f) => f.pass !== undefined);
    out.push('', `${judged.filter((f) => f.pass).length}/${judged.length} goals met`);
    if (failures.length) out.push('', 'failed commands:', ...failures.map((f) => `  ${f}`));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
