import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/tracking/git.js';
import { countingRunner } from '../../src/tracking/runner.js';
import { deploymentRef, formatDeploymentRecord, historyTagName, notesRef, releaseTagName, type DeploymentStatus } from '../../src/tracking/records.js';
import { pushTracking, type TrackingPush } from '../../src/tracking/sync.js';
import { commit, git, GIT_ENV, remoteWithClones } from './gitfixture.js';

const D = 'pay';
const T = 'dev';
const C = 'ecs/api';
const REF = deploymentRef(D, T, C);
const APPROVALS = notesRef(D, 'approvals');
const at = (hhmm: string) => new Date(`2026-11-30T${hhmm}:00.000Z`);

/**
 * Records one deployment of `C` in a clone, as a rollout does: a new commit, the history tag
 * (timestamp `when`), and (success only) a CAS move of the deployment ref.
 */
async function deploy(repo: GitRepo, dir: string, when: Date, who: string, status: DeploymentStatus = 'success') {
  const sha = commit(dir, `${who} ${when.toISOString()}`);
  const tag = historyTagName(D, T, C, when);
  const message = formatDeploymentRecord({
    deployment: D,
    target: T,
    component: C,
    release: null,
    git_sha: sha,
    images: {},
    deployed_by: who,
    timestamp: when.toISOString(),
    status,
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
  });
  await repo.createAnnotatedTag(tag, sha, message);
  const previous = await repo.resolveRef(REF);
  if (status === 'success') expect(await repo.updateRef(REF, sha, previous)).toEqual({ ok: true });
  const what: TrackingPush = {
    refs: status === 'success' ? [{ ref: REF, previous, value: sha, tag }] : [],
    tags: [tag],
    notes: [],
  };
  return { sha, tag, what };
}

function clones() {
  const { remote, a, b } = remoteWithClones();
  const runner = countingRunner();
  return { remote, a, b, ra: new GitRepo(a, { env: GIT_ENV }), rb: new GitRepo(b, { env: GIT_ENV, runner }), runner };
}

const remoteNote = (remote: string, sha: string) => git(remote, 'notes', `--ref=${APPROVALS}`, 'show', sha);

describe('pushTracking', () => {
  it('pushes the deployment ref, history tag, release tag and approvals note of a rollout', async () => {
    const { remote, a, ra } = clones();
    const dep = await deploy(ra, a, at('08:00'), 'alice');
    const release = releaseTagName(D, 'r-0001');
    await ra.createAnnotatedTag(release, dep.sha, 'release r-0001\n');
    await ra.addNote(APPROVALS, dep.sha, 'approved by carol\n', { append: true });
    const what: TrackingPush = { ...dep.what, tags: [dep.tag, release], notes: [APPROVALS, notesRef(D, 'sbom')] };

    const res = await pushTracking(ra, 'origin', what);
    expect(res).toEqual({
      ok: true,
      attempts: 1,
      pushed: [`refs/tags/${dep.tag}`, `refs/tags/${release}`, REF, APPROVALS],
      superseded: [],
      rejected: [],
    });
    expect(git(remote, 'rev-parse', REF)).toBe(dep.sha);
    expect(git(remote, 'rev-parse', `refs/tags/${dep.tag}`)).toBe(git(a, 'rev-parse', `refs/tags/${dep.tag}`));
    expect(git(remote, 'rev-parse', `refs/tags/${release}^{commit}`)).toBe(dep.sha);
    expect(remoteNote(remote, dep.sha)).toBe('approved by carol');
    // the absent sbom notes ref is skipped, not created
    expect(git(remote, 'for-each-ref', 'refs/notes/')).not.toContain('sbom');

    // idempotent: pushing the same rollout again is all up to date
    const again = await pushTracking(ra, 'origin', what);
    expect(again).toMatchObject({ ok: true, attempts: 1, superseded: [], rejected: [] });
    expect(again.pushed).toHaveLength(4);
  });

  it('a newer deployment from another clone replaces the older one after a fetch and re-check', async () => {
    const { remote, a, b, ra, rb, runner } = clones();
    const depA = await deploy(ra, a, at('08:00'), 'alice');
    expect((await pushTracking(ra, 'origin', depA.what)).ok).toBe(true);
    const tagAsha = git(remote, 'rev-parse', `refs/tags/${depA.tag}`);

    // B deployed later, on top of its stale view (previous = null)
    const depB = await deploy(rb, b, at('08:05'), 'bob');
    expect(depB.what.refs[0].previous).toBeNull();
    runner.reset();
    const res = await pushTracking(rb, 'origin', depB.what);
    expect(res).toEqual({
      ok: true,
      attempts: 2,
      pushed: [`refs/tags/${depB.tag}`, REF],
      superseded: [],
      rejected: [],
    });
    expect(git(remote, 'rev-parse', REF)).toBe(depB.sha);
    // history of both deployments on the remote; A's tag untouched
    expect(git(remote, 'rev-parse', `refs/tags/${depA.tag}`)).toBe(tagAsha);
    expect(git(remote, 'rev-parse', `refs/tags/${depB.tag}^{commit}`)).toBe(depB.sha);
    expect(git(remote, 'for-each-ref', '--format=%(refname)', `refs/tags/atmos/deployments/${D}/${T}/`).split('\n')).toEqual([`refs/tags/${depA.tag}`, `refs/tags/${depB.tag}`]);
    // a constant number of git processes: for-each-ref, push, ls-remote + fetch (rejected
    // refs), one ls-remote for the history tags, push
    expect(runner.calls.map((c) => c[0])).toEqual(['for-each-ref', 'push', 'ls-remote', 'fetch', 'ls-remote', 'push']);
  });

  it('an older deployment is superseded: the remote keeps the newer one, the history tag is still pushed', async () => {
    const { remote, a, b, ra, rb } = clones();
    const depA = await deploy(ra, a, at('08:00'), 'alice');
    expect((await pushTracking(ra, 'origin', depA.what)).ok).toBe(true);

    const depB = await deploy(rb, b, at('07:55'), 'bob');
    const res = await pushTracking(rb, 'origin', depB.what);
    expect(res).toEqual({
      ok: true,
      attempts: 1,
      pushed: [`refs/tags/${depB.tag}`],
      superseded: [{ ref: REF, remote: depA.sha, remoteTag: depA.tag }],
      rejected: [],
    });
    expect(git(remote, 'rev-parse', REF)).toBe(depA.sha);
    expect(git(remote, 'rev-parse', `refs/tags/${depB.tag}^{commit}`)).toBe(depB.sha);
    // the local ref is not touched either
    expect(git(b, 'rev-parse', REF)).toBe(depB.sha);
  });

  it('a newer FAILED deployment (which kept the previous ref) does not supersede a successful one', async () => {
    const { remote, a, b, ra, rb } = clones();
    const depA = await deploy(ra, a, at('08:00'), 'alice');
    expect((await pushTracking(ra, 'origin', depA.what)).ok).toBe(true);
    const failed = await deploy(ra, a, at('08:10'), 'alice', 'failed');
    expect((await pushTracking(ra, 'origin', failed.what)).ok).toBe(true);
    expect(git(remote, 'rev-parse', REF)).toBe(depA.sha);

    // B's success at 08:05 is newer than the 08:00 deployment the remote ref records
    const depB = await deploy(rb, b, at('08:05'), 'bob');
    const res = await pushTracking(rb, 'origin', depB.what);
    expect(res).toMatchObject({ ok: true, attempts: 2, superseded: [], rejected: [] });
    expect(git(remote, 'rev-parse', REF)).toBe(depB.sha);
  });

  it('approvals appended by two clones on the same commit are merged (cat_sort_uniq), not overwritten', async () => {
    const { remote, a, b, ra, rb } = clones();
    const base = git(a, 'rev-parse', 'origin/main');
    expect(git(b, 'rev-parse', 'origin/main')).toBe(base);
    await ra.addNote(APPROVALS, base, 'approved by alice\n', { append: true });
    await rb.addNote(APPROVALS, base, 'approved by bob\n', { append: true });
    const what: TrackingPush = { refs: [], tags: [], notes: [APPROVALS] };

    expect(await pushTracking(ra, 'origin', what)).toMatchObject({ ok: true, attempts: 1 });
    const res = await pushTracking(rb, 'origin', what);
    expect(res).toEqual({ ok: true, attempts: 2, pushed: [APPROVALS], superseded: [], rejected: [] });
    expect(remoteNote(remote, base)).toBe('approved by alice\napproved by bob');
    expect(git(remote, 'rev-parse', APPROVALS)).toBe(git(b, 'rev-parse', APPROVALS));
    // no temp refs left behind
    expect(git(b, 'for-each-ref', 'refs/notes/atmos-tmp/')).toBe('');

    // A catches up with a plain fetch + merge, and its next push is a fast-forward
    await ra.addNote(APPROVALS, base, 'approved by dave\n', { append: true });
    const resA = await pushTracking(ra, 'origin', what);
    expect(resA).toMatchObject({ ok: true, attempts: 2 });
    expect(remoteNote(remote, base)).toBe('approved by alice\napproved by bob\napproved by dave');
  });

  it('a tag with the same name but different content is reported, never forced; an identical one is fine', async () => {
    // (A release tag of the same id on the SAME commit is adopted instead: test/rollout/story.test.ts.)
    const { remote, a, b, ra, rb } = clones();
    const release = releaseTagName(D, 'r-0001');
    const same = releaseTagName(D, 'r-0002');
    const base = git(a, 'rev-parse', 'origin/main');
    await ra.createAnnotatedTag(release, base, 'release r-0001 by A\n');
    await ra.createAnnotatedTag(same, base, 'release r-0002\n', { tagger: 'Rel <rel@example.com> 1700000000 +0000' });
    expect((await pushTracking(ra, 'origin', { refs: [], tags: [release, same], notes: [] })).ok).toBe(true);
    const remoteTag = git(remote, 'rev-parse', `refs/tags/${release}`);

    await rb.createAnnotatedTag(release, commit(b, 'only in b'), 'release r-0001 by B\n');
    await rb.createAnnotatedTag(same, base, 'release r-0002\n', { tagger: 'Rel <rel@example.com> 1700000000 +0000' });
    const depB = await deploy(rb, b, at('09:00'), 'bob');
    const res = await pushTracking(rb, 'origin', { ...depB.what, tags: [release, same, depB.tag] });
    expect(res.ok).toBe(false);
    expect(res.rejected).toEqual([{ ref: `refs/tags/${release}`, reason: 'already exists' }]);
    expect(res.superseded).toEqual([]);
    expect(res.pushed).toEqual(expect.arrayContaining([`refs/tags/${same}`, `refs/tags/${depB.tag}`, REF]));
    expect(res.pushed).toHaveLength(3);
    expect(git(remote, 'rev-parse', `refs/tags/${release}`)).toBe(remoteTag);
    expect(git(remote, 'rev-parse', REF)).toBe(depB.sha);
  });

  it('a tag missing locally is reported, the rest is pushed', async () => {
    const { remote, a, ra } = clones();
    const dep = await deploy(ra, a, at('08:00'), 'alice');
    const res = await pushTracking(ra, 'origin', { ...dep.what, tags: [dep.tag, releaseTagName(D, 'r-none')] });
    expect(res.ok).toBe(false);
    expect(res.rejected).toEqual([{ ref: `refs/tags/${releaseTagName(D, 'r-none')}`, reason: 'does not exist locally' }]);
    expect(git(remote, 'rev-parse', REF)).toBe(dep.sha);
  });

  it('rejects a history tag that does not record the given ref', async () => {
    const { ra } = clones();
    const tag = historyTagName(D, T, 'other', at('08:00'));
    await expect(pushTracking(ra, 'origin', { refs: [{ ref: REF, previous: null, value: 'a'.repeat(40), tag }], tags: [], notes: [] })).rejects.toThrow(/records/);
  });
});
