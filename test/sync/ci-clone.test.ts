/**
 * A CI clone sees the truth: records pushed from one clone are fetched by a fresh clone (and
 * a `--depth 1` one) before it reads or rolls out, once per process; `sync` does it
 * explicitly and says what changed; an unreachable remote is a warning for reads and a
 * refusal for a promotion.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { git } from '../helpers.js';
import { cli, sharedRemote } from './fixture.js';

type Status = Array<{ target: string; component: string; commit: string | null; release: string | null }>;
type History = Array<{ target: string; git_sha: string; release: string; timestamp: string }>;
const json = <T>(r: { code: number; stdout: string; stderr: string }): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};
/** Every tracking ref with its value: to prove nothing moved. */
const trackingRefs = (dir: string) => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/atmos', 'refs/tags', 'refs/notes');

describe('a CI clone reads the records of the tracking remote', () => {
  it('a fresh clone and a --depth 1 clone show what another clone rolled out; the shallow one promotes and rolls back', { timeout: 240_000 }, () => {
    const { clone } = sharedRemote();
    const a = clone('a');
    const r1 = cli(a, 'alice', ['rollout', 'svc', '--target', 'dev']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toContain('pushed to origin');
    const c1 = git(a, 'rev-parse', 'HEAD');
    const f = path.join(a, 'deployments/svc.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('v: one', 'v: two'));
    git(a, 'commit', '-qam', 'two');
    git(a, 'push', '-q', 'origin', 'main');
    const c2 = git(a, 'rev-parse', 'HEAD');
    expect(cli(a, 'alice', ['rollout', 'svc', '--target', 'dev']).code).toBe(0);
    const statusA = json<Status>(cli(a, 'alice', ['status', 'svc', '--format', 'json']));
    const historyA = json<History>(cli(a, 'alice', ['history', 'svc', '--format', 'json']));
    expect(historyA.map((h) => h.git_sha)).toEqual([c2, c1]);

    // A fresh clone: without fetching it does not know what runs where; with it, it does.
    const b = clone('b');
    expect(json<Status>(cli(b, 'bob', ['status', 'svc', '--no-fetch', '--format', 'json'])).map((s) => s.commit)).toEqual([null]);
    const trace = path.join(tmpdir(), `atmos-pipe-trace-${process.pid}-${Date.now()}`);
    expect(json<Status>(cli(b, 'bob', ['status', 'svc', '--format', 'json'], { GIT_TRACE: trace }))).toEqual(statusA);
    expect(readFileSync(trace, 'utf8').match(/built-in: git fetch /g)).toHaveLength(1);
    expect(json<History>(cli(b, 'bob', ['history', 'svc', '--format', 'json']))).toEqual(historyA);

    // A --depth 1 clone holds only c2; the history of c1 is readable all the same.
    const c = clone('c', 1);
    expect(git(c, 'rev-list', '--count', 'HEAD')).toBe('1'); // c1, its parent, is not here
    expect(json<History>(cli(c, 'carol', ['history', 'svc', '--format', 'json']))).toEqual(historyA);
    expect(git(c, 'rev-parse', '--is-shallow-repository')).toBe('true');
    // It promotes dev's release to staging (one fetch for the whole rollout) and rolls dev
    // back to c1's release, whose commit it checks out.
    const trace2 = `${trace}-2`;
    const promote = cli(c, 'carol', ['rollout', 'svc', '--target', 'staging', '--promote-from', 'dev'], { GIT_TRACE: trace2 });
    expect(promote.code, promote.stderr).toBe(0);
    expect(readFileSync(trace2, 'utf8').match(/built-in: git fetch /g)).toHaveLength(1);
    const back = cli(c, 'carol', ['rollout', 'svc', '--target', 'dev', '--release', historyA[1].release]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('pushed to origin');

    // `sync` in b: what the shallow clone recorded arrives, and says so.
    const sync = json<{ refs: Array<{ ref: string; from: string | null; to: string }>; tags: string[]; notes: string[] }>(cli(b, 'bob', ['sync', '--format', 'json']));
    expect(sync.refs).toEqual([
      { ref: 'refs/atmos/deployments/svc/dev/a', from: c2, to: c1 },
      { ref: 'refs/atmos/deployments/svc/staging/a', from: null, to: c2 },
    ]);
    expect(sync.tags.filter((t) => t.startsWith('atmos/deployments/')).sort()).toHaveLength(2);
    const again = cli(b, 'bob', ['sync']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('up to date');
    expect(json<Status>(cli(a, 'alice', ['status', 'svc', '--format', 'json'])).map((s) => [s.target, s.commit])).toEqual([
      ['dev', c1],
      ['staging', c2],
    ]);
  });

  it('an unreachable remote: reads warn and show the local records; a promotion is refused (exit 3, nothing written) unless --no-fetch', { timeout: 120_000 }, () => {
    const { clone } = sharedRemote();
    const a = clone('a');
    expect(cli(a, 'alice', ['rollout', 'svc', '--target', 'dev']).code).toBe(0);
    git(a, 'remote', 'set-url', 'origin', path.join(a, 'no-such-remote.git'));
    const st = cli(a, 'alice', ['status', 'svc']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stderr).toMatch(/warning: could not fetch the deployment records from origin \(fatal: .*no-such-remote\.git.*\): showing the local records/);
    expect(st.stdout).toContain(git(a, 'rev-parse', 'HEAD').slice(0, 12));

    const before = trackingRefs(a);
    const promote = cli(a, 'alice', ['rollout', 'svc', '--target', 'staging', '--promote-from', 'dev']);
    expect(promote.code, promote.stderr).toBe(3);
    expect(promote.stderr).toContain('depends on the deployment records of the tracking remote, which could not be fetched');
    expect(promote.stderr).toContain('--no-fetch');
    const approve = cli(a, 'alice', ['approve', 'svc', '--target', 'staging']);
    expect(approve.code, approve.stderr).toBe(3);
    expect(approve.stderr).toContain('approving a release for svc/staging depends on the deployment records of the tracking remote');
    expect(trackingRefs(a)).toBe(before);
    // Deciding on the local records, on purpose: the rollout runs; its push fails (exit 1), recorded here.
    const offline = cli(a, 'alice', ['rollout', 'svc', '--target', 'staging', '--promote-from', 'dev'], { ATMOS_PIPE_NO_FETCH: '1' });
    expect(offline.code, offline.stderr).toBe(1);
    expect(offline.stderr).toContain('no lease taken');
    expect(git(a, 'rev-parse', 'refs/atmos/deployments/svc/staging/a')).toBe(git(a, 'rev-parse', 'HEAD'));
  });
});
