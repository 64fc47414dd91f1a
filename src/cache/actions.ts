/**
 * Action cache (SPEC 4.1): `<cache>/actions/<fingerprint hex>.json` maps a fingerprint to
 * what the step produced. An entry is written atomically and only after every output it
 * names is in the CAS, so a present entry is always usable (a killed run leaves none or a
 * whole one).
 *
 * An entry is never trusted blindly: fingerprints are predictable (`--dry-run` prints them),
 * so anyone who can write the cache directory (or a CI cache restored into it) could plant an
 * entry that makes a failing step look done, or feed edited values downstream. Each entry
 * therefore carries `mac`: `hmac-sha256:<hex>` of the canonical JSON of every other field,
 * keyed by a sub-key derived (HKDF-SHA256, info {@link ACTION_MAC_LABEL}) from the per-repo
 * secret key (`<cache>/secret.key`, which never travels with a copied or shared cache). An
 * entry whose mac is missing or wrong (edited, or written with another key) is a miss, and is
 * counted ({@link ActionCache.rejected}) so the run can say so once.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../steps/fingerprint.js';
import type { Artifact } from '../steps/types.js';
import { type Cas, createExclusive, writeFileAtomic } from './cas.js';
import { digestHex } from './digest.js';

/** HKDF info of the action cache's MAC key: a key derived for one purpose is never reused for another. */
const ACTION_MAC_LABEL = 'atmos-pipe action-cache v1';

export interface ActionEntry {
  fingerprint: string;
  step: string;
  module: string;
  outputs: Record<string, Artifact>;
  /**
   * Size in bytes of each output's blob (a file, or a tree's manifest), by output name: a
   * truncated or replaced blob makes the entry a miss without hashing it.
   */
  sizes?: Record<string, number>;
  values: Record<string, unknown>;
  exitCode: number;
  durationMs: number;
  logDigest?: string;
  createdAt: string;
  /** `hmac-sha256:<hex>` over the canonical JSON of the other fields (set by {@link ActionCache.put}). */
  mac?: string;
}

export class ActionCache {
  readonly dir: string;
  private readonly macKey: Buffer;
  /** Fingerprints of entries that failed authentication (each counted once). */
  private readonly failedAuth = new Set<string>();
  constructor(
    cacheDir: string,
    private readonly cas: Cas,
    /** The per-repo secret key ({@link secretKey}). */
    key: Buffer,
  ) {
    this.dir = path.join(cacheDir, 'actions');
    this.macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), ACTION_MAC_LABEL, 32));
  }

  private mac(e: ActionEntry): string {
    const { mac: _mac, ...fields } = e;
    return `hmac-sha256:${createHmac('sha256', this.macKey).update(canonicalJson(fields)).digest('hex')}`;
  }

  private authentic(e: ActionEntry): boolean {
    if (typeof e.mac !== 'string') return false;
    const want = Buffer.from(this.mac(e));
    const got = Buffer.from(e.mac);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** How many distinct entries were ignored because their mac did not verify. */
  get rejected(): number {
    return this.failedAuth.size;
  }

  private file(fp: string): string {
    return path.join(this.dir, `${digestHex(fp)}.json`);
  }

  /**
   * The entry, if present, authentic, and every artifact it names is still in the CAS with
   * the recorded size (a blob found corrupt is evicted: see {@link Cas.drainEvictions}).
   */
  get(fp: string): ActionEntry | undefined {
    const f = this.file(fp);
    if (!existsSync(f)) return undefined;
    let e: ActionEntry;
    try {
      e = JSON.parse(readFileSync(f, 'utf8')) as ActionEntry;
    } catch {
      return undefined; // unreadable: treat as a miss; the next success overwrites it
    }
    if (e === null || typeof e !== 'object' || e.fingerprint !== fp) return undefined;
    if (!this.authentic(e)) {
      this.failedAuth.add(fp);
      return undefined;
    }
    for (const [name, a] of Object.entries(e.outputs)) if (!this.cas.complete(a, e.sizes?.[name])) return undefined;
    try {
      // Last used now: `cache prune --older-than` removes what no run used for that long.
      const t = new Date();
      utimesSync(f, t, t);
    } catch {
      // a read-only cache is still a cache
    }
    return e;
  }

  /** Write an entry (its output blobs already in the CAS), with their sizes and its mac. */
  put(e: ActionEntry): void {
    const sizes: Record<string, number> = {};
    // Sizes an entry brings (one copied from the remote cache, whose blobs come when needed) are kept.
    for (const [name, a] of Object.entries(e.outputs)) sizes[name] = e.sizes?.[name] ?? statSync(this.cas.pathOf(a.digest)).size;
    const { mac: _mac, ...fields } = e;
    const entry: ActionEntry = { ...fields, sizes };
    writeFileAtomic(this.file(e.fingerprint), `${JSON.stringify({ ...entry, mac: this.mac(entry) }, null, 2)}\n`);
  }
}

/** HKDF info of the key derived from ATMOS_PIPE_CACHE_KEY. */
const SHARED_KEY_LABEL = 'atmos-pipe shared cache key v1';

/**
 * The cache's key: derived from env ATMOS_PIPE_CACHE_KEY when it is set (a CI secret every
 * runner that shares a cache holds: entries, secret HMACs in fingerprints and sealed values
 * then agree across machines), else the random per-cache key (`<cache>/secret.key`, mode
 * 0600), created once, atomically; concurrent first runs agree on whichever key was written
 * first. Neither ever travels with the cache.
 */
export function secretKey(cacheDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const shared = env.ATMOS_PIPE_CACHE_KEY;
  if (shared) return Buffer.from(hkdfSync('sha256', Buffer.from(shared), Buffer.alloc(0), SHARED_KEY_LABEL, 32));
  const f = path.join(cacheDir, 'secret.key');
  if (existsSync(f)) {
    const k = readFileSync(f);
    if (k.length === 32) return k;
    rmSync(f, { force: true }); // damaged (cannot happen with createExclusive, but never trust it)
  }
  createExclusive(f, randomBytes(32), 0o600);
  return readFileSync(f);
}
