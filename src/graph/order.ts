/**
 * Dependency order of components (SPEC 4 step 2): each component's direct dependencies and
 * its wave (topological generation: wave 0 depends on nothing). A cycle is a located error
 * that prints the path. Plain data in, plain data out: resolution records the order on every
 * component, and the graph stage (./index.ts) is built from it without ordering again.
 */
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

export interface DependencyOrder {
  /** Topological generations: wave 0 has no dependencies. Sorted within a wave. */
  waves: string[][];
  waveOf: Map<string, number>;
  /** Direct dependencies per address (sorted, unique). */
  dependencies: Map<string, string[]>;
}

/** Order the addresses by their edges; throws a located DiagnosticError when the edges form a cycle. */
export function dependencyOrder(addresses: string[], edges: DependencyEdge[]): DependencyOrder {
  const deps = new Map<string, Set<string>>(addresses.map((a) => [a, new Set<string>()]));
  const nodes = new Set(addresses);
  for (const e of edges) {
    nodes.add(e.to);
    nodes.add(e.from);
    deps.get(e.from)?.add(e.to);
  }
  const cycle = findCycle(addresses, deps);
  if (cycle) {
    const first = edges.find((e) => e.from === cycle[0] && e.to === cycle[1]);
    throw new DiagnosticError(
      error('graph/cycle', `dependency cycle: ${cycle.join(' → ')}`, first?.location, 'remove one of these dependencies (depends_on, a template reference or a label/name binding)'),
    );
  }
  // A node's wave is the length of its longest chain of dependencies (acyclic: memoised recursion ends).
  const waveOf = new Map<string, number>();
  const wave = (a: string): number => {
    let w = waveOf.get(a);
    if (w === undefined) {
      w = 0;
      for (const d of deps.get(a) ?? []) w = Math.max(w, wave(d) + 1);
      waveOf.set(a, w);
    }
    return w;
  };
  const waves: string[][] = [];
  for (const a of nodes) (waves[wave(a)] ??= []).push(a);
  for (const w of waves) w.sort();
  const dependencies = new Map<string, string[]>();
  for (const [a, s] of deps) dependencies.set(a, [...s].sort());
  return { waves, waveOf, dependencies };
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
