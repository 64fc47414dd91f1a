/**
 * The short form of a deployment file (the PRD's quick start): the deployment's keys at the
 * top level without the `deployment:` wrapper, and components given as lists of names.
 *
 * ```yaml
 * name: payment-service           # deployment:
 * components:                     #   name: payment-service
 *   nixpack: [api]                #   components:
 *   terraform: [ecs-service, rds] #     nixpack: { api: { vars: { source: services/api, image: { name: api } } } }
 * targets:                        #     terraform: { ecs-service: {}, rds: {} }
 *   dev: { labels: { cpu: "512" } }
 * ```
 *
 * It means exactly the long form on the right. A Terraform name is the Atmos component of
 * that name, as is (module directory of that name, configuration from the loaded stacks); a
 * nixpack name is the application at `<components.nixpack.base_path>/<name>` (atmos.yaml,
 * default `services`), its image named after it. The loader normalises before the schema
 * runs ({@link normaliseDeploymentDocument}), so everything downstream sees the long form,
 * and every generated value keeps the position of the name it came from. `fmt` (and
 * `validate --fix`) rewrites a short-form file into the long one ({@link longFormText}).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { copyLocs, ensureLocs, isPlainMap, keyLocOf, locOf, setEntryLoc } from '../yaml/index.js';
import type { AtmosConfig } from './atmos.js';
import { checkComponentName } from './names.js';

/** The keys of `deployment:` (the long form's body): a top level with any of them is the short form. */
const BODY_KEYS = ['name', 'description', 'labels', 'stacks', 'env', 'secrets', 'context', 'approval', 'steps', 'vendor', 'components', 'targets'];

/** The component types a list of names may give (a module's own types need their vars written out). */
const LISTABLE_TYPES = ['terraform', 'nixpack'] as const;
type ListableType = (typeof LISTABLE_TYPES)[number];

/** Whether a parsed deployment document is written in the short form (no `deployment:`, deployment keys at the top). */
export function isShortForm(value: unknown): boolean {
  return isPlainMap(value) && !Object.hasOwn(value, 'deployment') && BODY_KEYS.some((k) => Object.hasOwn(value, k));
}

/** The deployment's own mapping in a parsed document, in either form (undefined when it has none). */
export function deploymentBodyOf(value: unknown): Record<string, unknown> | undefined {
  if (isShortForm(value)) return value as Record<string, unknown>;
  const d = isPlainMap(value) ? value.deployment : undefined;
  return isPlainMap(d) ? d : undefined;
}

/** Where a nixpack component named in a list has its source: repository-relative, POSIX separators. */
function nixpackSource(cfg: AtmosConfig, name: string): string {
  const base = cfg.nixpackBasePath ?? path.join(cfg.basePath, 'services');
  const rel = path.relative(cfg.repoRoot, base).split(path.sep).join('/');
  return rel ? `${rel}/${name}` : name;
}

/** The long form of a component given by its name in a list (every value located at the name). */
export function componentOfName(cfg: AtmosConfig, type: ListableType, name: string, at?: Location): Record<string, unknown> {
  const located = <T extends Record<string, unknown>>(m: T): T => {
    if (at) {
      ensureLocs(m, at);
      for (const k of Object.keys(m)) setEntryLoc(m, k, at);
    }
    return m;
  };
  if (type === 'terraform') return located({});
  return located({ vars: located({ source: nixpackSource(cfg, name), image: located({ name }) }) });
}

/** A shallow copy keeping the source's positions. */
function copyOf(src: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...src };
  copyLocs(src, copy);
  return copy;
}

/** `components:` with every list of names turned into the long form's mapping; problems added to `out`. */
function normaliseComponents(cfg: AtmosConfig, components: Record<string, unknown>, declaredTypes: readonly string[], out: Diagnostic[]): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [type, list] of Object.entries(components)) {
    if (!Array.isArray(list)) continue;
    const listLoc = locOf(components, type);
    if (!(LISTABLE_TYPES as readonly string[]).includes(type)) {
      // A module's component type needs its vars; an unknown type is reported by the loader, with the known types.
      if (declaredTypes.includes(type)) {
        out.push(
          error(
            'deployment/short-form-type',
            `components.${type} is a list: only terraform and nixpack components may be given as a list of names`,
            listLoc ?? keyLocOf(components, type),
            `write each ${type} component with its vars: ${type}: { <name>: { vars: { ... } } }`,
          ),
        );
      }
      continue;
    }
    const byName: Record<string, unknown> = {};
    ensureLocs(byName, listLoc);
    for (const [i, item] of list.entries()) {
      const at = locOf(list, i) ?? listLoc;
      if (typeof item !== 'string') {
        out.push(
          error(
            'deployment/short-form-entry',
            `components.${type}[${i}]: a list of components holds names only, got ${isPlainMap(item) ? 'a mapping' : Array.isArray(item) ? 'a list' : JSON.stringify(item)}`,
            at,
            `give names (${type}: [a, b]) or the long form, a mapping of name to configuration (${type}: { a: { vars: { ... } } }); the two cannot be mixed in one list`,
          ),
        );
        continue;
      }
      if (Object.hasOwn(byName, item)) {
        const first = keyLocOf(byName, item);
        out.push(error('deployment/short-form-duplicate', `components.${type}: "${item}" is listed twice${first ? ` (first at line ${first.line})` : ''}`, at, 'list each component once'));
        continue;
      }
      const component = componentOfName(cfg, type as ListableType, item, at);
      // A nixpack name stands for a directory: a typo is caught here, at the name, not at build time.
      const source = type === 'nixpack' ? ((component.vars as { source: string }).source as string) : undefined;
      if (source !== undefined && checkComponentName(item) === undefined && !existsSync(path.resolve(cfg.repoRoot, source))) {
        out.push(
          error(
            'deployment/short-form-source',
            `nixpack component "${item}": its source directory ${source} does not exist`,
            at,
            `a nixpack component named in a list is built from <components.nixpack.base_path>/<name> (atmos.yaml, default services); create ${source}, set components.nixpack.base_path, or write the long form with vars.source`,
          ),
        );
      }
      byName[item] = component;
      if (at) setEntryLoc(byName, item, at);
    }
    copy ??= copyOf(components);
    copy[type] = byName;
  }
  return copy ?? components;
}

/**
 * The long form of a parsed deployment document (the same object when nothing is short),
 * and the problems of a document mixing the two forms. The parsed file is never modified:
 * changed containers are located copies. `declaredTypes`: the component types modules declare
 * (a list of names is refused for them: their components need vars).
 */
export function normaliseDeploymentDocument(cfg: AtmosConfig, value: unknown, top: Location, declaredTypes: readonly string[] = []): { value: unknown; short: boolean; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  if (!isPlainMap(value)) return { value, short: false, diagnostics };
  const short = isShortForm(value);
  if (!short && Object.hasOwn(value, 'deployment')) {
    for (const k of BODY_KEYS.filter((key) => Object.hasOwn(value, key))) {
      diagnostics.push(
        error(
          'deployment/mixed-forms',
          `"${k}" is beside "deployment:": a deployment file is either the long form (everything under deployment:) or the short form (no deployment: wrapper, its keys at the top level)`,
          keyLocOf(value, k),
          `move "${k}" under deployment:, or remove the "deployment:" line and unindent its keys`,
        ),
      );
    }
  }
  let body = short ? value : value.deployment;
  if (isPlainMap(body) && isPlainMap(body.components)) {
    const components = normaliseComponents(cfg, body.components, declaredTypes, diagnostics);
    if (components !== body.components) {
      body = copyOf(body);
      (body as Record<string, unknown>).components = components;
    }
  }
  if (!short && body === value.deployment) return { value, short, diagnostics };
  const root: Record<string, unknown> = short ? {} : copyOf(value);
  if (short) {
    ensureLocs(root, top);
    setEntryLoc(root, 'deployment', locOf(value) ?? top);
  }
  root.deployment = body;
  return { value: root, short, diagnostics };
}
