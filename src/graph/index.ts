/**
 * The component graph (SPEC 4 step 2), a stage of its own after resolution: nodes are
 * component addresses, an edge `dependency -> dependent` for every `depends_on` entry,
 * template reference and binding. Built from a resolution's plain facts (its edges and each
 * component's dependencies and wave, ordered once by ./order.ts), so nothing is resolved or
 * ordered again.
 */
import { DirectedGraph } from 'graphology';
import type { ResolvedDeployment } from '../resolve/types.js';
import { dependencyOrder, type DependencyEdge, type DependencyOrder } from './order.js';

export type { DependencyEdge } from './order.js';

export interface ComponentGraph extends DependencyOrder {
  /** graphology DirectedGraph; edges point from a dependency to its dependent. */
  graph: DirectedGraph;
  edges: DependencyEdge[];
}

function directedGraph(addresses: string[], edges: DependencyEdge[]): DirectedGraph {
  const graph = new DirectedGraph({ allowSelfLoops: true });
  for (const a of addresses) graph.mergeNode(a);
  for (const e of edges) {
    graph.mergeNode(e.to);
    graph.mergeNode(e.from);
    graph.mergeEdge(e.to, e.from);
  }
  return graph;
}

/** The graph of a resolved deployment (its components, their recorded order and edges). */
export function buildComponentGraph(resolved: ResolvedDeployment): ComponentGraph {
  const addresses = resolved.components.map((c) => c.address);
  const waves: string[][] = [];
  const waveOf = new Map<string, number>();
  const dependencies = new Map<string, string[]>();
  for (const c of resolved.components) {
    (waves[c.wave] ??= []).push(c.address);
    waveOf.set(c.address, c.wave);
    dependencies.set(c.address, c.depends_on);
  }
  for (const w of waves) w.sort();
  return { graph: directedGraph(addresses, resolved.edges), waves, waveOf, dependencies, edges: resolved.edges };
}

/** A graph of any addresses and edges (ordered here); throws a located DiagnosticError on a cycle. */
export function componentGraph(addresses: string[], edges: DependencyEdge[]): ComponentGraph {
  const order = dependencyOrder(addresses, edges);
  return { graph: directedGraph(addresses, edges), ...order, edges };
}

/** The given addresses and everything they (transitively) depend on. */
export function withDependencies(g: Pick<ComponentGraph, 'dependencies'>, roots: string[]): Set<string> {
  const out = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const a = todo.pop()!;
    if (out.has(a)) continue;
    out.add(a);
    todo.push(...(g.dependencies.get(a) ?? []));
  }
  return out;
}
