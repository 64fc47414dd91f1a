/**
 * The merges of the stacks layer: Atmos's exact semantics (`{ atmos: true }`, see merge.ts),
 * with Atmos's type error turned into a located diagnostic.
 */
import { fail, formatLocation } from '../diagnostics/index.js';
import { describeType, locOf } from '../yaml/index.js';
import { MergeTypeError, mergeAll, mergeMapsAll, mergeMapsShared, type ListMergeStrategy, type MergeOptions } from './merge.js';

const ATMOS: MergeOptions = { atmos: true };

function located<T>(fn: () => T, prefix?: string): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof MergeTypeError)) throw e;
    const where = [...(prefix ? [prefix] : []), ...e.path].join('.');
    const listAt = e.baseContainer ? locOf(e.baseContainer, e.key) : undefined;
    fail(
      'stacks/merge-type',
      `cannot override the list ${where} with ${describeType(e.over)}`,
      locOf(e.container, e.key) ?? locOf(e.container),
      `${listAt ? `the list was set at ${formatLocation(listAt)}; ` : ''}Atmos refuses this too ("cannot override two slices with different type"): write a list (e.g. [] for none)`,
    );
  }
}

export function atmosMergeAll(values: unknown[], strategy: ListMergeStrategy, prefix?: string): unknown {
  return located(() => mergeAll(values, strategy, ATMOS), prefix);
}

export function atmosMergeMaps(values: unknown[], strategy: ListMergeStrategy, prefix?: string): Record<string, unknown> {
  return located(() => mergeMapsAll(values, strategy, ATMOS), prefix);
}

/** Shares the input when only one non-empty map is given (results are immutable). */
export function atmosMergeShared(values: unknown[], strategy: ListMergeStrategy, prefix?: string): Record<string, unknown> {
  return located(() => mergeMapsShared(values, strategy, ATMOS), prefix);
}
