/**
 * `affected` (SPEC 10): the deployments, targets and components whose inputs changed between
 * two commits, as Turbo's and Nx's `--affected` and Atmos's `describe affected` answer it for
 * CI fan-out.
 *
 * What changed is Git's own content comparison: one `git diff --name-only` between the two
 * commits' trees (blob ids are content digests, so a file counts exactly when its bytes
 * differ; a comment is content). What each component reads is the notion clean releases use
 * (src/release/dirty.ts `targetInputs`), taken from the head commit's files: resolved in the
 * working tree when head is the checked-out commit, else in a temporary detached worktree.
 * The repository's own modules and pipelines (and `modules.lock.yaml`) are read by every run,
 * so they affect every component. A deployment file deleted at head is reported on its own.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findDeploymentFile, listDeploymentFiles } from '../config/deployment-files.js';
import { checkTargetArg, type DeploymentConfig } from '../config/deployment.js';
import { realPath } from '../config/paths.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { targetInputs } from '../release/dirty.js';
import { loadDeployment, openRepository, resolve, type Repository } from '../repository.js';
import type { ResolvedDeployment } from '../resolve/index.js';
import { currentReleases, GitRepo, readHistory } from '../tracking/index.js';
import { ensureVendored } from '../vendoring/index.js';

/** Why an input counts: which kind of input, and the changed file (or the affected dependency). */
export interface AffectedReason {
  input: 'deployment' | 'atmos.yaml' | 'stack' | 'include' | 'extension' | 'module' | 'symlink' | 'vendor' | 'source' | 'dependency';
  /** The changed file, repository-relative (absent for `dependency`). */
  file?: string;
  /** For `dependency`: the affected component this one depends on. */
  component?: string;
}

export interface AffectedComponent {
  deployment: string;
  target: string;
  /** Component address (`terraform/vpc`). */
  component: string;
  wave: number;
  depends_on: string[];
  reasons: AffectedReason[];
}

export interface AffectedResult {
  base: { ref: string; sha: string };
  head: { ref: string; sha: string };
  /** Files that differ between the two commits, repository-relative. */
  changed: string[];
  /** Deployments with at least one affected target, or whose file was deleted at head. */
  deployments: { deployment: string; deleted?: true }[];
  targets: { deployment: string; target: string }[];
  /** In deployment, target and wave order. */
  components: AffectedComponent[];
}

export interface AffectedOptions {
  /** A commit-ish; default: see {@link defaultBase}. */
  base?: string;
  /** A commit-ish; default HEAD. */
  head?: string;
  deployment?: string;
  target?: string;
  /** Also the components that depend (transitively) on an affected one. */
  includeDependents?: boolean;
  /** CI variables (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

const NO_BASE_HINT =
  'pass --base <ref> (e.g. --base origin/main); in a GitHub pull request or a GitLab merge request the base is found from the CI variables, and with a deployment and --target the target’s current release commit is the base';

async function commitOf(git: GitRepo, ref: string, what: string): Promise<string> {
  const r = await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { allowFail: true });
  if (r.code !== 0)
    throw new DiagnosticError(error('affected/unknown-ref', `${what} "${ref}" is not a commit of this repository`, undefined, 'give a branch, tag or commit (fetch it first in a shallow CI clone)'));
  return r.text.trim();
}

/**
 * The base when none is given: a GitHub pull request's base branch (its merge base with head),
 * a GitLab merge request's diff base, else the target's current release commit (from the
 * history tags); else an exit-2 error saying how to give one.
 */
async function defaultBase(git: GitRepo, opts: AffectedOptions, head: string): Promise<{ ref: string; sha: string }> {
  const env = opts.env ?? process.env;
  if (env.GITHUB_BASE_REF) {
    for (const ref of [`origin/${env.GITHUB_BASE_REF}`, env.GITHUB_BASE_REF]) {
      const r = await git.run(['merge-base', ref, head], { allowFail: true });
      if (r.code === 0) return { ref: `merge-base(${ref}, head)`, sha: r.text.trim() };
    }
  }
  if (env.CI_MERGE_REQUEST_DIFF_BASE_SHA) return { ref: env.CI_MERGE_REQUEST_DIFF_BASE_SHA, sha: await commitOf(git, env.CI_MERGE_REQUEST_DIFF_BASE_SHA, 'CI_MERGE_REQUEST_DIFF_BASE_SHA') };
  if (opts.deployment && opts.target) {
    const current = currentReleases(await readHistory(git, opts.deployment, { target: opts.target })).get(opts.target);
    if (current) return { ref: `release ${current.release ?? '-'} on ${opts.target}`, sha: await commitOf(git, current.git_sha, `the commit of ${opts.deployment}/${opts.target}'s current release`) };
    throw new DiagnosticError(error('affected/no-base', `no --base given and ${opts.deployment}/${opts.target} has no current release to compare with`, undefined, NO_BASE_HINT));
  }
  throw new DiagnosticError(error('affected/no-base', 'no --base given and none found in the CI environment', undefined, NO_BASE_HINT));
}

/** Whether `rel` (a changed file) is the input `input` or below it. */
const under = (rel: string, input: string) => rel === input || rel.startsWith(`${input}/`);

/** Repository-relative POSIX path of an absolute one, or undefined when it is outside. */
function relativeTo(roots: string[], abs: string): string | undefined {
  for (const root of roots) {
    const rel = path.relative(root, abs);
    if (rel === '') return '.';
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return undefined;
}

interface Input {
  rel: string;
  input: AffectedReason['input'];
}

/** The changed files under each input, as reasons. */
function reasonsFor(inputs: Input[], changed: string[]): AffectedReason[] {
  const out: AffectedReason[] = [];
  const seen = new Set<string>();
  for (const i of inputs) {
    for (const f of changed) {
      if (!under(f, i.rel) || seen.has(f)) continue;
      seen.add(f);
      out.push({ input: i.input, file: f });
    }
  }
  return out;
}

/** The affected components of one resolved target. */
function affectedOfTarget(headRepo: Repository, dep: DeploymentConfig, r: ResolvedDeployment, changed: string[], includeDependents: boolean): AffectedComponent[] {
  const cfg = headRepo.config;
  const roots = [cfg.repoRoot, realPath(cfg.repoRoot)];
  const rel = (abs: string) => relativeTo(roots, abs);
  const inputs = targetInputs(headRepo, dep, r);
  const kindOfShared = (abs: string): AffectedReason['input'] => (abs === r.file ? 'deployment' : abs === cfg.configFile ? 'atmos.yaml' : r.included.includes(rel(abs) ?? '') ? 'include' : 'stack');
  const shared: Input[] = inputs.shared.flatMap((abs) => {
    const p = rel(abs);
    return p === undefined ? [] : [{ rel: p, input: kindOfShared(abs) }];
  });
  for (const dir of [...cfg.modulesPaths, ...cfg.pipelinesPaths, path.join(cfg.repoRoot, 'modules.lock.yaml')]) {
    const p = rel(path.resolve(cfg.repoRoot, dir));
    if (p !== undefined) shared.push({ rel: p, input: 'extension' });
  }
  const sharedReasons = reasonsFor(shared, changed);

  const hit = new Map<string, AffectedReason[]>();
  for (const c of r.components) {
    const own: Input[] = (inputs.components.get(c.address) ?? []).flatMap((abs) => {
      const p = rel(abs);
      const input: AffectedReason['input'] = abs === c.sourceDir ? 'source' : c.vendored ? 'vendor' : abs === c.moduleDir ? 'module' : 'symlink';
      return p === undefined ? [] : [{ rel: p, input }];
    });
    // A file both shared and the component's own (a vendor entry in the deployment file) is said once.
    const reasons = [...sharedReasons, ...reasonsFor(own, changed).filter((o) => !sharedReasons.some((r) => r.file === o.file))];
    if (reasons.length) hit.set(c.address, reasons);
  }
  if (includeDependents) {
    // Breadth-first over reversed edges: each dependent names the affected component it follows.
    const dependents = new Map<string, string[]>();
    for (const c of r.components) for (const d of c.depends_on) dependents.set(d, [...(dependents.get(d) ?? []), c.address]);
    const queue = [...hit.keys()];
    while (queue.length) {
      const a = queue.shift() as string;
      for (const d of dependents.get(a) ?? []) {
        if (hit.has(d)) continue;
        hit.set(d, [{ input: 'dependency', component: a }]);
        queue.push(d);
      }
    }
  }
  return r.components
    .filter((c) => hit.has(c.address))
    .map((c) => ({ deployment: r.deployment, target: r.target, component: c.address, wave: c.wave, depends_on: [...c.depends_on], reasons: hit.get(c.address) ?? [] }));
}

/** The head commit's files: the working tree when it is checked out, else a temporary worktree (removed by `close`). */
export async function headRepository(git: GitRepo, repo: Repository, top: string, headSha: string): Promise<{ repo: Repository; close: () => Promise<void> }> {
  const current = await git.run(['rev-parse', 'HEAD'], { allowFail: true });
  if (current.code === 0 && current.text.trim() === headSha) return { repo, close: async () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atmos-affected-'));
  await git.run(['worktree', 'add', '--detach', '--quiet', dir, headSha]);
  const close = async () => {
    await git.run(['worktree', 'remove', '--force', dir], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sub = path.relative(top, repo.config.repoRoot);
    const configFile = repo.config.configFile ? path.join(dir, path.relative(top, repo.config.configFile)) : undefined;
    const cwd = path.join(dir, sub);
    const opened = openRepository({ cwd, ...(configFile && existsSync(configFile) ? { configPath: configFile } : {}) });
    // The content-addressed stores (vendored modules, images) are the checkout's: the worktree has none.
    return { repo: { ...opened, config: { ...opened.config, cacheDir: repo.config.cacheDir } }, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** What changed between `base` and `head` and what it affects (see the file's header). */
export async function affected(repo: Repository, opts: AffectedOptions = {}): Promise<AffectedResult> {
  const git = new GitRepo(repo.config.repoRoot);
  const top = (await git.run(['rev-parse', '--show-toplevel'])).text.trim();
  const headRef = opts.head ?? 'HEAD';
  const headSha = await commitOf(git, headRef, '--head');
  const base = opts.base !== undefined ? { ref: opts.base, sha: await commitOf(git, opts.base, '--base') } : await defaultBase(git, opts, headSha);
  const prefix = path.relative(realPath(top), realPath(repo.config.repoRoot)).split(path.sep).join('/');
  const diff = await git.run(['diff', '--name-only', '-z', '--no-renames', base.sha, headSha, '--', prefix || '.']);
  const changed = diff.text
    .split('\0')
    .filter(Boolean)
    .map((f) => (prefix ? f.slice(prefix.length + 1) : f))
    .sort();
  const result: AffectedResult = { base, head: { ref: headRef, sha: headSha }, changed, deployments: [], targets: [], components: [] };
  if (changed.length === 0) return result;

  const head = await headRepository(git, repo, top, headSha);
  try {
    const files = listDeploymentFiles(head.repo.config).filter((f) => opts.deployment === undefined || f.name === opts.deployment);
    for (const f of files) {
      const dep = loadDeployment(head.repo, f.name);
      const targets = Object.keys(dep.body.targets).filter((t) => opts.target === undefined || t === opts.target);
      if (opts.target !== undefined && opts.deployment !== undefined) checkTargetArg(dep, opts.target);
      let any = false;
      for (const t of targets) {
        // Vendored modules are pulled just in time, as a run does (pinned ones come from the store).
        if (dep.body.vendor) await ensureVendored(head.repo, dep, t);
        const r = await resolve(head.repo, dep, t);
        const comps = affectedOfTarget(head.repo, dep, r, changed, opts.includeDependents === true);
        if (!comps.length) continue;
        any = true;
        result.targets.push({ deployment: dep.name, target: t });
        result.components.push(...comps);
      }
      if (any) result.deployments.push({ deployment: dep.name });
    }
    // A deployment file deleted at head: what it deployed is affected (its teardown is the user's).
    const cfg = head.repo.config;
    const deploymentsDir = relativeTo([cfg.repoRoot], cfg.deploymentsBasePath);
    for (const f of changed) {
      const m = /^(.*)\.ya?ml$/.exec(path.posix.basename(f));
      if (!m || path.posix.dirname(f) !== deploymentsDir || existsSync(path.join(cfg.repoRoot, f))) continue;
      if (opts.deployment === undefined || m[1] === opts.deployment) result.deployments.push({ deployment: m[1], deleted: true });
    }
    if (opts.deployment !== undefined && files.length === 0 && result.deployments.length === 0) findDeploymentFile(cfg, opts.deployment); // throws "no such deployment"
  } finally {
    await head.close();
  }
  return result;
}

/** `{"include":[{deployment, target, component, wave, depends_on}]}`: the `matrix` command's shape with the deployment and target, for a CI job per affected component. */
export function affectedMatrix(r: AffectedResult): { include: Omit<AffectedComponent, 'reasons'>[] } {
  return { include: r.components.map(({ reasons: _r, ...e }) => e) };
}
