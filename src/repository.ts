/**
 * A repository opened for reading, and the first two stages over it: load (settings, a
 * deployment) and resolve. Apart from the library entry (index.ts) so that the library's own
 * stages import these without importing the entry, which re-exports them (no import cycle).
 */
import { loadAtmosConfig, type AtmosConfig, type LoadAtmosOptions } from './config/atmos.js';
import { findDeploymentFile, loadDeploymentFile, type DeploymentConfig } from './config/deployment.js';
import { YamlFileCache } from './config/files.js';
import { declaredComponentTypes, type ModuleRegistry } from './module/define.js';
import { resolveWithImageStore, type ResolveOptions, type ResolvedDeployment } from './resolve/index.js';

/** A repository opened for reading: settings plus a shared parse cache. */
export interface Repository {
  config: AtmosConfig;
  files: YamlFileCache;
  /**
   * The modules its deployments may use (the built-in ones and the repository's own, as the
   * caller loaded them): the component types they declare are valid under `components:`.
   * Absent: terraform and nixpack components only.
   */
  modules?: ModuleRegistry;
}

export function openRepository(opts: LoadAtmosOptions & { modules?: ModuleRegistry } = {}): Repository {
  const config = loadAtmosConfig(opts);
  return { config, files: opts.files ?? new YamlFileCache(config.repoRoot), ...(opts.modules ? { modules: opts.modules } : {}) };
}

/** Find and validate a deployment (the only one when `name` is omitted), with the component types of the repository's modules. */
export function loadDeployment(repo: Repository, name?: string): DeploymentConfig {
  return loadDeploymentAt(repo, findDeploymentFile(repo.config, name).abs);
}

/** Validate the deployment file at `abs` (absolute), with the component types of the repository's modules. */
export function loadDeploymentAt(repo: Repository, abs: string): DeploymentConfig {
  return loadDeploymentFile(repo.config, abs, repo.files, declaredComponentTypes(repo.modules));
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
