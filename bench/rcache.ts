/**
 * The `rcache` benchmark group: a fresh CI runner with a warm shared cache (issue 19).
 *
 *   node dist/bench/run.js rcache
 *
 * The rollout group's fleet (100 independent `terraform_data` components, bench/rollout.ts)
 * is committed and cloned through a bare repository. Runner 1 rolls it out once with a shared
 * directory as the remote cache (cold: every step runs and is uploaded). Then, `--runs`
 * times, a fresh clone at a new path (an empty `.atmos`, as a new CI runner has) rolls it out
 * against the warm remote, with the Terraform state runner 1 left (what a shared state
 * backend shows every runner: apply steps include the digest of the state they start from).
 * Reported: wall time of that rollout (median and best) and of its run alone (`run.finished`:
 * the steps served from the shared cache, without the resolution before and the Git records
 * after, which a fresh clone writes for every component), terraform processes started (by the
 * counting wrappers on PATH), and what was fetched from the remote (entries served, objects
 * and bytes) from the run's stats record (`.atmos/cache/stats/<run>.json`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from '../src/engine/local.js';
import { generateFleet, writeWrappers } from './rollout.js';
import type { BenchContext, BenchGroup, Figure } from './types.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
const CLI = path.resolve(BENCH_DIR, '..', 'cli.mjs');
const GOAL_MS = 3000;
const KEY = 'atmos-pipe-bench-shared-cache-key';

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
}

/** `rollout fleet --target dev` in `cwd` with `remote` as the remote cache: wall time and the run's own duration. */
export function rolloutWithRemote(cwd: string, env: NodeJS.ProcessEnv, remote: string): Promise<{ wallMs: number; runMs: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, 'rollout', 'fleet', '--target', 'dev', '--cache-remote', remote, '--events', 'ndjson'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on('close', (code) => {
      // The run's own duration (steps, cache lookups, uploads), without resolving before it and recording after it.
      const finished = stdout.split('\n').find((l) => l.includes('"type":"run.finished"'));
      const runMs = finished ? (JSON.parse(finished) as { durationMs: number }).durationMs : Number.NaN;
      resolve({ wallMs: Number(process.hrtime.bigint() - start) / 1e6, runMs, code, stderr });
    });
  });
}

/** The stats record of the last run in a clone. */
export function lastStats(dir: string): { hitsRemote: number; misses: number; remote?: { fetchedObjects?: number; fetchedBytes?: number; hits?: number } } {
  const statsDir = path.join(dir, '.atmos', 'cache', 'stats');
  const last = readdirSync(statsDir).sort().pop()!;
  return JSON.parse(readFileSync(path.join(statsDir, last), 'utf8'));
}

/** A CI runner's environment: the counting wrappers first on PATH, the shared cache key from a CI secret. */
export const runnerEnv = (binDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
  ATMOS_PIPE_CACHE_KEY: KEY,
  ATMOS_PIPE_USER: 'bench@example.invalid',
  CI: '1',
  ...extra,
});

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export const rcacheGroup: BenchGroup = {
  name: 'rcache',
  description: 'A fresh runner rolls out 100 components from a warm shared cache',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const realTerraform = which('terraform');
    if (!realTerraform) throw new Error('terraform is required on PATH');
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-rcache-'));
    try {
      const origin = path.join(root, 'origin');
      generateFleet(origin, 'instant');
      const bare = path.join(root, 'fleet.git');
      git(root, 'clone', '-q', '--bare', origin, bare);
      const shared = path.join(root, 'shared-cache');
      mkdirSync(shared);
      const wrappers = writeWrappers(root, realTerraform);
      const env = () => runnerEnv(wrappers.binDir);
      const clone = (name: string) => {
        const dir = path.join(root, name, 'checkout');
        mkdirSync(path.dirname(dir), { recursive: true });
        git(root, 'clone', '-q', bare, dir);
        return dir;
      };

      const first = clone('runner-1');
      const cold = await rolloutWithRemote(first, env(), shared);
      if (cold.code !== 0) throw new Error(`the cold rollout failed:\n${cold.stderr}`);
      const coldCalls = wrappers.calls().filter((c) => c.terraform).length;

      const walls: number[] = [];
      const runs: number[] = [];
      const processes: number[] = [];
      let fetched = { entries: 0, objects: 0, bytes: 0 };
      for (let i = 0; i < Math.max(1, ctx.runs); i++) {
        const dir = clone(`runner-${i + 2}`);
        cpSync(path.join(first, '.atmos', 'state'), path.join(dir, '.atmos', 'state'), { recursive: true });
        const before = wrappers.calls().filter((c) => c.terraform).length;
        const r = await rolloutWithRemote(dir, env(), shared);
        if (r.code !== 0) throw new Error(`the warm rollout failed:\n${r.stderr}`);
        walls.push(r.wallMs);
        runs.push(r.runMs);
        processes.push(wrappers.calls().filter((c) => c.terraform).length - before);
        const s = lastStats(dir);
        fetched = { entries: s.remote?.hits ?? 0, objects: s.remote?.fetchedObjects ?? 0, bytes: s.remote?.fetchedBytes ?? 0 };
        if (s.misses !== 0) throw new Error(`the warm rollout ran ${s.misses} steps`);
      }
      ctx.note(`rcache: cold rollout ${(cold.wallMs / 1000).toFixed(2)} s with ${coldCalls} terraform processes (uploads included)`);
      const med = median(walls);
      return [
        {
          figure: 'fresh runner, warm shared cache: rollout of 100 components (median)',
          value: `${(med / 1000).toFixed(2)} s (best ${(Math.min(...walls) / 1000).toFixed(2)} s)`,
          goal: `< ${GOAL_MS / 1000} s`,
          pass: med < GOAL_MS,
        },
        {
          figure: '  of which the run itself (steps from the shared cache; the rest: resolving, and recording 100 components in Git)',
          value: `${(median(runs) / 1000).toFixed(2)} s`,
          goal: '',
        },
        { figure: 'terraform processes in that rollout', value: `${Math.max(...processes)}`, goal: '0', pass: Math.max(...processes) === 0 },
        { figure: 'fetched from the shared cache', value: `${fetched.entries} entries, ${fetched.objects} objects, ${fetched.bytes} bytes`, goal: 'entries only' },
      ];
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
