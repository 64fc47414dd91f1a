/**
 * Step hooks as modules (SPEC 8): each `uses:` of a component's hooks (src/resolve/hooks.ts)
 * names a registered module whose steps run before or after one of the component's stages.
 * Here a hook meets its module: `uses:` must name a registered one, and `with:` — evaluated
 * by the deployment's templates, plus `{{ self.* }}` for the hook's component — is parsed
 * with the module's zod schema, every problem a located diagnostic at the key in the
 * deployment file. `validate` and every run check all hooks before anything runs.
 */
import { zodIssuesToDiagnostics } from '../config/zod-diagnostics.js';
import { DiagnosticBag, choicesHint, error, type Diagnostic } from '../diagnostics/index.js';
import type { AnyModule, ModuleRegistry } from '../module/index.js';
import type { ResolvedComponent, ResolvedDeployment, ResolvedHook } from '../resolve/index.js';
import { referencedNames } from '../resolve/substitute.js';
import { evaluate, type TemplateScope } from '../resolve/templates.js';
import { isPlainMap } from '../yaml/index.js';

/** The module a hook uses, or the located refusal (with a did-you-mean among the registered names). */
export function hookModule(hook: ResolvedHook, modules: ModuleRegistry | undefined): AnyModule | Diagnostic {
  const m = modules?.get(hook.uses);
  if (m) return m;
  return error('hook/unknown-module', `${hook.path}: no module named "${hook.uses}" is registered`, hook.location, choicesHint(hook.uses, [...(modules?.keys() ?? [])]));
}

/**
 * The template scope of a component's hooks: the deployment's, with `self` (its resolved
 * vars; its outputs once its steps finished).
 */
export function hookScope(scope: TemplateScope, component: ResolvedComponent, outputs?: Record<string, unknown>): TemplateScope {
  return { ...scope, self: { name: component.name, address: component.address, vars: component.vars, ...(outputs ? { outputs } : {}) } };
}

/** A value templates could not know yet: another component's product, or the component's own outputs before its steps ran. */
const PENDING = /\(known after |\(unbuilt: |sha256:<unbuilt>/;

/** Paths (from `with:`) of the values still pending in an evaluated `with:`. */
function pendingPaths(v: unknown, path: PropertyKey[] = [], out: PropertyKey[][] = []): PropertyKey[][] {
  if (typeof v === 'string' && PENDING.test(v)) out.push(path);
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) pendingPaths(x, [...path, i], out);
  else if (isPlainMap(v)) for (const [k, x] of Object.entries(v)) pendingPaths(x, [...path, k], out);
  return out;
}

/**
 * A hook's inputs for its module: `with:` evaluated in `scope` ({@link hookScope}) and parsed
 * with the module's schema (defaults applied). A value still pending (an output not known
 * yet: `validate`, a dry run, a plan) is not held against the schema; the module then gets
 * the evaluated value as it is. Diagnostics are located at the keys of the deployment file.
 */
export function hookInputs(hook: ResolvedHook, module: AnyModule, scope: TemplateScope): { inputs: unknown; diagnostics: Diagnostic[] } {
  const bag = new DiagnosticBag();
  const value = evaluate(hook.with, scope, referencedNames(hook.references, scope), bag, hook.withLocation);
  if (bag.errors.length) return { inputs: value, diagnostics: bag.errors };
  const parsed = module.inputs.safeParse(value);
  if (parsed.success) return { inputs: parsed.data, diagnostics: [] };
  const pending = pendingPaths(value);
  const issues = parsed.error.issues.filter((i) => !pending.some((p) => p.every((k, n) => i.path[n] === k)));
  return { inputs: value, diagnostics: zodIssuesToDiagnostics(issues, value, module.inputs, hook.withLocation, 'hook', [`${hook.path}.with`]) };
}

/**
 * Every hook of the resolution against the registry (`validate`, and every run before
 * anything runs): an unknown module, an input its schema refuses. Deduplicated: a
 * deployment's hook is checked once per component it applies to.
 */
export function checkHooks(resolved: ResolvedDeployment, modules: ModuleRegistry | undefined): Diagnostic[] {
  const out = new Map<string, Diagnostic>();
  for (const c of resolved.components) {
    const scope = hookScope(resolved.scope, c);
    for (const hook of c.hooks ?? []) {
      const m = hookModule(hook, modules);
      const found = 'inputs' in m ? hookInputs(hook, m, scope).diagnostics : [m];
      for (const d of found) out.set(`${d.code}|${d.message}|${d.location?.file}:${d.location?.line}:${d.location?.col}`, d);
    }
  }
  return [...out.values()];
}
