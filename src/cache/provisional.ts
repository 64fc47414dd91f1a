/**
 * Cache entries written on the way to a command's real work (a repository module transformed
 * for import), taken back when the command ends refusing its input: a command that exits 2
 * writes nothing (SPEC 3), not even a cache the next run would have reused. The entries are
 * pure caches, so removing them is always safe; an entry another process wrote first is not
 * recorded and stays.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Paths this process created, in creation order. */
const created: string[] = [];

/**
 * Record that `target` is about to be created: the highest of its missing ancestors (up to
 * and including `target`) is what must go if the command is refused.
 */
export function willCreate(target: string): void {
  let top: string | undefined;
  for (let p = path.resolve(target); !existsSync(p); p = path.dirname(p)) {
    top = p;
    if (path.dirname(p) === p) break;
  }
  if (top) created.push(top);
}

/** Remove what {@link willCreate} recorded, newest first (a directory only when nothing else came into it). */
export function discardCreated(): void {
  for (const p of created.reverse()) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      // Best effort: a cache left behind is still only a cache.
    }
  }
  created.length = 0;
}
