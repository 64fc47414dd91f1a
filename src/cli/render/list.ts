/**
 * Cells of the `list` tables (src/cli/commands/list*.ts): components, ages and statuses.
 */
import type { Colors } from '../../render/index.js';
import { formatAge } from '../../tracking/history.js';

/** `3 (api, worker, db)`; more than three names: the first three and `…`. */
export function componentsCell(addresses: string[]): string {
  const names = addresses.map((a) => a.slice(a.indexOf('/') + 1));
  if (names.length === 0) return '0';
  return `${names.length} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''})`;
}

/** A recorded status, coloured; `none` when nothing is recorded. */
export function statusCell(c: Colors, s: string | null, none: string): string {
  return s === 'success' ? c.green(s) : s === 'failed' ? c.red(s) : s === 'rollback' ? c.yellow(s) : none;
}

/** `2h ago (prod)`, or `-` when never deployed. */
export function ageCell(ts: string | null, now: number, target?: string): string {
  if (!ts) return '-';
  return `${formatAge(ts, now)} ago${target ? ` (${target})` : ''}`;
}
