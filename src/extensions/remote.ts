/**
 * Modules from elsewhere (SPEC 8): `uses: <source>//<path>?ref=<version>`, a Git URL, an
 * https tarball or a local path, in the vendoring syntax (src/vendoring/source.ts). A Git or
 * https module is fetched through the vendor store (its objects are immutable trees named by
 * digest) and pinned in `modules.lock.yaml` at the repository root, which is committed: the
 * lock says which content a `uses:` string means, so a branch that moves or a tarball that is
 * replaced cannot change what runs. Before every load the stored tree is verified against the
 * pinned digest; a modified copy is evicted and fetched again at the pinned commit, and loads
 * only when it has the pinned digest again.
 *
 * An unpinned remote module is pinned on first use on a workstation, and refused in CI
 * (`CI=true`): what CI runs must be what someone reviewed and committed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../cache/cas.js';
import { isDigest } from '../cache/digest.js';
import { containmentProblem } from '../config/paths.js';
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';
import type { EventSink } from '../engine/types.js';
import type { AnyModule } from '../module/index.js';
import { recordModuleDigest } from '../module/digest.js';
import type { Repository } from '../repository.js';
import { checkTree, commitObject, describeDiff, objectDir, removeTree, vendorPaths, type LockEntry, type VendorPaths } from '../vendoring/store.js';
import { FetchError, fetchSource } from '../vendoring/fetch.js';
import { UnsafeArchiveError } from '../vendoring/extract.js';
import { parseSource, SourceError, type VendorSource } from '../vendoring/source.js';
import { dumpPlain, loadPlain } from '../yaml/plain.js';
import { importScript, readUnit } from './compile.js';
import { exportedModules, moduleEntry, type ExtensionOrigin, type LoadedModule } from './exports.js';

/** The lock of remote modules, at the repository root (committed, unlike `.atmos/`). */
const MODULES_LOCK = 'modules.lock.yaml';

export interface ResolveModuleOptions {
  /** Refuse a remote module that is not pinned (default: the CI variable is set). */
  ci?: boolean;
  /** Notices: a module pinned, a modified store copy evicted. */
  emit?: EventSink;
  /** Where the `uses:` is written (a pipeline file, a deployment's `steps:`). */
  location?: Location;
}

/** Whether the environment is a CI run (CI set to anything but false or 0). */
function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== 'false' && v !== '0';
}

function lockFile(repo: Repository): string {
  return path.join(repo.config.repoRoot, MODULES_LOCK);
}

/**
 * The pins. Unlike the vendor lock in the cache, this one is reviewed and committed: a file
 * that does not read as pins is an error, never an empty lock (which would re-pin whatever the
 * sources give now).
 */
function readModulesLock(repo: Repository): Record<string, LockEntry> {
  const file = lockFile(repo);
  if (!existsSync(file)) return {};
  let doc: unknown;
  try {
    doc = loadPlain(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DiagnosticError(error('module/lock', `${MODULES_LOCK} is not valid YAML: ${(e as Error).message}`, { file: MODULES_LOCK, line: 1, col: 1 }, 'restore it from Git'));
  }
  const modules = (doc as { modules?: unknown } | null)?.modules ?? {};
  const entries = typeof modules === 'object' && modules !== null ? Object.entries(modules as Record<string, Partial<LockEntry>>) : [];
  const bad = entries.find(([, e]) => typeof e?.digest !== 'string' || !isDigest(e.digest) || typeof e.source !== 'string');
  if (bad || typeof modules !== 'object' || modules === null) {
    throw new DiagnosticError(
      error(
        'module/lock',
        `${MODULES_LOCK}: ${bad ? `the entry of ${bad[0]} has no valid source and sha256 digest` : '"modules" must be a mapping'}`,
        { file: MODULES_LOCK, line: 1, col: 1 },
        'restore it from Git',
      ),
    );
  }
  return Object.fromEntries(entries) as Record<string, LockEntry>;
}

function writeModulesLock(repo: Repository, modules: Record<string, LockEntry>): void {
  const sorted = Object.fromEntries(Object.entries(modules).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const header = '# Written by atmos-pipe: the remote modules this repository uses, pinned by digest.\n# Commit it: CI refuses a remote module that is not pinned here.\n';
  writeFileAtomic(lockFile(repo), header + dumpPlain({ modules: sorted }));
}

/** A fetch problem as a run failure (exit 1): the source is out of reach, not misconfigured. */
function fetchFailure(e: unknown, uses: string, location: Location | undefined): DiagnosticError {
  if (e instanceof FetchError) return new DiagnosticError(error('module/fetch-failed', `fetching module ${uses}: ${e.message}`, location, e.hint), 'failed');
  if (e instanceof UnsafeArchiveError) return new DiagnosticError(error('module/unsafe-archive', `fetching module ${uses}: ${e.message}; nothing of it was kept`, location), 'failed');
  throw e;
}

/** Fetch a source into the vendor store: its tree's digest and, for Git, the commit. */
async function fetchIntoStore(paths: VendorPaths, src: VendorSource, uses: string, location: Location | undefined): Promise<{ digest: string; commit?: string }> {
  try {
    const fetched = await fetchSource(paths, src);
    return { digest: commitObject(paths, fetched.dir).digest, ...(fetched.commit ? { commit: fetched.commit } : {}) };
  } catch (e) {
    throw fetchFailure(e, uses, location);
  }
}

/** The pinned tree of a Git or https module, verified (fetched and pinned first when it is new). */
async function pinnedTree(repo: Repository, uses: string, src: Exclude<VendorSource, { kind: 'local' }>, opts: ResolveModuleOptions): Promise<{ dir: string; entry: LockEntry }> {
  const paths = vendorPaths(repo.config.cacheDir);
  const lock = readModulesLock(repo);
  const notice = (message: string) => opts.emit?.({ type: 'notice', time: new Date().toISOString(), message });
  const pinned = lock[uses];
  if (pinned) {
    const dir = objectDir(paths, pinned.digest);
    if (existsSync(dir)) {
      const check = checkTree(paths, dir, pinned.digest);
      if (!check) return { dir, entry: pinned };
      removeTree(dir);
      notice(`module ${uses}: the stored copy of ${pinned.digest.slice(0, 19)} was modified (${describeDiff(check)}); evicted, fetching it again`);
    }
    // Exactly what was pinned: the recorded commit of a Git source.
    const again = await fetchIntoStore(paths, src.kind === 'git' && pinned.commit ? { ...src, ref: pinned.commit } : src, uses, opts.location);
    if (again.digest !== pinned.digest) {
      throw new DiagnosticError(
        error(
          'module/digest-mismatch',
          `module ${uses} is pinned to ${pinned.digest.slice(0, 19)} in ${MODULES_LOCK}, but its source now gives ${again.digest.slice(0, 19)}; it was not loaded`,
          opts.location,
          `review the new content; to use it, remove its entry from ${MODULES_LOCK} (it is pinned again on the next run)`,
        ),
      );
    }
    return { dir: objectDir(paths, pinned.digest), entry: pinned };
  }
  if (opts.ci ?? inCi()) {
    throw new DiagnosticError(
      error(
        'module/unpinned',
        `module ${uses} is not pinned in ${MODULES_LOCK}; CI runs only pinned remote modules`,
        opts.location,
        `run \`atmos-pipe modules\` on a workstation: it fetches the module and pins its digest in ${MODULES_LOCK}; review and commit that file`,
      ),
    );
  }
  const got = await fetchIntoStore(paths, src, uses, opts.location);
  const entry: LockEntry = {
    source: uses,
    version: src.kind === 'git' ? (src.ref ?? null) : null,
    digest: got.digest,
    pulled_at: new Date().toISOString(),
    ...(got.commit ? { commit: got.commit } : {}),
  };
  writeModulesLock(repo, { ...readModulesLock(repo), [uses]: entry });
  notice(`module ${uses} pinned at ${got.digest.slice(0, 19)} in ${MODULES_LOCK}`);
  return { dir: objectDir(paths, got.digest), entry };
}

/**
 * The module a `uses:` source names (a Git URL, an https tarball or a local path with its
 * `//<path>` and `?ref=`): fetched and pinned (see the file's comment), verified, imported,
 * with its content digest recorded for the fingerprints of its steps. The directory must hold
 * one module (`index.{ts,mts,js,mjs}` exporting one `defineModule` result). Called by the
 * loader for pipelines' `useModule(<source>)` and by a deployment's `steps:` entries.
 */
export async function resolveModuleRef(repo: Repository, uses: string, opts: ResolveModuleOptions = {}): Promise<LoadedModule> {
  let src: VendorSource;
  try {
    src = parseSource(uses, repo.config.repoRoot);
  } catch (e) {
    if (!(e instanceof SourceError)) throw e;
    throw new DiagnosticError(error('module/source', `uses: ${e.message}`, opts.location, e.hint ?? 'e.g. git::https://host/org/repo.git//modules/smoke-test?ref=v1.2.0, or a local path'));
  }
  let dir: string;
  let origin: ExtensionOrigin;
  if (src.kind === 'local') {
    // Like every path the configuration names, a local module stays inside the repository.
    const outside = containmentProblem(repo.config.repoRoot, src.path, { what: 'module source', value: uses, location: opts.location });
    if (outside) throw new DiagnosticError(outside);
    if (!existsSync(src.path) || !statSync(src.path).isDirectory()) {
      throw new DiagnosticError(error('module/source', `uses: ${uses}: no such directory (${src.path})`, opts.location, 'a local module source is a directory relative to the repository root'));
    }
    dir = src.path;
    origin = { kind: 'repository', file: uses, digest: '' };
  } else {
    const pinned = await pinnedTree(repo, uses, src, opts);
    dir = pinned.dir;
    origin = { kind: 'vendored', file: uses, digest: '', source: uses, ...(pinned.entry.commit ? { commit: pinned.entry.commit } : {}) };
  }
  const unit = readUnit(dir, uses);
  const entry = moduleEntry(unit);
  if (!entry)
    throw new DiagnosticError(error('module/no-entry', `uses: ${uses} holds no index.ts, index.mts, index.js or index.mjs`, opts.location, 'point the source (its //<path>) at the module directory'));
  const modules: AnyModule[] = exportedModules(await importScript(unit, entry, repo.config.cacheDir));
  if (modules.length !== 1) {
    throw new DiagnosticError(
      error(
        'module/not-one',
        `uses: ${uses} exports ${modules.length === 0 ? 'no module' : `${modules.length} modules (${modules.map((m) => m.name).join(', ')})`}; a module source must export exactly one defineModule(...) result`,
        opts.location,
      ),
    );
  }
  recordModuleDigest(modules[0], unit.digest);
  return { module: modules[0], origin: { ...origin, digest: unit.digest } };
}
