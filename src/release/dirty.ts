/**
 * Clean releases (SPEC 5.3): a release names a commit, so what it deploys must be that
 * commit's files. The inputs of a deployment for a target — its file, every stack file it
 * loads and the files they include, the module directories (with the targets of their
 * symlinks), the service sources and atmos.yaml — are compared with
 * HEAD in ONE `git status` limited to those paths: modified (staged or not), deleted, renamed
 * and untracked-not-ignored files count; anything else in the repository does not.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeploymentConfig } from '../config/deployment.js';
import { realPath, walkTree } from '../config/paths.js';
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { resolveWithImageStore, type ResolvedDeployment } from '../resolve/index.js';
import type { GitRepo, Head } from '../tracking/index.js';
import { loadVendorConfig, selectEntry } from '../vendoring/config.js';

export interface ChangedInput {
  /** Repository-relative path. */
  path: string;
  /** Porcelain state: ` M`, `M `, `??`, ` D`, `R `, ... */
  state: string;
}

export interface DirtyInputs {
  files: ChangedInput[];
  /** `sha256:` over every changed file's path, state and content: part of a dirty release's id. */
  digest: string;
}

/**
 * What a deployment reads for a target, split by whom it concerns: `shared` is read for every
 * component (atmos.yaml, the deployment file, every stack file loaded and every file their
 * `!include`s read); `components` holds each component's own (by address): its Terraform
 * module directory with the targets of the symlinks in it, or for a vendored module the
 * manifest that pins its source and version (the deployment file, `vendor.manifest` or
 * `vendor.yaml`) and a local source's directory; or its nixpack source directory. Absolute
 * paths; a directory stands for everything below it. One notion for clean releases and for
 * `affected`.
 */
export interface TargetInputs {
  shared: string[];
  components: Map<string, string[]>;
}

/** The module directory (its real path too when it is a link) and where the links inside it point. */
function moduleInputs(repo: Repository, moduleDir: string): string[] {
  return repo.files.memo(`module-inputs:${moduleDir}`, () => {
    const out = new Set([moduleDir]);
    if (!existsSync(moduleDir)) return [...out];
    out.add(realPath(moduleDir));
    for (const e of walkTree(moduleDir, { exclude: (rel) => rel.split('/').includes('.terraform') }).entries) {
      if (e.type === 'symlink' && existsSync(e.abs)) out.add(realPath(e.abs));
    }
    return [...out].sort();
  });
}

/** Where a vendored module is pinned (the file of its vendor entry) and, for a local source, that directory. */
function vendorInputs(repo: Repository, dep: DeploymentConfig, target: string, module: string): string[] {
  const cfg = repo.config;
  const sel = selectEntry(cfg, loadVendorConfig(cfg, dep, repo.files), dep, target, module);
  if (!sel) return [];
  const out = sel.location ? [path.resolve(cfg.repoRoot, sel.location.file)] : [];
  if (sel.spec.kind === 'local') out.push(sel.spec.path);
  return out;
}

export function targetInputs(repo: Repository, dep: DeploymentConfig, resolved: ResolvedDeployment): TargetInputs {
  const cfg = repo.config;
  const shared = new Set<string>([resolved.file, ...[...resolved.stacks, ...resolved.included].map((s) => path.resolve(cfg.repoRoot, s))]);
  if (cfg.configFile) shared.add(cfg.configFile);
  const components = new Map<string, string[]>();
  for (const c of resolved.components) {
    const own: string[] = [];
    if (c.moduleDir && !c.vendored) own.push(...moduleInputs(repo, c.moduleDir));
    if (c.vendored && c.component) own.push(...vendorInputs(repo, dep, resolved.target, c.component));
    if (c.sourceDir) own.push(c.sourceDir);
    components.set(c.address, own);
  }
  return { shared: [...shared].sort(), components };
}

/** Absolute paths of everything a deployment reads for a target. */
export function deploymentInputs(repo: Repository, dep: DeploymentConfig, resolved: ResolvedDeployment): string[] {
  const t = targetInputs(repo, dep, resolved);
  return [...new Set([...t.shared, ...[...t.components.values()].flat()])].sort();
}

/** Parses `git status --porcelain=v1 -z` (a rename's second path is its origin). */
export function parsePorcelainZ(text: string): ChangedInput[] {
  const parts = text.split('\0');
  const out: ChangedInput[] = [];
  for (let i = 0; i < parts.length; i++) {
    const e = parts[i];
    if (e.length < 4) continue;
    const state = e.slice(0, 2);
    out.push({ path: e.slice(3), state });
    if (state.includes('R') || state.includes('C')) i++; // the origin path follows
  }
  return out;
}

/** The changed inputs of a deployment for a target, or undefined when they are all as committed. */
export async function changedInputs(git: GitRepo, repo: Repository, inputs: string[]): Promise<DirtyInputs | undefined> {
  const root = repo.config.repoRoot;
  const rel = inputs.map((p) => path.relative(root, p)).filter((p) => p !== '' && !p.startsWith('..') && !path.isAbsolute(p));
  if (rel.length === 0) return undefined;
  const r = await git.run(['--literal-pathspecs', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...rel.map((p) => p.split(path.sep).join('/'))]);
  const entries = parsePorcelainZ(r.text);
  if (entries.length === 0) return undefined;
  // Porcelain paths are relative to the top of the work tree.
  const top = (await git.run(['rev-parse', '--show-toplevel'])).text.trim();
  const files = entries
    .map((e) => ({ abs: path.join(top, e.path), state: e.state }))
    .map((e) => ({ abs: e.abs, path: path.relative(root, e.abs).split(path.sep).join('/'), state: e.state }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  for (const f of files) {
    let content: string;
    try {
      content = createHash('sha256').update(readFileSync(f.abs)).digest('hex');
    } catch {
      content = 'absent';
    }
    h.update(`${f.path}\0${f.state}\0${content}\n`);
  }
  return { files: files.map((f) => ({ path: f.path, state: f.state })), digest: `sha256:${h.digest('hex')}` };
}

/** Compares the inputs of the deployment for the target with HEAD (resolving it unless the caller did). */
export async function deploymentChanges(git: GitRepo, repo: Repository, dep: DeploymentConfig, target: string, resolved?: ResolvedDeployment): Promise<DirtyInputs | undefined> {
  const r = resolved ?? (await resolveWithImageStore(repo.config, dep, target, { files: repo.files }));
  return changedInputs(git, repo, deploymentInputs(repo, dep, r));
}

const listing = (d: DirtyInputs) => d.files.map((f) => `  ${f.state} ${f.path}`).join('\n');

/**
 * A release of a modified working tree: refused (exit 3) unless `allowDirty`, which records
 * it as dirty (returned). Undefined when the inputs are clean.
 */
export function checkClean(dirty: DirtyInputs | undefined, what: string, dep: DeploymentConfig, target: string, head: Head, allowDirty: boolean): DirtyInputs | undefined {
  if (!dirty || allowDirty) return dirty;
  throw new DiagnosticError(
    error(
      'policy/dirty-tree',
      `${what} of ${dep.name}/${target} refused: ${dirty.files.length} input file(s) differ from commit ${head.sha.slice(0, 12)}, so the release would name a commit that does not contain what runs:\n${listing(dirty)}`,
      undefined,
      `commit them (git add … && git commit) and run again, or record this release as dirty with --allow-dirty (a dirty release is never promoted)`,
    ),
    'refused',
  );
}

/** The hint of the warning of a release made with --allow-dirty. */
export const DIRTY_RECORDED = 'recorded as a dirty release (--allow-dirty): it is never promoted';

/** What `plan` and `--dry-run` say instead of refusing. */
export function dirtyWarning(
  dirty: DirtyInputs,
  dep: DeploymentConfig,
  target: string,
  head: Head,
  hint = 'a rollout of it is refused (exit 3): commit first, or roll out with --allow-dirty to record a dirty release',
): Diagnostic {
  return warning(
    'tracking/dirty-tree',
    `the working tree is dirty: ${dirty.files.length} input file(s) of ${dep.name}/${target} differ from commit ${head.sha.slice(0, 12)}:\n${listing(dirty)}`,
    undefined,
    hint,
  );
}

/** `plan` and `--dry-run`: the dirty-tree warning (none outside Git or when clean); `resolved`: the run's resolution. */
export async function dirtyTreeNotice(repo: Repository, dep: DeploymentConfig, target: string, resolved?: ResolvedDeployment): Promise<Diagnostic[]> {
  const { GitRepo } = await import('../tracking/index.js');
  const git = new GitRepo(repo.config.repoRoot);
  let head: Head;
  try {
    head = await git.head();
  } catch {
    return []; // not a Git work tree (or no commit): nothing to compare with
  }
  const dirty = await deploymentChanges(git, repo, dep, target, resolved);
  return dirty ? [dirtyWarning(dirty, dep, target, head)] : [];
}
