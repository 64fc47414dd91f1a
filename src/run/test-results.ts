/**
 * Test results in Git (SPEC 5.2, 6): the JUnit XML of a test run, as a note on the commit
 * that was tested, in `refs/notes/atmos/<d>/test-results` (the latest run per commit).
 */
import { warning, type Diagnostic } from '../diagnostics/index.js';
import { GitError, GitRepo, notesRef } from '../tracking/index.js';

export async function attachTestResults(repoRoot: string, deployment: string, xml: string, commit?: string): Promise<{ commit?: string; warnings: Diagnostic[] }> {
  const git = new GitRepo(repoRoot);
  try {
    const sha = commit ?? (await git.head()).sha;
    await git.addNote(notesRef(deployment, 'test-results'), sha, xml);
    return { commit: sha, warnings: [] };
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    return { warnings: [warning('tracking/no-git', 'not in a Git work tree (or no commit): the test results are not attached to a commit')] };
  }
}
