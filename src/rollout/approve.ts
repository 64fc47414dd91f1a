/**
 * `approve` (SPEC 10) and `release` (SPEC 5.3) outside a rollout.
 */
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, choicesHint, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../index.js';
import { readApprovals, recordApproval, type Approval } from '../promotion/approvals.js';
import { findRelease, promotionSources } from '../promotion/policy.js';
import { currentReleases } from '../promotion/state.js';
import { createRelease, releasesFromRefs, releaseTagPrefix, type CreateReleaseResult, type ReleaseEntry } from '../release/index.js';
import { historyFromRefs } from '../release/read.js';
import { GitRepo, historyTagPrefix, notesRef } from '../tracking/index.js';
import { sameIdentity, whoAmI } from '../tracking/identity.js';
import { dirtyTreeWarning, newReleaseRecord, releaseSbom, requireHead } from './index.js';

export interface ApproveRequest {
  target: string;
  release?: string;
  promoteFrom?: string;
  approver?: string;
  env?: NodeJS.ProcessEnv;
  pushRemote?: string;
}

export interface ApproveResult {
  approval: Approval;
  /** false when the same person had already approved this release for this target. */
  created: boolean;
  commit: string;
  warnings: Diagnostic[];
  push?: import('../tracking/sync.js').TrackingPushResult & { remote: string };
}

/**
 * Records an approval of a release for a target. Without `--release`, the release is the one
 * the target would be promoted to: the current release of its (only, or `--promote-from`)
 * source target; for an entry point, the release of the working tree's commit.
 */
export async function approve(repo: Repository, dep: DeploymentConfig, req: ApproveRequest): Promise<ApproveResult> {
  const git = new GitRepo(repo.config.repoRoot);
  const head = await requireHead(git, 'approve');
  const T = req.target;
  const warnings: Diagnostic[] = [];
  const refs = await git.readRefs([historyTagPrefix(dep.name), releaseTagPrefix(dep.name)]);
  const history = historyFromRefs(refs, dep.name);
  const releases = releasesFromRefs(refs, dep.name);
  const sources = promotionSources(dep, T);
  const targets = Object.keys(dep.body.targets);
  let entry: ReleaseEntry | undefined;
  let promotedFrom: string | null = null;
  if (req.promoteFrom !== undefined) {
    if (!targets.includes(req.promoteFrom)) throw new DiagnosticError(error('args/unknown-target', `--promote-from ${req.promoteFrom}: no such target in ${dep.name}`, undefined, choicesHint(req.promoteFrom, targets)));
    if (sources.length > 0 && !sources.includes(req.promoteFrom)) {
      throw new DiagnosticError(error('policy/promotion-source', `${T} accepts promotions only from ${sources.join(' or ')}, not from ${req.promoteFrom}; approving it would not let it through`), 'refused');
    }
    promotedFrom = req.promoteFrom;
  } else if (req.release === undefined && sources.length === 1) promotedFrom = sources[0];
  else if (req.release === undefined && sources.length > 1) {
    throw new DiagnosticError(error('args/promote-from', `${T} can be promoted from ${sources.join(' or ')}: say which`, undefined, `--promote-from ${sources[0]}, or --release <id>`));
  }

  if (req.release !== undefined) {
    entry = findRelease(dep, releases, req.release);
    const current = currentReleases(history);
    promotedFrom = promotedFrom ?? sources.find((s) => current.get(s)?.release === entry!.id) ?? null;
  } else if (promotedFrom !== null) {
    const cur = currentReleases(history).get(promotedFrom);
    if (!cur || cur.release === null) {
      throw new DiagnosticError(
        error('policy/nothing-to-promote', `${promotedFrom} runs no release of ${dep.name}: there is nothing to approve for ${T} yet`, undefined, `roll out ${promotedFrom} first, or approve a given release: --release <id>`),
        'refused',
      );
    }
    entry = releases.find((r) => r.id === cur.release);
    if (!entry) throw new DiagnosticError(error('tracking/missing-release', `${promotedFrom} runs release ${cur.release}, but its tag is missing`, undefined, 'git fetch --tags from the tracking remote'));
  }
  if (!dep.body.targets[T]?.promotion?.requires_approval) {
    warnings.push(warning('approve/not-required', `${T} does not require approvals (no promotion.requires_approval); the approval is recorded anyway`));
  }

  let releaseIdValue: string;
  let commit: string;
  if (entry) {
    releaseIdValue = entry.id;
    commit = entry.record.git_sha;
  } else {
    // An entry point: approve the release of the working tree's commit (created now, idempotent).
    const dirty = await dirtyTreeWarning(git, head);
    if (dirty) warnings.push(dirty);
    const approver = req.approver?.trim() || (await whoAmI(git, req.env));
    const created = await createRelease(git, newReleaseRecord(repo, dep, T, head, approver, {}), { releasesPath: repo.config.releasesPath, repoRoot: repo.config.repoRoot });
    releaseIdValue = created.id;
    commit = head.sha;
  }
  const approver = req.approver?.trim() || (await whoAmI(git, req.env));
  const existing = await readApprovals(git, dep.name, commit, { target: T, release: releaseIdValue });
  const same = existing.find((a) => sameIdentity(a.approved_by, approver));
  if (same) return { approval: same, created: false, commit, warnings };
  const approval: Approval = { deployment: dep.name, target: T, release: releaseIdValue, promoted_from: promotedFrom, approved_by: approver, approved_at: new Date().toISOString() };
  await recordApproval(git, commit, approval);
  const result: ApproveResult = { approval, created: true, commit, warnings };
  if (req.pushRemote) {
    const { pushTracking } = await import('../tracking/sync.js');
    result.push = { ...(await pushTracking(git, req.pushRemote, { refs: [], tags: [], notes: [notesRef(dep.name, 'approvals')] })), remote: req.pushRemote };
  }
  return result;
}

export interface ReleaseRequest {
  target: string;
  annotations?: Record<string, string>;
  /** `--allow-dirty`: release modified inputs, recorded as a dirty release (never promoted). */
  allowDirty?: boolean;
  env?: NodeJS.ProcessEnv;
  pushRemote?: string;
}

export interface ReleaseResult extends CreateReleaseResult {
  warnings: Diagnostic[];
  push?: import('../tracking/sync.js').TrackingPushResult & { remote: string };
}

/** Creates (idempotently) the release of the working tree's commit with the built images. */
export async function release(repo: Repository, dep: DeploymentConfig, req: ReleaseRequest): Promise<ReleaseResult> {
  const git = new GitRepo(repo.config.repoRoot);
  const head = await requireHead(git, 'release');
  const warnings: Diagnostic[] = [];
  const who = await whoAmI(git, req.env);
  if (dep.body.vendor) {
    const { ensureVendored } = await import('../vendor/index.js');
    await ensureVendored(repo, dep, req.target);
  }
  const { checkClean, deploymentChanges, dirtyWarning, DIRTY_RECORDED } = await import('../release/dirty.js');
  const dirty = checkClean(await deploymentChanges(git, repo, dep, req.target), 'release', dep, req.target, head, req.allowDirty ?? false);
  if (dirty) warnings.push(dirtyWarning(dirty, dep, req.target, head, DIRTY_RECORDED));
  const record = newReleaseRecord(repo, dep, req.target, head, who, req.annotations ?? {}, dirty);
  const sbom = await releaseSbom(repo, dep, req.target, head, record, dirty !== undefined);
  sbom.save?.();
  record.sboms = { deployment: sbom.digest };
  const r = await createRelease(git, record, { releasesPath: repo.config.releasesPath, repoRoot: repo.config.repoRoot });
  if (r.created) {
    const { attachSbom } = await import('../sbom/index.js');
    await attachSbom(repo.config.repoRoot, dep.name, record.git_sha, sbom.text);
  }
  if (!r.created && JSON.stringify(r.record.annotations) !== JSON.stringify(Object.fromEntries(Object.entries(record.annotations).sort()))) {
    if (Object.keys(record.annotations).length) {
      warnings.push(warning('release/exists', `release ${r.id} already existed (same commit and artifacts); releases are immutable, so its original annotations are kept`));
    }
  }
  const result: ReleaseResult = { ...r, warnings };
  if (req.pushRemote) {
    const { pushTracking } = await import('../tracking/sync.js');
    result.push = { ...(await pushTracking(git, req.pushRemote, { refs: [], tags: [r.tag], notes: [] })), remote: req.pushRemote };
  }
  return result;
}
