/**
 * The component graph (SPEC 4 step 2): nodes are component addresses, an edge
 * `dependency -> dependent` for every `depends_on` entry, template reference and binding.
 * Cycles are located errors that print the path; waves are topological generations.
 */
import { DirectedGraph } from 'graphology';
import { topologicalGenerations } from 'graphology-dag';
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';

export type EdgeKind = 'explicit' | 'template' | 'binding';

export interface DependencyEdge {
  /** The component that depends (`terraform/ecs/service-api`). */
  from: string;
  /** The component it depends on (`terraform/ecr/api`). */
  to: string;
  kind: EdgeKind;
  /** Where the dependency is declared. */
  location?: Location;
}

export interface ComponentGraph {
  /** graphology DirectedGraph; edges point from a dependency to its dependent. */
  graph: DirectedGraph;
  /** Topological generations: wave 0 has no dependencies. Sorted within a wave. */
  waves: string[][];
  waveOf: Map<string, number>;
  /** Direct dependencies per address (sorted, unique). */
  dependencies: Map<string, string[]>;
  edges: DependencyEdge[];
}

/** Build the graph; throws a located DiagnosticError when the edges form a cycle. */
export function buildComponentGraph(addresses: string[], edges: DependencyEdge[]): ComponentGraph {
  const graph = new DirectedGraph({ allowSelfLoops: true });
  for (const a of addresses) graph.mergeNode(a);
  const deps = new Map<string, Set<string>>(addresses.map((a) => [a, new Set<string>()]));
  for (const e of edges) {
    graph.mergeNode(e.to);
    graph.mergeNode(e.from);
    graph.mergeEdge(e.to, e.from);
    deps.get(e.from)?.add(e.to);
  }
  const cycle = findCycle(addresses, deps);
  if (cycle) {
    const first = edges.find((e) => e.from === cycle[0] && e.to === cycle[1]);
    throw new DiagnosticError(
      error(
        'graph/cycle',
        `dependency cycle: ${cycle.join(' → ')}`,
        first?.location,
        'remove one of these dependencies (depends_on, a template reference or a label/name binding)',
      ),
    );
  }
  const generations = topologicalGenerations(graph) as string[][];
  const waves = generations.map((g) => [...g].sort());
  const waveOf = new Map<string, number>();
  waves.forEach((w, i) => w.forEach((a) => waveOf.set(a, i)));
  const dependencies = new Map<string, string[]>();
  for (const [a, s] of deps) dependencies.set(a, [...s].sort());
  return { graph, waves, waveOf, dependencies, edges };
}

/** A cycle as a path `a → b → ... → a` (a depends on b), or undefined. Deterministic. */
function findCycle(addresses: string[], deps: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (a: string): string[] | undefined => {
    state.set(a, 1);
    stack.push(a);
    for (const d of [...(deps.get(a) ?? [])].sort()) {
      const s = state.get(d);
      if (s === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (s === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(a, 2);
    return undefined;
  };
  for (const a of [...addresses].sort()) {
    if (!state.has(a)) {
      const c = visit(a);
      if (c) return c;
    }
  }
  return undefined;
}

/** The given addresses and everything they (transitively) depend on. */
export function withDependencies(g: ComponentGraph, roots: string[]): Set<string> {
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
