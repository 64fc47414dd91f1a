/**
 * Approvals (SPEC 10): Git notes on the release's commit, in
 * `refs/notes/atmos/<d>/approvals`. One note per commit holds every approval given for it,
 * appended, each as a small document:
 *
 *     atmos.tools/v1alpha1
 *     kind: Approval
 *     ---
 *     deployment: payment-service
 *     target: prod
 *     release: r-0123456789ab
 *     promoted_from: staging
 *     approved_by: alice@example.com
 *     approved_at: 2026-11-30T08:00:00.000Z
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { API_VERSION, notesRef, type GitRepo } from '../tracking/index.js';

export const APPROVAL_HEADER = `${API_VERSION}\nkind: Approval\n---\n`;

export interface Approval {
  deployment: string;
  target: string;
  release: string;
  promoted_from: string | null;
  approved_by: string;
  approved_at: string;
}

export function formatApproval(a: Approval): string {
  const body = stringifyYaml(
    { deployment: a.deployment, target: a.target, release: a.release, promoted_from: a.promoted_from ?? null, approved_by: a.approved_by, approved_at: a.approved_at },
    { lineWidth: 0, nullStr: 'null' },
  );
  return APPROVAL_HEADER + body;
}

/** Every approval in a note (documents that do not parse are skipped). */
export function parseApprovals(note: string): Approval[] {
  const out: Approval[] = [];
  const chunks = note.replace(/\r\n/g, '\n').split(/^atmos\.tools\/v1alpha1\nkind: Approval\n---\n/m);
  for (const chunk of chunks.slice(1)) {
    try {
      const d = parseYaml(chunk) as Record<string, unknown> | null;
      if (!d || typeof d !== 'object') continue;
      const s = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
      const [deployment, target, release, approvedBy, approvedAt] = [s('deployment'), s('target'), s('release'), s('approved_by'), s('approved_at')];
      if (!deployment || !target || !release || !approvedBy || !approvedAt) continue;
      out.push({ deployment, target, release, promoted_from: s('promoted_from') ?? null, approved_by: approvedBy, approved_at: approvedAt });
    } catch {
      // a hand-edited note: ignore the broken document, keep the others
    }
  }
  return out;
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
