/**
 * The `pgstate` benchmark group: state that outlives a runner (issue 19).
 *
 *   node dist/bench/run.js pgstate
 *
 * The rollout group's fleet (100 independent `terraform_data` components, bench/rollout.ts)
 * with its state in PostgreSQL (Terraform's `pg` backend, a schema per component, the
 * connection from the `PG_CONN_STR` secret), on a throwaway server (bench/postgres.ts):
 *
 * 1. a cold rollout from runner A (informational);
 * 2. runner B: a fresh `git clone` of A at another path, with A's `.atmos/cache` copied over
 *    (what a restored CI cache, or the remote cache, gives a new runner): its first rollout,
 *    timed once, then measured (1 warm-up + N runs). The shared state is unchanged, so every
 *    step must be a cache hit and no terraform process may start; atmos-pipe reads the 100
 *    state rows (read-only) to know it.
 *
 * Terraform processes are counted by the rollout group's wrappers (bench/rollout.ts).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { which } from '../src/engine/local.js';
import { startPostgres } from './postgres.js';
import { eventsProblem, fmtMs, fmtS, generateFleet, parseEvents, terraformCalls, timedRun, writeWrappers } from './rollout.js';
import type { BenchContext, BenchGroup, Figure, Sample } from './types.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.mjs');
const COMPONENTS = 100;
const STEPS = COMPONENTS * 3; // init → apply → output
const GOAL_MS = 3000;

const rolloutArgs = (repo: string) => [CLI, '--chdir', repo, 'rollout', 'fleet', '--target', 'dev', '--engine', 'local', '--events', 'ndjson'];

export const pgstateGroup: BenchGroup = {
  name: 'pgstate',
  description: `rollout of ${COMPONENTS} Terraform components with shared state in PostgreSQL: unchanged re-rollout from a fresh clone with a warm cache`,
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

async function runGroup(ctx: BenchContext, root: string, realTerraform: string, conn: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const scratch = path.join(root, 'scratch');
  mkdirSync(scratch);
  const wrappers = writeWrappers(root, realTerraform);
  const PATH = `${wrappers.binDir}${path.delimiter}${process.env.PATH ?? ''}`;
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, PG_CONN_STR: conn };

  const a = generateFleet(path.join(root, 'runner-a', 'fleet'), 'instant', { pg: true }).dir;
  const before = wrappers.calls().length;
  const cold = await timedRun(process.execPath, rolloutArgs(a), { env, scratch });
  const coldProblem = cold.code === 0 ? eventsProblem(parseEvents(cold.stdout), STEPS, 'done') : `exit ${cold.code}: ${cold.stderr.slice(-2000)}`;
  if (coldProblem) throw new Error(`cold rollout (pg state): ${coldProblem}`);
  const coldTf = terraformCalls(wrappers.calls().slice(before)).length;
  figures.push({ figure: `cold rollout, ${COMPONENTS} components, pg state: wall`, value: fmtS(cold.wallMs), goal: 'info' });

  // Runner B: a fresh clone elsewhere with A's cache (no state on its disk: it is in PostgreSQL).
  const b = path.join(root, 'elsewhere', 'runner-b', 'fleet');
  mkdirSync(path.dirname(b), { recursive: true });
  const clone = spawnSync('git', ['clone', '-q', a, b], { encoding: 'utf8' });
  if (clone.status !== 0) throw new Error(`git clone failed: ${clone.stderr}`);
  cpSync(path.join(a, '.atmos', 'cache'), path.join(b, '.atmos', 'cache'), { recursive: true });

  const beforeFirst = wrappers.calls().length;
  const first = await timedRun(process.execPath, rolloutArgs(b), { env, scratch });
  const firstProblem = first.code === 0 ? eventsProblem(parseEvents(first.stdout), STEPS, 'cached') : `exit ${first.code}: ${first.stderr.slice(-2000)}`;
  const firstTf = terraformCalls(wrappers.calls().slice(beforeFirst)).length;
  figures.push({
    figure: `fresh clone, warm cache copied over, unchanged pg state: first rollout wall`,
    value: firstProblem ? `FAILED (${firstProblem})` : fmtS(first.wallMs),
    goal: `< ${GOAL_MS / 1000} s`,
    pass: !firstProblem && first.wallMs < GOAL_MS,
  });
  figures.push({ figure: '  its terraform processes', value: String(firstTf), goal: '= 0', pass: !firstProblem && firstTf === 0 });

  const beforeMeasured = wrappers.calls().length;
  let problem: string | undefined;
  const again = await ctx.measure(`rollout from the clone, pg state unchanged (${COMPONENTS} components)`, {
    args: rolloutArgs(b),
    env: { PATH, PG_CONN_STR: conn },
    check: (s: Sample) => {
      const ev = parseEvents(s.stdout);
      problem = eventsProblem(ev, STEPS, 'cached') ?? (ev.started.size ? `${ev.started.size} steps started` : undefined);
      return problem;
    },
  });
  const measuredTf = terraformCalls(wrappers.calls().slice(beforeMeasured)).length;
  const runs = again.samples.length + (again.ok ? 1 : 0);
  figures.push({
    figure: `  re-rollouts from the clone: wall`,
    value: again.ok ? `${fmtMs(again.wallMedianMs)} (best ${fmtMs(again.wallBestMs)})` : `FAILED (${problem ?? again.error})`,
    goal: `< ${GOAL_MS / 1000} s`,
    pass: again.ok && again.wallMedianMs < GOAL_MS,
  });
  figures.push({ figure: `  re-rollouts: terraform processes (${runs} runs)`, value: again.ok ? String(measuredTf) : 'FAILED', goal: '= 0', pass: again.ok && measuredTf === 0 });
  ctx.note(
    `pgstate: ${COMPONENTS} terraform_data components, state in PostgreSQL (a schema each, throwaway server on 127.0.0.1); the cold rollout from runner A started ${coldTf} terraform processes; ` +
      `runner B is a fresh clone at another path with A's .atmos/cache copied over (a stand-in for the remote cache) and reads the ${COMPONENTS} state rows to know the state is unchanged`,
  );
  return figures;
}
