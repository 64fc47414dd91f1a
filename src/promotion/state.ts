/**
 * What each target of a deployment currently runs, derived from its history (SPEC 6): the
 * newest entry that did not fail, per target. Every function here is pure: it works on
 * history read with one `git for-each-ref` (src/release/read.ts).
 */
import type { HistoryEntry } from '../release/read.js';

export interface TargetRelease {
  target: string;
  /** Release id of the newest successful (or rollback) deployment; null when unknown. */
  release: string | null;
  git_sha: string;
  timestamp: string;
  deployed_by: string;
  /** A dirty release (made with --allow-dirty): never promoted. */
  dirty?: boolean;
  /** The history entry that decided it. */
  entry: HistoryEntry;
}

const ok = (e: HistoryEntry) => e.status !== 'failed';

/**
 * The current release of every target: the newest non-failed history entry of the target
 * (history is newest first, as returned by readHistory / historyFromRefs).
 */
export function currentReleases(history: HistoryEntry[]): Map<string, TargetRelease> {
  const out = new Map<string, TargetRelease>();
  for (const e of history) {
    if (!ok(e) || out.has(e.target)) continue;
    out.set(e.target, { target: e.target, release: e.release, git_sha: e.git_sha, timestamp: e.timestamp, deployed_by: e.deployed_by, ...(e.dirty ? { dirty: true } : {}), entry: e });
  }
  return out;
}

/** Whether `release` was ever deployed successfully (or rolled back to) in `target`. */
export function everDeployed(history: HistoryEntry[], target: string, release: string): boolean {
  return history.some((e) => e.target === target && e.release === release && ok(e));
}

/** The newest non-failed entry for one component of one target, if any. */
export function currentOfComponent(history: HistoryEntry[], target: string, component: string): HistoryEntry | undefined {
  return history.find((e) => e.target === target && e.component === component && ok(e));
}
