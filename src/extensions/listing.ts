/**
 * What `atmos-pipe modules` prints: every module and pipeline a run can use, with where it
 * comes from and, for a module, its inputs (from its schema). Plain data for `--format json`.
 */
import type { ExtensionOrigin } from './exports.js';
import type { Extensions } from './index.js';
import { describeInputs, type InputDoc } from './inputs.js';

export interface ModuleListing {
  /** What a pipeline's `useModule(…)` or a `uses:` names: the module's name, or its remote source. */
  uses: string;
  name: string;
  description: string;
  origin: ExtensionOrigin;
  inputs: InputDoc[];
}

export interface PipelineListing {
  name: string;
  description: string;
  origin: ExtensionOrigin;
  /** Stage names with the module each uses. */
  stages: { name: string; module: string }[];
}

export interface ExtensionsListing {
  modules: ModuleListing[];
  pipelines: PipelineListing[];
}

const ORDER = { builtin: 0, repository: 1, vendored: 2 } as const;

/** Built-in first, then the repository's, then vendored; by name within each. */
function byOrigin<T extends { origin: ExtensionOrigin }>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => ORDER[a.origin.kind] - ORDER[b.origin.kind] || key(a).localeCompare(key(b));
}

export function listExtensions(ext: Extensions): ExtensionsListing {
  const modules: ModuleListing[] = [...ext.modules].map(([uses, m]) => ({
    uses,
    name: m.name,
    description: m.description ?? '',
    origin: ext.origins.get(uses) ?? { kind: 'builtin', digest: '' },
    inputs: describeInputs(m.inputs),
  }));
  const pipelines: PipelineListing[] = Object.values(ext.pipelines).map((p) => ({
    name: p.name,
    description: p.description,
    origin: ext.pipelineOrigins.get(p.name) ?? { kind: 'builtin', digest: '' },
    stages: p.stages.map((s) => ({ name: s.name, module: s.module.name })),
  }));
  return { modules: modules.sort(byOrigin((m) => m.uses)), pipelines: pipelines.sort(byOrigin((p) => p.name)) };
}
