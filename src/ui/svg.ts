/**
 * The promotion graph drawn as inline SVG (no renderer shipped, nothing from a CDN): targets in
 * columns by their distance from an entry point, an arrow per promotion path (a lock on the
 * paths that need approval), each node saying what it runs and whether it is behind its source.
 */
import type { PromotionEdgeStatus } from '../promotion/status.js';
import { formatAge, type HistoryEntry } from '../tracking/index.js';
import type { UiDeployment } from './data.js';
import { h } from './escape.js';

const W = 210;
const H = 96;
const GX = 70;
const GY = 24;

export function promotionSvg(d: UiDeployment, cur: Map<string, HistoryEntry>, behind: Map<string, PromotionEdgeStatus[]>, now = Date.now()): string {
  // Column = longest distance from an entry point (cycles are refused by the config schema; guarded anyway).
  const col = new Map<string, number>();
  const byName = new Map(d.graph.targets.map((t) => [t.name, t]));
  const depth = (n: string, seen: Set<string>): number => {
    if (col.has(n)) return col.get(n)!;
    const t = byName.get(n);
    if (!t || seen.has(n)) return 0;
    seen.add(n);
    const v = t.from.length === 0 ? 0 : 1 + Math.max(...t.from.map((f) => depth(f, seen)));
    col.set(n, v);
    return v;
  };
  for (const t of d.graph.targets) depth(t.name, new Set());
  const rowsIn = new Map<number, number>();
  const pos = new Map<string, { x: number; y: number }>();
  for (const t of d.graph.targets) {
    const c = col.get(t.name) ?? 0;
    const r = rowsIn.get(c) ?? 0;
    rowsIn.set(c, r + 1);
    pos.set(t.name, { x: 10 + c * (W + GX), y: 10 + r * (H + GY) });
  }
  const cols = Math.max(1, ...[...col.values()].map((c) => c + 1));
  const rows = Math.max(1, ...rowsIn.values());
  const width = 20 + cols * W + (cols - 1) * GX;
  const height = 20 + rows * H + (rows - 1) * GY;
  const edges = d.graph.edges
    .map((e) => {
      const a = pos.get(e.from);
      const b = pos.get(e.to);
      if (!a || !b) return '';
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x - 4;
      const y2 = b.y + H / 2;
      const mx = (x1 + x2) / 2;
      return `<path class="edge" d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>${e.requires_approval ? `<text class="edge-label" x="${mx}" y="${Math.min(y1, y2) - 6}" text-anchor="middle">approval</text>` : ''}`;
    })
    .join('');
  const nodes = d.graph.targets
    .map((t) => {
      const p = pos.get(t.name)!;
      const c = cur.get(t.name);
      const b = behind.get(t.name) ?? [];
      const state = b.length
        ? `behind ${b.map((e) => e.from).join(', ')}${b.some((e) => e.state === 'awaiting-approval') ? ' (approval missing)' : ''}`
        : c
          ? t.entry_point
            ? 'entry point'
            : 'up to date'
          : 'never deployed';
      const cls = b.length ? 'behind' : c ? (c.status === 'rollback' ? 'rollback' : 'ok') : 'never';
      const line = (i: number, text: string, klass = '') => `<text x="${p.x + 10}" y="${p.y + 22 + i * 18}"${klass ? ` class="${klass}"` : ''}>${h(text)}</text>`;
      return `<g class="node n-${cls}" data-target="${h(t.name)}"><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="8"/>
${line(0, `${t.name}${t.requires_approval ? ' [approval]' : ''}`, 'name')}
${line(1, c ? (c.release ?? 'no release') : '—')}
${line(2, c ? `${c.git_sha.slice(0, 12)} · ${formatAge(c.timestamp, now)} ago` : '')}
${line(3, `${b.length ? '⚠ ' : c ? '✓ ' : '○ '}${state}`, 'state')}</g>`;
    })
    .join('\n');
  return `<svg class="promotion" role="img" aria-labelledby="pg-title" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title id="pg-title">Promotion graph of ${h(d.name)}: ${h(d.graph.edges.map((e) => `${e.from} to ${e.to}${e.requires_approval ? ' (approval)' : ''}`).join(', ') || 'no promotion paths')}</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker></defs>
${edges}
${nodes}
</svg>`;
}
