/**
 * Glue shared by the read commands (status, history, releases): open the tracking store of
 * the repository and turn git failures and bad tags into diagnostics.
 */
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import { damagedRepository, GitError, GitRepo, type InvalidTag } from '../tracking/index.js';

export function trackingRepo(repoRoot: string): GitRepo {
  return new GitRepo(repoRoot);
}

/** Runs a git read; a failing git (e.g. not a repository) becomes an exit-2 diagnostic. */
export async function gitRead<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof GitError) {
      const damaged = e.cwd ? damagedRepository(e, e.cwd) : undefined;
      if (damaged) throw damaged; // exit 1: the machine, not the command line
      throw new DiagnosticError(
        error(
          'tracking/git',
          `reading deployment tracking from Git failed: ${e.stderr.trim() || e.message}`,
          undefined,
          'run inside a Git repository (deployment state lives in refs/atmos/ and tags)',
        ),
      );
    }
    throw e;
  }
}

export function invalidTagWarnings(invalid: InvalidTag[]): Diagnostic[] {
  return invalid.map((i) => warning('tracking/invalid-tag', `ignoring tag ${i.tag}: ${i.error}`));
}

/** A valid ISO-8601 instant for --since/--until, or an exit-2 diagnostic. */
export function checkInstant(flag: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(Date.parse(v))) {
    throw new DiagnosticError(error('args/timestamp', `${flag} "${v}" is not an ISO-8601 date or time`, undefined, 'e.g. 2026-11-22 or 2026-11-22T06:15:00Z'));
  }
  return v;
}
