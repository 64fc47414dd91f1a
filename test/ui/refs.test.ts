/**
 * The dashboard's reads of Git (src/ui/refs.ts) give what the read commands' reads give, in a
 * real repository: the grid's refs (names first, then only the records it shows) make
 * statusFromRefs and LazyHistory answer as on every ref — with failed, unparseable and long
 * runs of failed newest records — in a bounded number of git processes; the approvals of
 * several deployments read in one process equal `readNotes`' per deployment.
 */
import { describe, expect, it } from 'vitest';
import { countingRunner, deploymentRef, formatDeploymentRecord, GitRepo, historyTagName, LazyHistory, notesRef, statusFromRefs, type DeploymentStatus } from '../../src/tracking/index.js';
import { readNotesOf, readShownRefs } from '../../src/ui/refs.js';
import { commit, initRepo } from '../tracking/gitfixture.js';

const DEPS = ['shop', 'blog'];
const prefixes = DEPS.flatMap((d) => [`refs/atmos/deployments/${d}/`, `refs/tags/atmos/deployments/${d}/`]);

async function seed(dir: string): Promise<string[]> {
  const git = new GitRepo(dir);
  const shas = [commit(dir, 'a'), commit(dir, 'b'), commit(dir, 'c')];
  let ms = Date.parse('2026-01-01T00:00:00.000Z');
  // Per component, oldest first: the statuses of its history.
  const histories: Record<string, (DeploymentStatus | 'garbage')[]> = {
    'dev/app': ['success', 'success', 'failed'],
    'dev/db': ['success', 'garbage'],
    'staging/app': ['success', 'failed', 'failed', 'failed', 'failed', 'failed', 'failed'],
    'staging/db': ['failed'],
    'prod/app': ['rollback', 'success'],
  };
  for (const d of DEPS) {
    for (const [key, statuses] of Object.entries(histories)) {
      const [target, component] = key.split('/');
      for (const [i, status] of statuses.entries()) {
        const timestamp = new Date((ms += 1000)).toISOString();
        const sha = shas[i % shas.length];
        const name = historyTagName(d, target, component, timestamp);
        const message =
          status === 'garbage'
            ? 'not a record\n'
            : formatDeploymentRecord({
                deployment: d,
                target,
                component,
                release: `r-${i}`,
                git_sha: sha,
                images: {},
                deployed_by: 'alice',
                timestamp,
                status,
                promoted_from: null,
                approved_by: [],
                rollback_of: null,
                annotations: {},
              });
        await git.createAnnotatedTag(name, sha, message);
        if (status === 'success' || status === 'rollback') await git.run(['update-ref', deploymentRef(d, target, component), sha]);
      }
    }
  }
  // The newest of one component is a lightweight tag (not a record): looked past, as LazyHistory does.
  await git.run(['tag', historyTagName('shop', 'prod', 'app', new Date((ms += 1000)).toISOString()), shas[0]]);
  return shas;
}

describe('the dashboard reads of Git', () => {
  it('answer status and what each target runs as on every ref, in a bounded number of git processes', async () => {
    const dir = initRepo();
    await seed(dir);
    const counter = countingRunner();
    const shown = await readShownRefs(new GitRepo(dir, { runner: counter }), prefixes);
    // names, then at most 4 rounds + 1 last batch.
    expect(counter.calls.map((c) => c[0])).toEqual(['for-each-ref', ...Array(counter.calls.length - 1).fill('cat-file')]);
    expect(counter.calls.length).toBeLessThanOrEqual(6);
    const all = await new GitRepo(dir).readRefs(prefixes);
    expect(shown.length).toBeLessThan(all.length);
    for (const d of DEPS) {
      const invalidAll: { tag: string }[] = [];
      const invalidShown: { tag: string }[] = [];
      expect(statusFromRefs(shown, d, undefined, invalidShown)).toEqual(statusFromRefs(all, d, undefined, invalidAll));
      expect(invalidShown).toEqual(invalidAll.filter((i) => invalidShown.some((s) => s.tag === i.tag)));
      const targets = ['dev', 'staging', 'prod'];
      const cur = (refs: typeof all) => [...new LazyHistory(refs, d).currentByTarget(targets)].map(([t, e]) => [t, e.tag]);
      expect(cur(shown)).toEqual(cur(all));
    }
  });

  it('read the approvals of several deployments in one process, as readNotes does per deployment', async () => {
    const dir = initRepo();
    const shas = await seed(dir);
    const git = new GitRepo(dir);
    await git.addNote(notesRef('shop', 'approvals'), shas[0], 'shop approval\n');
    await git.addNote(notesRef('blog', 'approvals'), shas[1], 'blog approval\n');
    const counter = countingRunner();
    const got = await readNotesOf(new GitRepo(dir, { runner: counter }), 'approvals', [
      { deployment: 'shop', commit: shas[0] },
      { deployment: 'shop', commit: shas[1] },
      { deployment: 'blog', commit: shas[1] },
      { deployment: 'blog', commit: 'not-a-sha' },
    ]);
    expect(counter.calls.length).toBe(1);
    expect(got).toEqual(
      new Map([
        [`shop\0${shas[0]}`, (await git.readNotes(notesRef('shop', 'approvals'), [shas[0]])).get(shas[0])],
        [`blog\0${shas[1]}`, (await git.readNotes(notesRef('blog', 'approvals'), [shas[1]])).get(shas[1])],
      ]),
    );
  });
});
