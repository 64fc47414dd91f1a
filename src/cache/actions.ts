/**
 * Action cache (SPEC 4.1): `<cache>/actions/<fingerprint hex>.json` maps a fingerprint to
 * what the step produced. An entry is written atomically and only after every output it
 * names is in the CAS, so a present entry is always usable (a killed run leaves none or a
 * whole one).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Artifact } from '../steps/types.js';
import { Cas, createExclusive, hexOf, writeFileAtomic } from './cas.js';

export interface ActionEntry {
  fingerprint: string;
  step: string;
  module: string;
  outputs: Record<string, Artifact>;
  values: Record<string, unknown>;
  exitCode: number;
  durationMs: number;
  logDigest?: string;
  createdAt: string;
}

export class ActionCache {
  readonly dir: string;
  constructor(
    cacheDir: string,
    private readonly cas: Cas,
  ) {
    this.dir = path.join(cacheDir, 'actions');
  }

  private file(fp: string): string {
    return path.join(this.dir, `${hexOf(fp)}.json`);
  }

  /** The entry, if present and every artifact it names is still in the CAS. */
  get(fp: string): ActionEntry | undefined {
    const f = this.file(fp);
    if (!existsSync(f)) return undefined;
    let e: ActionEntry;
    try {
      e = JSON.parse(readFileSync(f, 'utf8')) as ActionEntry;
    } catch {
      return undefined; // unreadable: treat as a miss; the next success overwrites it
    }
    if (e.fingerprint !== fp) return undefined;
    for (const a of Object.values(e.outputs)) if (!this.cas.complete(a)) return undefined;
    return e;
  }

  put(e: ActionEntry): void {
    writeFileAtomic(this.file(e.fingerprint), JSON.stringify(e, null, 2) + '\n');
  }
}

/**
 * The random per-cache HMAC key for secrets (`<cache>/secret.key`, mode 0600). Created once,
 * atomically; concurrent first runs agree on whichever key was written first.
 */
export function secretKey(cacheDir: string): Buffer {
  const f = path.join(cacheDir, 'secret.key');
  if (existsSync(f)) {
    const k = readFileSync(f);
    if (k.length === 32) return k;
    rmSync(f, { force: true }); // damaged (cannot happen with createExclusive, but never trust it)
  }
  createExclusive(f, randomBytes(32), 0o600);
  return readFileSync(f);
}
