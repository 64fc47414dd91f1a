/**
 * Just-in-time vendoring (SPEC 7): Terraform root modules fetched from local paths, Git or
 * HTTPS tarballs, per target, into a content-addressable store, linked into
 * `.atmos/cache/vendor/deployments/<d>/<t>/<module>/` and pinned by a lock file.
 *
 *   ensureVendored(repo, dep, target)   pull what the target needs (a cache hit when the lock is satisfied)
 *   pullVendor(repo, dep, {target?})    the same for one or every target (`vendor pull`)
 *   vendorStatus(repo, deps)            ok | missing | stale | modified per deployment, target and module
 *   vendorCacheStats(cacheDir)          size, objects, references, deduplication savings
 *   vendorClean(cacheDir, {...})        remove links and locks; prune unreferenced objects
 *
 * `resolve` never fetches: it reads the lock and the store (./lookup.ts) and reports a
 * module that still has to be pulled as `deployment/module-missing`.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DeploymentConfig } from '../config/deployment.js';
import { checkTargetArg } from '../config/deployment.js';
import { YamlFileCache } from '../config/files.js';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/index.js';
import type { EventSink } from '../engine/types.js';
import type { Repository } from '../repository.js';
import { checkModuleName, loadVendorConfig, selectEntry, usedModules, type SelectedEntry } from './config.js';
import { applyFilters, UnsafeArchiveError } from './extract.js';
import { FetchError, fetchSource } from './fetch.js';
import { describeOrigin, lockMatches } from './lookup.js';
import {
  cacheStats,
  checkTree,
  clean,
  commitObject,
  describeDiff,
  linkDir,
  linkObject,
  lockPath,
  objectDir,
  readLock,
  removeTree,
  touch,
  treeDigest,
  vendorPaths,
  writeLock,
  type CacheStats,
  type CleanResult,
  type LockEntry,
  type TreeDiff,
  type VendorPaths,
} from './store.js';

export { parseSource, renderSource, renderTemplate, SourceError, type VendorSource } from './source.js';
export { loadVendorConfig, selectEntry, usedModules, targetLabels, type VendorEntry, type SelectedEntry, type VendorConfig, type VendorOrigin } from './config.js';
export { vendorLookup, lockMatches, type ModuleLookup, type VendoredInfo } from './lookup.js';
export { extractTar, copyLocalTree, applyFilters, UnsafeArchiveError } from './extract.js';
export { FetchError } from './fetch.js';
export {
  vendorPaths,
  readLock,
  lockPath,
  objectDir,
  linkDir,
  treeDigest,
  checkTree,
  type TreeCheck,
  type TreeDiff,
  type LockEntry,
  type LockFile,
  type CacheStats,
  type CleanResult,
  type VendorPaths,
} from './store.js';

export type PullStatus = 'cached' | 'pulled' | 'updated' | 'relinked' | 'repaired';

export interface VendorPullItem {
  deployment: string;
  target: string;
  /** Module directory name. */
  component: string;
  source: string;
  version: string | null;
  digest: string;
  pulled_at: string;
  commit?: string;
  origin: string;
  /**
   * cached: nothing fetched; pulled: first fetch; updated: new content; relinked: re-linked
   * from the store; repaired: the store copy was modified, so it was evicted and fetched again.
   */
  status: PullStatus;
}

export interface VendorPullResult {
  deployment: string;
  target: string;
  components: VendorPullItem[];
  /** Modules whose links and lock entries were dropped (no longer configured). */
  removed: string[];
}

export interface EnsureVendoredOptions {
  /** Re-resolve refs and versions, fetching even when the lock is satisfied. */
  update?: boolean;
  /** Notices for pulls (a run's event sink). */
  emit?: EventSink;
  files?: YamlFileCache;
}

interface Planned {
  module: string;
  sel: SelectedEntry;
}

/** The vendored modules of one target: modules the deployment uses that an entry applies to. */
async function planTarget(repo: Repository, dep: DeploymentConfig, target: string, files: YamlFileCache): Promise<Planned[]> {
  const cfg = repo.config;
  const vc = loadVendorConfig(cfg, dep, files);
  const out: Planned[] = [];
  for (const u of await usedModules(cfg, dep, target, files)) {
    const problem = checkModuleName(u.module);
    if (problem)
      throw new DiagnosticError(
        error('vendor/module-name', `module "${u.module}" of terraform component "${u.components[0]}" ${problem}`, u.location, 'metadata.component names a directory below components/terraform'),
      );
    const sel = selectEntry(cfg, vc, dep, target, u.module);
    if (sel) out.push({ module: u.module, sel });
  }
  return out;
}

/** A modified store copy whose source cannot be fetched again: the run stops (exit 1), naming the files. */
function modifiedDiagnostic(p: Planned, target: string, files: string, cause: Error): Diagnostic {
  return error(
    'vendor/modified',
    `vendored module "${p.module}" for target ${target} was modified in the store (${files}), and it cannot be pulled again from ${p.sel.rendered}: ${cause.message}`,
    p.sel.sourceLocation ?? p.sel.location,
    `restore access to ${p.sel.rendered} and run again (the modified copy was evicted; nothing was applied from it)`,
  );
}

function fetchDiagnostic(e: unknown, p: Planned, target: string): Diagnostic | undefined {
  const where = p.sel.sourceLocation ?? p.sel.location;
  if (e instanceof FetchError) return error('vendor/fetch-failed', `vendoring module "${p.module}" for target ${target} from ${p.sel.rendered}: ${e.message}`, where, e.hint);
  if (e instanceof UnsafeArchiveError) {
    return error(
      'vendor/unsafe-archive',
      `vendoring module "${p.module}" for target ${target} from ${p.sel.rendered}: ${e.message}; the source was rejected and nothing of it was kept`,
      where,
      'the archive must hold relative paths only, without "..", devices, or links that leave it',
    );
  }
  return undefined;
}

/**
 * Make sure every vendored module of a target is in the store and linked, fetching only
 * what the lock does not pin (everything with `update`). Local directories are read again
 * each time (they are the repository's own files); Git and HTTP sources whose lock entry
 * matches the configuration are not fetched. Every module is verified against the lock's
 * digest before it is used (see the loop). Config problems: DiagnosticError exit 2; fetch
 * failures and a modified module that cannot be pulled again: exit 1.
 */
export async function ensureVendored(repo: Repository, dep: DeploymentConfig, target: string, opts: EnsureVendoredOptions = {}): Promise<VendorPullResult> {
  checkTargetArg(dep, target);
  const files = opts.files ?? repo.files ?? new YamlFileCache(repo.config.repoRoot);
  const paths = vendorPaths(repo.config.cacheDir);
  const result: VendorPullResult = { deployment: dep.name, target, components: [], removed: [] };
  const lockFile = lockPath(paths, dep.name, target);
  const hasLock = existsSync(lockFile);
  if (!dep.body.vendor && !hasLock) return result;
  const planned = dep.body.vendor ? await planTarget(repo, dep, target, files) : [];
  const lock = readLock(paths, dep.name, target);
  let changed = false;
  const failures: Diagnostic[] = [];
  const notice = (message: string) => opts.emit?.({ type: 'notice', time: new Date().toISOString(), message });

  for (const p of planned) {
    const { module, sel } = p;
    const le = lock.components[module];
    const dest = linkDir(paths, dep.name, target, module);
    const item = (entry: LockEntry, status: PullStatus): VendorPullItem => ({
      deployment: dep.name,
      target,
      component: module,
      source: entry.source,
      version: entry.version,
      digest: entry.digest,
      pulled_at: entry.pulled_at,
      ...(entry.commit ? { commit: entry.commit } : {}),
      origin: describeOrigin(sel),
      status,
    });
    const pinned = le && lockMatches(le, sel) && existsSync(objectDir(paths, le.digest));
    // Before every use, the linked copy (what Terraform reads) is verified against the lock's
    // digest; a modified one is linked again from its store object when that is intact, else
    // the object is evicted and fetched again (the locked commit for Git), or the run stops.
    let repair: string | undefined;
    if (pinned && !opts.update && sel.spec.kind !== 'local') {
      const used = checkTree(paths, dest, le.digest);
      if (!used) {
        touch(objectDir(paths, le.digest));
        result.components.push(item(le, 'cached'));
        continue;
      }
      const object = objectDir(paths, le.digest);
      const stored = checkTree(paths, object, le.digest);
      if (!stored) {
        linkObject(paths, le.digest, dest);
        result.components.push(item(le, 'relinked'));
        notice(
          used.actual === null
            ? `vendor: ${module} relinked from the store (${le.digest.slice(0, 19)})`
            : `vendor: ${module}: its linked copy was modified (${describeDiff(used)}); relinked from the store (${le.digest.slice(0, 19)})`,
        );
        continue;
      }
      repair = describeDiff(stored);
      // Both go: nothing of a modified copy may be applied, even when the source is out of reach.
      removeTree(object);
      removeTree(dest);
      notice(`vendor: ${module}: the store copy of ${le.digest.slice(0, 19)} was modified (${repair}); evicted, pulling it again from ${sel.rendered}`);
    }
    let digest: string;
    let commit: string | undefined;
    try {
      // A repair fetches exactly what was locked: the recorded commit of a Git source.
      const spec = repair && le?.commit && sel.spec.kind === 'git' ? { ...sel.spec, ref: le.commit } : sel.spec;
      const fetched = await fetchSource(paths, spec, { update: opts.update });
      commit = fetched.commit;
      try {
        applyFilters(fetched.dir, sel.included_paths, sel.excluded_paths);
        digest = commitObject(paths, fetched.dir).digest;
      } finally {
        rmSync(path.dirname(fetched.dir), { recursive: true, force: true });
      }
    } catch (e) {
      const d = fetchDiagnostic(e, p, target);
      if (!d) throw e;
      failures.push(repair ? modifiedDiagnostic(p, target, repair, e as Error) : d);
      continue;
    }
    if (repair && digest !== le!.digest) {
      const where = p.sel.sourceLocation ?? p.sel.location;
      failures.push(
        error(
          'vendor/modified',
          `vendored module "${module}" for target ${target} was modified in the store (${repair}), and ${sel.rendered} now gives ${digest.slice(0, 19)}, not the locked ${le!.digest.slice(0, 19)}`,
          where,
          `the source changed since it was locked: \`atmos-pipe vendor pull --deployment ${dep.name} --target ${target} --update\` takes its new content`,
        ),
      );
      continue;
    }
    // The locked content again (a local source read again, a store object fetched again).
    const same = le !== undefined && lockMatches(le, sel) && le.digest === digest;
    if (same && !repair) {
      const used = checkTree(paths, dest, digest);
      if (!used) {
        // Nothing new (a local source read again, or --update found the same content).
        touch(objectDir(paths, digest));
        if (opts.update && sel.spec.kind !== 'local') {
          lock.components[module] = { ...le!, pulled_at: new Date().toISOString(), ...(commit ? { commit } : {}) };
          changed = true;
        }
        result.components.push(item(lock.components[module], 'cached'));
        continue;
      }
      if (used.actual !== null) notice(`vendor: ${module}: its linked copy was modified (${describeDiff(used)}); relinked from the store (${digest.slice(0, 19)})`);
    }
    linkObject(paths, digest, dest);
    const entry: LockEntry = {
      source: sel.rendered,
      version: sel.version ?? null,
      digest,
      pulled_at: same ? le!.pulled_at : new Date().toISOString(),
      ...(commit ? { commit } : {}),
      origin: describeOrigin(sel),
      ...(sel.included_paths?.length ? { included_paths: sel.included_paths } : {}),
      ...(sel.excluded_paths?.length ? { excluded_paths: sel.excluded_paths } : {}),
    };
    lock.components[module] = entry;
    changed = true;
    const status: PullStatus = repair ? 'repaired' : same ? 'relinked' : le ? 'updated' : 'pulled';
    result.components.push(item(entry, status));
    if (!repair) notice(`vendor: ${module} ${status === 'updated' ? 'updated to' : status} ${entry.version ?? ''} ${digest.slice(0, 19)} from ${sel.rendered}`.replace(/\s+/g, ' '));
  }

  // Modules no longer vendored for this target: their links and lock entries go.
  const wanted = new Set(planned.map((p) => p.module));
  for (const module of Object.keys(lock.components)) {
    if (wanted.has(module) || failures.length) continue;
    delete lock.components[module];
    removeTree(linkDir(paths, dep.name, target, module));
    result.removed.push(module);
    changed = true;
  }
  if (changed) {
    if (Object.keys(lock.components).length === 0 && !dep.body.vendor) removeTree(path.dirname(lockFile));
    else writeLock(paths, lock);
  }
  if (failures.length) throw new DiagnosticError(failures, 'failed');
  return result;
}

/** `vendor pull`: one target, or every target of the deployment. */
export async function pullVendor(repo: Repository, dep: DeploymentConfig, opts: EnsureVendoredOptions & { target?: string } = {}): Promise<VendorPullResult[]> {
  const targets = opts.target !== undefined ? [opts.target] : Object.keys(dep.body.targets);
  const out: VendorPullResult[] = [];
  for (const t of targets) out.push(await ensureVendored(repo, dep, t, opts));
  return out;
}

export type VendorState = 'ok' | 'missing' | 'stale' | 'modified';

export interface VendorStatusRow {
  deployment: string;
  target: string;
  component: string;
  /** The configured source (rendered), or the locked one when no longer configured. */
  source: string;
  version: string | null;
  digest: string | null;
  pulled_at: string | null;
  /**
   * ok: pulled as configured, and the linked files match the lock's digest; missing: never
   * pulled (or gone from the store); stale: the lock differs from the configuration;
   * modified: the linked files (what Terraform would read) differ from the lock's digest.
   */
  state: VendorState;
  origin: string | null;
  /** What differs, for stale, missing and modified rows. */
  reason?: string;
  /** Modified rows: the files modified, missing and extra against the lock's digest (when its manifest is known). */
  files?: TreeDiff;
}

/** The state of a linked module against its locked digest: ok, or modified with what differs and where. */
function verified(paths: VendorPaths, dir: string, digest: string): Pick<VendorStatusRow, 'state' | 'reason' | 'files'> {
  const object = objectDir(paths, digest);
  const used = checkTree(paths, dir, digest, object);
  if (!used) return { state: 'ok' };
  const inStore = checkTree(paths, object, digest) !== undefined;
  const where = inStore ? 'modified in the store; the next run evicts it and pulls it again' : 'its linked copy differs from the intact store object; the next run relinks it';
  return { state: 'modified', reason: `${describeDiff(used)}: ${where}`, ...(used.diff ? { files: used.diff } : {}) };
}

/**
 * Per deployment, target and vendored module: what the lock says, whether it is current, and
 * whether the linked files still have the locked digest. Fetches nothing and changes no link
 * or lock; hashing the trees goes through the step CAS (content-addressed blobs a run stores anyway).
 */
export async function vendorStatus(repo: Repository, deps: DeploymentConfig[], opts: { target?: string; files?: YamlFileCache } = {}): Promise<VendorStatusRow[]> {
  const files = opts.files ?? repo.files;
  const paths = vendorPaths(repo.config.cacheDir);
  const rows: VendorStatusRow[] = [];
  for (const dep of deps) {
    const targets = opts.target !== undefined ? Object.keys(dep.body.targets).filter((t) => t === opts.target) : Object.keys(dep.body.targets);
    for (const t of targets) {
      const planned = dep.body.vendor ? await planTarget(repo, dep, t, files) : [];
      const lock = readLock(paths, dep.name, t);
      for (const { module, sel } of planned) {
        const le = lock.components[module];
        const base = { deployment: dep.name, target: t, component: module, source: sel.rendered, version: sel.version ?? null, origin: describeOrigin(sel) };
        if (!le) {
          rows.push({ ...base, digest: null, pulled_at: null, state: 'missing' });
          continue;
        }
        const present = existsSync(objectDir(paths, le.digest)) && existsSync(linkDir(paths, dep.name, t, module));
        if (!lockMatches(le, sel)) {
          const reason = le.source !== sel.rendered ? `locked ${le.source}` : (le.version ?? null) !== (sel.version ?? null) ? `locked version ${le.version}` : 'included/excluded paths changed';
          rows.push({ ...base, digest: le.digest, pulled_at: le.pulled_at, state: 'stale', reason });
        } else if (!present) rows.push({ ...base, digest: le.digest, pulled_at: le.pulled_at, state: 'missing', reason: 'not in the store any more' });
        else rows.push({ ...base, digest: le.digest, pulled_at: le.pulled_at, ...verified(paths, linkDir(paths, dep.name, t, module), le.digest) });
      }
      const wanted = new Set(planned.map((p) => p.module));
      for (const [module, le] of Object.entries(lock.components)) {
        if (wanted.has(module)) continue;
        rows.push({
          deployment: dep.name,
          target: t,
          component: module,
          source: le.source,
          version: le.version,
          digest: le.digest,
          pulled_at: le.pulled_at,
          state: 'stale',
          origin: le.origin ?? null,
          reason: 'no longer vendored for this target',
        });
      }
    }
  }
  return rows;
}

export function vendorCacheStats(cacheDir: string): CacheStats {
  return cacheStats(vendorPaths(cacheDir));
}

export interface VendorCleanOptions {
  deployment?: string;
  target?: string;
  /** Also remove objects (and Git mirrors) no lock references. */
  prune?: boolean;
  /** With prune: only those unused for at least this long. */
  olderThanMs?: number;
  now?: number;
  /** Remove nothing: report what would be removed. */
  dryRun?: boolean;
}

/**
 * Remove links and locks (every deployment's unless one is named; with only `prune`, none),
 * then with `prune` the unreferenced objects older than `olderThanMs`.
 */
export function vendorClean(cacheDir: string, opts: VendorCleanOptions = {}): CleanResult {
  const removeLinks = opts.deployment !== undefined || opts.target !== undefined || !opts.prune;
  return clean(vendorPaths(cacheDir), {
    deployment: opts.deployment,
    target: opts.target,
    removeLinks,
    prune: opts.prune ?? false,
    olderThanMs: opts.olderThanMs ?? 0,
    now: opts.now,
    dryRun: opts.dryRun,
  });
}

/**
 * For release records: the digest of each module vendored for a target as it is linked now
 * (what the Terraform steps read), module → digest. After {@link ensureVendored} it equals the
 * lock's; a release never names the locked digest for content that differs from it.
 */
export function vendoredDigests(cacheDir: string, deployment: string, target: string): Record<string, string> {
  const paths = vendorPaths(cacheDir);
  const lock = readLock(paths, deployment, target);
  return Object.fromEntries(
    Object.keys(lock.components).map((m) => {
      const dir = linkDir(paths, deployment, target, m);
      return [m, existsSync(dir) ? treeDigest(paths, dir) : lock.components[m].digest];
    }),
  );
}
