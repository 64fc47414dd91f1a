/**
 * The built-in pipelines (SPEC 8), by name.
 */
import type { PipelineDefinition } from 'atmos-pipe/module';
import build from './build.js';
import drift from './drift.js';
import plan from './plan.js';
import release from './release.js';
import rollout from './rollout.js';
import test from './test.js';

// `drift` is not a pipeline `run` offers: `status --check-drift` runs it.
export { build, drift, plan, release, rollout, test };

export const pipelines = { rollout, plan, release, build, test } as const satisfies Record<string, PipelineDefinition>;
export type BuiltinPipelineName = keyof typeof pipelines;

export default pipelines;
