/**
 * Git facts for templates (`git.sha`, `git.short_sha`, `git.branch`), read only when a
 * template needs them. The common layouts (HEAD, loose refs, packed-refs) are read
 * directly, which costs microseconds; anything unusual (worktrees, reftable, a HEAD we do
 * not understand) asks `git` itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface GitInfo {
  sha?: string;
  short_sha?: string;
  branch?: string;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function findGitDir(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, '.git');
    const st = statSync(candidate, { throwIfNoEntry: false });
    if (st) return st.isDirectory() ? candidate : undefined; // a .git file (worktree): ask git
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readDirect(repoRoot: string): GitInfo | undefined {
  const gitDir = findGitDir(repoRoot);
  if (!gitDir) return undefined;
  const head = readFileSync(path.join(gitDir, 'HEAD'), 'utf8').trim();
  const info = (sha: string, branch?: string): GitInfo => ({ sha, short_sha: sha.slice(0, 8), ...(branch ? { branch } : {}) });
  if (SHA.test(head)) return info(head);
  const m = /^ref: (refs\/.+)$/.exec(head);
  if (!m) return undefined;
  const ref = m[1];
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  try {
    const sha = readFileSync(path.join(gitDir, ref), 'utf8').trim();
    if (SHA.test(sha)) return info(sha, branch);
  } catch {
    // not a loose ref: look in packed-refs
  }
  try {
    for (const line of readFileSync(path.join(gitDir, 'packed-refs'), 'utf8').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && SHA.test(sha)) return info(sha, branch);
    }
  } catch {
    // no packed-refs
  }
  return undefined; // unborn branch or a layout we do not read: ask git
}

export function gitInfo(repoRoot: string): GitInfo {
  try {
    const direct = readDirect(repoRoot);
    if (direct) return direct;
  } catch {
    // fall through to git
  }
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [sha, branch] = out.trim().split('\n');
    if (!sha || !SHA.test(sha)) return {};
    return { sha, short_sha: sha.slice(0, 8), branch: branch && branch !== 'HEAD' ? branch : undefined };
  } catch {
    return {};
  }
}
