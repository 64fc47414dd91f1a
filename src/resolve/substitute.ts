/**
 * Upstream values rendered at step-expansion time, without resolving again. Resolution
 * records where a component holds a value that depends on another component's product — a
 * template naming `nixpack.<c>.*` or `terraform.<c>.outputs.*`, or an image bound by label or
 * name — as {@link DeferredValue}s; {@link substitute} renders only those into a copy of the
 * component once the images are built and the outputs known. The result is the value a
 * resolution with those images and outputs gives: the same template evaluation, the same
 * merge over the stacks' value.
 */
import { DiagnosticBag, type Location } from '../diagnostics/index.js';
import { deepMerge, type ListMergeStrategy } from '../stacks/merge.js';
import { copyLocs, isPlainMap, locOf } from '../yaml/index.js';
import { boundFilePath, evaluate, isFileOutput, type DeclaredComponentNames, type FoundRef, type TemplateComponents, type TemplateScope } from './templates.js';
import type { BuiltImage, DeferredValue, ResolvedComponent, ResolvedDeployment } from './types.js';

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
/**
 * A reference to another component's product: every template root but the deployment's own
 * facts (git, deployment, target); a declared component type may not take those names.
 */
const PRODUCT = /^(?!(git|deployment|target)\.)[a-z][a-z0-9-]*\./;

/** What other components produced, known when a component's steps are expanded. */
export interface Upstream {
  /** Built images by nixpack component name (every one known, not only the new ones). */
  images: Record<string, BuiltImage>;
  /** Outputs of Terraform components by component name. */
  terraformOutputs?: Record<string, Record<string, unknown>>;
  /** Outputs of components of declared types, by type and name (over those the resolution knew). */
  declaredOutputs?: Record<string, Record<string, Record<string, unknown>>>;
}

type Path = (string | number)[];

/** A template string of the deployment's layer that names another component's product. */
export interface FoundTemplate {
  path: Path;
  template: string;
  location: Location;
}

/** Templates in a deployment's (unevaluated) section that name another component's product, by path. */
export function deferredTemplates(raw: unknown, fallback: Location): FoundTemplate[] {
  const out: FoundTemplate[] = [];
  const visit = (v: unknown, path: Path, location: Location) => {
    if (typeof v === 'string') {
      if (v.includes('{{') && [...v.matchAll(TEMPLATE)].some((m) => PRODUCT.test(m[1].trim()))) out.push({ path, template: v, location });
    } else if (Array.isArray(v)) for (const [i, x] of v.entries()) visit(x, [...path, i], locOf(v, i) ?? location);
    else if (isPlainMap(v)) for (const [k, x] of Object.entries(v)) visit(x, [...path, k], locOf(v, k) ?? location);
  };
  visit(raw, [], fallback);
  return out;
}

function at(v: unknown, path: Path): unknown {
  for (const k of path) v = isPlainMap(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

const kind = (v: unknown) => (Array.isArray(v) ? 'list' : isPlainMap(v) ? 'map' : 'value');

/**
 * Where a value of the deployment's layer (`over`, at `path`) ends up once merged over the
 * stacks' layer (`under`) with the list strategy, and the stacks' map or list it merged over.
 */
export function mergedPath(path: Path, over: unknown, under: unknown, strategy: ListMergeStrategy): { path: Path; under?: unknown } {
  const out: Path = [];
  let o = over;
  let u = under;
  for (const k of path) {
    if (kind(u) !== kind(o)) u = undefined;
    if (typeof k === 'number' && Array.isArray(u)) {
      // append: the stacks' items first; merge: item by item; replace: the later list alone.
      out.push(strategy === 'append' ? u.length + k : k);
      u = strategy === 'merge' ? u[k] : undefined;
    } else {
      out.push(k);
      u = isPlainMap(u) ? u[k as string] : undefined;
    }
    o = (o as Record<string | number, unknown>)[k];
  }
  return { path: out, ...(kind(u) !== 'value' ? { under: u } : {}) };
}

/**
 * The deferred values of one section: each template found in the deployment's layer, placed
 * where the merge put it. One a later layer replaced (a context key) is dropped: it is not there.
 */
export function placeDeferred(
  section: DeferredValue['section'],
  found: FoundTemplate[],
  evaluated: unknown,
  merged: Record<string, unknown>,
  stackLayer: unknown,
  strategy: ListMergeStrategy,
): DeferredValue[] {
  const out: DeferredValue[] = [];
  for (const f of found) {
    const placed = mergedPath(f.path, evaluated, stackLayer, strategy);
    const want = at(evaluated, f.path);
    const got = at(merged, placed.path);
    if (kind(want) === 'value' ? got !== want : kind(got) === 'value') continue;
    out.push({ section, path: placed.path, source: { template: f.template, location: f.location }, ...(placed.under !== undefined ? { under: { value: placed.under, strategy } } : {}) });
  }
  return out;
}

/** A copy of `root` with `value` at `path`: containers on the path copied (with their positions), the rest shared. */
function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [k, ...rest] = path;
  const copy: object = Array.isArray(root) ? [...(root as unknown[])] : { ...(root as Record<string, unknown>) };
  copyLocs(root, copy);
  Object.defineProperty(copy, k, { value: setAt((root as Record<string | number, unknown>)[k], rest, value), writable: true, enumerable: true, configurable: true });
  return copy;
}

/** The template scope with these images and outputs (placeholders for images not built). */
export function scopeWith(scope: TemplateScope, upstream: Upstream): TemplateScope {
  const nixpack: TemplateScope['nixpack'] = {};
  for (const [n, f] of Object.entries(scope.nixpack)) {
    const built = upstream.images[n];
    nixpack[n] = { ...f, image: built?.ref ?? `${f.repository}@sha256:<unbuilt>`, digest: built?.digest ?? 'sha256:<unbuilt>' };
  }
  const declaredOutputs = { ...scope.declaredOutputs };
  for (const [type, byName] of Object.entries(upstream.declaredOutputs ?? {})) declaredOutputs[type] = { ...declaredOutputs[type], ...byName };
  return {
    ...scope,
    nixpack,
    ...(upstream.terraformOutputs ? { terraformOutputs: upstream.terraformOutputs } : {}),
    ...(Object.keys(declaredOutputs).length ? { declaredOutputs } : {}),
  };
}

/** The files of declared components a component binds (`{{ zip.fn.path }}`), where its steps find them. */
function boundFiles(component: ResolvedComponent, scope: TemplateScope): ResolvedComponent['files'] {
  const files: NonNullable<ResolvedComponent['files']> = {};
  for (const r of component.references) {
    if (r.ref.kind !== 'component') continue;
    const v = scope.declaredOutputs?.[r.ref.type]?.[r.ref.component]?.[r.ref.output];
    if (isFileOutput(v)) files[boundFilePath(r.ref.type, r.ref.component, v)] = { kind: 'file', digest: v.digest };
  }
  return Object.keys(files).length ? files : undefined;
}

/** A value rendered as text: a string as it is, anything else as its JSON. */
export function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The components templates may name when evaluating values whose references were collected
 * (and checked) when resolving: every nixpack component of the scope, and the Terraform and
 * declared-type components among `references`. Shared by a component's deferred values and
 * its hooks' `with:` (src/hooks).
 */
export function referencedNames(references: readonly FoundRef[], scope: TemplateScope): TemplateComponents {
  const declared: DeclaredComponentNames = {};
  for (const r of references) {
    if (r.ref.kind !== 'component') continue;
    const t = (declared[r.ref.type] ??= { names: new Set(), outputs: [] });
    t.names.add(r.ref.component);
    if (!t.outputs.includes(r.ref.output)) t.outputs = [...t.outputs, r.ref.output];
  }
  return {
    nixpack: new Set(Object.keys(scope.nixpack)),
    terraform: new Set(references.flatMap((r) => (r.ref.kind === 'terraform' ? [r.ref.component] : []))),
    declared,
  };
}

/** A copy of the component with its deferred values rendered in `scope` (see {@link scopeWith}); the component itself when it has none. */
export function substitute(component: ResolvedComponent, scope: TemplateScope): ResolvedComponent {
  if (component.deferred.length === 0) return component;
  const names = referencedNames(component.references, scope);
  const bag = new DiagnosticBag(); // references were checked when resolving: nothing to report
  const sections = { vars: component.vars, settings: component.settings, env: component.env };
  for (const d of component.deferred) {
    let value = 'binding' in d.source ? scope.nixpack[d.source.binding].image : evaluate(d.source.template, scope, names, bag, d.source.location);
    if ('text' in d.source && d.source.text) value = asText(value);
    if (d.under && kind(d.under.value) === kind(value) && kind(value) !== 'value') value = deepMerge(d.under.value, value, d.under.strategy);
    sections[d.section] = setAt(sections[d.section], d.path, value) as Record<string, unknown>;
  }
  const files = boundFiles(component, scope);
  return { ...component, ...sections, ...(files ? { files } : {}) };
}

/**
 * The resolution with other images bound (a release's, or the store's after a build): every
 * component's image values rendered again, nothing else. The same value when nothing changed.
 */
export function withImages(resolved: ResolvedDeployment, images: Record<string, BuiltImage>): ResolvedDeployment {
  const same = (a: BuiltImage | undefined, b: BuiltImage | undefined) => a?.ref === b?.ref && a?.digest === b?.digest;
  const names = new Set([...Object.keys(images), ...Object.keys(resolved.images)]);
  if ([...names].every((n) => same(images[n], resolved.images[n]))) return resolved;
  const scope = scopeWith(resolved.scope, { images });
  return { ...resolved, images: { ...images }, components: resolved.components.map((c) => substitute(c, scope)) };
}
