/**
 * `atmos-pipe/module`: everything a module or pipeline author needs (SPEC 8). The built-in
 * modules (`modules/`) and pipelines (`pipelines/`) import only this entry, exactly as a
 * user's own module would:
 *
 * ```ts
 * import { defineModule, type Step } from 'atmos-pipe/module';
 * export const smoke = defineModule({ name: 'smoke-test', inputs: z.object({}), steps: (ctx) => [...] });
 * ```
 *
 * - Defining: {@link defineModule}, {@link definePipeline}, the context a module receives
 *   ({@link ModuleContext}) and a pipeline's {@link Stage}s.
 * - Steps are data: {@link Step} and its parts, including the capabilities a step may require
 *   of the engine (`Step.requires`) and its tool caches (`Step.caches`); never an engine name.
 * - Services over the context: sealed values, secrets, the image store (services.ts).
 * - Helpers: located diagnostics, sha256, atomic writes, the component's declared secrets as
 *   step fields.
 * - Domain libraries the built-in modules share with the rest of atmos-pipe, exported here
 *   rather than copied into `modules/` because src/ (e.g. the SBOM of a nixpack image) uses
 *   them too and src/ never imports `modules/`: the nixpack planner and build context, and the
 *   OCI image library (loaded on demand: {@link loadOci}).
 */
export {
  type AnyModule,
  bindPipeline,
  defineModule,
  definePipeline,
  moduleRegistry,
  useModule,
  withComponentTypes,
  type BoundPipeline,
  type ComponentTypeDefinition,
  type ContributedPackage,
  type BoundStage,
  type ModuleContext,
  type ModuleDefinition,
  type ModuleRef,
  type ModuleRegistry,
  type PipelineDefinition,
  type PlanContext,
  type RunOptions,
  type Stage,
} from './define.js';
export { holdsSecret, keepSecret, openSensitive, openValue, recordImage, stepSecretValue } from './services.js';
export { fileFact, pgIdentifier, readFact } from '../steps/facts.js';
export {
  fromWorkspace,
  isOutputRef,
  type Artifact,
  type Capability,
  type FactSource,
  type PostgresFact,
  type HostTool,
  type Step,
  type StepCache,
  type StepInput,
  type StepMount,
  type StepOutputRef,
  type StepRequirement,
  type StepResult,
  type StepStatus,
} from '../steps/types.js';
export { sha256 } from '../steps/fingerprint.js';
export { DiagnosticError, error, warning, type Diagnostic, type Location } from '../diagnostics/index.js';
export { writeFileAtomic } from '../cache/cas.js';
export type { Cas } from '../cache/cas.js';
export type { ResolvedComponent } from '../resolve/index.js';
export type { FileOutputValue as FileOutput } from '../resolve/templates.js';
export { stepSecrets, type Credentials } from '../secrets/index.js';
export { buildContext } from '../nixpack/context.js';
export { imageContent, makePlan, testCommand, type BuildPlan, type NixpackVars } from '../nixpack/plan.js';
export { DOCKERFILE } from '../nixpack/providers/dockerfile.js';
export type { BuiltOciImage, LayerEntry } from '../oci/index.js';

/**
 * The OCI image library (assemble, store in a layout, read archives, push), imported on first
 * use: building an image is the only thing that needs it, and commands that build nothing
 * start faster without it.
 */
export function loadOci(): Promise<typeof import('../oci/index.js')> {
  return import('../oci/index.js');
}
