/**
 * Go templates in stack manifests, evaluated where and as Atmos evaluates them
 * (internal/exec/utils.go `ProcessComponentConfig` → template_utils.go
 * `ProcessTmplWithDatasources`): after a component's configuration is merged, every value of
 * its section is rendered with the whole component section as data — `.vars`, `.settings`,
 * `.env`, `.metadata`, `.backend`, … plus `.atmos_component`, `.atmos_stack`,
 * `.atmos_stack_file`, `.atmos_manifest`, `.workspace`, `.component` — with
 * `missingkey=default` (Atmos passes `ignoreMissingTemplateValues = true` there), repeated
 * `templates.settings.evaluations` times.
 *
 * Atmos renders the section serialized as YAML and parses the result back; rendering each
 * string on its own gives the same values, because a rendered string stays a string (Go's
 * YAML encoder quotes every scalar that starts with the delimiter, and one that starts with
 * text stays text). Only strings containing the left delimiter are touched, so a repository
 * without templates pays one scan per component.
 *
 * `atmos.Component "<component>" <stack>` reads another component of the deployment in the
 * same stack: its configuration (`.vars`, `.settings`, ...) as this pass evaluates it, and its
 * `.outputs`, known only when the deployment runs. An output is printed as a placeholder that
 * ./yaml-functions.ts turns into a dependency edge and a deferred value, exactly as it does
 * for `!terraform.output`.
 */
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';
import type { TemplateSettings } from '../config/atmos.js';
import { LateValue, renderOptionsFor, renderTemplate, TemplateError, UNSUPPORTED_FUNCTIONS } from '../gotemplate/index.js';
import type { ResolvedStackComponent } from '../stacks/types.js';
import { copyEntryLoc, copyLocs, isPlainMap, locOf } from '../yaml/index.js';

/** How Atmos names the stack a component is resolved in. */
export interface StackIdentity {
  /** `.atmos_stack`: the stack name (name_template / name_pattern / manifest `name` / file path). */
  name: string;
  /** `.atmos_stack_file` and `.atmos_manifest`: the top-level manifest, relative to the stacks base path, without extension. */
  file: string;
  /** `.workspace`: the component's Terraform workspace (src/resolve/workspace.ts). */
  workspace: string;
}

/** The sections of a resolved component that hold configuration (and so may hold templates). */
const SECTIONS = ['vars', 'settings', 'env', 'metadata', 'backend_type', 'backend', 'providers'] as const;

/** The sections that may take another component's outputs (they are rendered again when its steps are expanded). */
const LATE_SECTIONS: ReadonlySet<string> = new Set(['vars', 'settings', 'env']);

/**
 * Another component of the deployment as `atmos.Component <name> <stack>` gives it to a
 * template (see {@link componentView}); throws an Error saying why it cannot (another stack,
 * a component the deployment does not deploy).
 */
export type ComponentLookup = (name: string, stack: string) => Record<string, unknown>;

/** What the pass needs of the resolution around it. */
export interface GoTemplateOptions {
  /** Gives `atmos.Component` its components (without it, the function is not defined). */
  lookup?: ComponentLookup;
  /**
   * Whether the value at a location is written `!literal` (src/config/files.ts): Atmos keeps it
   * verbatim, never rendered (pkg/utils/yaml_utils.go: "preserve value exactly as-is, bypass
   * all template processing").
   */
  isLiteral?: (at: Location) => boolean;
}

/** Where an output of another component stands in a rendered string: NUL, component, SOH, output path, NUL. */
const LATE = /\u0000([^\u0000\u0001]+)\u0001([^\u0000]*)\u0000/g;

function latePlaceholder(v: LateValue): string {
  if (v.path.length === 0) throw new TemplateError(`${v.describe()} needs an output name, e.g. .outputs.vpc_id`, 0);
  return `\u0000${v.source}\u0001${v.path.join('.')}\u0000`;
}

/** Whether a rendered string holds another component's output. */
export function holdsOutput(s: string): boolean {
  if (!s.includes('\u0000')) return false;
  LATE.lastIndex = 0;
  return LATE.test(s);
}

/** A rendered string with each output placeholder replaced by `fn(component, output path)`. */
export function replaceOutputs(s: string, fn: (component: string, path: string[]) => string): string {
  return s.replace(LATE, (_m, component: string, p: string) => fn(component, p.split('.')));
}

/** Atmos's context tokens (`{tenant}`, `{stage}`, `{component}`, …) in a name pattern. */
function replaceContextTokens(pattern: string, comp: ResolvedStackComponent, stack: string): string {
  const v = comp.vars;
  const tokens: Record<string, unknown> = { ...v, component: comp.name.replace(/\//g, '-'), 'base-component': comp.component, stack };
  return pattern.replace(/\{([a-z_-]+)\}/g, (m, k: string) => (tokens[k] === undefined ? m : String(tokens[k])));
}

/**
 * The component section Atmos hands to templates (its keys as `atmos describe component`
 * prints them). `spacelift_stack` and `atlantis_project` are the names Atmos computes for its
 * integrations (internal/exec/spacelift_utils.go, atlantis_utils.go), present when configured.
 */
function templateData(comp: ResolvedStackComponent, stack: StackIdentity): Record<string, unknown> {
  const data: Record<string, unknown> = {
    atmos_component: comp.name,
    atmos_stack: stack.name,
    atmos_stack_file: stack.file,
    atmos_manifest: stack.file,
    stack: stack.name,
    component: comp.component,
    workspace: stack.workspace,
    command: 'terraform',
    inheritance: comp.inheritance,
  };
  for (const s of SECTIONS) data[s] = comp[s];
  const spacelift = isPlainMap(comp.settings.spacelift) ? comp.settings.spacelift : undefined;
  if (spacelift?.workspace_enabled === true) {
    const pattern = spacelift.stack_name_pattern;
    data.spacelift_stack = typeof pattern === 'string' ? replaceContextTokens(pattern, comp, stack.name) : `${stack.name}-${comp.name.replace(/\//g, '-')}`;
  }
  const atlantis = isPlainMap(comp.settings.atlantis) ? comp.settings.atlantis : undefined;
  const project = isPlainMap(atlantis?.project_template) ? atlantis.project_template : undefined;
  if (typeof project?.name === 'string') data.atlantis_project = replaceContextTokens(project.name, comp, stack.name);
  return data;
}

/** What `atmos.Component` gives of a component: its template data, and its outputs (known when the deployment runs). */
export function componentView(comp: ResolvedStackComponent, stack: StackIdentity): Record<string, unknown> {
  return { ...templateData(comp, stack), outputs: new LateValue(comp.name, []) };
}

/** Whether any string (or key) under `v` contains `left`. */
function holdsTemplate(v: unknown, left: string): boolean {
  if (typeof v === 'string') return v.includes(left);
  if (Array.isArray(v)) return v.some((x) => holdsTemplate(x, left));
  if (isPlainMap(v)) {
    for (const k in v) if (k.includes(left) || holdsTemplate(v[k], left)) return true;
  }
  return false;
}

class Renderer {
  /** Whether the section being rendered may take another component's outputs. */
  lateAllowed = false;

  constructor(
    private readonly data: Record<string, unknown>,
    private readonly settings: TemplateSettings,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly fallback: Location,
    private readonly opts: GoTemplateOptions,
  ) {}

  /** Render one string `evaluations` times; a failure is located at the string. */
  string(s: string, where: string, at: Location | undefined): string {
    const { delimiters } = this.settings;
    const fail = (message: string, hint: string) => new DiagnosticError([error('stacks/template', `${where}: ${message}`, at ?? this.fallback, hint)]);
    const lookup = this.opts.lookup;
    const extra = lookup
      ? {
          funcs: {
            'atmos.Component': (component: unknown, stack: unknown) => {
              if (typeof component !== 'string' || typeof stack !== 'string') throw new Error('atmos.Component takes a component name and a stack name');
              return lookup(component, stack);
            },
          },
          late: latePlaceholder,
        }
      : {};
    let out = s;
    for (let i = 0; i < this.settings.evaluations && out.includes(delimiters[0]); i++) {
      try {
        out = renderTemplate(out, this.data, { ...renderOptionsFor(this.settings, 'default', this.env), ...extra });
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        throw fail(e.message, hintFor(e.message));
      }
    }
    if (!this.lateAllowed && holdsOutput(out))
      throw fail(
        `another component's outputs (atmos.Component ... .outputs) cannot be read in ${where.split(/[.[]/)[0]}`,
        'they are known only when the deployment runs: read them in vars, settings or env',
      );
    return out;
  }

  /** `v` with its templates rendered; the same object when nothing under it has one. */
  value(v: unknown, where: string, at: Location | undefined): unknown {
    const left = this.settings.delimiters[0];
    if (typeof v === 'string') return v.includes(left) && !(at && this.opts.isLiteral?.(at)) ? this.string(v, where, at) : v;
    if (!holdsTemplate(v, left)) return v;
    if (Array.isArray(v)) {
      const out = v.map((x, i) => this.value(x, `${where}[${i}]`, locOf(v, i) ?? at));
      copyLocs(v, out);
      return out;
    }
    const m = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    copyLocs(m, out);
    for (const k of Object.keys(m)) {
      const key = k.includes(left) ? this.string(k, `${where}.${k}`, locOf(m, k) ?? at) : k;
      out[key] = this.value(m[k], `${where}.${k}`, locOf(m, k) ?? at);
      if (key !== k) copyEntryLoc(m, k, out, key);
    }
    return out;
  }
}

/** What to do about a failed template: the alternative for an unsupported function. */
function hintFor(message: string): string {
  const fn = /^function "([^"]+)" not defined$/.exec(message)?.[1];
  if (fn && UNSUPPORTED_FUNCTIONS[fn]) return UNSUPPORTED_FUNCTIONS[fn];
  if (fn) return "atmos-pipe provides Go's builtin functions and the Sprig and Gomplate functions Atmos repositories use; check the name, or turn Sprig/Gomplate on in atmos.yaml templates.settings";
  if (message.startsWith('error calling atmos.Component:'))
    return 'atmos.Component reads a Terraform component of this deployment in the same stack: (atmos.Component "<component>" .stack); anything else, pass as a var';
  if (message.includes('is known only when the deployment runs'))
    return 'write the output as the whole value (\'{{ (atmos.Component "c" .stack).outputs.o }}\', or !template with toJson for a list or map) and transform it in the module';
  return 'see https://pkg.go.dev/text/template for the template syntax';
}

/**
 * The component's `settings.templates.settings.env`: Atmos merges it over atmos.yaml's
 * (template_utils.go: "Stack manifest env overrides CLI config env").
 */
function stackTemplateEnv(comp: ResolvedStackComponent): Record<string, string> {
  const t = comp.settings.templates;
  const s = isPlainMap(t) ? t.settings : undefined;
  const env = isPlainMap(s) ? s.env : undefined;
  return isPlainMap(env) ? Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) : {};
}

/**
 * The component with the Go templates of its configuration evaluated (Atmos's
 * "templates-all-atmos-sections" pass). Returns `comp` itself when templating is off or
 * nothing holds a template. Throws a located DiagnosticError for a template that fails.
 */
export function evaluateGoTemplates(
  comp: ResolvedStackComponent,
  stack: StackIdentity,
  settings: TemplateSettings,
  env: Readonly<Record<string, string | undefined>>,
  opts: GoTemplateOptions = {},
): ResolvedStackComponent {
  if (!settings.enabled || !SECTIONS.some((s) => holdsTemplate(comp[s], settings.delimiters[0]))) return comp;
  const renderer = new Renderer(templateData(comp, stack), { ...settings, env: { ...settings.env, ...stackTemplateEnv(comp) } }, env, comp.location ?? { file: stack.file, line: 1, col: 1 }, opts);
  const out = { ...comp };
  for (const s of SECTIONS) {
    renderer.lateAllowed = LATE_SECTIONS.has(s);
    (out as Record<string, unknown>)[s] = renderer.value(comp[s], s, comp.location);
  }
  return out;
}
