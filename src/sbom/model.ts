/**
 * The SBOM model every generator produces and every serializer reads (CycloneDX 1.6 JSON,
 * SPDX 2.3 JSON). Plain data, independent of `@cyclonedx/cyclonedx-library`, so generators
 * and the aggregation stay cheap and testable; the library is loaded only to serialize.
 */
import path from 'node:path';
import type { Diagnostic } from '../diagnostics/index.js';

export type PackageType = 'application' | 'container' | 'library' | 'framework' | 'platform';
export type HashAlg = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
export type Scope = 'required' | 'optional' | 'excluded';

export interface SbomHash {
  alg: HashAlg;
  /** Lower-case hex. */
  content: string;
}

export interface SbomExternalRef {
  type: 'distribution' | 'vcs' | 'website';
  url: string;
  hashes?: SbomHash[];
}

/** One package (CycloneDX component, SPDX package). */
export interface SbomPackage {
  /** Unique in a document: the purl for registry packages, a path-like id otherwise. */
  bomRef: string;
  type: PackageType;
  name: string;
  group?: string;
  version?: string;
  purl?: string;
  description?: string;
  /** `excluded`: development only (npm `dev`, poetry dev groups); `optional`: optional dependencies. */
  scope?: Scope;
  hashes: SbomHash[];
  /** SPDX ids, SPDX expressions or free-form license names, as declared. */
  licenses: string[];
  externalRefs: SbomExternalRef[];
  /** Name/value pairs; a name may repeat (e.g. one per provider hash). */
  properties: [string, string][];
}

/** What one generator returns for one deployment component. */
export interface ComponentSbom {
  /** Component address, e.g. `nixpack/api`. */
  component: string;
  /** `nixpack`, `terraform` or a type a module declares. */
  type: string;
  /** The component itself: the application (nixpack), the root module (terraform), the artifact (a declared type). */
  root: SbomPackage;
  /** Everything else: libraries, the container image, providers, module calls. */
  packages: SbomPackage[];
  /** bomRef -> bomRefs it depends on (the root's entry lists its direct dependencies). */
  dependencies: Record<string, string[]>;
  /** Repository-relative files the SBOM was made from (lock files, manifests, modules). */
  sources: string[];
  /** The built image the SBOM describes, if any. */
  image: { ref: string; digest: string } | null;
  warnings: Diagnostic[];
}

/** A whole document: a root, its packages (deduplicated) and the dependency relations. */
export interface SbomModel {
  deployment: string;
  target: string;
  /** ISO 8601 (from SOURCE_DATE_EPOCH or the commit time). */
  timestamp: string;
  /** The deployment (or, for one component, that component's root). */
  root: SbomPackage;
  /** Every other package, sorted by bomRef. */
  packages: SbomPackage[];
  /** bomRef -> sorted bomRefs. */
  dependencies: Record<string, string[]>;
  /** The per-component SBOMs it was aggregated from. */
  components: ComponentSbom[];
  tool: { name: string; version: string };
  git: { sha?: string };
}

export function newPackage(p: Partial<SbomPackage> & Pick<SbomPackage, 'bomRef' | 'type' | 'name'>): SbomPackage {
  return { hashes: [], licenses: [], externalRefs: [], properties: [], ...p };
}

/** `sha512-<base64>` (SRI, as in package-lock.json) -> hashes in hex; unknown algorithms are skipped. */
export function sriToHashes(integrity: string | undefined): SbomHash[] {
  if (!integrity) return [];
  const out: SbomHash[] = [];
  const algs: Record<string, HashAlg> = { sha1: 'SHA-1', sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
  const lengths: Record<HashAlg, number> = { 'SHA-1': 40, 'SHA-256': 64, 'SHA-384': 96, 'SHA-512': 128 };
  for (const part of integrity.trim().split(/\s+/)) {
    const m = /^(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(part);
    if (!m) continue;
    const alg = algs[m[1]];
    const hex = Buffer.from(m[2], 'base64').toString('hex');
    if (hex.length !== lengths[alg] || out.some((h) => h.alg === alg)) continue;
    out.push({ alg, content: hex });
  }
  return out;
}

/** `sha256:<hex>` (pip, poetry) or a bare 64-hex string (Cargo) -> a SHA-256 hash. */
export function sha256Hash(v: string | undefined): SbomHash | undefined {
  if (!v) return undefined;
  const m = /^(?:sha256[:=])?([0-9a-fA-F]{64})$/.exec(v.trim());
  return m ? { alg: 'SHA-256', content: m[1].toLowerCase() } : undefined;
}

/** Dependency relations with sorted, unique, existing targets (and no self-edges). */
export function normaliseDependencies(deps: Record<string, Iterable<string>>, known: Set<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const ref of Object.keys(deps).sort()) {
    if (!known.has(ref)) continue;
    out[ref] = [...new Set(deps[ref])].filter((d) => d !== ref && known.has(d)).sort();
  }
  return out;
}

/** Add an edge to a relation map. */
export function addEdge(deps: Record<string, Set<string>> | Map<string, Set<string>>, from: string, to: string): void {
  if (deps instanceof Map) {
    let s = deps.get(from);
    if (!s) deps.set(from, (s = new Set()));
    s.add(to);
  } else (deps[from] ??= new Set()).add(to);
}

/**
 * Repository-relative path with forward slashes (`../x` outside the repository): documents
 * never carry absolute paths, so they do not depend on where the repository is checked out.
 */
export function relPath(repoRoot: string, abs: string): string {
  const r = path.relative(repoRoot, abs);
  if (r === '') return '.';
  return r.split(path.sep).join('/');
}

/** The strongest of two scopes: a package required anywhere is required (no scope = required). */
export function mergeScope(a: Scope | undefined, b: Scope | undefined): Scope | undefined {
  const rank = (s: Scope | undefined) => (s === 'required' || s === undefined ? 2 : s === 'optional' ? 1 : 0);
  return rank(a) >= rank(b) ? a : b;
}

/** Union of what two sources say about one package (the first one's identity wins). */
export function mergePackageInto(a: SbomPackage, b: SbomPackage): void {
  a.scope = mergeScope(a.scope, b.scope);
  a.version ??= b.version;
  a.description ??= b.description;
  for (const h of b.hashes) if (!a.hashes.some((x) => x.alg === h.alg)) a.hashes.push(h);
  for (const l of b.licenses) if (!a.licenses.includes(l)) a.licenses.push(l);
  for (const r of b.externalRefs) if (!a.externalRefs.some((x) => x.type === r.type && x.url === r.url)) a.externalRefs.push(r);
  for (const p of b.properties) if (!a.properties.some((x) => x[0] === p[0] && x[1] === p[1])) a.properties.push(p);
}
