/**
 * Resolution of one deployment for one target (SPEC 3 "Resolution"):
 *
 *   Terraform vars = stack configuration (Atmos semantics, src/stacks)
 *                  → components.terraform.<name>.vars
 *                  → targets.<t>.context, only keys the module declares as variables
 *                  → bindings of nixpack images
 *   Nixpack vars   = the deployment's vars, templates evaluated
 *
 * Templates are evaluated in deployment scope only. References, `depends_on` and bindings
 * become edges of the component graph (src/graph).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticBag, DiagnosticError, didYouMean, type Diagnostic, type Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig, StackEntry } from '../config/deployment.js';
import { checkTargetArg } from '../config/deployment.js';
import { YamlFileCache } from '../config/files.js';
import { componentAddress, splitAddress, type ComponentType } from '../config/names.js';
import { containmentProblem, symlinkProblem, walkTree, type BadSymlink } from '../config/paths.js';
import { buildComponentGraph, type ComponentGraph, type DependencyEdge } from '../graph/index.js';
import { readModule, type ModuleInfo } from '../hcl/index.js';
import { buildContext } from '../nixpack/context.js';
import { loadStack, resolveComponent } from '../stacks/index.js';
import { deepMerge, mergeMapsAll } from '../stacks/merge.js';
import type { ImportSpec, LoadedStack } from '../stacks/types.js';
import { ensureLocs, isPlainMap, keyLocOf, locOf, locsOf } from '../yaml/index.js';
import { gitInfo, type GitInfo } from './git.js';
import { mergeCredentials, type Credentials, type SecretEntry } from '../secrets/index.js';
import { evaluate, findRefs, type FoundRef, type TemplateScope } from './templates.js';

/** A built image, as recorded by the build stage. */
export interface BuiltImage {
  /** `registry/name@sha256:...` or `name@sha256:...` */
  ref: string;
  digest: string;
}

export interface ResolveOptions {
  files?: YamlFileCache;
  /** Git facts for templates; computed lazily from the repository when absent. */
  git?: GitInfo;
  /** Built images per nixpack component name; absent: `@sha256:<unbuilt>` references. */
  images?: Record<string, BuiltImage>;
  /** Outputs of applied Terraform components (by component name). */
  terraformOutputs?: Record<string, Record<string, unknown>>;
}

export interface ResolvedComponent {
  /** `terraform/ecs/service-api` */
  address: string;
  type: ComponentType;
  name: string;
  /** Terraform root module directory name; null for nixpack. */
  component: string | null;
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  env: Record<string, unknown>;
  backend_type: string | null;
  backend: Record<string, unknown>;
  providers: Record<string, unknown>;
  /** Every dependency: explicit, template and binding edges. */
  depends_on: string[];
  wave: number;
  /** Merged metadata (stack metadata with the deployment's over it). */
  metadata: Record<string, unknown>;
  labels: Record<string, string>;
  /** Absolute module directory (terraform): the vendored copy when a vendor entry applies (SPEC 7). */
  moduleDir?: string;
  /** Set when the module comes from the vendor store: what the lock pinned. */
  vendored?: { digest: string; source: string; version: string | null };
  /** Absolute source directory (nixpack). */
  sourceDir?: string;
  /** Where the component is declared in the deployment file. */
  location: Location;
  /** Nixpack images bound into this component's vars: var path -> nixpack component. */
  bindings: { var: string; nixpack: string; kind: 'template' | 'label' | 'name' }[];
  /** Template references in the deployment's configuration of this component. */
  references: FoundRef[];
  /** Declared credentials (atmos.yaml, deployment, target, component): names and sources, never values. */
  credentials: Credentials;
}

export interface ResolvedDeployment {
  deployment: string;
  target: string;
  /** Every stack file loaded, repository-relative, in merge order. */
  stacks: string[];
  components: ResolvedComponent[];
  graph: ComponentGraph;
  warnings: Diagnostic[];
  /** The configuration it came from. */
  config: DeploymentConfig;
  git: GitInfo;
  /** Built images known to this resolution (by nixpack component name). */
  images: Record<string, BuiltImage>;
}

function toImports(entries: StackEntry[] | undefined, container: unknown): ImportSpec[] {
  return (entries ?? []).map((e, i) => {
    const location = locOf(container, i);
    if (typeof e === 'string') return { path: e, ...(location ? { location } : {}) };
    return { path: e.path, ...(e.skip_if_missing !== undefined ? { skip_if_missing: e.skip_if_missing } : {}), ...(e.context ? { context: e.context } : {}), ...(location ? { location } : {}) };
  });
}

/** Load the stacks for a target: `deployment.stacks` then `targets.<t>.stacks`. */
export function loadTargetStacks(cfg: AtmosConfig, dep: DeploymentConfig, target: string, files: YamlFileCache): LoadedStack {
  const body = dep.body;
  const imports = [...toImports(body.stacks, body.stacks), ...toImports(body.targets[target]?.stacks, body.targets[target]?.stacks)];
  return loadStack(imports, { repoRoot: cfg.repoRoot, stacksBasePath: cfg.stacksBasePath, listMergeStrategy: cfg.listMergeStrategy }, files);
}

function unbuiltRef(image: { registry?: string; name: string }): string {
  return image.registry ? `${image.registry}/${image.name}@sha256:<unbuilt>` : `${image.name}@sha256:<unbuilt>`;
}

function setWithLoc(obj: Record<string, unknown>, key: string, value: unknown, loc: Location | undefined): void {
  obj[key] = value;
  if (loc) {
    const l = ensureLocs(obj, loc);
    l.values.set(key, loc);
    if (!l.keys.has(key)) l.keys.set(key, loc);
  }
}

/** Resolve a deployment for one target. Throws a DiagnosticError with every problem found. */
export async function resolveDeployment(cfg: AtmosConfig, dep: DeploymentConfig, target: string, opts: ResolveOptions = {}): Promise<ResolvedDeployment> {
  checkTargetArg(dep, target);
  const files = opts.files ?? new YamlFileCache(cfg.repoRoot);
  const body = dep.body;
  const bag = new DiagnosticBag();
  const targetCfg = body.targets[target];
  const context = (targetCfg.context ?? {}) as Record<string, unknown>;
  const tfComps = body.components?.terraform ?? {};
  const nxComps = body.components?.nixpack ?? {};
  const names = { terraform: new Set(Object.keys(tfComps)), nixpack: new Set(Object.keys(nxComps)) };

  const stack = loadTargetStacks(cfg, dep, target, files);
  bag.items.push(...stack.warnings);

  // Template references, collected once per component (they add edges and tell which
  // context keys are used).
  const refsOf = new Map<string, FoundRef[]>();
  const depLoc = dep.location;
  const credentialsOf = (own: SecretEntry[] | undefined): Credentials =>
    mergeCredentials([cfg.credentials, dep.body, dep.body.targets[target], { secrets: own }], cfg.repoRoot);
  for (const [n, c] of Object.entries(tfComps)) refsOf.set(componentAddress('terraform', n), findRefs({ vars: c.vars, settings: c.settings, env: c.env }, names, bag, keyLocOf(tfComps, n) ?? depLoc));
  for (const [n, c] of Object.entries(nxComps)) refsOf.set(componentAddress('nixpack', n), findRefs({ vars: c.vars, settings: c.settings }, names, bag, keyLocOf(nxComps, n) ?? depLoc));
  bag.throwIfErrors();

  const refsGit = [...refsOf.values()].some((rs) => rs.some((r) => r.ref.kind === 'git'));
  const git = opts.git ?? (refsGit ? gitInfo(cfg.repoRoot) : {});

  // Scope for templates: nixpack image facts (built or placeholders).
  const scope: TemplateScope = {
    git,
    deployment: { name: dep.name },
    target: { name: target, context },
    nixpack: {},
    terraformOutputs: opts.terraformOutputs,
  };
  for (const [n, c] of Object.entries(nxComps)) {
    const built = opts.images?.[n];
    const repository = c.vars.image.registry ? `${c.vars.image.registry}/${c.vars.image.name}` : c.vars.image.name;
    scope.nixpack[n] = {
      image: built?.ref ?? unbuiltRef(c.vars.image),
      digest: built?.digest ?? 'sha256:<unbuilt>',
      repository,
      tag: '',
    };
  }
  // Image tags may themselves be templates (`{{ git.sha }}`).
  for (const [n, c] of Object.entries(nxComps)) {
    const tag = c.vars.image.tag;
    const loc = locOf(c.vars.image, 'tag') ?? depLoc;
    scope.nixpack[n].tag = tag === undefined ? 'latest' : String(evaluate(String(tag), scope, names, bag, loc));
  }

  const edges: DependencyEdge[] = [];
  const components: ResolvedComponent[] = [];
  const allAddresses = [...[...names.terraform].map((n) => componentAddress('terraform', n)), ...[...names.nixpack].map((n) => componentAddress('nixpack', n))];
  const skipped = new Set<string>();

  // depends_on: a full address, or a bare name when unambiguous.
  const resolveDependsOn = (from: string, list: unknown, container: unknown) => {
    if (!Array.isArray(list)) return;
    list.forEach((entry, i) => {
      const loc = locOf(container, i);
      const s = String(entry);
      let target: string | undefined;
      if (splitAddress(s) && allAddresses.includes(s)) target = s;
      else {
        const matches = allAddresses.filter((a) => a.slice(a.indexOf('/') + 1) === s);
        if (matches.length === 1) target = matches[0];
        else if (matches.length > 1) {
          bag.error('deployment/ambiguous-dependency', `depends_on "${s}" is ambiguous: ${matches.join(', ')}`, loc, `write the full address, e.g. "${matches[0]}"`);
          return;
        }
      }
      if (!target) {
        const guess = didYouMean(s, [...allAddresses, ...allAddresses.map((a) => a.slice(a.indexOf('/') + 1))]);
        bag.error('deployment/unknown-dependency', `depends_on "${s}" is not a component of this deployment`, loc, guess ? `did you mean "${guess}"?` : `components: ${allAddresses.join(', ')}`);
        return;
      }
      edges.push({ from, to: target, kind: 'explicit', location: loc });
    });
  };

  // Module introspection (variables), shared by components using the same module.
  const modules = new Map<string, Promise<ModuleInfo>>();
  const moduleInfo = (dir: string) => {
    let p = modules.get(dir);
    if (!p) {
      p = readModule(dir, { cacheDir: path.join(cfg.cacheDir, 'cache'), displayRoot: cfg.repoRoot });
      modules.set(dir, p);
    }
    return p;
  };

  // Directories generated files (state) must never be written into.
  const protectedDirs = [
    { dir: cfg.terraformBasePath, name: 'the Terraform modules' },
    { dir: cfg.stacksBasePath, name: 'the stacks' },
    { dir: cfg.deploymentsBasePath, name: 'the deployment files' },
    { dir: path.join(cfg.repoRoot, '.git'), name: 'the Git directory' },
    ...Object.entries(nxComps).map(([n, c]) => ({ dir: path.resolve(cfg.basePath, c.vars.source), name: `the source of nixpack/${n}` })),
  ];

  // ---- Terraform components.
  const tfResolved: { name: string; address: string; stackComp: ReturnType<typeof resolveComponent>; metadata: Record<string, unknown>; moduleDir: string; location: Location; module: string; vendored?: ResolvedComponent['vendored'] }[] = [];
  // Vendored modules (SPEC 7): read from the lock and the store, never fetched here.
  const vendorOf = body.vendor ? (await import('../vendoring/lookup.js')).vendorLookup(cfg, dep, target, files) : undefined;
  for (const [n, c] of Object.entries(tfComps)) {
    const address = componentAddress('terraform', n);
    const location = keyLocOf(tfComps, n) ?? depLoc;
    const depMeta = (c.metadata ?? {}) as Record<string, unknown>;
    let stackComp: ReturnType<typeof resolveComponent>;
    try {
      stackComp = resolveComponent(stack, 'terraform', n, depMeta.inherits ? { inherits: depMeta.inherits as string[] } : undefined);
    } catch (e) {
      if (e instanceof DiagnosticError) {
        bag.items.push(...e.diagnostics);
        continue;
      }
      throw e;
    }
    if (stackComp.abstract) {
      bag.error('deployment/abstract-component', `terraform component "${n}" is abstract in the stacks and cannot be deployed`, location, 'deploy a concrete component that inherits it (metadata.inherits)');
      continue;
    }
    // Deployment metadata deep-merges over the stack's; the deployment wins outright for
    // component, labels and depends_on.
    const metadata = deepMerge(stackComp.metadata ?? {}, depMeta, cfg.listMergeStrategy) as Record<string, unknown>;
    for (const k of ['component', 'labels', 'depends_on']) if (depMeta[k] !== undefined) metadata[k] = depMeta[k];
    if (metadata.enabled === false || depMeta.enabled === false || !stackComp.enabled) {
      skipped.add(address);
      continue;
    }
    const moduleName = (depMeta.component as string | undefined) ?? stackComp.component ?? n;
    const module = path.relative(cfg.terraformBasePath, path.join(cfg.terraformBasePath, moduleName)).split(path.sep).join('/');
    const vendored = vendorOf?.(module);
    if (vendored?.kind === 'unpulled') {
      bag.error(vendored.code, `terraform component "${n}": ${vendored.message}`, (depMeta.component ? locOf(c.metadata, 'component') : undefined) ?? location, vendored.hint);
      continue;
    }
    const moduleLoc = (depMeta.component ? locOf(c.metadata, 'component') : undefined) ?? location;
    if (vendored?.kind !== 'vendored') {
      const d = containmentProblem(cfg.repoRoot, path.join(cfg.terraformBasePath, moduleName), { what: `terraform component "${n}": module directory`, value: moduleName, location: moduleLoc });
      if (d) {
        bag.add(d);
        continue;
      }
    }
    const moduleDir = vendored?.kind === 'vendored' ? vendored.dir : path.join(cfg.terraformBasePath, moduleName);
    if (!existsSync(moduleDir) || !statSync(moduleDir).isDirectory()) {
      const rel = path.relative(cfg.repoRoot, moduleDir).split(path.sep).join('/');
      bag.error(
        'deployment/module-missing',
        `terraform component "${n}": module directory ${rel}/ does not exist`,
        moduleLoc,
        'create the root module there, set metadata.component to an existing module, or vendor it (deployment.vendor)',
      );
      continue;
    }
    // A module file or directory that is a symlink out of the repository is refused before anything runs.
    const link = vendored?.kind === 'vendored' ? undefined : files.memo(`module-links:${moduleDir}`, () => walkTree(moduleDir, { exclude: (rel) => rel.split('/').includes('.terraform'), within: cfg.repoRoot }).bad);
    if (link) {
      bag.add(symlinkProblem(cfg.repoRoot, `terraform component "${n}": module ${moduleName}`, link, moduleLoc));
      continue;
    }
    tfResolved.push({ name: n, address, stackComp, metadata, moduleDir, location, module, ...(vendored?.kind === 'vendored' ? { vendored: { digest: vendored.digest, source: vendored.source, version: vendored.version } } : {}) });
  }
  bag.throwIfErrors();

  const infos = await Promise.all(tfResolved.map((t) => moduleInfo(t.moduleDir)));
  // A template naming an output its module does not declare (`output` blocks) is a located
  // error here, so a typo never reaches a run as an unknown value.
  const declaredOutputs = new Map(tfResolved.map((t, i) => [t.name, { module: t.module, outputs: infos[i].outputs }]));
  for (const refs of refsOf.values()) {
    for (const r of refs) {
      const m = r.ref.kind === 'terraform' ? declaredOutputs.get(r.ref.component) : undefined;
      if (!m || r.ref.kind !== 'terraform' || m.outputs.includes(r.ref.output)) continue;
      const guess = didYouMean(r.ref.output, m.outputs);
      bag.error(
        'template/unknown-output',
        `{{ ${r.expr} }}: terraform/${r.ref.component} (module ${m.module}) declares no output "${r.ref.output}"`,
        r.location,
        `${guess ? `did you mean "${guess}"? ` : ''}outputs of ${m.module}: ${m.outputs.join(', ') || '(none)'}`,
      );
    }
  }
  const declaredAnywhere = new Set<string>();
  infos.forEach((i) => i.variables.forEach((_v, k) => declaredAnywhere.add(k)));

  const nxLabels = Object.entries(nxComps).map(([n, c]) => ({ name: n, labels: (c.metadata?.labels ?? {}) as Record<string, string> }));

  tfResolved.forEach((t, idx) => {
    const c = tfComps[t.name];
    const info = infos[idx];
    const refs = refsOf.get(t.address) ?? [];
    // 1. stack config → 2. deployment vars (templates evaluated)
    const depVars = evaluate(c.vars ?? {}, scope, names, bag, t.location) as Record<string, unknown>;
    let vars = mergeMapsAll([t.stackComp.vars, depVars], cfg.listMergeStrategy);
    // 3. target context: only the keys the module declares
    const ctxPart: Record<string, unknown> = {};
    if (locsOf(context)) ensureLocs(ctxPart, locsOf(context)!.self);
    for (const [k, v] of Object.entries(context)) {
      if (info.variables.has(k)) setWithLoc(ctxPart, k, v, locOf(context, k));
    }
    vars = mergeMapsAll([vars, ctxPart], cfg.listMergeStrategy);
    const settings = mergeMapsAll([t.stackComp.settings, evaluate(c.settings ?? {}, scope, names, bag, t.location)], cfg.listMergeStrategy);
    const env = mergeMapsAll([t.stackComp.env, evaluate(c.env ?? {}, scope, names, bag, t.location)], cfg.listMergeStrategy);
    // 4. bindings
    const bindings: ResolvedComponent['bindings'] = [];
    const explicit = refs.filter((r) => r.ref.kind === 'nixpack');
    for (const r of explicit) {
      if (r.ref.kind === 'nixpack' && !bindings.some((b) => b.nixpack === (r.ref as { component: string }).component)) {
        bindings.push({ var: '(template)', nixpack: r.ref.component, kind: 'template' });
      }
    }
    if (explicit.length === 0) {
      const labels = (t.metadata.labels ?? {}) as Record<string, string>;
      const matches = nxLabels.filter((x) => Object.keys(x.labels).length > 0 && Object.entries(x.labels).every(([k, v]) => labels[k] === v));
      const bindingSettings = isPlainMap(settings.binding) ? settings.binding : {};
      const varName = typeof bindingSettings.var === 'string' ? bindingSettings.var : 'image';
      if (matches.length > 1) {
        bag.error(
          'deployment/ambiguous-binding',
          `terraform component "${t.name}" matches the labels of several nixpack components: ${matches.map((m) => m.name).join(', ')}`,
          t.location,
          'bind one explicitly, e.g. vars: { image: "{{ nixpack.<name>.image }}" }',
        );
      } else if (matches.length === 1) {
        const nx = matches[0].name;
        const copy: Record<string, unknown> = {};
        setLocsFrom(copy, vars);
        Object.assign(copy, vars);
        setWithLoc(copy, varName, scope.nixpack[nx].image, locOf(nxComps[nx].vars, 'image') ?? locOf(nxComps, nx));
        vars = copy;
        bindings.push({ var: varName, nixpack: nx, kind: 'label' });
      } else {
        const container = isPlainMap(vars.container) ? vars.container : undefined;
        const cname = container && typeof container.name === 'string' ? container.name : undefined;
        if (cname && names.nixpack.has(cname)) {
          const newContainer: Record<string, unknown> = {};
          setLocsFrom(newContainer, container!);
          Object.assign(newContainer, container);
          setWithLoc(newContainer, 'image', scope.nixpack[cname].image, locOf(nxComps[cname].vars, 'image'));
          const copy: Record<string, unknown> = {};
          setLocsFrom(copy, vars);
          Object.assign(copy, vars);
          copy.container = newContainer;
          vars = copy;
          bindings.push({ var: 'container.image', nixpack: cname, kind: 'name' });
        }
      }
    }
    for (const b of bindings) {
      edges.push({ from: t.address, to: componentAddress('nixpack', b.nixpack), kind: b.kind === 'template' ? 'template' : 'binding', location: t.location });
    }
    for (const r of refs) {
      if (r.ref.kind === 'terraform') edges.push({ from: t.address, to: componentAddress('terraform', r.ref.component), kind: 'template', location: r.location });
    }
    resolveDependsOn(t.address, t.metadata.depends_on, depMetaDependsContainer(c.metadata, t.metadata));

    // Backend: the stack's, else local state under the cache dir.
    let backendType = t.stackComp.backend_type ?? null;
    let backend = { ...(t.stackComp.backend ?? {}) } as Record<string, unknown>;
    const defaultState = path.relative(cfg.repoRoot, path.join(cfg.cacheDir, 'state', dep.name, target, `${t.name}.tfstate`)).split(path.sep).join('/');
    if (!backendType) {
      backendType = 'local';
      backend = { path: defaultState };
    } else if (backendType === 'local' && backend.path === undefined) {
      backend = { ...backend, path: defaultState };
    }
    if (backendType === 'local') {
      // Local state the stacks configure stays inside the repository and out of modules,
      // stacks and sources (the default, under the cache dir, is ours).
      for (const key of ['path', 'workspace_dir']) {
        const v = t.stackComp.backend?.[key];
        if (typeof v !== 'string') continue;
        const d = containmentProblem(cfg.repoRoot, v, { what: `terraform component "${t.name}": local backend ${key}`, location: locOf(t.stackComp.backend, key) ?? t.location, forbidden: protectedDirs, hint: `leave it unset: state then lives in ${defaultState}, inside the repository and ignored by Git` });
        if (d) bag.add(d);
      }
    }

    components.push({
      address: t.address,
      type: 'terraform',
      name: t.name,
      component: t.module,
      vars,
      settings,
      env,
      backend_type: backendType,
      backend,
      providers: (t.stackComp.providers ?? {}) as Record<string, unknown>,
      depends_on: [],
      wave: 0,
      metadata: t.metadata,
      labels: (t.metadata.labels ?? {}) as Record<string, string>,
      moduleDir: t.moduleDir,
      ...(t.vendored ? { vendored: t.vendored } : {}),
      location: t.location,
      bindings,
      references: refs,
      credentials: credentialsOf(c.secrets),
    });
  });

  // ---- Nixpack components.
  for (const [n, c] of Object.entries(nxComps)) {
    const address = componentAddress('nixpack', n);
    const location = keyLocOf(nxComps, n) ?? depLoc;
    if (c.metadata?.enabled === false) {
      skipped.add(address);
      continue;
    }
    const refs = refsOf.get(address) ?? [];
    const sourceProblem = containmentProblem(cfg.repoRoot, path.resolve(cfg.basePath, c.vars.source), {
      what: `nixpack component "${n}": source`,
      value: c.vars.source,
      location: locOf(c.vars, 'source') ?? location,
      forbidden: [protectedDirs[0], { dir: cfg.cacheDir, name: 'the cache directory' }, protectedDirs[3]],
      hint: 'vars.source names the application directory inside the repository (not a module, the cache or .git), e.g. ./services/api',
    });
    if (sourceProblem) {
      bag.add(sourceProblem);
      continue;
    }
    const sourceDir = path.resolve(cfg.basePath, c.vars.source);
    const context = sourceContext(cfg.repoRoot, sourceDir, files);
    if (context?.bad) {
      bag.add(symlinkProblem(cfg.repoRoot, `nixpack component "${n}": build context ${c.vars.source}`, context.bad, locOf(c.vars, 'source') ?? location));
      continue;
    }
    if (context?.empty) {
      bag.error(
        'nixpack/empty-context',
        `nixpack component "${n}": source "${c.vars.source}" ships no file: everything in it is ignored by Git (or .dockerignore)`,
        locOf(c.vars, 'source') ?? location,
        'a build copies what Git would ship: commit the sources, or stop ignoring them',
      );
      continue;
    }
    const vars = evaluate(c.vars, scope, names, bag, location) as Record<string, unknown>;
    // The image tag is evaluated once (it is also what nixpack.<c>.tag returns).
    if (isPlainMap(vars.image)) (vars.image as Record<string, unknown>).tag = scope.nixpack[n].tag;
    const settings = evaluate(c.settings ?? {}, scope, names, bag, location) as Record<string, unknown>;
    for (const r of refs) {
      if (r.ref.kind === 'terraform') edges.push({ from: address, to: componentAddress('terraform', r.ref.component), kind: 'template', location: r.location });
      if (r.ref.kind === 'nixpack' && r.ref.component !== n) edges.push({ from: address, to: componentAddress('nixpack', r.ref.component), kind: 'template', location: r.location });
    }
    resolveDependsOn(address, c.metadata?.depends_on, c.metadata?.depends_on);
    components.push({
      address,
      type: 'nixpack',
      name: n,
      component: null,
      vars,
      settings,
      env: {},
      backend_type: null,
      backend: {},
      providers: {},
      depends_on: [],
      wave: 0,
      metadata: (c.metadata ?? {}) as Record<string, unknown>,
      labels: (c.metadata?.labels ?? {}) as Record<string, string>,
      sourceDir,
      location,
      bindings: [],
      references: refs,
      credentials: credentialsOf(c.secrets),
    });
  }

  // Context keys nobody uses: warn with a "did you mean" hint.
  const referencedCtx = new Set<string>();
  for (const rs of refsOf.values()) for (const r of rs) if (r.ref.kind === 'context') referencedCtx.add(r.ref.key);
  for (const k of Object.keys(context)) {
    if (!declaredAnywhere.has(k) && !referencedCtx.has(k)) {
      const guess = didYouMean(k, declaredAnywhere);
      bag.warn(
        'deployment/unused-context',
        `targets.${target}.context.${k} is not declared as a variable by any Terraform module of this deployment and no template references it`,
        keyLocOf(context, k),
        guess ? `did you mean "${guess}"?` : 'declare it as a variable in a module, reference it as {{ target.context.' + k + ' }}, or remove it',
      );
    }
  }

  // Edges to disabled components are dropped (with a warning); the rest form the graph.
  const live = components.map((c) => c.address);
  const liveEdges = edges.filter((e) => {
    if (skipped.has(e.to)) {
      bag.warn('deployment/disabled-dependency', `${e.from} depends on ${e.to}, which is disabled`, e.location);
      return false;
    }
    return !skipped.has(e.from);
  });
  bag.throwIfErrors();
  const graph = buildComponentGraph(live, liveEdges);
  for (const c of components) {
    c.depends_on = graph.dependencies.get(c.address) ?? [];
    c.wave = graph.waveOf.get(c.address) ?? 0;
  }
  components.sort((a, b) => a.wave - b.wave || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return {
    deployment: dep.name,
    target,
    stacks: stack.files,
    components,
    graph,
    warnings: bag.warnings,
    config: dep,
    git,
    images: { ...(opts.images ?? {}) },
  };
}

/** Per command (file cache): a source's build context is listed once, whatever the number of targets. */
const SOURCE_CONTEXTS = new WeakMap<YamlFileCache, Map<string, { bad?: BadSymlink; empty: boolean } | undefined>>();

/** A nixpack source's build context, judged: its first bad symlink, and whether it ships nothing. */
function sourceContext(repoRoot: string, dir: string, files: YamlFileCache): { bad?: BadSymlink; empty: boolean } | undefined {
  let byDir = SOURCE_CONTEXTS.get(files);
  if (!byDir) SOURCE_CONTEXTS.set(files, (byDir = new Map()));
  if (!byDir.has(dir)) {
    const walked = existsSync(dir) ? walkTree(dir, { ...buildContext(dir, repoRoot), within: repoRoot }) : undefined;
    byDir.set(dir, walked && { ...(walked.bad ? { bad: walked.bad } : {}), empty: !walked.bad && !walked.entries.some((e) => e.type === 'file') });
  }
  return byDir.get(dir);
}

function setLocsFrom(dst: object, src: object): void {
  const l = locsOf(src);
  if (!l) return;
  const d = ensureLocs(dst, l.self);
  for (const [k, v] of l.keys) d.keys.set(k, v);
  for (const [k, v] of l.values) d.values.set(k, v);
}

function depMetaDependsContainer(depMeta: unknown, merged: Record<string, unknown>): unknown {
  if (isPlainMap(depMeta) && Array.isArray(depMeta.depends_on)) return depMeta.depends_on;
  return merged.depends_on;
}
