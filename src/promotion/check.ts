/**
 * `validate --check-promotions`: the promotion rules of a deployment beyond what every load
 * already refuses (`from` and `allowed_from` together, a source that is not a target, a
 * target promoting from itself, cycles: src/config/deployment.ts). Here: the approval rules
 * (an `approval.distinct_approver` that can never apply, because no rollout it governs needs
 * an approval) and a default target that only accepts promotions; with the paths, entry points
 * and approval gates the rules make.
 */
import type { DeploymentConfig } from '../config/deployment.js';
import { error, warning, type Diagnostic } from '../diagnostics/index.js';
import { locOf } from '../yaml/index.js';
import { promotionGraph, renderPromotionAscii } from './graph.js';

export interface PromotionCheck {
  /** One line per path from each entry point, e.g. `dev → staging → prod [approval]`. */
  paths: string[];
  entry_points: string[];
  /** Targets whose rollouts need a recorded approval. */
  approval_required: string[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export function checkPromotions(dep: DeploymentConfig): PromotionCheck {
  const g = promotionGraph(dep);
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const gated = g.targets.filter((t) => t.requires_approval).map((t) => t.name);
  for (const [name, t] of Object.entries(dep.body.targets)) {
    if (t.approval?.distinct_approver === true && !gated.includes(name)) {
      errors.push(
        error(
          'promotion/approval-unused',
          `targets.${name}.approval.distinct_approver is set, but rollouts to "${name}" need no approval (no promotion.requires_approval): it never applies`,
          locOf(t.approval, 'distinct_approver'),
          `add promotion.requires_approval: true to target "${name}", or remove approval.distinct_approver`,
        ),
      );
    }
  }
  if (dep.body.approval?.distinct_approver === true && gated.length === 0) {
    errors.push(
      error(
        'promotion/approval-unused',
        'approval.distinct_approver is set, but no target requires an approval (promotion.requires_approval): it never applies',
        locOf(dep.body.approval, 'distinct_approver'),
        'add promotion.requires_approval: true to the targets that need one (e.g. prod), or remove approval.distinct_approver',
      ),
    );
  }
  const dt = dep.body.context?.default_target;
  const dtNode = g.targets.find((t) => t.name === dt);
  if (dtNode && !dtNode.entry_point) {
    warnings.push(
      warning(
        'promotion/default-target',
        `context.default_target "${dt}" only accepts promotions (from ${dtNode.from.join(', ')}): a rollout without --target must name --promote-from, --release or --git-sha`,
        locOf(dep.body.context, 'default_target'),
        `make an entry point (e.g. ${g.targets.find((t) => t.entry_point)?.name ?? 'dev'}) the default target`,
      ),
    );
  }
  return {
    paths: renderPromotionAscii(g).trimEnd().split('\n').filter(Boolean),
    entry_points: g.targets.filter((t) => t.entry_point).map((t) => t.name),
    approval_required: gated,
    errors,
    warnings,
  };
}
