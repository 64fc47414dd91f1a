/**
 * The deployments the dashboard shows, loaded once when it starts: name, labels, targets,
 * promotion graph (src/promotion/graph.ts) and the configuration paths `diff` compares.
 */
import path from 'node:path';
import { listDeploymentFiles } from '../config/deployment.js';
import { promotionGraph } from '../promotion/graph.js';
import { loadDeploymentAt, type Repository } from '../repository.js';
import type { UiDeployment } from './data.js';

export function uiDeployments(repo: Repository): UiDeployment[] {
  const root = repo.config.repoRoot;
  const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/') || '.';
  return listDeploymentFiles(repo.config).map((f) => {
    const dep = loadDeploymentAt(repo, f.abs);
    return {
      name: dep.name,
      description: dep.body.description ?? '',
      labels: (dep.body.labels ?? {}) as Record<string, string>,
      targets: Object.keys(dep.body.targets),
      graph: promotionGraph(dep),
      configPaths: [...new Set([dep.abs, ...(repo.config.configFile ? [repo.config.configFile] : []), repo.config.stacksBasePath, repo.config.terraformBasePath].map(rel))],
    };
  });
}
