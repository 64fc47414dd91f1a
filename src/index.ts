/**
 * atmos-pipe library API. The CLI is a thin layer over these functions; data flows one
 * way: load → resolve → graph → steps → engine → record.
 */
import { loadAtmosConfig, type AtmosConfig, type LoadAtmosOptions } from './config/atmos.js';
import { findDeploymentFile, loadDeploymentFile, type DeploymentConfig } from './config/deployment.js';
import { YamlFileCache } from './config/files.js';
import { resolveWithImageStore, type ResolveOptions, type ResolvedDeployment } from './resolve/index.js';

export * from './diagnostics/index.js';
export { readImageStore } from './cache/images.js';
export type { AtmosConfig, LoadAtmosOptions } from './config/atmos.js';
export { loadAtmosConfig } from './config/atmos.js';
export type { DeploymentConfig, DeploymentBody, TargetConfig } from './config/deployment.js';
export { listDeploymentFiles, findDeploymentFile, loadDeploymentFile, checkTargetArg } from './config/deployment.js';
export { YamlFileCache } from './config/files.js';
export type { ResolvedDeployment, ResolvedComponent, ResolveOptions, BuiltImage, DeferredValue, Upstream } from './resolve/index.js';
export { resolveDeployment, resolutionCount, substitute, scopeWith, withImages } from './resolve/index.js';
export { buildComponentGraph, componentGraph, withDependencies, type ComponentGraph, type DependencyEdge } from './graph/index.js';
export { renderGraph, graphJson, GRAPH_FORMATS, type GraphFormat } from './graph/render.js';
export { describe, provenanceOf, type Description, type DescribedComponent } from './describe/index.js';
export { matrix, matrixByWave } from './ci/matrix.js';
export { promotionGraph, renderPromotionAscii, type PromotionGraph } from './promotion/graph.js';
export { validateDeployments, type ValidationResult } from './validate/index.js';
export { deepMerge, mergeAll, type ListMergeStrategy } from './stacks/merge.js';
export { parseYaml, locOf } from './yaml/index.js';

/** A repository opened for reading: settings plus a shared parse cache. */
export interface Repository {
  config: AtmosConfig;
  files: YamlFileCache;
}

export function openRepository(opts: LoadAtmosOptions = {}): Repository {
  const config = loadAtmosConfig(opts);
  return { config, files: opts.files ?? new YamlFileCache(config.repoRoot) };
}

/** Find and validate a deployment (the only one when `name` is omitted). */
export function loadDeployment(repo: Repository, name?: string): DeploymentConfig {
  const f = findDeploymentFile(repo.config, name);
  return loadDeploymentFile(repo.config, f.abs, repo.files);
}

/**
 * Resolve a deployment for a target: stacks, vars, templates, bindings, each component's
 * dependencies and wave (plain data; {@link buildComponentGraph} makes the graph of it).
 * Images built earlier (the local store) are bound unless the caller pins them.
 */
export function resolve(repo: Repository, dep: DeploymentConfig, target: string, opts: Omit<ResolveOptions, 'files'> = {}): Promise<ResolvedDeployment> {
  return resolveWithImageStore(repo.config, dep, target, { ...opts, files: repo.files });
}

/** Pick the target: the given one, else `context.default_target`, else the only target. */
export function defaultTarget(dep: DeploymentConfig): string | undefined {
  const names = Object.keys(dep.body.targets);
  return dep.body.context?.default_target ?? (names.length === 1 ? names[0] : undefined);
}
