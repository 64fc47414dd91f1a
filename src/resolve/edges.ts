/**
 * Edges between components (SPEC 4 step 2): `depends_on` entries (a full address, or a bare
 * name when unambiguous), template references to another component, image bindings, and
 * Atmos dependencies (`settings.depends_on`, `dependencies.components`) within the deployment.
 * Edges to disabled components are dropped with a warning; the rest order the components
 * (dependencies and waves, src/graph/order.ts) and are kept on the resolution, from which
 * src/graph builds the component graph.
 */
import { didYouMean, type DiagnosticBag, type Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import { componentAddress } from '../config/names.js';
import { dependencyOrder, type DependencyEdge } from '../graph/order.js';
import { isPlainMap, locOf } from '../yaml/index.js';
import type { FoundRef } from './templates.js';
import type { ExternalDependency, ResolvedComponent } from './types.js';
import { renderNameTemplate } from '../stacks/names.js';
import { stackNameOf, templateData, type WorkspaceInput } from './workspace.js';

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
      if (all.includes(s)) target = s;
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
      if (r.ref.kind === 'component') this.edges.push({ from, to: componentAddress(r.ref.type, r.ref.component), kind: 'template', location: r.location });
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

/** What {@link atmosDependencies} needs of one Terraform component. */
export interface AtmosDependencyInput {
  address: string;
  /** Its workspace input: the stack, its vars and settings (`settings.depends_on`), how the stack is named. */
  workspace: WorkspaceInput;
  /** Its merged `dependencies` section (stack files, bases, own: src/stacks/components.ts). */
  dependencies: Record<string, unknown>;
}

/** Context keys of a legacy `settings.depends_on` entry that name another stack when they differ from the component's vars. */
const CONTEXT_KEYS = ['namespace', 'tenant', 'environment', 'stage'] as const;

/**
 * Atmos dependencies of one Terraform component (`settings.depends_on`, a map or list of
 * `{component, namespace?, tenant?, environment?, stage?, file?, folder?}`, and
 * `dependencies.components`, a list of `{component | name, stack?, kind?, path?}`), as Atmos
 * reads them (pkg/schema/dependencies.go, internal/exec/describe_dependents.go): an entry in
 * the component's own stack naming a Terraform component of the deployment becomes an
 * explicit edge; any other (another stack, another kind, a file or folder, a component the
 * deployment does not deploy) orders nothing here and is returned to be shown.
 */
export function atmosDependencies(cfg: AtmosConfig, input: AtmosDependencyInput, terraformNames: Set<string>): { edges: DependencyEdge[]; external: ExternalDependency[] } {
  const edges: DependencyEdge[] = [];
  const external: ExternalDependency[] = [];
  const w = input.workspace;
  const stack = stackNameOf(cfg, w);
  /** Why an entry orders nothing in this deployment, or undefined when it names one of its Terraform components. */
  const whyExternal = (entry: Record<string, unknown>, name: string | undefined, what: string, location: Location | undefined): string | undefined => {
    const kind = typeof entry.kind === 'string' ? entry.kind : 'terraform';
    if (name === undefined || kind === 'file' || kind === 'folder') return 'a file or folder dependency: it orders no component';
    if (kind !== 'terraform') return `a ${kind} component: this deployment deploys Terraform and nixpack components`;
    const other = CONTEXT_KEYS.find((k) => typeof entry[k] === 'string' && entry[k] !== w.vars[k]);
    if (other) return `another stack (${other} ${String(entry[other])})`;
    if (typeof entry.stack === 'string') {
      let named: string;
      try {
        named = renderNameTemplate(entry.stack, templateData(w), what, location);
      } catch {
        return `a stack this resolution cannot evaluate (${entry.stack})`;
      }
      if (named !== stack) return `another stack (${named})`;
    }
    return terraformNames.has(name) ? undefined : `no component "${name}" in this deployment`;
  };
  const visit = (source: ExternalDependency['source'], raw: unknown, location: Location | undefined): void => {
    if (!isPlainMap(raw)) return;
    const entry = raw as Record<string, unknown>;
    const name = typeof entry.component === 'string' ? entry.component : typeof entry.name === 'string' ? entry.name : undefined;
    const reason = whyExternal(entry, name, `${input.address}: ${source} stack`, location);
    if (reason !== undefined || name === undefined) external.push({ source, entry, reason: reason ?? '', ...(location ? { location } : {}) });
    else if (name !== w.component) edges.push({ from: input.address, to: componentAddress('terraform', name), kind: 'explicit', ...(location ? { location } : {}) });
  };
  const dependsOn = w.settings.depends_on;
  if (isPlainMap(dependsOn)) for (const [k, v] of Object.entries(dependsOn)) visit('settings.depends_on', v, locOf(dependsOn, k));
  else if (Array.isArray(dependsOn)) for (const [i, v] of dependsOn.entries()) visit('settings.depends_on', v, locOf(dependsOn, i));
  const list = input.dependencies.components;
  if (Array.isArray(list)) for (const [i, v] of list.entries()) visit('dependencies.components', v, locOf(list, i) ?? locOf(input.dependencies, 'components'));
  return { edges, external };
}

/** One warning for every Atmos dependency the deployment cannot order (once per resolution). */
export function warnExternalDependencies(components: Pick<ResolvedComponent, 'address' | 'externalDependencies'>[], bag: DiagnosticBag): void {
  const all = components.flatMap((c) => (c.externalDependencies ?? []).map((d) => ({ address: c.address, d })));
  if (all.length === 0) return;
  const list = all.map(({ address, d }) => `${address} → ${String(d.entry.component ?? d.entry.name ?? d.entry.file ?? d.entry.folder ?? d.entry.path)} (${d.reason})`);
  bag.warn(
    'deployment/external-dependency',
    `${all.length} Atmos ${all.length === 1 ? 'dependency names' : 'dependencies name'} nothing this deployment deploys, so ${all.length === 1 ? 'it orders' : 'they order'} nothing: ${list.join('; ')}`,
    all[0].d.location,
    'deploy those components in this deployment to order them, or roll them out first; describe shows them under "dependencies"',
  );
}
