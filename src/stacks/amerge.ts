/**
 * The merges of the stacks layer: Atmos's exact semantics (`{ atmos: true }`, see merge.ts).
 */
import { mergeAll, mergeMapsAll, mergeMapsShared, type ListMergeStrategy, type MergeOptions } from './merge.js';

const ATMOS: MergeOptions = { atmos: true };

export function atmosMergeAll(values: unknown[], strategy: ListMergeStrategy): unknown {
  return mergeAll(values, strategy, ATMOS);
}

export function atmosMergeMaps(values: unknown[], strategy: ListMergeStrategy): Record<string, unknown> {
  return mergeMapsAll(values, strategy, ATMOS);
}

/** Shares the input when only one non-empty map is given (results are immutable). */
export function atmosMergeShared(values: unknown[], strategy: ListMergeStrategy): Record<string, unknown> {
  return mergeMapsShared(values, strategy, ATMOS);
}
