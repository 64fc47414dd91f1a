/**
 * The one place where outcomes become process exit codes (SPEC 4.3). The library throws
 * errors that say what kind of failure happened and returns results that say how a run
 * went; nothing outside `src/cli` knows an exit code.
 */
import { DiagnosticError, type ErrorKind } from '../diagnostics/index.js';

/** What the CLI can end with: an error kind, or success. */
export type Outcome = 'success' | 'drifted' | ErrorKind;

/**
 * SPEC 4.3: 0 success; 1 a step failed; 2 usage or configuration error; 3 refused by policy; 4 a
 * lock held by another run; and 5 (`status --check-drift` only) every component was checked
 * and at least one drifted.
 */
const EXIT_CODES: Record<Outcome, number> = {
  success: 0,
  drifted: 5,
  failed: 1,
  invalid: 2,
  refused: 3,
  locked: 4,
};

/** The exit code of an outcome. */
export function exitCode(outcome: Outcome): number {
  return EXIT_CODES[outcome];
}

/**
 * The outcome of whatever a command threw: a diagnostic error by its kind; an environment
 * failure (disk, network, Git) or a bug is `failed`.
 */
export function outcomeOfError(e: unknown): Outcome {
  return e instanceof DiagnosticError ? e.kind : 'failed';
}

/** The exit code for a thrown error (see {@link outcomeOfError}). */
export function exitCodeOf(e: unknown): number {
  return exitCode(outcomeOfError(e));
}

/** A run's steps as far as the exit code cares: did any fail, and did one fail on a lock. */
export interface RunOutcomeInput {
  status: 'success' | 'failed' | string;
  results: readonly { locked?: unknown }[];
}

/** A finished run: success, a step that failed on a lock held by another process, or a failed step. */
export function outcomeOfRun(run: RunOutcomeInput): Outcome {
  if (run.status === 'success') return 'success';
  return run.results.some((r) => r.locked) ? 'locked' : 'failed';
}
