/**
 * The OCI registry backend of the remote cache: the registry teams already run, spoken to with
 * the project's distribution client (src/oci/registry.ts) and the credentials of the Docker
 * config. Layout in ONE repository (`oci://<registry>/<repository>`, e.g.
 * `oci://ghcr.io/acme/atmos-cache`):
 *
 * - a CAS object is a blob, named by its digest (the CAS digest IS the OCI digest);
 * - an action-cache entry is an OCI image manifest tagged `<namespace id>.<fingerprint hex>`
 *   (see {@link namespaceId}; at most 123 characters, within the 128 a tag may have), whose
 *   config blob (media type {@link ENTRY_MEDIA_TYPE}) is the entry and whose layers are the
 *   objects the entry names. The registry thus knows which blobs an entry needs: its garbage
 *   collection keeps them while the tag exists and reclaims them after `cache prune --remote`
 *   deleted the manifest. Annotations carry the namespace, fingerprint, step and time, for
 *   listings; nothing in them is trusted.
 */
import pLimit from 'p-limit';
import { isRepositoryName, RegistryClient } from '../../oci/registry.js';
import { digestHex, sha256Digest } from '../digest.js';
import { namespaceId, type BlobRef, type RemoteBackend, type RemoteEntryInfo } from './backend.js';

const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** The config blob of an entry's manifest (and its artifactType). */
const ENTRY_MEDIA_TYPE = 'application/vnd.atmos-pipe.cache.entry.v1+json';
const ANNOTATION = 'dev.atmos-pipe.cache';

interface EntryManifest {
  config: { digest: string; size: number };
  layers?: { digest: string; size: number }[];
  annotations?: Record<string, string>;
}

/** `oci://host[:port]/repository` → its parts; undefined when it is not one. */
export function parseOciLocation(url: string): { registry: string; repository: string } | undefined {
  const m = /^oci:\/\/([^/\s]+)\/(.+)$/.exec(url);
  if (!m || !isRepositoryName(m[2])) return undefined;
  return { registry: m[1], repository: m[2] };
}

export class OciBackend implements RemoteBackend {
  readonly location: string;
  private readonly client: RegistryClient;
  constructor(where: { registry: string; repository: string }, opts: { timeoutSeconds?: number; dockerConfig?: string } = {}) {
    this.location = `oci://${where.registry}/${where.repository}`;
    this.client = new RegistryClient({ ...where, ...opts }, 'remote cache');
  }

  private tag(namespace: string, fingerprint: string): string {
    return `${namespaceId(namespace)}.${digestHex(fingerprint)}`;
  }

  async getEntry(namespace: string, fingerprint: string): Promise<Buffer | undefined> {
    const m = await this.client.getManifest(this.tag(namespace, fingerprint), MANIFEST_MEDIA_TYPE);
    if (!m) return undefined;
    let manifest: EntryManifest;
    try {
      manifest = JSON.parse(m.bytes.toString('utf8')) as EntryManifest;
    } catch {
      return Buffer.from('not a manifest'); // a miss the session reports as unauthentic
    }
    if (typeof manifest?.config?.digest !== 'string') return Buffer.from('not an entry manifest');
    return this.client.getBlob(manifest.config.digest);
  }

  hasEntry(namespace: string, fingerprint: string): Promise<boolean> {
    return this.client.manifestExists(this.tag(namespace, fingerprint), MANIFEST_MEDIA_TYPE);
  }

  async putEntry(namespace: string, fingerprint: string, bytes: Buffer, meta: { blobs: BlobRef[]; createdAt: string; step: string }): Promise<void> {
    const config = { mediaType: ENTRY_MEDIA_TYPE, digest: sha256Digest(bytes), size: bytes.length };
    if (!(await this.client.blobExists(config.digest))) await this.client.uploadBlob(config.digest, bytes);
    const manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      artifactType: ENTRY_MEDIA_TYPE,
      config,
      layers: meta.blobs.map((b) => ({ mediaType: 'application/octet-stream', digest: b.digest, size: b.size })),
      annotations: {
        'org.opencontainers.image.created': meta.createdAt,
        [`${ANNOTATION}.namespace`]: namespace,
        [`${ANNOTATION}.fingerprint`]: fingerprint,
        [`${ANNOTATION}.step`]: meta.step,
      },
    };
    await this.client.putManifest(this.tag(namespace, fingerprint), Buffer.from(JSON.stringify(manifest)), MANIFEST_MEDIA_TYPE);
  }

  getBlob(digest: string): Promise<Buffer | undefined> {
    return this.client.getBlob(digest);
  }

  hasBlob(digest: string): Promise<boolean> {
    return this.client.blobExists(digest);
  }

  putBlob(digest: string, data: Buffer): Promise<void> {
    return this.client.uploadBlob(digest, data);
  }

  async list(): Promise<RemoteEntryInfo[]> {
    const tags = (await this.client.listTags()).filter((t) => /\.[0-9a-f]{64}$/.test(t));
    const limit = pLimit(8);
    const infos = await Promise.all(
      tags.map((tag) =>
        limit(async (): Promise<RemoteEntryInfo | undefined> => {
          const m = await this.client.getManifest(tag, MANIFEST_MEDIA_TYPE);
          if (!m) return undefined; // deleted meanwhile
          try {
            const manifest = JSON.parse(m.bytes.toString('utf8')) as EntryManifest;
            const a = manifest.annotations ?? {};
            const blobs = (manifest.layers ?? []).map((l) => ({ digest: l.digest, size: l.size }));
            return {
              namespace: a[`${ANNOTATION}.namespace`] ?? '?',
              fingerprint: `sha256:${tag.slice(-64)}`,
              createdAt: a['org.opencontainers.image.created'] ?? new Date(0).toISOString(),
              size: m.bytes.length + (manifest.config?.size ?? 0) + blobs.reduce((n, b) => n + b.size, 0),
              blobs,
              handle: m.digest ?? sha256Digest(m.bytes),
            };
          } catch {
            return undefined; // not one of ours
          }
        }),
      ),
    );
    return infos.filter((i): i is RemoteEntryInfo => i !== undefined);
  }

  async remove(entries: RemoteEntryInfo[]): Promise<{ objects: number; bytes: number }> {
    const limit = pLimit(4);
    await Promise.all(entries.map((e) => limit(() => this.client.deleteManifest(e.handle))));
    // Blobs are the registry's to reclaim (its garbage collection), once no manifest names them.
    return { objects: 0, bytes: 0 };
  }
}
