/**
 * Reproducible OCI image layers (SPEC 5.1 item 4). A layer is a tar archive written with
 * `tar-stream` under fixed rules, so that the same tree gives the same bytes on any machine:
 *
 * - entries sorted by path, bytewise (UTF-8), every parent directory present;
 * - mtime = the given epoch (seconds, normally SOURCE_DATE_EPOCH), uid/gid 0, uname/gname '';
 * - modes normalised (directory tree input): directories 0755, files 0755 when any x bit is set
 *   else 0644, symlinks 0777; hard links become regular files; no device/fifo/socket entries;
 * - ustar headers (pax records only for long or non-ASCII names, whose header carries the same
 *   fixed fields);
 * - gzip at a fixed level whose 10-byte header is forced to: no name, mtime 0, OS 255.
 *
 * The uncompressed tar's digest is the diffID (config `rootfs.diff_ids`); the gzip blob's
 * digest and size go in the manifest. The diffID depends only on the tree; the gzip blob
 * depends on the tree and on the deflate implementation (Node's bundled zlib).
 */
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { MEDIA_TYPE_LAYER_GZIP, sha256Digest } from './digest.js';

export interface LayerEntry {
  /** Relative POSIX path inside the layer (no leading '/', no '..'). */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (masked to 0o7777). Symlinks are always written as 0777. */
  mode: number;
  /** File content: the bytes, or an absolute path of a file to read them from. */
  content?: Buffer | string;
  /** Symlink target, written verbatim. */
  linkname?: string;
}

export interface Layer {
  /** Uncompressed tar (may be empty for a layer read back from a layout; see `diffId`). */
  tar: Buffer;
  /** sha256 of the uncompressed tar: `sha256:<hex>`. */
  diffId: string;
  /** gzip-compressed tar: the blob stored in layouts and registries. */
  blob: Buffer;
  /** sha256 of `blob`. */
  digest: string;
  /** Byte length of `blob`. */
  size: number;
  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip';
}

/** Fixed deflate level of layer blobs; changing it changes every blob digest. */
const GZIP_LEVEL = 6;

/** OS byte of the gzip header: 255 = unknown (zlib would write the host's OS). */
const GZIP_OS_UNKNOWN = 0xff;

/** The mode written for an entry read from a directory tree. */
function normalizeMode(type: LayerEntry['type'], mode: number): number {
  if (type === 'dir') return 0o755;
  if (type === 'symlink') return 0o777;
  return mode & 0o111 ? 0o755 : 0o644;
}

/**
 * gzip with a fixed level and a fixed header (no FNAME/FCOMMENT/FHCRC, MTIME 0, XFL 0,
 * OS 255). The header is not covered by the gzip CRC (which is over the uncompressed data),
 * so normalising those bytes keeps the stream valid.
 */
export function gzipDeterministic(data: Buffer): Buffer {
  const out = gzipSync(data, { level: GZIP_LEVEL });
  if (out[0] !== 0x1f || out[1] !== 0x8b || out[2] !== 8 || out[3] !== 0) {
    throw new Error('unexpected gzip header from zlib (expected deflate, no flags)');
  }
  out.writeUInt32LE(0, 4); // MTIME
  out[8] = 0; // XFL
  out[9] = GZIP_OS_UNKNOWN; // OS
  return out;
}

/** Compress and digest an uncompressed layer tar. */
function layerFromTar(tar: Buffer): Layer {
  const blob = gzipDeterministic(tar);
  return {
    tar,
    diffId: sha256Digest(tar),
    blob,
    digest: sha256Digest(blob),
    size: blob.length,
    mediaType: MEDIA_TYPE_LAYER_GZIP,
  };
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0o77777777777) {
    throw new Error(`layer epoch must be a whole number of seconds since 1970 (SOURCE_DATE_EPOCH), got ${epoch}`);
  }
}

/** Normalise a layer path: strip './' and trailing '/', reject absolute paths and '..'. */
function normalizeLayerPath(p: string): string {
  let s = p.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (s.startsWith('/')) throw new Error(`layer path must be relative: ${p}`);
  const parts = s.split('/');
  if (!s || parts.some((x) => x === '' || x === '.' || x === '..')) {
    throw new Error(`invalid layer path (empty, '.', '..' or '//' segment): ${JSON.stringify(p)}`);
  }
  s = parts.join('/');
  return s;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Validated, parent-complete, sorted entries. */
function prepareEntries(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) {
    if (e.type !== 'file' && e.type !== 'dir' && e.type !== 'symlink') {
      throw new Error(`unsupported layer entry type ${String(e.type)} for ${e.path}`);
    }
    const p = normalizeLayerPath(e.path);
    if (byPath.has(p)) throw new Error(`duplicate layer entry: ${p}`);
    if (e.type === 'symlink' && !e.linkname) throw new Error(`symlink without linkname: ${p}`);
    if (e.type === 'file' && typeof e.content === 'string' && !path.isAbsolute(e.content)) {
      throw new Error(`file content path must be absolute: ${e.content} (for ${p})`);
    }
    byPath.set(p, { ...e, path: p });
  }
  for (const p of [...byPath.keys()]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const existing = byPath.get(parent);
      if (!existing) byPath.set(parent, { path: parent, type: 'dir', mode: 0o755 });
      else if (existing.type !== 'dir') throw new Error(`layer entry ${p} is below ${parent}, which is a ${existing.type}`);
    }
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** The uncompressed reproducible tar of (already prepared) entries. */
async function writeTar(entries: LayerEntry[], epoch: number): Promise<Buffer> {
  const mtime = new Date(epoch * 1000);
  const p = pack();
  const chunks: Buffer[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const base = { mtime, uid: 0, gid: 0, uname: '', gname: '' };
    let header: Partial<Header> & { name: string };
    let body: Buffer | undefined;
    if (e.type === 'dir') {
      header = { ...base, name: `${e.path}/`, type: 'directory', mode: e.mode & 0o7777 };
    } else if (e.type === 'symlink') {
      header = { ...base, name: e.path, type: 'symlink', mode: 0o777, linkname: e.linkname };
    } else {
      body = e.content === undefined ? Buffer.alloc(0) : typeof e.content === 'string' ? await readFile(e.content) : e.content;
      header = { ...base, name: e.path, type: 'file', mode: e.mode & 0o7777, size: body.length };
    }
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) p.entry(header, body, cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await finished;
  return Buffer.concat(chunks);
}

/**
 * A layer from explicit entries. Parent directories are added (0755) when missing; modes are
 * used as given (masked to 0o7777), except symlinks (0777).
 */
export async function layerFromEntries(entries: LayerEntry[], opts: { epoch: number }): Promise<Layer> {
  checkEpoch(opts.epoch);
  const tar = await writeTar(prepareEntries(entries), opts.epoch);
  return layerFromTar(tar);
}

/** Normalise a prefix like 'app', 'app/', './app/' to 'app/' ('' for none). */
function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const p = prefix
    .replace(/^(\.\/)+/, '')
    .replace(/^\/+/, '')
    .replace(/\/+$/, '');
  return p ? `${normalizeLayerPath(p)}/` : '';
}

/** Entries of a directory tree (relative paths without prefix), modes normalised. */
function entriesFromDirectory(dir: string, opts: { exclude?: (rel: string) => boolean } = {}): LayerEntry[] {
  const root = path.resolve(dir);
  if (!statSync(root).isDirectory()) throw new Error(`not a directory: ${dir}`);
  const out: LayerEntry[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs)) {
      const r = rel ? `${rel}/${name}` : name;
      if (opts.exclude?.(r)) continue;
      const a = path.join(abs, name);
      const st = lstatSync(a);
      if (st.isSymbolicLink()) {
        out.push({ path: r, type: 'symlink', mode: 0o777, linkname: readlinkSync(a) });
      } else if (st.isDirectory()) {
        out.push({ path: r, type: 'dir', mode: 0o755 });
        walk(a, r);
      } else if (st.isFile()) {
        out.push({ path: r, type: 'file', mode: normalizeMode('file', st.mode), content: a });
      } else {
        throw new Error(`cannot put ${a} in an image layer: not a file, directory or symlink`);
      }
    }
  };
  walk(root, '');
  return out;
}

/**
 * Reproducible layer of a directory tree: entries sorted by path (bytewise), mtime = epoch
 * (seconds), uid/gid 0, uname/gname '', modes normalised (dirs 0755, files 0644 or 0755 when
 * any x bit is set, symlinks 0777), parent directories included, `prefix` (e.g. 'app/')
 * prepended. `exclude` receives paths relative to `dir` (POSIX, without the prefix); an
 * excluded directory is not descended into.
 */
export async function layerFromDirectory(dir: string, opts: { prefix?: string; epoch: number; exclude?: (rel: string) => boolean }): Promise<Layer> {
  checkEpoch(opts.epoch);
  const prefix = normalizePrefix(opts.prefix);
  const entries = entriesFromDirectory(dir, { exclude: opts.exclude }).map((e) => ({ ...e, path: prefix + e.path }));
  if (prefix) entries.push({ path: prefix.slice(0, -1), type: 'dir', mode: 0o755 });
  return layerFromEntries(entries, { epoch: opts.epoch });
}
