/**
 * Content-addressable store (SPEC 4.1): `<cache>/cas/sha256/<hex>` holds file blobs; a
 * directory is a manifest of sorted (path, mode, digest) entries, stored as a blob whose
 * digest names the tree. Writes are atomic (temp file + rename); blobs are never modified in
 * place, and inputs are materialised as copies, so no step can corrupt the store.
 *
 * The store is never trusted blindly (a disk, a restore or a person can change a file under
 * it): every object is hashed while it is materialised, and a tree's manifest is checked
 * against the tree's digest; an object that does not match its name is evicted and reported
 * ({@link CorruptObjectError}), so nothing ever reads it again. {@link Cas.complete} (the
 * action cache's check) compares sizes, which catches a truncated or replaced blob cheaply.
 * Blobs this process put from a source file (or from bytes it holds) can be put again from
 * there ({@link Cas.restore}).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, constants, existsSync, linkSync, mkdirSync, openSync, readFileSync,
  readSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync,
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

/** sha256 and size of a file; with `copyTo`, the bytes are written there as they are read (one pass). */
function hashFile(file: string, copyTo?: string): { digest: string; size: number } {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  let out: number | undefined;
  try {
    if (copyTo !== undefined) out = openSync(copyTo, 'w', 0o644);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (out !== undefined) for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
      size += n;
    }
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/**
 * A CAS object did not match its name (or was missing) when it was about to be used. A
 * corrupt object has already been evicted when this is thrown.
 */
export class CorruptObjectError extends Error {
  constructor(
    /** The object's name (its digest). */
    readonly digest: string,
    /** What was found: `sha256:…` of the bytes, `<n> bytes instead of <m>` (size check), or `missing`. */
    readonly got: string,
  ) {
    super(got === 'missing' ? `cache: object ${digest} is missing` : `cache: object ${digest} was corrupt (expected ${digest}, got ${got}); evicted`);
  }
}

/** Where a blob put by this process came from: a file, or bytes kept in memory; `from` names it for people ('' for generated bytes). */
interface Origin {
  file?: string;
  bytes?: Buffer;
  from: string;
}

export class Cas {
  readonly root: string;
  /** Sources of what this process put (not step outputs: their workspaces are gone), for {@link restore}. */
  private readonly origins = new Map<string, Origin>();
  /** Objects evicted by {@link complete} since the last {@link drainEvictions}. */
  private evicted: CorruptObjectError[] = [];
  constructor(cacheDir: string) {
    this.root = path.join(cacheDir, 'cas', 'sha256');
  }

  pathOf(digest: string): string {
    return path.join(this.root, hexOf(digest));
  }

  has(digest: string): boolean {
    return existsSync(this.pathOf(digest));
  }

  /** Store bytes; `from` may say what they are (else: generated), should they have to be put again ({@link restore}). */
  putBytes(data: string | Buffer, from = ''): string {
    return this.putBytesAs(data, from);
  }

  private putBytesAs(data: string | Buffer, from: string | undefined): string {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    const digest = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
    const dest = this.pathOf(digest);
    if (!existsSync(dest)) writeFileAtomic(dest, buf, 0o444);
    if (from !== undefined) this.origins.set(digest, { bytes: buf, from });
    return digest;
  }

  /** Store a file (copied: the original may change afterwards). */
  putFile(file: string): { digest: string; size: number } {
    return this.putFileAs(file, true);
  }

  private putFileAs(file: string, remember: boolean): { digest: string; size: number } {
    const { digest, size } = hashFile(file);
    if (remember) this.origins.set(digest, { file, from: file });
    const dest = this.pathOf(digest);
    if (!existsSync(dest)) {
      mkdirSync(this.root, { recursive: true });
      const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      copyFileSync(file, tmp, constants.COPYFILE_FICLONE);
      // Verify what was copied (the source could have changed while we hashed it).
      const check = hashFile(tmp);
      if (check.digest !== digest) {
        rmSync(tmp, { force: true });
        return this.putFileAs(file, remember);
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
    return this.putDirAs(dir, opts, true);
  }

  private putDirAs(dir: string, opts: WalkOptions, remember: boolean): string {
    if (opts.within !== undefined && !isWithin(realPath(opts.within), realPath(dir))) {
      throw new DiagnosticError(error('paths/outside-repository', `${dir} is outside the repository ${opts.within}`, undefined, 'keep module and source directories inside the repository'));
    }
    const { entries: found, bad } = walkTree(dir, opts);
    if (bad) throw new DiagnosticError(symlinkProblem(opts.within!, 'a tree entry', bad, { file: displayPath(opts.within!, bad.abs), line: 1, col: 1 }));
    const entries: TreeEntry[] = found.map((f) => {
      if (f.type !== 'file') return { path: f.rel, type: f.type, mode: f.type === 'dir' ? 0o755 : 0o777, ...(f.target !== undefined ? { target: f.target } : {}) };
      const { digest, size } = this.putFileAs(f.abs, remember);
      return { path: f.rel, type: 'file', mode: statSync(f.abs).mode & 0o111 ? 0o755 : 0o644, digest, size };
    });
    entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
    const manifest: TreeManifest = { kind: 'atmos-pipe/tree@1', entries };
    return this.putBytesAs(JSON.stringify(manifest), remember ? dir : undefined);
  }

  /** Store a path (file or directory) as an artifact: a step's output (its source is not kept for {@link restore}). */
  put(p: string): Artifact {
    const st = statSync(p);
    return st.isDirectory() ? { kind: 'dir', digest: this.putDirAs(p, {}, false) } : { kind: 'file', digest: this.putFileAs(p, false).digest };
  }

  manifest(digest: string): TreeManifest {
    const m = JSON.parse(this.readBytes(digest).toString('utf8')) as TreeManifest;
    if (m.kind !== 'atmos-pipe/tree@1') throw new Error(`${digest} is not a tree manifest`);
    return m;
  }

  /** The manifest of a tree, checked against the tree's digest (evicted and thrown when it does not match). */
  verifiedManifest(digest: string): TreeManifest {
    let bytes: Buffer;
    try {
      bytes = this.readBytes(digest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorruptObjectError(digest, 'missing');
      throw e;
    }
    const got = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (got !== digest) throw this.evict(digest, got);
    return this.manifest(digest); // intact, but maybe not a manifest: an error, and the blob stays
  }

  /** Remove a blob that does not match its name; the error says what was found. */
  private evict(digest: string, got: string): CorruptObjectError {
    rmSync(this.pathOf(digest), { force: true });
    return new CorruptObjectError(digest, got);
  }

  /** Hash a blob (copying it to `copyTo` on the way): a mismatch evicts it and throws, as does a missing blob. */
  private hashVerified(digest: string, copyTo?: string): void {
    let got: string;
    try {
      got = hashFile(this.pathOf(digest), copyTo).digest;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !existsSync(this.pathOf(digest))) throw new CorruptObjectError(digest, 'missing');
      throw e;
    }
    if (got !== digest) {
      if (copyTo !== undefined) rmSync(copyTo, { force: true });
      throw this.evict(digest, got);
    }
  }

  /**
   * The path of a blob, after checking its bytes against its name (evicted and thrown when
   * they differ): for readers that use blobs in place, e.g. image assembly.
   */
  verifiedPath(digest: string): string {
    this.hashVerified(digest);
    return this.pathOf(digest);
  }

  /**
   * Materialise an artifact at `dest` as fresh copies (never links into the store), so
   * that whatever a step does to its inputs cannot reach the CAS. Every byte is verified on
   * the way (a tree's manifest against the tree's digest, each file against its digest in the
   * manifest): a mismatch evicts the object and throws {@link CorruptObjectError}, as does a
   * missing object; `dest` is then incomplete.
   */
  materialize(a: Artifact, dest: string): void {
    if (a.kind === 'file') {
      mkdirSync(path.dirname(dest), { recursive: true });
      this.hashVerified(a.digest, dest);
      chmodSync(dest, 0o644);
      return;
    }
    const manifest = this.verifiedManifest(a.digest);
    mkdirSync(dest, { recursive: true });
    for (const e of manifest.entries) {
      const target = path.join(dest, ...e.path.split('/'));
      if (!target.startsWith(dest + path.sep)) throw new Error(`tree entry escapes its root: ${e.path}`);
      if (e.type === 'dir') mkdirSync(target, { recursive: true });
      else if (e.type === 'symlink') {
        mkdirSync(path.dirname(target), { recursive: true });
        symlinkSync(e.target!, target);
      } else {
        mkdirSync(path.dirname(target), { recursive: true });
        this.hashVerified(e.digest!, target);
        chmodSync(target, e.mode);
      }
    }
  }

  /**
   * Every blob an artifact names is present with the right size: `size` is the size of the
   * artifact's own blob (a file, or a tree's manifest) when known; a tree's manifest is checked
   * against the tree's digest and each file blob against the size the manifest records. A
   * blob found corrupt is evicted ({@link drainEvictions} reports it); a missing one is not.
   * Cheap (stat calls and one small hash); the full hash of every byte happens in
   * {@link materialize}.
   */
  complete(a: Artifact, size?: number): boolean {
    const sizeOk = (digest: string, expected: number | undefined): boolean => {
      let actual: number;
      try {
        actual = statSync(this.pathOf(digest)).size;
      } catch {
        return false;
      }
      if (expected === undefined || actual === expected) return true;
      this.evicted.push(this.evict(digest, `${actual} bytes instead of ${expected}`));
      return false;
    };
    if (!sizeOk(a.digest, size)) return false;
    if (a.kind === 'file') return true;
    let manifest: TreeManifest;
    try {
      manifest = this.verifiedManifest(a.digest);
    } catch (e) {
      if (e instanceof CorruptObjectError && e.got !== 'missing') this.evicted.push(e);
      return false; // corrupt, missing, or not a manifest: not usable
    }
    return manifest.entries.every((e) => e.type !== 'file' || sizeOk(e.digest!, e.size));
  }

  /** Objects {@link complete} evicted since the last call. */
  drainEvictions(): CorruptObjectError[] {
    const out = this.evicted;
    this.evicted = [];
    return out;
  }

  /**
   * Put an object again from where this process first put it (a source file that still has
   * the same content, or bytes it kept). Returns what it was put from (a path, or '' for
   * generated bytes), or undefined when it cannot be (a step's output, or a source that
   * changed or went away since).
   */
  restore(digest: string): string | undefined {
    const o = this.origins.get(digest);
    if (!o) return undefined;
    rmSync(this.pathOf(digest), { force: true });
    if (o.bytes) return this.putBytesAs(o.bytes, o.from) === digest ? o.from : undefined;
    try {
      return this.putFileAs(o.file!, true).digest === digest ? o.from : undefined;
    } catch {
      return undefined; // the source is gone
    }
  }

  /** Re-hash a blob: true when its content still matches its name. */
  verify(digest: string): boolean {
    return hashFile(this.pathOf(digest)).digest === digest;
  }
}
