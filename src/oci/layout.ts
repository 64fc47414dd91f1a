/**
 * OCI image layout store (image-layout spec 1.0): `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>`. Blobs are content addressed and written once (temp file + rename);
 * `index.json` is merged under a lock file and replaced atomically, so concurrent writers
 * never lose each other's entries and readers never see a half-written file.
 *
 * A blob is verified whenever it is read back ({@link readFromLayout}) or written over: a blob
 * whose bytes do not match its digest is evicted ({@link LayoutBlobError}) or replaced, so one
 * corrupt file never blocks the next build.
 */
import { hostname } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { ANNOTATION_REF_NAME, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST, createExclusive, digestHex, isDigest, sha256Digest, writeFileAtomic } from './digest.js';
import type { BuiltOciImage, OciDescriptor, OciImageConfig, OciManifest } from './image.js';
import type { Layer } from './layer.js';

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: OciDescriptor[];
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

const LAYOUT_FILE = 'oci-layout';
const LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';
/** ref.name grammar of the image-layout spec (components joined by [-._:@+/] or '--'). */
const REF_NAME = /^[A-Za-z0-9]+(?:(?:[-._:@+/]|--)[A-Za-z0-9]+)*$/;

/** Path of a blob in a layout. */
export function blobPath(layoutDir: string, digest: string): string {
  return path.join(layoutDir, 'blobs', 'sha256', digestHex(digest));
}

/** A blob of a layout is missing, or did not match its digest (and was evicted). */
export class LayoutBlobError extends Error {
  constructor(
    readonly layoutDir: string,
    readonly digest: string,
    /** manifest, config or layer. */
    readonly what: string,
    /** `missing`, or the digest of what was found. */
    readonly got: string,
  ) {
    super(
      got === 'missing'
        ? `OCI layout ${layoutDir} is missing the ${what} blob ${digest}`
        : `cache: ${what} blob ${digest} of the OCI layout ${layoutDir} was corrupt (expected ${digest}, got ${got}); evicted`,
    );
  }
}

/** Writes a blob unless the same bytes are there; returns true when it replaced different bytes (a corrupt blob). */
function writeBlob(layoutDir: string, digest: string, data: Buffer): boolean {
  const file = blobPath(layoutDir, digest);
  let replaced = false;
  try {
    // Deduplicated only when the bytes are the same (a corrupt blob of the right size is not).
    if (statSync(file).size === data.length && readFileSync(file).equals(data)) return false;
    replaced = true;
  } catch {
    // missing or unreadable: it is written below
  }
  writeFileAtomic(file, data);
  return replaced;
}

/** index.json of a layout (an empty index when there is none yet). */
export function readIndex(layoutDir: string): OciIndex {
  const file = path.join(layoutDir, 'index.json');
  if (!existsSync(file)) return { schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [] };
  const idx = JSON.parse(readFileSync(file, 'utf8')) as OciIndex;
  if (!Array.isArray(idx.manifests)) throw new Error(`${file}: not an OCI index (no manifests array)`);
  return idx;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Run `fn` holding `<layout>/index.json.lock` (O_EXCL; stale after the owner died or 60 s). */
function withIndexLock<T>(layoutDir: string, fn: () => T, timeoutMs = 60_000): T {
  const lock = path.join(layoutDir, 'index.json.lock');
  const me = JSON.stringify({ pid: process.pid, host: hostname() });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (createExclusive(lock, me)) break;
    let stale = false;
    try {
      const owner = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number; host: string };
      if (owner.host === hostname()) {
        try {
          process.kill(owner.pid, 0);
        } catch (e) {
          stale = (e as NodeJS.ErrnoException).code === 'ESRCH';
        }
      }
      if (!stale) stale = Date.now() - statSync(lock).mtimeMs > 60_000;
    } catch {
      stale = false; // vanished or being written: just retry
    }
    if (stale) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the OCI layout lock ${lock}`);
    sleepSync(20);
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Write (or merge) `image` into the OCI image layout at `layoutDir`: blobs first (each once),
 * then the index entry. With `refName`, the entry carries annotation
 * `org.opencontainers.image.ref.name = refName`, and that name moves from any other manifest
 * to this one; without it, the manifest is added unnamed unless already listed. Returns the
 * digests of blobs that were there with other bytes (corrupt) and were replaced.
 */
export function writeToLayout(layoutDir: string, image: BuiltOciImage, refName?: string): { replaced: string[] } {
  if (refName !== undefined && !REF_NAME.test(refName)) {
    throw new Error(`invalid OCI layout reference name ${JSON.stringify(refName)} (letters, digits, and . _ - : @ + / between them)`);
  }
  mkdirSync(path.join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  if (!existsSync(path.join(layoutDir, LAYOUT_FILE))) createExclusive(path.join(layoutDir, LAYOUT_FILE), LAYOUT_CONTENT);
  const blobs: [string, Buffer][] = [...image.layers.map((l): [string, Buffer] => [l.digest, l.blob]), [image.configDigest, image.config], [image.manifestDigest, image.manifest]];
  const replaced = blobs.filter(([digest, data]) => writeBlob(layoutDir, digest, data)).map(([digest]) => digest);

  const entry: OciDescriptor = { mediaType: image.mediaType, digest: image.manifestDigest, size: image.manifest.length };
  if (refName !== undefined) entry.annotations = { [ANNOTATION_REF_NAME]: refName };
  withIndexLock(layoutDir, () => {
    const idx = readIndex(layoutDir);
    const refOf = (d: OciDescriptor) => d.annotations?.[ANNOTATION_REF_NAME];
    let manifests = idx.manifests;
    if (refName !== undefined) {
      if (manifests.some((d) => refOf(d) === refName && d.digest === entry.digest)) return;
      manifests = manifests.filter((d) => refOf(d) !== refName);
      manifests.push(entry);
    } else {
      if (manifests.some((d) => d.digest === entry.digest)) return;
      manifests.push(entry);
    }
    const next: OciIndex = { ...idx, schemaVersion: 2, mediaType: idx.mediaType ?? MEDIA_TYPE_INDEX, manifests };
    writeFileAtomic(path.join(layoutDir, 'index.json'), `${JSON.stringify(next, null, 2)}\n`);
  });
  return { replaced };
}

/** The manifest digest a layout names `refName`, if any (the last entry wins). */
export function resolveLayoutRef(layoutDir: string, refName: string): string | undefined {
  if (!existsSync(path.join(layoutDir, 'index.json'))) return undefined;
  const hits = readIndex(layoutDir).manifests.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] === refName);
  return hits.length ? hits[hits.length - 1].digest : undefined;
}

function readVerified(layoutDir: string, digest: string, what: string): Buffer {
  const file = blobPath(layoutDir, digest);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new LayoutBlobError(layoutDir, digest, what, 'missing');
    throw e;
  }
  const got = sha256Digest(data);
  if (got !== digest) {
    rmSync(file, { force: true });
    throw new LayoutBlobError(layoutDir, digest, what, got);
  }
  return data;
}

/**
 * Read an image back from a layout by manifest digest (or by ref name). Returns undefined
 * when the layout has no such manifest; throws when it is inconsistent: a missing or corrupt
 * blob is a {@link LayoutBlobError} (a corrupt one evicted), an unsupported media type an Error. Layers carry their blob bytes; `tar` is left empty (the
 * diffID comes from the config).
 */
export function readFromLayout(layoutDir: string, digest: string): BuiltOciImage | undefined {
  const manifestDigest = isDigest(digest) ? digest : resolveLayoutRef(layoutDir, digest);
  if (!manifestDigest || !existsSync(blobPath(layoutDir, manifestDigest))) return undefined;
  const manifestBytes = readVerified(layoutDir, manifestDigest, 'manifest');
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as OciManifest;
  if (manifest.mediaType !== MEDIA_TYPE_MANIFEST) {
    throw new Error(`${manifestDigest} in ${layoutDir} is not an OCI image manifest (mediaType ${String(manifest.mediaType)})`);
  }
  const configBytes = readVerified(layoutDir, manifest.config.digest, 'config');
  const config = JSON.parse(configBytes.toString('utf8')) as OciImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new Error(`${manifestDigest} in ${layoutDir}: ${manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  const layers: Layer[] = manifest.layers.map((d, i) => {
    if (d.mediaType !== MEDIA_TYPE_LAYER_GZIP) throw new Error(`unsupported layer media type ${d.mediaType} (${d.digest})`);
    const blob = readVerified(layoutDir, d.digest, 'layer');
    return { tar: Buffer.alloc(0), diffId: diffIds[i], blob, digest: d.digest, size: blob.length, mediaType: MEDIA_TYPE_LAYER_GZIP };
  });
  return {
    manifest: manifestBytes,
    manifestDigest,
    config: configBytes,
    configDigest: manifest.config.digest,
    layers,
    mediaType: MEDIA_TYPE_MANIFEST,
  };
}
