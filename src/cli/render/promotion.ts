/**
 * The views of `promotion-graph`: Graphviz dot, Mermaid, and the table under the ASCII
 * paths (with `--show-status`, what each target runs).
 */
import { renderPromotionAscii, type PromotionGraph } from '../../promotion/graph.js';
import type { TargetStatusAnnotation } from '../../promotion/status.js';
import { table, type Colors } from '../../render/index.js';

/** Graphviz: entry points double circles, approval gates labelled. */
export function renderPromotionDot(g: PromotionGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [`digraph ${q(g.deployment)} {`, '  rankdir=LR;'];
  for (const t of g.targets) lines.push(`  ${q(t.name)}${t.entry_point ? ' [shape=doublecircle]' : ''};`);
  for (const e of g.edges) lines.push(`  ${q(e.from)} -> ${q(e.to)}${e.requires_approval ? ' [label="approval"]' : ''};`);
  return `${lines.join('\n')}\n}\n`;
}

/** Mermaid: one edge per promotion, lone targets on their own line. */
export function renderPromotionMermaid(g: PromotionGraph): string {
  const lines = ['graph LR'];
  for (const e of g.edges) lines.push(`  ${e.from} -->${e.requires_approval ? '|approval|' : ''} ${e.to}`);
  for (const t of g.targets) if (t.from.length === 0 && !g.edges.some((e) => e.from === t.name)) lines.push(`  ${t.name}`);
  return `${lines.join('\n')}\n`;
}

/** What a target accepts, in words. */
const accepts = (t: PromotionGraph['targets'][number]) => (t.entry_point ? 'any commit (entry point)' : `promotion from ${t.from.join(' or ')}`);

/** The paths, then a target per row: what it accepts and whether it needs an approval. */
export function renderPromotionTable(g: PromotionGraph, c: Colors): string {
  return `${renderPromotionAscii(g)}\n${table(
    ['TARGET', 'ACCEPTS', 'APPROVAL'],
    g.targets.map((t) => [t.name, accepts(t), t.requires_approval ? 'required' : '-']),
    c,
  )}`;
}

/** As {@link renderPromotionTable}, with the release, commit and age each target runs. */
export function renderPromotionStatus(g: PromotionGraph, status: Record<string, TargetStatusAnnotation>, c: Colors): string {
  const rows = g.targets.map((t) => {
    const s = status[t.name];
    return [
      t.name,
      accepts(t),
      t.requires_approval ? 'required' : '-',
      s.commit === null ? c.dim('never deployed') : (s.release ?? '-'),
      s.commit === null ? '-' : s.commit.slice(0, 12),
      s.age ?? '-',
    ];
  });
  return `${renderPromotionAscii(g)}\n${table(['TARGET', 'ACCEPTS', 'APPROVAL', 'RELEASE', 'COMMIT', 'AGE'], rows, c)}`;
}
