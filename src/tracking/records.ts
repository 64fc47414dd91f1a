/**
 * Tracking records and names (SPEC 5.3, 6).
 *
 * History tag message (exact format):
 *
 *     atmos.tools/v1alpha1
 *     kind: Deployment
 *     ---
 *     deployment: payment-service
 *     target: dev
 *     ...YAML, keys in a fixed order...
 */
import { dumpPlain, loadPlain } from '../yaml/plain.js';
import { assertRefName } from './refname.js';

export const API_VERSION = 'atmos.tools/v1alpha1';
export const DEPLOYMENT_HEADER = `${API_VERSION}\nkind: Deployment\n---\n`;

export type DeploymentStatus = 'success' | 'failed' | 'rollback';
export const DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ['success', 'failed', 'rollback'];

export interface DeploymentRecord {
  deployment: string;
  target: string;
  component: string;
  /** Release id (`r-...`), null when none. */
  release: string | null;
  git_sha: string;
  /** Image digest per nixpack component, e.g. `{ api: "registry/api@sha256:..." }`. */
  images: Record<string, string>;
  deployed_by: string;
  /** ISO-8601 UTC with milliseconds, e.g. 2026-11-22T06:15:00.123Z. */
  timestamp: string;
  status: DeploymentStatus;
  /** Source target of a promotion, null otherwise. */
  promoted_from: string | null;
  approved_by: string[];
  /** History tag (or release) this deployment rolled back, null otherwise. */
  rollback_of: string | null;
  annotations: Record<string, string>;
  /**
   * Non-sensitive outputs of the component after this deployment (`terraform output -json`
   * without the sensitive ones): what a later run that does not apply the component reads as
   * its outputs. Absent in records written before outputs were recorded, and for failures.
   */
  outputs?: Record<string, unknown>;
  /** The release was made from a working tree whose inputs differed from `git_sha` (`--allow-dirty`). */
  dirty?: boolean;
  /** With `dirty`: sha256 of the changed input files (paths, states and contents). */
  dirty_digest?: string;
}

/** Keys written only when present (records without them keep their exact former text). */
const OPTIONAL_KEYS = ['dirty', 'dirty_digest', 'outputs'] as const;

const KEYS: Array<keyof DeploymentRecord> = [
  'deployment',
  'target',
  'component',
  'release',
  'git_sha',
  'images',
  'deployed_by',
  'timestamp',
  'status',
  'promoted_from',
  'approved_by',
  'rollback_of',
  'annotations',
];

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The history-tag message of a deployment (deterministic: fixed key order, sorted maps). */
export function formatDeploymentRecord(r: DeploymentRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = r[k];
    if (k === 'images' || k === 'annotations') ordered[k] = sortedObject(v as Record<string, string>);
    else ordered[k] = v ?? null;
  }
  for (const k of OPTIONAL_KEYS) if (r[k] !== undefined) ordered[k] = k === 'outputs' ? sortDeep(r[k]) : r[k];
  const body = dumpPlain(ordered);
  return DEPLOYMENT_HEADER + body;
}

/** Object keys sorted at every depth: the same outputs always give the same record text. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
  );
}

export class RecordFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordFormatError';
  }
}

/** Parses a history-tag message back into a record (validates header and fields). */
export function parseDeploymentRecord(text: string): DeploymentRecord {
  const norm = text.replace(/\r\n/g, '\n');
  const lines = norm.split('\n');
  if (lines[0]?.trim() !== API_VERSION || lines[1]?.trim() !== 'kind: Deployment' || lines[2]?.trim() !== '---') {
    throw new RecordFormatError(`not a deployment record: expected "${API_VERSION}", "kind: Deployment", "---" header`);
  }
  let doc: unknown;
  try {
    doc = loadPlain(lines.slice(3).join('\n'));
  } catch (e) {
    throw new RecordFormatError(`invalid deployment record YAML: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new RecordFormatError('deployment record body must be a mapping');
  const d = doc as Record<string, unknown>;
  const str = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string' || v === '') throw new RecordFormatError(`deployment record: "${k}" must be a non-empty string`);
    return v;
  };
  const optStr = (k: string): string | null => {
    const v = d[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw new RecordFormatError(`deployment record: "${k}" must be a string or null`);
    return v;
  };
  const strMap = (k: string): Record<string, string> => {
    const v = d[k];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new RecordFormatError(`deployment record: "${k}" must be a mapping`);
    const out: Record<string, string> = {};
    for (const [kk, vv] of Object.entries(v as Record<string, unknown>)) {
      if (typeof vv !== 'string') throw new RecordFormatError(`deployment record: "${k}.${kk}" must be a string`);
      out[kk] = vv;
    }
    return out;
  };
  const status = str('status');
  if (!(DEPLOYMENT_STATUSES as readonly string[]).includes(status)) {
    throw new RecordFormatError(`deployment record: status must be one of ${DEPLOYMENT_STATUSES.join('|')}, got "${status}"`);
  }
  const approved = d.approved_by ?? [];
  if (!Array.isArray(approved) || approved.some((x) => typeof x !== 'string')) {
    throw new RecordFormatError('deployment record: "approved_by" must be a list of strings');
  }
  return {
    deployment: str('deployment'),
    target: str('target'),
    component: str('component'),
    release: optStr('release'),
    git_sha: str('git_sha'),
    images: strMap('images'),
    deployed_by: str('deployed_by'),
    timestamp: str('timestamp'),
    status: status as DeploymentStatus,
    promoted_from: optStr('promoted_from'),
    approved_by: approved as string[],
    rollback_of: optStr('rollback_of'),
    annotations: strMap('annotations'),
    ...optionalFields(d, 'deployment record'),
  };
}

/** The optional `dirty`, `dirty_digest` and `outputs` fields of a history or release record. */
export function optionalFields(d: Record<string, unknown>, what: string): Pick<DeploymentRecord, 'dirty' | 'dirty_digest' | 'outputs'> {
  const out: Pick<DeploymentRecord, 'dirty' | 'dirty_digest' | 'outputs'> = {};
  if (d.dirty !== undefined && d.dirty !== null) {
    if (typeof d.dirty !== 'boolean') throw new RecordFormatError(`${what}: "dirty" must be true or false`);
    out.dirty = d.dirty;
  }
  if (d.dirty_digest !== undefined && d.dirty_digest !== null) {
    if (typeof d.dirty_digest !== 'string') throw new RecordFormatError(`${what}: "dirty_digest" must be a string`);
    out.dirty_digest = d.dirty_digest;
  }
  if (d.outputs !== undefined && d.outputs !== null) {
    if (typeof d.outputs !== 'object' || Array.isArray(d.outputs)) throw new RecordFormatError(`${what}: "outputs" must be a mapping`);
    out.outputs = d.outputs as Record<string, unknown>;
  }
  return out;
}

// -------------------------------------------------------------------- names

function segment(v: string, what: string, allowSlash = false): string {
  if (!v) throw new Error(`${what} must not be empty`);
  if (!allowSlash && v.includes('/')) throw new Error(`${what} must not contain "/": "${v}"`);
  return v;
}

/** `20261122T061500.123Z` — a UTC timestamp with ms using only ref-safe characters. */
export function tagTimestamp(at: Date | string): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) throw new Error(`invalid timestamp: ${String(at)}`);
  return d.toISOString().replace(/[-:]/g, '');
}

/** Inverse of tagTimestamp: `20261122T061500.123Z` -> `2026-11-22T06:15:00.123Z`. */
export function parseTagTimestamp(s: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(s);
  if (!m) throw new Error(`not a tag timestamp: ${s}`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
}

/** Current state ref: `refs/atmos/deployments/<d>/<t>/<component>` (component may contain "/"). */
export function deploymentRef(deployment: string, target: string, component: string): string {
  return assertRefName(`refs/atmos/deployments/${segment(deployment, 'deployment')}/${segment(target, 'target')}/${segment(component, 'component', true)}`);
}

/** Prefix of all current-state refs of a deployment (and target). */
export function deploymentRefPrefix(deployment: string, target?: string): string {
  return `refs/atmos/deployments/${segment(deployment, 'deployment')}/${target ? `${segment(target, 'target')}/` : ''}`;
}

/** History tag name (without refs/tags/): `atmos/deployments/<d>/<t>/<component>/<ts>`. */
export function historyTagName(deployment: string, target: string, component: string, at: Date | string): string {
  const name = `atmos/deployments/${segment(deployment, 'deployment')}/${segment(target, 'target')}/${segment(component, 'component', true)}/${tagTimestamp(at)}`;
  assertRefName(`refs/tags/${name}`, 'tag');
  return name;
}

/** Prefix (full ref) of history tags of a deployment, optionally of one target. */
export function historyTagPrefix(deployment: string, target?: string): string {
  return `refs/tags/atmos/deployments/${segment(deployment, 'deployment')}/${target ? `${segment(target, 'target')}/` : ''}`;
}

/** Splits a history tag (name or full ref) into its parts, or undefined when it is not one. */
export function parseHistoryTag(tag: string): { deployment: string; target: string; component: string; timestamp: string } | undefined {
  const name = tag.startsWith('refs/tags/') ? tag.slice('refs/tags/'.length) : tag;
  const m = /^atmos\/deployments\/([^/]+)\/([^/]+)\/(.+)\/(\d{8}T\d{6}\.\d{3}Z)$/.exec(name);
  if (!m) return undefined;
  return { deployment: m[1], target: m[2], component: m[3], timestamp: parseTagTimestamp(m[4]) };
}

/** Release tag name (without refs/tags/): `atmos/releases/<d>/<id>`. */
export function releaseTagName(deployment: string, id: string): string {
  const name = `atmos/releases/${segment(deployment, 'deployment')}/${segment(id, 'release id')}`;
  assertRefName(`refs/tags/${name}`, 'tag');
  return name;
}

export type NotesKind = 'sbom' | 'test-results' | 'approvals';

/** `refs/notes/atmos/<d>/sbom|test-results|approvals`. */
export function notesRef(deployment: string, kind: NotesKind): string {
  return assertRefName(`refs/notes/atmos/${segment(deployment, 'deployment')}/${kind}`);
}
