/**
 * The deployment SBOM: the deployment as the root application, every component's root
 * under it, and every package once (by bomRef: purls for registry packages), with the
 * union of the components' dependency relations. Two components sharing a package give
 * one package with both components' edges.
 */
import { addEdge, mergePackageInto, newPackage, normaliseDependencies, type ComponentSbom, type SbomModel, type SbomPackage } from './model.js';

export interface AggregateInput {
  deployment: string;
  target: string;
  description?: string;
  gitSha?: string;
  timestamp: string;
  tool: { name: string; version: string };
  components: ComponentSbom[];
  /** Component address -> addresses it depends on (the deployment's graph). */
  componentEdges?: Record<string, string[]>;
  /** Component address -> nixpack component addresses whose images it receives. */
  bindings?: Record<string, string[]>;
  /** Only this component (its root becomes the document's root). */
  only?: string;
}

function clone(p: SbomPackage): SbomPackage {
  return { ...p, hashes: [...p.hashes], licenses: [...p.licenses], externalRefs: [...p.externalRefs], properties: p.properties.map((x) => [x[0], x[1]] as [string, string]) };
}

const byRef = (a: SbomPackage, b: SbomPackage) => (a.bomRef < b.bomRef ? -1 : a.bomRef > b.bomRef ? 1 : 0);

export function aggregate(input: AggregateInput): SbomModel {
  const comps = [...input.components].sort((a, b) => (a.component < b.component ? -1 : 1));
  const selected = input.only ? comps.filter((c) => c.component === input.only) : comps;
  const packages = new Map<string, SbomPackage>();
  const edges = new Map<string, Set<string>>();
  const rootOf = new Map(comps.map((c) => [c.component, c.root.bomRef]));
  const containerOf = new Map(comps.filter((c) => c.image).map((c) => [c.component, c.packages.find((p) => p.type === 'container' && p.version === c.image!.digest)?.bomRef]));

  for (const c of selected) {
    if (!input.only) packages.set(c.root.bomRef, clone(c.root));
    for (const p of c.packages) {
      const prev = packages.get(p.bomRef);
      if (prev) mergePackageInto(prev, p);
      else packages.set(p.bomRef, clone(p));
    }
    for (const [from, tos] of Object.entries(c.dependencies)) for (const to of tos) addEdge(edges, from, to);
  }

  let root: SbomPackage;
  if (input.only) {
    const c = selected[0];
    if (!c) throw new Error(`no SBOM for component ${input.only}`);
    root = clone(c.root);
  } else {
    root = newPackage({
      bomRef: input.deployment,
      type: 'application',
      name: input.deployment,
      ...(input.gitSha ? { version: input.gitSha } : {}),
      ...(input.description ? { description: input.description } : {}),
    });
    for (const c of selected) addEdge(edges, root.bomRef, c.root.bomRef);
    // The deployment's own graph: a component depends on the components it needs, and on
    // the images bound into it.
    for (const c of selected) {
      for (const dep of input.componentEdges?.[c.component] ?? []) {
        const r = rootOf.get(dep);
        if (r) addEdge(edges, c.root.bomRef, r);
      }
      for (const nx of input.bindings?.[c.component] ?? []) {
        const img = containerOf.get(nx);
        if (img) addEdge(edges, c.root.bomRef, img);
      }
    }
  }
  packages.delete(root.bomRef);
  const known = new Set([root.bomRef, ...packages.keys()]);
  const deps: Record<string, Set<string>> = {};
  for (const [k, v] of edges) deps[k] = v;
  for (const r of known) deps[r] ??= new Set();
  return {
    deployment: input.deployment,
    target: input.target,
    timestamp: input.timestamp,
    root,
    packages: [...packages.values()].sort(byRef),
    dependencies: normaliseDependencies(deps, known),
    components: selected,
    tool: input.tool,
    git: input.gitSha ? { sha: input.gitSha } : {},
  };
}
