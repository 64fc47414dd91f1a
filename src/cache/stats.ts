/**
 * `cache stats` and `cache prune` (local and `--remote`). Every run records how its cacheable
 * steps were served (`<cache>/stats/<run id>.json`: local hits, remote hits, misses, what the
 * remote cache moved); the stats add them up into hit rates. Ages are last use for local
 * entries (a hit touches its entry) and time written for remote ones.
 *
 * Pruning never makes the cache lie: an entry goes before the objects only it named, and an
 * object removed from under a run (or named by an entry copied from the remote) is found
 * missing when it is used, which makes its step run again.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ActionEntry } from './actions.js';
import { writeFileAtomic } from './cas.js';
import { willCreate } from './provisional.js';
import { parseManifest } from './tree.js';
import type { RemoteEntryInfo } from './remote/backend.js';
import type { RemoteCache } from './remote/session.js';

/** One run's record. */
export interface RunStats {
  runId: string;
  time: string;
  hitsLocal: number;
  hitsRemote: number;
  misses: number;
  remote?: Record<string, number | string | boolean>;
}

const statsDir = (cacheDir: string) => path.join(cacheDir, 'cache', 'stats');

export function writeRunStats(cacheDir: string, s: RunStats): void {
  const file = path.join(statsDir(cacheDir), `${s.runId}.json`);
  // A command that ends refused (exit 2/3, e.g. a rollout's build before its approval check) writes nothing: taken back then.
  willCreate(file);
  writeFileAtomic(file, `${JSON.stringify(s)}\n`);
}

function runStats(cacheDir: string): { file: string; stats: RunStats }[] {
  const dir = statsDir(cacheDir);
  if (!existsSync(dir)) return [];
  const out: { file: string; stats: RunStats }[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push({ file: path.join(dir, f), stats: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as RunStats });
    } catch {
      // a damaged record counts as none
    }
  }
  return out;
}

/** Files of a directory with their size and modification time (none when it does not exist). */
function files(dir: string, keep: (name: string) => boolean): { file: string; size: number; mtime: Date }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(keep)
    .map((n) => {
      const st = statSync(path.join(dir, n));
      return { file: path.join(dir, n), size: st.size, mtime: st.mtime };
    });
}

const isBlob = (n: string) => /^[0-9a-f]{64}$/.test(n);
const isEntry = (n: string) => /^[0-9a-f]{64}\.json$/.test(n);

function hitRate(hits: number, misses: number): number | null {
  return hits + misses === 0 ? null : Math.round((hits / (hits + misses)) * 1000) / 1000;
}

export interface LocalCacheStats {
  objects: number;
  bytes: number;
  entries: number;
  oldest_entry: string | null;
  newest_entry: string | null;
  runs: number;
  hits_local: number;
  hits_remote: number;
  misses: number;
  /** Hits of cacheable steps over all recorded runs (null without any). */
  hit_rate: number | null;
  last_run: RunStats | null;
  remote_fetched_bytes: number;
  remote_fetched_objects: number;
  remote_uploaded_entries: number;
}

export function localCacheStats(cacheDir: string): LocalCacheStats {
  const root = path.join(cacheDir, 'cache');
  const blobs = files(path.join(root, 'cas', 'sha256'), isBlob);
  const entries = files(path.join(root, 'actions'), isEntry).sort((a, b) => a.mtime.getTime() - b.mtime.getTime());
  const runs = runStats(cacheDir).map((r) => r.stats);
  const sum = (f: (r: RunStats) => unknown) => runs.reduce((n, r) => n + (Number(f(r)) || 0), 0);
  const hitsLocal = sum((r) => r.hitsLocal);
  const hitsRemote = sum((r) => r.hitsRemote);
  const misses = sum((r) => r.misses);
  return {
    objects: blobs.length,
    bytes: blobs.reduce((n, b) => n + b.size, 0),
    entries: entries.length,
    oldest_entry: entries[0]?.mtime.toISOString() ?? null,
    newest_entry: entries[entries.length - 1]?.mtime.toISOString() ?? null,
    runs: runs.length,
    hits_local: hitsLocal,
    hits_remote: hitsRemote,
    misses,
    hit_rate: hitRate(hitsLocal + hitsRemote, misses),
    last_run: runs[runs.length - 1] ?? null,
    remote_fetched_bytes: sum((r) => r.remote?.fetchedBytes),
    remote_fetched_objects: sum((r) => r.remote?.fetchedObjects),
    remote_uploaded_entries: sum((r) => r.remote?.uploadedEntries),
  };
}

export interface PruneResult {
  /** Whether anything was removed (false with --dry-run). */
  removed: boolean;
  entries: number;
  objects: number;
  bytes: number;
}

/** Digests an entry names: outputs, a tree's files, its log. */
function named(cas: string, e: ActionEntry): string[] {
  const out: string[] = [];
  for (const a of Object.values(e.outputs ?? {})) {
    out.push(a.digest);
    if (a.kind !== 'dir') continue;
    try {
      const m = parseManifest(readFileSync(path.join(cas, a.digest.slice(7))), a.digest);
      for (const f of m.entries) if (f.digest) out.push(f.digest);
    } catch {
      // a missing or damaged tree names nothing more
    }
  }
  if (e.logDigest) out.push(e.logDigest);
  return out;
}

/**
 * Remove local action entries not used since `before`, then the objects no remaining entry
 * names and nothing wrote since `before`, and run records older than it.
 */
export function pruneLocalCache(cacheDir: string, before: Date, dryRun: boolean): PruneResult {
  const root = path.join(cacheDir, 'cache');
  const cas = path.join(root, 'cas', 'sha256');
  const entries = files(path.join(root, 'actions'), isEntry);
  const old = entries.filter((e) => e.mtime < before);
  const keep = new Set<string>();
  for (const e of entries) {
    if (e.mtime < before) continue;
    try {
      for (const d of named(cas, JSON.parse(readFileSync(e.file, 'utf8')) as ActionEntry)) keep.add(d);
    } catch {
      // unreadable: a miss anyway, it names nothing
    }
  }
  const blobs = files(cas, isBlob).filter((b) => b.mtime < before && !keep.has(`sha256:${path.basename(b.file)}`));
  if (!dryRun) {
    for (const e of old) rmSync(e.file, { force: true });
    for (const b of blobs) rmSync(b.file, { force: true });
    for (const r of runStats(cacheDir)) if (Date.parse(r.stats.time) < before.getTime()) rmSync(r.file, { force: true });
  }
  return { removed: !dryRun, entries: old.length, objects: blobs.length, bytes: blobs.reduce((n, b) => n + b.size, 0) };
}

export interface RemoteCacheStats {
  location: string;
  namespaces: { namespace: string; entries: number; bytes: number; oldest: string | null; newest: string | null }[];
  entries: number;
  /** Bytes of entries and the objects they name, each object counted once. */
  bytes: number;
  objects: number;
}

function sizeOf(list: RemoteEntryInfo[]): { bytes: number; objects: number } {
  const blobs = new Map<string, number>();
  let bytes = 0;
  for (const e of list) {
    bytes += e.size - e.blobs.reduce((n, b) => n + b.size, 0);
    for (const b of e.blobs) blobs.set(b.digest, b.size);
  }
  for (const s of blobs.values()) bytes += s;
  return { bytes, objects: blobs.size };
}

export async function remoteCacheStats(remote: RemoteCache): Promise<RemoteCacheStats> {
  const all = await remote.backend.list();
  const byNs = new Map<string, RemoteEntryInfo[]>();
  for (const e of all) byNs.set(e.namespace, [...(byNs.get(e.namespace) ?? []), e]);
  const namespaces = [...byNs]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([namespace, list]) => {
      const times = list.map((e) => e.createdAt).sort();
      return { namespace, entries: list.length, bytes: sizeOf(list).bytes, oldest: times[0] ?? null, newest: times[times.length - 1] ?? null };
    });
  return { location: remote.backend.location, namespaces, entries: all.length, ...sizeOf(all) };
}

/** Remove remote entries written before `before` (every namespace), and the objects only they named where the backend can. */
export async function pruneRemoteCache(remote: RemoteCache, before: Date, dryRun: boolean): Promise<PruneResult> {
  const old = (await remote.backend.list()).filter((e) => Date.parse(e.createdAt) < before.getTime());
  if (dryRun) return { removed: false, entries: old.length, objects: 0, bytes: 0 };
  const freed = await remote.backend.remove(old, before);
  return { removed: true, entries: old.length, ...freed };
}
