/**
 * `GitRepo.recordAtomically`: many history tags and ref moves in a constant number of git
 * processes, all or nothing, and tag objects identical to the ones `createAnnotatedTag` writes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitRepo } from '../../src/tracking/git.js';
import { countingRunner } from '../../src/tracking/runner.js';
import { deploymentRef, formatDeploymentRecord, historyTagName, parseDeploymentRecord, type DeploymentRecord } from '../../src/tracking/records.js';
import { commit, git, GIT_ENV, initRepo } from './gitfixture.js';

/** A fixed committer date: two writes of the same tag are then the same bytes. */
const FIXED = { ...GIT_ENV, GIT_COMMITTER_DATE: '1767225600 +0000' };
const open = (dir: string, env: NodeJS.ProcessEnv = FIXED) => {
  const runner = countingRunner();
  return { repo: new GitRepo(dir, { runner, env }), runner };
};

const TS = '2026-03-01T10:00:00.000Z';
const record = (component: string, sha: string): DeploymentRecord => ({
  deployment: 'pay',
  target: 'dev',
  component,
  release: 'r-1',
  git_sha: sha,
  images: { api: 'registry.local/api@sha256:'.padEnd(90, 'a') },
  deployed_by: 'dev@example.com',
  timestamp: TS,
  status: 'success',
  promoted_from: null,
  approved_by: [],
  rollback_of: null,
  annotations: { ticket: 'OPS-1', note: 'two\nlines and ünïcode' },
  outputs: { url: 'http://x' },
});
const names = (n: number) => Array.from({ length: n }, (_, i) => `c${String(i).padStart(2, '0')}`);

describe('recordAtomically', () => {
  it('writes each tag object byte for byte as createAnnotatedTag does, read back identically', async () => {
    const dir = initRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    const { repo } = open(dir);
    const name = historyTagName('pay', 'dev', 'api', TS);
    const message = formatDeploymentRecord(record('api', sha));
    const batch = await repo.recordAtomically([{ name, targetSha: sha, message }], []);
    const batchSha = batch?.get(name);
    expect(batchSha).toMatch(/^[0-9a-f]{40}$/);
    expect(git(dir, 'rev-parse', `refs/tags/${name}`)).toBe(batchSha);
    const batchBytes = git(dir, 'cat-file', 'tag', batchSha as string);
    const batchRead = (await repo.readRefs('refs/tags/'))[0];
    // The same tag written singly (after removing the batch one): the same object id.
    git(dir, 'update-ref', '-d', `refs/tags/${name}`);
    const single = await repo.createAnnotatedTag(name, sha, message);
    expect(single).toEqual({ sha: batchSha, created: true });
    expect(git(dir, 'cat-file', 'tag', single.sha)).toBe(batchBytes);
    expect(git(dir, 'cat-file', '-t', single.sha)).toBe('tag');
    expect(batchBytes).toMatch(/^object [0-9a-f]{40}\ntype commit\ntag [^\n]+\ntagger Test Committer <committer@example.com> 1767225600 \+0000\n\n/);
    git(dir, 'fsck', '--strict', '--no-dangling');
    const singleRead = (await repo.readRefs('refs/tags/'))[0];
    expect(singleRead).toEqual(batchRead);
    expect(parseDeploymentRecord(singleRead.message ?? '')).toEqual(record('api', sha));
  });

  it('records 30 tags and 30 ref moves in 3 git processes; all refs land', async () => {
    const dir = initRepo();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    const c2 = commit(dir, 'two');
    const { repo, runner } = open(dir, GIT_ENV);
    const cs = names(30);
    for (const c of cs.slice(0, 10)) git(dir, 'update-ref', deploymentRef('pay', 'dev', c), c1);
    const tags = cs.map((c) => ({ name: historyTagName('pay', 'dev', c, TS), targetSha: c2, message: formatDeploymentRecord(record(c, c2)) }));
    const moves = cs.map((c, i) => ({ ref: deploymentRef('pay', 'dev', c), newSha: c2, oldSha: i < 10 ? c1 : null }));
    runner.reset();
    const shas = await repo.recordAtomically(tags, moves, 'atmos-pipe: success r-1');
    expect(runner.calls.map((a) => a[0])).toEqual(['var', 'hash-object', 'update-ref']);
    expect(shas?.size).toBe(30);
    for (const c of cs) expect(git(dir, 'rev-parse', deploymentRef('pay', 'dev', c))).toBe(c2);
    const read = await repo.readRefs('refs/tags/');
    expect(read).toHaveLength(30);
    for (const r of read) {
      expect(r.sha).toBe(shas?.get(r.ref.slice('refs/tags/'.length)));
      expect(r.target).toBe(c2);
      expect(parseDeploymentRecord(r.message ?? '').git_sha).toBe(c2);
    }
  });

  it('is all or nothing: a ref moved by another process or a taken tag name refuses the whole record', async () => {
    const dir = initRepo();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    const c2 = commit(dir, 'two');
    const c3 = commit(dir, 'three');
    const { repo } = open(dir);
    const cs = names(5);
    const tags = cs.map((c) => ({ name: historyTagName('pay', 'dev', c, TS), targetSha: c2, message: formatDeploymentRecord(record(c, c2)) }));
    const moves = cs.map((c) => ({ ref: deploymentRef('pay', 'dev', c), newSha: c2, oldSha: c1 }));
    for (const c of cs) git(dir, 'update-ref', deploymentRef('pay', 'dev', c), c1);
    const before = git(dir, 'for-each-ref', '--format=%(refname) %(objectname)');
    // Another process moved c03 after we read it.
    git(dir, 'update-ref', deploymentRef('pay', 'dev', 'c03'), c3);
    const moved = git(dir, 'for-each-ref', '--format=%(refname) %(objectname)');
    expect(moved).not.toBe(before);
    expect(await repo.recordAtomically(tags, moves)).toBeNull();
    expect(git(dir, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(moved);
    // A tag name already taken (by a different record).
    git(dir, 'update-ref', deploymentRef('pay', 'dev', 'c03'), c1);
    git(dir, 'tag', historyTagName('pay', 'dev', 'c04', TS), c1);
    const taken = git(dir, 'for-each-ref', '--format=%(refname) %(objectname)');
    expect(await repo.recordAtomically(tags, moves)).toBeNull();
    expect(git(dir, 'for-each-ref', '--format=%(refname) %(objectname)')).toBe(taken);
  });

  it('without a usable temp dir it writes nothing and returns null (the caller records one by one)', async () => {
    const dir = initRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    const { repo } = open(dir);
    const tags = [{ name: historyTagName('pay', 'dev', 'api', TS), targetSha: sha, message: 'm' }];
    mkdirSync(`${dir}/new\nline`);
    const saved = process.env.TMPDIR;
    try {
      for (const bad of [path.join(dir, 'missing', 'dir'), `${dir}/new\nline`]) {
        process.env.TMPDIR = bad;
        expect(await repo.recordAtomically(tags, [{ ref: deploymentRef('pay', 'dev', 'api'), newSha: sha, oldSha: null }])).toBeNull();
      }
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(git(dir, 'for-each-ref', '--format=%(refname)')).toBe('refs/heads/main');
  });

  it('refuses names and ids that are not refs or object ids before running git', async () => {
    const dir = initRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    const { repo, runner } = open(dir);
    await expect(repo.recordAtomically([{ name: 'bad name\ncreate refs/heads/x', targetSha: sha, message: 'm' }], [])).rejects.toThrow();
    await expect(repo.recordAtomically([], [{ ref: 'refs/heads/main', newSha: `${sha}\ndelete refs/heads/main`, oldSha: null }])).rejects.toThrow();
    expect(runner.calls).toHaveLength(0);
    expect(git(dir, 'rev-parse', 'refs/heads/main')).toBe(sha);
  });
});
