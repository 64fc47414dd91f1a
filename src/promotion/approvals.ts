/**
 * Approvals (SPEC 10): Git notes on the release's commit, in
 * `refs/notes/atmos/<d>/approvals`. One note per commit holds every approval given for it,
 * one JSON object per line:
 *
 *     {"apiVersion":"atmos.tools/v1alpha1","kind":"Approval","deployment":"payment-service","target":"prod","release":"r-0123456789ab","promoted_from":"staging","approved_by":"alice@example.com","approved_at":"2026-11-30T08:00:00.000Z"}
 *
 * One line per approval is what lets notes written by two clones be merged line by line
 * (`git notes merge -s cat_sort_uniq`) without ever corrupting one another.
 */
import { API_VERSION, notesRef, type GitRepo } from '../tracking/index.js';

export interface Approval {
  deployment: string;
  target: string;
  release: string;
  promoted_from: string | null;
  approved_by: string;
  approved_at: string;
  /**
   * `approve --component`: the Terraform components (names) it approves; a rollout that
   * applies others needs another approval for them. Absent: the whole release.
   */
  components?: string[];
}

/** Whether the approvals together approve applying `applied` (component names): a whole approval, or their components cover them. */
export function coveredBy(approvals: Approval[], applied: string[]): boolean {
  if (approvals.some((a) => !a.components)) return true;
  const covered = new Set(approvals.flatMap((a) => a.components ?? []));
  return applied.every((c) => covered.has(c));
}

export function formatApproval(a: Approval): string {
  return `${JSON.stringify({
    apiVersion: API_VERSION,
    kind: 'Approval',
    deployment: a.deployment,
    target: a.target,
    release: a.release,
    promoted_from: a.promoted_from ?? null,
    approved_by: a.approved_by,
    approved_at: a.approved_at,
    ...(a.components ? { components: a.components } : {}),
  })}\n`;
}

/** Every approval in a note (lines that are not approvals are skipped), oldest first. */
export function parseApprovals(note: string): Approval[] {
  const out: Approval[] = [];
  for (const line of note.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(t) as Record<string, unknown>;
    } catch {
      continue; // a hand-edited line: ignore it, keep the others
    }
    if (d?.kind !== 'Approval') continue;
    const s = (k: string) => (typeof d[k] === 'string' && d[k] !== '' ? (d[k] as string) : undefined);
    const [deployment, target, release, approvedBy, approvedAt] = [s('deployment'), s('target'), s('release'), s('approved_by'), s('approved_at')];
    if (!deployment || !target || !release || !approvedBy || !approvedAt) continue;
    // An approval limited to components is never widened by an edit: a `components` that is
    // not a non-empty list of names makes the line approve nothing (it is skipped).
    const components = d.components === undefined || d.components === null ? undefined : d.components;
    if (components !== undefined && (!Array.isArray(components) || components.length === 0 || components.some((c) => typeof c !== 'string' || c === ''))) continue;
    out.push({
      deployment,
      target,
      release,
      promoted_from: s('promoted_from') ?? null,
      approved_by: approvedBy,
      approved_at: approvedAt,
      ...(components ? { components: components as string[] } : {}),
    });
  }
  return out.sort((a, b) => (a.approved_at < b.approved_at ? -1 : a.approved_at > b.approved_at ? 1 : 0));
}

/** Approvals recorded on `commit` for `target` and `release` — two git processes. */
export async function readApprovals(repo: GitRepo, deployment: string, commit: string, filter: { target?: string; release?: string } = {}): Promise<Approval[]> {
  const notes = await repo.readNotes(notesRef(deployment, 'approvals'), [commit]);
  const note = notes.get(commit);
  if (!note) return [];
  return parseApprovals(note).filter(
    (a) => a.deployment === deployment && (filter.target === undefined || a.target === filter.target) && (filter.release === undefined || a.release === filter.release),
  );
}

/** Appends an approval to the commit's note (the notes ref moves by compare-and-swap). */
export async function recordApproval(repo: GitRepo, commit: string, a: Approval): Promise<void> {
  await repo.addNote(notesRef(a.deployment, 'approvals'), commit, formatApproval(a), { append: true });
}
