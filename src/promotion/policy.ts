/**
 * Promotion and approval policy (SPEC 3 `promotion`, SPEC 10 approvals). Pure decisions over
 * the deployment file, the history and the releases read from Git; every refusal is a
 * located diagnostic with exit code 3 that shows the allowed path and the commands that
 * follow it.
 */
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, choicesHint, error, type Location } from '../diagnostics/index.js';
import type { ReleaseEntry } from '../release/index.js';
import { currentReleases, everDeployed, type HistoryEntry } from '../tracking/history.js';
import { sameIdentity } from '../tracking/identity.js';
import { keyLocOf, locOf } from '../yaml/index.js';
import { coveredBy, type Approval } from './approvals.js';

/** Continuation of a multi-line hint (aligned under the text after `  hint: `). */
const HINT_NL = '\n';

export interface RolloutIntent {
  target: string;
  /** `--promote-from <t>`: the source target's current release. */
  promoteFrom?: string;
  /** `--release <id>`: an existing release (rollback, or promotion of a specific one). */
  release?: string;
  /** `--git-sha <sha>`: the release made at that commit. */
  gitSha?: string;
  /** `--skip-promotion-check`: bypass the path check (recorded in history). */
  skipPromotionCheck?: boolean;
}

export type ReleaseChoice =
  /** Release of the working tree's commit (created by the rollout). */
  | { kind: 'head' }
  /** An existing release. */
  | { kind: 'existing'; release: ReleaseEntry };

export interface PolicyDecision {
  choice: ReleaseChoice;
  /** Source target the release comes from (promotion), null otherwise. */
  promotedFrom: string | null;
  /** Release this rollout replaces when going back to an earlier one, null otherwise. */
  rollbackOf: string | null;
  /** The path check was bypassed with --skip-promotion-check (and would have refused). */
  skippedCheck: boolean;
  requiresApproval: boolean;
  distinctApprover: boolean;
}

/** Promotion sources of a target (`from` or `allowed_from`); empty for an entry point. */
export function promotionSources(dep: DeploymentConfig, target: string): string[] {
  const p = dep.body.targets[target]?.promotion;
  if (!p) return [];
  if (p.from !== undefined) return [p.from];
  return [...(p.allowed_from ?? [])];
}

function requiresApproval(dep: DeploymentConfig, target: string): boolean {
  return dep.body.targets[target]?.promotion?.requires_approval === true;
}

function distinctApprover(dep: DeploymentConfig, target: string): boolean {
  const t = dep.body.targets[target]?.approval?.distinct_approver;
  return t ?? dep.body.approval?.distinct_approver ?? false;
}

/** Where the rule of a target is written (its `promotion:` key, else the target). */
export function ruleLocation(dep: DeploymentConfig, target: string): Location | undefined {
  const t = dep.body.targets[target];
  return (t && keyLocOf(t, 'promotion')) ?? keyLocOf(dep.body.targets, target) ?? locOf(dep.body.targets, target);
}

/** The path from an entry point to `target`, following the first source at each step. */
export function pathTo(dep: DeploymentConfig, target: string): string[] {
  const out = [target];
  const seen = new Set(out);
  for (let cur = target; ; ) {
    const src = promotionSources(dep, cur)[0];
    if (src === undefined || seen.has(src)) break;
    out.unshift(src);
    seen.add(src);
    cur = src;
  }
  return out;
}

/** The commands that walk the allowed path to `target`, one per line. */
export function pathCommands(dep: DeploymentConfig, target: string, cli = 'atmos-pipe'): string[] {
  const p = pathTo(dep, target);
  const cmds: string[] = [];
  p.forEach((t, i) => {
    if (i === 0) cmds.push(`${cli} rollout ${dep.name} --target ${t}`);
    else {
      if (requiresApproval(dep, t)) cmds.push(`${cli} approve ${dep.name} --target ${t}`);
      cmds.push(`${cli} rollout ${dep.name} --target ${t} --promote-from ${p[i - 1]}`);
    }
  });
  return cmds;
}

function refuse(dep: DeploymentConfig, target: string, code: string, message: string, extra: string[] = []): never {
  const p = pathTo(dep, target).map((t) => (requiresApproval(dep, t) ? `${t} [approval]` : t));
  const hint = [`allowed path: ${p.join(' → ')}`, ...extra, 'to follow it:', ...pathCommands(dep, target).map((c) => `  ${c}`)].join(HINT_NL);
  throw new DiagnosticError(error(code, message, ruleLocation(dep, target), hint), 'refused');
}

/**
 * A dirty release (made with `--allow-dirty`) named a commit that does not hold what ran: it
 * is never promoted, nor rolled out again from that commit. Exit 3 at the target's rule.
 */
function refuseDirty(dep: DeploymentConfig, target: string, release: ReleaseEntry, source: string | null): void {
  if (!release.record.dirty) return;
  const S = source ?? release.record.target;
  const files = release.record.dirty_files?.length ? ` (${release.record.dirty_files.join(', ')})` : '';
  refuse(
    dep,
    target,
    'policy/dirty-source',
    `${source ? `${S} runs release ${release.id}` : `release ${release.id}`}, which is dirty: it was made with --allow-dirty from uncommitted changes${files} to commit ${release.record.git_sha.slice(0, 12)}, so no commit holds what it ran; a dirty release is never a promotion source (nor rolled out again)`,
    [`fix: commit the changes, roll out ${S} again from the commit (${pathCommands(dep, S).at(-1)}), then promote that release`],
  );
}

export function findRelease(dep: DeploymentConfig, releases: ReleaseEntry[], id: string): ReleaseEntry {
  const exact = releases.find((r) => r.id === id);
  if (exact) return exact;
  const byPrefix = releases.filter((r) => r.id.startsWith(id));
  if (byPrefix.length === 1 && id.length >= 4) return byPrefix[0];
  throw new DiagnosticError(
    error(
      'args/release',
      `--release ${id}: no such release of ${dep.name}`,
      undefined,
      releases.length
        ? choicesHint(
            id,
            releases.slice(0, 10).map((r) => r.id),
          ) + (releases.length > 10 ? ` (newest 10 of ${releases.length}; see: atmos-pipe releases ${dep.name})` : '')
        : `${dep.name} has no releases yet (a rollout creates one)`,
    ),
  );
}

/** The release made at a commit (`--git-sha`, a prefix of 4+ hex); exit 2 when there is none. */
export function findByCommit(dep: DeploymentConfig, target: string, releases: ReleaseEntry[], history: HistoryEntry[], sha: string): ReleaseEntry {
  if (!/^[0-9a-f]{4,64}$/i.test(sha)) throw new DiagnosticError(error('args/git-sha', `--git-sha "${sha}" is not a commit id (4 to 64 hex characters)`));
  const at = releases.filter((r) => r.record.git_sha.startsWith(sha.toLowerCase()));
  if (at.length === 0) {
    throw new DiagnosticError(
      error(
        'args/git-sha',
        `--git-sha ${sha}: no release of ${dep.name} was made at this commit`,
        undefined,
        releases.length
          ? `releases were made at: ${[...new Set(releases.slice(0, 8).map((r) => r.record.git_sha.slice(0, 12)))].join(', ')} (see: atmos-pipe releases ${dep.name})`
          : `${dep.name} has no releases yet`,
      ),
    );
  }
  if (at.length === 1) return at[0];
  // Several releases at one commit (different images): prefer one that ran where this target
  // may take it from, then one that ran in the target itself, then the newest.
  const places = [...promotionSources(dep, target), target];
  for (const p of places) {
    const hit = at.find((r) => everDeployed(history, p, r.id));
    if (hit) return hit;
  }
  return at[0];
}

/**
 * Decides which release a rollout to `intent.target` deploys and whether the promotion path
 * allows it. Throws exit 3 (policy) or exit 2 (bad arguments); writes nothing.
 */
export function decideRollout(dep: DeploymentConfig, intent: RolloutIntent, history: HistoryEntry[], releases: ReleaseEntry[]): PolicyDecision {
  const T = intent.target;
  const chosen = [intent.promoteFrom !== undefined && '--promote-from', intent.release !== undefined && '--release', intent.gitSha !== undefined && '--git-sha'].filter(Boolean);
  if (chosen.length > 1)
    throw new DiagnosticError(
      error('args/exclusive', `${chosen.join(' and ')} are mutually exclusive`, undefined, 'promote a target with --promote-from, or roll out one release with --release / --git-sha'),
    );
  const sources = promotionSources(dep, T);
  const current = currentReleases(history);
  const base = { requiresApproval: requiresApproval(dep, T), distinctApprover: distinctApprover(dep, T) };
  const skip = intent.skipPromotionCheck === true;

  if (intent.promoteFrom !== undefined) {
    const S = intent.promoteFrom;
    const targets = Object.keys(dep.body.targets);
    if (!targets.includes(S)) throw new DiagnosticError(error('args/unknown-target', `--promote-from ${S}: no such target in ${dep.name}`, undefined, choicesHint(S, targets)));
    if (S === T)
      throw new DiagnosticError(
        error(
          'args/promote-from',
          `--promote-from ${S}: a target cannot be promoted from itself`,
          undefined,
          `to roll out again what runs in ${T}: --release <id> (see: atmos-pipe status ${dep.name} --target ${T})`,
        ),
      );
    let skippedCheck = false;
    if (sources.length > 0 && !sources.includes(S)) {
      if (!skip) refuse(dep, T, 'policy/promotion-source', `${T} accepts promotions only from ${sources.join(' or ')}, not from ${S}`);
      skippedCheck = true;
    }
    const cur = current.get(S);
    if (!cur || cur.release === null) {
      refuse(dep, T, 'policy/nothing-to-promote', `${S} has no successful deployment of ${dep.name} to promote to ${T}`, [`check with: atmos-pipe status ${dep.name} --target ${S}`]);
    }
    const release = releases.find((r) => r.id === cur.release);
    if (!release) {
      throw new DiagnosticError(
        error(
          'tracking/missing-release',
          `${S} runs release ${cur.release}, but its tag atmos/releases/${dep.name}/${cur.release} is missing`,
          undefined,
          'fetch tags from the tracking remote (git fetch --tags), or roll out with --release',
        ),
      );
    }
    refuseDirty(dep, T, release, S);
    const curT = current.get(T);
    const rollbackOf = curT && curT.release !== release.id && everDeployed(history, T, release.id) ? curT.release : null;
    return { choice: { kind: 'existing', release }, promotedFrom: S, rollbackOf, skippedCheck, ...base };
  }

  if (intent.release !== undefined || intent.gitSha !== undefined) {
    const release = intent.release !== undefined ? findRelease(dep, releases, intent.release) : findByCommit(dep, T, releases, history, intent.gitSha!);
    refuseDirty(dep, T, release, sources.find((x) => everDeployed(history, x, release.id)) ?? null);
    const inTarget = everDeployed(history, T, release.id);
    const from = sources.find((s) => current.get(s)?.release === release.id) ?? sources.find((s) => everDeployed(history, s, release.id)) ?? null;
    let skippedCheck = false;
    if (sources.length > 0 && !inTarget && from === null) {
      if (!skip) {
        refuse(dep, T, 'policy/release-not-promoted', `release ${release.id} never ran in ${sources.join(' or ')}; ${T} accepts only releases promoted from there`, [
          `${release.id} ran in: ${[...new Set(history.filter((h) => h.release === release.id && h.status !== 'failed').map((h) => h.target))].join(', ') || 'no target yet'}`,
        ]);
      }
      skippedCheck = true;
    }
    const curT = current.get(T);
    const rollbackOf = inTarget && curT && curT.release !== release.id ? curT.release : null;
    return { choice: { kind: 'existing', release }, promotedFrom: rollbackOf ? null : from, rollbackOf, skippedCheck, ...base };
  }

  // A release of the working tree's commit.
  let skippedCheck = false;
  if (sources.length > 0) {
    if (!skip) refuse(dep, T, 'policy/promotion-required', `${T} accepts only promotions from ${sources.join(' or ')}, not a new commit`);
    skippedCheck = true;
  }
  return { choice: { kind: 'head' }, promotedFrom: null, rollbackOf: null, skippedCheck, ...base };
}

/**
 * Checks that a release has an approval good for this rollout (SPEC 10). `approvals` are
 * those recorded for (target, release); `deployer` is who runs the rollout. Throws exit 3.
 */
export function checkApproval(
  dep: DeploymentConfig,
  decision: PolicyDecision,
  target: string,
  releaseId: string,
  approvals: Approval[],
  deployer: string,
  /** The Terraform components (names) the rollout applies: what approvals limited to components must cover. */
  applied: string[] = [],
): Approval[] {
  if (!decision.requiresApproval) return [];
  const valid = approvals.filter((a) => a.target === target && a.release === releaseId && (!decision.distinctApprover || !sameIdentity(a.approved_by, deployer)));
  if (valid.length > 0 && coveredBy(valid, applied)) return valid;
  if (valid.length > 0) {
    const covered = new Set(valid.flatMap((a) => a.components ?? []));
    const missing = applied.filter((c) => !covered.has(c));
    throw new DiagnosticError(
      error(
        'policy/approval-required',
        `${target} requires an approval of release ${releaseId} for every component it applies: it is approved only for ${[...covered].join(', ')}, not for ${missing.join(', ')}`,
        ruleLocation(dep, target),
        [
          'approve the others, or limit the rollout to the approved ones:',
          `  atmos-pipe approve ${dep.name} --target ${target} --release ${releaseId}${missing.map((m) => ` --component ${m}`).join('')}`,
          `  atmos-pipe rollout ${dep.name} --target ${target} --release ${releaseId}${[...covered].map((m) => ` --component ${m}`).join('')}`,
        ].join(HINT_NL),
      ),
      'refused',
    );
  }
  const self = approvals.filter((a) => sameIdentity(a.approved_by, deployer));
  const from = decision.promotedFrom ? ` --promote-from ${decision.promotedFrom}` : '';
  if (self.length > 0 && decision.distinctApprover) {
    throw new DiagnosticError(
      error(
        'policy/self-approval',
        `${target} requires an approval by someone other than the deployer: release ${releaseId} is approved only by ${deployer}, who is deploying it`,
        ruleLocation(dep, target),
        `ask a second person to run: atmos-pipe approve ${dep.name} --target ${target} --release ${releaseId}${HINT_NL}(approval.distinct_approver: true)`,
      ),
      'refused',
    );
  }
  throw new DiagnosticError(
    error(
      'policy/approval-required',
      `${target} requires an approval of release ${releaseId}${decision.promotedFrom ? ` (from ${decision.promotedFrom})` : ''}; none is recorded`,
      ruleLocation(dep, target),
      [
        'record one, then roll out again:',
        `  atmos-pipe approve ${dep.name} --target ${target} --release ${releaseId}`,
        `  atmos-pipe rollout ${dep.name} --target ${target}${from || ` --release ${releaseId}`}`,
        `or approve while rolling out: --approve (prompts on a terminal), --approve --approver <id> (CI)`,
      ].join(HINT_NL),
    ),
    'refused',
  );
}
