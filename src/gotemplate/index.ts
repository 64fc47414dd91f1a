/**
 * Go `text/template` for stack manifests, as Atmos evaluates them: parse (unknown functions
 * fail here, as in Go), then execute against the data with Go's `missingkey` option.
 * Errors are {@link TemplateError}s carrying the offset in the template text.
 */
import { TemplateError } from './errors.js';
import { execute, type LateValue, type TemplateFunc } from './exec.js';
import { type FuncLibraries, templateFuncs } from './funcs.js';
import { parseTemplate } from './parse.js';

export { TemplateError } from './errors.js';
export { LateValue, type TemplateFunc } from './exec.js';

export interface RenderOptions extends FuncLibraries {
  /** Left and right delimiters (atmos.yaml `templates.settings.delimiters`). */
  delimiters: [string, string];
  /** `default` prints `<no value>` for a missing map key; `error` fails (Go's `missingkey`). */
  missingKey: 'default' | 'error';
  /** The environment `env` and `expandenv` read. */
  env: Readonly<Record<string, string | undefined>>;
  /** Functions of the caller's context over the libraries' (Atmos's `atmos.Component` in a component's configuration). */
  funcs?: Readonly<Record<string, TemplateFunc>>;
  /** How a {@link LateValue} is printed (see ./exec.ts). */
  late?: (v: LateValue) => string;
}

/**
 * Functions Atmos provides that atmos-pipe does not, with what to do instead; a template
 * calling one fails with this hint rather than Go's bare "not defined".
 */
export const UNSUPPORTED_FUNCTIONS: Readonly<Record<string, string>> = {
  'atmos.Component':
    "atmos.Component is not supported yet here: it is evaluated in a component's configuration (vars, settings, env, ...), not in import paths or name templates; use the deployment's bindings or !terraform.output",
  'atmos.Store': 'stores are not supported: pass the value as a deployment variable or secret',
  'atmos.GomplateDatasource': 'Gomplate datasources are not supported: a build must not depend on a network read at resolution time',
  datasource: 'Gomplate datasources are not supported: a build must not depend on a network read at resolution time',
  ds: 'Gomplate datasources are not supported: a build must not depend on a network read at resolution time',
  now: 'now is not supported: a resolved configuration must not depend on the clock',
};

/**
 * Options from atmos.yaml-style settings: `settings.env` over `baseEnv` (Atmos sets
 * `templates.settings.env` in the process environment while templates evaluate).
 */
export function renderOptionsFor(
  settings: FuncLibraries & { delimiters: [string, string]; env: Readonly<Record<string, string>> },
  missingKey: RenderOptions['missingKey'],
  baseEnv: Readonly<Record<string, string | undefined>> = process.env,
): RenderOptions {
  return { delimiters: settings.delimiters, missingKey, env: { ...baseEnv, ...settings.env }, sprig: settings.sprig, gomplate: settings.gomplate };
}

/** Render `text` with `data` as dot. Throws {@link TemplateError}. */
export function renderTemplate(text: string, data: unknown, opts: RenderOptions): string {
  const funcs = { ...templateFuncs(opts.env, opts), ...opts.funcs };
  const isFunc = (name: string): boolean => name === 'and' || name === 'or' || Object.hasOwn(funcs, name);
  const parsed = parseTemplate(text, opts.delimiters, isFunc);
  return execute(parsed, data, { missingKey: opts.missingKey, funcs, ...(opts.late ? { late: opts.late } : {}) });
}

/** Line and column (1-based) of an offset in a template text. */
export function positionIn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, col: lines[lines.length - 1].length + 1 };
}
