/**
 * package-lock.json / npm-shrinkwrap.json. Lockfile v2 and v3 list every installed package
 * by its `node_modules` path (`packages`); each package's dependencies are resolved the way
 * Node does: the nearest `node_modules/<name>` walking up from the package's own path
 * (links followed to workspace folders). Lockfile v1 nests `dependencies` and resolves
 * `requires` through the enclosing scopes.
 */
import { warning } from '../../diagnostics/index.js';
import { addEdge, mergeScope, newPackage, sriToHashes, type SbomExternalRef, type SbomPackage, type Scope } from '../model.js';
import { npmPurl, splitNpmName } from '../purl.js';
import { lineOf, obj, parseJsonLocated, str, type LockGraph, type LockInput } from './types.js';

const REGISTRY = 'https://registry.npmjs.org/';
/** Deepest `dependencies` nesting of a lockfileVersion 1 file that is read (as for YAML, SPEC 3). */
const MAX_V1_NESTING = 200;

interface PkgEntry {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  license?: unknown;
  link?: boolean;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  inBundle?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

interface V1Entry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  bundled?: boolean;
  requires?: Record<string, string> | boolean;
  dependencies?: Record<string, V1Entry>;
}

export interface NpmLockResult extends LockGraph {
  root: { name?: string; version?: string; license?: string };
}

/** Where a package came from, as purl qualifiers (registry packages have none). */
function sourceQualifiers(resolved: string | undefined): Record<string, string> | null {
  if (!resolved || resolved.startsWith(REGISTRY)) return {};
  if (/^(git\+|git:|github:|gitlab:|bitbucket:)/.test(resolved)) return { vcs_url: resolved };
  if (/^https?:\/\//.test(resolved)) return { download_url: resolved };
  return null; // file:, link: — a local package, not a registry one
}

function licensesOf(v: unknown): string[] {
  if (typeof v === 'string' && v.trim()) return [v.trim()];
  const o = obj(v);
  if (o && typeof o.type === 'string') return [o.type];
  return [];
}

function scopeOf(e: { dev?: boolean; optional?: boolean; devOptional?: boolean }): Scope {
  if (e.dev) return 'excluded';
  if (e.optional || e.devOptional) return 'optional';
  return 'required';
}

/** The package name of a `node_modules` path (`node_modules/@a/b/node_modules/c` -> `c`). */
function nameFromPath(key: string): string {
  const i = key.lastIndexOf('node_modules/');
  return i >= 0 ? key.slice(i + 'node_modules/'.length) : key.slice(key.lastIndexOf('/') + 1);
}

export function parseNpmLock(input: LockInput, packageJson?: Record<string, unknown>): NpmLockResult {
  const doc = obj(parseJsonLocated(input.text, input.file));
  const out: NpmLockResult = { file: input.file, packages: [], edges: new Map(), warnings: [], root: {} };
  if (!doc) return out;
  const v = typeof doc.lockfileVersion === 'number' ? doc.lockfileVersion : 1;
  if (v >= 2 && obj(doc.packages)) return parseV2(input, doc, out);
  return parseV1(input, doc, out, packageJson);
}

class Collector {
  readonly byRef = new Map<string, SbomPackage>();
  add(p: SbomPackage, scope: Scope, paths: string[]): SbomPackage {
    const prev = this.byRef.get(p.bomRef);
    if (prev) {
      prev.scope = mergeScope(prev.scope, scope);
      for (const x of paths) prev.properties.push(['cdx:npm:package:path', x]);
      for (const h of p.hashes) if (!prev.hashes.some((k) => k.alg === h.alg)) prev.hashes.push(h);
      return prev;
    }
    p.scope = scope;
    for (const x of paths) p.properties.push(['cdx:npm:package:path', x]);
    this.byRef.set(p.bomRef, p);
    return p;
  }
}

function makePackage(
  input: LockInput,
  key: string,
  name: string,
  version: string | undefined,
  resolved: string | undefined,
  integrity: string | undefined,
  license: unknown,
  flags: { bundled?: boolean },
): SbomPackage {
  const q = sourceQualifiers(resolved);
  const { group, name: bare } = splitNpmName(name);
  const hashes = sriToHashes(integrity);
  const externalRefs: SbomExternalRef[] = [];
  if (resolved && /^https?:\/\//.test(resolved)) externalRefs.push({ type: 'distribution', url: resolved, ...(hashes.length ? { hashes } : {}) });
  else if (resolved && q?.vcs_url) externalRefs.push({ type: 'vcs', url: resolved });
  const purl = q ? npmPurl(name, version, q) : undefined;
  const p = newPackage({
    bomRef: purl ?? `${input.localRef}/npm/${key || name}`,
    type: 'library',
    name: bare,
    ...(group ? { group } : {}),
    ...(version ? { version } : {}),
    ...(purl ? { purl } : {}),
    hashes,
    licenses: licensesOf(license),
    externalRefs,
  });
  if (flags.bundled) p.properties.push(['cdx:npm:package:bundled', 'true']);
  return p;
}

function parseV2(input: LockInput, doc: Record<string, unknown>, out: NpmLockResult): NpmLockResult {
  const packages = obj(doc.packages) as Record<string, PkgEntry>;
  const rootEntry = packages[''] ?? {};
  out.root = {
    ...(str(rootEntry.name) ? { name: rootEntry.name } : {}),
    ...(str(rootEntry.version) ? { version: rootEntry.version } : {}),
    ...(licensesOf(rootEntry.license)[0] ? { license: licensesOf(rootEntry.license)[0] } : {}),
  };
  const col = new Collector();
  /** node_modules path -> bomRef */
  const refOf = new Map<string, string>();
  const keys = Object.keys(packages).sort();
  for (const key of keys) {
    if (key === '') continue;
    const e = obj(packages[key]) as PkgEntry | undefined;
    if (!e || e.link) continue;
    const name = str(e.name) ?? nameFromPath(key);
    const workspace = !key.includes('node_modules/');
    const p = makePackage(input, key, name, str(e.version), workspace ? undefined : str(e.resolved), str(e.integrity), e.license, { bundled: e.inBundle });
    if (workspace) {
      p.bomRef = `${input.localRef}/npm/${key}`;
      delete p.purl;
      p.properties.push(['atmos:npm:workspace', key]);
    }
    refOf.set(key, col.add(p, scopeOf(e), workspace ? [] : [key]).bomRef);
  }
  const target = (key: string): string | undefined => {
    const e = packages[key];
    if (!e) return undefined;
    if (e.link) return typeof e.resolved === 'string' && packages[e.resolved] ? e.resolved : undefined;
    return key;
  };
  const resolve = (from: string, dep: string): string | undefined => {
    let base = from;
    for (;;) {
      const hit = target(base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`);
      if (hit !== undefined) return hit;
      if (!base) return undefined;
      const i = base.lastIndexOf('/node_modules/');
      base = i >= 0 ? base.slice(0, i) : '';
    }
  };
  const rootRef = '';
  const direct = new Set<string>();
  for (const key of ['', ...keys.filter((k) => k !== '')]) {
    const e = obj(packages[key]) as PkgEntry | undefined;
    if (!e || e.link) continue;
    const fromRef = key === '' ? rootRef : refOf.get(key);
    if (fromRef === undefined) continue;
    const own = key === '' || !key.includes('node_modules/');
    const wanted: [string, boolean][] = [];
    for (const d of Object.keys(e.dependencies ?? {})) wanted.push([d, false]);
    for (const d of Object.keys(e.optionalDependencies ?? {})) wanted.push([d, true]);
    for (const d of Object.keys(e.peerDependencies ?? {})) wanted.push([d, true]);
    if (own) for (const d of Object.keys(e.devDependencies ?? {})) wanted.push([d, false]);
    for (const [dep, optional] of wanted) {
      const hit = resolve(key, dep);
      const ref = hit === undefined || hit === '' ? undefined : refOf.get(hit);
      if (ref === undefined) {
        if (!optional && !e.optional && !e.devOptional) {
          out.warnings.push(
            warning(
              'sbom/npm-unresolved',
              `${input.file}: "${key || '(root)'}" depends on ${dep}, which the lock file does not contain`,
              { file: input.file, line: lineOf(input.text, `"${key}"`), col: 1 },
              'run `npm install` to update the lock file',
            ),
          );
        }
        continue;
      }
      if (key === '') direct.add(ref);
      else if (ref !== fromRef) addEdge(out.edges, fromRef, ref);
    }
  }
  out.packages = [...col.byRef.values()];
  out.direct = [...direct].sort();
  return out;
}

function parseV1(input: LockInput, doc: Record<string, unknown>, out: NpmLockResult, packageJson?: Record<string, unknown>): NpmLockResult {
  out.root = { ...(str(doc.name) ? { name: doc.name as string } : {}), ...(str(doc.version) ? { version: doc.version as string } : {}) };
  const col = new Collector();
  const top = (obj(doc.dependencies) ?? {}) as Record<string, V1Entry>;
  /** Each scope: name -> bomRef. */
  type Scope1 = Map<string, string>;
  const refs = new Map<V1Entry, string>();
  // Nesting is untrusted: deeper than MAX_V1_NESTING is left out, with a warning (never a stack overflow).
  let tooDeep = false;
  const visit = (deps: Record<string, V1Entry>, path: string, depth: number) => {
    if (depth > MAX_V1_NESTING) {
      tooDeep = true;
      return;
    }
    for (const name of Object.keys(deps).sort()) {
      const e = obj(deps[name]) as V1Entry | undefined;
      if (!e) continue;
      const key = `${path}node_modules/${name}`;
      let version = str(e.version);
      let resolved = str(e.resolved);
      // Non-registry dependencies keep their spec in `version` (git+…, file:…, https://…).
      if (version && !/^\d/.test(version)) {
        resolved ??= version;
        version = undefined;
      }
      const p = makePackage(input, key, name, version, resolved, str(e.integrity), undefined, { bundled: e.bundled });
      refs.set(e, col.add(p, scopeOf(e), [key]).bomRef);
      if (obj(e.dependencies)) visit(e.dependencies as Record<string, V1Entry>, `${key}/`, depth + 1);
    }
  };
  visit(top, '', 1);
  if (tooDeep) {
    out.warnings.push(
      warning(
        'sbom/lockfile-too-deep',
        `${input.file}: dependencies nested deeper than ${MAX_V1_NESTING} levels; the deeper ones are left out of the SBOM`,
        { file: input.file, line: 1, col: 1 },
        'regenerate the lock file with a current npm (lockfileVersion 3)',
      ),
    );
  }
  const scopeMap = (deps: Record<string, V1Entry>): Scope1 => {
    const m: Scope1 = new Map();
    for (const [n, e] of Object.entries(deps)) {
      const r = refs.get(e);
      if (r) m.set(n, r);
    }
    return m;
  };
  const lookup = (chain: Scope1[], name: string) => {
    for (let i = chain.length - 1; i >= 0; i--) {
      const r = chain[i].get(name);
      if (r) return r;
    }
    return undefined;
  };
  const link = (deps: Record<string, V1Entry>, chain: Scope1[]) => {
    for (const e of Object.values(deps)) {
      const from = refs.get(e);
      if (!from) continue;
      const inner = obj(e.dependencies) ? [...chain, scopeMap(e.dependencies as Record<string, V1Entry>)] : chain;
      for (const dep of Object.keys(obj(e.requires) ?? {})) {
        const to = lookup(inner, dep);
        if (to && to !== from) addEdge(out.edges, from, to);
      }
      // Only entries visit() kept have a ref, so this stops at the same depth.
      if (obj(e.dependencies)) link(e.dependencies as Record<string, V1Entry>, inner);
    }
  };
  const topScope = scopeMap(top);
  link(top, [topScope]);
  if (packageJson) {
    const names = new Set<string>();
    for (const k of ['dependencies', 'devDependencies', 'optionalDependencies']) for (const n of Object.keys(obj(packageJson[k]) ?? {})) names.add(n);
    out.direct = [...names]
      .map((n) => topScope.get(n))
      .filter((r): r is string => r !== undefined)
      .sort();
  }
  out.packages = [...col.byRef.values()];
  return out;
}
