/**
 * A Terraform component's vars, settings and env (SPEC 3 "Resolution"), in layers:
 *
 *   stack configuration (Atmos semantics, src/stacks)
 *   → the deployment's `components.terraform.<name>` sections, templates evaluated
 *   → `targets.<t>.context`, only the keys the module declares as variables (vars only)
 *
 * Image bindings come last (./bindings.ts). Templates that name another component's product
 * are recorded with where the merge put them ({@link deferredOf}), to be rendered at expansion.
 */
import type { DiagnosticBag, Location } from '../diagnostics/index.js';
import type { TerraformComponentConfig } from '../config/deployment.js';
import { mergeMapsAll, type ListMergeStrategy } from '../stacks/merge.js';
import { ensureLocs, locOf, locsOf } from '../yaml/index.js';
import type { ComponentNames } from './references.js';
import type { StackedComponent } from './stack-config.js';
import { deferredTemplates, placeDeferred } from './substitute.js';
import { evaluate, type FoundRef, type TemplateScope } from './templates.js';
import type { DeferredValue } from './types.js';

/** Set `obj[key]` with the position it came from. */
export function setWithLoc(obj: Record<string, unknown>, key: string, value: unknown, loc: Location | undefined): void {
  obj[key] = value;
  if (loc) {
    const l = ensureLocs(obj, loc);
    l.values.set(key, loc);
    if (!l.keys.has(key)) l.keys.set(key, loc);
  }
}

type Section = DeferredValue['section'];

/** The sections of one Terraform component, with the layers they were merged from. */
export interface TerraformSections {
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  env: Record<string, unknown>;
  /** Per section: the stacks' layer and the deployment's layer (raw and evaluated). */
  layers: Record<Section, { stack: unknown; raw: unknown; evaluated: unknown }>;
}

export function terraformSections(
  t: StackedComponent,
  c: TerraformComponentConfig,
  variables: { has(name: string): boolean },
  context: Record<string, unknown>,
  scope: TemplateScope,
  names: ComponentNames,
  bag: DiagnosticBag,
  strategy: ListMergeStrategy,
): TerraformSections {
  // 1. stack config → 2. deployment vars (templates evaluated)
  const depVars = evaluate(c.vars ?? {}, scope, names, bag, t.location);
  let vars = mergeMapsAll([t.stackComp.vars, depVars], strategy);
  // 3. target context: only the keys the module declares
  const ctxPart: Record<string, unknown> = {};
  if (locsOf(context)) ensureLocs(ctxPart, locsOf(context)!.self);
  for (const [k, v] of Object.entries(context)) {
    if (variables.has(k)) setWithLoc(ctxPart, k, v, locOf(context, k));
  }
  vars = mergeMapsAll([vars, ctxPart], strategy);
  const depSettings = evaluate(c.settings ?? {}, scope, names, bag, t.location);
  const settings = mergeMapsAll([t.stackComp.settings, depSettings], strategy);
  const depEnv = evaluate(c.env ?? {}, scope, names, bag, t.location);
  const env = mergeMapsAll([t.stackComp.env, depEnv], strategy);
  return {
    vars,
    settings,
    env,
    layers: {
      vars: { stack: t.stackComp.vars, raw: c.vars ?? {}, evaluated: depVars },
      settings: { stack: t.stackComp.settings, raw: c.settings ?? {}, evaluated: depSettings },
      env: { stack: t.stackComp.env, raw: c.env ?? {}, evaluated: depEnv },
    },
  };
}

/**
 * The values of a component that depend on another component's product, found in the
 * deployment's layers and placed in the final sections. None without such a reference.
 */
export function deferredOf(
  refs: FoundRef[],
  layers: Partial<TerraformSections['layers']>,
  final: Record<Section, Record<string, unknown>>,
  location: Location,
  strategy: ListMergeStrategy,
): DeferredValue[] {
  if (!refs.some((r) => r.ref.kind === 'nixpack' || r.ref.kind === 'terraform' || r.ref.kind === 'component')) return [];
  const out: DeferredValue[] = [];
  for (const section of ['vars', 'settings', 'env'] as const) {
    const l = layers[section];
    if (l) out.push(...placeDeferred(section, deferredTemplates(l.raw, location), l.evaluated, final[section], l.stack, strategy));
  }
  return out;
}
