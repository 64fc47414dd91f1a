/**
 * `defineModule` and `definePipeline` (SPEC 8), the core of the public module API that
 * `atmos-pipe/module` (index.ts) exports.
 *
 * A module turns one component into steps (data). It is called just in time: when the
 * component's dependencies have finished, so `ctx.component` already has their outputs in
 * its vars and `ctx.outputsOf()` returns them.
 */
import type { z } from 'zod';
import type { Cas } from '../cache/cas.js';
import { DiagnosticError, didYouMean, error } from '../diagnostics/index.js';
import type { ResolvedComponent } from '../resolve/index.js';
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
}

/** What planning may read: the component, its inputs and the repository (no store, no run). */
export type PlanContext<I = unknown> = Pick<ModuleContext<I>, 'inputs' | 'component' | 'repoRoot'>;

export function defineModule<I>(def: ModuleDefinition<I>): ModuleDefinition<I> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/.test(def.name)) throw new Error(`module name "${def.name}" must look like "terraform" or "smoke-test"`);
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
}

export function definePipeline(def: PipelineDefinition): PipelineDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) throw new Error(`pipeline name "${def.name}" must be kebab-case`);
  if (def.stages.length === 0 && def.records !== 'release') throw new Error(`pipeline "${def.name}" has no stages`);
  return Object.freeze({ ...def, stages: [...def.stages] });
}
