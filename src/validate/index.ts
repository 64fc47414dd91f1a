/**
 * `validate`: every check that does not run anything (schema, names, stacks, templates,
 * promotion rules, cycles, step hooks against the registered modules), for every target of
 * one or all deployments. Problems are collected per deployment rather than thrown, so one
 * run reports everything.
 */
import type { AtmosConfig } from '../config/atmos.js';
import { findDeploymentFile, listDeploymentFiles, loadDeploymentFile, type DeploymentConfig } from '../config/deployment.js';
import type { YamlFileCache } from '../config/files.js';
import { DiagnosticError, type Diagnostic } from '../diagnostics/index.js';
import { checkHooks } from '../hooks/index.js';
import { declaredComponentTypes } from '../module/define.js';
import type { ModuleRegistry } from '../module/index.js';
import { resolveDeployment } from '../resolve/index.js';

export interface ValidationResult {
  deployment: string;
  file: string;
  ok: boolean;
  targets: string[];
  components: number;
  stacks: number;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}|${d.message}|${d.location?.file}:${d.location?.line}:${d.location?.col}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Validate one, some or all deployments; `modules`: the registered modules (the built-in ones
 * and the repository's): what step hooks' `uses:` may name, and the component types they declare.
 */
export async function validateDeployments(cfg: AtmosConfig, files: YamlFileCache, names: string[] | 'all', modules: ModuleRegistry): Promise<ValidationResult[]> {
  const types = declaredComponentTypes(modules);
  const targets = names === 'all' ? listDeploymentFiles(cfg) : names.map((n) => findDeploymentFile(cfg, n));
  const results: ValidationResult[] = [];
  for (const f of targets) {
    const r: ValidationResult = { deployment: f.name, file: f.abs, ok: true, targets: [], components: 0, stacks: 0, errors: [], warnings: [] };
    results.push(r);
    let dep: DeploymentConfig;
    try {
      dep = loadDeploymentFile(cfg, f.abs, files, types);
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      r.errors.push(...e.diagnostics);
      r.ok = false;
      continue;
    }
    r.file = dep.file;
    r.targets = Object.keys(dep.body.targets);
    const stackFiles = new Set<string>();
    for (const t of r.targets) {
      try {
        const res = await resolveDeployment(cfg, dep, t, { files });
        r.components = Math.max(r.components, res.components.length);
        for (const s of res.stacks) stackFiles.add(s);
        r.warnings.push(...res.warnings);
        r.errors.push(...checkHooks(res, modules));
      } catch (e) {
        if (!(e instanceof DiagnosticError)) throw e;
        r.errors.push(...e.diagnostics);
      }
    }
    r.stacks = stackFiles.size;
    r.errors = dedupe(r.errors);
    r.warnings = dedupe(r.warnings);
    r.ok = r.errors.length === 0;
  }
  return results;
}
