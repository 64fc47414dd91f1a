/**
 * syncTracking takes the remote's records in without losing what this clone recorded and did
 * not push: a newer local deployment is kept, tags are never replaced, approvals from both
 * sides remain; and it fetches with one `git fetch`.
 */
import { describe, expect, it } from 'vitest';
import { countingRunner, deploymentRef, GitRepo, historyTagName, notesRef, syncTracking } from '../../src/tracking/index.js';
import { commit, git, remoteWithClones } from './gitfixture.js';

const REF = deploymentRef('svc', 'dev', 'x');
const tagAt = (at: string) => historyTagName('svc', 'dev', 'x', at);

describe('syncTracking', () => {
  it('keeps a newer unpushed local deployment, never replaces a tag, merges approvals; a newer remote deployment wins', async () => {
    const { remote, a, b } = remoteWithClones();
    const ga = new GitRepo(a);
    const gb = new GitRepo(b);
    const c0 = git(a, 'rev-parse', 'origin/main');
    // a records a deployment of c0 and an approval, and pushes them.
    await ga.createAnnotatedTag(tagAt('2026-01-01T00:00:00.000Z'), c0, 'a deployed c0');
    await ga.createAnnotatedTag('atmos/releases/svc/r-1', c0, 'release made by a');
    await ga.updateRef(REF, c0, null);
    await ga.addNote(notesRef('svc', 'approvals'), c0, '{"approved_by":"alice"}\n', { append: true });
    git(a, 'push', '-q', remote, 'refs/atmos/*:refs/atmos/*', 'refs/tags/*:refs/tags/*', 'refs/notes/*:refs/notes/*');
    // b deployed c1 later without pushing, approved c0 itself, and made r-1 differently.
    const c1 = commit(b, 'b');
    await gb.createAnnotatedTag(tagAt('2026-01-02T00:00:00.000Z'), c1, 'b deployed c1');
    await gb.createAnnotatedTag('atmos/releases/svc/r-1', c1, 'release made by b');
    await gb.updateRef(REF, c1, null);
    await gb.addNote(notesRef('svc', 'approvals'), c0, '{"approved_by":"bob"}\n', { append: true });

    const runner = countingRunner();
    const report = await syncTracking(new GitRepo(b, { runner }), remote);
    expect(runner.calls.filter((c) => c[0] === 'fetch')).toHaveLength(1);
    expect(report.keptLocal).toEqual([{ ref: REF, local: c1, remote: c0 }]);
    expect(report.refs).toEqual([]);
    expect(report.tags).toEqual([tagAt('2026-01-01T00:00:00.000Z')]);
    expect(report.tagConflicts).toEqual(['atmos/releases/svc/r-1']);
    expect(report.notes).toEqual([notesRef('svc', 'approvals')]);
    expect(git(b, 'rev-parse', REF)).toBe(c1);
    expect(git(b, 'rev-parse', 'refs/tags/atmos/releases/svc/r-1^{commit}')).toBe(c1);
    expect((await gb.readNotes(notesRef('svc', 'approvals'), [c0])).get(c0)?.split('\n').filter(Boolean).sort()).toEqual(['{"approved_by":"alice"}', '{"approved_by":"bob"}']);

    // a deploys c0 again, after b's deployment: the remote's value is now the newer one.
    await ga.createAnnotatedTag(tagAt('2026-01-03T00:00:00.000Z'), c0, 'a deployed c0 again');
    git(a, 'push', '-q', remote, 'refs/tags/*:refs/tags/*');
    const next = await syncTracking(gb, remote);
    expect(next.refs).toEqual([{ ref: REF, from: c1, to: c0 }]);
    expect(next.keptLocal).toEqual([]);
    expect(git(b, 'rev-parse', REF)).toBe(c0);
    const idle = await syncTracking(gb, remote);
    expect({ ...idle, remote: '' }).toEqual({ remote: '', shallow: false, refs: [], keptLocal: [], tags: [], tagConflicts: ['atmos/releases/svc/r-1'], notes: [] });
  });
});
