/**
 * atmos-pipe library API (`atmos-pipe`). The CLI is a thin layer over these functions; data
 * flows one way: load → resolve → graph → steps → engine → record. What module and pipeline
 * authors import is `atmos-pipe/module` (src/module).
 */
export { openRepository, loadDeployment, loadDeploymentAt, resolve, defaultTarget, type Repository } from './repository.js';
export * from './diagnostics/index.js';
export { readImageStore } from './cache/images.js';
export type { AtmosConfig, LoadAtmosOptions } from './config/atmos.js';
export { loadAtmosConfig } from './config/atmos.js';
export type { DeploymentConfig, DeploymentBody, TargetConfig } from './config/deployment.js';
export { listDeploymentFiles, findDeploymentFile, loadDeploymentFile, checkTargetArg } from './config/deployment.js';
export { YamlFileCache } from './config/files.js';
export { parseContextOverrides, withContextOverrides } from './config/context-overrides.js';
export type { ResolvedDeployment, ResolvedComponent, ResolveOptions, BuiltImage, DeferredValue, Upstream } from './resolve/index.js';
export { resolveDeployment, resolutionCount, substitute, scopeWith, withImages } from './resolve/index.js';
export { buildComponentGraph, componentGraph, withDependencies, type ComponentGraph, type DependencyEdge } from './graph/index.js';
export { renderGraph, graphJson, GRAPH_FORMATS, type GraphFormat } from './graph/render.js';
export { describe, provenanceOf, type Description, type DescribedComponent } from './describe/index.js';
export { matrix, matrixByWave } from './ci/matrix.js';
export { detectCi, type CiProvider, type CiProviderId } from './ci/provider.js';
export { generateCi, defaultCiFile, type CiKind, type GenerateCiOptions } from './ci/generate.js';
export { affected, affectedMatrix, type AffectedComponent, type AffectedOptions, type AffectedReason, type AffectedResult } from './affected/index.js';
export { promotionGraph, renderPromotionAscii, type PromotionGraph } from './promotion/graph.js';
export { validateDeployments, type ValidationResult } from './validate/index.js';
export { deepMerge, mergeAll, type ListMergeStrategy } from './stacks/merge.js';
export { parseYaml, locOf } from './yaml/index.js';

// Run (SPEC 4, 5): a pipeline over one target; a tracked rollout (release, promotion and
// approval checks, history in Git); releases and approvals.
export { runPipeline, dryRunPipeline, type RunRequest, type RunSummary, type DryRunSummary } from './run/index.js';
export { runPipelineRequest, type PipelineRunRequest, type PipelineRunResult } from './run/pipeline-run.js';
export { rollout, type RolloutRequest, type RolloutSummary } from './rollout/index.js';
export { approve, type ApproveRequest, type ApproveResult } from './rollout/approve.js';
export { makeRelease, release, checkReleaseIdArg, type PendingRelease, type ReleaseResult } from './release/create.js';
export { readHistory, readStatus, type HistoryEntry, type StatusEntry } from './tracking/index.js';
