/**
 * Atmos deep merge (SPEC 3.1 "Merge"): later wins; maps deep-merge; a type change
 * replaces; an explicit `null` replaces and keeps the key; lists follow the list merge
 * strategy:
 *  - `replace` (default): the later list replaces the earlier one;
 *  - `append`: earlier items then later items;
 *  - `merge`: by index; maps at the same index deep-merge, where the later element is a
 *    scalar (or list) the earlier element is kept; the result is as long as the longer list.
 *
 * Values are treated as immutable: a merge returns new containers only where both sides
 * are containers and shares everything else. Origins (see `src/yaml`) travel with values.
 */
import { copyEntryLoc, ensureLocs, isPlainMap, locsOf } from '../yaml/index.js';

export type ListMergeStrategy = 'replace' | 'append' | 'merge';
export const LIST_MERGE_STRATEGIES: readonly ListMergeStrategy[] = ['replace', 'append', 'merge'];

export function deepMerge(base: unknown, over: unknown, strategy: ListMergeStrategy = 'replace'): unknown {
  if (over === undefined) return base;
  if (isPlainMap(base) && isPlainMap(over)) return mergeMaps(base, over, strategy);
  if (Array.isArray(base) && Array.isArray(over)) return mergeLists(base, over, strategy);
  return over;
}

function mergeMaps(base: Record<string, unknown>, over: Record<string, unknown>, strategy: ListMergeStrategy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const bl = locsOf(base);
  const ol = locsOf(over);
  if (bl || ol) ensureLocs(out, (ol ?? bl)!.self);
  for (const k of Object.keys(base)) {
    out[k] = base[k];
    if (bl) copyEntryLoc(base, k, out, k);
  }
  for (const k of Object.keys(over)) {
    const v = over[k];
    if (k in out && v !== null && v !== undefined) {
      const prev = out[k];
      if ((isPlainMap(prev) && isPlainMap(v)) || (Array.isArray(prev) && Array.isArray(v))) {
        out[k] = deepMerge(prev, v, strategy);
        if (ol) copyEntryLoc(over, k, out, k);
        continue;
      }
    }
    out[k] = v;
    if (ol) copyEntryLoc(over, k, out, k);
  }
  return out;
}

function mergeLists(base: unknown[], over: unknown[], strategy: ListMergeStrategy): unknown[] {
  if (strategy === 'replace') return over;
  const out: unknown[] = [];
  const bl = locsOf(base);
  const ol = locsOf(over);
  if (bl || ol) ensureLocs(out, (ol ?? bl)!.self);
  if (strategy === 'append') {
    base.forEach((v, i) => {
      out.push(v);
      if (bl) copyEntryLoc(base, i, out, i);
    });
    over.forEach((v, i) => {
      const j = out.length;
      out.push(v);
      if (ol) copyEntryLoc(over, i, out, j);
    });
    return out;
  }
  const n = Math.max(base.length, over.length);
  for (let i = 0; i < n; i++) {
    if (i >= over.length) {
      out.push(base[i]);
      if (bl) copyEntryLoc(base, i, out, i);
    } else if (i >= base.length) {
      out.push(over[i]);
      if (ol) copyEntryLoc(over, i, out, i);
    } else if (isPlainMap(base[i]) && isPlainMap(over[i])) {
      out.push(mergeMaps(base[i] as Record<string, unknown>, over[i] as Record<string, unknown>, strategy));
      if (ol) copyEntryLoc(over, i, out, i);
    } else {
      // A later scalar at the same index keeps the earlier element (Atmos `merge`).
      out.push(base[i]);
      if (bl) copyEntryLoc(base, i, out, i);
    }
  }
  return out;
}

/** Merge a sequence of values left to right (later wins). */
export function mergeAll(values: unknown[], strategy: ListMergeStrategy = 'replace'): unknown {
  let acc: unknown = undefined;
  for (const v of values) {
    if (v === undefined) continue;
    acc = acc === undefined ? v : deepMerge(acc, v, strategy);
  }
  return acc;
}

/** Merge maps; non-map inputs (null, undefined, scalars) are skipped. */
export function mergeMapsAll(values: unknown[], strategy: ListMergeStrategy = 'replace'): Record<string, unknown> {
  let acc: Record<string, unknown> = {};
  for (const v of values) if (isPlainMap(v)) acc = mergeMaps(acc, v, strategy);
  return acc;
}
