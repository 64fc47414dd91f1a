/**
 * Step hooks of each component (SPEC 8): `steps.before_<stage>` / `after_<stage>` of the
 * deployment, of the target and of the component, in that order. A deployment's or a
 * target's hook applies to every component whose type has the stage (`after_apply`: every
 * Terraform component). Their `with:` is kept as written, with its positions: it is checked
 * against the module's schema and evaluated when modules are known (src/hooks); here its
 * template references are collected once, become edges and must name declared outputs.
 */
import { didYouMean, type DiagnosticBag, type Location } from '../diagnostics/index.js';
import { DECLARED_HOOK_STAGES, HOOK_STAGES, type DeploymentConfig, type StepHooks } from '../config/deployment.js';
import { locOf } from '../yaml/index.js';
import type { ComponentNames } from './references.js';
import { findRefs, type FoundRef } from './templates.js';
import type { ResolvedHook } from './types.js';

/** The hooks of one `steps:` section, in key order then list order. */
function hooksIn(steps: StepHooks | undefined, level: ResolvedHook['level'], where: string, names: ComponentNames, bag: DiagnosticBag, fallback: Location): ResolvedHook[] {
  const out: ResolvedHook[] = [];
  for (const [key, list] of Object.entries(steps ?? {})) {
    const m = /^(before|after)_(.+)$/.exec(key);
    if (!m || !list) continue;
    list.forEach((entry, i) => {
      const location = locOf(entry, 'uses') ?? locOf(list, i) ?? fallback;
      const withValue = entry.with ?? {};
      out.push({
        key,
        when: m[1] as 'before' | 'after',
        stage: m[2],
        level,
        uses: entry.uses,
        ...(entry.name !== undefined ? { name: entry.name } : {}),
        with: withValue,
        path: `${where}.${key}[${i}]`,
        location,
        withLocation: locOf(entry, 'with') ?? location,
        references: findRefs(withValue, names, bag, location, true),
      });
    });
  }
  return out;
}

/**
 * The hooks of each component of one target: `hooksOf(type, name, steps)` gives the
 * deployment's, the target's and the component's own hooks of the stages its type has (a
 * declared type's: `artifact`).
 */
export function hookCollector(dep: DeploymentConfig, target: string, names: ComponentNames, bag: DiagnosticBag): (type: string, name: string, steps: StepHooks | undefined) => ResolvedHook[] {
  // References of shared hooks are collected (and reported) once, not once per component.
  const shared = [
    ...hooksIn(dep.body.steps, 'deployment', 'deployment.steps', names, bag, dep.location),
    ...hooksIn(dep.body.targets[target].steps, 'target', `deployment.targets.${target}.steps`, names, bag, dep.location),
  ];
  return (type, name, steps) => {
    const stages: readonly string[] = type === 'terraform' || type === 'nixpack' ? HOOK_STAGES[type] : DECLARED_HOOK_STAGES;
    const own = hooksIn(steps, 'component', `deployment.components.${type}.${name}.steps`, names, bag, dep.location);
    const hooks = [...shared.filter((h) => stages.includes(h.stage)), ...own];
    for (const h of hooks) {
      for (const r of h.references) {
        if (r.ref.kind === 'self' && r.ref.field === 'outputs' && h.when === 'before')
          bag.error('hook/self-outputs', `{{ ${r.expr} }} in ${h.key}: the component's outputs are known only after its ${h.stage} stage`, r.location, `move the hook to after_${h.stage}`);
      }
    }
    return hooks;
  };
}

/** References of hooks that order components: another component's products (its own are there when its hooks run). */
export function hookEdgeRefs(hooks: ResolvedHook[], type: string, name: string): FoundRef[] {
  const own = (r: FoundRef) => (r.ref.kind === 'component' ? r.ref.type === type : r.ref.kind === type) && 'component' in r.ref && r.ref.component === name;
  return hooks.flatMap((h) => h.references).filter((r) => !own(r));
}

/** `{{ self.outputs.<o> }}` of a Terraform component's hook must name an output its module declares. */
export function checkSelfOutputs(hooks: ResolvedHook[], address: string, module: string, outputs: string[], bag: DiagnosticBag): void {
  for (const r of hooks.flatMap((h) => h.references)) {
    if (r.ref.kind !== 'self' || r.ref.field !== 'outputs' || outputs.includes(r.ref.path[0])) continue;
    const guess = didYouMean(r.ref.path[0], outputs);
    bag.error(
      'template/unknown-output',
      `{{ ${r.expr} }}: ${address} (module ${module}) declares no output "${r.ref.path[0]}"`,
      r.location,
      `${guess ? `did you mean "self.outputs.${guess}"? ` : ''}outputs of ${module}: ${outputs.join(', ') || '(none)'}`,
    );
  }
}
