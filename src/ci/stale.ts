/**
 * `ci generate --check`: whether a committed workflow is what the deployment generates now,
 * and if not, a short account of how they differ (the file is generated: the fix is always
 * to regenerate it, so the summary only has to say where it drifted).
 */

export interface StaleReport {
  /** The committed file is exactly the generated one. */
  current: boolean;
  /** What differs, one line each (empty when current). */
  summary: string[];
}

/** Compares the committed text (undefined: no file) with the generated text. */
export function compareGenerated(committed: string | undefined, generated: string): StaleReport {
  if (committed === generated) return { current: true, summary: [] };
  if (committed === undefined) return { current: false, summary: ['the file does not exist'] };
  const a = committed.split('\n');
  const b = generated.split('\n');
  // The lines each side has that the other lacks (as multisets): what was edited, added or removed.
  const count = (lines: string[]) => lines.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const cb = count(b);
  const only = (x: string[], other: Map<string, number>) => {
    const left = new Map(other);
    return x.filter((l) => {
      const n = left.get(l) ?? 0;
      if (n > 0) left.set(l, n - 1);
      return n === 0;
    });
  };
  const removed = only(a, cb);
  const added = only(b, ca);
  let first = 0;
  while (first < a.length && first < b.length && a[first] === b[first]) first++;
  const summary = [`${removed.length} line${removed.length === 1 ? '' : 's'} to remove, ${added.length} to add; first difference at line ${first + 1}`];
  const show = 5;
  for (const l of removed.slice(0, show)) summary.push(`- ${l}`);
  if (removed.length > show) summary.push(`  … ${removed.length - show} more removed`);
  for (const l of added.slice(0, show)) summary.push(`+ ${l}`);
  if (added.length > show) summary.push(`  … ${added.length - show} more added`);
  return { current: false, summary };
}
