/**
 * Two CI jobs, one target, two machines: the lease on the tracking remote
 * (`refs/atmos/leases/<d>/<t>`) lets one rollout run; the other waits for it or exits 4
 * naming the holder; a lease whose holder died expires and is taken over.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { git } from '../helpers.js';
import { cli, cliBackground, componentTf, sharedRemote } from './fixture.js';

const LEASE = 'refs/atmos/leases/svc/dev';

/** Waits until the remote holds the lease (the background rollout got that far). */
async function leaseTaken(remote: string): Promise<string> {
  for (;;) {
    const out = git(remote, 'for-each-ref', '--format=%(objectname)', LEASE);
    if (out) return out;
    await sleep(100);
  }
}

describe('the lease of a target on the tracking remote', () => {
  it('a second machine exits 4 naming the holder, or waits and then rolls out on the first one`s records', { timeout: 180_000 }, async () => {
    const { remote, clone } = sharedRemote({ slow: 10 });
    const a = clone('a');
    const b = clone('b');
    const first = cliBackground(a, 'alice', ['rollout', 'svc', '--target', 'dev'], { ATMOS_PIPE_LEASE_TTL: '3' });
    await leaseTaken(remote);
    const held = cli(b, 'bob', ['rollout', 'svc', '--target', 'dev', '--lock-timeout', '1s'], { ATMOS_PIPE_LEASE_TTL: '3' });
    expect(held.code, held.stderr).toBe(4);
    expect(held.stderr).toMatch(new RegExp(`error: another run holds the lease of svc/dev on origin \\(run \\S+, pid ${first.pid} on \\S+, since `));
    expect(held.stderr).toContain('raise --lock-timeout');
    expect(git(b, 'tag', '-l', 'atmos/*')).toBe(''); // nothing recorded

    const second = cli(b, 'bob', ['rollout', 'svc', '--target', 'dev', '--lock-timeout', '2m'], { ATMOS_PIPE_LEASE_TTL: '3' });
    const one = await first.done;
    expect(one.code, one.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`waiting for the lease of svc/dev on origin \\(held by run \\S+, pid ${first.pid} on `));
    // alice's heartbeat kept her 3-second lease alive through her 10-second apply.
    expect(second.stderr).not.toContain('took over');
    // It fetched alice's records after waiting: its push is accepted at once.
    expect(second.stdout).toMatch(/pushed to origin \(\d+ refs\)/);
    expect(git(remote, 'for-each-ref', LEASE)).toBe(''); // both released it
    const history = JSON.parse(cli(a, 'alice', ['history', 'svc', '--format', 'json']).stdout) as Array<{ deployed_by: string }>;
    expect(history.map((h) => h.deployed_by)).toEqual(['bob', 'alice']);
  });

  it('the lease of a killed rollout expires and is taken over, with a notice naming it', { timeout: 180_000 }, async () => {
    const { remote, clone } = sharedRemote({ slow: 60 });
    const a = clone('a');
    const b = clone('b');
    const victim = cliBackground(a, 'alice', ['rollout', 'svc', '--target', 'dev'], { ATMOS_PIPE_LEASE_TTL: '2' });
    await leaseTaken(remote);
    process.kill(-victim.pid, 'SIGKILL');
    await victim.done;
    expect(git(remote, 'for-each-ref', '--format=%(refname)', LEASE)).toBe(LEASE); // left behind

    // b's own apply is quick: the lease is what it waits for.
    writeFileSync(path.join(b, 'components/terraform/a/main.tf'), componentTf());
    git(b, 'commit', '-qam', 'quick');
    const r = cli(b, 'bob', ['rollout', 'svc', '--target', 'dev', '--lock-timeout', '1m'], { ATMOS_PIPE_LEASE_TTL: '2' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`took over the expired lease of svc/dev on origin \\(run \\S+, pid ${victim.pid} on `));
    expect(git(remote, 'for-each-ref', LEASE)).toBe('');
  });

  it('an expired lease left on the remote is taken over at once', { timeout: 120_000 }, () => {
    const { remote, clone } = sharedRemote();
    const b = clone('b');
    const holder = { deployment: 'svc', target: 'dev', runId: 'crashed-run', host: 'elsewhere', pid: 4242, since: '2026-01-01T00:00:00.000Z', expires: '2026-01-01T00:02:00.000Z' };
    const tree = git(b, 'mktree');
    const sha = git(b, 'commit-tree', tree, '-m', JSON.stringify(holder));
    git(b, 'push', '-q', 'origin', `${sha}:${LEASE}`);
    const r = cli(b, 'bob', ['rollout', 'svc', '--target', 'dev', '--lock-timeout', '1s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('took over the expired lease of svc/dev on origin (run crashed-run, pid 4242 on elsewhere, since 2026-01-01T00:00:00.000Z, expires 2026-01-01T00:02:00.000Z)');
    expect(git(remote, 'for-each-ref', LEASE)).toBe('');
  });
});
