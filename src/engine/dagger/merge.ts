/**
 * Writing a step's writable mount back to a host directory that steps running beside it share
 * (Terraform's local state directory holds every component's state). On Dagger a mount is a
 * copy loaded before the exec; exporting the whole copy (merge) would put back every file as it
 * was when loaded, overwriting what a parallel step wrote meanwhile. So the engine notes the
 * files before the exec and, after it, writes back only what the step changed: a three-way
 * merge on the host that needs nothing of Dagger beyond a plain export.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Relative path → digest of content (`link:` + target for a symlink), for every file below `dir`. */
export type FileDigests = Map<string, string>;

function digestOf(p: string): string | undefined {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(p);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return `link:${readlinkSync(p)}`;
  if (!st.isFile()) return undefined;
  return `${st.mode & 0o777}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
}

/** The files below `dir` (none when it does not exist). */
export function digestTree(dir: string): FileDigests {
  const out: FileDigests = new Map();
  const walk = (rel: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path.join(dir, rel));
    } catch {
      return;
    }
    for (const n of entries) {
      const r = rel ? path.join(rel, n) : n;
      const p = path.join(dir, r);
      if (lstatSync(p).isDirectory()) walk(r);
      else {
        const d = digestOf(p);
        if (d) out.set(r, d);
      }
    }
  };
  walk('');
  return out;
}

/** What the temporary name of a file being merged contains (the translation leaves such files out of every load). */
const MERGE_TEMP_MARK = '.atmos-pipe-merge-';

/** The glob of those temporary files, at any depth of a mount. */
export const MERGE_TEMP_GLOB = `**/*${MERGE_TEMP_MARK}*`;

/** Replaces `to` with the file at `from` (a new name then a rename: readers never see half a file). */
function replaceFile(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  const tmp = `${to}${MERGE_TEMP_MARK}${randomBytes(4).toString('hex')}`;
  const st = lstatSync(from);
  if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), tmp);
  else writeFileSync(tmp, readFileSync(from), { mode: st.mode & 0o777 });
  renameSync(tmp, to);
}

/**
 * Writes into `host` what the step changed: `after` is the mount as the step left it (exported
 * to a scratch directory), `before` the host files when the step started. A file the step
 * wrote or changed replaces the host's; a file it deleted goes, unless another step changed it
 * since. Files the step did not touch are left as the host has them now.
 */
export function mergeChanges(after: string, host: string, before: FileDigests): string[] {
  const changed: string[] = [];
  const now = digestTree(after);
  for (const [rel, d] of now) {
    if (before.get(rel) === d) continue;
    replaceFile(path.join(after, rel), path.join(host, rel));
    changed.push(rel);
  }
  for (const [rel, d] of before) {
    if (now.has(rel)) continue;
    if (digestOf(path.join(host, rel)) === d) {
      rmSync(path.join(host, rel), { force: true });
      changed.push(rel);
    }
  }
  return changed.sort();
}
