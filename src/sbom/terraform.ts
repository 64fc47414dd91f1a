/**
 * SBOM of a Terraform component: the root module, the providers its `.terraform.lock.hcl`
 * pins (version, constraints, `h1:`/`zh:` hashes) and the modules it calls (source and
 * version; local modules are followed for their own calls). Both are read with HashiCorp's
 * HCL parser (`@cdktf/hcl2json`); a module without a lock file lists just its module calls.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import { readModule } from '../hcl/index.js';
import type { ResolvedComponent } from '../resolve/index.js';
import { obj, str } from './lockfiles/types.js';
import { addEdge, newPackage, relPath, type ComponentSbom, type SbomPackage } from './model.js';
import { purl } from './purl.js';
import type { GeneratorContext } from './context.js';

type Hcl2Json = (filename: string, contents: string) => Promise<Record<string, unknown>>;
let parser: Promise<Hcl2Json> | undefined;
function hclParser(): Promise<Hcl2Json> {
  parser ??= import('@cdktf/hcl2json').then((m) => m.parse as Hcl2Json);
  return parser;
}

const DEFAULT_REGISTRY = 'registry.terraform.io';

export interface LockedProvider {
  /** `registry.terraform.io/hashicorp/aws` */
  address: string;
  version?: string;
  constraints?: string;
  hashes: string[];
}

/** The providers of a `.terraform.lock.hcl` (parsed with the HCL parser). */
export async function parseTerraformLock(text: string, file: string): Promise<LockedProvider[]> {
  let doc: Record<string, unknown>;
  try {
    doc = await (await hclParser())(path.basename(file), text);
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split('\n')[0];
    const m = /:(\d+),(\d+)/.exec(msg);
    throw new DiagnosticError(
      error('sbom/terraform-lock-parse', `cannot parse ${file}: ${msg}`, { file, line: m ? Number(m[1]) : 1, col: m ? Number(m[2]) : 1 }, 'run `terraform init -upgrade` to rewrite the lock file'),
    );
  }
  const out: LockedProvider[] = [];
  for (const [address, blocks] of Object.entries(obj(doc.provider) ?? {})) {
    const b = obj(Array.isArray(blocks) ? blocks[0] : blocks) ?? {};
    const hashes = Array.isArray(b.hashes) ? (b.hashes as unknown[]).filter((h): h is string => typeof h === 'string') : [];
    out.push({ address, ...(str(b.version) ? { version: b.version as string } : {}), ...(str(b.constraints) ? { constraints: b.constraints as string } : {}), hashes: [...hashes].sort() });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : 1));
}

/** `registry.terraform.io/hashicorp/aws@5.31.0` as a component. */
function providerPackage(p: LockedProvider): SbomPackage {
  const parts = p.address.split('/');
  // Addresses in lock files are always fully qualified; tolerate `hashicorp/aws`.
  const [host, ...rest] = parts.length >= 3 ? parts : [DEFAULT_REGISTRY, ...parts];
  const name = rest.join('/');
  const pu = purl({ type: 'terraform', namespace: [host, ...rest.slice(0, -1)].join('/'), name: rest[rest.length - 1], ...(p.version ? { version: p.version } : {}) });
  const pkg = newPackage({ bomRef: pu, type: 'library', group: host, name, ...(p.version ? { version: p.version } : {}), purl: pu, properties: [['atmos:terraform:provider', `${host}/${name}`]] });
  if (p.constraints) pkg.properties.push(['atmos:terraform:provider:constraints', p.constraints]);
  for (const h of p.hashes) pkg.properties.push(['atmos:terraform:provider:hash', h]);
  return pkg;
}

export interface ModuleSource {
  kind: 'local' | 'registry' | 'github' | 'git' | 'archive';
  /** For local sources: the relative path. */
  path?: string;
  purl?: string;
  group?: string;
  name: string;
  version?: string;
}

const EXACT_VERSION = /^=?\s*v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;

/**
 * Classify a module `source` (Terraform's module source syntax): local paths, registry
 * addresses (`[host/]namespace/name/provider[//subdir]`), GitHub shorthands, `git::` URLs
 * and archives. `version` is the call's version argument (a constraint for registry
 * modules); `resolved` is the version `terraform init` picked, when known.
 */
export function classifyModuleSource(source: string, version?: string, resolved?: string): ModuleSource {
  const s = source.trim();
  if (s.startsWith('./') || s.startsWith('../') || s === '.' || s === '..') return { kind: 'local', path: s, name: s };
  const exact = resolved ?? (version ? EXACT_VERSION.exec(version.trim())?.[1] : undefined);
  // Strip a forced getter (`git::`, `hg::`, `s3::`, …) and split off `//subdir` and `?query`.
  const forced = /^([a-z0-9]+)::(.+)$/.exec(s);
  const body = forced ? forced[2] : s;
  const queryAt = body.indexOf('?');
  const noQuery = queryAt >= 0 ? body.slice(0, queryAt) : body;
  const query = new URLSearchParams(queryAt >= 0 ? body.slice(queryAt + 1) : '');
  const schemeEnd = noQuery.indexOf('://');
  const subAt = noQuery.indexOf('//', schemeEnd >= 0 ? schemeEnd + 3 : 0);
  const main = subAt >= 0 ? noQuery.slice(0, subAt) : noQuery;
  const subdir = subAt >= 0 ? noQuery.slice(subAt + 2) : undefined;
  const ref = query.get('ref') ?? undefined;

  const registry = /^(?:([a-z0-9.-]+\.[a-z]{2,}(?::\d+)?)\/)?([A-Za-z0-9][A-Za-z0-9_-]*)\/([A-Za-z0-9][A-Za-z0-9_-]*)\/([a-z0-9]+)$/.exec(main);
  if (!forced && registry && !main.startsWith('github.com/') && !main.startsWith('bitbucket.org/')) {
    const host = registry[1] ?? DEFAULT_REGISTRY;
    const name = `${registry[2]}/${registry[3]}/${registry[4]}`;
    return {
      kind: 'registry',
      group: host,
      name,
      ...(exact ? { version: exact } : {}),
      purl: purl({ type: 'terraform', namespace: `${host}/${registry[2]}/${registry[3]}`, name: registry[4], ...(exact ? { version: exact } : {}), ...(subdir ? { subpath: subdir } : {}) }),
    };
  }
  // GitHub: `github.com/org/repo`, `git::https://github.com/org/repo.git`, `git@github.com:org/repo.git`.
  const gh = /^(?:(?:git\+)?https:\/\/|ssh:\/\/git@|git@)?github\.com[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?$/.exec(main);
  if (gh) {
    return {
      kind: 'github',
      group: 'github.com',
      name: `${gh[1]}/${gh[2]}`,
      ...(ref ? { version: ref } : {}),
      purl: purl({ type: 'github', namespace: gh[1], name: gh[2], ...(ref ? { version: ref } : {}), ...(subdir ? { subpath: subdir } : {}) }),
    };
  }
  const base = main.replace(/\.git$/, '').replace(/\/+$/, '');
  const last = base.slice(base.lastIndexOf('/') + 1).replace(/^.*:/, '') || base;
  if (forced?.[1] === 'git' || forced?.[1] === 'hg' || /\.git$/.test(main) || main.startsWith('git@')) {
    const url = `${forced?.[1] === 'hg' ? 'hg' : 'git'}+${main}${ref ? `@${ref}` : ''}`;
    return {
      kind: 'git',
      name: last,
      ...(ref ? { version: ref } : {}),
      purl: purl({ type: 'generic', name: last, ...(ref ? { version: ref } : {}), qualifiers: { vcs_url: url }, ...(subdir ? { subpath: subdir } : {}) }),
    };
  }
  const archive = last.replace(/\.(zip|tar\.gz|tgz|tar\.bz2|tar\.xz)$/, '');
  return {
    kind: 'archive',
    name: archive,
    ...(exact ? { version: exact } : {}),
    purl: purl({ type: 'generic', name: archive, ...(exact ? { version: exact } : {}), qualifiers: { download_url: forced ? `${forced[1]}::${main}` : main }, ...(subdir ? { subpath: subdir } : {}) }),
  };
}

/** Versions `terraform init` resolved (`.terraform/modules/modules.json`), by module key. */
function resolvedModuleVersions(moduleDir: string): Map<string, string> {
  const out = new Map<string, string>();
  try {
    const doc = obj(JSON.parse(readFileSync(path.join(moduleDir, '.terraform', 'modules', 'modules.json'), 'utf8')));
    for (const m of Array.isArray(doc?.Modules) ? (doc.Modules as unknown[]) : []) {
      const o = obj(m);
      if (str(o?.Key) && str(o?.Version)) out.set(o!.Key as string, o!.Version as string);
    }
  } catch {
    // no readable modules.json (terraform init has not run here): module versions stay unknown
  }
  return out;
}

export async function terraformSbom(component: ResolvedComponent, ctx: GeneratorContext): Promise<ComponentSbom> {
  const moduleDir = component.moduleDir;
  if (!moduleDir) throw new Error(`${component.address}: a terraform component without a module directory`);
  const rootRef = `${ctx.deployment}/${component.address}`;
  const sources: string[] = [];
  const warnings: Diagnostic[] = [];
  const byRef = new Map<string, SbomPackage>();
  const edges = new Map<string, Set<string>>();
  const description = str(component.metadata?.description);
  const root = newPackage({
    bomRef: rootRef,
    type: 'application',
    name: component.name,
    ...(description ? { description } : {}),
    properties: [
      ['atmos:component', component.address],
      ['atmos:component:type', 'terraform'],
      ['atmos:terraform:module', component.component ?? path.basename(moduleDir)],
      ['atmos:source', relPath(ctx.repoRoot, moduleDir)],
    ],
  });

  const lockAbs = path.join(moduleDir, '.terraform.lock.hcl');
  if (existsSync(lockAbs)) {
    const file = relPath(ctx.repoRoot, lockAbs);
    sources.push(file);
    for (const p of await parseTerraformLock(readFileSync(lockAbs, 'utf8'), file)) {
      const pkg = providerPackage(p);
      if (!p.version) warnings.push(warning('sbom/provider-version', `${file}: provider ${p.address} has no version`, { file, line: 1, col: 1 }, 'run `terraform init -upgrade`'));
      byRef.set(pkg.bomRef, pkg);
      addEdge(edges, rootRef, pkg.bomRef);
    }
  }

  // Module calls, following local modules (each directory once).
  const resolved = resolvedModuleVersions(moduleDir);
  const visited = new Set<string>();
  const walk = async (dir: string, fromRef: string, keyPrefix: string, depth: number): Promise<void> => {
    const abs = path.resolve(dir);
    if (visited.has(abs) || depth > 16) return;
    visited.add(abs);
    const info = await readModule(abs, { cacheDir: path.join(ctx.cacheDir, 'cache'), displayRoot: ctx.repoRoot });
    if (info.moduleCalls.length || depth === 0) {
      for (const n of safeReaddir(abs).filter((f) => f.endsWith('.tf') || f.endsWith('.tf.json'))) sources.push(relPath(ctx.repoRoot, path.join(abs, n)));
    }
    for (const call of [...info.moduleCalls].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!call.source) continue;
      const key = keyPrefix ? `${keyPrefix}.${call.name}` : call.name;
      const src = classifyModuleSource(call.source, call.version, resolved.get(key));
      let pkg: SbomPackage;
      if (src.kind === 'local') {
        const target = path.resolve(abs, src.path!);
        const rel = relPath(ctx.repoRoot, target);
        pkg = newPackage({ bomRef: `${ctx.deployment}/tf-module/${rel}`, type: 'library', name: rel, properties: [['atmos:terraform:module:source', call.source]] });
        const prev = byRef.get(pkg.bomRef);
        if (!prev) byRef.set(pkg.bomRef, pkg);
        addEdge(edges, fromRef, pkg.bomRef);
        if (existsSync(target)) await walk(target, pkg.bomRef, key, depth + 1);
        else
          warnings.push(
            warning('sbom/module-missing', `${component.address}: module "${call.name}" calls ${call.source}, which does not exist`, { file: relPath(ctx.repoRoot, abs), line: 1, col: 1 }),
          );
        continue;
      }
      pkg = newPackage({
        bomRef: src.purl!,
        type: 'library',
        name: src.name,
        ...(src.group ? { group: src.group } : {}),
        ...(src.version ? { version: src.version } : {}),
        purl: src.purl!,
        properties: [['atmos:terraform:module:source', call.source]],
      });
      if (call.version && call.version.trim() !== src.version) pkg.properties.push(['atmos:terraform:module:version-constraint', call.version]);
      if (src.kind === 'github' || src.kind === 'git') pkg.externalRefs.push({ type: 'vcs', url: call.source.replace(/^git::/, '') });
      const prev = byRef.get(pkg.bomRef);
      if (prev) {
        for (const p of pkg.properties) if (!prev.properties.some((x) => x[0] === p[0] && x[1] === p[1])) prev.properties.push(p);
      } else byRef.set(pkg.bomRef, pkg);
      addEdge(edges, fromRef, pkg.bomRef);
    }
  };
  await walk(moduleDir, rootRef, '', 0);

  const dependencies: Record<string, string[]> = {};
  for (const [from, tos] of edges) dependencies[from] = [...tos].sort();
  return {
    component: component.address,
    type: 'terraform',
    root,
    packages: [...byRef.values()].sort((a, b) => (a.bomRef < b.bomRef ? -1 : a.bomRef > b.bomRef ? 1 : 0)),
    dependencies,
    sources: [...new Set(sources)],
    image: null,
    warnings,
  };
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}
