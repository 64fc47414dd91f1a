import { describe, expect, it } from 'vitest';
import { GitRepo, type FetchedState } from '../../src/tracking/git.js';
import { countingRunner } from '../../src/tracking/runner.js';
import { deploymentRef, historyTagName, notesRef } from '../../src/tracking/records.js';
import { commit, git, GIT_ENV, remoteWithClones } from './gitfixture.js';

const REF = deploymentRef('pay', 'dev', 'ecs/api');
const tagA = historyTagName('pay', 'dev', 'ecs/api', '2026-11-22T06:15:00.000Z');
const tagB = historyTagName('pay', 'dev', 'ecs/api', '2026-11-22T06:15:00.001Z');

/** Clone A deploys and pushes first; clone B deploys on top of the stale state. */
async function raced() {
  const { remote, a, b } = remoteWithClones();
  const ra = new GitRepo(a, { env: GIT_ENV });
  const runner = countingRunner();
  const rb = new GitRepo(b, { env: GIT_ENV, runner });
  const a1 = commit(a, 'a1');
  const b1 = commit(b, 'b1');
  expect(await ra.updateRef(REF, a1, null)).toEqual({ ok: true });
  await ra.createAnnotatedTag(tagA, a1, 'deployed by A\n');
  const pa = await ra.push('origin', [{ src: REF, dst: REF, expect: null }, `refs/tags/${tagA}`]);
  expect(pa.ok).toBe(true);
  expect(pa.pushed.map((s) => s.state)).toEqual(['new', 'new']);

  expect(await rb.updateRef(REF, b1, null)).toEqual({ ok: true });
  await rb.createAnnotatedTag(tagB, b1, 'deployed by B\n');
  const tagAsha = git(remote, 'rev-parse', `refs/tags/${tagA}`);
  return { remote, a, b, ra, rb, a1, b1, runner, tagAsha };
}

describe('push with reconcile', () => {
  it('a rejected push is fetched, handed to reconcile and retried; nothing on the remote is overwritten', async () => {
    const { remote, b, rb, a1, b1, runner, tagAsha } = await raced();
    const seen: FetchedState[] = [];
    const res = await rb.push('origin', [{ src: REF, dst: REF, expect: null }, `refs/tags/${tagB}`], {
      reconcile: async (state) => {
        seen.push(state);
        const remoteNow = state.remoteRefs.get(REF)!;
        // the fetched objects are local: the caller can inspect the winner's commit
        expect(git(b, 'cat-file', '-t', state.fetchedInto.get(REF)!)).toBe('commit');
        // B's deployment is the newer one: CAS on the remote against the value just fetched
        return [{ src: b1, dst: REF, expect: remoteNow }];
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].rejected).toEqual([expect.objectContaining({ dst: REF, state: 'rejected', reason: 'stale info' })]);
    expect(seen[0].remoteRefs.get(REF)).toBe(a1);
    expect(res.ok).toBe(true);
    expect(res.attempts).toBe(2);
    expect(res.rejected).toEqual([]);
    expect(res.pushed.map((s) => [s.dst, s.state])).toEqual([
      [`refs/tags/${tagB}`, 'new'],
      [REF, 'forced'],
    ]);
    // push, ls-remote, fetch, push: constant whatever the number of refs
    expect(runner.calls.map((c) => c[0]).slice(-4)).toEqual(['push', 'ls-remote', 'fetch', 'push']);
    // A's history tag is untouched, B's is added
    expect(git(remote, 'rev-parse', `refs/tags/${tagA}`)).toBe(tagAsha);
    expect(git(remote, 'rev-parse', `refs/tags/${tagB}^{commit}`)).toBe(b1);
    expect(git(remote, 'rev-parse', REF)).toBe(b1);
  });

  it('reconcile may abort: the remote keeps the other clone state, the rejection is reported', async () => {
    const { remote, rb, a1, tagAsha } = await raced();
    const res = await rb.push('origin', [{ src: REF, dst: REF, expect: null }], { reconcile: () => 'abort' });
    expect(res).toMatchObject({ ok: false, aborted: true, attempts: 1 });
    expect(res.rejected).toEqual([{ src: REF, dst: REF, flag: '!', state: 'rejected', summary: '[rejected]', reason: 'stale info' }]);
    expect(git(remote, 'rev-parse', REF)).toBe(a1);
    expect(git(remote, 'rev-parse', `refs/tags/${tagA}`)).toBe(tagAsha);
  });

  it('plain pushes are never forced: non-fast-forward refs and existing tags are rejected precisely', async () => {
    const { remote, b, rb, a1, tagAsha } = await raced();
    // B made a different tag with A's name
    await rb.createAnnotatedTag(tagA, git(b, 'rev-parse', 'HEAD'), 'a different story\n');
    const res = await rb.push('origin', [REF, `refs/tags/${tagA}`], { maxAttempts: 1 });
    expect(res.ok).toBe(false);
    expect(res.rejected.map((r) => [r.dst, r.reason])).toEqual([
      [REF, 'fetch first'],
      [`refs/tags/${tagA}`, 'already exists'],
    ]);
    expect(git(remote, 'rev-parse', REF)).toBe(a1);
    expect(git(remote, 'rev-parse', `refs/tags/${tagA}`)).toBe(tagAsha);
  });

  it('bounded retries: a remote that keeps moving ends in a reported rejection', async () => {
    const { remote, a, ra, rb } = await raced();
    let moves = 0;
    const res = await rb.push('origin', [{ src: REF, dst: REF, expect: null }], {
      maxAttempts: 3,
      reconcile: async (state) => {
        // another clone pushes again before our retry
        const next = commit(a, `a-move-${++moves}`);
        const cur = state.remoteRefs.get(REF)!;
        await ra.updateRef(REF, next, cur);
        expect((await ra.push('origin', [{ src: REF, dst: REF, expect: cur }])).ok).toBe(true);
        return [{ src: REF, dst: REF, expect: cur }];
      },
    });
    expect(res).toMatchObject({ ok: false, aborted: false, attempts: 3 });
    expect(res.history).toHaveLength(3);
    expect(res.rejected[0]).toMatchObject({ dst: REF, reason: 'stale info' });
    expect(git(remote, 'log', '-1', '--format=%s', REF)).toBe('a-move-2');
  });

  it('notes pushed by two clones are merged in reconcile, not overwritten', async () => {
    const { remote, a, b, ra, rb, a1, b1 } = await raced();
    const NOTES = notesRef('pay', 'approvals');
    await ra.addNote(NOTES, a1, 'approved by alice\n');
    expect((await ra.push('origin', [NOTES])).ok).toBe(true);
    await rb.addNote(NOTES, b1, 'approved by bob\n');
    const res = await rb.push('origin', [NOTES], {
      reconcile: async (state) => {
        const fetched = state.fetchedInto.get(NOTES)!;
        await rb.run(['notes', '--ref', NOTES, 'merge', '-s', 'cat_sort_uniq', fetched]);
        return [{ src: NOTES, dst: NOTES, expect: state.remoteRefs.get(NOTES)! }];
      },
    });
    expect(res.ok).toBe(true);
    expect(res.history[0][0]).toMatchObject({ dst: NOTES, state: 'rejected' });
    git(a, 'fetch', '-q', 'origin', `+${NOTES}:${NOTES}`);
    const notes = await ra.readNotes(NOTES, [a1, b1]);
    expect(notes.get(a1)).toBe('approved by alice\n');
    expect(notes.get(b1)).toBe('approved by bob\n');
    expect(git(remote, 'rev-parse', NOTES)).toBe(git(b, 'rev-parse', NOTES));
  });
});
