/**
 * Resuming must not depend on how long a run is willing to wait for a lock (SPEC 4.1:
 * "re-running an unchanged rollout is all cache hits"; SPEC 13: "the next run continues from
 * its cache"). After a kill, the natural next command is the same rollout with a
 * `--lock-timeout` suited to the situation; that must not re-run the applies that finished.
 *
 * Found while writing kill.test.ts: `--lock-timeout` is passed to Terraform as
 * `-lock-timeout=<n>s` in the apply (and plan) argv, and argv is part of the fingerprint, so
 * changing how long to wait for a lock changes the cache key of every apply.
 */
import { describe, expect, it } from 'vitest';
import { byStatus, rolloutArgs, runFinished, runToEnd, stepId, waveRepo } from './fixture.js';

describe('cache keys', () => {
  it('a rollout with a different --lock-timeout is still all cache hits', async () => {
    const repo = waveRepo({ waves: 1, width: 2 });
    const first = await runToEnd(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2']));
    expect(first.code, first.stderr).toBe(0);
    expect(runFinished(first.events)?.counts).toEqual({ done: 6, cached: 0, failed: 0, skipped: 0 });

    const same = await runToEnd(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2']));
    expect(runFinished(same.events)?.counts).toEqual({ done: 0, cached: 6, failed: 0, skipped: 0 });

    const again = await runToEnd(rolloutArgs(repo.dir, 'dev', ['--parallelism', '2', '--lock-timeout', '20s']));
    expect(again.code, again.stderr).toBe(0);
    const reran = [...byStatus(again.events, 'done')].sort();
    // Today: exactly the applies, [rollout:terraform/c00:apply, rollout:terraform/c01:apply].
    expect(reran, `steps re-run only because --lock-timeout changed (applies: ${[stepId('c00', 'apply'), stepId('c01', 'apply')].join(', ')})`).toEqual([]);
  }, 30_000);
});
