/**
 * Reading an OCI image layout tarball ("OCI archive"): what Dagger's `Container.export()`,
 * `skopeo copy … oci-archive:` and `docker buildx --output type=oci` write. The archive holds
 * `oci-layout`, `index.json` and `blobs/sha256/<hex>`; the image is the first manifest of the
 * index (through a nested image index: its linux/amd64 manifest, else its first image).
 *
 * Nothing is written to disk. Rejected: names that are absolute or contain `..` (or NUL),
 * entries other than files and directories, duplicate files, blobs whose bytes do not match
 * their digest or their descriptor's size, and images atmos-pipe cannot store or push as they
 * are (Docker media types, layers that are not gzip-compressed OCI layers).
 */
import { Readable } from 'node:stream';
import { extract as tarExtract } from 'tar-stream';
import { MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST, isDigest, sha256Digest } from './digest.js';
import type { BuiltOciImage, OciDescriptor, OciImageConfig, OciManifest } from './image.js';
import type { Layer } from './layer.js';
import type { OciIndex } from './layout.js';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const INDEX_TYPES = new Set<string>([MEDIA_TYPE_INDEX, DOCKER_MANIFEST_LIST]);

export class OciArchiveError extends Error {
  override name = 'OciArchiveError';
}

/** A safe relative path inside the archive (`./` and trailing `/` dropped). */
function archivePath(name: string): string {
  if (name.includes('\0')) throw new OciArchiveError(`OCI archive: entry ${JSON.stringify(name)} contains a NUL character`);
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) throw new OciArchiveError(`OCI archive: entry ${JSON.stringify(name)} is an absolute path`);
  const parts = n.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new OciArchiveError(`OCI archive: entry ${JSON.stringify(name)} has a ".." segment (path traversal)`);
  return parts.join('/');
}

/** Every regular file of the tar, by path. */
async function readEntries(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const ex = tarExtract();
  Readable.from([tar]).pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const h = entry.header;
    const rel = archivePath(h.name);
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    if (h.type === 'directory') continue;
    if (h.type !== 'file' && h.type !== 'contiguous-file') {
      throw new OciArchiveError(`OCI archive: entry ${JSON.stringify(h.name)} is a ${h.type ?? 'unknown'} entry (only files and directories are expected)`);
    }
    if (files.has(rel)) throw new OciArchiveError(`OCI archive: ${rel} appears twice`);
    files.set(rel, Buffer.concat(chunks));
  }
  return files;
}

function parseJson<T>(data: Buffer, what: string): T {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    throw new OciArchiveError(`OCI archive: ${what} is not valid JSON`);
  }
}

/**
 * Parse an OCI image layout tarball into the image it holds: manifest and config bytes as
 * they are in the archive (so the manifest digest is the archive's), layers with their gzip
 * blobs (`tar` left empty; the diffID comes from the config's `rootfs.diff_ids`).
 */
export async function readOciArchive(tar: Buffer): Promise<BuiltOciImage> {
  const files = await readEntries(tar);

  // Every blob in the archive must be what its name says.
  const blobs = new Map<string, Buffer>();
  for (const [rel, data] of files) {
    const m = /^blobs\/([^/]+)\/([^/]+)$/.exec(rel);
    if (!m) continue;
    if (m[1] !== 'sha256') continue; // another algorithm: never referenced by what we read (checked below)
    const digest = `sha256:${m[2]}`;
    if (!isDigest(digest)) throw new OciArchiveError(`OCI archive: ${rel} is not named by a sha256 digest`);
    if (sha256Digest(data) !== digest) throw new OciArchiveError(`OCI archive: blob ${digest} is corrupt (its content does not match its digest)`);
    blobs.set(digest, data);
  }

  const layoutFile = files.get('oci-layout');
  if (!layoutFile) throw new OciArchiveError('OCI archive: no oci-layout file (not an OCI image layout tarball)');
  const layout = parseJson<{ imageLayoutVersion?: unknown }>(layoutFile, 'oci-layout');
  if (typeof layout.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new OciArchiveError(`OCI archive: unsupported image layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
  const indexFile = files.get('index.json');
  if (!indexFile) throw new OciArchiveError('OCI archive: no index.json');
  const index = parseJson<OciIndex>(indexFile, 'index.json');
  if (!Array.isArray(index.manifests) || index.manifests.length === 0) throw new OciArchiveError('OCI archive: index.json lists no manifest');

  const blob = (d: OciDescriptor, what: string): Buffer => {
    if (!d || typeof d.digest !== 'string') throw new OciArchiveError(`OCI archive: the ${what} descriptor has no digest`);
    if (!isDigest(d.digest)) throw new OciArchiveError(`OCI archive: the ${what} ${d.digest} is not a sha256 digest`);
    const data = blobs.get(d.digest);
    if (!data) throw new OciArchiveError(`OCI archive: the ${what} blob ${d.digest} is missing`);
    if (typeof d.size === 'number' && d.size !== data.length) {
      throw new OciArchiveError(`OCI archive: the ${what} blob ${d.digest} is ${data.length} bytes, its descriptor says ${d.size}`);
    }
    return data;
  };

  // The image manifest: the index's first entry, through nested indexes.
  let desc: OciDescriptor = index.manifests[0];
  for (let depth = 0; INDEX_TYPES.has(desc.mediaType); depth++) {
    if (depth >= 4) throw new OciArchiveError('OCI archive: image indexes nested too deeply');
    const nested = parseJson<OciIndex>(blob(desc, 'image index'), `image index ${desc.digest}`);
    const list = (Array.isArray(nested.manifests) ? nested.manifests : []) as (OciDescriptor & { platform?: { os?: string; architecture?: string } })[];
    const images = list.filter((m) => !(m.platform?.os === 'unknown' && m.platform?.architecture === 'unknown')); // attestations
    const pick = images.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? images[0];
    if (!pick) throw new OciArchiveError(`OCI archive: image index ${desc.digest} lists no image`);
    desc = pick;
  }
  if (desc.mediaType === DOCKER_MANIFEST) {
    throw new OciArchiveError(`OCI archive: manifest ${desc.digest} uses Docker media types; export the image with OCI media types`);
  }
  const manifestBytes = blob(desc, 'manifest');
  const manifest = parseJson<OciManifest>(manifestBytes, `manifest ${desc.digest}`);
  if (manifest.mediaType !== MEDIA_TYPE_MANIFEST) {
    throw new OciArchiveError(`OCI archive: ${desc.digest} is not an OCI image manifest (mediaType ${String(manifest.mediaType)})`);
  }
  if (!manifest.config || manifest.config.mediaType !== MEDIA_TYPE_CONFIG) {
    throw new OciArchiveError(`OCI archive: manifest ${desc.digest} has no OCI image config (config mediaType ${String(manifest.config?.mediaType)})`);
  }
  const configBytes = blob(manifest.config, 'config');
  const config = parseJson<OciImageConfig>(configBytes, `config ${manifest.config.digest}`);
  const layerDescs = Array.isArray(manifest.layers) ? manifest.layers : [];
  const diffIds = Array.isArray(config.rootfs?.diff_ids) ? config.rootfs.diff_ids : [];
  if (diffIds.length !== layerDescs.length) {
    throw new OciArchiveError(`OCI archive: manifest ${desc.digest} has ${layerDescs.length} layers but its config ${diffIds.length} diff_ids`);
  }
  const layers: Layer[] = layerDescs.map((d, i) => {
    if (d.mediaType !== MEDIA_TYPE_LAYER_GZIP) {
      throw new OciArchiveError(`OCI archive: layer ${d.digest} has media type ${d.mediaType}; only gzip-compressed OCI layers (${MEDIA_TYPE_LAYER_GZIP}) are supported`);
    }
    const data = blob(d, 'layer');
    return { tar: Buffer.alloc(0), diffId: diffIds[i], blob: data, digest: d.digest, size: data.length, mediaType: MEDIA_TYPE_LAYER_GZIP };
  });
  return {
    manifest: manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    config: configBytes,
    configDigest: manifest.config.digest,
    layers,
    mediaType: MEDIA_TYPE_MANIFEST,
  };
}
