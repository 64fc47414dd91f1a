/**
 * Resolution of one deployment for one target (SPEC 3 "Resolution"), composed of named parts:
 *
 *   ./stack-config.ts  the target's stacks; each Terraform component's stack section and module
 *   ./references.ts    template references: collected once, checked against module outputs
 *   ./scope.ts         what templates evaluate against (Git, target context, image facts)
 *   ./vars.ts          Terraform vars = stacks → deployment (templates) → declared context keys
 *   ./bindings.ts      → bindings of nixpack images
 *   ./backend.ts       backend defaults (local state under the cache dir)
 *   ./nixpack.ts       nixpack vars (templates evaluated) and sources; components of declared types
 *   ./workspace.ts     stack names and Terraform workspaces (Atmos's derivation)
 *   ./yaml-functions.ts Atmos YAML functions (`!env`, `!terraform.output`, ...) on the merged sections
 *   ./foreign-state.ts  `!terraform.state` of components outside the target, read from their state
 *   ./edges.ts         depends_on, template and binding edges; dependencies and waves
 *
 * The result is plain data ({@link ResolvedDeployment}): the component graph is built from it
 * by src/graph, and values that depend on other components' products (built images, Terraform
 * outputs) are rendered into a component when its steps are expanded (./substitute.ts), never
 * by resolving again.
 */
import path from 'node:path';
import { DiagnosticBag, DiagnosticError, type Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { checkTargetArg, declaredComponents } from '../config/deployment.js';
import { YamlFileCache } from '../config/files.js';
import { readArtifactStore, readImageStore } from '../cache/images.js';
import { componentAddress } from '../config/names.js';
import { readModule, type ModuleInfo } from '../hcl/index.js';
import { mergeCredentials, type Credentials, type SecretEntry } from '../secrets/index.js';
import { withHclIncludes } from '../stacks/include.js';
import { keyLocOf } from '../yaml/index.js';
import { backendOf, protectedDirs, sharedStates } from './backend.js';
import { bindImages } from './bindings.js';
import { atmosDependencies, EdgeCollector, orderComponents, warnExternalDependencies } from './edges.js';
import { readForeignOutput } from './foreign-state.js';
import { gitInfo } from './git.js';
import { checkSelfOutputs, hookCollector, hookEdgeRefs } from './hooks.js';
import { declaredSections, declaredSource, nixpackSections, nixpackSource } from './nixpack.js';
import { checkDeclaredOutputs, collectReferences, warnUnusedContext, type ComponentNames } from './references.js';
import { templateScope } from './scope.js';
import { loadTargetStacks, stackedComponents } from './stack-config.js';
import { deferredOf, terraformSections } from './vars.js';
import { targetStack, workspaceOf } from './workspace.js';
import type { FoundRef } from './templates.js';
import type { DeferredValue, ResolveOptions, ResolvedComponent, ResolvedDeployment, ResolvedHook } from './types.js';
import { checkNoFunctionStrings, evaluateStaticFunctions, evaluateYamlFunctions, type YamlFunctionContext } from './yaml-functions.js';

export type { BuiltImage, DeferredValue, ResolveOptions, ResolvedComponent, ResolvedDeployment, ResolvedHook } from './types.js';
export { scopeWith, substitute, withImages, type Upstream } from './substitute.js';

/** Resolutions made by this process: what a test counts to prove a run resolves once. */
let resolutions = 0;

/** How many times {@link resolveDeployment} ran in this process. */
export function resolutionCount(): number {
  return resolutions;
}

/**
 * A component that is built, not applied (nixpack, or a type a module declares): its vars and
 * settings as evaluated, with no module, state, backend or providers.
 */
function artifactComponent(a: {
  address: string;
  type: string;
  name: string;
  sections: { vars: Record<string, unknown>; settings: Record<string, unknown>; deferred: DeferredValue[] };
  metadata: { labels?: Record<string, string> } | undefined;
  sourceDir: string | undefined;
  location: Location;
  refs: FoundRef[];
  credentials: Credentials;
  hooks: ResolvedHook[];
}): ResolvedComponent {
  return {
    address: a.address,
    type: a.type,
    name: a.name,
    component: null,
    vars: a.sections.vars,
    settings: a.sections.settings,
    env: {},
    backend_type: null,
    backend: {},
    providers: {},
    depends_on: [],
    wave: 0,
    metadata: (a.metadata ?? {}) as Record<string, unknown>,
    labels: a.metadata?.labels ?? {},
    ...(a.sourceDir ? { sourceDir: a.sourceDir } : {}),
    location: a.location,
    bindings: [],
    references: a.refs,
    deferred: a.sections.deferred,
    credentials: a.credentials,
    ...(a.hooks.length ? { hooks: a.hooks } : {}),
  };
}

/** Resolve a deployment for one target. Throws a DiagnosticError with every problem found. */
export async function resolveDeployment(cfg: AtmosConfig, dep: DeploymentConfig, target: string, opts: ResolveOptions = {}): Promise<ResolvedDeployment> {
  resolutions++;
  // `!include` of a .tfvars/.hcl file needs the asynchronous HCL parser: parse what a load asked for, then load again.
  return withHclIncludes(() => resolveOnce(cfg, dep, target, opts));
}

async function resolveOnce(cfg: AtmosConfig, dep: DeploymentConfig, target: string, opts: ResolveOptions): Promise<ResolvedDeployment> {
  checkTargetArg(dep, target);
  const files = opts.files ?? new YamlFileCache(cfg.repoRoot);
  const body = dep.body;
  const bag = new DiagnosticBag();
  const context = (body.targets[target].context ?? {}) as Record<string, unknown>;
  const tfComps = body.components?.terraform ?? {};
  const nxComps = body.components?.nixpack ?? {};
  const declared = declaredComponents(dep);
  const names: ComponentNames = {
    terraform: new Set(Object.keys(tfComps)),
    nixpack: new Set(Object.keys(nxComps)),
    declared: Object.fromEntries((dep.componentTypes ?? []).map((t) => [t.name, { names: new Set(Object.keys(declared.find((d) => d.type === t)?.components ?? {})), outputs: t.outputs }])),
  };
  const strategy = cfg.listMergeStrategy;

  const stack = loadTargetStacks(cfg, dep, target, files);
  bag.items.push(...stack.warnings);
  const described = targetStack(cfg, stack.files, files);

  const refsOf = collectReferences(dep, names, bag);
  const hooksOf = hookCollector(dep, target, names, bag);
  // Every hook's references (a deployment's hook shares its own among components): outputs
  // they name are checked once, and context keys they read count as used.
  const hookRefsSeen = new Set<FoundRef>();
  bag.throwIfErrors();

  // Git is read when a template needs it or an image's tag is derived from the commit.
  const refsGit = [...refsOf.values()].some((rs) => rs.some((r) => r.ref.kind === 'git')) || Object.values(nxComps).some((c) => c.vars.image.tag === undefined);
  const git = opts.git ?? (refsGit ? gitInfo(cfg.repoRoot) : {});
  const scope = templateScope(dep, target, git, opts, names, bag);

  const allAddresses = [
    ...[...names.terraform].map((n) => componentAddress('terraform', n)),
    ...[...names.nixpack].map((n) => componentAddress('nixpack', n)),
    ...declared.flatMap((d) => Object.keys(d.components).map((n) => componentAddress(d.type.name, n))),
  ];
  const edges = new EdgeCollector(allAddresses, bag);
  const components: ResolvedComponent[] = [];
  const skipped = new Set<string>();
  const credentialsOf = (own: SecretEntry[] | undefined): Credentials => mergeCredentials([cfg.credentials, body, body.targets[target], { secrets: own }], cfg.repoRoot);
  const forbidden = protectedDirs(cfg, dep);

  // ---- Terraform components.
  // Vendored modules (SPEC 7): loaded only for a deployment that vendors.
  const vendorOf = body.vendor ? (await import('../vendoring/lookup.js')).vendorLookup(cfg, dep, target, files) : undefined;
  const stacked = stackedComponents(cfg, dep, stack, files, bag, skipped, vendorOf);
  bag.throwIfErrors();
  // Module introspection (variables, outputs), shared by components using the same module.
  const modules = new Map<string, Promise<ModuleInfo>>();
  const moduleInfo = (dir: string) => {
    let p = modules.get(dir);
    if (!p) {
      p = readModule(dir, { cacheDir: path.join(cfg.cacheDir, 'cache'), displayRoot: cfg.repoRoot });
      modules.set(dir, p);
    }
    return p;
  };
  const infos = await Promise.all(stacked.map((t) => moduleInfo(t.moduleDir)));
  const declaredOutputs = new Map(stacked.map((t, i) => [t.name, { module: t.module, outputs: infos[i].outputs }]));
  checkDeclaredOutputs(refsOf, declaredOutputs, bag);
  const foreign = { cfg, files, deployment: dep.name, target, deployed: [...names.terraform] };
  // Each component adds the name of its own stack.
  const functionContext: Omit<YamlFunctionContext, 'stack'> = {
    repoRoot: cfg.repoRoot,
    files,
    allowExec: cfg.allowExec === true,
    env: process.env,
    target,
    names,
    scope,
    foreign: (request, b) => readForeignOutput(request, foreign, b),
  };
  const declaredAnywhere = new Set<string>();
  for (const i of infos) for (const k of i.variables.keys()) declaredAnywhere.add(k);
  const nxLabels = Object.entries(nxComps).map(([n, c]) => ({ name: n, labels: (c.metadata?.labels ?? {}) as Record<string, string> }));

  stacked.forEach((t, idx) => {
    const c = tfComps[t.name];
    const refs = refsOf.get(t.address) ?? [];
    const hooks = hooksOf('terraform', t.name, c.steps);
    const hookRefs = hookEdgeRefs(hooks, 'terraform', t.name);
    checkSelfOutputs(hooks, t.address, t.module, infos[idx].outputs, bag);
    for (const h of hooks) for (const r of h.references) hookRefsSeen.add(r);
    const sections = terraformSections(t, c, infos[idx].variables, context, scope, names, bag, strategy);
    const bound = bindImages(t, sections.vars, sections.settings, refs, nxLabels, nxComps, scope, names, bag);
    const ownContext: YamlFunctionContext = { ...functionContext, stack: t.stackName };
    const fns = evaluateYamlFunctions({ vars: bound.vars, settings: sections.settings, env: sections.env }, ownContext, bag, t.location);
    const final = fns.sections;
    const stackComp = {
      ...t.stackComp,
      backend: evaluateStaticFunctions(t.stackComp.backend, final.env, ownContext, bag, t.location),
      providers: evaluateStaticFunctions(t.stackComp.providers, final.env, ownContext, bag, t.location),
    };
    if (fns.refs.length) checkDeclaredOutputs(new Map([[t.address, fns.refs]]), declaredOutputs, bag);
    const component: ResolvedComponent = {
      address: t.address,
      type: 'terraform',
      name: t.name,
      component: t.module,
      ...final,
      backend_type: null,
      backend: {},
      providers: stackComp.providers,
      depends_on: [],
      wave: 0,
      metadata: t.metadata,
      labels: (t.metadata.labels ?? {}) as Record<string, string>,
      moduleDir: t.moduleDir,
      ...(t.vendored ? { vendored: t.vendored } : {}),
      location: t.location,
      bindings: bound.bindings,
      references: [...refs, ...fns.refs],
      deferred: [...deferredOf(refs, sections.layers, final, t.location, strategy), ...bound.deferred, ...fns.deferred],
      credentials: credentialsOf(c.secrets),
      ...(hooks.length ? { hooks } : {}),
    };
    edges.bindings(component);
    edges.references(t.address, [...refs, ...fns.refs]);
    // A hook reading an image waits for its build (`''`: no nixpack component is this one).
    edges.references(t.address, hookRefs, '');
    edges.dependsOn(t.address, t.metadata.depends_on, Array.isArray(c.metadata?.depends_on) ? c.metadata.depends_on : t.metadata.depends_on);
    Object.assign(component, backendOf(cfg, dep, target, { ...t, stackComp }, forbidden.all, bag));
    // Atmos's precedence: the stacks' command (overrides, own, bases, `terraform:`) over atmos.yaml's.
    component.command = t.stackComp.command ?? cfg.tools.terraform.command;
    if (t.stackComp.command !== undefined) component.commandLocation = t.stackComp.commandLocation ?? t.location;
    if (described) {
      const input = {
        stack: described,
        component: t.name,
        module: t.module,
        metadata: t.metadata,
        vars: final.vars,
        settings: final.settings,
        backendType: component.backend_type,
        location: t.location,
      };
      try {
        component.workspace = workspaceOf(cfg, input);
      } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        bag.items.push(...e.diagnostics);
      }
      const atmos = atmosDependencies(cfg, { address: t.address, workspace: input, dependencies: t.stackComp.dependencies }, names.terraform);
      edges.edges.push(...atmos.edges);
      if (atmos.external.length) component.externalDependencies = atmos.external;
    }
    components.push(component);
  });

  sharedStates(components, bag);

  // ---- Nixpack components.
  for (const [n, c] of Object.entries(nxComps)) {
    const address = componentAddress('nixpack', n);
    const location = keyLocOf(nxComps, n) ?? dep.location;
    if (c.metadata?.enabled === false) {
      skipped.add(address);
      continue;
    }
    const refs = refsOf.get(address) ?? [];
    const sourceDir = nixpackSource(cfg, n, c, location, [forbidden.modules, { dir: cfg.cacheDir, name: 'the cache directory' }, forbidden.git], files, bag);
    if (sourceDir === undefined) continue;
    const sections = nixpackSections(n, c, refs, location, scope, names, bag);
    const hooks = hooksOf('nixpack', n, c.steps);
    const hookRefs = hookEdgeRefs(hooks, 'nixpack', n);
    for (const h of hooks) for (const r of h.references) hookRefsSeen.add(r);
    edges.references(address, [...refs, ...hookRefs], n);
    edges.dependsOn(address, c.metadata?.depends_on, c.metadata?.depends_on);
    components.push(artifactComponent({ address, type: 'nixpack', name: n, sections, metadata: c.metadata, sourceDir, location, refs, credentials: credentialsOf(c.secrets), hooks }));
  }

  // ---- Components of the types modules declare: vars and settings with templates evaluated (as nixpack's).
  for (const { type, components: comps } of declared) {
    for (const [n, c] of Object.entries(comps)) {
      const address = componentAddress(type.name, n);
      const location = keyLocOf(comps, n) ?? dep.location;
      if (c.metadata?.enabled === false) {
        skipped.add(address);
        continue;
      }
      const refs = refsOf.get(address) ?? [];
      const sections = declaredSections(c, refs, location, scope, names, bag);
      const sourceDir = declaredSource(cfg, type, address, sections.vars, location, [forbidden.modules, { dir: cfg.cacheDir, name: 'the cache directory' }, forbidden.git], bag);
      const hooks = hooksOf(type.name, n, c.steps);
      for (const h of hooks) for (const r of h.references) hookRefsSeen.add(r);
      checkSelfOutputs(hooks, address, type.module, [...type.outputs], bag);
      edges.references(address, [...refs, ...hookEdgeRefs(hooks, type.name, n)]);
      edges.dependsOn(address, c.metadata?.depends_on, c.metadata?.depends_on);
      components.push(artifactComponent({ address, type: type.name, name: n, sections, metadata: c.metadata, sourceDir, location, refs, credentials: credentialsOf(undefined), hooks }));
    }
  }

  const hookRefsOf = new Map([['(step hooks)', [...hookRefsSeen]]]);
  checkDeclaredOutputs(hookRefsOf, declaredOutputs, bag);
  warnUnusedContext(target, context, new Map([...refsOf, ...hookRefsOf]), declaredAnywhere, bag, dep.contextOverrides);
  warnExternalDependencies(components, bag);
  const liveEdges = edges.live(skipped);
  bag.throwIfErrors();
  for (const c of components) checkNoFunctionStrings(c, bag, c.location);
  bag.throwIfErrors();
  orderComponents(components, liveEdges);
  return {
    deployment: dep.name,
    file: dep.file,
    target,
    stacks: stack.files,
    included: stack.included,
    components,
    edges: liveEdges,
    warnings: bag.warnings,
    git,
    images: { ...(opts.images ?? {}) },
    scope,
  };
}

/**
 * Resolve with the images built earlier (the deployment's local image store) unless the
 * caller pins them (a release's), and what declared components last produced (shown until a
 * run builds them again): the one place where that default is worked out.
 */
export function resolveWithImageStore(cfg: AtmosConfig, dep: DeploymentConfig, target: string, opts: ResolveOptions = {}): Promise<ResolvedDeployment> {
  const declaredOutputs = opts.declaredOutputs ?? (dep.componentTypes?.length ? readArtifactStore(cfg.cacheDir, dep.name) : undefined);
  return resolveDeployment(cfg, dep, target, { ...opts, images: opts.images ?? readImageStore(cfg.cacheDir, dep.name), ...(declaredOutputs ? { declaredOutputs } : {}) });
}
