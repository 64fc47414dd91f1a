/**
 * Template references of a deployment (SPEC 3 "Templates"), collected once per component:
 * they become edges, tell which context keys are used, and must name outputs their module
 * declares. Checked here so a typo never reaches a run as an unknown value.
 */
import { didYouMean, type DiagnosticBag } from '../diagnostics/index.js';
import { declaredComponents, type DeploymentConfig } from '../config/deployment.js';
import { componentAddress } from '../config/names.js';
import { keyLocOf } from '../yaml/index.js';
import { findRefs, type FoundRef, type TemplateComponents } from './templates.js';

/** Component names of a deployment by type (what a template may name). */
export type ComponentNames = TemplateComponents;

/** Every template reference in the deployment's configuration of each component, by address. */
export function collectReferences(dep: DeploymentConfig, names: ComponentNames, bag: DiagnosticBag): Map<string, FoundRef[]> {
  const tfComps = dep.body.components?.terraform ?? {};
  const nxComps = dep.body.components?.nixpack ?? {};
  const refsOf = new Map<string, FoundRef[]>();
  for (const [n, c] of Object.entries(tfComps))
    refsOf.set(componentAddress('terraform', n), findRefs({ vars: c.vars, settings: c.settings, env: c.env }, names, bag, keyLocOf(tfComps, n) ?? dep.location));
  for (const [n, c] of Object.entries(nxComps)) refsOf.set(componentAddress('nixpack', n), findRefs({ vars: c.vars, settings: c.settings }, names, bag, keyLocOf(nxComps, n) ?? dep.location));
  for (const { type, components } of declaredComponents(dep))
    for (const [n, c] of Object.entries(components)) refsOf.set(componentAddress(type.name, n), findRefs({ vars: c.vars, settings: c.settings }, names, bag, keyLocOf(components, n) ?? dep.location));
  return refsOf;
}

/** A template naming an output its module does not declare (`output` blocks) is a located error. */
export function checkDeclaredOutputs(refsOf: Map<string, FoundRef[]>, declared: Map<string, { module: string; outputs: string[] }>, bag: DiagnosticBag): void {
  for (const refs of refsOf.values()) {
    for (const r of refs) {
      const m = r.ref.kind === 'terraform' ? declared.get(r.ref.component) : undefined;
      if (!m || r.ref.kind !== 'terraform' || m.outputs.includes(r.ref.output)) continue;
      const guess = didYouMean(r.ref.output, m.outputs);
      bag.error(
        'template/unknown-output',
        `{{ ${r.expr} }}: terraform/${r.ref.component} (module ${m.module}) declares no output "${r.ref.output}"`,
        r.location,
        `${guess ? `did you mean "${guess}"? ` : ''}outputs of ${m.module}: ${m.outputs.join(', ') || '(none)'}`,
      );
    }
  }
}

/** Context keys nobody uses (no module declares them, no template references them): a warning with a "did you mean" hint. */
export function warnUnusedContext(
  target: string,
  context: Record<string, unknown>,
  refsOf: Map<string, FoundRef[]>,
  declaredAnywhere: Set<string>,
  bag: DiagnosticBag,
  overridden: Record<string, unknown> = {},
): void {
  const referencedCtx = new Set<string>();
  for (const rs of refsOf.values()) for (const r of rs) if (r.ref.kind === 'context') referencedCtx.add(r.ref.key);
  for (const k of Object.keys(context)) {
    if (!declaredAnywhere.has(k) && !referencedCtx.has(k)) {
      const guess = didYouMean(k, declaredAnywhere);
      if (Object.hasOwn(overridden, k)) {
        // Given on the command line (--context): said about the argument, not a file line.
        bag.warn(
          'deployment/unused-context',
          `--context ${k}: no Terraform module of this deployment declares "${k}" as a variable and no template references target.context.${k}; it changes nothing that runs`,
          undefined,
          guess ? `did you mean "${guess}"?` : `context keys in use: ${[...declaredAnywhere].filter((d) => Object.hasOwn(context, d)).join(', ') || '(none)'}`,
        );
        continue;
      }
      bag.warn(
        'deployment/unused-context',
        `targets.${target}.context.${k} is not declared as a variable by any Terraform module of this deployment and no template references it`,
        keyLocOf(context, k),
        guess ? `did you mean "${guess}"?` : `declare it as a variable in a module, reference it as {{ target.context.${k} }}, or remove it`,
      );
    }
  }
}
