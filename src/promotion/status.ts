/**
 * `promotion-status d` and `promotion-graph d --show-status` (SPEC 3 `promotion`, 6): for every
 * promotion edge (from → to), the release running in the source and in the destination,
 * whether the destination is behind (a promotion is pending), whether an approval is
 * required and recorded for the pending release, and the next command to run.
 *
 * Constant number of git processes whatever the number of tags: ONE `git for-each-ref` (the
 * history tags of the deployment) and, only when a pending promotion needs an approval, the
 * approvals notes of every pending commit in one batch (`git notes list` + one
 * `git cat-file --batch`). Only the records that decide what each target runs are parsed
 * (src/tracking/history.ts).
 */
import { currentReleases, formatAge, historyTagPrefix, LazyHistory, notesRef, type GitRepo, type HistoryEntry, type InvalidTag } from '../tracking/index.js';
import { parseApprovals, type Approval } from './approvals.js';
import type { PromotionGraph } from './graph.js';

/** What a target runs, as shown by the promotion commands. */
export interface TargetState {
  release: string | null;
  commit: string;
  timestamp: string;
  deployed_by: string;
  /** Present when the release is dirty (made with --allow-dirty): it is never promoted. */
  dirty?: true;
}

export type PromotionState = 'up-to-date' | 'pending' | 'awaiting-approval' | 'nothing-to-promote' | 'dirty-source';

export interface PromotionEdgeStatus {
  from: string;
  to: string;
  requires_approval: boolean;
  /** What the source runs; null when it was never deployed. */
  source: TargetState | null;
  /** What the destination runs; null when it was never deployed. */
  destination: TargetState | null;
  /** The destination does not run what the source runs. */
  pending: boolean;
  state: PromotionState;
  approval: {
    required: boolean;
    /** An approval of the pending release for the destination is recorded (always false when nothing is pending). */
    recorded: boolean;
    approved_by: string[];
  };
  /** The exact command to run next; null when there is nothing to do. */
  next_command: string | null;
}

export interface PromotionStatus {
  deployment: string;
  edges: PromotionEdgeStatus[];
}

/** Per-target status annotation of `promotion-graph --show-status`. */
export interface TargetStatusAnnotation {
  release: string | null;
  commit: string | null;
  timestamp: string | null;
  /** `42s`, `5m`, `3h`, `2d` (src/tracking/history.ts formatAge); null when never deployed. */
  age: string | null;
  deployed_by: string | null;
}

/** What each target runs: its newest non-failed history entry. */
export type CurrentByTarget = Map<string, Pick<HistoryEntry, 'release' | 'git_sha' | 'timestamp' | 'deployed_by' | 'dirty'>>;

const stateOf = (r: Pick<HistoryEntry, 'release' | 'git_sha' | 'timestamp' | 'deployed_by' | 'dirty'> | undefined): TargetState | null =>
  r ? { release: r.release, commit: r.git_sha, timestamp: r.timestamp, deployed_by: r.deployed_by, ...(r.dirty ? { dirty: true as const } : {}) } : null;

/** Same release (by id when both have one, else by commit). */
function sameRelease(a: TargetState, b: TargetState): boolean {
  if (a.release !== null && b.release !== null) return a.release === b.release;
  return a.commit === b.commit;
}

/** The edges whose destination is behind and needs an approval: their source commits (to read the notes of). */
export function commitsNeedingApproval(graph: PromotionGraph, cur: CurrentByTarget): string[] {
  const out = new Set<string>();
  for (const e of graph.edges) {
    if (!e.requires_approval) continue;
    const src = stateOf(cur.get(e.from));
    const dst = stateOf(cur.get(e.to));
    if (src && (!dst || !sameRelease(src, dst))) out.add(src.commit);
  }
  return [...out];
}

/** The approvals in `approvals` (by commit) that approve `source` for `to` coming from `from`. */
function matchingApprovals(deployment: string, from: string, to: string, source: TargetState, approvals: Map<string, Approval[]>): Approval[] {
  return (approvals.get(source.commit) ?? []).filter(
    (a) => a.deployment === deployment && a.target === to && (source.release === null || a.release === source.release) && (a.promoted_from === null || a.promoted_from === from),
  );
}

/**
 * The pure part of readPromotionStatus, on the (newest first) history of the deployment.
 * `approvals`: parsed approvals notes by commit.
 */
export function promotionStatusFrom(graph: PromotionGraph, history: HistoryEntry[], approvals: Map<string, Approval[]> = new Map()): PromotionStatus {
  return promotionStatusOf(graph, currentReleases(history), approvals);
}

/** Promotion status out of what each target runs. */
export function promotionStatusOf(graph: PromotionGraph, cur: CurrentByTarget, approvals: Map<string, Approval[]> = new Map()): PromotionStatus {
  const d = graph.deployment;
  const edges = graph.edges.map((e): PromotionEdgeStatus => {
    const source = stateOf(cur.get(e.from));
    const destination = stateOf(cur.get(e.to));
    const pending = source !== null && (destination === null || !sameRelease(source, destination));
    const approvedBy = pending && e.requires_approval ? [...new Set(matchingApprovals(d, e.from, e.to, source!, approvals).map((a) => a.approved_by))] : [];
    const recorded = approvedBy.length > 0;
    let state: PromotionState;
    let next: string | null = null;
    if (source === null) state = 'nothing-to-promote';
    else if (!pending) state = 'up-to-date';
    else if (source.dirty) {
      // A dirty release is never promoted: commit, then roll the source out again.
      state = 'dirty-source';
      next = `atmos-pipe rollout ${d} --target ${e.from}`;
    } else if (e.requires_approval && !recorded) {
      state = 'awaiting-approval';
      // `approve` picks the promotion source itself unless the target accepts several.
      const several = (graph.targets.find((t) => t.name === e.to)?.from.length ?? 0) > 1;
      next = `atmos-pipe approve ${d} --target ${e.to}${several ? ` --promote-from ${e.from}` : ''}`;
    } else {
      state = 'pending';
      next = `atmos-pipe rollout ${d} --target ${e.to} --promote-from ${e.from}`;
    }
    return {
      from: e.from,
      to: e.to,
      requires_approval: e.requires_approval,
      source,
      destination,
      pending,
      state,
      approval: { required: e.requires_approval, recorded, approved_by: approvedBy },
      next_command: next,
    };
  });
  return { deployment: d, edges };
}

/**
 * Promotion status of a deployment — one `git for-each-ref`, plus two processes for the
 * approvals notes of all pending commits when an approval is required.
 */
export async function readPromotionStatus(repo: GitRepo, graph: PromotionGraph, invalid: InvalidTag[] = []): Promise<PromotionStatus> {
  const cur = await readCurrent(repo, graph, invalid);
  const commits = commitsNeedingApproval(graph, cur);
  const approvals = new Map<string, Approval[]>();
  if (commits.length > 0) {
    const notes = await repo.readNotes(notesRef(graph.deployment, 'approvals'), commits);
    for (const [commit, note] of notes) approvals.set(commit, parseApprovals(note));
  }
  return promotionStatusOf(graph, cur, approvals);
}

/** What every target of the graph runs — ONE `git for-each-ref`, parsing only the records needed. */
export async function readCurrent(repo: GitRepo, graph: PromotionGraph, invalid: InvalidTag[] = []): Promise<CurrentByTarget> {
  const refs = await repo.readRefs(historyTagPrefix(graph.deployment));
  return new LazyHistory(refs, graph.deployment, invalid).currentByTarget(graph.targets.map((t) => t.name));
}

/** What every target of the graph runs (release, commit, age). */
export function targetStatusFrom(graph: PromotionGraph, cur: CurrentByTarget, now = Date.now()): Record<string, TargetStatusAnnotation> {
  const out: Record<string, TargetStatusAnnotation> = {};
  for (const t of graph.targets) {
    const r = cur.get(t.name);
    out[t.name] = r
      ? { release: r.release, commit: r.git_sha, timestamp: r.timestamp, age: formatAge(r.timestamp, now), deployed_by: r.deployed_by }
      : { release: null, commit: null, timestamp: null, age: null, deployed_by: null };
  }
  return out;
}

/** Status of every target of the graph — ONE git process. */
export async function readTargetStatus(repo: GitRepo, graph: PromotionGraph, invalid: InvalidTag[] = [], now = Date.now()): Promise<Record<string, TargetStatusAnnotation>> {
  return targetStatusFrom(graph, await readCurrent(repo, graph, invalid), now);
}
