/**
 * The commit a release names: HEAD of the repository's Git work tree, read before anything
 * is recorded (`release`, `approve`, `rollout`).
 */
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import { damagedRepository, GitError, type GitRepo, type Head } from './git.js';

/** Reads HEAD, or undefined outside a Git work tree (a damaged repository is an error). */
export async function headOf(git: GitRepo): Promise<Head | undefined> {
  try {
    return await git.head();
  } catch (e) {
    if (e instanceof GitError) {
      const damaged = damagedRepository(e, git.dir);
      if (damaged) throw damaged;
      return undefined;
    }
    throw e;
  }
}

/** HEAD of the repository's Git work tree; exit 2 outside one. */
export async function requireHead(git: GitRepo, what: string): Promise<Head> {
  const head = await headOf(git);
  if (!head) {
    throw new DiagnosticError(
      error('tracking/no-git', `${what} needs Git, but ${git.dir} is not in a Git work tree (or has no commit)`, undefined, 'git init && git add -A && git commit -m "initial"'),
    );
  }
  return head;
}

/** Warns when tracked files under the repository differ from HEAD. */
export async function dirtyTreeWarning(git: GitRepo, head: Head): Promise<Diagnostic | undefined> {
  const dirty = (await git.run(['status', '--porcelain', '--untracked-files=no', '--', '.'])).text.trim();
  if (!dirty) return undefined;
  return warning(
    'tracking/dirty-tree',
    `the working tree has uncommitted changes; the release records commit ${head.sha.slice(0, 12)}, which does not contain them`,
    undefined,
    'commit first so that what runs is what Git says runs',
  );
}
