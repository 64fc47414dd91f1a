/**
 * Deployment-scope templates (SPEC 3): `{{ git.sha }}`, `{{ target.context.cpu }}`,
 * `{{ nixpack.api.image }}`, `{{ terraform.ecr/api.outputs.repository_url }}`, ...
 * Only the deployment file is templated; stack files never are.
 *
 * A string that is exactly one template takes the referenced value with its type
 * (`"{{ target.context.replicas }}"` -> 2); a template inside a longer string is
 * interpolated as text.
 */
import { type DiagnosticBag, didYouMean, type Location } from '../diagnostics/index.js';
import { copyEntryLoc, ensureLocs, isPlainMap, locOf, locsOf } from '../yaml/index.js';

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]*?)\s*\}\}$/;

export type TemplateRef =
  | { kind: 'git'; field: 'sha' | 'short_sha' | 'branch' }
  | { kind: 'deployment'; field: 'name' }
  | { kind: 'target'; field: 'name' }
  | { kind: 'context'; key: string; path: string[] }
  | { kind: 'nixpack'; component: string; field: 'image' | 'digest' | 'repository' | 'tag' }
  | { kind: 'terraform'; component: string; output: string; path: string[] }
  /** Only in a step hook's `with:` (src/hooks): the component the hook runs for. */
  | { kind: 'self'; field: 'name' | 'address' | 'vars' | 'outputs'; path: string[] }
  /** An output of a component of a type a module declares (`{{ zip.fn.digest }}`). */
  | { kind: 'component'; type: string; component: string; output: string };

/** Components of the types modules declare, by type: their names and the outputs a template may name. */
export type DeclaredComponentNames = Record<string, { names: Set<string>; outputs: readonly string[] }>;

/** The components a template may name, by type. */
export interface TemplateComponents {
  nixpack: Set<string>;
  terraform: Set<string>;
  /** Components of declared types (absent: none). */
  declared?: DeclaredComponentNames;
}

export interface FoundRef {
  expr: string;
  ref: TemplateRef;
  location: Location;
}

export const TEMPLATE_FORMS = [
  'git.sha',
  'git.short_sha',
  'git.branch',
  'deployment.name',
  'target.name',
  'target.context.<key>',
  'nixpack.<component>.image|digest|repository|tag',
  'terraform.<component>.outputs.<output>',
];

/** `<type>.<component>.<output>` of a declared component type, or an error; undefined when `e` names no declared type. */
function parseDeclaredRef(e: string, declared: DeclaredComponentNames | undefined): TemplateRef | { error: string; hint: string } | undefined {
  const type = e.slice(0, e.indexOf('.'));
  const t = declared && Object.hasOwn(declared, type) ? declared[type] : undefined;
  if (!t) return undefined;
  const rest = e.slice(type.length + 1);
  const dot = rest.lastIndexOf('.');
  const comp = dot > 0 ? rest.slice(0, dot) : rest;
  const output = dot > 0 ? rest.slice(dot + 1) : '';
  if (!t.names.has(comp)) {
    const guess = didYouMean(comp, t.names);
    return {
      error: `unknown ${type} component "${comp}" in template {{ ${e} }}`,
      hint: guess ? `did you mean "${type}.${guess}.${output || t.outputs[0]}"?` : `${type} components of this deployment: ${[...t.names].join(', ') || '(none)'}`,
    };
  }
  if (t.outputs.includes(output)) return { kind: 'component', type, component: comp, output };
  const guess = didYouMean(output, t.outputs);
  return { error: `unknown output "${output}" of ${type}.${comp} in template {{ ${e} }}`, hint: `${guess ? `did you mean "${guess}"? ` : ''}outputs of a ${type} component: ${t.outputs.join(', ')}` };
}

/** What a step hook's `with:` may name besides {@link TEMPLATE_FORMS}: the component it runs for. */
export const SELF_FORMS = ['self.name', 'self.address', 'self.vars.<key>', 'self.outputs.<output>'];

/** `self.name`, `self.vars.<key>...`, ... (a step hook's own component), or undefined. */
function parseSelf(e: string): TemplateRef | { error: string; hint: string } | undefined {
  if (e === 'self.name' || e === 'self.address') return { kind: 'self', field: e.slice(5) as 'name', path: [] };
  for (const field of ['vars', 'outputs'] as const) {
    if (!e.startsWith(`self.${field}.`)) continue;
    const path = e.slice(`self.${field}.`.length).split('.');
    if (path.every((p) => p.length > 0)) return { kind: 'self', field, path };
  }
  if (e === 'self' || e.startsWith('self.')) return { error: `malformed reference {{ ${e} }}`, hint: `available: ${SELF_FORMS.join(', ')}` };
  return undefined;
}

/**
 * Parse one template expression; returns an error message when it is not a known reference.
 * `self`: a step hook's `with:`, where `self.*` names the hook's component ({@link SELF_FORMS}).
 */
export function parseRef(expr: string, components: TemplateComponents, self = false): TemplateRef | { error: string; hint: string } {
  const e = expr.trim();
  const forms = self ? [...TEMPLATE_FORMS, ...SELF_FORMS] : TEMPLATE_FORMS;
  const formsHint = `available: ${forms.join(', ')}`;
  const own = self ? parseSelf(e) : undefined;
  if (own) return own;
  if (e === 'git.sha' || e === 'git.short_sha' || e === 'git.branch') return { kind: 'git', field: e.slice(4) as 'sha' };
  if (e === 'deployment.name') return { kind: 'deployment', field: 'name' };
  if (e === 'target.name') return { kind: 'target', field: 'name' };
  if (e.startsWith('target.context.')) {
    const parts = e.slice('target.context.'.length).split('.');
    if (parts.every((p) => p.length > 0)) return { kind: 'context', key: parts[0], path: parts };
  }
  if (e.startsWith('nixpack.')) {
    const rest = e.slice('nixpack.'.length);
    const dot = rest.lastIndexOf('.');
    const comp = dot > 0 ? rest.slice(0, dot) : rest;
    const field = dot > 0 ? rest.slice(dot + 1) : '';
    if (!components.nixpack.has(comp)) {
      const guess = didYouMean(comp, components.nixpack);
      return {
        error: `unknown nixpack component "${comp}" in template {{ ${e} }}`,
        hint: guess ? `did you mean "nixpack.${guess}.${field || 'image'}"?` : `nixpack components of this deployment: ${[...components.nixpack].join(', ') || '(none)'}`,
      };
    }
    if (field === 'image' || field === 'digest' || field === 'repository' || field === 'tag') return { kind: 'nixpack', component: comp, field };
    return { error: `unknown field "${field}" of nixpack.${comp} in template {{ ${e} }}`, hint: 'use image, digest, repository or tag' };
  }
  if (e.startsWith('terraform.')) {
    const rest = e.slice('terraform.'.length);
    const i = rest.indexOf('.outputs.');
    if (i > 0) {
      const comp = rest.slice(0, i);
      const outPath = rest.slice(i + '.outputs.'.length).split('.');
      if (!components.terraform.has(comp)) {
        const guess = didYouMean(comp, components.terraform);
        return {
          error: `unknown terraform component "${comp}" in template {{ ${e} }}`,
          hint: guess ? `did you mean "terraform.${guess}.outputs.${outPath.join('.')}"?` : `terraform components of this deployment: ${[...components.terraform].join(', ') || '(none)'}`,
        };
      }
      if (outPath.every((p) => p.length > 0)) return { kind: 'terraform', component: comp, output: outPath[0], path: outPath };
    }
    return { error: `malformed terraform reference {{ ${e} }}`, hint: 'write terraform.<component>.outputs.<output>' };
  }
  const declared = parseDeclaredRef(e, components.declared);
  if (declared) return declared;
  const guess = didYouMean(
    e,
    forms.filter((f) => !f.includes('<')),
  );
  return { error: `unknown template reference {{ ${e} }}`, hint: guess ? `did you mean {{ ${guess} }}? (${formsHint})` : formsHint };
}

/** Every template reference inside a value (recursively), with the location of its string (`self`: see {@link parseRef}). */
export function findRefs(value: unknown, components: TemplateComponents, bag: DiagnosticBag, fallback: Location, self = false): FoundRef[] {
  const out: FoundRef[] = [];
  const visit = (v: unknown, loc: Location) => {
    if (typeof v === 'string') {
      if (!v.includes('{{')) return;
      for (const m of v.matchAll(TEMPLATE)) {
        const r = parseRef(m[1], components, self);
        if ('error' in r) bag.error('template/unknown-reference', r.error, loc, r.hint);
        else out.push({ expr: m[1].trim(), ref: r, location: loc });
      }
      if (/\{\{(?![^{}]*\}\})/.test(v)) bag.error('template/unclosed', `unclosed template in "${v}"`, loc, 'templates look like {{ target.context.cpu }}');
      return;
    }
    if (Array.isArray(v)) for (const [i, x] of v.entries()) visit(x, locOf(v, i) ?? loc);
    else if (isPlainMap(v)) for (const [k, x] of Object.entries(v)) visit(x, locOf(v, k) ?? loc);
  };
  visit(value, fallback);
  return out;
}

/** Values templates evaluate to. Missing entries evaluate to explicit placeholders. */
export interface TemplateScope {
  git: { sha?: string; short_sha?: string; branch?: string };
  deployment: { name: string };
  target: { name: string; context: Record<string, unknown> };
  nixpack: Record<string, { image: string; digest: string; repository: string; tag: string }>;
  /** Outputs of applied Terraform components; absent: "(known after apply ...)". */
  terraformOutputs?: Record<string, Record<string, unknown>>;
  /**
   * A step hook's component (`{{ self.* }}`): its resolved vars, and its outputs once its
   * steps finished (absent before: "(known after ...)").
   */
  self?: { name: string; address: string; vars: Record<string, unknown>; outputs?: Record<string, unknown> };
  /** Outputs of built components of declared types, by type and name; absent: "(unbuilt: ...)". */
  declaredOutputs?: Record<string, Record<string, Record<string, unknown>>>;
}

/**
 * Where a {@link FileOutputValue} bound into a component is found by that component's steps:
 * relative to their workspace (a Terraform step's working directory).
 */
export function boundFilePath(type: string, component: string, file: { name: string }): string {
  return `.atmos/files/${type}/${component}/${file.name}`;
}

/**
 * A file a declared component produces, as an output value (module API: `FileOutput`): stored
 * in the content store by its digest. Bound into another component (`{{ zip.fn.path }}`), it is
 * materialized in each of that component's step workspaces at {@link boundFilePath}, and the
 * template gives that relative path.
 */
export interface FileOutputValue {
  kind: 'file';
  digest: string;
  name: string;
}

/** Whether an output value is a file (bound as a path). */
export function isFileOutput(v: unknown): v is FileOutputValue {
  return isPlainMap(v) && v.kind === 'file' && typeof v.digest === 'string' && typeof v.name === 'string';
}

/**
 * `v[p]` for an own key of a plain map only: `constructor`, `__proto__`, `toString`,
 * `hasOwnProperty` and the rest of Object.prototype are unknown keys like any other.
 */
/** A key of a map, or an index of a list (`subnets.0`, from `!terraform.output c .subnets[0]`). */
function child(v: unknown, p: string): unknown {
  if (Array.isArray(v)) return /^\d+$/.test(p) ? v[Number(p)] : undefined;
  return isPlainMap(v) && Object.hasOwn(v, p) ? v[p] : undefined;
}

function lookup(ref: TemplateRef, scope: TemplateScope): unknown {
  switch (ref.kind) {
    case 'git':
      return scope.git[ref.field] ?? `(unknown git.${ref.field}: not a git repository)`;
    case 'deployment':
      return scope.deployment.name;
    case 'target':
      return scope.target.name;
    case 'context': {
      let v: unknown = scope.target.context;
      for (const p of ref.path) v = child(v, p);
      return v;
    }
    case 'nixpack':
      return child(child(scope.nixpack, ref.component), ref.field);
    case 'terraform': {
      const outs = child(scope.terraformOutputs, ref.component);
      if (!isPlainMap(outs) || !Object.hasOwn(outs, ref.output)) return `(known after apply: terraform/${ref.component}.outputs.${ref.path.join('.')})`;
      let v: unknown = outs;
      for (const p of ref.path) v = child(v, p);
      return v;
    }
    case 'self': {
      const self = scope.self;
      if (!self) return undefined;
      if (ref.field === 'name' || ref.field === 'address') return self[ref.field];
      if (ref.field === 'outputs' && !self.outputs) return `(known after ${self.address} ran: outputs.${ref.path.join('.')})`;
      let v: unknown = self[ref.field];
      for (const p of ref.path) v = child(v, p);
      return v;
    }
    case 'component': {
      const outs = child(child(scope.declaredOutputs, ref.type), ref.component);
      if (!isPlainMap(outs) || !Object.hasOwn(outs, ref.output)) return `(unbuilt: ${ref.type}/${ref.component}.${ref.output})`;
      const v = outs[ref.output];
      return isFileOutput(v) ? boundFilePath(ref.type, ref.component, v) : v;
    }
  }
}

/**
 * Evaluate templates in a value, returning a new value (containers copied with their
 * positions). References must already have been validated with {@link findRefs}.
 * A missing context key is a located error.
 */
export function evaluate(value: unknown, scope: TemplateScope, components: TemplateComponents, bag: DiagnosticBag, fallback: Location): unknown {
  const evalString = (s: string, loc: Location): unknown => {
    if (!s.includes('{{')) return s;
    const whole = WHOLE.exec(s);
    const resolveOne = (expr: string): unknown => {
      const r = parseRef(expr, components, scope.self !== undefined);
      if ('error' in r) return s; // already reported by findRefs
      const v = lookup(r, scope);
      if (v === undefined) {
        if (r.kind === 'context') {
          bag.error(
            'template/missing-context',
            `{{ ${expr.trim()} }}: target "${scope.target.name}" has no context key "${r.path.join('.')}"`,
            loc,
            `add it under targets.${scope.target.name}.context, or available keys: ${Object.keys(scope.target.context).join(', ') || '(none)'}`,
          );
        }
        if (r.kind === 'self' && scope.self) {
          const have = Object.keys((r.field === 'outputs' ? scope.self.outputs : scope.self.vars) ?? {});
          const guess = didYouMean(r.path[0], have);
          bag.error(
            'template/missing-self',
            `{{ ${expr.trim()} }}: ${scope.self.address} has no ${r.field === 'outputs' ? 'output' : 'var'} "${r.path.join('.')}"`,
            loc,
            `${guess ? `did you mean "self.${r.field}.${guess}"? ` : ''}${r.field}: ${have.join(', ') || '(none)'}`,
          );
        }
        return '';
      }
      return v;
    };
    if (whole) return resolveOne(whole[1]);
    return s.replace(TEMPLATE, (_m, expr: string) => {
      const v = resolveOne(expr);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  };
  const visit = (v: unknown, loc: Location): unknown => {
    if (typeof v === 'string') return evalString(v, loc);
    if (Array.isArray(v)) {
      const out = v.map((x, i) => visit(x, locOf(v, i) ?? loc));
      if (locsOf(v)) {
        ensureLocs(out, locsOf(v)!.self);
        for (let i = 0; i < v.length; i++) copyEntryLoc(v, i, out, i);
      }
      return out;
    }
    if (isPlainMap(v)) {
      const out: Record<string, unknown> = {};
      if (locsOf(v)) ensureLocs(out, locsOf(v)!.self);
      for (const [k, x] of Object.entries(v)) {
        // An own property whatever the key (`__proto__` included), never the prototype.
        Object.defineProperty(out, k, { value: visit(x, locOf(v, k) ?? loc), writable: true, enumerable: true, configurable: true });
        copyEntryLoc(v, k, out, k);
      }
      return out;
    }
    return v;
  };
  return visit(value, fallback);
}

export function hasTemplate(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{');
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (isPlainMap(v)) return Object.values(v).some(hasTemplate);
  return false;
}
