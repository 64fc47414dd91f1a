/**
 * SBOMs (SPEC 9). Each component type has its generator ({@link generators}); the
 * deployment SBOM aggregates them without duplicates; it is serialized as CycloneDX 1.6
 * JSON (validated against the schema) or SPDX 2.3 JSON, and attached to the commit as a
 * Git note (`refs/notes/atmos/<d>/sbom`). The same inputs give byte-identical output: the
 * timestamp is SOURCE_DATE_EPOCH or the commit time, the serial number a hash of the content.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestHex, sha256Digest } from '../cache/digest.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, didYouMean, error, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { gitInfo, type GitInfo } from '../resolve/git.js';
import { resolveWithImageStore, type BuiltImage, type ResolvedDeployment } from '../resolve/index.js';
import { aggregate } from './aggregate.js';
import { toCycloneDx, validateCycloneDx } from './cyclonedx.js';
import type { GeneratorContext, ImageLayoutInfo, SbomGenerator } from './context.js';
import { declaredSbom } from './declared.js';
import { generators } from './generators.js';
import type { ComponentSbom, SbomModel } from './model.js';

export { generators } from './generators.js';
export type { ComponentSbom, SbomModel } from './model.js';
export { aggregate } from './aggregate.js';
export { validateCycloneDx } from './cyclonedx.js';
export { toSpdxJson } from './spdx.js';

export interface SbomComponentSummary {
  component: string;
  /** `nixpack`, `terraform` or a type a module declares. */
  type: string;
  /** The application's / module's name and version. */
  name: string;
  version: string | null;
  /** Packages in the component's own SBOM (libraries, image, providers, modules). */
  packages: number;
  /** What the component's root depends on directly (the container image not counted). */
  direct: number;
  /** Distinct declared licenses of its packages. */
  licenses: string[];
  /** The built image (`name@sha256:…`), if any. */
  image: string | null;
  /** Files the SBOM was made from. */
  sources: string[];
}

export interface SbomSummary {
  deployment: string;
  target: string;
  /** sha256 of the CycloneDX text. */
  digest: string;
  /** Distinct packages in the document (deduplicated; the component roots not counted). */
  packages: number;
  components: SbomComponentSummary[];
}

export interface DeploymentSbomOptions {
  /** Only this component (address or bare name): its own SBOM, its root as the document's. */
  component?: string;
  /** Seconds since 1970 for `metadata.timestamp`; default SOURCE_DATE_EPOCH, else the commit time, else 0. */
  epoch?: number;
  /** Images to describe (e.g. a release's); default: the local image store. */
  images?: Record<string, BuiltImage>;
  /** Git facts (commit) of what is described; default: read from the repository. */
  git?: GitInfo;
  /** A resolution already made (its images and git are used). */
  resolved?: ResolvedDeployment;
  /** Validate the CycloneDX document against the schema (default true; an invalid one throws). */
  validate?: boolean;
  /** Environment for SOURCE_DATE_EPOCH (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface DeploymentSbom {
  /** CycloneDX 1.6 JSON text. */
  cyclonedx: string;
  /** `sha256:<hex>` of {@link cyclonedx} (what release records reference). */
  digest: string;
  summary: SbomSummary;
  model: SbomModel;
  warnings: Diagnostic[];
}

/** The tool's version (package.json), without loading anything heavy. */
let toolVersion: string | undefined;
async function atmosPipeVersion(): Promise<string> {
  if (toolVersion) return toolVersion;
  try {
    toolVersion = (await import('../version.js')).VERSION;
  } catch {
    // Running from the sources (tests): find package.json upwards.
    let dir = path.dirname(fileURLToPath(import.meta.url));
    for (let i = 0; i < 5 && !toolVersion; i++) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'atmos-pipe' && pkg.version) toolVersion = pkg.version;
      } catch {
        // no readable package.json at this level: try the parent
      }
      dir = path.dirname(dir);
    }
  }
  return (toolVersion ??= '0.0.0');
}

/** SOURCE_DATE_EPOCH, else the commit time of `sha` (HEAD when absent), else 0. */
function sbomEpoch(env: NodeJS.ProcessEnv, repoRoot: string, sha: string | undefined): number {
  const v = env.SOURCE_DATE_EPOCH?.trim();
  if (v && /^\d+$/.test(v)) return Number(v);
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%ct', sha ?? 'HEAD', '--'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d+$/.test(out)) return Number(out);
  } catch {
    // not a Git repository (or no commit yet): the epoch falls back to 0, still reproducible
  }
  return 0;
}

/** `--component` as an address (`terraform/ecs/api`) or a bare name (`ecs/api`). */
function pickComponent(resolved: ResolvedDeployment, wanted: string): string {
  const all = resolved.components.map((c) => c.address);
  if (all.includes(wanted)) return wanted;
  const bare = all.filter((a) => a.slice(a.indexOf('/') + 1) === wanted);
  if (bare.length === 1) return bare[0];
  if (bare.length > 1) throw new DiagnosticError(error('args/component', `--component ${wanted} is ambiguous: ${bare.join(', ')}`, undefined, 'write the full address'));
  const guess =
    didYouMean(wanted, all) ??
    all.find(
      (a) =>
        a.slice(a.indexOf('/') + 1) ===
        didYouMean(
          wanted,
          all.map((x) => x.slice(x.indexOf('/') + 1)),
        ),
    );
  throw new DiagnosticError(
    error(
      'args/component',
      `--component ${wanted}: no such component in ${resolved.deployment} (target ${resolved.target})`,
      undefined,
      `${guess ? `did you mean "${guess}"? ` : ''}(valid values: ${all.join(', ')})`,
    ),
  );
}

function layoutReader(cacheDir: string): (digest: string) => ImageLayoutInfo | undefined {
  return (digest) => {
    try {
      const dir = path.join(cacheDir, 'images');
      const file = path.join(dir, 'blobs', 'sha256', digestHex(digest));
      const bytes = readFileSync(file);
      if (sha256Digest(bytes) !== digest) return undefined;
      const manifest = JSON.parse(bytes.toString('utf8')) as { config?: { digest?: string }; layers?: unknown[]; annotations?: Record<string, string> };
      return { configDigest: manifest.config?.digest ?? '', layers: manifest.layers?.length ?? 0, annotations: manifest.annotations ?? {} };
    } catch {
      return undefined;
    }
  };
}

/** The per-component SBOMs of a resolved deployment (all components, by address). */
export async function componentSboms(repo: Repository, resolved: ResolvedDeployment): Promise<ComponentSbom[]> {
  const ctx: GeneratorContext = {
    repoRoot: repo.config.repoRoot,
    basePath: repo.config.basePath,
    cacheDir: repo.config.cacheDir,
    deployment: resolved.deployment,
    target: resolved.target,
    images: resolved.images,
    ...(resolved.git.sha ? { gitSha: resolved.git.sha } : {}),
    imageLayout: layoutReader(repo.config.cacheDir),
  };
  const out: ComponentSbom[] = [];
  // One at a time: the HCL parser is single-threaded and the lock files are small.
  const generatorOf = (type: string): SbomGenerator => (Object.hasOwn(generators, type) ? generators[type as keyof typeof generators] : declaredSbom(repo.modules));
  for (const c of [...resolved.components].sort((a, b) => (a.address < b.address ? -1 : 1))) out.push(await generatorOf(c.type)(c, ctx));
  return out;
}

/** The short account of a document that `sbom` prints: its digest, package counts, licenses and image per component. */
function summarizeSbom(model: SbomModel, digest: string): SbomSummary {
  return {
    deployment: model.deployment,
    target: model.target,
    digest,
    packages: model.packages.filter((p) => !model.components.some((c) => c.root.bomRef === p.bomRef)).length,
    components: model.components.map((c) => {
      const container = c.packages.find((p) => p.type === 'container' && c.image && p.version === c.image.digest)?.bomRef;
      return {
        component: c.component,
        type: c.type,
        name: c.root.group ? `${c.root.group}/${c.root.name}` : c.root.name,
        version: c.root.version ?? null,
        packages: c.packages.length,
        direct: (c.dependencies[c.root.bomRef] ?? []).filter((r) => r !== container).length,
        licenses: [...new Set(c.packages.flatMap((p) => p.licenses))].sort(),
        image: c.image?.ref ?? null,
        sources: c.sources,
      };
    }),
  };
}

/**
 * The SBOM of a deployment for a target (or of one of its components): CycloneDX 1.6 JSON,
 * its digest, a summary and the model (for {@link toSpdxJson}).
 */
export async function deploymentSbom(repo: Repository, dep: DeploymentConfig, target: string, opts: DeploymentSbomOptions = {}): Promise<DeploymentSbom> {
  // The commit described: given, else the resolution's, else the repository's HEAD.
  const git = opts.git ?? (opts.resolved?.git.sha ? opts.resolved.git : gitInfo(repo.config.repoRoot));
  const resolved = opts.resolved ? { ...opts.resolved, git } : await resolveWithImageStore(repo.config, dep, target, { files: repo.files, ...(opts.images ? { images: opts.images } : {}), git });
  const only = opts.component !== undefined ? pickComponent(resolved, opts.component) : undefined;
  const all = await componentSboms(repo, only ? { ...resolved, components: resolved.components.filter((c) => c.address === only) } : resolved);
  const epoch = opts.epoch ?? sbomEpoch(opts.env ?? process.env, repo.config.repoRoot, resolved.git.sha);
  const componentEdges: Record<string, string[]> = {};
  const bindings: Record<string, string[]> = {};
  for (const c of resolved.components) {
    componentEdges[c.address] = c.depends_on;
    bindings[c.address] = c.bindings.map((b) => `nixpack/${b.nixpack}`);
  }
  const model = aggregate({
    deployment: resolved.deployment,
    target: resolved.target,
    ...(dep.body.description ? { description: dep.body.description } : {}),
    ...(resolved.git.sha ? { gitSha: resolved.git.sha } : {}),
    timestamp: new Date(epoch * 1000).toISOString(),
    tool: { name: 'atmos-pipe', version: await atmosPipeVersion() },
    components: all,
    componentEdges,
    bindings,
    ...(only ? { only } : {}),
  });
  const cyclonedx = await toCycloneDx(model);
  if (opts.validate !== false) {
    const problems = await validateCycloneDx(cyclonedx);
    if (problems !== null) throw new Error(`the generated CycloneDX document does not validate against the 1.6 schema: ${problems}`);
  }
  const digest = sha256Digest(cyclonedx);
  return { cyclonedx, digest, summary: summarizeSbom(model, digest), model, warnings: all.flatMap((c) => c.warnings) };
}

/**
 * Attach a CycloneDX document to a commit as a Git note in `refs/notes/atmos/<d>/sbom`
 * (replacing that commit's previous SBOM note). `commit` may be any revision; the note is
 * written on the commit it names. Returns the notes ref, the commit and the new notes commit.
 */
export async function attachSbom(repoRoot: string, deployment: string, commit: string, cyclonedxText: string): Promise<{ ref: string; commit: string; notesCommit: string }> {
  const { GitRepo, notesRef } = await import('../tracking/index.js');
  const git = new GitRepo(repoRoot);
  const ref = notesRef(deployment, 'sbom');
  const sha = /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) ? commit : (await git.run(['rev-parse', '--verify', '--end-of-options', `${commit}^{commit}`])).text.trim();
  const notesCommit = await git.addNote(ref, sha, cyclonedxText);
  return { ref, commit: sha, notesCommit };
}

/** The SBOM note of a commit, if any. */
export async function readSbomNote(repoRoot: string, deployment: string, commit: string): Promise<string | undefined> {
  const { GitRepo, notesRef } = await import('../tracking/index.js');
  const notes = await new GitRepo(repoRoot).readNotes(notesRef(deployment, 'sbom'), [commit]);
  return notes.get(commit);
}
