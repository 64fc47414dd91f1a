/**
 * `defineModule` and `definePipeline` (SPEC 8), the core of the public module API that
 * `atmos-pipe/module` (index.ts) exports.
 *
 * A module turns one component into steps (data). It is called just in time: when the
 * component's dependencies have finished, so `ctx.component` already has their outputs in
 * its vars and `ctx.outputsOf()` returns them.
 */
import { z } from 'zod';
import type { Cas } from '../cache/cas.js';
import { writeArtifactStore } from '../cache/images.js';
import type { DeclaredComponentType } from '../config/deployment.js';
import { DiagnosticError, didYouMean, error } from '../diagnostics/index.js';
import type { ResolvedComponent } from '../resolve/index.js';
import type { SbomPackage } from '../sbom/model.js';
import type { Step, StepResult } from '../steps/types.js';

export interface RunOptions {
  /** Seconds to wait for a held lock (Terraform state, run lock) before giving up. */
  lockTimeoutSeconds: number;
  /** Skip the cache for every step. */
  noCache: boolean;
  /** Planning only (`--dry-run`): outputs() must not publish anything. */
  dryRun?: boolean;
  /** `--skip-push`: build images into the local store only. */
  skipPush?: boolean;
  /** Seconds since the epoch for reproducible artifacts: SOURCE_DATE_EPOCH, else the commit time. */
  sourceDateEpoch?: number;
  /** The commit being built or rolled out (recorded in image annotations). */
  revision?: string;
  /** Seconds a registry request may take (atmos.yaml `deployments.registry.timeout`). */
  registryTimeoutSeconds?: number;
  /** `plan --out <dir>`: where each component's plan is stored (absolute). */
  planOut?: string;
  /** `rollout --from-plan <dir>`: the stored plans to apply, each checked first (absolute). */
  fromPlan?: string;
  /** `test --command <cmd>`: the shell command (`sh -c`) every test step runs instead of its component's test command. */
  testCommand?: string;
  /** `build --tag <tag>` (repeatable): further tags of each built image (local store, and the registry when pushed). */
  extraTags?: string[];
}

export interface ModuleContext<I = unknown> {
  /** Validated inputs of this module (from the stage or a deployment `steps:` entry). */
  inputs: I;
  deployment: string;
  target: string;
  pipeline: string;
  runId: string;
  component: ResolvedComponent;
  /** Outputs of a finished dependency component (e.g. Terraform outputs), by address. */
  outputsOf(address: string): Record<string, unknown> | undefined;
  /** Put files into the content store (artifacts for step inputs). */
  cas: Cas;
  repoRoot: string;
  /** `deployments.cache_dir` (absolute). */
  cacheDir: string;
  /** Pinned tools from atmos.yaml (`deployments.tools`). */
  tools: { terraform: { command: string; version?: string; image?: string } };
  options: RunOptions;
  /** `<pipeline>:<address>:<name>`: the conventional step id. */
  stepId(name: string): string;
  /** Tell the user something in one line (a `notice` event), e.g. that a corrupt cached object was evicted. */
  notice?(message: string): void;
}

export interface ModuleDefinition<I = unknown> {
  name: string;
  description?: string;
  inputs: z.ZodType<I>;
  /** Steps for one component; `needs` may only name steps returned here (the runner links components). */
  steps(ctx: ModuleContext<I>): Step[] | Promise<Step[]>;
  /**
   * After the component's steps finished: what dependents may read through
   * `outputsOf()` / `{{ terraform.<c>.outputs.<o> }}` (e.g. parsed `terraform output -json`).
   */
  outputs?(results: StepResult[], ctx: ModuleContext<I>): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * After the component's steps finished: the outputs that may be recorded in Git with the
   * deployment (history record), never a sensitive value. A later run that does not include
   * this component reads them as its outputs (`{{ terraform.<c>.outputs.<o> }}`).
   */
  recordOutputs?(results: StepResult[], ctx: ModuleContext<I>): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * Before anything of the run is written (a release) or run: a check of the component as it
   * stands (its upstream outputs as recorded), which refuses the whole run by throwing a
   * DiagnosticError (e.g. a stored plan that no longer matches: `rollout --from-plan`).
   */
  verify?(ctx: ModuleContext<I>): void | Promise<void>;
  /**
   * What `steps()` would do for the component, as printable data, without making steps or
   * touching the content store (`build --plan` prints it: nixpacks' plan JSON).
   */
  plan?(ctx: PlanContext<I>): unknown;
  /**
   * A repository's module of a built-in module's name takes its place (e.g. its own
   * `terraform.apply`); without it, that name is an error, so nothing is replaced by accident.
   */
  replaces?: boolean;
  /**
   * A component type this module provides (see {@link ComponentTypeDefinition}): the module
   * then expands every component of that type.
   */
  componentType?: ComponentTypeDefinition;
}

/**
 * A component type declared by a module (SPEC 8): `components.<name>.<component>` becomes
 * valid in a deployment (metadata, `vars` checked with {@link vars}, settings); the module's
 * `steps()` and `outputs()` are called for each such component in the pipelines that build
 * artifacts ({@link PipelineDefinition.buildsArtifacts}), and another component binds an output with
 * `{{ <name>.<component>.<output> }}`, which orders it after this one. An output whose value
 * is a `FileOutput` (`{ kind: 'file', digest, name }`, the file in the content store) is bound
 * as a path the consumer's steps can read.
 */
export interface ComponentTypeDefinition {
  /** The key under `components:` (lowercase kebab-case; not a built-in type nor a template root). */
  name: string;
  description?: string;
  /** Schema of a component's `vars` as written (a template is a string); must not transform values. */
  vars: z.ZodType;
  /** The outputs a template may name, each with what it is. */
  outputs: Record<string, string>;
  /**
   * The var naming the directory a component is built from (relative to the repository's base
   * path), if any: resolution checks it is a directory inside the repository (out of the
   * modules, the cache and `.git`; located, exit 2) and sets `component.sourceDir`, and a
   * rollout refuses it modified as it refuses any other input.
   */
  source?: string;
  /**
   * What a component of this type contains, for the deployment's SBOM (`sbom`, releases):
   * packages (CycloneDX components) under the component's root, given what the component's
   * last build produced (its outputs; undefined before one). None without it.
   */
  sbom?(ctx: PlanContext, built: Record<string, unknown> | undefined): ContributedPackage[] | Promise<ContributedPackage[]>;
}

/** A package a component type contributes to the SBOM (a CycloneDX component; `bomRef` defaults to `<address>/<name>`). */
export type ContributedPackage = Omit<SbomPackage, 'bomRef'> & { bomRef?: string };

/** What planning may read: the component, its inputs and the repository (no store, no run). */
export type PlanContext<I = unknown> = Pick<ModuleContext<I>, 'inputs' | 'component' | 'repoRoot'>;

/** Names a component type may not take: the built-in types and the roots of deployment templates. */
const RESERVED_TYPES = ['terraform', 'nixpack', 'git', 'deployment', 'target'];

export function defineModule<I>(def: ModuleDefinition<I>): ModuleDefinition<I> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/.test(def.name)) throw new Error(`module name "${def.name}" must look like "terraform" or "smoke-test"`);
  const type = def.componentType?.name;
  if (type !== undefined && (!/^[a-z][a-z0-9-]*$/.test(type) || RESERVED_TYPES.includes(type)))
    throw new Error(`module "${def.name}": component type "${type}" must be kebab-case and none of ${RESERVED_TYPES.join(', ')}`);
  return Object.freeze({ ...def });
}

/**
 * A module named, not imported: what a pipeline writes to use a registered module
 * (`useModule('terraform.apply')`), so that a pipeline depends on this API alone. The run
 * binds it to the module of that name in its registry (the built-in modules, and the
 * repository's own) before anything runs.
 */
export interface ModuleRef {
  readonly name: string;
  readonly ref: 'module';
}

export function useModule(name: string): ModuleRef {
  return Object.freeze({ name, ref: 'module' as const });
}

/** A module of any input type, as registries and stages hold them (each validates its own inputs). */
export type AnyModule = ModuleDefinition<unknown>;

/** Modules by name: what {@link bindPipeline} looks names up in. */
export type ModuleRegistry = ReadonlyMap<string, AnyModule>;

/** A registry of the given modules; two modules of one name are a programming error. */
export function moduleRegistry(...modules: AnyModule[]): ModuleRegistry {
  const byName = new Map<string, AnyModule>();
  for (const m of modules) {
    if (byName.has(m.name)) throw new Error(`two modules are named "${m.name}"`);
    byName.set(m.name, m);
  }
  return byName;
}

function isModuleRef(m: AnyModule | ModuleRef): m is ModuleRef {
  return (m as ModuleRef).ref === 'module';
}

/**
 * The component types of a registry's modules, by type name, with the module declaring each;
 * two modules declaring one type are a programming error.
 */
export function componentTypesOf(registry: ModuleRegistry | undefined): Map<string, AnyModule & { componentType: ComponentTypeDefinition }> {
  const out = new Map<string, AnyModule & { componentType: ComponentTypeDefinition }>();
  for (const m of registry?.values() ?? []) {
    const t = m.componentType;
    if (!t) continue;
    const other = out.get(t.name);
    if (other) throw new Error(`modules "${other.name}" and "${m.name}" both declare the component type "${t.name}"`);
    out.set(t.name, { ...m, componentType: t });
  }
  return out;
}

/** What loading and resolving a deployment need of a registry's component types (src/config knows no module). */
export function declaredComponentTypes(registry: ModuleRegistry | undefined): DeclaredComponentType[] {
  return [...componentTypesOf(registry).values()].map((m) => {
    const t = m.componentType;
    return { name: t.name, module: m.name, vars: t.vars, outputs: Object.keys(t.outputs), ...(t.source ? { source: t.source } : {}) };
  });
}

/**
 * The bound pipeline with, when it builds artifacts and the registry declares component types,
 * the `artifact` stage first: one module standing for every declared type, applying to their
 * components only.
 */
export function withComponentTypes(pipeline: BoundPipeline, registry: ModuleRegistry | undefined): BoundPipeline {
  const types = componentTypesOf(registry);
  if (!pipeline.buildsArtifacts || types.size === 0) return pipeline;
  return { ...pipeline, stages: [{ name: 'artifact', module: componentTypesModule(types), appliesTo: (c) => types.has(c.type) }, ...pipeline.stages] };
}

/**
 * One module standing for every component type of the registry: each call goes to the module
 * declaring the component's type, with that module's own inputs validated by its schema.
 */
function componentTypesModule(types: ReturnType<typeof componentTypesOf>): AnyModule {
  const of = (c: ResolvedComponent): AnyModule => {
    const m = types.get(c.type);
    if (!m) throw new Error(`${c.address}: no registered module declares the component type "${c.type}"`);
    return m;
  };
  const own = <C extends { component: ResolvedComponent; inputs: unknown }>(ctx: C): C => ({ ...ctx, inputs: of(ctx.component).inputs.parse(ctx.inputs ?? {}) });
  return {
    name: 'component-types',
    description: `the modules declaring component types (${[...types.keys()].join(', ') || 'none'})`,
    inputs: z.unknown(),
    steps: (ctx) => of(ctx.component).steps(own(ctx)),
    async outputs(results, ctx) {
      const out = (await of(ctx.component).outputs?.(results, own(ctx))) ?? {};
      // What describe shows until the next build (a dry run records nothing).
      if (!ctx.options.dryRun) writeArtifactStore(ctx.cacheDir, ctx.deployment, ctx.component.address, out);
      return out;
    },
    plan: (ctx) => of(ctx.component).plan?.(own(ctx)),
  };
}

/** A stage whose module is bound (see {@link bindPipeline}). */
export type BoundStage = Stage & { module: AnyModule };

/** A pipeline whose stages are all bound to module definitions. */
export type BoundPipeline = Omit<PipelineDefinition, 'stages'> & { stages: BoundStage[] };

/**
 * The pipeline with every `useModule(name)` replaced by the registered module of that name;
 * an unknown name is a configuration error (exit 2) that lists the registered ones.
 */
export function bindPipeline(pipeline: PipelineDefinition, registry: ModuleRegistry | undefined): BoundPipeline {
  const stages = pipeline.stages.map((stage): BoundStage => {
    if (!isModuleRef(stage.module)) return stage as BoundStage;
    const module = registry?.get(stage.module.name);
    if (module) return { ...stage, module };
    const known = [...(registry?.keys() ?? [])];
    const guess = didYouMean(stage.module.name, known);
    throw new DiagnosticError(
      error(
        'pipeline/unknown-module',
        `pipeline "${pipeline.name}", stage "${stage.name}": no module named "${stage.module.name}" is registered`,
        undefined,
        `${guess ? `did you mean "${guess}"? ` : ''}(registered: ${known.length ? known.join(', ') : 'none'})`,
      ),
    );
  });
  return { ...pipeline, stages };
}

export interface Stage {
  name: string;
  /** The module that expands a component in this stage: a definition, or a registered one by name ({@link useModule}). */
  module: AnyModule | ModuleRef;
  /** Which components this stage applies to (default: all). */
  appliesTo?(component: ResolvedComponent): boolean;
  /** Inputs for the module (validated with its schema). */
  inputs?(component: ResolvedComponent): unknown;
}

export interface PipelineDefinition {
  name: string;
  description: string;
  stages: Stage[];
  /**
   * Whether the pipeline changes infrastructure (rollout) or only reads it (plan): a
   * mutating pipeline takes the deployment+target run lock.
   */
  mutates: boolean;
  /**
   * What the pipeline records in Git (SPEC 5.3, 6): `deployment` (a rollout: release,
   * promotion and approval checks, history and deployment refs) or `release` (the release
   * record only, after its stages). Absent: nothing (e.g. plan).
   */
  records?: 'deployment' | 'release' | 'test-results';
  /**
   * The pipeline previews a rollout of the working tree (plan): it records nothing, but says
   * before it runs when a rollout of this tree would be refused (modified inputs).
   */
  previews?: 'rollout';
  /** A repository's pipeline of a built-in pipeline's name takes its place (see {@link ModuleDefinition.replaces}). */
  replaces?: boolean;
  /**
   * The run adds, before the pipeline's own stages, an `artifact` stage that expands every
   * component of a type a registered module declares (e.g. a zip archive) with that module
   * ({@link withComponentTypes}): build, plan and rollout set it, so an artifact is built
   * (cached) before the components that bind it.
   */
  buildsArtifacts?: boolean;
}

export function definePipeline(def: PipelineDefinition): PipelineDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) throw new Error(`pipeline name "${def.name}" must be kebab-case`);
  if (def.stages.length === 0 && def.records !== 'release') throw new Error(`pipeline "${def.name}" has no stages`);
  return Object.freeze({ ...def, stages: [...def.stages] });
}
