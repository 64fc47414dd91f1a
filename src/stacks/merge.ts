/**
 * Atmos deep merge (SPEC 3.1 "Merge"): later wins; maps deep-merge; a type change
 * replaces; an explicit `null` replaces and keeps the key; lists follow the list merge
 * strategy:
 *  - `replace` (default): the later list replaces the earlier one;
 *  - `append`: earlier items then later items;
 *  - `merge`: by index; maps at the same index deep-merge, where the later element is a
 *    scalar (or list) the earlier element is kept; the result is as long as the longer list.
 *
 * With `{ atmos: true }` the merge is exactly Atmos's `pkg/merge` (`merge_native.go`),
 * which the stacks layer uses:
 *  - `merge` keeps the EARLIER list's length (later extra elements are ignored), and maps at
 *    the same index merge with `replace` for the lists inside them;
 *  - a scalar, a map or an explicit `null` over a list replaces it, as Atmos does today
 *    (tests/merge_type_override_test.go: "list overridden by scalar", "… by empty map",
 *    "… by null"; issue 13 — an older Atmos refused the scalar).
 *
 * Values are treated as immutable: a merge returns new containers only where both sides
 * are containers and shares everything else. Origins (see `src/yaml`) travel with values.
 */
import type { Location } from '../diagnostics/index.js';
import { copyEntryLoc, ensureLocs, isPlainMap, locsOf, setLocs, type ContainerLocs } from '../yaml/index.js';
import { LazyLocs } from '../yaml/lazy-locs.js';

export type ListMergeStrategy = 'replace' | 'append' | 'merge';
export const LIST_MERGE_STRATEGIES: readonly ListMergeStrategy[] = ['replace', 'append', 'merge'];

export interface MergeOptions {
  /** Merge exactly like Atmos's `pkg/merge` (see the module comment). */
  atmos?: boolean;
}

export function deepMerge(base: unknown, over: unknown, strategy: ListMergeStrategy = 'replace', options: MergeOptions = {}): unknown {
  if (over === undefined) return base;
  if (isPlainMap(base) && isPlainMap(over)) return mergeMapsN([base, over], strategy, options.atmos === true);
  if (Array.isArray(base) && Array.isArray(over)) return mergeLists(base, over, strategy, options.atmos === true);
  return over;
}

/**
 * Merge several maps at once; the same result as folding a pairwise merge left to right,
 * but each output container is built once (no intermediate copies). Per key, the values
 * fold as: map over map deep-merges, list over list follows the strategy, anything else
 * replaces. So the result of a key is the merge of its trailing run of maps (a single map
 * is shared, not copied), the fold of its trailing run of lists, or its last value.
 * Every entry takes the position of the last input that has one for it; the container
 * takes the position of the last input that has positions. Positions are worked out
 * lazily, the first time someone asks for them (see {@link MergedLocs}).
 */
function mergeMapsN(maps: Record<string, unknown>[], strategy: ListMergeStrategy, atmos: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = maps.length;
  let self: ContainerLocs | undefined;
  let runs: Map<string, Record<string, unknown>[]> | undefined;
  for (let i = 0; i < n; i++) {
    const m = maps[i];
    const l = locsOf(m);
    if (l) self = l;
    for (const k of Object.keys(m)) {
      const v = m[k];
      const had = hasOwn.call(out, k);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const run = had && runs !== undefined ? runs.get(k) : undefined;
        if (run !== undefined) run.push(v as Record<string, unknown>);
        else {
          (runs ??= new Map()).set(k, [v as Record<string, unknown>]);
          out[k] = v;
        }
        continue;
      }
      if (had) {
        runs?.delete(k);
        const prev = out[k];
        if (Array.isArray(prev) && Array.isArray(v)) {
          out[k] = mergeLists(prev, v, strategy, atmos);
          continue;
        }
      }
      out[k] = v;
    }
  }
  if (runs) {
    for (const [k, run] of runs) {
      if (run.length < 2) continue;
      out[k] = mergeMapsN(run, strategy, atmos);
    }
  }
  if (self) setLocs(out, new MergedLocs(self.self, out, maps));
  return out;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * The positions of a merged map, computed on first use: most merged values (every
 * component of every stack in `describe stacks`) are never asked where they came from,
 * and building two Maps per container is most of the cost of a merge.
 */
class MergedLocs extends LazyLocs {
  private inputs?: Record<string, unknown>[];
  constructor(
    readonly self: Location,
    private readonly out: Record<string, unknown>,
    inputs: Record<string, unknown>[],
  ) {
    super();
    this.inputs = inputs;
  }

  protected build() {
    const keys = new Map<string | number, Location>();
    const values = new Map<string | number, Location>();
    const out = this.out;
    for (const m of this.inputs ?? []) {
      const l = locsOf(m);
      if (!l) continue;
      for (const key of Object.keys(m)) {
        if (!hasOwn.call(out, key)) continue;
        const kl = l.keys.get(key);
        const vl = l.values.get(key);
        if (kl) keys.set(key, kl);
        if (vl) values.set(key, vl);
      }
    }
    this.inputs = undefined;
    return { keys, values };
  }
}

function mergeLists(base: unknown[], over: unknown[], strategy: ListMergeStrategy, atmos: boolean): unknown[] {
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
  // Atmos (mergeSlicesNative) keeps the earlier list's length; SPEC's default keeps the longer.
  const n = atmos ? base.length : Math.max(base.length, over.length);
  for (let i = 0; i < n; i++) {
    if (i >= over.length) {
      out.push(base[i]);
      if (bl) copyEntryLoc(base, i, out, i);
    } else if (i >= base.length) {
      out.push(over[i]);
      if (ol) copyEntryLoc(over, i, out, i);
    } else if (isPlainMap(base[i]) && isPlainMap(over[i])) {
      // Atmos merges the maps inside list elements with `replace` for their own lists.
      out.push(mergeMapsN([base[i] as Record<string, unknown>, over[i] as Record<string, unknown>], atmos ? 'replace' : strategy, atmos));
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
export function mergeAll(values: unknown[], strategy: ListMergeStrategy = 'replace', options: MergeOptions = {}): unknown {
  // Only the trailing run of maps matters when the result is a map (anything before a
  // non-map is replaced by it); a single map is returned as is.
  let last = -1;
  for (let i = values.length - 1; i >= 0; i--) {
    if (values[i] !== undefined) {
      last = i;
      break;
    }
  }
  if (last < 0) return undefined;
  if (isPlainMap(values[last])) {
    const run: Record<string, unknown>[] = [];
    for (let i = last; i >= 0; i--) {
      const v = values[i];
      if (v === undefined) continue;
      if (!isPlainMap(v)) break;
      run.push(v);
    }
    run.reverse();
    return run.length === 1 ? run[0] : mergeMapsN(run, strategy, options.atmos === true);
  }
  let acc: unknown;
  for (const v of values) {
    if (v === undefined) continue;
    acc = acc === undefined ? v : deepMerge(acc, v, strategy, options);
  }
  return acc;
}

/** Merge maps; non-map inputs (null, undefined, scalars) are skipped. Always a new container. */
export function mergeMapsAll(values: unknown[], strategy: ListMergeStrategy = 'replace', options: MergeOptions = {}): Record<string, unknown> {
  const maps: Record<string, unknown>[] = [];
  for (const v of values) if (isPlainMap(v)) maps.push(v);
  return mergeMapsN(maps, strategy, options.atmos === true);
}

/**
 * Like {@link mergeMapsAll}, but returns the input itself when only one non-empty map is
 * given (and a shared frozen empty map when none is). For results treated as immutable.
 */
export function mergeMapsShared(values: unknown[], strategy: ListMergeStrategy = 'replace', options: MergeOptions = {}): Record<string, unknown> {
  const maps: Record<string, unknown>[] = [];
  for (const v of values) if (isPlainMap(v) && !isEmpty(v)) maps.push(v);
  if (maps.length === 0) return EMPTY_MAP;
  if (maps.length === 1) return maps[0];
  return mergeMapsN(maps, strategy, options.atmos === true);
}

const EMPTY_MAP: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

function isEmpty(m: Record<string, unknown>): boolean {
  for (const _k in m) return false;
  return true;
}
