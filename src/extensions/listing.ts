/**
 * What `atmos-pipe modules` prints: every module and pipeline a run can use, with where it
 * comes from and, for a module, its inputs (from its schema), the component type it provides
 * and the hook keys it can be used at; and every component type with the stages a hook can
 * be placed at. Plain data for `--format json`.
 */
import { DECLARED_HOOK_STAGES, HOOK_STAGES } from '../config/deployment.js';
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
  /** The component type it provides (`components.<name>.<component>`): its vars (from the schema) and outputs. */
  componentType?: { name: string; description: string; vars: InputDoc[]; outputs: Record<string, string> };
  /**
   * Where a deployment's `steps:` can use it: every hook key of every component type
   * (`before_plan`, `after_apply`, …). Empty for the built-in modules, which are a pipeline's
   * own stages, and for a module providing a component type, which its components use.
   */
  hooks: string[];
}

/** A component type a deployment may declare components of, and the stages its hooks run around. */
export interface ComponentTypeListing {
  name: string;
  /** The module providing it; absent for the built-in types. */
  module?: string;
  /** The stages of `steps.before_<stage>` / `after_<stage>` on its components. */
  hookStages: string[];
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
  componentTypes: ComponentTypeListing[];
}

/** Every hook key: before and after each stage of each component type (declared types: `artifact`), once. */
const HOOK_KEYS = [...new Set([...Object.values(HOOK_STAGES).flat(), ...DECLARED_HOOK_STAGES])].flatMap((s) => [`before_${s}`, `after_${s}`]);

const ORDER = { builtin: 0, repository: 1, vendored: 2 } as const;

/** Built-in first, then the repository's, then vendored; by name within each. */
function byOrigin<T extends { origin: ExtensionOrigin }>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => ORDER[a.origin.kind] - ORDER[b.origin.kind] || key(a).localeCompare(key(b));
}

export function listExtensions(ext: Extensions): ExtensionsListing {
  const modules: ModuleListing[] = [...ext.modules].map(([uses, m]) => {
    const origin = ext.origins.get(uses) ?? { kind: 'builtin', digest: '' };
    const t = m.componentType;
    return {
      uses,
      name: m.name,
      description: m.description ?? '',
      origin,
      inputs: describeInputs(m.inputs),
      ...(t ? { componentType: { name: t.name, description: t.description ?? '', vars: describeInputs(t.vars), outputs: t.outputs } } : {}),
      hooks: origin.kind === 'builtin' || t ? [] : HOOK_KEYS,
    };
  });
  const componentTypes: ComponentTypeListing[] = [
    ...Object.entries(HOOK_STAGES).map(([name, stages]) => ({ name, hookStages: [...stages] })),
    ...modules.flatMap((m) => (m.componentType ? [{ name: m.componentType.name, module: m.uses, hookStages: [...DECLARED_HOOK_STAGES] }] : [])),
  ];
  const pipelines: PipelineListing[] = Object.values(ext.pipelines).map((p) => ({
    name: p.name,
    description: p.description,
    origin: ext.pipelineOrigins.get(p.name) ?? { kind: 'builtin', digest: '' },
    stages: p.stages.map((s) => ({ name: s.name, module: s.module.name })),
  }));
  return { modules: modules.sort(byOrigin((m) => m.uses)), pipelines: pipelines.sort(byOrigin((p) => p.name)), componentTypes };
}
