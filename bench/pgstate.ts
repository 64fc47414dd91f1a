/**
 * The `pgstate` benchmark group: state and cache that outlive a runner (issue 19).
 *
 *   node dist/bench/run.js pgstate
 *
 * The rollout group's fleet (100 independent `terraform_data` components, bench/rollout.ts)
 * with its state in PostgreSQL (Terraform's `pg` backend, a schema per component, the
 * connection from the `PG_CONN_STR` secret), on a throwaway server (bench/postgres.ts), and
 * a shared directory as the remote cache, with the shared cache key `ATMOS_PIPE_CACHE_KEY`
 * (the rcache group's runner environment, bench/rcache.ts):
 *
 * 1. runner A (a clone) rolls the fleet out cold: every step runs and is uploaded
 *    (informational);
 * 2. `--runs` times, a FRESH clone at another path (an empty `.atmos`: no local cache, no
 *    state on disk) rolls it out again against the warm remote and the unchanged pg state:
 *    every step must be served by the remote cache (atmos-pipe reads the 100 state rows,
 *    read-only, to know the state is unchanged) and no terraform process may start.
 *
 * Reported: the wall time of that rollout (median, best, worst), terraform processes (the
 * rollout group's counting wrappers on PATH) and what was fetched from the remote (entries,
 * objects, bytes) from the run's stats record (`.atmos/cache/stats/<run>.json`).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { which } from '../src/engine/local.js';
import { startPostgres } from './postgres.js';
import { lastStats, median, rolloutWithRemote, runnerEnv } from './rcache.js';
import { fmtS, generateFleet, terraformCalls, writeWrappers } from './rollout.js';
import type { BenchContext, BenchGroup, Figure } from './types.js';

const COMPONENTS = 100;
const GOAL_MS = 3000;

export const pgstateGroup: BenchGroup = {
  name: 'pgstate',
  description: `rollout of ${COMPONENTS} Terraform components with shared state in PostgreSQL: unchanged re-rollout from a fresh clone with a warm remote cache`,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const realTerraform = which('terraform');
    if (!realTerraform) throw new Error('terraform is not on PATH: the pgstate benchmark runs real Terraform (>= 1.5)');
    const root = mkdtempSync(path.join(os.tmpdir(), 'atmos-bench-pgstate-'));
    const pg = await startPostgres();
    try {
      return await runGroup(ctx, root, realTerraform, pg.url);
    } finally {
      pg.stop();
      rmSync(root, { recursive: true, force: true });
    }
  },
};

function clone(from: string, to: string): string {
  mkdirSync(path.dirname(to), { recursive: true });
  const r = spawnSync('git', ['clone', '-q', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git clone failed: ${r.stderr}`);
  return to;
}

async function runGroup(ctx: BenchContext, root: string, realTerraform: string, conn: string): Promise<Figure[]> {
  const wrappers = writeWrappers(root, realTerraform);
  const env = runnerEnv(wrappers.binDir, { PG_CONN_STR: conn });
  const remote = path.join(root, 'shared-cache');
  mkdirSync(remote);
  const tfCount = () => terraformCalls(wrappers.calls()).length;

  const origin = generateFleet(path.join(root, 'origin', 'fleet'), 'instant', { pg: true }).dir;
  const a = clone(origin, path.join(root, 'runner-a', 'fleet'));
  const cold = await rolloutWithRemote(a, env, remote);
  if (cold.code !== 0) throw new Error(`cold rollout (pg state, remote cache) exited ${cold.code}:\n${cold.stderr}`);
  const coldTf = tfCount();

  const walls: number[] = [];
  const runs: number[] = [];
  const processes: number[] = [];
  const fetched: { entries: number; objects: number; bytes: number }[] = [];
  for (let i = 0; i < Math.max(1, ctx.runs); i++) {
    // A new runner: a fresh clone at another path, nothing in .atmos (the state is in PostgreSQL, the cache remote).
    const b = clone(origin, path.join(root, `elsewhere-${i}`, 'runner-b', 'fleet'));
    const before = tfCount();
    const r = await rolloutWithRemote(b, env, remote);
    if (r.code !== 0) throw new Error(`rollout from a fresh clone exited ${r.code}:\n${r.stderr}`);
    const s = lastStats(b);
    if (s.misses !== 0) throw new Error(`the rollout from a fresh clone ran ${s.misses} steps (the pg state is unchanged and the remote cache warm)`);
    walls.push(r.wallMs);
    runs.push(r.runMs);
    processes.push(tfCount() - before);
    fetched.push({ entries: s.remote?.hits ?? 0, objects: s.remote?.fetchedObjects ?? 0, bytes: s.remote?.fetchedBytes ?? 0 });
  }
  ctx.note(
    `pgstate: ${COMPONENTS} terraform_data components, state in PostgreSQL (a schema each, throwaway server on 127.0.0.1), a shared directory as the remote cache; ` +
      `runner A's cold rollout took ${fmtS(cold.wallMs)} with ${coldTf} terraform processes (uploads included); each measured rollout is from a fresh clone at a new path (empty .atmos)`,
  );
  const med = median(walls);
  const last = fetched[fetched.length - 1];
  return [
    { figure: `cold rollout, ${COMPONENTS} components, pg state, remote cache: wall`, value: fmtS(cold.wallMs), goal: 'info' },
    {
      figure: `fresh clone, warm remote cache, unchanged pg state: rollout wall (${walls.length} clones)`,
      value: `${fmtS(med)} (best ${fmtS(Math.min(...walls))}, worst ${fmtS(Math.max(...walls))})`,
      goal: `< ${GOAL_MS / 1000} s`,
      pass: med < GOAL_MS,
    },
    { figure: '  of which the run itself (run.finished; the rest: resolving, recording in Git)', value: fmtS(median(runs)), goal: 'info' },
    { figure: '  its terraform processes (max)', value: String(Math.max(...processes)), goal: '= 0', pass: Math.max(...processes) === 0 },
    { figure: '  fetched from the remote cache', value: `${last.entries} entries, ${last.objects} objects, ${last.bytes} bytes`, goal: 'info' },
  ];
}
