/**
 * SBOM of a nixpack component: the application (named by package.json, pyproject.toml,
 * go.mod or Cargo.toml), the libraries its lock files pin (package-lock.json /
 * npm-shrinkwrap.json, go.mod + go.sum, requirements.txt, poetry.lock, Cargo.lock) with
 * their dependency graph, and the built container image (plus its base image) when one
 * exists in the local image store.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { digestHex, isDigest } from '../cache/digest.js';
import { isWithin, realPath } from '../config/paths.js';
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import { buildContext } from '../nixpack/context.js';
import type { ResolvedComponent } from '../resolve/index.js';
import { parseCargoLock } from './lockfiles/cargo.js';
import { parseGoModules, parseGoMod } from './lockfiles/go.js';
import { parseNpmLock } from './lockfiles/npm.js';
import { parsePoetryLock, parseRequirements } from './lockfiles/python.js';
import { obj, parseJsonLocated, parseTomlLocated, str, type LockGraph, type LockInput } from './lockfiles/types.js';
import { addEdge, mergePackageInto, newPackage, relPath, type ComponentSbom, type SbomPackage } from './model.js';
import { npmPurl, purl, pypiPurl, cargoPurl, splitNpmName } from './purl.js';
import type { GeneratorContext } from './context.js';

/** Lock files that exist in the ecosystem but are not read (a warning says so). */
const UNREAD_LOCKS = ['yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'Pipfile.lock', 'uv.lock', 'pdm.lock', 'Gemfile.lock', 'composer.lock'];

interface RootInfo {
  name: string;
  group?: string;
  version?: string;
  purl?: string;
  license?: string;
  description?: string;
  from?: string;
}

export async function nixpackSbom(component: ResolvedComponent, ctx: GeneratorContext): Promise<ComponentSbom> {
  const source = typeof component.vars.source === 'string' ? component.vars.source : '.';
  const dir = component.sourceDir ?? path.resolve(ctx.basePath ?? ctx.repoRoot, source);
  const rootRef = `${ctx.deployment}/${component.address}`;
  const rel = (f: string) => relPath(ctx.repoRoot, path.join(dir, f));
  // Only what the image is built from: lock files Git ignores (or .dockerignore drops) are not read.
  let context: Set<string> | undefined;
  // A lock file that is a symlink out of the repository is not read either.
  const has = (f: string) => (context ??= new Set(buildContext(dir, ctx.repoRoot).files)).has(f) && isWithin(realPath(ctx.repoRoot), realPath(path.join(dir, f)));
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  const sources: string[] = [];
  const warnings: Diagnostic[] = [];

  if (!existsSync(dir)) {
    throw new DiagnosticError(error('sbom/source-missing', `${component.address}: source directory ${relPath(ctx.repoRoot, dir)} does not exist`, component.location, 'check vars.source'));
  }

  // Manifests: the application's identity and, for Python, its direct dependencies.
  const packageJson = has('package.json') ? (obj(parseJsonLocated(read('package.json'), rel('package.json'))) ?? {}) : undefined;
  const pyproject = has('pyproject.toml') ? parseTomlLocated(read('pyproject.toml'), rel('pyproject.toml')) : undefined;
  const goModText = has('go.mod') ? read('go.mod') : undefined;
  const cargoToml = has('Cargo.toml') ? parseTomlLocated(read('Cargo.toml'), rel('Cargo.toml')) : undefined;
  for (const [f, present] of [
    ['package.json', packageJson],
    ['pyproject.toml', pyproject],
    ['go.mod', goModText],
    ['Cargo.toml', cargoToml],
  ] as const) {
    if (present !== undefined) sources.push(rel(f));
  }
  const info = rootInfo(component, packageJson, pyproject, goModText, cargoToml);

  const input = (f: string): LockInput => {
    sources.push(rel(f));
    return { abs: path.join(dir, f), file: rel(f), text: read(f), localRef: rootRef };
  };
  const locks: LockGraph[] = [];
  const npmLock = has('npm-shrinkwrap.json') ? 'npm-shrinkwrap.json' : has('package-lock.json') ? 'package-lock.json' : undefined;
  if (npmLock) locks.push(parseNpmLock(input(npmLock), packageJson));
  else if (packageJson && Object.keys(obj(packageJson.dependencies) ?? {}).length > 0) {
    warnings.push(
      warning(
        'sbom/no-lockfile',
        `${component.address}: ${rel('package.json')} has dependencies but there is no package-lock.json; they are not in the SBOM`,
        { file: rel('package.json'), line: 1, col: 1 },
        'commit the lock file (`npm install` writes it)',
      ),
    );
  }
  if (has('go.sum') || (goModText && parseGoMod(goModText).require.length > 0)) {
    const inp: LockInput = has('go.sum') ? input('go.sum') : { abs: path.join(dir, 'go.mod'), file: rel('go.mod'), text: '', localRef: rootRef };
    locks.push(parseGoModules(inp, goModText));
  }
  if (has('requirements.txt')) {
    const g = parseRequirements(input('requirements.txt')) as LockGraph & { files?: string[] };
    for (const f of g.files ?? []) if (!sources.includes(f)) sources.push(f);
    locks.push(g);
  }
  if (has('poetry.lock')) locks.push(parsePoetryLock(input('poetry.lock'), pyproject));
  if (has('Cargo.lock')) {
    const rootCrate = str(obj(cargoToml?.package)?.name);
    locks.push(parseCargoLock(input('Cargo.lock'), rootCrate));
  }
  for (const f of UNREAD_LOCKS) {
    if (has(f))
      warnings.push(
        warning(
          'sbom/unsupported-lockfile',
          `${component.address}: ${rel(f)} is not read; its packages are not in the SBOM`,
          { file: rel(f), line: 1, col: 1 },
          'supported: package-lock.json, go.sum, requirements.txt, poetry.lock, Cargo.lock',
        ),
      );
  }

  const root = newPackage({
    bomRef: rootRef,
    type: 'application',
    name: info.name,
    ...(info.group ? { group: info.group } : {}),
    ...(info.version ? { version: info.version } : {}),
    ...(info.purl ? { purl: info.purl } : {}),
    ...(info.description ? { description: info.description } : {}),
    licenses: info.license ? [info.license] : [],
    properties: [
      ['atmos:component', component.address],
      ['atmos:component:type', 'nixpack'],
      ['atmos:source', relPath(ctx.repoRoot, dir)],
      ...(info.from ? ([['atmos:name-from', info.from]] as [string, string][]) : []),
    ],
  });

  // Merge the lock files (one package per bomRef; edges and direct dependencies united).
  const byRef = new Map<string, SbomPackage>();
  const edges = new Map<string, Set<string>>();
  const direct = new Set<string>();
  for (const g of locks) {
    warnings.push(...g.warnings);
    for (const p of g.packages) {
      const prev = byRef.get(p.bomRef);
      if (prev) mergePackageInto(prev, p);
      else byRef.set(p.bomRef, p);
    }
    const incoming = new Set<string>();
    for (const [from, tos] of g.edges) {
      for (const to of tos) {
        addEdge(edges, from, to);
        if (to !== rootRef) incoming.add(to);
      }
    }
    // Without a statement of direct dependencies: every package nothing else depends on.
    const d = g.direct ?? g.packages.map((p) => p.bomRef).filter((r) => !incoming.has(r));
    for (const r of d) if (r !== rootRef) direct.add(r);
  }
  byRef.delete(rootRef);
  for (const r of direct) addEdge(edges, rootRef, r);

  // The built image, when there is one.
  const built = ctx.images[component.name];
  let image: ComponentSbom['image'] = null;
  if (built && isDigest(built.digest)) {
    image = { ref: built.ref, digest: built.digest };
    const { container, base, warnings: w } = containerPackages(built, ctx);
    warnings.push(...w);
    byRef.set(container.bomRef, container);
    addEdge(edges, rootRef, container.bomRef);
    if (base) {
      byRef.set(base.bomRef, base);
      addEdge(edges, container.bomRef, base.bomRef);
    }
  }

  const dependencies: Record<string, string[]> = {};
  for (const [from, tos] of edges) dependencies[from] = [...tos].sort();
  return {
    component: component.address,
    type: 'nixpack',
    root,
    packages: [...byRef.values()].sort((a, b) => (a.bomRef < b.bomRef ? -1 : a.bomRef > b.bomRef ? 1 : 0)),
    dependencies,
    sources: [...new Set(sources)],
    image,
    warnings,
  };
}

function rootInfo(
  component: ResolvedComponent,
  packageJson: Record<string, unknown> | undefined,
  pyproject: Record<string, unknown> | undefined,
  goModText: string | undefined,
  cargoToml: Record<string, unknown> | undefined,
): RootInfo {
  const description = str(component.metadata?.description);
  const base = { ...(description ? { description } : {}) };
  const pjName = str(packageJson?.name);
  if (pjName) {
    const version = str(packageJson?.version);
    const { group, name } = splitNpmName(pjName);
    const lic = str(packageJson?.license);
    return { ...base, name, ...(group ? { group } : {}), ...(version ? { version, purl: npmPurl(pjName, version) } : {}), ...(lic ? { license: lic } : {}), from: 'package.json' };
  }
  const project = obj(pyproject?.project);
  const poetry = obj(obj(pyproject?.tool)?.poetry);
  const pyName = str(project?.name) ?? str(poetry?.name);
  if (pyName) {
    const version = str(project?.version) ?? str(poetry?.version);
    const lic = str(project?.license) ?? str(obj(project?.license)?.text) ?? str(poetry?.license);
    return { ...base, name: pyName, ...(version ? { version, purl: pypiPurl(pyName, version) } : {}), ...(lic ? { license: lic } : {}), from: 'pyproject.toml' };
  }
  const mod = goModText !== undefined ? parseGoMod(goModText).module : undefined;
  if (mod) return { ...base, name: mod, from: 'go.mod' };
  const crate = obj(cargoToml?.package);
  const crateName = str(crate?.name);
  if (crateName) {
    const version = str(crate?.version);
    const lic = str(crate?.license);
    return { ...base, name: crateName, ...(version ? { version, purl: cargoPurl(crateName, version) } : {}), ...(lic ? { license: lic } : {}), from: 'Cargo.toml' };
  }
  return { ...base, name: component.name };
}

/** `registry/name@sha256:…`, `name:tag`, `ghcr.io/a/b:tag@sha256:…` -> parts. */
function parseImageRef(ref: string): { repository: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `pkg:oci/<name>@<digest>?repository_url=<repository>[&tag=…]`. */
function ociPurl(repository: string, digest?: string, tag?: string): string {
  const name = repository.slice(repository.lastIndexOf('/') + 1).toLowerCase();
  return purl({ type: 'oci', name, ...(digest ? { version: digest } : {}), qualifiers: { repository_url: repository, ...(tag ? { tag } : {}) } });
}

function containerPackages(built: { ref: string; digest: string }, ctx: GeneratorContext): { container: SbomPackage; base?: SbomPackage; warnings: Diagnostic[] } {
  const warnings: Diagnostic[] = [];
  const { repository } = parseImageRef(built.ref);
  const p = ociPurl(repository, built.digest);
  const hex = digestHex(built.digest); // the caller checked it is one
  const container = newPackage({
    bomRef: p,
    type: 'container',
    name: repository,
    version: built.digest,
    purl: p,
    hashes: [{ alg: 'SHA-256', content: hex }],
    properties: [['atmos:image:ref', built.ref]],
  });
  let base: SbomPackage | undefined;
  const layout = ctx.imageLayout?.(built.digest);
  if (layout) {
    const ann = layout.annotations;
    container.properties.push(['atmos:image:config-digest', layout.configDigest], ['atmos:image:layers', String(layout.layers)]);
    const created = ann['org.opencontainers.image.created'];
    if (created) container.properties.push(['atmos:image:created', created]);
    const revision = ann['org.opencontainers.image.revision'];
    if (revision) {
      container.properties.push(['atmos:image:revision', revision]);
      if (ctx.gitSha && revision !== ctx.gitSha) {
        warnings.push(
          warning(
            'sbom/image-revision',
            `the image ${built.ref} was built from commit ${revision.slice(0, 12)}, not ${ctx.gitSha.slice(0, 12)}`,
            undefined,
            'rebuild (`atmos-pipe build`) so the SBOM describes this commit',
          ),
        );
      }
    }
    const baseName = ann['org.opencontainers.image.base.name'];
    if (baseName) {
      const b = parseImageRef(baseName);
      const repo = b.repository.includes('/') ? (/^[^/]+[.:]/.test(b.repository) ? b.repository : `docker.io/${b.repository}`) : `docker.io/library/${b.repository}`;
      const bp = ociPurl(repo, b.digest, b.tag);
      base = newPackage({ bomRef: bp, type: 'container', name: repo, ...(b.digest ? { version: b.digest } : b.tag ? { version: b.tag } : {}), purl: bp, properties: [['atmos:image:base', baseName]] });
    }
  }
  return { container, ...(base ? { base } : {}), warnings };
}
