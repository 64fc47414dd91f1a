/**
 * Backend defaults (SPEC 3.3): a Terraform component's backend is the stacks' one, else
 * local state under the cache directory (`.atmos/state/<deployment>/<target>/<name>.tfstate`).
 * Local state the stacks configure stays inside the repository and out of the modules, the
 * stacks, the deployment files, the sources and `.git`: generated files never land there.
 */
import path from 'node:path';
import type { DiagnosticBag } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { containmentProblem } from '../config/paths.js';
import { locOf } from '../yaml/index.js';
import type { StackedComponent } from './stack-config.js';

/** A directory generated files must never be written into, named for the message. */
export interface ProtectedDir {
  dir: string;
  name: string;
}

/** The Terraform modules, the stacks, the deployment files, `.git` and every nixpack source. */
export function protectedDirs(cfg: AtmosConfig, dep: DeploymentConfig): { modules: ProtectedDir; git: ProtectedDir; all: ProtectedDir[] } {
  const modules = { dir: cfg.terraformBasePath, name: 'the Terraform modules' };
  const git = { dir: path.join(cfg.repoRoot, '.git'), name: 'the Git directory' };
  const sources = Object.entries(dep.body.components?.nixpack ?? {}).map(([n, c]) => ({ dir: path.resolve(cfg.basePath, c.vars.source), name: `the source of nixpack/${n}` }));
  return { modules, git, all: [modules, { dir: cfg.stacksBasePath, name: 'the stacks' }, { dir: cfg.deploymentsBasePath, name: 'the deployment files' }, git, ...sources] };
}

/** The backend of a Terraform component, its local state checked against the protected directories. */
export function backendOf(
  cfg: AtmosConfig,
  dep: DeploymentConfig,
  target: string,
  t: StackedComponent,
  forbidden: ProtectedDir[],
  bag: DiagnosticBag,
): { backend_type: string; backend: Record<string, unknown> } {
  let backendType = t.stackComp.backend_type ?? null;
  let backend = { ...(t.stackComp.backend ?? {}) } as Record<string, unknown>;
  const defaultState = path
    .relative(cfg.repoRoot, path.join(cfg.cacheDir, 'state', dep.name, target, `${t.name}.tfstate`))
    .split(path.sep)
    .join('/');
  if (!backendType) {
    backendType = 'local';
    backend = { path: defaultState };
  } else if (backendType === 'local' && backend.path === undefined) {
    backend = { ...backend, path: defaultState };
  }
  if (backendType === 'local') {
    // The default, under the cache dir, is ours; what the stacks set is checked.
    for (const key of ['path', 'workspace_dir']) {
      const v = t.stackComp.backend?.[key];
      if (typeof v !== 'string') continue;
      const d = containmentProblem(cfg.repoRoot, v, {
        what: `terraform component "${t.name}": local backend ${key}`,
        location: locOf(t.stackComp.backend, key) ?? t.location,
        forbidden,
        hint: `leave it unset: state then lives in ${defaultState}, inside the repository and ignored by Git`,
      });
      if (d) bag.add(d);
    }
  }
  return { backend_type: backendType, backend };
}
