/**
 * The configured promotion paths of a deployment (SPEC 3 `promotion`): which targets are
 * entry points, where each target may be promoted from, and which need approval.
 */
import type { DeploymentConfig } from '../config/deployment.js';

export interface PromotionTarget {
  name: string;
  /** No `promotion` rule: accepts any commit. */
  entry_point: boolean;
  from: string[];
  requires_approval: boolean;
}

export interface PromotionGraph {
  deployment: string;
  targets: PromotionTarget[];
  edges: { from: string; to: string; requires_approval: boolean }[];
}

export function promotionGraph(dep: DeploymentConfig): PromotionGraph {
  const targets: PromotionTarget[] = Object.entries(dep.body.targets).map(([name, t]) => {
    const p = t.promotion;
    const from = p?.from !== undefined ? [p.from] : [...(p?.allowed_from ?? [])];
    return { name, entry_point: from.length === 0, from, requires_approval: p?.requires_approval === true };
  });
  const edges = targets.flatMap((t) => t.from.map((f) => ({ from: f, to: t.name, requires_approval: t.requires_approval })));
  return { deployment: dep.name, targets, edges };
}

/** `dev → staging → prod [approval]`, one line per path from each entry point. */
export function renderPromotionAscii(g: PromotionGraph): string {
  const next = new Map<string, string[]>();
  for (const e of g.edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const byName = new Map(g.targets.map((t) => [t.name, t]));
  const label = (n: string) => (byName.get(n)?.requires_approval ? `${n} [approval]` : n);
  const lines: string[] = [];
  const walk = (n: string, pathSoFar: string[]) => {
    const outs = next.get(n) ?? [];
    if (outs.length === 0) {
      lines.push(pathSoFar.join(' → '));
      return;
    }
    for (const o of outs) walk(o, [...pathSoFar, label(o)]);
  };
  for (const t of g.targets.filter((x) => x.entry_point)) walk(t.name, [`${label(t.name)}`]);
  return `${lines.join('\n')}\n`;
}
