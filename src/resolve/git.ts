/**
 * Git facts for templates (`git.sha`, `git.short_sha`, `git.branch`), read with one git
 * process and only when a template needs them.
 */
import { execFileSync } from 'node:child_process';

export interface GitInfo {
  sha?: string;
  short_sha?: string;
  branch?: string;
}

export function gitInfo(repoRoot: string): GitInfo {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD', '--abbrev-ref', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [sha, branch] = out.trim().split('\n');
    if (!sha || !/^[0-9a-f]{40,64}$/.test(sha)) return {};
    return { sha, short_sha: sha.slice(0, 8), branch: branch && branch !== 'HEAD' ? branch : undefined };
  } catch {
    return {};
  }
}
