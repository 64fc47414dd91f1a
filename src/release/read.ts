/**
 * The read side of Git tracking (SPEC 6): current state joined with history, history and
 * releases. Each read is ONE `git for-each-ref` whatever the number of refs and tags.
 */
import {
  deploymentRefPrefix,
  historyTagPrefix,
  parseDeploymentRecord,
  parseHistoryTag,
  type DeploymentRecord,
  type DeploymentStatus,
  type GitRepo,
  type RefInfo,
} from '../tracking/index.js';
import type { InvalidTag } from './index.js';
import { LazyHistory } from '../promotion/current.js';

export interface HistoryEntry extends DeploymentRecord {
  /** History tag name (without refs/tags/). */
  tag: string;
}

export interface StatusEntry {
  deployment: string;
  target: string;
  component: string;
  /** Commit of `refs/atmos/deployments/<d>/<t>/<component>`; null when never deployed successfully. */
  commit: string | null;
  /** From the newest history tag (null when there is none). */
  release: string | null;
  status: DeploymentStatus | null;
  deployed_by: string | null;
  timestamp: string | null;
  /** Newest history tag (null when there is none). */
  tag: string | null;
}

/** History entries out of `readRefs` results, newest first (unparseable tags go to `invalid`). */
export function historyFromRefs(refs: RefInfo[], deployment: string, invalid: InvalidTag[] = []): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const r of refs) {
    if (!r.ref.startsWith('refs/tags/')) continue;
    const parts = parseHistoryTag(r.ref);
    if (!parts || parts.deployment !== deployment) continue;
    const tag = r.ref.slice('refs/tags/'.length);
    if (r.type !== 'tag' || r.message === undefined) {
      invalid.push({ tag, error: 'not an annotated tag' });
      continue;
    }
    try {
      out.push({ tag, ...parseDeploymentRecord(r.message) });
    } catch (e) {
      invalid.push({ tag, error: (e as Error).message });
    }
  }
  return out.sort(newestFirst);
}

function newestFirst(a: HistoryEntry, b: HistoryEntry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? 1 : -1;
  return a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0;
}

export interface HistoryFilter {
  target?: string;
  component?: string;
  /** Inclusive lower bound (ISO-8601). */
  since?: string;
  /** Inclusive upper bound (ISO-8601). */
  until?: string;
  limit?: number;
}

export function filterHistory(entries: HistoryEntry[], f: HistoryFilter): HistoryEntry[] {
  const since = f.since !== undefined ? Date.parse(f.since) : undefined;
  const until = f.until !== undefined ? Date.parse(f.until) : undefined;
  const out = entries.filter((e) => {
    if (f.target !== undefined && e.target !== f.target) return false;
    if (f.component !== undefined && e.component !== f.component) return false;
    const t = Date.parse(e.timestamp);
    if (since !== undefined && !(t >= since)) return false;
    if (until !== undefined && !(t <= until)) return false;
    return true;
  });
  return f.limit !== undefined ? out.slice(0, f.limit) : out;
}

/**
 * History of a deployment (optionally one target), newest first — ONE git process. The tag
 * names carry target, component and timestamp, so filtering happens before parsing and only
 * the records returned (e.g. the first `limit`) are parsed.
 */
export async function readHistory(repo: GitRepo, deployment: string, filter: HistoryFilter = {}, invalid: InvalidTag[] = []): Promise<HistoryEntry[]> {
  const refs = await repo.readRefs(historyTagPrefix(deployment, filter.target));
  return lazyHistory(refs, deployment, filter, invalid);
}

/** filterHistory over `refs`, parsing only what it returns. */
export function lazyHistory(refs: RefInfo[], deployment: string, f: HistoryFilter, invalid: InvalidTag[] = []): HistoryEntry[] {
  const lazy = new LazyHistory(refs, deployment, invalid);
  const since = f.since !== undefined ? Date.parse(f.since) : undefined;
  const until = f.until !== undefined ? Date.parse(f.until) : undefined;
  const out: HistoryEntry[] = [];
  for (const t of lazy.tags) {
    if (f.limit !== undefined && out.length >= f.limit) break;
    if (f.target !== undefined && t.target !== f.target) continue;
    if (f.component !== undefined && t.component !== f.component) continue;
    const ms = Date.parse(t.timestamp);
    if (since !== undefined && !(ms >= since)) continue;
    if (until !== undefined && !(ms <= until)) continue;
    const e = lazy.entry(t);
    if (e) out.push(e);
  }
  return out;
}

/** Current state refs joined with the newest history tag, per target and component. */
export function statusFromRefs(refs: RefInfo[], deployment: string, target?: string, invalid: InvalidTag[] = []): StatusEntry[] {
  const prefix = deploymentRefPrefix(deployment);
  const rows = new Map<string, StatusEntry>();
  const key = (t: string, c: string) => `${t}\0${c}`;
  const row = (t: string, c: string): StatusEntry => {
    let r = rows.get(key(t, c));
    if (!r) {
      r = { deployment, target: t, component: c, commit: null, release: null, status: null, deployed_by: null, timestamp: null, tag: null };
      rows.set(key(t, c), r);
    }
    return r;
  };
  for (const r of refs) {
    if (!r.ref.startsWith(prefix)) continue;
    const rest = r.ref.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) continue;
    const t = rest.slice(0, slash);
    if (target !== undefined && t !== target) continue;
    row(t, rest.slice(slash + 1)).commit = r.target;
  }
  // Newest first by tag name: only the newest valid record per component is parsed.
  const lazy = new LazyHistory(refs, deployment, invalid);
  for (const t of lazy.tags) {
    if (target !== undefined && t.target !== target) continue;
    if (rows.get(key(t.target, t.component))?.tag) continue;
    const h = lazy.entry(t);
    if (!h) continue;
    const r = row(h.target, h.component);
    r.tag = h.tag;
    r.release = h.release;
    r.status = h.status;
    r.deployed_by = h.deployed_by;
    r.timestamp = h.timestamp;
  }
  return [...rows.values()].sort((a, b) =>
    a.target !== b.target ? (a.target < b.target ? -1 : 1) : a.component < b.component ? -1 : a.component > b.component ? 1 : 0,
  );
}

/**
 * Status of deployments (optionally one target) — ONE git process for all of them:
 * `for-each-ref refs/atmos/deployments/<d>/[<t>/] refs/tags/atmos/deployments/<d>/[<t>/]`.
 */
export async function readStatus(repo: GitRepo, deployments: string[], target?: string, invalid: InvalidTag[] = []): Promise<StatusEntry[]> {
  if (deployments.length === 0) return [];
  const prefixes = deployments.flatMap((d) => [deploymentRefPrefix(d, target), historyTagPrefix(d, target)]);
  const refs = await repo.readRefs(prefixes);
  return deployments.flatMap((d) => statusFromRefs(refs, d, target, invalid));
}

/** `42s`, `5m`, `3h`, `2d` — how long ago `iso` was (relative to `now`). */
export function formatAge(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
