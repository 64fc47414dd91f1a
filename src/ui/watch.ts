/**
 * Live refresh without polling Git: the Git directory (`refs/` recursively, `packed-refs`,
 * the notes under `refs/notes/`) and the run records directory are watched with fs.watch;
 * a burst of changes (a rollout writes many refs and tags) is debounced into one call.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export interface Watcher {
  close(): void;
}

/**
 * Calls `onChange` (debounced by `debounceMs`) when a ref, a packed-refs file or a run record
 * changes. Directories missing at start (no run yet) are watched once they exist: any change
 * of the Git directory arms them again.
 */
export function watchRepository(gitDir: string, runsDir: string, onChange: () => void, debounceMs = 150): Watcher {
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      arm();
      onChange();
    }, debounceMs);
  };
  const add = (dir: string, recursive: boolean, relevant: (file: string) => boolean) => {
    if (watchers.has(dir) || !existsSync(dir)) return;
    try {
      const w = watch(dir, { recursive, persistent: false }, (_event, file) => {
        if (file === null || relevant(String(file))) fire();
      });
      w.on('error', () => {
        // The directory went away (e.g. the runs directory removed): watched again once it exists.
        w.close();
        watchers.delete(dir);
      });
      watchers.set(dir, w);
    } catch {
      // Not watchable (e.g. too many watches): the page still works, it just does not refresh by itself.
    }
  };
  // Git writes `<ref>.lock`, then renames it: the rename is the change.
  const notLock = (f: string) => !f.endsWith('.lock');
  const arm = () => {
    add(gitDir, false, (f) => f === 'packed-refs' || f === 'refs');
    add(path.join(gitDir, 'refs'), true, notLock);
    add(path.dirname(runsDir), false, (f) => f === path.basename(runsDir));
    add(runsDir, false, (f) => f.endsWith('.json'));
  };
  arm();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
