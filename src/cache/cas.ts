/**
 * Content-addressable store (SPEC 4.1): `<cache>/cas/sha256/<hex>` holds file blobs; a
 * directory is a manifest of sorted (path, mode, digest) entries, stored as a blob whose
 * digest names the tree. Writes are atomic (temp file + rename); blobs are never modified in
 * place, and inputs are materialised as copies, so no step can corrupt the store.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, constants, existsSync, linkSync, mkdirSync, openSync, readFileSync,
  readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { displayPath } from '../config/files.js';
import { isWithin, realPath, symlinkProblem, walkTree, type WalkOptions } from '../config/paths.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import type { Artifact } from '../steps/types.js';

export interface TreeEntry {
  /** POSIX path relative to the tree root. */
  path: string;
  /** 'file' | 'symlink' | 'dir' (empty directories are kept). */
  type: 'file' | 'symlink' | 'dir';
  /** Normalised mode: 0o755 for executables, 0o644 otherwise (files); 0o755 for dirs. */
  mode: number;
  /** File: blob digest. Symlink: the link target. */
  digest?: string;
  target?: string;
  size?: number;
}

export interface TreeManifest {
  kind: 'atmos-pipe/tree@1';
  entries: TreeEntry[];
}

const HEX = /^sha256:([0-9a-f]{64})$/;

export function hexOf(digest: string): string {
  const m = HEX.exec(digest);
  if (!m) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

/** A system error of a write (which Node reports without a path, e.g. ENOSPC) names the file. */
function named(e: unknown, file: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && !err.path) err.path = file;
  return e;
}

/** Write a file atomically: temp file in the same directory, then rename. */
export function writeFileAtomic(file: string, data: string | Buffer, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, mode !== undefined ? { mode } : undefined);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw named(e, file);
  }
}

/**
 * Create `file` with `data` only if it does not exist, atomically: the content is written to
 * a temp file first and hard-linked into place (link fails if the name exists), so nobody
 * ever sees the file empty or half written. Returns false when it already existed.
 */
export function createExclusive(file: string, data: string | Buffer, mode = 0o644): boolean {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, data, { mode });
  } catch (e) {
    rmSync(tmp, { force: true });
    throw named(e, file);
  }
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function hashFile(file: string): { digest: string; size: number } {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

export class Cas {
  readonly root: string;
  constructor(cacheDir: string) {
    this.root = path.join(cacheDir, 'cas', 'sha256');
  }

  pathOf(digest: string): string {
    return path.join(this.root, hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.pathOf(digest));
  }

  putBytes(data: string | Buffer): string {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    const dest = this.pathOf(digest);
    if (!existsSync(dest)) writeFileAtomic(dest, buf, 0o444);
    return digest;
  }

  /** Store a file (copied: the original may change afterwards). */
  putFile(file: string): { digest: string; size: number } {
    const { digest, size } = hashFile(file);
    const dest = this.pathOf(digest);
    if (!existsSync(dest)) {
      mkdirSync(this.root, { recursive: true });
      const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      copyFileSync(file, tmp, constants.COPYFILE_FICLONE);
      // Verify what was copied (the source could have changed while we hashed it).
      const check = hashFile(tmp);
      if (check.digest !== digest) {
        rmSync(tmp, { force: true });
        return this.putFile(file);
      }
      chmodSync(tmp, 0o444);
      renameSync(tmp, dest);
    }
    return { digest, size };
  }

  readBytes(digest: string): Buffer {
    return readFileSync(this.pathOf(digest));
  }

  /**
   * Store a directory tree; returns the digest of its manifest.
   *
   * Symlinks are stored as links, except with `within` (a repository root): then a link is
   * followed and its target's CONTENT is stored (so a changed target changes the digest), and
   * a link whose real target leaves `within` (or loops) is refused with an exit-2 error naming
   * it. With `files` only those paths (relative to `dir`; directories are walked) are stored,
   * missing ones skipped. Nothing enters the store until the whole tree has been checked.
   */
  putDir(dir: string, opts: WalkOptions = {}): string {
    if (opts.within !== undefined && !isWithin(realPath(opts.within), realPath(dir))) {
      throw new DiagnosticError(error('paths/outside-repository', `${dir} is outside the repository ${opts.within}`, undefined, 'keep module and source directories inside the repository'));
    }
    const { entries: found, bad } = walkTree(dir, opts);
    if (bad) throw new DiagnosticError(symlinkProblem(opts.within!, 'a tree entry', bad, { file: displayPath(opts.within!, bad.abs), line: 1, col: 1 }));
    const entries: TreeEntry[] = found.map((f) => {
      if (f.type !== 'file') return { path: f.rel, type: f.type, mode: f.type === 'dir' ? 0o755 : 0o777, ...(f.target !== undefined ? { target: f.target } : {}) };
      const { digest, size } = this.putFile(f.abs);
      return { path: f.rel, type: 'file', mode: statSync(f.abs).mode & 0o111 ? 0o755 : 0o644, digest, size };
    });
    entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    const manifest: TreeManifest = { kind: 'atmos-pipe/tree@1', entries };
    return this.putBytes(JSON.stringify(manifest));
  }

  /** Store a path (file or directory) as an artifact. */
  put(p: string): Artifact {
    const st = statSync(p);
    return st.isDirectory() ? { kind: 'dir', digest: this.putDir(p) } : { kind: 'file', digest: this.putFile(p).digest };
  }

  manifest(digest: string): TreeManifest {
    const m = JSON.parse(this.readBytes(digest).toString('utf8')) as TreeManifest;
    if (m.kind !== 'atmos-pipe/tree@1') throw new Error(`${digest} is not a tree manifest`);
    return m;
  }

  /**
   * Materialise an artifact at `dest` as fresh copies (never links into the store), so
   * that whatever a step does to its inputs cannot reach the CAS.
   */
  materialize(a: Artifact, dest: string): void {
    if (a.kind === 'file') {
      mkdirSync(path.dirname(dest), { recursive: true });
      copyFileSync(this.pathOf(a.digest), dest, constants.COPYFILE_FICLONE);
      chmodSync(dest, 0o644);
      return;
    }
    mkdirSync(dest, { recursive: true });
    for (const e of this.manifest(a.digest).entries) {
      const target = path.join(dest, ...e.path.split('/'));
      if (!target.startsWith(dest + path.sep)) throw new Error(`tree entry escapes its root: ${e.path}`);
      if (e.type === 'dir') mkdirSync(target, { recursive: true });
      else if (e.type === 'symlink') {
        mkdirSync(path.dirname(target), { recursive: true });
        symlinkSync(e.target!, target);
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        copyFileSync(this.pathOf(e.digest!), target, constants.COPYFILE_FICLONE);
        chmodSync(target, e.mode);
      }
    }
  }

  /** Every blob a tree references is present (and the manifest itself). */
  complete(a: Artifact): boolean {
    if (!this.has(a.digest)) return false;
    if (a.kind === 'file') return true;
    return this.manifest(a.digest).entries.every((e) => e.type !== 'file' || this.has(e.digest!));
  }

  /** Re-hash a blob: true when its content still matches its name. */
  verify(digest: string): boolean {
    return hashFile(this.pathOf(digest)).digest === digest;
  }
}
