/**
 * `approve` (SPEC 10) outside a rollout.
 */
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, choicesHint, error, warning, type Diagnostic } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { coveredBy, readApprovals, recordApproval, type Approval } from '../promotion/approvals.js';
import { findRelease, promotionSources } from '../promotion/policy.js';
import { makeRelease } from '../release/create.js';
import { releasesFromRefs, releaseTagPrefix, type ReleaseEntry } from '../release/index.js';
import {
  currentReleases,
  dirtyTreeWarning,
  fetchFirst,
  GitRepo,
  historyFromRefs,
  historyTagPrefix,
  notesRef,
  pushRecorded,
  requireFresh,
  requireHead,
  staleWarning,
  type RemotePush,
} from '../tracking/index.js';
import { sameIdentity, whoAmI } from '../tracking/identity.js';

export interface ApproveRequest {
  target: string;
  release?: string;
  promoteFrom?: string;
  approver?: string;
  env?: NodeJS.ProcessEnv;
  pushRemote?: string;
  /** false (`--no-fetch`): decide on this repository's records without fetching `pushRemote`'s first. */
  fetch?: boolean;
  /** `--component` (repeatable): approve only these Terraform components (address or bare name). */
  components?: string[];
  /**
   * `--timeout <dur>`: record nothing; wait up to this many seconds for someone to record an
   * approval of the release (re-reading the records, fetched from `pushRemote` when there is
   * one), else exit 3.
   */
  waitSeconds?: number;
  /** Seconds between two reads while waiting (default 2). */
  pollSeconds?: number;
  /** Told once, when the wait starts (what is awaited and how to give it). */
  notice?: (message: string) => void;
}

export interface ApproveResult {
  approval: Approval;
  /** false when the same person had already approved this release for this target (or when waiting). */
  created: boolean;
  /** With `waitSeconds`: the approval was recorded by someone else, and seen while waiting. */
  waited?: boolean;
  commit: string;
  warnings: Diagnostic[];
  push?: RemotePush;
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
  const fetched = await fetchFirst(git, req.pushRemote, { fetch: req.fetch });
  const refs = await git.readRefs([historyTagPrefix(dep.name), releaseTagPrefix(dep.name)]);
  const history = historyFromRefs(refs, dep.name);
  const releases = releasesFromRefs(refs, dep.name);
  const sources = promotionSources(dep, T);
  const targets = Object.keys(dep.body.targets);
  let entry: ReleaseEntry | undefined;
  let promotedFrom: string | null = null;
  if (req.promoteFrom !== undefined) {
    if (!targets.includes(req.promoteFrom))
      throw new DiagnosticError(error('args/unknown-target', `--promote-from ${req.promoteFrom}: no such target in ${dep.name}`, undefined, choicesHint(req.promoteFrom, targets)));
    if (sources.length > 0 && !sources.includes(req.promoteFrom)) {
      throw new DiagnosticError(
        error('policy/promotion-source', `${T} accepts promotions only from ${sources.join(' or ')}, not from ${req.promoteFrom}; approving it would not let it through`),
        'refused',
      );
    }
    promotedFrom = req.promoteFrom;
  } else if (req.release === undefined && sources.length === 1) promotedFrom = sources[0];
  else if (req.release === undefined && sources.length > 1) {
    throw new DiagnosticError(error('args/promote-from', `${T} can be promoted from ${sources.join(' or ')}: say which`, undefined, `--promote-from ${sources[0]}, or --release <id>`));
  }

  // Which release is approved comes from the records: never from records that could not be refreshed.
  if (req.release !== undefined || promotedFrom !== null) requireFresh(fetched, `approving a release for ${dep.name}/${T}`);
  warnings.push(...staleWarning(fetched, 'approving on the local records'));
  if (req.release !== undefined) {
    entry = findRelease(dep, releases, req.release);
    const current = currentReleases(history);
    promotedFrom = promotedFrom ?? sources.find((s) => current.get(s)?.release === entry!.id) ?? null;
  } else if (promotedFrom !== null) {
    const cur = currentReleases(history).get(promotedFrom);
    if (!cur || cur.release === null) {
      throw new DiagnosticError(
        error(
          'policy/nothing-to-promote',
          `${promotedFrom} runs no release of ${dep.name}: there is nothing to approve for ${T} yet`,
          undefined,
          `roll out ${promotedFrom} first, or approve a given release: --release <id>`,
        ),
        'refused',
      );
    }
    entry = releases.find((r) => r.id === cur.release);
    if (!entry)
      throw new DiagnosticError(error('tracking/missing-release', `${promotedFrom} runs release ${cur.release}, but its tag is missing`, undefined, 'git fetch --tags from the tracking remote'));
  }
  if (!dep.body.targets[T]?.promotion?.requires_approval) {
    warnings.push(warning('approve/not-required', `${T} does not require approvals (no promotion.requires_approval); the approval is recorded anyway`));
  }

  const components = req.components?.length ? approvedComponents(dep, req.components) : undefined;
  const approver = req.approver?.trim() || (await whoAmI(git, req.env));
  let releaseIdValue: string;
  let commit: string;
  if (entry) {
    releaseIdValue = entry.id;
    commit = entry.record.git_sha;
  } else {
    // An entry point: approve the release of the working tree's commit, made (idempotently)
    // as `release` and `rollout` make it: the same commit and artifacts give the same release.
    const dirty = await dirtyTreeWarning(git, head);
    if (dirty) warnings.push(dirty);
    const pending = await makeRelease(repo, dep, git, { target: T, head, createdBy: approver });
    releaseIdValue = (await pending.create()).id;
    commit = head.sha;
  }
  if (req.waitSeconds !== undefined) {
    const scope = components ? ` (components ${components.join(', ')})` : '';
    req.notice?.(
      `waiting up to ${req.waitSeconds}s for an approval of release ${releaseIdValue} for ${dep.name}/${T}${scope}; an approver records it with: atmos-pipe approve ${dep.name} --target ${T} --release ${releaseIdValue}${(components ?? []).map((c) => ` --component ${c}`).join('')}${req.pushRemote ? ' --push' : ''}`,
    );
    const seen = await waitForApproval(git, dep, {
      target: T,
      release: releaseIdValue,
      commit,
      components: components ?? Object.keys(dep.body.components?.terraform ?? {}).sort(),
      whole: !components,
      waiter: approver,
      seconds: req.waitSeconds,
      pollSeconds: req.pollSeconds ?? 2,
      pushRemote: req.pushRemote,
      fetch: req.fetch,
    });
    return { approval: seen, created: false, waited: true, commit, warnings };
  }
  const existing = await readApprovals(git, dep.name, commit, { target: T, release: releaseIdValue });
  const same = existing.find((a) => sameIdentity(a.approved_by, approver) && coveredBy([a], components ?? []));
  if (same) return { approval: same, created: false, commit, warnings };
  const approval: Approval = {
    deployment: dep.name,
    target: T,
    release: releaseIdValue,
    promoted_from: promotedFrom,
    approved_by: approver,
    approved_at: new Date().toISOString(),
    ...(components ? { components } : {}),
  };
  await recordApproval(git, commit, approval);
  const push = await pushRecorded(git, req.pushRemote, { refs: [], tags: [], notes: [notesRef(dep.name, 'approvals')] });
  return { approval, created: true, commit, warnings, ...(push ? { push } : {}) };
}

/** `--component` values as Terraform component names (address or bare name); exit 2 for any other. */
function approvedComponents(dep: DeploymentConfig, given: string[]): string[] {
  const tf = Object.keys(dep.body.components?.terraform ?? {});
  const out = new Set<string>();
  for (const g of given) {
    const name = g.startsWith('terraform/') ? g.slice('terraform/'.length) : g;
    if (!tf.includes(name)) {
      const other = g.includes('/') && !g.startsWith('terraform/') && !tf.includes(name);
      throw new DiagnosticError(
        error(
          'args/component',
          `--component ${g}: ${other ? 'approvals gate what a rollout applies, the Terraform components' : `${dep.name} has no Terraform component "${name}"`}`,
          undefined,
          choicesHint(name, tf),
        ),
      );
    }
    out.add(name);
  }
  return [...out].sort();
}

/**
 * Waits for an approval of `release` for `target` that someone recorded (covering
 * `components`; with \`approval.distinct_approver\`, by someone other than the waiter),
 * reading the approvals note again every `pollSeconds` (fetched first from the tracking
 * remote). Exit 3 when none came within `seconds`.
 */
async function waitForApproval(
  git: GitRepo,
  dep: DeploymentConfig,
  w: { target: string; release: string; commit: string; components: string[]; whole: boolean; waiter: string; seconds: number; pollSeconds: number; pushRemote?: string; fetch?: boolean },
): Promise<Approval> {
  const t = dep.body.targets[w.target];
  const distinct = t?.approval?.distinct_approver ?? dep.body.approval?.distinct_approver ?? false;
  const deadline = Date.now() + w.seconds * 1000;
  for (let first = true; ; first = false) {
    if (!first) await fetchFirst(git, w.pushRemote, { fetch: w.fetch, refresh: true });
    const valid = (await readApprovals(git, dep.name, w.commit, { target: w.target, release: w.release })).filter((a) => !distinct || !sameIdentity(a.approved_by, w.waiter));
    if (valid.length && coveredBy(valid, w.components)) return valid.find((a) => !a.components) ?? valid[valid.length - 1];
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(w.pollSeconds * 1000, deadline - Date.now()))));
  }
  const scope = w.whole ? '' : ` (components ${w.components.join(', ')})`;
  throw new DiagnosticError(
    error(
      'policy/approval-timeout',
      `no approval of release ${w.release} for ${dep.name}/${w.target}${scope} was recorded within ${w.seconds}s${distinct ? ` by someone other than ${w.waiter}` : ''}`,
      undefined,
      `an approver records it with: atmos-pipe approve ${dep.name} --target ${w.target} --release ${w.release}${w.whole ? '' : w.components.map((c) => ` --component ${c}`).join('')} --push`,
    ),
    'refused',
  );
}
