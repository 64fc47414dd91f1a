/**
 * Safe extraction of tar archives (gzipped or not) and safe copies of local directories
 * into a directory of the store. Rejected, before anything is written for the entry:
 * absolute paths, `..` segments, paths through a symbolic link, symbolic links whose
 * target leaves the tree (absolute, or climbing above the root), hard links to anything
 * but a file extracted earlier, devices and FIFOs. A rejected archive aborts the whole
 * extraction; the caller removes the partial directory, which lies inside the store.
 */
import { createGunzip } from 'node:zlib';
import { closeSync, constants, copyFileSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import picomatch from 'picomatch';
import { extract as tarExtract, type Header } from 'tar-stream';

export class UnsafeArchiveError extends Error {
  constructor(
    readonly entry: string,
    readonly reason: string,
  ) {
    super(`unsafe entry "${entry}": ${reason}`);
    this.name = 'UnsafeArchiveError';
  }
}

export interface ExtractLimits {
  maxEntries: number;
  maxBytes: number;
}

const DEFAULT_LIMITS: ExtractLimits = { maxEntries: 100_000, maxBytes: 4 * 1024 ** 3 };

/** A normalised relative POSIX path, or an UnsafeArchiveError. */
function safeRelative(name: string, what = name): string {
  if (name.includes('\0')) throw new UnsafeArchiveError(what, 'contains a NUL character');
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) throw new UnsafeArchiveError(what, 'absolute path');
  const parts = n.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new UnsafeArchiveError(what, '".." in the path');
  return parts.join('/');
}

/** Does a symbolic link at `rel` pointing at `target` stay inside the tree? */
function linkStaysInside(rel: string, target: string): boolean {
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.includes('\0')) return false;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(rel), target.replace(/\\/g, '/')));
  return joined !== '..' && !joined.startsWith('../') && !path.posix.isAbsolute(joined);
}

/** Refuse to write through a symbolic link: every existing parent must be a real directory. */
function checkParents(root: string, rel: string, what: string): void {
  const parts = rel.split('/');
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = path.join(cur, parts[i]);
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch {
      return; // does not exist yet: mkdir creates real directories
    }
    if (st.isSymbolicLink()) throw new UnsafeArchiveError(what, `its path goes through the symbolic link "${parts.slice(0, i + 1).join('/')}"`);
    if (!st.isDirectory()) throw new UnsafeArchiveError(what, `"${parts.slice(0, i + 1).join('/')}" is not a directory`);
  }
}

/** Remove whatever non-directory is at `abs` (a later archive entry replaces an earlier one). */
function clearSlot(abs: string, what: string): void {
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (st.isDirectory()) throw new UnsafeArchiveError(what, 'a directory of the same name exists');
  unlinkSync(abs);
}

/** `//subdir` selection: the entry's path below it, or undefined when outside it. */
function below(rel: string, subdir: string): string | undefined {
  if (!subdir) return rel;
  if (rel === subdir) return '';
  return rel.startsWith(`${subdir}/`) ? rel.slice(subdir.length + 1) : undefined;
}

/**
 * Extract a tar stream into `dest` (created, must be empty), keeping only the entries below
 * `subdir` (re-rooted). `gzip`: the stream is gzip-compressed.
 */
export async function extractTar(input: Readable, dest: string, opts: { subdir?: string; gzip?: boolean; limits?: Partial<ExtractLimits> } = {}): Promise<{ entries: number; bytes: number }> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const subdir = opts.subdir ?? '';
  mkdirSync(dest, { recursive: true });
  const ex = tarExtract();
  const source = opts.gzip ? input.pipe(createGunzip()) : input;
  let failure: Error | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    ex.destroy(e);
  };
  input.on('error', fail);
  if (source !== input) source.on('error', fail);
  source.pipe(ex as unknown as NodeJS.WritableStream);
  let entries = 0;
  let bytes = 0;
  const extracted = new Set<string>();
  try {
    for await (const entry of ex) {
      const h: Header = entry.header;
      entries++;
      if (entries > limits.maxEntries) throw new UnsafeArchiveError(h.name, `more than ${limits.maxEntries} entries`);
      // Every entry is checked, whether or not it is extracted.
      const rel = safeRelative(h.name);
      const type = h.type;
      if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory' && type !== 'symlink' && type !== 'link') {
        throw new UnsafeArchiveError(h.name, `${type ?? 'unknown'} entries are not allowed`);
      }
      if (type === 'symlink' && !linkStaysInside(rel, h.linkname ?? '')) throw new UnsafeArchiveError(h.name, `symbolic link to "${h.linkname}" leaves the tree`);
      let linkRel: string | undefined;
      if (type === 'link') {
        linkRel = safeRelative(h.linkname ?? '', `${h.name} → ${h.linkname}`);
        if (!extracted.has(linkRel)) throw new UnsafeArchiveError(h.name, `hard link to "${h.linkname}", which is not a file extracted before it`);
      }
      const out = rel === '' ? undefined : below(rel, subdir);
      if (out === undefined || out === '') {
        entry.resume();
        continue;
      }
      const abs = path.join(dest, ...out.split('/'));
      checkParents(dest, out, h.name);
      if (type === 'directory') {
        clearSlotIfNotDir(abs, h.name);
        mkdirSync(abs, { recursive: true });
        entry.resume();
        continue;
      }
      mkdirSync(path.dirname(abs), { recursive: true });
      clearSlot(abs, h.name);
      if (type === 'symlink') {
        symlinkSync(h.linkname, abs);
        entry.resume();
        continue;
      }
      if (type === 'link') {
        const from = below(linkRel!, subdir);
        entry.resume();
        if (from === undefined || from === '') throw new UnsafeArchiveError(h.name, `hard link to "${h.linkname}" outside the extracted directory`);
        copyFileSync(path.join(dest, ...from.split('/')), abs, constants.COPYFILE_EXCL);
        extracted.add(rel);
        continue;
      }
      // Regular file: created exclusively (never through an existing link), 0644 or 0755.
      const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), (h.mode ?? 0o644) & 0o111 ? 0o755 : 0o644);
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > limits.maxBytes) throw new UnsafeArchiveError(h.name, `the archive expands to more than ${limits.maxBytes} bytes`);
          writeSync(fd, chunk);
        }
      } finally {
        closeSync(fd);
      }
      extracted.add(rel);
    }
  } catch (e) {
    fail(e as Error);
    throw failure ?? e;
  }
  if (failure) throw failure;
  return { entries, bytes };
}

function clearSlotIfNotDir(abs: string, what: string): void {
  try {
    const st = lstatSync(abs);
    if (!st.isDirectory()) clearSlot(abs, what);
  } catch {
    // nothing there to clear: the directory is created next
  }
}

/**
 * Copy a local directory into `dest` with the same rules as archives: symbolic links must
 * stay inside the tree; anything but files, directories and links is refused.
 */
export function copyLocalTree(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  const walk = (from: string, to: string, rel: string) => {
    for (const n of readdirSync(from).sort()) {
      const a = path.join(from, n);
      const b = path.join(to, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(a);
      if (st.isSymbolicLink()) {
        const target = readlinkSync(a);
        if (!linkStaysInside(r, target)) throw new UnsafeArchiveError(r, `symbolic link to "${target}" leaves the tree`);
        symlinkSync(target, b);
      } else if (st.isDirectory()) {
        mkdirSync(b);
        walk(a, b, r);
      } else if (st.isFile()) {
        copyFileSync(a, b, constants.COPYFILE_FICLONE);
      } else throw new UnsafeArchiveError(r, 'not a file, directory or symbolic link');
    }
  };
  walk(src, dest, '');
}

/**
 * Atmos `included_paths` / `excluded_paths` (globs over paths relative to the module):
 * files and links not included, or excluded, are removed; directories left empty by that
 * go too.
 */
export function applyFilters(dir: string, included?: string[], excluded?: string[]): void {
  if (!included?.length && !excluded?.length) return;
  const inc = included?.length ? picomatch(included, { dot: true }) : undefined;
  const exc = excluded?.length ? picomatch(excluded, { dot: true }) : undefined;
  const keep = (rel: string) => (!inc || inc(rel)) && !exc?.(rel);
  const walk = (abs: string, rel: string): boolean => {
    let empty = true;
    for (const n of readdirSync(abs)) {
      const a = path.join(abs, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = lstatSync(a);
      if (st.isDirectory() && !st.isSymbolicLink()) {
        if (exc?.(r)) {
          removeDir(a);
          continue;
        }
        if (walk(a, r)) rmdirSync(a);
        else empty = false;
      } else if (keep(r)) empty = false;
      else unlinkSync(a);
    }
    return empty;
  };
  walk(dir, '');
}

function removeDir(p: string): void {
  for (const n of readdirSync(p)) {
    const a = path.join(p, n);
    const st = lstatSync(a);
    if (st.isDirectory() && !st.isSymbolicLink()) removeDir(a);
    else unlinkSync(a);
  }
  rmdirSync(p);
}
