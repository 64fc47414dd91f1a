/**
 * Deployment history (SPEC 6): the history tags of a deployment, parsed into entries, and
 * what each target currently runs. Every read is ONE `git for-each-ref` whatever the number
 * of refs and tags; everything else here is pure over its result.
 *
 * Two ways to parse, one entry type:
 * - eagerly (`historyFromRefs`): every record, newest first by record timestamp — for the
 *   callers that walk the whole history (policy, rollout);
 * - lazily (`LazyHistory`): a history tag's name already holds its target, component and
 *   timestamp (`atmos/deployments/<d>/<t>/<component>/<timestamp>`), so the tags are ordered
 *   by name and only the records needed are parsed (the newest non-failed one per target or
 *   component, usually the first one looked at). With thousands of tags this is what keeps
 *   the read and promotion commands fast.
 *
 * The current-release queries give the same answer on either whenever each tag's name
 * matches its record, which is how tags are written (`historyTagName(record.timestamp)`).
 * The record format itself lives in records.ts.
 */
import type { GitRepo, RefInfo } from './git.js';
import { deploymentRefPrefix, historyTagPrefix, parseDeploymentRecord, parseHistoryTag, type DeploymentRecord, type DeploymentStatus } from './records.js';

/** A tag that is not a valid record (history or release): reported, never fatal. */
export interface InvalidTag {
  tag: string;
  error: string;
}

export interface HistoryEntry extends DeploymentRecord {
  /** History tag name (without refs/tags/). */
  tag: string;
}

/**
 * The record of one history tag, or an error message when it is not an annotated tag or its
 * message does not parse.
 */
function parseHistoryRef(info: RefInfo, tag: string): HistoryEntry | string {
  if (info.type !== 'tag' || info.message === undefined) return 'not an annotated tag';
  try {
    return { tag, ...parseDeploymentRecord(info.message) };
  } catch (e) {
    return (e as Error).message;
  }
}

// ------------------------------------------------------------------ eager parsing

/** History entries out of `readRefs` results, newest first (unparseable tags go to `invalid`). */
export function historyFromRefs(refs: RefInfo[], deployment: string, invalid: InvalidTag[] = []): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const r of refs) {
    if (!r.ref.startsWith('refs/tags/')) continue;
    const parts = parseHistoryTag(r.ref);
    if (!parts || parts.deployment !== deployment) continue;
    const tag = r.ref.slice('refs/tags/'.length);
    const e = parseHistoryRef(r, tag);
    if (typeof e === 'string') invalid.push({ tag, error: e });
    else out.push(e);
  }
  return out.sort((a, b) => newestFirst(a.timestamp, a.tag, b.timestamp, b.tag));
}

/** Newest first: by timestamp, then by tag name (descending) for a stable order. */
function newestFirst(ta: string, a: string, tb: string, b: string): number {
  if (ta !== tb) return ta < tb ? 1 : -1;
  return a < b ? 1 : a > b ? -1 : 0;
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

/** Whether an entry (or a tag, by its name) passes a filter's target, component and time bounds. */
function matcher(f: HistoryFilter): (e: { target: string; component: string; timestamp: string }) => boolean {
  const since = f.since !== undefined ? Date.parse(f.since) : undefined;
  const until = f.until !== undefined ? Date.parse(f.until) : undefined;
  return (e) => {
    if (f.target !== undefined && e.target !== f.target) return false;
    if (f.component !== undefined && e.component !== f.component) return false;
    const t = Date.parse(e.timestamp);
    if (since !== undefined && !(t >= since)) return false;
    if (until !== undefined && !(t <= until)) return false;
    return true;
  };
}

/** The entries of a parsed history that pass `f` (the first `f.limit` of them). */
export function filterHistory(entries: HistoryEntry[], f: HistoryFilter): HistoryEntry[] {
  const out = entries.filter(matcher(f));
  return f.limit !== undefined ? out.slice(0, f.limit) : out;
}

// ------------------------------------------------------------------- lazy parsing

export interface IndexedTag {
  info: RefInfo;
  /** Tag name (without refs/tags/). */
  tag: string;
  target: string;
  component: string;
  /** ISO-8601, from the tag name. */
  timestamp: string;
}

/** The history tags of `deployment` among `refs`, newest first (by name: timestamp, then tag). */
export function indexHistoryTags(refs: RefInfo[], deployment: string): IndexedTag[] {
  const out: IndexedTag[] = [];
  for (const info of refs) {
    if (!info.ref.startsWith('refs/tags/')) continue;
    const p = parseHistoryTag(info.ref);
    if (!p || p.deployment !== deployment) continue;
    out.push({ info, tag: info.ref.slice('refs/tags/'.length), target: p.target, component: p.component, timestamp: p.timestamp });
  }
  return out.sort((a, b) => newestFirst(a.timestamp, a.tag, b.timestamp, b.tag));
}

/**
 * History tags parsed on demand (each at most once). A tag whose record does not parse, or
 * does not match its name, is reported in `invalid` and skipped.
 */
export class LazyHistory {
  readonly tags: IndexedTag[];
  private readonly parsed = new Map<IndexedTag, HistoryEntry | null>();

  constructor(
    refs: RefInfo[],
    readonly deployment: string,
    private readonly invalid: InvalidTag[] = [],
  ) {
    this.tags = indexHistoryTags(refs, deployment);
  }

  /** The record of a tag; undefined (and reported) when it is not a valid record of that tag. */
  entry(t: IndexedTag): HistoryEntry | undefined {
    let e = this.parsed.get(t);
    if (e === undefined) {
      e = null;
      const r = parseHistoryRef(t.info, t.tag);
      if (typeof r === 'string') this.invalid.push({ tag: t.tag, error: r });
      else if (r.deployment !== this.deployment || r.target !== t.target || r.component !== t.component) {
        this.invalid.push({ tag: t.tag, error: `record is for ${r.deployment}/${r.target}/${r.component}, not what the tag name says` });
      } else e = r;
      this.parsed.set(t, e);
    }
    return e ?? undefined;
  }

  /** The newest entry that did not fail among the tags `match` selects (by name, before parsing). */
  current(match: (t: IndexedTag) => boolean): HistoryEntry | undefined {
    for (const t of this.tags) {
      if (!match(t)) continue;
      const e = this.entry(t);
      if (e && ok(e)) return e;
    }
    return undefined;
  }

  /** Current entry of every target (newest non-failed), for the given targets. */
  currentByTarget(targets: Iterable<string>): Map<string, HistoryEntry> {
    const out = new Map<string, HistoryEntry>();
    for (const name of targets) {
      const e = this.current((t) => t.target === name);
      if (e) out.set(name, e);
    }
    return out;
  }

  /** The entries that pass `f`, newest first, parsing only those returned (the first `f.limit`). */
  filter(f: HistoryFilter): HistoryEntry[] {
    const match = matcher(f);
    const out: HistoryEntry[] = [];
    for (const t of this.tags) {
      if (f.limit !== undefined && out.length >= f.limit) break;
      if (!match(t)) continue;
      const e = this.entry(t);
      if (e) out.push(e);
    }
    return out;
  }
}

/**
 * History of a deployment (optionally one target), newest first — ONE git process. The tag
 * names carry target, component and timestamp, so filtering happens before parsing and only
 * the records returned (e.g. the first `limit`) are parsed.
 */
export async function readHistory(repo: GitRepo, deployment: string, filter: HistoryFilter = {}, invalid: InvalidTag[] = []): Promise<HistoryEntry[]> {
  const refs = await repo.readRefs(historyTagPrefix(deployment, filter.target));
  return new LazyHistory(refs, deployment, invalid).filter(filter);
}

// --------------------------------------------------------- current-release queries

export interface TargetRelease {
  target: string;
  /** Release id of the newest successful (or rollback) deployment; null when unknown. */
  release: string | null;
  git_sha: string;
  timestamp: string;
  deployed_by: string;
  /** A dirty release (made with --allow-dirty): never promoted. */
  dirty?: boolean;
  /** The history entry that decided it. */
  entry: HistoryEntry;
}

/** A deployment that did not fail (a success or a rollback): what then ran. */
const ok = (e: HistoryEntry) => e.status !== 'failed';

/**
 * The current release of every target: the newest non-failed history entry of the target
 * (history is newest first, as returned by readHistory / historyFromRefs).
 */
export function currentReleases(history: HistoryEntry[]): Map<string, TargetRelease> {
  const out = new Map<string, TargetRelease>();
  for (const e of history) {
    if (!ok(e) || out.has(e.target)) continue;
    out.set(e.target, { target: e.target, release: e.release, git_sha: e.git_sha, timestamp: e.timestamp, deployed_by: e.deployed_by, ...(e.dirty ? { dirty: true } : {}), entry: e });
  }
  return out;
}

/** Whether `release` was ever deployed successfully (or rolled back to) in `target`. */
export function everDeployed(history: HistoryEntry[], target: string, release: string): boolean {
  return history.some((e) => e.target === target && e.release === release && ok(e));
}

/** The newest non-failed entry for one component of one target, if any. */
export function currentOfComponent(history: HistoryEntry[], target: string, component: string): HistoryEntry | undefined {
  return history.find((e) => e.target === target && e.component === component && ok(e));
}

// ------------------------------------------------------------------------- status

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
  return [...rows.values()].sort((a, b) => (a.target !== b.target ? (a.target < b.target ? -1 : 1) : a.component < b.component ? -1 : a.component > b.component ? 1 : 0));
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

/** `42s`, `5m`, `3h`, `2d` — how long ago `iso` (an entry's timestamp) was, relative to `now`. */
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
