import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const GIT_ENV: NodeJS.ProcessEnv = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function tmp(prefix = 'atmos-track-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** Synchronous git with argv (test setup only). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function commit(cwd: string, msg: string): string {
  git(cwd, 'commit', '-q', '--allow-empty', '-m', msg);
  return git(cwd, 'rev-parse', 'HEAD');
}

/** A fresh non-bare repo with one commit on `main`. */
export function initRepo(): string {
  const d = tmp();
  git(d, 'init', '-q', '-b', 'main');
  commit(d, 'initial');
  return d;
}

/** A bare remote seeded from a repo with one commit, plus two clones of it. */
export function remoteWithClones(): { remote: string; a: string; b: string } {
  const seed = initRepo();
  const remote = path.join(tmp(), 'remote.git');
  git(seed, 'init', '-q', '--bare', remote);
  git(seed, 'push', '-q', remote, 'main:refs/heads/main');
  const a = path.join(tmp(), 'a');
  const b = path.join(tmp(), 'b');
  git(seed, 'clone', '-q', remote, a);
  git(seed, 'clone', '-q', remote, b);
  return { remote, a, b };
}
