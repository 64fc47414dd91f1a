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
import type { Location } from '../diagnostics/index.js';
import { canonicalJson } from '../steps/fingerprint.js';
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

/** What names a Terraform state: the backend's type and settings, and the workspace. */
function stateKey(c: { backend_type: string | null; backend: Record<string, unknown>; workspace?: string }): string {
  return canonicalJson([c.backend_type ?? 'local', c.backend, c.workspace ?? 'default']);
}

/**
 * Two Terraform components of one target whose backend settings and workspace are the same
 * share one state: each apply would destroy what the other created. Atmos derives distinct
 * keys for s3, gcs and azurerm; a `pg` backend keeps a row per workspace in its schema, so
 * components of one stack need their own `schema_name` (the usual cause of this error).
 */
export function sharedStates(
  components: { address: string; type: string; backend_type: string | null; backend: Record<string, unknown>; workspace?: string; location: Location }[],
  bag: DiagnosticBag,
): void {
  const seen = new Map<string, string>();
  for (const c of components) {
    if (c.type !== 'terraform') continue;
    const key = stateKey(c);
    const other = seen.get(key);
    if (other === undefined) {
      seen.set(key, c.address);
      continue;
    }
    const type = c.backend_type ?? 'local';
    bag.error(
      'terraform/shared-state',
      `${c.address} and ${other} have the same ${type} backend settings and workspace (${c.workspace ?? 'default'}): they would share one Terraform state`,
      c.location,
      type === 'pg' ? `give each component its own schema: backend: { pg: { schema_name: ${c.address.split('/').pop()} } }` : 'give each component its own state (backend key, prefix or path)',
    );
  }
}
