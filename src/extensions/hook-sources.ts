/**
 * The module sources the deployments' step hooks name (`uses: git::…//modules/x?ref=v1`, a
 * local path) rather than a module's name: fetched, pinned and loaded with the repository's
 * modules (src/extensions/index.ts), so a hook meets its module by the same `uses:` string and
 * `atmos-pipe modules` pins and lists them like a pipeline's `useModule(<source>)`.
 *
 * Read from the deployment files as YAML (not through the deployment schema, which needs the
 * modules for its component types); a file without a `uses:` line that names a source is not
 * parsed at all. A file that does not parse is skipped: loading the deployment reports it,
 * located.
 */
import { readFileSync } from 'node:fs';
import { listDeploymentFiles } from '../config/deployment-files.js';
import { deploymentBodyOf } from '../config/short-form.js';
import type { Location } from '../diagnostics/index.js';
import type { Repository } from '../repository.js';
import { isPlainMap, locOf } from '../yaml/index.js';
import { isModuleName } from './exports.js';

/** A `uses:` line whose value is not a module name (the cheap test before parsing a file). */
function namesSource(text: string): boolean {
  for (const m of text.matchAll(/^[\s-]*uses:[ \t]*(\S[^#\n]*)/gm)) {
    if (!isModuleName(m[1].trim().replace(/^(["'])(.*)\1$/, '$2'))) return true;
  }
  return false;
}

/** The `steps:` sections of a deployment document: the deployment's, each target's, each component's. */
function stepSections(deployment: Record<string, unknown>): unknown[] {
  const of = (section: unknown) => (isPlainMap(section) ? Object.values(section) : []);
  return [
    deployment.steps,
    ...of(deployment.targets).map((t) => (isPlainMap(t) ? t.steps : undefined)),
    ...of(deployment.components).flatMap((byName) => of(byName).map((c) => (isPlainMap(c) ? c.steps : undefined))),
  ];
}

/** Every hook source of the repository's deployment files, with where it is first written. */
export function hookSources(repo: Repository): Map<string, Location> {
  const found = new Map<string, Location>();
  for (const f of listDeploymentFiles(repo.config)) {
    if (!namesSource(readFileSync(f.abs, 'utf8'))) continue;
    const doc = repo.files.load(f.abs);
    const deployment = deploymentBodyOf(doc.value); // either form (src/config/short-form.ts)
    if (doc.diagnostics.length || !isPlainMap(deployment)) continue;
    for (const steps of stepSections(deployment)) {
      for (const list of isPlainMap(steps) ? Object.values(steps) : []) {
        for (const entry of Array.isArray(list) ? list : []) {
          const uses = isPlainMap(entry) ? entry.uses : undefined;
          if (typeof uses !== 'string' || isModuleName(uses) || found.has(uses)) continue;
          found.set(uses, locOf(entry, 'uses') ?? { file: doc.file, line: 1, col: 1 });
        }
      }
    }
  }
  return found;
}
