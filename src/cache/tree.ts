/**
 * The `atmos-pipe/tree@1` format: a directory as the sorted list of its entries (path, type,
 * normalised mode, and a file's content digest and size or a link's target), serialised as
 * JSON; the sha256 of those bytes is the tree's digest. Step inputs and outputs, vendored
 * trees and the digests a release pins are all this one function of a directory, so a tree
 * built here and checked elsewhere cannot disagree about what it names.
 */
import { statSync } from 'node:fs';
import { displayPath } from '../config/files.js';
import { isWithin, realPath, symlinkProblem, walkTree, type WalkOptions } from '../config/paths.js';
import { DiagnosticError, error } from '../diagnostics/index.js';

const TREE_KIND = 'atmos-pipe/tree@1';

export interface TreeEntry {
  /** POSIX path relative to the tree root. */
  path: string;
  /** 'file' | 'symlink' | 'dir' (empty directories are kept). */
  type: 'file' | 'symlink' | 'dir';
  /** Normalised mode: 0o755 for executables, 0o644 otherwise (files); 0o755 for dirs; 0o777 for links. */
  mode: number;
  /** File: blob digest. Symlink: the link target. */
  digest?: string;
  target?: string;
  size?: number;
}

export interface TreeManifest {
  kind: typeof TREE_KIND;
  entries: TreeEntry[];
}

/**
 * The manifest of a directory, with `hashFile` naming each regular file's content (the CAS
 * stores the file as it hashes it). Symlinks are entries of their own, except with
 * `opts.within` (a repository root): then a link is followed and its target's content is
 * listed, and a link that leaves `within`, loops or dangles is refused with an exit-2 error
 * naming it; `opts.files` restricts the tree to those paths. The whole tree is walked and
 * checked before `hashFile` sees the first file.
 */
export function treeManifest(dir: string, opts: WalkOptions, hashFile: (abs: string) => { digest: string; size: number }): TreeManifest {
  if (opts.within !== undefined && !isWithin(realPath(opts.within), realPath(dir))) {
    throw new DiagnosticError(error('paths/outside-repository', `${dir} is outside the repository ${opts.within}`, undefined, 'keep module and source directories inside the repository'));
  }
  const { entries: found, bad } = walkTree(dir, opts);
  if (bad) throw new DiagnosticError(symlinkProblem(opts.within!, 'a tree entry', bad, { file: displayPath(opts.within!, bad.abs), line: 1, col: 1 }));
  const entries: TreeEntry[] = found.map((f) => {
    if (f.type !== 'file') return { path: f.rel, type: f.type, mode: f.type === 'dir' ? 0o755 : 0o777, ...(f.target !== undefined ? { target: f.target } : {}) };
    const { digest, size } = hashFile(f.abs);
    return { path: f.rel, type: 'file', mode: statSync(f.abs).mode & 0o111 ? 0o755 : 0o644, digest, size };
  });
  entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return { kind: TREE_KIND, entries };
}

/** The bytes a manifest is stored as (their digest names the tree). */
export function manifestBytes(manifest: TreeManifest): string {
  return JSON.stringify(manifest);
}

/** A manifest read back from its bytes; throws when they are not one. */
export function parseManifest(bytes: Buffer, digest: string): TreeManifest {
  const m = JSON.parse(bytes.toString('utf8')) as TreeManifest;
  if (m.kind !== TREE_KIND) throw new Error(`${digest} is not a tree manifest`);
  return m;
}
