/**
 * OCI image assembly (SPEC 5.1 item 4): image config + manifest over reproducible layers,
 * serialised as canonical JSON (sorted keys, no whitespace), so the same spec always gives
 * the same manifest digest.
 */
import { MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, canonicalJson, sha256Digest } from './digest.js';
import type { Layer } from './layer.js';

export interface ImageSpec {
  layers: Layer[];
  entrypoint?: string[];
  cmd?: string[];
  /** Written as `Env: ["K=V", ...]` sorted by key. */
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  /** Image config labels. */
  labels?: Record<string, string>;
  /** '8080', '8080/tcp', '53/udp' (no protocol = tcp). */
  exposedPorts?: string[];
  /** Manifest annotations, e.g. org.opencontainers.image.revision/source/base.name/created. */
  annotations?: Record<string, string>;
  /** ISO 8601 creation time, derived from SOURCE_DATE_EPOCH (see {@link createdFromEpoch}). */
  created: string;
  /** Default amd64. */
  architecture?: string;
  /** Default linux. */
  os?: string;
}

export interface BuiltOciImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  configDigest: string;
  layers: Layer[];
  mediaType: 'application/vnd.oci.image.manifest.v1+json';
}

/** The shape of the image config written (the subset atmos-pipe produces). */
export interface OciImageConfig {
  architecture: string;
  os: string;
  created: string;
  config: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, Record<string, never>>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string }[];
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType: typeof MEDIA_TYPE_MANIFEST;
  config: OciDescriptor;
  layers: OciDescriptor[];
  annotations?: Record<string, string>;
}

/** `created` for an epoch in seconds: `2023-11-14T22:13:20Z` (no milliseconds). */
export function createdFromEpoch(epoch: number): string {
  if (!Number.isInteger(epoch) || epoch < 0) throw new Error(`epoch must be a whole number of seconds, got ${epoch}`);
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

function nonEmpty<T extends object>(o: T | undefined): T | undefined {
  return o && Object.keys(o).length ? o : undefined;
}

function normalizePort(p: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(p.trim());
  if (!m || Number(m[1]) > 65535) throw new Error(`invalid exposed port ${JSON.stringify(p)} (expected e.g. 8080 or 53/udp)`);
  return `${Number(m[1])}/${(m[2] ?? 'tcp').toLowerCase()}`;
}

/** Build config and manifest for the spec; deterministic (canonical JSON). */
export function assembleImage(spec: ImageSpec): BuiltOciImage {
  if (Number.isNaN(Date.parse(spec.created))) throw new Error(`image 'created' is not an ISO date: ${spec.created}`);
  const env = spec.env
    ? Object.keys(spec.env)
        .sort()
        .map((k) => {
          if (!k || k.includes('=')) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
          return `${k}=${spec.env![k]}`;
        })
    : undefined;
  const ports = spec.exposedPorts?.length ? Object.fromEntries([...new Set(spec.exposedPorts.map(normalizePort))].sort().map((p) => [p, {}])) : undefined;
  const config: OciImageConfig = {
    architecture: spec.architecture ?? 'amd64',
    os: spec.os ?? 'linux',
    created: spec.created,
    config: {
      User: spec.user || undefined,
      Env: env?.length ? env : undefined,
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      WorkingDir: spec.workingDir || undefined,
      Labels: nonEmpty(spec.labels),
      ExposedPorts: ports,
    },
    rootfs: { type: 'layers', diff_ids: spec.layers.map((l) => l.diffId) },
    history: spec.layers.map(() => ({ created: spec.created, created_by: 'atmos-pipe' })),
  };
  const configBytes = Buffer.from(canonicalJson(config));
  const configDigest = sha256Digest(configBytes);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configBytes.length },
    layers: spec.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    annotations: nonEmpty(spec.annotations),
  };
  const manifestBytes = Buffer.from(canonicalJson(manifest));
  return {
    manifest: manifestBytes,
    manifestDigest: sha256Digest(manifestBytes),
    config: configBytes,
    configDigest,
    layers: spec.layers,
    mediaType: MEDIA_TYPE_MANIFEST,
  };
}
