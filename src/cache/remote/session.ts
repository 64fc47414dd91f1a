/**
 * The remote (shared) cache as one run sees it (SPEC 4.1, README "Shared cache"): another
 * place the scheduler looks for an action entry when the local cache has none, and where it
 * puts what succeeded. It trusts nothing it reads:
 *
 * - every entry carries `mac`: HMAC-SHA256 over its canonical JSON, including the namespace
 *   it was written under, keyed by a key derived (HKDF, {@link REMOTE_MAC_LABEL}) from the
 *   cache key (env ATMOS_PIPE_CACHE_KEY, else the local per-repo key: then only this machine
 *   can verify its own entries). The key never travels with the cache. An entry that does not
 *   verify (forged, edited, copied from another namespace, written with another key) is a miss;
 * - every object is checked against its digest before it enters the local CAS.
 *
 * Reads follow the run's scope (./scope.ts): its own namespace, then the trusted ones; writes
 * go to its own namespace only, and only when the scope allows.
 *
 * Lazy: a hit copies the entry into the local action cache; the objects it names are fetched
 * only when something needs them ({@link RemoteCache.fetch}: a step that runs with them as
 * inputs, a component's outputs that read them). Uploads happen after a step succeeded, in the
 * background with bounded concurrency (p-limit); the run waits for them at its end.
 *
 * Never fails a run: the first error of the remote (unreachable, timing out, refusing) turns
 * it off for the rest of the session with ONE warning, and the run goes on with the local
 * cache; a remote that refuses writes (no push access) is read-only from then on (one warning).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { DiagnosticError, error } from '../../diagnostics/index.js';
import { RegistryError } from '../../oci/registry.js';
import { canonicalJson } from '../../steps/fingerprint.js';
import type { Artifact } from '../../steps/types.js';
import type { ActionEntry } from '../actions.js';
import { Cas } from '../cas.js';
import { isDigest } from '../digest.js';
import type { BlobRef, RemoteBackend } from './backend.js';
import { DirectoryBackend } from './directory.js';
import { OciBackend, parseOciLocation } from './oci.js';
import { cacheScope, type CacheScope } from './scope.js';

/** HKDF info of the remote entries' MAC key (never the local action cache's key itself). */
const REMOTE_MAC_LABEL = 'atmos-pipe remote-cache v1';
const ENTRY_VERSION = 1;
/** Uploads at once. */
const UPLOADS = 4;
/** Object fetches at once (per tree). */
const FETCHES = 8;

/** A remote entry as stored: the entry (without its local mac and log), where it was written, what it names, and its mac. */
interface StoredEntry {
  v: number;
  namespace: string;
  entry: Omit<ActionEntry, 'mac' | 'logDigest'>;
  blobs: BlobRef[];
  mac?: string;
}

/** What one session did, for the run's stats record and the bench. */
export interface RemoteCounters {
  hits: number;
  /** Entries ignored because they did not authenticate. */
  rejected: number;
  fetchedObjects: number;
  fetchedBytes: number;
  uploadedEntries: number;
  uploadedObjects: number;
  uploadedBytes: number;
}

/** Where run notices go: `verbose` ones only with -v. */
export type RemoteNotice = (message: string, verbose?: boolean) => void;

export class RemoteCache {
  readonly counters: RemoteCounters = { hits: 0, rejected: 0, fetchedObjects: 0, fetchedBytes: 0, uploadedEntries: 0, uploadedObjects: 0, uploadedBytes: 0 };
  private readonly macKey: Buffer;
  private readonly cas: Cas;
  private readonly uploads: LimitFunction = pLimit(UPLOADS);
  private readonly pending = new Set<Promise<void>>();
  private readonly fetching = new Map<string, Promise<boolean>>();
  /** Fingerprints whose remote entry named an object the remote could not give: not used again. */
  private readonly unusable = new Set<string>();
  private readonly uploaded = new Set<string>();
  private down = false;
  private readOnly = false;
  private notice: RemoteNotice = () => undefined;

  constructor(
    readonly backend: RemoteBackend,
    readonly scope: CacheScope,
    /** The cache key (src/cache/actions.ts `secretKey`). */
    key: Buffer,
    cacheDir: string,
  ) {
    this.macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), REMOTE_MAC_LABEL, 32));
    this.cas = new Cas(path.join(cacheDir, 'cache'));
  }

  /** Where notices of the current run go. */
  attach(notice: RemoteNotice): void {
    this.notice = notice;
    this.notice(`cache: remote ${this.backend.location}: ${this.scope.why}${this.scope.write ? '' : '; read-only'}`, true);
  }

  /** Whether the remote is still in use (not turned off by an error). */
  get available(): boolean {
    return !this.down;
  }

  private mac(e: StoredEntry): string {
    const { mac: _mac, ...fields } = e;
    return `hmac-sha256:${createHmac('sha256', this.macKey).update(canonicalJson(fields)).digest('hex')}`;
  }

  /** Run a remote operation; its first failure turns the remote off (or read-only, for a refused write) with one warning. */
  private async guard<T>(kind: 'read' | 'write', op: () => Promise<T>, fallback: T): Promise<T> {
    if (this.down || (kind === 'write' && (this.readOnly || !this.scope.write))) return fallback;
    try {
      return await op();
    } catch (e) {
      if (this.down) return fallback;
      const why = ((e as Error)?.message ?? String(e)).split('\n')[0];
      const status = e instanceof RegistryError ? e.status : undefined;
      if (kind === 'write' && (status === 401 || status === 403 || (e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EROFS')) {
        if (!this.readOnly) this.notice(`warning: cache: cannot write to the remote cache ${this.backend.location} (${why}); reading it only`);
        this.readOnly = true;
        return fallback;
      }
      this.down = true;
      this.notice(`warning: cache: the remote cache ${this.backend.location} is unavailable (${why}); continuing with the local cache`);
      return fallback;
    }
  }

  /**
   * The entry of a fingerprint from the first namespace of the scope that has an authentic
   * one; undefined on a miss (or when the remote is off).
   */
  async lookup(fp: string, stepId: string): Promise<ActionEntry | undefined> {
    if (this.unusable.has(fp)) return undefined;
    for (const namespace of this.scope.read) {
      const bytes = await this.guard('read', () => this.backend.getEntry(namespace, fp), undefined);
      if (!bytes) continue;
      const entry = this.authentic(bytes, namespace, fp);
      if (!entry) {
        this.counters.rejected++;
        this.notice(`cache: the remote entry of ${stepId} in namespace ${namespace} failed authentication (forged, edited, or written with another key): ignored`, true);
        continue;
      }
      this.counters.hits++;
      return entry;
    }
    return undefined;
  }

  /** The entry in `bytes` if it is well formed, for this namespace and fingerprint, and its mac verifies. */
  private authentic(bytes: Buffer, namespace: string, fp: string): ActionEntry | undefined {
    let stored: StoredEntry;
    try {
      stored = JSON.parse(bytes.toString('utf8')) as StoredEntry;
    } catch {
      return undefined;
    }
    if (stored === null || typeof stored !== 'object' || stored.v !== ENTRY_VERSION || stored.namespace !== namespace || typeof stored.mac !== 'string') return undefined;
    if (stored.entry === null || typeof stored.entry !== 'object' || stored.entry.fingerprint !== fp || !Array.isArray(stored.blobs)) return undefined;
    const want = Buffer.from(this.mac(stored));
    const got = Buffer.from(stored.mac);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    // Authentic, but still checked as data: every artifact a digest of a known kind.
    const outputs = Object.values(stored.entry.outputs ?? {});
    if (!outputs.every((a) => (a?.kind === 'file' || a?.kind === 'dir') && typeof a.digest === 'string' && isDigest(a.digest))) return undefined;
    return { ...stored.entry };
  }

  /** Forget a fingerprint's remote entry for this session (an object it names could not be had). */
  forget(fp: string): void {
    this.unusable.add(fp);
  }

  /** One object into the local CAS, verified against its digest; false when the remote cannot give it. */
  private blob(digest: string): Promise<boolean> {
    if (this.cas.has(digest)) return Promise.resolve(true);
    let p = this.fetching.get(digest);
    if (p) return p;
    p = this.guard(
      'read',
      async () => {
        const data = await this.backend.getBlob(digest);
        if (!data) return false;
        if (!this.cas.putFetched(digest, data)) {
          this.notice(`cache: the remote object ${digest} does not match its digest: ignored`);
          return false;
        }
        this.counters.fetchedObjects++;
        this.counters.fetchedBytes += data.length;
        return true;
      },
      false,
    ).finally(() => this.fetching.delete(digest));
    this.fetching.set(digest, p);
    return p;
  }

  /** Fetch what an artifact names that the local CAS lacks (a tree: its manifest, then its files); false when something could not be had. */
  async fetch(a: Artifact): Promise<boolean> {
    if (!(await this.blob(a.digest))) return false;
    if (a.kind === 'file') return true;
    let files: string[];
    try {
      files = this.cas
        .verifiedManifest(a.digest)
        .entries.filter((e) => e.type === 'file' && !this.cas.has(e.digest!))
        .map((e) => e.digest!);
    } catch {
      return false;
    }
    const limit = pLimit(FETCHES);
    const got = await Promise.all([...new Set(files)].map((d) => limit(() => this.blob(d))));
    return got.every(Boolean);
  }

  /** Every object an entry names (outputs; a tree's files), with sizes, from the local CAS; undefined when one is missing here. */
  private blobsOf(e: ActionEntry): BlobRef[] | undefined {
    const out = new Map<string, number>();
    try {
      for (const a of Object.values(e.outputs)) {
        out.set(a.digest, statSync(this.cas.pathOf(a.digest)).size);
        if (a.kind === 'dir') for (const f of this.cas.manifest(a.digest).entries) if (f.type === 'file') out.set(f.digest!, f.size ?? statSync(this.cas.pathOf(f.digest!)).size);
      }
    } catch {
      return undefined;
    }
    return [...out].map(([digest, size]) => ({ digest, size }));
  }

  /**
   * Put an entry (written locally after its step succeeded, or found locally) under the run's
   * namespace, in the background, unless the remote has it already; its objects first.
   */
  upload(e: ActionEntry): void {
    const ns = this.scope.namespace;
    if (this.down || this.readOnly || !this.scope.write || ns === undefined || this.uploaded.has(e.fingerprint)) return;
    this.uploaded.add(e.fingerprint);
    const job = this.uploads(() =>
      this.guard(
        'write',
        async () => {
          if (await this.backend.hasEntry(ns, e.fingerprint)) return;
          const blobs = this.blobsOf(e);
          if (!blobs) return; // not all here (an entry copied from the remote whose objects never came)
          for (const b of blobs) {
            if (await this.backend.hasBlob(b.digest)) continue;
            const data = this.cas.readBytes(b.digest);
            await this.backend.putBlob(b.digest, data);
            this.counters.uploadedObjects++;
            this.counters.uploadedBytes += data.length;
          }
          const { mac: _mac, logDigest: _log, ...entry } = e;
          const stored: StoredEntry = { v: ENTRY_VERSION, namespace: ns, entry, blobs };
          const bytes = Buffer.from(`${JSON.stringify({ ...stored, mac: this.mac(stored) })}\n`);
          await this.backend.putEntry(ns, e.fingerprint, bytes, { blobs, createdAt: e.createdAt, step: e.step });
          this.counters.uploadedEntries++;
          this.counters.uploadedBytes += bytes.length;
        },
        undefined,
      ),
    );
    this.pending.add(job);
    void job.finally(() => this.pending.delete(job));
  }

  /** Wait for the uploads started so far. */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }
}

/** The remote cache setting: `oci://<registry>/<repository>`, a directory (absolute, relative or `file://`), or `off`. */
export function remoteBackend(spec: string, baseDir: string, opts: { timeoutSeconds?: number } = {}): RemoteBackend | undefined {
  const s = spec.trim();
  if (s === '' || s === 'off' || s === 'none') return undefined;
  if (s.startsWith('oci://')) {
    const where = parseOciLocation(s);
    if (!where) {
      throw new DiagnosticError(
        error('cache/remote', `cache remote "${spec}" is not oci://<registry>/<repository>`, undefined, 'e.g. oci://ghcr.io/acme/atmos-cache (repository: lowercase, / separated)'),
      );
    }
    return new OciBackend(where, opts);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('file://')) {
    throw new DiagnosticError(error('cache/remote', `cache remote "${spec}": unknown scheme`, undefined, 'use oci://<registry>/<repository>, or a shared directory (a path or file:///path)'));
  }
  return new DirectoryBackend(path.resolve(baseDir, s.startsWith('file://') ? decodeURIComponent(new URL(s).pathname) : s));
}

export interface OpenRemoteOptions {
  /** `--cache-remote` (wins), relative to `cwd`. */
  flag?: string;
  cwd?: string;
  /** `deployments.cache.remote`, relative to the repository root. */
  configured?: string;
  trustedRefs?: string[];
  repoRoot: string;
  cacheDir: string;
  env?: NodeJS.ProcessEnv;
  registryTimeoutSeconds?: number;
}

/**
 * The run's remote cache, or undefined when none is configured (or `off`); an invalid setting
 * is a DiagnosticError (exit 2). `key` is asked for only when there is one: a run without a
 * remote creates no key here (a refused run writes nothing).
 */
export function openRemoteCache(o: OpenRemoteOptions, key: () => Buffer): RemoteCache | undefined {
  const spec = o.flag ?? o.configured;
  if (spec === undefined) return undefined;
  // A remote cache must answer quickly or be left: 30 s per request unless configured.
  const backend = remoteBackend(spec, o.flag !== undefined ? (o.cwd ?? process.cwd()) : o.repoRoot, { timeoutSeconds: o.registryTimeoutSeconds ?? 30 });
  if (!backend) return undefined;
  return new RemoteCache(backend, cacheScope(o.env ?? process.env, o.repoRoot, o.trustedRefs), key(), o.cacheDir);
}
