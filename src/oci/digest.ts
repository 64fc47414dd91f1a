/**
 * Small shared helpers of the OCI library: media types, canonical JSON, and the sha256 digests
 * and atomic file writes of src/cache (re-exported, shared).
 */
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json' as const;
export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json' as const;
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json' as const;
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip' as const;

/** Annotation naming a manifest in an OCI layout's index.json. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/** Digests: the same helpers as the CAS (one definition of a `sha256:<hex>` name). */
export { digestHex, isDigest, sha256Digest } from '../cache/digest.js';

/**
 * JSON with object keys sorted (by UTF-16 code unit, i.e. JavaScript's default sort, which
 * equals bytewise order for ASCII keys), no whitespace, `undefined` members dropped. The same
 * value always serialises to the same bytes, whatever order its keys were inserted in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Atomic writes: the same helpers as the rest of atmos-pipe. */
export { createExclusive, writeFileAtomic } from '../cache/cas.js';
