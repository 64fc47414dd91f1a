/**
 * Releases (SPEC 5.3): an immutable record of what would be deployed. The id is derived
 * from the content (artifacts + commit only), so releasing the same thing twice is
 * idempotent. Stored as the annotated tag `atmos/releases/<d>/<id>` (message = the YAML
 * record) and exported to `<releases_path>/<d>/<t>/release-<id>.yaml`.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { dumpPlain, loadPlain } from '../yaml/plain.js';
import { writeFileAtomic } from '../cache/cas.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { API_VERSION, RecordFormatError, TagConflictError, optionalFields, releaseTagName, type GitRepo, type InvalidTag, type RefInfo } from '../tracking/index.js';

export const RELEASE_HEADER = `${API_VERSION}\nkind: Release\n---\n`;

export interface ReleaseImage {
  /** Image reference, e.g. `registry.example.com/api:1.2.3`. */
  ref: string;
  /** Content digest, e.g. `sha256:...`. */
  digest: string;
}

export interface ReleaseRecord {
  deployment: string;
  target: string;
  git_sha: string;
  git_branch: string | null;
  /** Image per nixpack component. */
  images: Record<string, ReleaseImage>;
  /** SBOM digest per nixpack component. */
  sboms: Record<string, string>;
  /** Digest per vendored component. */
  vendored: Record<string, string>;
  /** Tool versions (atmos-pipe, terraform, nix, ...). */
  tools: Record<string, string>;
  annotations: Record<string, string>;
  /** ISO-8601 UTC. */
  created_at: string;
  created_by: string;
  /**
   * Made with `--allow-dirty` from a working tree whose inputs (deployment file, stacks,
   * modules, service sources, atmos.yaml) differed from `git_sha`: such a release is never
   * a promotion source. Absent for a clean release.
   */
  dirty?: boolean;
  /** With `dirty`: sha256 of the changed input files (paths, states, contents); part of the id. */
  dirty_digest?: string;
  /** With `dirty`: the changed input files, repository-relative. */
  dirty_files?: string[];
  /**
   * `--context k=v` overrides of the target's context it was made with: part of what runs,
   * so part of the id, and applied again whenever the release is rolled out. Absent: none.
   */
  context?: Record<string, unknown>;
  /**
   * `release --id <id>`: the id it was given instead of the one derived from its content
   * (which stays in `content_id`, and decides whether an existing id holds the same release).
   */
  id?: string;
  /** With `id`: the id derived from the content ({@link releaseId}). */
  content_id?: string;
}

const KEYS: Array<keyof ReleaseRecord> = ['deployment', 'target', 'git_sha', 'git_branch', 'images', 'sboms', 'vendored', 'tools', 'annotations', 'created_at', 'created_by'];

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/**
 * `r-` + 12 hex chars of sha256 over the canonical JSON of the deployment name, the commit
 * and the artifacts (image digests, vendored module digests). Target, timestamps, creator,
 * branch, tool versions, annotations and the SBOM digests (derived from the artifacts, and
 * labelled with the target they were made for) do not count: releasing the same thing twice,
 * or promoting it to another target, gives the same id.
 */
export function releaseId(record: Pick<ReleaseRecord, 'deployment' | 'git_sha' | 'images' | 'vendored' | 'dirty_digest' | 'context'>): string {
  const content = canonicalJson({
    deployment: record.deployment,
    git_sha: record.git_sha,
    images: record.images ?? {},
    vendored: record.vendored ?? {},
    // A dirty release is another content than the commit: never the clean release's id.
    ...(record.dirty_digest ? { dirty_digest: record.dirty_digest } : {}),
    // Context overrides change what runs: another release than the commit's plain one.
    ...(record.context && Object.keys(record.context).length ? { context: record.context } : {}),
  });
  return `r-${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
}

/** The tag message / export file of a release: header + YAML with a fixed key order. */
export function formatRelease(r: ReleaseRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = r[k];
    if (k === 'images') {
      ordered[k] = Object.fromEntries(Object.entries(sortKeys(r.images)).map(([c, i]) => [c, { ref: i.ref, digest: i.digest }]));
    } else if (k === 'sboms' || k === 'vendored' || k === 'tools' || k === 'annotations') {
      ordered[k] = sortKeys((v ?? {}) as Record<string, string>);
    } else ordered[k] = v ?? null;
  }
  if (r.dirty) Object.assign(ordered, { dirty: true, dirty_digest: r.dirty_digest ?? null, dirty_files: r.dirty_files ?? [] });
  if (r.context && Object.keys(r.context).length) ordered.context = sortKeys(r.context);
  if (r.id) Object.assign(ordered, { id: r.id, content_id: r.content_id ?? releaseId(r) });
  return RELEASE_HEADER + dumpPlain(ordered);
}

/** Parses a release (with or without the `atmos.tools/v1alpha1 / kind: Release / ---` header). */
export function parseRelease(text: string): ReleaseRecord {
  let body = text.replace(/\r\n/g, '\n');
  const lines = body.split('\n');
  if (lines[0]?.trim() === API_VERSION) {
    if (lines[1]?.trim() !== 'kind: Release' || lines[2]?.trim() !== '---') {
      throw new RecordFormatError(`not a release record: expected "${API_VERSION}", "kind: Release", "---" header`);
    }
    body = lines.slice(3).join('\n');
  }
  let doc: unknown;
  try {
    doc = loadPlain(body);
  } catch (e) {
    throw new RecordFormatError(`invalid release YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new RecordFormatError('release record must be a mapping');
  const d = doc as Record<string, unknown>;
  const str = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string' || v === '') throw new RecordFormatError(`release record: "${k}" must be a non-empty string`);
    return v;
  };
  const optStr = (k: string): string | null => {
    const v = d[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new RecordFormatError(`release record: "${k}" must be a string or null`);
    return v;
  };
  const strMap = (k: string): Record<string, string> => {
    const v = d[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new RecordFormatError(`release record: "${k}" must be a mapping`);
    const out: Record<string, string> = {};
    for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) {
      if (typeof vv !== 'string') throw new RecordFormatError(`release record: "${k}.${kk}" must be a string`);
      out[kk] = vv;
    }
    return out;
  };
  const images: Record<string, ReleaseImage> = {};
  const rawImages = d.images ?? {};
  if (typeof rawImages !== 'object' || rawImages === null || Array.isArray(rawImages)) throw new RecordFormatError('release record: "images" must be a mapping');
  for (const [c, v] of Object.entries(rawImages as Record<string, unknown>)) {
    const i = v as Record<string, unknown> | null;
    if (!i || typeof i !== 'object' || typeof i.ref !== 'string' || typeof i.digest !== 'string') {
      throw new RecordFormatError(`release record: "images.${c}" must have string "ref" and "digest"`);
    }
    images[c] = { ref: i.ref, digest: i.digest };
  }
  return {
    deployment: str('deployment'),
    target: str('target'),
    git_sha: str('git_sha'),
    git_branch: optStr('git_branch'),
    images,
    sboms: strMap('sboms'),
    vendored: strMap('vendored'),
    tools: strMap('tools'),
    annotations: strMap('annotations'),
    created_at: str('created_at'),
    created_by: str('created_by'),
    ...dirtyFields(d),
    ...namedFields(d),
  };
}

/** The explicit id (`release --id`), its content id, and the context overrides of a parsed record. */
function namedFields(d: Record<string, unknown>): Pick<ReleaseRecord, 'context' | 'id' | 'content_id'> {
  const out: Pick<ReleaseRecord, 'context' | 'id' | 'content_id'> = {};
  if (d.context !== undefined && d.context !== null) {
    if (typeof d.context !== 'object' || Array.isArray(d.context)) throw new RecordFormatError('release record: "context" must be a mapping');
    out.context = d.context as Record<string, unknown>;
  }
  for (const k of ['id', 'content_id'] as const) {
    const v = d[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v === '') throw new RecordFormatError(`release record: "${k}" must be a non-empty string`);
    out[k] = v;
  }
  return out;
}

/** The id of a record: the one `release --id` gave it, else the one derived from its content. */
export function idOfRelease(record: ReleaseRecord): string {
  return record.id ?? releaseId(record);
}

function dirtyFields(d: Record<string, unknown>): Pick<ReleaseRecord, 'dirty' | 'dirty_digest' | 'dirty_files'> {
  const { dirty, dirty_digest } = optionalFields(d, 'release record');
  if (!dirty) return {};
  const files = Array.isArray(d.dirty_files) ? d.dirty_files.filter((f): f is string => typeof f === 'string') : [];
  return { dirty, ...(dirty_digest ? { dirty_digest } : {}), dirty_files: files };
}

export interface CreateReleaseOptions {
  /** Absolute `releases_path` (atmos.yaml `deployments.releases_path`). */
  releasesPath: string;
  /** Repository root (the export path is reported relative to it). */
  repoRoot: string;
}

export interface CreateReleaseResult {
  id: string;
  /** Tag name without refs/tags/. */
  tag: string;
  /** The tag object. */
  sha: string;
  /** false when a release with the same id already existed (it is reused as is). */
  created: boolean;
  /** The stored record (the existing one when reused). */
  record: ReleaseRecord;
  /** Absolute path of the exported YAML file. */
  file: string;
  /** Export path relative to the repository root. */
  relativeFile: string;
}

function storedRelease(refs: RefInfo[], ref: string): { info: RefInfo; record: ReleaseRecord } | undefined {
  const info = refs.find((r) => r.ref === ref);
  if (info?.type !== 'tag' || info.message === undefined) return undefined;
  return { info, record: parseRelease(info.message) };
}

/**
 * Creates the release tag on `record.git_sha` (idempotent: the same id reuses the existing
 * tag, `created: false`) and exports the stored record to
 * `<releasesPath>/<deployment>/<target>/release-<id>.yaml` (atomic write).
 */
export async function createRelease(repo: GitRepo, record: ReleaseRecord, opts: CreateReleaseOptions): Promise<CreateReleaseResult> {
  const id = idOfRelease(record);
  const tag = releaseTagName(record.deployment, id);
  const ref = `refs/tags/${tag}`;
  let stored = storedRelease(await repo.readRefs(ref), ref);
  // An explicit id already given to another content is never reused nor overwritten.
  if (stored && record.id) refuseOtherContent(stored.record, record);
  let created = false;
  let sha: string;
  if (stored) {
    sha = stored.info.sha;
  } else {
    try {
      const r = await repo.createAnnotatedTag(tag, record.git_sha, formatRelease(record));
      sha = r.sha;
      created = r.created;
      stored = { info: { ref, sha, type: 'tag', target: record.git_sha, targetType: 'commit' }, record };
    } catch (e) {
      // Lost a race with another writer of the same release: reuse theirs.
      if (!(e instanceof TagConflictError)) throw e;
      stored = storedRelease(await repo.readRefs(ref), ref);
      if (!stored || idOfRelease(stored.record) !== id) throw e;
      if (record.id) refuseOtherContent(stored.record, record);
      sha = stored.info.sha;
    }
  }
  const file = path.join(opts.releasesPath, record.deployment, record.target, `release-${id}.yaml`);
  writeFileAtomic(file, formatRelease(stored.record));
  return { id, tag, sha, created, record: stored.record, file, relativeFile: path.relative(opts.repoRoot, file) };
}

/** `release --id <id>` for an id that names another release: exit 3, history is never rewritten. */
function refuseOtherContent(stored: ReleaseRecord, wanted: ReleaseRecord): void {
  const a = releaseId(stored);
  const b = releaseId(wanted);
  if (a === b) return;
  throw new DiagnosticError(
    error(
      'release/id-taken',
      `release ${wanted.id} of ${wanted.deployment} already exists with other content (commit ${stored.git_sha.slice(0, 12)}, content ${a}); this release is commit ${wanted.git_sha.slice(0, 12)}, content ${b}`,
      undefined,
      `releases are immutable and nothing was written: choose another --id, or roll the existing one out with --release ${wanted.id}`,
    ),
    'refused',
  );
}

export interface ReleaseEntry {
  id: string;
  /** Tag name without refs/tags/. */
  tag: string;
  /** The commit the tag points to. */
  commit: string;
  record: ReleaseRecord;
}

/** Prefix (full ref) of the release tags of a deployment. */
export function releaseTagPrefix(deployment: string): string {
  return `refs/tags/${releaseTagName(deployment, 'x').slice(0, -1)}`;
}

/** Parses release tags out of `readRefs` results (tags that do not parse go to `invalid`). */
export function releasesFromRefs(refs: RefInfo[], deployment: string, invalid: InvalidTag[] = []): ReleaseEntry[] {
  const prefix = releaseTagPrefix(deployment);
  const out: ReleaseEntry[] = [];
  for (const r of refs) {
    if (!r.ref.startsWith(prefix)) continue;
    const id = r.ref.slice(prefix.length);
    const tag = r.ref.slice('refs/tags/'.length);
    if (id.includes('/')) continue;
    if (r.type !== 'tag' || r.message === undefined) {
      invalid.push({ tag, error: 'not an annotated tag' });
      continue;
    }
    try {
      out.push({ id, tag, commit: r.target, record: parseRelease(r.message) });
    } catch (e) {
      invalid.push({ tag, error: (e as Error).message });
    }
  }
  // Newest first; ties by id for a stable order.
  return out.sort((a, b) => (a.record.created_at < b.record.created_at ? 1 : a.record.created_at > b.record.created_at ? -1 : a.id < b.id ? -1 : 1));
}

/** Every release of a deployment, newest first — ONE git process. */
export async function listReleases(repo: GitRepo, deployment: string, invalid: InvalidTag[] = []): Promise<ReleaseEntry[]> {
  return releasesFromRefs(await repo.readRefs(releaseTagPrefix(deployment)), deployment, invalid);
}
