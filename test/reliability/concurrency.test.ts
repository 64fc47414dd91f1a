/**
 * Concurrent rollouts (SPEC 5.4: "Terraform's own locking protects state; a second rollout
 * of the same deployment and target waits for the first or fails with exit 4 after
 * `--lock-timeout`"; SPEC 4.3: exit 4 = a lock is held by another run).
 *
 *   - two targets of one deployment rolled out at the same time, by two processes sharing one
 *     cache directory, never conflict: both exit 0, each target has its own states;
 *   - two rollouts of the same deployment and target: the second waits for the first (and says
 *     so, naming the holder), then finds everything cached;
 *   - with `--lock-timeout 1s` while the first is still applying, the second exits 4 naming
 *     the holder and writes nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  byStatus,
  checkCache,
  checkStates,
  finished,
  notices,
  orderViolations,
  readLock,
  rolloutArgs,
  runFinished,
  runStarted,
  runToEnd,
  startCli,
  started,
  stateDir,
  stateProblems,
  stepId,
  waveRepo,
  type Ev,
} from './fixture.js';

const at = (e: Ev | undefined) => Date.parse(e!.time);
const localExecOf = (id: string) => (e: Ev) => e.type === 'step.output' && e.id === id && e.line.includes('Executing:');

describe('concurrent rollouts', () => {
  it('two targets of one deployment at once: both exit 0, separate states, a consistent shared cache', async () => {
    const repo = waveRepo({ waves: 3, width: 4 });
    const total = repo.stepIds.length;
    const args = ['--parallelism', '3', '--lock-timeout', '30s'];
    const dev = startCli(rolloutArgs(repo.dir, 'dev', args));
    const staging = startCli(rolloutArgs(repo.dir, 'staging', args));
    const [d, s] = await Promise.all([dev.exited, staging.exited]);
    expect(d.code, d.stderr).toBe(0);
    expect(s.code, s.stderr).toBe(0);

    // They really ran at the same time, and neither waited for a lock.
    expect(at(runStarted(d.events))).toBeLessThan(at(runFinished(s.events)));
    expect(at(runStarted(s.events))).toBeLessThan(at(runFinished(d.events)));
    for (const r of [d, s]) {
      expect(notices(r.events).filter((m) => m.includes('lock'))).toEqual([]);
      expect(runFinished(r.events)?.counts).toEqual({ done: total, cached: 0, failed: 0, skipped: 0 });
      expect(orderViolations(r.events, repo.deps)).toEqual([]);
    }

    // Separate state directories, each complete; 2 × 12 distinct state lineages.
    const lineages = new Set<string>();
    for (const target of ['dev', 'staging']) {
      const st = checkStates(repo.dir, target);
      expect(st.problems).toEqual([]);
      expect(st.lockInfos).toEqual([]);
      expect(Object.keys(st.states).sort()).toEqual([...repo.names].sort());
      for (const name of repo.names) {
        expect(stateProblems(st.states[name], name, repo.expectedId[name])).toEqual([]);
        lineages.add(st.states[name]!.lineage);
      }
      expect(readLock(repo.dir, target)).toBeUndefined();
    }
    expect(lineages.size).toBe(2 * repo.names.length);
    expect(checkCache(repo.dir).problems).toEqual([]);

    // And both are all cache hits afterwards, again side by side.
    const [d2, s2] = await Promise.all([runToEnd(rolloutArgs(repo.dir, 'dev', args)), runToEnd(rolloutArgs(repo.dir, 'staging', args))]);
    for (const r of [d2, s2]) {
      expect(r.code, r.stderr).toBe(0);
      expect(runFinished(r.events)?.counts).toEqual({ done: 0, cached: total, failed: 0, skipped: 0 });
    }
  }, 60_000);

  it('same deployment and target: the second rollout waits for the first, then finds everything cached', async () => {
    const repo = waveRepo({ waves: 1, width: 2, slow: { c00: '3' } });
    const args = ['--parallelism', '2', '--lock-timeout', '60s'];
    const first = startCli(rolloutArgs(repo.dir, 'dev', [...args, '-v']));
    // The first holds the run lock and is 3 s away from finishing.
    await first.waitFor(localExecOf(stepId('c00', 'apply')), 'the slow apply of the first run');
    const firstRun = runStarted(first.events)!;
    const second = startCli(rolloutArgs(repo.dir, 'dev', args));
    const [a, b] = await Promise.all([first.exited, second.exited]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);

    // The second said it was waiting, and for whom.
    const waiting = notices(b.events).find((m) => m.startsWith('waiting for the lock of chain/dev'));
    expect(waiting).toBeDefined();
    expect(waiting).toContain(`run ${firstRun.runId}`);
    expect(waiting).toContain(`pid ${first.pid}`);
    // It started only after the first had finished, and everything was cached by then.
    expect(at(runStarted(b.events))).toBeGreaterThanOrEqual(at(runFinished(a.events)));
    expect(runFinished(a.events)?.counts).toEqual({ done: 6, cached: 0, failed: 0, skipped: 0 });
    expect(runFinished(b.events)?.counts).toEqual({ done: 0, cached: 6, failed: 0, skipped: 0 });
    expect(readLock(repo.dir, 'dev')).toBeUndefined();
    const st = checkStates(repo.dir, 'dev');
    expect(st.problems).toEqual([]);
    for (const name of repo.names) expect(stateProblems(st.states[name], name, repo.expectedId[name])).toEqual([]);
  }, 60_000);

  it('same deployment and target with --lock-timeout 1s while the first is applying: exit 4, the holder named, nothing written', async () => {
    const repo = waveRepo({ waves: 1, width: 2, slow: { c00: '5' } });
    const first = startCli(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2', '-v']));
    await first.waitFor(localExecOf(stepId('c00', 'apply')), 'the slow apply of the first run');
    const firstRun = runStarted(first.events)!;

    const t0 = Date.now();
    const second = await runToEnd(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2', '--lock-timeout', '1s']));
    const elapsed = Date.now() - t0;
    const firstStillRunning = !first.done;
    const lockDuringFirst = readLock(repo.dir, 'dev');

    expect(second.code, second.stderr).toBe(4);
    expect(firstStillRunning, 'the first run ended before the second gave up; make it slower').toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(second.stderr).toContain('another run holds the lock');
    expect(second.stderr).toContain(`run ${firstRun.runId}`);
    expect(second.stderr).toContain(`pid ${first.pid}`);
    expect(second.stderr).not.toMatch(/internal error|\n\s+at /);
    // It did not start: no run, no step; and the lock is still the first's.
    expect(runStarted(second.events)).toBeUndefined();
    expect(finished(second.events)).toEqual([]);
    expect(started(second.events)).toEqual([]);
    expect(lockDuringFirst?.pid).toBe(first.pid);
    expect(lockDuringFirst?.runId).toBe(firstRun.runId);

    const a = await first.exited;
    expect(a.code, a.stderr).toBe(0);
    expect(runFinished(a.events)?.counts).toEqual({ done: 6, cached: 0, failed: 0, skipped: 0 });
    expect(readLock(repo.dir, 'dev')).toBeUndefined();

    // Nothing of the second run on disk: the only run record, logs and workspaces are the first's.
    const atmos = path.join(repo.dir, '.atmos');
    expect(readdirSync(path.join(atmos, 'runs'))).toEqual([`${firstRun.runId}.json`]);
    for (const d of ['logs', 'workspaces']) {
      const p = path.join(atmos, d);
      if (existsSync(p)) for (const n of readdirSync(p)) expect(n, `${d}/${n}`).toBe(firstRun.runId);
    }
    // The states are exactly the first run's: a third run finds every apply's state fact unchanged.
    expect(readdirSync(stateDir(repo.dir, 'dev')).sort()).toEqual(['c00.tfstate', 'c01.tfstate']);
    const st = checkStates(repo.dir, 'dev');
    for (const name of repo.names) expect(stateProblems(st.states[name], name, repo.expectedId[name])).toEqual([]);
    const third = await runToEnd(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2']));
    expect(third.code, third.stderr).toBe(0);
    expect(byStatus(third.events, 'done').size).toBe(0);
  }, 60_000);
});
