/**
 * Edges between components (SPEC 4 step 2): `depends_on` entries (a full address, or a bare
 * name when unambiguous), template references to another component, and image bindings.
 * Edges to disabled components are dropped with a warning; the rest order the components
 * (dependencies and waves, src/graph/order.ts) and are kept on the resolution, from which
 * src/graph builds the component graph.
 */
import { didYouMean, type DiagnosticBag } from '../diagnostics/index.js';
import { componentAddress, splitAddress } from '../config/names.js';
import { dependencyOrder, type DependencyEdge } from '../graph/order.js';
import { locOf } from '../yaml/index.js';
import type { FoundRef } from './templates.js';
import type { ResolvedComponent } from './types.js';

/** Collects the edges of a deployment's components. */
export class EdgeCollector {
  readonly edges: DependencyEdge[] = [];

  constructor(
    private readonly allAddresses: string[],
    private readonly bag: DiagnosticBag,
  ) {}

  /** `depends_on` of one component: each entry located in `container`. */
  dependsOn(from: string, list: unknown, container: unknown): void {
    if (!Array.isArray(list)) return;
    const all = this.allAddresses;
    list.forEach((entry, i) => {
      const loc = locOf(container, i);
      const s = String(entry);
      let target: string | undefined;
      if (splitAddress(s) && all.includes(s)) target = s;
      else {
        const matches = all.filter((a) => a.slice(a.indexOf('/') + 1) === s);
        if (matches.length === 1) target = matches[0];
        else if (matches.length > 1) {
          this.bag.error('deployment/ambiguous-dependency', `depends_on "${s}" is ambiguous: ${matches.join(', ')}`, loc, `write the full address, e.g. "${matches[0]}"`);
          return;
        }
      }
      if (!target) {
        const guess = didYouMean(s, [...all, ...all.map((a) => a.slice(a.indexOf('/') + 1))]);
        this.bag.error('deployment/unknown-dependency', `depends_on "${s}" is not a component of this deployment`, loc, guess ? `did you mean "${guess}"?` : `components: ${all.join(', ')}`);
        return;
      }
      this.edges.push({ from, to: target, kind: 'explicit', location: loc });
    });
  }

  /** Template references to other components (a nixpack component may name its own image facts). */
  references(from: string, refs: FoundRef[], self?: string): void {
    for (const r of refs) {
      if (r.ref.kind === 'terraform') this.edges.push({ from, to: componentAddress('terraform', r.ref.component), kind: 'template', location: r.location });
      if (self !== undefined && r.ref.kind === 'nixpack' && r.ref.component !== self)
        this.edges.push({ from, to: componentAddress('nixpack', r.ref.component), kind: 'template', location: r.location });
    }
  }

  /** A Terraform component's image bindings (a template binding is a template edge). */
  bindings(c: Pick<ResolvedComponent, 'address' | 'bindings' | 'location'>): void {
    for (const b of c.bindings) {
      this.edges.push({ from: c.address, to: componentAddress('nixpack', b.nixpack), kind: b.kind === 'template' ? 'template' : 'binding', location: c.location });
    }
  }

  /** Edges between live components; one to a disabled component is dropped with a warning. */
  live(skipped: Set<string>): DependencyEdge[] {
    return this.edges.filter((e) => {
      if (skipped.has(e.to)) {
        this.bag.warn('deployment/disabled-dependency', `${e.from} depends on ${e.to}, which is disabled`, e.location);
        return false;
      }
      return !skipped.has(e.from);
    });
  }
}

/** Give every component its dependencies and wave, and sort them by wave then address (a cycle is a located error). */
export function orderComponents(components: ResolvedComponent[], edges: DependencyEdge[]): void {
  const order = dependencyOrder(
    components.map((c) => c.address),
    edges,
  );
  for (const c of components) {
    c.depends_on = order.dependencies.get(c.address) ?? [];
    c.wave = order.waveOf.get(c.address) ?? 0;
  }
  components.sort((a, b) => a.wave - b.wave || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
