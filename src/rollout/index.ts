/**
 * A tracked rollout (SPEC 5.4, 6, 10): choose the release (the working tree's commit, a
 * promotion, or an earlier release), check the promotion path and approvals, create the
 * release, run the pipeline, then record every component's outcome in Git (history tag,
 * compare-and-swap of the deployment ref) and push when asked.
 *
 * Nothing is written before every check passed: a refused rollout leaves refs, tags, notes
 * and files untouched.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DeploymentConfig } from '../config/deployment.js';
import { formatContextOverrides, withContextOverrides } from '../config/context-overrides.js';
import { DiagnosticError, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { openRepository, loadDeployment } from '../repository.js';
import { checkApproval, decideRollout, findByCommit, type PolicyDecision } from '../promotion/policy.js';
import { readApprovals, recordApproval, type Approval } from '../promotion/approvals.js';
import { makeRelease, publishRelease, type PendingRelease } from '../release/create.js';
import { canonicalJson, idOfRelease, releasesFromRefs, releaseTagPrefix, type CreateReleaseResult, type ReleaseEntry, type ReleaseRecord } from '../release/index.js';
import type { GitInfo } from '../resolve/git.js';
import type { BuiltImage } from '../resolve/index.js';
import { dryRunPipeline, runMembers, runPipeline, selectComponents, type DryRunSummary, type RunRequest, type RunSummary } from '../run/index.js';
import { resolveWithImageStore, type ResolvedDeployment } from '../resolve/index.js';
import type { PipelineDefinition } from '../module/index.js';
import {
  GitRepo,
  TagConflictError,
  deploymentRef,
  deploymentRefPrefix,
  formatDeploymentRecord,
  currentOfComponent,
  fetchFirst,
  headOf,
  historyFromRefs,
  historyTagName,
  historyTagPrefix,
  notesRef,
  pushRecorded,
  requireFresh,
  requireHead,
  staleWarning,
  type DeploymentRecord,
  type Head,
  type RefInfo,
  type RemotePush,
} from '../tracking/index.js';
import { whoAmI } from '../tracking/identity.js';
import { ensureVendored } from '../vendoring/index.js';
import { changedInputs, checkClean, deploymentInputs, dirtyWarning, DIRTY_RECORDED } from '../release/dirty.js';
import { rolloutUpstream, upstreamOfRun, type UpstreamOutputs } from '../run/upstream.js';

export interface RolloutRequest extends RunRequest {
  /** The build pipeline run first (cached) for a release of the working tree. */
  build?: PipelineDefinition;
  promoteFrom?: string;
  release?: string;
  gitSha?: string;
  skipPromotionCheck?: boolean;
  /** `--approve`: approve while rolling out (with `approver`, or after `confirm`). */
  approve?: boolean;
  approver?: string;
  /** Asks a person on a terminal; absent when there is none. */
  confirm?: (question: string) => Promise<boolean>;
  /** `--annotation k=v` (release and history). */
  annotations?: Record<string, string>;
  /** Push refs, tags and notes to this remote (`--push`, `deployments.tracking.remote`). */
  pushRemote?: string;
  /** `--allow-dirty`: roll out modified inputs, recorded as a dirty release (never promoted). */
  allowDirty?: boolean;
  /** false (`--no-fetch`): decide on this repository's records without fetching `pushRemote`'s first. */
  fetch?: boolean;
}

export interface RecordedComponent {
  component: string;
  status: DeploymentRecord['status'];
  /** History tag written, or null when nothing changed (an unchanged re-run). */
  tag: string | null;
  /** The deployment ref moved to the release's commit. */
  refUpdated: boolean;
  /** Set when the ref had been moved by someone else during the rollout (left as is). */
  conflict?: string;
}

export interface RolloutSummary {
  run: RunSummary;
  tracked: boolean;
  release: CreateReleaseResult | null;
  decision: PolicyDecision | null;
  deployer: string;
  approvedBy: string[];
  recorded: RecordedComponent[];
  push?: RemotePush;
  warnings: Diagnostic[];
}

/**
 * Builds the nixpack components a rollout of the working tree needs (all of them, or those
 * selected with --component and those bound into selected Terraform components). Undefined
 * when there is nothing to build.
 */
async function buildForRelease(repo: Repository, dep: DeploymentConfig, req: RolloutRequest, resolved: ResolvedDeployment): Promise<RunSummary | undefined> {
  if (!req.build || Object.keys(dep.body.components?.nixpack ?? {}).length === 0) return undefined;
  let components: string[] | undefined;
  if (req.components && req.components.length > 0) {
    const picked = selectComponents(resolved, req.components, req.withDeps ?? false);
    const wanted = new Set<string>();
    for (const c of resolved.components) {
      if (!picked.has(c.address)) continue;
      if (c.type === 'nixpack') wanted.add(c.address);
      for (const b of c.bindings) wanted.add(`nixpack/${b.nixpack}`);
    }
    if (wanted.size === 0) return undefined;
    components = [...wanted];
  }
  return runPipeline(repo, dep, { ...req, pipeline: req.build, components, withDeps: false, beforeRun: undefined, afterRun: undefined, deferRecord: true, resolved });
}

/**
 * Before anything is built or written (vendoring apart): the outputs of the dependencies the
 * run leaves out are recorded (else exit 2). Returns the resolution of the working tree.
 */
async function knownUpstream(repo: Repository, dep: DeploymentConfig, req: RolloutRequest, upstream: UpstreamOutputs): Promise<ResolvedDeployment> {
  if (dep.body.vendor) await ensureVendored(repo, dep, req.target, { emit: req.emit });
  const now = await resolveWithImageStore(repo.config, dep, req.target, { files: repo.files });
  await upstreamOfRun(repo, dep, now, runMembers(now, req.pipeline, req.components, req.withDeps ?? false), req.pipeline, upstream);
  return now;
}

/** The images a build run produced, over those of the resolution it ran (what the image store holds after it). */
function imagesAfterBuild(resolved: ResolvedDeployment, built: RunSummary | undefined): Record<string, BuiltImage> {
  const images = { ...resolved.images };
  for (const [address, o] of Object.entries(built?.componentOutputs ?? {})) {
    if (address.startsWith('nixpack/') && typeof o.image === 'string' && typeof o.digest === 'string') images[address.slice('nixpack/'.length)] = { ref: o.image, digest: o.digest };
  }
  return images;
}

/** Materializes a commit's files (the repository's subdirectory) into the cache, once per commit. */
async function checkoutCommit(git: GitRepo, sha: string, cacheDir: string): Promise<string> {
  const dest = path.join(cacheDir, 'checkouts', sha);
  if (existsSync(dest)) return dest;
  const prefix = (await git.run(['rev-parse', '--show-prefix'])).text.trim();
  const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(path.dirname(dest), { recursive: true });
  const index = `${tmp}.index`;
  const g = new GitRepo(git.dir, { env: { GIT_INDEX_FILE: index } });
  try {
    await g.run(['read-tree', `${sha}:${prefix}`]);
    await g.run(['checkout-index', '-a', '-f', `--prefix=${tmp}/`]);
    mkdirSync(tmp, { recursive: true });
    try {
      renameSync(tmp, dest);
    } catch {
      // another run materialized it first
    }
  } finally {
    rmSync(index, { force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

function imagesOf(record: ReleaseRecord): Record<string, BuiltImage> {
  return Object.fromEntries(Object.entries(record.images).map(([c, i]) => [c, { ref: i.ref, digest: i.digest }]));
}

/**
 * Where an existing release runs from: its own commit's files (checked out once under
 * `.atmos/checkouts/`) unless the working tree is that commit, unmodified; its images and
 * its commit's Git facts.
 */
async function releaseWorkspace(
  repo: Repository,
  dep: DeploymentConfig,
  git: GitRepo,
  head: Head,
  release: ReleaseEntry,
  target: string,
  notice: (m: string) => void,
): Promise<{ runRepo: Repository; runDep: DeploymentConfig; gitFacts: GitInfo; images: Record<string, BuiltImage> }> {
  const existing = release.record;
  // A release's context overrides (`--context` when it was made) are part of it: never others.
  if (dep.contextOverrides && Object.keys(dep.contextOverrides).length) {
    throw new DiagnosticError(
      error(
        'args/context',
        `--context ${formatContextOverrides(dep.contextOverrides)}: release ${release.id} is an existing release, which runs with the context it was made with${existing.context ? ` (${formatContextOverrides(existing.context)})` : ' (no overrides)'}`,
        undefined,
        'drop --context to roll it out as released, or make a new release with it: atmos-pipe rollout <deployment> --target <entry target> --context k=v',
      ),
    );
  }
  const own = (d: DeploymentConfig) => {
    if (!existing.context || Object.keys(existing.context).length === 0) return d;
    notice(`release ${release.id} carries the context overrides it was made with: ${formatContextOverrides(existing.context)}`);
    return withContextOverrides(d, target, existing.context);
  };
  const gitFacts: GitInfo = { sha: existing.git_sha, short_sha: existing.git_sha.slice(0, 8), ...(existing.git_branch ? { branch: existing.git_branch } : {}) };
  const dirty = (await git.run(['status', '--porcelain', '--untracked-files=no', '--', '.'])).text.trim() !== '';
  if (existing.git_sha === head.sha && !dirty) return { runRepo: repo, runDep: own(dep), gitFacts, images: imagesOf(existing) };
  // Roll out exactly the release's commit: its configuration, not the working tree's.
  const dir = await checkoutCommit(git, existing.git_sha, repo.config.cacheDir);
  const opened = openRepository({ cwd: dir });
  const runRepo = { ...opened, modules: repo.modules, config: { ...opened.config, cacheDir: repo.config.cacheDir, releasesPath: repo.config.releasesPath } };
  notice(`rolling out release ${release.id} at commit ${existing.git_sha.slice(0, 12)} (its own configuration${dirty && existing.git_sha === head.sha ? ', not the modified working tree' : ''})`);
  return { runRepo, runDep: own(loadDeployment(runRepo, dep.name)), gitFacts, images: imagesOf(existing) };
}

/**
 * `sbom --git-sha <sha>`: the SBOM of the release made at that commit, generated from the
 * release itself (its commit's configuration, its pinned images, its context overrides), as
 * the release recorded it. The target: `target`, else the one the release was made for.
 */
export async function releaseSbomAt(
  repo: Repository,
  dep: DeploymentConfig,
  sha: string,
  opts: { target?: string; component?: string },
): Promise<{ release: ReleaseEntry; target: string; sbom: import('../sbom/index.js').DeploymentSbom }> {
  const git = new GitRepo(repo.config.repoRoot);
  const head = await requireHead(git, 'sbom --git-sha');
  const refs = await git.readRefs([historyTagPrefix(dep.name), releaseTagPrefix(dep.name)]);
  const releases = releasesFromRefs(refs, dep.name);
  const entry = findByCommit(dep, opts.target ?? '', releases, historyFromRefs(refs, dep.name), sha);
  const target = opts.target ?? entry.record.target;
  const ws = await releaseWorkspace(repo, dep, git, head, entry, target, () => undefined);
  const { deploymentSbom } = await import('../sbom/index.js');
  const sbom = await deploymentSbom(ws.runRepo, ws.runDep, target, { images: ws.images, git: ws.gitFacts, ...(opts.component !== undefined ? { component: opts.component } : {}) });
  return { release: entry, target, sbom };
}

/** The Terraform components (names) a rollout applies: all of them, or those `--component` selects. */
async function appliedComponents(
  repo: Repository,
  dep: DeploymentConfig,
  req: RolloutRequest,
  resolved: ResolvedDeployment | undefined,
  images: Record<string, BuiltImage> | undefined,
  git: GitInfo | undefined,
): Promise<string[]> {
  if (!req.components?.length) return Object.keys(dep.body.components?.terraform ?? {});
  const r = resolved ?? (await resolveWithImageStore(repo.config, dep, req.target, { files: repo.files, ...(images ? { images } : {}), ...(git ? { git } : {}) }));
  const picked = selectComponents(r, req.components, req.withDeps ?? false);
  return r.components.filter((c) => c.type === 'terraform' && picked.has(c.address)).map((c) => c.name);
}

export interface RolloutPlan extends DryRunSummary {
  /** Release the rollout would deploy (null: a new release of the working tree's commit). */
  release: string | null;
  commit: string;
  promoted_from: string | null;
  rollback_of: string | null;
  /** `not required`, `recorded (<who>)` or `missing`: what the rollout would check. */
  approval: string;
}

/** The history and the rollout decision (release choice, promotion path) read from Git: one git process. */
async function decideOnRecords(git: GitRepo, dep: DeploymentConfig, req: Pick<RolloutRequest, 'target' | 'promoteFrom' | 'release' | 'gitSha' | 'skipPromotionCheck'>) {
  const refs = await git.readRefs([historyTagPrefix(dep.name), releaseTagPrefix(dep.name)]);
  const history = historyFromRefs(refs, dep.name);
  const intent = { target: req.target, promoteFrom: req.promoteFrom, release: req.release, gitSha: req.gitSha, skipPromotionCheck: req.skipPromotionCheck };
  return { history, decision: decideRollout(dep, intent, history, releasesFromRefs(refs, dep.name)) };
}

/**
 * `rollout --dry-run`: the same choice of release and the same promotion-path check as a
 * rollout (a refusal is exit 3), then the steps planned from the release's own commit.
 * Reads only: no release, no approval, no build, no run.
 */
export async function planRollout(repo: Repository, dep: DeploymentConfig, req: Omit<RolloutRequest, 'emit'> & { emit?: RolloutRequest['emit'] }): Promise<RolloutPlan> {
  const T = req.target;
  const git = new GitRepo(repo.config.repoRoot);
  const head = await requireHead(git, 'rollout --dry-run with --promote-from, --release or --git-sha');
  requireFresh(await fetchFirst(git, req.pushRemote, { fetch: req.fetch }), `planning the rollout to ${dep.name}/${T}`);
  const { history, decision } = await decideOnRecords(git, dep, req);
  const emit = req.emit ?? (() => undefined);
  const base = { ...req, emit };
  let approval = decision.requiresApproval ? 'missing' : 'not required';
  if (decision.choice.kind === 'existing') {
    const rel = decision.choice.release;
    const ws = await releaseWorkspace(repo, dep, git, head, rel, T, () => undefined);
    if (decision.requiresApproval) {
      const recorded = await readApprovals(git, dep.name, rel.record.git_sha, { target: T, release: rel.id });
      if (recorded.length) approval = `recorded (${[...new Set(recorded.map((a) => a.approved_by))].join(', ')})`;
    }
    const upstream = rolloutUpstream(history, T, rel.id, decision.promotedFrom);
    const plan = await dryRunPipeline(ws.runRepo, ws.runDep, { ...base, git: ws.gitFacts, images: ws.images, upstream });
    return { ...plan, release: rel.id, commit: rel.record.git_sha, promoted_from: decision.promotedFrom, rollback_of: decision.rollbackOf, approval };
  }
  const plan = await dryRunPipeline(repo, dep, base);
  return { ...plan, release: null, commit: head.sha, promoted_from: null, rollback_of: null, approval };
}

/**
 * `rollout --plan`: `terraform plan` of exactly what this rollout would apply — the same
 * choice of release (working tree, `--promote-from`, `--release`, `--git-sha`) and the same
 * promotion-path check (a refusal is exit 3) — from the release's own commit, images and
 * context. Applies and records nothing in Git; the plans are stored (`planOut`, then put in
 * the cache by the caller) for `rollout --from-plan`. `req.pipeline` is the plan pipeline.
 */
export async function planRolloutRun(repo: Repository, dep: DeploymentConfig, req: RolloutRequest): Promise<RunSummary> {
  const T = req.target;
  const git = new GitRepo(repo.config.repoRoot);
  const head = await headOf(git);
  const wantsRelease = req.promoteFrom !== undefined || req.release !== undefined || req.gitSha !== undefined;
  if (!head) {
    if (wantsRelease) await requireHead(git, 'rollout --plan with --promote-from, --release or --git-sha');
    return runPipeline(repo, dep, req);
  }
  const fetched = await fetchFirst(git, req.pushRemote, { fetch: req.fetch });
  if (wantsRelease || dep.body.targets[T]?.promotion) requireFresh(fetched, `planning the rollout to ${dep.name}/${T}`);
  const { history, decision } = await decideOnRecords(git, dep, req);
  const notice = (message: string) => req.emit({ type: 'notice', time: new Date().toISOString(), message });
  if (decision.choice.kind === 'head') return runPipeline(repo, dep, req);
  const rel = decision.choice.release;
  const ws = await releaseWorkspace(repo, dep, git, head, rel, T, notice);
  notice(
    `planning release ${rel.id} (commit ${rel.record.git_sha.slice(0, 12)})${decision.promotedFrom ? ` from ${decision.promotedFrom}` : ''}${decision.rollbackOf ? `, rolling back ${decision.rollbackOf}` : ''}`,
  );
  const upstream = rolloutUpstream(history, T, rel.id, decision.promotedFrom);
  return runPipeline(ws.runRepo, ws.runDep, { ...req, git: ws.gitFacts, images: ws.images, upstream });
}

export async function rollout(repo: Repository, dep: DeploymentConfig, req: RolloutRequest): Promise<RolloutSummary> {
  const env = req.env ?? process.env;
  const warnings: Diagnostic[] = [];
  const notice = (message: string) => req.emit({ type: 'notice', time: new Date().toISOString(), message });
  const git = new GitRepo(repo.config.repoRoot);
  const head = await headOf(git);
  const T = req.target;
  const wantsRelease = req.promoteFrom !== undefined || req.release !== undefined || req.gitSha !== undefined;

  if (!head) {
    // No Git, no database: entry targets still roll out, unrecorded; policy needs history.
    const t = dep.body.targets[T];
    if (wantsRelease || t?.promotion) {
      throw new DiagnosticError(
        error(
          'tracking/no-git',
          `${dep.name}/${T} ${wantsRelease ? 'rolls out a recorded release' : 'has a promotion rule'}, which needs the deployment history in Git, but ${repo.config.repoRoot} is not in a Git work tree (or has no commit)`,
          undefined,
          'git init && git add -A && git commit -m "initial", then roll out again',
        ),
        'refused',
      );
    }
    const noGit = (await git.run(['--version'], { allowFail: true })).code === 127;
    warnings.push(
      warning(
        'tracking/no-git',
        noGit
          ? 'git is not on PATH: this rollout is not recorded (no release, no history)'
          : `${repo.config.repoRoot} is not in a Git work tree: this rollout is not recorded (no release, no history)`,
        undefined,
        noGit ? 'install git to track what runs where' : 'commit the repository to Git to track what runs where',
      ),
    );
    const resolved = await knownUpstream(repo, dep, req, { records: {} }); // nothing is recorded without Git
    const built = await buildForRelease(repo, dep, req, resolved);
    built?.saveRecord?.(); // no policy to check without Git
    const run = built && built.status !== 'success' ? built : await runPipeline(repo, dep, { ...req, resolved, images: imagesAfterBuild(resolved, built) });
    return { run, tracked: false, release: null, decision: null, deployer: await whoAmI(undefined, env), approvedBy: [], recorded: [], warnings };
  }

  // The remote's records first (a CI clone has none): a decision that reads other targets'
  // records is refused on records that could not be refreshed; any other rollout says so.
  const fetched = await fetchFirst(git, req.pushRemote, { fetch: req.fetch });
  if (wantsRelease || dep.body.targets[T]?.promotion) requireFresh(fetched, `rolling out to ${dep.name}/${T}`);
  warnings.push(...staleWarning(fetched, 'rolling out on the local records'));
  return trackedRollout(repo, dep, req, git, head, warnings, notice, env);
}

async function trackedRollout(
  repo: Repository,
  dep: DeploymentConfig,
  req: RolloutRequest,
  git: GitRepo,
  head: Head,
  warnings: Diagnostic[],
  notice: (m: string) => void,
  env: NodeJS.ProcessEnv,
): Promise<RolloutSummary> {
  const T = req.target;
  // One git process reads everything the decision needs.
  const prefixes = [historyTagPrefix(dep.name), releaseTagPrefix(dep.name), deploymentRefPrefix(dep.name, T)];
  let refs: RefInfo[] = await git.readRefs(prefixes);
  let history = historyFromRefs(refs, dep.name);
  const intent = { target: T, promoteFrom: req.promoteFrom, release: req.release, gitSha: req.gitSha, skipPromotionCheck: req.skipPromotionCheck };
  const decision = decideRollout(dep, intent, history, releasesFromRefs(refs, dep.name));
  const deployer = await whoAmI(git, env);

  // Dependencies outside the run: their recorded outputs in this target (of the promoted release when promoting).
  const upstream = rolloutUpstream(history, T, decision.choice.kind === 'existing' ? decision.choice.release.id : null, decision.promotedFrom);

  // The release: an existing one, or a new record of the working tree's commit.
  let record: ReleaseRecord;
  let runRepo = repo;
  let runDep = dep;
  let gitFacts: GitInfo | undefined;
  let images: Record<string, BuiltImage> | undefined;
  let resolvedNow: ResolvedDeployment | undefined;
  let pending: PendingRelease | undefined;
  let built: RunSummary | undefined;
  const annotations = { ...(req.annotations ?? {}) };
  if (decision.choice.kind === 'existing') {
    const existing = decision.choice.release.record;
    record = { ...existing, target: T };
    const ws = await releaseWorkspace(repo, dep, git, head, decision.choice.release, T, notice);
    ({ runRepo, runDep, gitFacts, images } = ws);
  } else {
    // vendor (just in time) → upstream outputs known (exit 2) → inputs committed (exit 3) →
    // build (cached) → release: the release pins what was pulled and built.
    const now = await knownUpstream(repo, dep, req, upstream);
    const dirty = checkClean(await changedInputs(git, repo, deploymentInputs(repo, dep, now)), 'rollout', dep, T, head, req.allowDirty ?? false);
    if (dirty) warnings.push(dirtyWarning(dirty, dep, T, head, DIRTY_RECORDED));
    built = await buildForRelease(repo, dep, req, now);
    if (built && built.status !== 'success') {
      built.saveRecord?.();
      return { run: built, tracked: true, release: null, decision, deployer, approvedBy: [], recorded: [], warnings };
    }
    // One resolution flows down: the release's images are bound into it (SBOM, run), never resolved again.
    resolvedNow = now;
    pending = await makeRelease(repo, dep, git, { target: T, head, createdBy: deployer, annotations, pulled: true, dirty, resolved: now });
    record = pending.record;
    images = imagesOf(record);
  }
  const id = idOfRelease(record);
  if (decision.skippedCheck) annotations['atmos-pipe/promotion-check'] = 'skipped';

  // Approvals (read on the release's commit; --approve adds one, recorded below).
  let approvedBy: string[] = [];
  let newApproval: Approval | undefined;
  if (decision.requiresApproval) {
    const recorded = await readApprovals(git, dep.name, record.git_sha, { target: T, release: id });
    if (req.approve) {
      let approver = req.approver?.trim();
      if (!approver) {
        if (!req.confirm) {
          throw new DiagnosticError(
            error(
              'args/approver-required',
              `--approve needs --approver <id> when there is no terminal to ask`,
              undefined,
              `e.g. --approve --approver "$GITHUB_ACTOR", or record it first: atmos-pipe approve ${dep.name} --target ${T} --release ${id}`,
            ),
            // A command line that cannot work here: a usage error (2), not a policy refusal (3).
            'invalid',
          );
        }
        const yes = await req.confirm(
          `Approve release ${id} (commit ${record.git_sha.slice(0, 12)}${decision.promotedFrom ? `, from ${decision.promotedFrom}` : ''}) for ${dep.name}/${T} as ${deployer}? [y/N] `,
        );
        if (!yes) throw new DiagnosticError(error('policy/approval-declined', `approval of release ${id} for ${T} declined; nothing was rolled out`), 'refused');
        approver = deployer;
      }
      newApproval = { deployment: dep.name, target: T, release: id, promoted_from: decision.promotedFrom, approved_by: approver, approved_at: new Date().toISOString() };
    }
    const all = newApproval ? [...recorded, newApproval] : recorded;
    // Approvals limited to components (`approve --component`) must cover what this rollout applies.
    const applied = all.some((a) => a.components) ? await appliedComponents(runRepo, runDep, req, resolvedNow, images, gitFacts) : [];
    const valid = checkApproval(dep, decision, T, id, all, deployer, applied);
    approvedBy = [...new Set(valid.map((a) => a.approved_by))];
  }

  // Written once every check passed (policy above; configuration, images, tools in the run).
  let release!: CreateReleaseResult;
  const beforeRun = async () => {
    // Now under the run lock: read again, so a rollout that finished while this one waited
    // for the lock is seen (the decision must still hold, and refs move from their new values).
    refs = await git.readRefs(prefixes);
    history = historyFromRefs(refs, dep.name);
    const again = decideRollout(dep, intent, history, releasesFromRefs(refs, dep.name));
    const chosen = (d: PolicyDecision) => (d.choice.kind === 'existing' ? d.choice.release.id : 'head');
    if (chosen(again) !== chosen(decision) || again.rollbackOf !== decision.rollbackOf || again.promotedFrom !== decision.promotedFrom) {
      throw new DiagnosticError(
        error(
          'run/changed-while-waiting',
          `another rollout changed ${dep.name}/${T} while this one waited for the lock; nothing was rolled out`,
          undefined,
          'run the command again to decide on the new state',
        ),
        'locked',
      );
    }
    // The build's run record and the SBOM memo: written only now that every check passed.
    built?.saveRecord?.();
    if (newApproval) await recordApproval(git, record.git_sha, newApproval);
    // A new release is written with its SBOM; an existing one is exported for this target.
    release = pending ? await pending.create() : await publishRelease(repo, git, record);
    notice(
      `release ${release.id} ${release.created ? 'created' : 'reused'} (${release.tag})${decision.promotedFrom ? `, promoted from ${decision.promotedFrom}` : ''}${decision.rollbackOf ? `, rolling back ${decision.rollbackOf}` : ''}`,
    );
  };
  const recorded: RecordedComponent[] = [];
  const pushRefs: import('../tracking/sync.js').TrackingPush['refs'] = [];
  const pushTags: string[] = [];
  // Recorded under the run lock, so the next rollout of this target decides on it.
  const afterRun = async (run: RunSummary) => {
    // Record: one history tag per Terraform component that ran; refs move for successes only.
    const previousRefs = new Map(refs.filter((r) => r.ref.startsWith(deploymentRefPrefix(dep.name, T))).map((r) => [r.ref, r.sha]));
    const byComponent = new Map<string, typeof run.results>();
    for (const r of run.results) byComponent.set(r.component, [...(byComponent.get(r.component) ?? []), r]);
    pushTags.push(release.tag);
    const at = Date.now();
    const imageRefs = Object.fromEntries(Object.entries(release.record.images).map(([c, i]) => [c, i.ref.includes('@') ? i.ref : `${i.ref}@${i.digest}`]));
    // What to record, in order: an unchanged component records nothing; the others one tag each.
    const plans: Array<{ component: string; status: DeploymentRecord['status']; entry?: DeploymentRecord; ref: string; previous: string | null; failed: boolean }> = [];
    for (const c of run.resolved.components) {
      if (c.type !== 'terraform') continue;
      const results = byComponent.get(c.address);
      if (!results || results.length === 0) continue;
      const failed = results.some((r) => r.status === 'failed');
      const finished = results.every((r) => r.status === 'done' || r.status === 'cached');
      if (!failed && !finished) continue; // skipped: it never ran, nothing changed
      const ref = deploymentRef(dep.name, T, c.name);
      const previous = previousRefs.get(ref) ?? null;
      const status: DeploymentRecord['status'] = failed ? 'failed' : decision.rollbackOf ? 'rollback' : 'success';
      // An unchanged re-run (all cached, same release already current, same recorded outputs)
      // records nothing new; a record without the outputs (an older one) is completed.
      const last = history.find((h) => h.target === T && h.component === c.name);
      const cur = currentOfComponent(history, T, c.name);
      const sameOutputs = canonicalJson(cur?.outputs ?? null) === canonicalJson(run.recordable[c.address] ?? null);
      if (!failed && results.every((r) => r.status === 'cached') && last && cur === last && cur.release === release.id && previous === release.record.git_sha && sameOutputs) {
        plans.push({ component: c.name, status, ref, previous, failed });
        continue;
      }
      const entry: DeploymentRecord = {
        deployment: dep.name,
        target: T,
        component: c.name,
        release: release.id,
        git_sha: release.record.git_sha,
        images: imageRefs,
        deployed_by: deployer,
        timestamp: '',
        status,
        promoted_from: decision.promotedFrom,
        approved_by: approvedBy,
        rollback_of: decision.rollbackOf,
        annotations,
        ...(release.record.dirty ? { dirty: true, dirty_digest: release.record.dirty_digest } : {}),
        ...(!failed && run.recordable[c.address] ? { outputs: run.recordable[c.address] } : {}),
      };
      plans.push({ component: c.name, status, entry, ref, previous, failed });
    }
    const sha = release.record.git_sha;
    const moves = (p: (typeof plans)[number]) => !p.failed && p.previous !== sha;
    // Every tag and every ref move in one transaction (a constant number of git processes):
    // all land or none. Refused (a tag name taken, a ref moved by another process), each is
    // recorded on its own below, which bumps the timestamp or reports the conflict.
    const ts = new Date(at).toISOString();
    const tagged = plans.flatMap((p) => (p.entry ? [{ p, name: historyTagName(dep.name, T, p.component, ts), message: formatDeploymentRecord({ ...p.entry, timestamp: ts }) }] : []));
    const moved = tagged.filter(({ p }) => moves(p)).map(({ p }) => ({ ref: p.ref, newSha: sha, oldSha: p.previous }));
    const statuses = new Set(tagged.filter(({ p }) => moves(p)).map(({ p }) => p.status));
    const atOnce =
      tagged.length > 0 && statuses.size <= 1
        ? await git.recordAtomically(
            tagged.map((t) => ({ name: t.name, targetSha: sha, message: t.message })),
            moved,
            `atmos-pipe: ${[...statuses][0] ?? 'record'} ${release.id}`,
          )
        : null;
    const tagOf = new Map(tagged.map((t) => [t.p, t.name]));
    for (const p of plans) {
      if (!p.entry) {
        recorded.push({ component: p.component, status: p.status, tag: null, refUpdated: false });
        continue;
      }
      let tag = '';
      if (atOnce) tag = tagOf.get(p) ?? '';
      else {
        for (let bump = 0; ; bump++) {
          const ts = new Date(at + bump).toISOString();
          tag = historyTagName(dep.name, T, p.component, ts);
          try {
            await git.createAnnotatedTag(tag, sha, formatDeploymentRecord({ ...p.entry, timestamp: ts }));
            break;
          } catch (e) {
            if (!(e instanceof TagConflictError) || bump > 50) throw e;
          }
        }
      }
      pushTags.push(tag);
      const rc: RecordedComponent = { component: p.component, status: p.status, tag, refUpdated: false };
      if (moves(p)) {
        const cas = atOnce ? ({ ok: true } as const) : await git.updateRef(p.ref, sha, p.previous, `atmos-pipe: ${p.status} ${release.id}`);
        if (cas.ok) {
          rc.refUpdated = true;
          pushRefs.push({ ref: p.ref, previous: p.previous, value: sha, tag });
        } else {
          rc.conflict = `moved to ${cas.current?.slice(0, 12) ?? '(deleted)'} by another process during this rollout; left as is`;
          warnings.push(warning('tracking/ref-conflict', `${p.ref} ${rc.conflict}`, undefined, `compare: atmos-pipe history ${dep.name} --target ${T} --component ${p.component}`));
        }
      } else if (!p.failed) {
        pushRefs.push({ ref: p.ref, previous: p.previous, value: sha, tag });
      }
      recorded.push(rc);
    }
  };
  const notes = (['approvals', 'test-results', 'sbom'] as const).map((k) => notesRef(dep.name, k));
  let push: RemotePush | undefined;
  const run = await runPipeline(runRepo, runDep, {
    ...req,
    beforeRun,
    // Pushed before the run's lease on the remote is released: the next job that takes it
    // (on another machine) fetches what this one recorded.
    afterRun: async (summary) => {
      await afterRun(summary);
      push = await pushRecorded(git, req.pushRemote, { refs: pushRefs, tags: pushTags, notes });
    },
    leaseRemote: req.pushRemote,
    upstream,
    ...(gitFacts ? { git: gitFacts } : {}),
    ...(images ? { images } : {}),
    ...(resolvedNow ? { resolved: resolvedNow } : {}),
  });

  const summary: RolloutSummary = { run, tracked: true, release, decision, deployer, approvedBy, recorded, warnings };
  if (push) summary.push = push;
  return summary;
}
