/**
 * The vendor store (SPEC 7):
 *
 *   <cacheDir>/cache/vendor/objects/sha256/<hex>/                 immutable trees (read-only files)
 *   <cacheDir>/cache/vendor/deployments/<d>/<t>/<module>/         hard links into an object (copies as fallback)
 *   <cacheDir>/cache/vendor/deployments/<d>/<t>/.vendor-lock.yaml what was pulled: source, version, digest, pulled_at
 *   <cacheDir>/cache/vendor/git/<key>.git                         bare mirrors of Git sources
 *   <cacheDir>/cache/vendor/tmp/                                  fetches and extractions in progress
 *
 * An object's name is the digest of its tree, computed by the step CAS (`Cas.putDir`, whose
 * manifest only src/cache/tree.ts builds: sorted (path, type, mode, content digest)), so the
 * same files always have the same digest and the CAS keeps the manifest of every locked
 * digest, which says what a modified copy changed. Objects appear by an atomic rename of a finished temp dir and are
 * never modified by atmos-pipe afterwards; since a linked copy shares their inodes, an edit
 * of either changes both, so every use verifies the tree against the lock ({@link checkTree}).
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  constants,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import path from 'node:path';
import { Cas, writeFileAtomic } from '../cache/cas.js';
import { digestHex, isDigest } from '../cache/digest.js';
import { dumpPlain, loadPlain } from '../yaml/plain.js';

export interface VendorPaths {
  /** `<cacheDir>/cache`: the step CAS below it computes and remembers tree digests. */
  cache: string;
  root: string;
  objects: string;
  deployments: string;
  git: string;
  tmp: string;
}

export function vendorPaths(cacheDir: string): VendorPaths {
  const root = path.join(cacheDir, 'cache', 'vendor');
  return {
    cache: path.join(cacheDir, 'cache'),
    root,
    objects: path.join(root, 'objects', 'sha256'),
    deployments: path.join(root, 'deployments'),
    git: path.join(root, 'git'),
    tmp: path.join(root, 'tmp'),
  };
}

export function objectDir(paths: VendorPaths, digest: string): string {
  return path.join(paths.objects, digestHex(digest));
}

function targetDir(paths: VendorPaths, deployment: string, target: string): string {
  return path.join(paths.deployments, deployment, target);
}

export function linkDir(paths: VendorPaths, deployment: string, target: string, module: string): string {
  return path.join(targetDir(paths, deployment, target), ...module.split('/'));
}

export function lockPath(paths: VendorPaths, deployment: string, target: string): string {
  return path.join(targetDir(paths, deployment, target), '.vendor-lock.yaml');
}

/** A fresh, unique directory under the store's tmp dir. */
export function tempDir(paths: VendorPaths, prefix: string): string {
  mkdirSync(paths.tmp, { recursive: true });
  const dir = path.join(paths.tmp, `${prefix}-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir);
  return dir;
}

// ---- Lock file.

export interface LockEntry {
  /** The source fetched (templates filled, ref added). */
  source: string;
  version: string | null;
  digest: string;
  pulled_at: string;
  /** Git: the commit the ref resolved to. */
  commit?: string;
  /** Which level the entry came from, and where it is declared. */
  origin?: string;
  included_paths?: string[];
  excluded_paths?: string[];
}

export interface LockFile {
  deployment: string;
  target: string;
  components: Record<string, LockEntry>;
}

export function readLock(paths: VendorPaths, deployment: string, target: string): LockFile {
  const empty: LockFile = { deployment, target, components: {} };
  const file = lockPath(paths, deployment, target);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return empty;
  }
  try {
    const doc = loadPlain(text) as Partial<LockFile> | null;
    if (!doc || typeof doc !== 'object' || typeof doc.components !== 'object' || doc.components === null) return empty;
    const components: Record<string, LockEntry> = {};
    for (const [k, v] of Object.entries(doc.components)) {
      if (v && typeof v === 'object' && typeof v.source === 'string' && typeof v.digest === 'string' && isDigest(v.digest)) {
        components[k] = { ...v, version: v.version === undefined || v.version === null ? null : String(v.version), pulled_at: String(v.pulled_at ?? '') };
      }
    }
    return { deployment, target, components };
  } catch {
    // A damaged lock is a lock that pins nothing: the next pull rewrites it.
    return empty;
  }
}

export function writeLock(paths: VendorPaths, lock: LockFile): void {
  const sorted = Object.fromEntries(Object.entries(lock.components).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const header = '# Written by `atmos-pipe vendor pull`: what was vendored for this deployment and target.\n# Delete it (or pull with --update) to fetch again.\n';
  writeFileAtomic(lockPath(paths, lock.deployment, lock.target), header + dumpPlain({ deployment: lock.deployment, target: lock.target, components: sorted }));
}

// ---- Trees.

/** The digest of a directory tree (symlinks kept as links), through the step CAS. */
export function treeDigest(paths: VendorPaths, dir: string): string {
  return new Cas(paths.cache).putDir(dir);
}

/** How a tree differs from what a digest names, by POSIX path relative to the tree. */
export interface TreeDiff {
  /** Present in both, with other content, mode, type or link target. */
  modified: string[];
  /** Named by the digest, not in the tree. */
  missing: string[];
  /** In the tree, not named by the digest. */
  extra: string[];
}

export interface TreeCheck {
  /** The digest the tree has now (null: the directory does not exist). */
  actual: string | null;
  /** What differs; undefined when the manifest of the expected digest is not known any more. */
  diff?: TreeDiff;
}

/** The manifest a digest names, when the CAS holds it intact. */
function knownManifest(cas: Cas, digest: string): Map<string, string> | undefined {
  if (!cas.has(digest) || !cas.verify(digest)) return undefined;
  return new Map(cas.manifest(digest).entries.map((e) => [e.path, JSON.stringify([e.type, e.mode, e.digest ?? null, e.target ?? null])]));
}

/**
 * Verify a tree against the digest the lock records: undefined when it matches, else its
 * actual digest and (when the expected manifest is known: the CAS keeps it from the pull, or
 * from `objectDir` when that is intact) the files modified, missing and extra.
 */
export function checkTree(paths: VendorPaths, dir: string, digest: string, objectDirIntact?: string): TreeCheck | undefined {
  if (!existsSync(dir)) return { actual: null };
  const cas = new Cas(paths.cache);
  const actual = cas.putDir(dir);
  if (actual === digest) return undefined;
  let expected = knownManifest(cas, digest);
  if (!expected && objectDirIntact && existsSync(objectDirIntact) && cas.putDir(objectDirIntact) === digest) expected = knownManifest(cas, digest);
  const now = knownManifest(cas, actual);
  if (!expected || !now) return { actual };
  const diff: TreeDiff = { modified: [], missing: [], extra: [] };
  for (const [p, e] of expected) {
    const n = now.get(p);
    if (n === undefined) diff.missing.push(p);
    else if (n !== e) diff.modified.push(p);
  }
  for (const p of now.keys()) if (!expected.has(p)) diff.extra.push(p);
  return { actual, diff };
}

/** One line: `main.tf modified, old.tf missing, x.tf extra` (at most `max` names). */
export function describeDiff(check: TreeCheck, max = 8): string {
  if (check.actual === null) return 'the directory is missing';
  if (!check.diff) return `its content has digest ${check.actual.slice(0, 19)}… (which files changed is not known: the manifest of the locked digest is gone)`;
  const all = [...check.diff.modified.map((p) => `${p} modified`), ...check.diff.missing.map((p) => `${p} missing`), ...check.diff.extra.map((p) => `${p} extra`)];
  return all.length > max ? `${all.slice(0, max).join(', ')} and ${all.length - max} more` : all.join(', ') || 'file modes changed';
}

/** Make every file read-only (executables keep their x bits). */
function freeze(dir: string): void {
  for (const n of readdirSync(dir)) {
    const a = path.join(dir, n);
    const st = lstatSync(a);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) freeze(a);
    else chmodSync(a, st.mode & 0o111 ? 0o555 : 0o444);
  }
}

/**
 * Publish a finished tree as an object: its digest names it; the temp dir is renamed into
 * place (or discarded when the object exists already). Returns the digest.
 */
export function commitObject(paths: VendorPaths, tree: string): { digest: string; created: boolean } {
  const digest = treeDigest(paths, tree);
  const dest = objectDir(paths, digest);
  if (existsSync(dest) && !checkTree(paths, dest, digest)) {
    rmSync(tree, { recursive: true, force: true });
    touch(dest);
    return { digest, created: false };
  }
  // Absent, or present but modified since: the fresh tree takes its place.
  if (existsSync(dest)) removeTree(dest);
  freeze(tree);
  mkdirSync(paths.objects, { recursive: true });
  try {
    renameSync(tree, dest);
    return { digest, created: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    // Another pull published the same tree first.
    rmSync(tree, { recursive: true, force: true });
    return { digest, created: false };
  }
}

/** Mark an object (or mirror) as used now: `--prune --older-than` keeps what was used recently. */
export function touch(p: string): void {
  try {
    const now = new Date();
    utimesSync(p, now, now);
  } catch {
    // pruned concurrently; the next pull recreates it
  }
}

/**
 * Link an object into `dest` (hard links; copies when the file system refuses them),
 * replacing what was there. The new tree is built next to `dest` and renamed into place.
 */
export function linkObject(paths: VendorPaths, digest: string, dest: string): { linked: number; copied: number } {
  const src = objectDir(paths, digest);
  const parent = path.dirname(dest);
  mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${path.basename(dest)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  let linked = 0;
  let copied = 0;
  const walk = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const n of readdirSync(from)) {
      const a = path.join(from, n);
      const b = path.join(to, n);
      const st = lstatSync(a);
      if (st.isSymbolicLink()) symlinkSync(readlinkSync(a), b);
      else if (st.isDirectory()) walk(a, b);
      else if (st.isFile()) {
        try {
          linkSync(a, b);
          linked++;
        } catch {
          copyFileSync(a, b, constants.COPYFILE_FICLONE);
          chmodSync(b, st.mode & 0o777);
          copied++;
        }
      }
    }
  };
  const old = `${tmp}.old`;
  try {
    walk(src, tmp);
    try {
      renameSync(dest, old);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // nothing linked yet (or another pull moved it)
    }
    try {
      renameSync(tmp, dest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A concurrent pull linked it first: theirs stays.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
  touch(src);
  return { linked, copied };
}

// ---- Stats, cleaning and pruning.

export interface Reference {
  deployment: string;
  target: string;
  module: string;
  digest: string;
  dir: string;
}

/** Every (deployment, target, module) → digest the lock files record. */
function listReferences(paths: VendorPaths): Reference[] {
  const out: Reference[] = [];
  if (!existsSync(paths.deployments)) return out;
  for (const d of readdirSync(paths.deployments).sort()) {
    const dd = path.join(paths.deployments, d);
    if (!statSync(dd).isDirectory()) continue;
    for (const t of readdirSync(dd).sort()) {
      if (!existsSync(lockPath(paths, d, t))) continue;
      const lock = readLock(paths, d, t);
      for (const [module, e] of Object.entries(lock.components)) out.push({ deployment: d, target: t, module, digest: e.digest, dir: linkDir(paths, d, t, module) });
    }
  }
  return out;
}

function listObjects(paths: VendorPaths): string[] {
  if (!existsSync(paths.objects)) return [];
  return readdirSync(paths.objects)
    .filter((n) => /^[0-9a-f]{64}$/.test(n))
    .sort()
    .map((n) => `sha256:${n}`);
}

/** Bytes of regular files below a directory, and the inode → size of each. */
function sizeOf(dir: string): { bytes: number; files: Map<string, number> } {
  let bytes = 0;
  const files = new Map<string, number>();
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const a = path.join(d, n);
      const st = lstatSync(a);
      if (st.isDirectory()) walk(a, rel ? `${rel}/${n}` : n);
      else if (st.isFile()) {
        bytes += st.size;
        files.set(rel ? `${rel}/${n}` : n, st.ino);
      }
    }
  };
  walk(dir, '');
  return { bytes, files };
}

export interface CacheStats {
  /** The store's root directory. */
  root: string;
  /** Bytes held by objects. */
  size: number;
  objects: number;
  /** (deployment, target, module) links recorded in lock files. */
  references: number;
  /** Objects that no lock file references. */
  unreferenced: number;
  /** Bytes the references would take as separate copies. */
  logical_size: number;
  /** Bytes hard links save: logical size minus what is physically stored for them. */
  deduplication_savings: number;
  /** Links that had to be copies (the file system refused hard links). */
  copied_files: number;
  git_mirrors: number;
  git_mirror_size: number;
}

export function cacheStats(paths: VendorPaths): CacheStats {
  const objects = listObjects(paths);
  const refs = listReferences(paths);
  const sizes = new Map<string, { bytes: number; files: Map<string, number> }>();
  let size = 0;
  for (const o of objects) {
    const s = sizeOf(objectDir(paths, o));
    sizes.set(o, s);
    size += s.bytes;
  }
  let logical = 0;
  let copiedBytes = 0;
  let copiedFiles = 0;
  const referenced = new Set<string>();
  for (const r of refs) {
    const obj = sizes.get(r.digest);
    if (!obj || !existsSync(r.dir)) continue;
    referenced.add(r.digest);
    logical += obj.bytes;
    // A copy (no shared inode) saves nothing.
    const linked = sizeOf(r.dir);
    for (const [rel, ino] of linked.files) {
      if (obj.files.get(rel) !== ino) {
        copiedFiles++;
        try {
          copiedBytes += statSync(path.join(r.dir, ...rel.split('/'))).size;
        } catch {
          // removed since it was listed: it counts as neither linked nor copied
        }
      }
    }
  }
  const referencedBytes = [...referenced].reduce((n, d) => n + (sizes.get(d)?.bytes ?? 0), 0);
  let mirrors = 0;
  let mirrorSize = 0;
  if (existsSync(paths.git)) {
    for (const n of readdirSync(paths.git)) {
      if (!n.endsWith('.git')) continue;
      mirrors++;
      mirrorSize += sizeOf(path.join(paths.git, n)).bytes;
    }
  }
  return {
    root: paths.root,
    size,
    objects: objects.length,
    references: refs.filter((r) => sizes.has(r.digest) && existsSync(r.dir)).length,
    unreferenced: objects.filter((o) => !refs.some((r) => r.digest === o)).length,
    logical_size: logical,
    deduplication_savings: Math.max(0, logical - referencedBytes - copiedBytes),
    copied_files: copiedFiles,
    git_mirrors: mirrors,
    git_mirror_size: mirrorSize,
  };
}

/** Remove a tree even when its files are read-only. */
export function removeTree(p: string): void {
  rmSync(p, { recursive: true, force: true, maxRetries: 2 });
}

export interface CleanResult {
  /** `<deployment>/<target>` whose links and lock were removed. */
  removed_targets: string[];
  /** Objects removed by --prune. */
  pruned_objects: string[];
  pruned_mirrors: number;
  freed_bytes: number;
}

/**
 * Remove links and locks (all, one deployment, or one target), then with `prune` remove
 * the objects no lock references and Git mirrors, unused for `olderThanMs`.
 */
/** Removes `dir` when it was last modified before `cutoff` (ms): the bytes freed, else undefined (newer, or gone). */
/** Removes `dir` when last modified before `cutoff` (only measures it with `dryRun`): its bytes, or undefined when kept. */
function removeIfOlder(dir: string, cutoff: number, dryRun: boolean): number | undefined {
  let mtime: number;
  try {
    mtime = statSync(dir).mtimeMs;
  } catch {
    return undefined; // removed by another clean meanwhile
  }
  if (mtime > cutoff) return undefined;
  const bytes = sizeOf(dir).bytes;
  if (!dryRun) removeTree(dir);
  return bytes;
}

/** Removes what the options name and reports it; with `dryRun`, only reports what it would remove. */
export function clean(paths: VendorPaths, opts: { deployment?: string; target?: string; removeLinks: boolean; prune: boolean; olderThanMs: number; now?: number; dryRun?: boolean }): CleanResult {
  const dry = opts.dryRun ?? false;
  const out: CleanResult = { removed_targets: [], pruned_objects: [], pruned_mirrors: 0, freed_bytes: 0 };
  const now = opts.now ?? Date.now();
  if (opts.removeLinks && existsSync(paths.deployments)) {
    const deps = opts.deployment ? [opts.deployment] : readdirSync(paths.deployments).sort();
    for (const d of deps) {
      const dd = path.join(paths.deployments, d);
      if (!existsSync(dd)) continue;
      const targets = opts.target ? [opts.target] : readdirSync(dd).sort();
      for (const t of targets) {
        const td = path.join(dd, t);
        if (!existsSync(td)) continue;
        if (!dry) removeTree(td);
        out.removed_targets.push(`${d}/${t}`);
      }
      if (!dry && existsSync(dd) && readdirSync(dd).length === 0) removeTree(dd);
    }
  }
  if (opts.prune) {
    const referenced = new Set(listReferences(paths).map((r) => r.digest));
    for (const o of listObjects(paths)) {
      if (referenced.has(o)) continue;
      const freed = removeIfOlder(objectDir(paths, o), now - opts.olderThanMs, dry);
      if (freed === undefined) continue;
      out.freed_bytes += freed;
      out.pruned_objects.push(o);
    }
    if (existsSync(paths.git)) {
      for (const n of readdirSync(paths.git)) {
        const freed = removeIfOlder(path.join(paths.git, n), now - opts.olderThanMs, dry);
        if (freed === undefined) continue;
        out.freed_bytes += freed;
        out.pruned_mirrors++;
      }
    }
    // Leftovers of killed pulls.
    if (!dry && existsSync(paths.tmp)) {
      for (const n of readdirSync(paths.tmp)) {
        const p = path.join(paths.tmp, n);
        try {
          if (now - statSync(p).mtimeMs > 3600_000) removeTree(p);
        } catch {
          // removed by a concurrent clean or pull: nothing left to prune
        }
      }
    }
  }
  return out;
}
