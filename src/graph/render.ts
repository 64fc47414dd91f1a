/**
 * Renderings of the component graph: ascii (waves), Graphviz dot, Mermaid and JSON.
 */
import type { ResolvedDeployment } from '../resolve/types.js';
import type { ComponentGraph } from './index.js';

export const GRAPH_FORMATS = ['ascii', 'dot', 'mermaid', 'json'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export interface GraphJson {
  deployment: string;
  target: string;
  nodes: { address: string; type: string; wave: number }[];
  edges: { from: string; to: string; kind: string }[];
  waves: string[][];
  /** Atmos dependencies naming nothing this deployment deploys: shown, ordering nothing (absent when none). */
  external?: { from: string; to: string; reason: string }[];
}

/** What an external Atmos dependency names: its component (or file/folder), with the stack keys written. */
function externalName(entry: Record<string, unknown>): string {
  const what = String(entry.component ?? entry.name ?? entry.file ?? entry.folder ?? entry.path);
  const where = ['stack', 'namespace', 'tenant', 'environment', 'stage'].filter((k) => typeof entry[k] === 'string').map((k) => `${k}=${String(entry[k])}`);
  return where.length ? `${what} (${where.join(', ')})` : what;
}

/** The graph of a resolution (built once from it, ./index.ts `buildComponentGraph`) as plain JSON. */
export function graphJson(r: ResolvedDeployment, g: ComponentGraph): GraphJson {
  const seen = new Set<string>();
  const edges: GraphJson['edges'] = [];
  for (const e of g.edges) {
    const k = `${e.from}\0${e.to}\0${e.kind}`;
    if (seen.has(k) || !g.graph.hasNode(e.from)) continue;
    seen.add(k);
    edges.push({ from: e.from, to: e.to, kind: e.kind });
  }
  edges.sort((a, b) => (a.from + a.to).localeCompare(b.from + b.to));
  const external = r.components.flatMap((c) => (c.externalDependencies ?? []).map((d) => ({ from: c.address, to: externalName(d.entry), reason: d.reason })));
  return {
    deployment: r.deployment,
    target: r.target,
    nodes: r.components.map((c) => ({ address: c.address, type: c.type, wave: c.wave })),
    edges,
    waves: g.waves,
    ...(external.length ? { external } : {}),
  };
}

export function renderGraph(r: ResolvedDeployment, graph: ComponentGraph, format: GraphFormat): string {
  const g = graphJson(r, graph);
  switch (format) {
    case 'json':
      return `${JSON.stringify(g, null, 2)}\n`;
    case 'dot': {
      const q = (s: string) => JSON.stringify(s);
      const lines = [`digraph ${q(`${g.deployment}/${g.target}`)} {`, '  rankdir=LR;', '  node [shape=box];'];
      g.waves.forEach((w, i) => {
        lines.push(`  subgraph ${q(`cluster_wave_${i}`)} {`, `    label=${q(`wave ${i}`)};`);
        for (const a of w) lines.push(`    ${q(a)};`);
        lines.push('  }');
      });
      for (const e of g.edges) lines.push(`  ${q(e.to)} -> ${q(e.from)} [label=${q(e.kind)}];`);
      for (const e of g.external ?? []) lines.push(`  ${q(e.to)} [style=dashed];`, `  ${q(e.to)} -> ${q(e.from)} [style=dashed, label=${q('outside')}];`);
      lines.push('}');
      return `${lines.join('\n')}\n`;
    }
    case 'mermaid': {
      const ids = new Map(g.nodes.map((n, i) => [n.address, `n${i}`]));
      const lines = ['graph LR'];
      for (const n of g.nodes) lines.push(`  ${ids.get(n.address)}["${n.address}"]`);
      for (const e of g.edges) lines.push(`  ${ids.get(e.to)} -->|${e.kind}| ${ids.get(e.from)}`);
      (g.external ?? []).forEach((e, i) => {
        lines.push(`  x${i}["${e.to}"]`, `  x${i} -.->|outside| ${ids.get(e.from)}`);
      });
      return `${lines.join('\n')}\n`;
    }
    case 'ascii': {
      const lines = [`${g.deployment} → ${g.target}`];
      const deps = new Map<string, string[]>();
      for (const e of g.edges) deps.set(e.from, [...(deps.get(e.from) ?? []), e.to]);
      g.waves.forEach((w, i) => {
        const last = i === g.waves.length - 1;
        lines.push(`${last ? '└─' : '├─'} wave ${i}`);
        w.forEach((a, j) => {
          const d = [...new Set(deps.get(a) ?? [])].sort();
          const branch = j === w.length - 1 ? '└─' : '├─';
          lines.push(`${last ? '   ' : '│  '}${branch} ${a}${d.length ? `  ← ${d.join(', ')}` : ''}`);
        });
      });
      if (g.external?.length) {
        lines.push('outside this deployment (not ordered):');
        for (const e of g.external) lines.push(`   ${e.from}  ← ${e.to}: ${e.reason}`);
      }
      return `${lines.join('\n')}\n`;
    }
  }
}
