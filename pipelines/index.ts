/**
 * The built-in pipelines (SPEC 8), by name. build, test and release join in later issues.
 */
import type { PipelineDefinition } from '../src/api/index.js';
import plan from './plan.js';
import rollout from './rollout.js';

export { plan, rollout };

export const pipelines = { rollout, plan } as const satisfies Record<string, PipelineDefinition>;
export type BuiltinPipelineName = keyof typeof pipelines;

export default pipelines;
