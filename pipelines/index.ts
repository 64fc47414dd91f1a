/**
 * The built-in pipelines (SPEC 8), by name. build and test join in later issues.
 */
import type { PipelineDefinition } from '../src/api/index.js';
import plan from './plan.js';
import release from './release.js';
import rollout from './rollout.js';

export { plan, release, rollout };

export const pipelines = { rollout, plan, release } as const satisfies Record<string, PipelineDefinition>;
export type BuiltinPipelineName = keyof typeof pipelines;

export default pipelines;
