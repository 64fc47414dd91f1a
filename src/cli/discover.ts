/**
 * Which repository a command runs in, found like Git finds its own: from the working
 * directory upward to the nearest directory that holds an `atmos.yaml` (or `.atmos.yaml`, or,
 * for a repository without one, the default `deployments/` directory). The search stops at
 * the top level of the Git work tree it starts in (a directory with `.git`) and at the
 * filesystem root, so a repository is never borrowed from an enclosing checkout or from `/`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** Files that make a directory an atmos-pipe repository root (src/config/atmos.ts reads the first found). */
const CONFIG_FILES = ['atmos.yaml', '.atmos.yaml'];
/** The default deployments directory: a repository may have no atmos.yaml at all. */
const DEFAULT_DEPLOYMENTS_DIR = 'deployments';

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` is a repository root by its markers. */
function isRepositoryRoot(dir: string): boolean {
  return CONFIG_FILES.some((f) => existsSync(path.join(dir, f))) || isDir(path.join(dir, DEFAULT_DEPLOYMENTS_DIR));
}

/** Where the search ended: the repository root, or the last directory looked at (a Git top level or `/`). */
export type Discovery = { root: string } | { root?: undefined; searched: string[] };

/** The repository root for a command started in `start` (see the module comment). */
export function discoverRepository(start: string): Discovery {
  const searched: string[] = [];
  let dir = path.resolve(start);
  for (;;) {
    searched.push(dir);
    if (isRepositoryRoot(dir)) return { root: dir };
    // A Git top level ends the search (`.git` is a directory, or a file in a worktree or submodule).
    if (existsSync(path.join(dir, '.git'))) return { searched };
    const parent = path.dirname(dir);
    if (parent === dir) return { searched };
    dir = parent;
  }
}
