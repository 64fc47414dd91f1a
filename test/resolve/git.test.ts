/**
 * Git facts read without spawning git must equal what git itself says: loose refs,
 * packed refs, detached HEAD, and a worktree (which falls back to git).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gitInfo } from '../../src/resolve/git.js';
import { makeRepo } from '../helpers.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' }).trim();

function repoWithCommit(): string {
  const dir = makeRepo({ 'a.txt': 'a\n' });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'one');
  return dir;
}

describe('gitInfo', () => {
  it('reads a loose branch ref, from a subdirectory too', () => {
    const dir = repoWithCommit();
    const sha = git(dir, 'rev-parse', 'HEAD');
    expect(gitInfo(dir)).toEqual({ sha, short_sha: sha.slice(0, 8), branch: 'main' });
    expect(gitInfo(path.join(dir, '.'))).toEqual({ sha, short_sha: sha.slice(0, 8), branch: 'main' });
  });

  it('reads packed refs and a detached HEAD', () => {
    const dir = repoWithCommit();
    git(dir, 'pack-refs', '--all', '--prune');
    const sha = git(dir, 'rev-parse', 'HEAD');
    expect(gitInfo(dir).sha).toBe(sha);
    git(dir, 'checkout', '-q', '--detach');
    expect(gitInfo(dir)).toEqual({ sha, short_sha: sha.slice(0, 8) });
  });

  it('falls back to git for a worktree, and says nothing outside a repository', () => {
    const dir = repoWithCommit();
    const wt = path.join(dir, '..', `${path.basename(dir)}-wt`);
    git(dir, 'worktree', 'add', '-q', '-b', 'feature', wt);
    expect(gitInfo(wt)).toMatchObject({ sha: git(dir, 'rev-parse', 'HEAD'), branch: 'feature' });
    git(dir, 'worktree', 'remove', '--force', wt);
    expect(gitInfo(makeRepo({ x: '' }))).toEqual({});
  });
});
