/**
 * Finding deployment files by name (SPEC 3 names), without loading the schema: the read
 * commands (status, history, releases) need only this.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, choicesHint, error } from '../diagnostics/index.js';
import type { AtmosConfig } from './atmos.js';
import { displayPath } from './files.js';
import { checkKebabName } from './names.js';

/** Deployment files under `deployments.base_path` (`<name>.yaml` / `.yml`), sorted by name. */
export function listDeploymentFiles(cfg: AtmosConfig): { name: string; abs: string }[] {
  const dir = cfg.deploymentsBasePath;
  if (!existsSync(dir)) return [];
  const out: { name: string; abs: string }[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (!ent.isFile()) continue;
    const m = /^(.*)\.ya?ml$/.exec(ent.name);
    if (m) out.push({ name: m[1], abs: path.join(dir, ent.name) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Check a deployment name given on the command line before any file is read, then find
 * its file. With no name, the repository must hold exactly one deployment.
 */
export function findDeploymentFile(cfg: AtmosConfig, name: string | undefined): { name: string; abs: string } {
  if (name !== undefined) {
    const problem = checkKebabName(name);
    if (problem) {
      throw new DiagnosticError(error('args/deployment-name', `invalid deployment name "${name}": ${problem}`, undefined, 'deployment names look like "payment-service"'));
    }
  }
  const all = listDeploymentFiles(cfg);
  const rel = displayPath(cfg.repoRoot, cfg.deploymentsBasePath);
  if (name === undefined) {
    if (all.length === 1) return all[0];
    if (all.length === 0) {
      // No `init` command exists yet (issue 13 item 7): the hint shows the smallest deployment file.
      throw new DiagnosticError(
        error(
          'args/no-deployments',
          `no deployment files found in ${rel}/`,
          undefined,
          `run \`atmos-pipe init\` (or \`atmos-pipe migrate --from-stack <stack> --name <n>\` from an Atmos stack), or create ${rel}/<name>.yaml, for example ${rel}/shop.yaml:\ndeployment:\n  name: shop\n  targets:\n    dev: {}`,
        ),
      );
    }
    throw new DiagnosticError(error('args/deployment-required', `this repository holds ${all.length} deployments; name one`, undefined, `valid values: ${all.map((d) => d.name).join(', ')}`));
  }
  const hit = all.find((d) => d.name === name);
  if (!hit) {
    throw new DiagnosticError(
      error(
        'args/unknown-deployment',
        `unknown deployment "${name}" (looked in ${rel}/)`,
        undefined,
        choicesHint(
          name,
          all.map((d) => d.name),
        ),
      ),
    );
  }
  return hit;
}
