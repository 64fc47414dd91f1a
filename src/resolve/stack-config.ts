/**
 * Stack configuration of a target's Terraform components (SPEC 3.1): the stacks a target
 * loads, each component's stack section (Atmos inheritance), its metadata with the
 * deployment's over it, and its module directory — checked to exist inside the repository
 * with no symlink out of it, or taken from the vendor store (SPEC 7).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, didYouMean, type DiagnosticBag, type Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig, StackEntry, TerraformComponentConfig } from '../config/deployment.js';
import type { YamlFileCache } from '../config/files.js';
import { componentAddress } from '../config/names.js';
import { containmentProblem, symlinkProblem, walkTree } from '../config/paths.js';
import { loadAllStacks, loadStack, resolveComponent, withStackNames } from '../stacks/index.js';
import { deepMerge } from '../stacks/merge.js';
import type { AllStacks, AllStacksOptions } from '../stacks/all.js';
import type { ImportSpec, LoadedStack, ResolvedStackComponent } from '../stacks/types.js';
import { keyLocOf, locOf } from '../yaml/index.js';
import { componentView, evaluateGoTemplates, type ComponentLookup, type StackIdentity } from './go-templates.js';
import { stackNameOf, targetStack, workspaceOf, type WorkspaceInput } from './workspace.js';
import type { ResolvedComponent } from './types.js';

function toImports(entries: StackEntry[] | undefined, container: unknown): ImportSpec[] {
  return (entries ?? []).map((e, i) => {
    const location = locOf(container, i);
    if (typeof e === 'string') return { path: e, ...(location ? { location } : {}) };
    return { path: e.path, ...(e.skip_if_missing !== undefined ? { skip_if_missing: e.skip_if_missing } : {}), ...(e.context ? { context: e.context } : {}), ...(location ? { location } : {}) };
  });
}

/**
 * How atmos.yaml says stacks are loaded (merge strategy, integrations, templates, which
 * files are stacks): one set of options for a target's stacks, the stack a
 * `!terraform.state` names and every stack listed by name.
 */
export function stackLoadOptions(cfg: AtmosConfig): AllStacksOptions {
  return {
    repoRoot: cfg.repoRoot,
    stacksBasePath: cfg.stacksBasePath,
    listMergeStrategy: cfg.listMergeStrategy,
    integrationsGithub: cfg.integrationsGithub,
    templates: cfg.templates,
    included: cfg.stacksIncluded,
    excluded: cfg.stacksExcluded,
  };
}

/** Load the stacks for a target: `deployment.stacks` then `targets.<t>.stacks`. */
export function loadTargetStacks(cfg: AtmosConfig, dep: DeploymentConfig, target: string, files: YamlFileCache): LoadedStack {
  const body = dep.body;
  const opts = stackLoadOptions(cfg);
  const imports = [...toImports(body.stacks, body.stacks), ...toImports(body.targets[target]?.stacks, body.targets[target]?.stacks)];
  const named = withStackNames(imports, opts, cfg.stackNaming, files);
  return loadStack(named, opts, files);
}

/**
 * The Atmos stack a target's component is resolved in (its name and top-level file) and the
 * component's workspace there: what `.atmos_stack`, `.atmos_stack_file` and `.workspace` give
 * a template. Named and derived as src/resolve/workspace.ts does for describe and the rollout.
 */
function stackIdentity(cfg: AtmosConfig, stack: LoadedStack, comp: ResolvedStackComponent, files: YamlFileCache): StackIdentity {
  const described = targetStack(cfg, stack.files, files) ?? { file: '' };
  const input: WorkspaceInput = {
    stack: described,
    component: comp.name,
    module: comp.component,
    metadata: comp.metadata,
    vars: comp.vars,
    settings: comp.settings,
    backendType: comp.backend_type,
    location: comp.location ?? { file: described.file, line: 1, col: 1 },
  };
  return { file: described.file, name: stackNameOf(cfg, input), workspace: workspaceOf(cfg, input) };
}

/**
 * A Terraform component as Atmos resolves it in a loaded stack (inheritance, then its Go
 * templates with `.atmos_stack`, `.workspace`, ...), with the identity of that stack (its
 * name, file and the component's Terraform workspace there): what a deployment's component
 * is built from, and what `!terraform.state` reads the state of. `lookupFor` gives
 * `atmos.Component` its view of the other components (none: it is refused).
 * Throws a DiagnosticError for a problem in the stacks.
 */
export function stackComponent(
  cfg: AtmosConfig,
  stack: LoadedStack,
  name: string,
  inherits: string[] | undefined,
  files: YamlFileCache,
  lookupFor?: (identity: StackIdentity) => ComponentLookup,
): { component: ResolvedStackComponent; identity: StackIdentity } {
  const resolved = resolveComponent(stack, 'terraform', name, inherits ? { inherits } : undefined);
  const identity = stackIdentity(cfg, stack, resolved, files);
  const component = evaluateGoTemplates(resolved, identity, cfg.templates, process.env, { ...(lookupFor ? { lookup: lookupFor(identity) } : {}), isLiteral: (at) => files.isLiteral(at) });
  return { component, identity };
}

/**
 * The deployment's Terraform components with their stack configuration resolved and their Go
 * templates evaluated, each once, on demand: `atmos.Component` in one component's templates
 * reads another's evaluated configuration (a component reading itself back is an error).
 */
function evaluatedComponents(
  cfg: AtmosConfig,
  stack: LoadedStack,
  tfComps: Record<string, TerraformComponentConfig>,
  files: YamlFileCache,
): (name: string) => { comp: ResolvedStackComponent; identity: StackIdentity } {
  const done = new Map<string, { comp: ResolvedStackComponent; identity: StackIdentity }>();
  const resolving: string[] = [];
  const evaluated = (n: string): { comp: ResolvedStackComponent; identity: StackIdentity } => {
    const hit = done.get(n);
    if (hit) return hit;
    if (resolving.includes(n)) throw new Error(`atmos.Component reads ${[...resolving.slice(resolving.indexOf(n)), n].join(' → ')}: a component cannot read itself back`);
    resolving.push(n);
    try {
      const inherits = tfComps[n]?.metadata?.inherits as string[] | undefined;
      const lookupFor =
        (identity: StackIdentity): ComponentLookup =>
        (name, stackName) => {
          if (stackName !== identity.name)
            throw new Error(`reading ${name} in stack "${stackName}" is not supported: atmos-pipe reads only the components of this deployment, in its stack "${identity.name}"`);
          if (!Object.hasOwn(tfComps, name)) {
            const guess = didYouMean(name, Object.keys(tfComps));
            throw new Error(`${name} is not a Terraform component of this deployment${guess ? ` (did you mean "${guess}"?)` : ''}; add it to the deployment, or pass the value as a var`);
          }
          const other = evaluated(name);
          return componentView(other.comp, other.identity);
        };
      const { component, identity } = stackComponent(cfg, stack, n, inherits, files, lookupFor);
      const result = { comp: component, identity };
      done.set(n, result);
      return result;
    } finally {
      resolving.pop();
    }
  };
  return evaluated;
}

/**
 * Every stack of the repository with its deployable components (`atmos describe stacks`),
 * loaded exactly as a target's stacks are: atmos.yaml's options ({@link stackLoadOptions}:
 * `.tmpl` files and import contexts rendered, integrations merged) and each component
 * resolved by {@link stackComponent} (its Go templates evaluated with its stack name and
 * workspace).
 */
export function loadRepositoryStacks(cfg: AtmosConfig, files?: YamlFileCache): AllStacks {
  return loadAllStacks(stackLoadOptions(cfg), files, (stack, name, cache) => stackComponent(cfg, stack, name, undefined, cache).component);
}

/** A deployable Terraform component with its stack configuration and module. */
export interface StackedComponent {
  name: string;
  address: string;
  stackComp: ResolvedStackComponent;
  metadata: Record<string, unknown>;
  moduleDir: string;
  location: Location;
  /** Module path under the Terraform base path (`ecs/service`). */
  module: string;
  /** The Atmos name of the stack it is resolved in (what `!terraform.output`'s stack argument names). */
  stackName: string;
  vendored?: ResolvedComponent['vendored'];
}

/**
 * Where the vendor store has a module (SPEC 7), read from the lock and the store, never
 * fetched here: src/vendor/lookup.ts answers it (declared here so resolution's parts need
 * nothing of vendoring, which loads a target's stacks with {@link loadTargetStacks}).
 */
export type VendorLookup = (
  module: string,
) => { kind: 'local' } | { kind: 'vendored'; dir: string; digest: string; source: string; version: string | null } | { kind: 'unpulled'; code: string; message: string; hint: string };

/**
 * The Terraform components of a deployment that deploy: disabled ones are added to `skipped`,
 * problems (abstract, missing or escaping module, unpulled vendored module) go to the bag.
 */
export function stackedComponents(
  cfg: AtmosConfig,
  dep: DeploymentConfig,
  stack: LoadedStack,
  files: YamlFileCache,
  bag: DiagnosticBag,
  skipped: Set<string>,
  vendorOf: VendorLookup | undefined,
): StackedComponent[] {
  const tfComps: Record<string, TerraformComponentConfig> = dep.body.components?.terraform ?? {};
  const out: StackedComponent[] = [];
  const evaluated = evaluatedComponents(cfg, stack, tfComps, files);
  for (const [n, c] of Object.entries(tfComps)) {
    const address = componentAddress('terraform', n);
    const location = keyLocOf(tfComps, n) ?? dep.location;
    const depMeta = (c.metadata ?? {}) as Record<string, unknown>;
    let stackComp: ResolvedStackComponent;
    let stackName: string;
    try {
      const ev = evaluated(n);
      stackComp = ev.comp;
      stackName = ev.identity.name;
    } catch (e) {
      if (e instanceof DiagnosticError) {
        bag.items.push(...e.diagnostics);
        continue;
      }
      throw e;
    }
    if (stackComp.abstract) {
      bag.error(
        'deployment/abstract-component',
        `terraform component "${n}" is abstract in the stacks and cannot be deployed`,
        location,
        'deploy a concrete component that inherits it (metadata.inherits)',
      );
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
    const link =
      vendored?.kind === 'vendored'
        ? undefined
        : files.memo(`module-links:${moduleDir}`, () => walkTree(moduleDir, { exclude: (rel) => rel.split('/').includes('.terraform'), within: cfg.repoRoot }).bad);
    if (link) {
      bag.add(symlinkProblem(cfg.repoRoot, `terraform component "${n}": module ${moduleName}`, link, moduleLoc));
      continue;
    }
    out.push({
      name: n,
      address,
      stackComp,
      stackName,
      metadata,
      moduleDir,
      location,
      module,
      ...(vendored?.kind === 'vendored' ? { vendored: { digest: vendored.digest, source: vendored.source, version: vendored.version } } : {}),
    });
  }
  return out;
}
