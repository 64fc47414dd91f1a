/**
 * Cargo.lock (format v1 to v4): `[[package]]` with name, version, source, checksum and
 * `dependencies = ["name", "name version", "name version (source)"]`. Packages without a
 * source are the workspace's own crates: the root crate (Cargo.toml `[package]`) is the
 * application, other members are local libraries.
 */
import { warning } from '../../diagnostics/index.js';
import { addEdge, newPackage, sha256Hash, type SbomPackage } from '../model.js';
import { cargoPurl } from '../purl.js';
import { obj, parseTomlLocated, str, type LockGraph, type LockInput } from './types.js';

const CRATES_IO = new Set(['registry+https://github.com/rust-lang/crates.io-index', 'sparse+https://index.crates.io/']);

interface Crate {
  name: string;
  version: string;
  source?: string;
  checksum?: string;
  dependencies: string[];
}

export interface CargoLockResult extends LockGraph {
  /** The root crate (Cargo.toml `[package]`) was found in the lock file. */
  rootCrate?: boolean;
}

function qualifiers(source: string | undefined): Record<string, string> | null {
  if (!source) return null; // path dependency / workspace member
  if (CRATES_IO.has(source)) return {};
  if (source.startsWith('git+')) {
    const [url, rev] = source.split('#');
    return { vcs_url: `${url.replace(/\?.*$/, '')}${rev ? `@${rev}` : ''}` };
  }
  const m = /^(?:registry|sparse)\+(.+)$/.exec(source);
  return m ? { repository_url: m[1] } : { download_url: source };
}

export function parseCargoLock(input: LockInput, rootName: string | undefined): CargoLockResult {
  const doc = parseTomlLocated(input.text, input.file);
  const out: CargoLockResult = { file: input.file, packages: [], edges: new Map(), warnings: [] };
  const legacy = obj(doc.metadata) ?? {};
  const crates: Crate[] = (Array.isArray(doc.package) ? (doc.package as unknown[]) : [])
    .map(obj)
    .filter((p): p is Record<string, unknown> => p !== undefined && !!str(p.name) && !!str(p.version))
    .map((p) => {
      const name = p.name as string;
      const version = p.version as string;
      const source = str(p.source);
      // Format v1 kept checksums in [metadata]: "checksum <name> <version> (<source>)" = "<hex>".
      const checksum = str(p.checksum) ?? str(legacy[`checksum ${name} ${version} (${source ?? ''})`]);
      return { name, version, ...(source ? { source } : {}), ...(checksum ? { checksum } : {}), dependencies: Array.isArray(p.dependencies) ? (p.dependencies as unknown[]).map(String) : [] };
    });
  const refOf = new Map<Crate, string>();
  const byRef = new Map<string, SbomPackage>();
  let root: Crate | undefined;
  if (rootName) root = crates.find((c) => c.name === rootName && !c.source);
  for (const c of crates) {
    const q = qualifiers(c.source);
    const purl = q ? cargoPurl(c.name, c.version, q) : undefined;
    // The root crate is the application itself (its bomRef is the application's).
    const bomRef = c === root ? input.localRef : (purl ?? `${input.localRef}/cargo/${c.name}@${c.version}`);
    refOf.set(c, bomRef);
    if (c === root || byRef.has(bomRef)) continue;
    const h = sha256Hash(c.checksum);
    const p = newPackage({ bomRef, type: 'library', name: c.name, version: c.version, ...(purl ? { purl } : {}), hashes: h ? [h] : [] });
    if (c.source?.startsWith('git+')) p.externalRefs.push({ type: 'vcs', url: c.source.replace(/^git\+/, '') });
    if (!c.source) p.properties.push(['atmos:cargo:workspace-member', 'true']);
    byRef.set(bomRef, p);
  }
  /** "name", "name version" or "name version (source)". */
  const resolveDep = (spec: string): Crate | undefined => {
    const m = /^(\S+)(?:\s+(\S+))?(?:\s+\((.+)\))?$/.exec(spec.trim());
    if (!m) return undefined;
    const [, name, version, source] = m;
    const hits = crates.filter((c) => c.name === name && (!version || c.version === version) && (!source || c.source === source));
    return hits.length === 1 ? hits[0] : (hits.find((c) => !c.source) ?? hits[0]);
  };
  const direct: string[] = [];
  for (const c of crates) {
    for (const d of c.dependencies) {
      const to = resolveDep(d);
      if (!to) {
        out.warnings.push(
          warning(
            'sbom/cargo-unresolved',
            `${input.file}: ${c.name} ${c.version} depends on "${d}", which the lock file does not contain`,
            { file: input.file, line: 1, col: 1 },
            'run `cargo update -w` to refresh the lock file',
          ),
        );
        continue;
      }
      if (c === root) direct.push(refOf.get(to)!);
      else addEdge(out.edges, refOf.get(c)!, refOf.get(to)!);
    }
  }
  out.packages = [...byRef.values()];
  if (root) {
    out.rootCrate = true;
    out.direct = [...new Set(direct)].sort();
  } else {
    // A virtual workspace: the application is made of its member crates.
    const members = crates.filter((c) => !c.source).map((c) => refOf.get(c)!);
    if (members.length) out.direct = [...new Set(members)].sort();
  }
  return out;
}
