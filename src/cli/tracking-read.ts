/**
 * Glue shared by the read commands (status, history, releases, diff, promotion-status,
 * promotion-graph): open the tracking store of the repository (the remote's records fetched
 * first) and turn git failures and bad tags into diagnostics.
 */
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { damagedRepository, fetchFirst, GitError, GitRepo, staleWarning, type InvalidTag } from '../tracking/index.js';

/**
 * The tracking store of a read command, with the records of the tracking remote (`--remote`,
 * else `deployments.tracking.remote`) fetched first, once per process: a CI clone sees what
 * runs where. A remote that cannot be read is a warning; the local records are shown.
 */
export async function readTracking(repo: Repository, opts: { fetch: boolean; remote?: string }): Promise<{ git: GitRepo; warnings: Diagnostic[] }> {
  const git = new GitRepo(repo.config.repoRoot);
  const outcome = await fetchFirst(git, opts.remote ?? repo.config.trackingRemote, { fetch: opts.fetch });
  return { git, warnings: staleWarning(outcome, 'showing the local records') };
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
