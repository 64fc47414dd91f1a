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
}

export function defineModule<I>(def: ModuleDefinition<I>): ModuleDefinition<I> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/.test(def.name)) throw new Error(`module name "${def.name}" must look like "terraform" or "smoke-test"`);
  return Object.freeze({ ...def });
}

export interface Stage {
  name: string;
  /** The module that expands a component in this stage. */
  module: ModuleDefinition<any>;
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
}

export function definePipeline(def: PipelineDefinition): PipelineDefinition {
  if (!/^[a-z][a-z0-9-]*$/.test(def.name)) throw new Error(`pipeline name "${def.name}" must be kebab-case`);
  if (def.stages.length === 0 && def.records !== 'release') throw new Error(`pipeline "${def.name}" has no stages`);
  return Object.freeze({ ...def, stages: [...def.stages] });
}
