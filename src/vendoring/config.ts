/**
 * Which vendor entry applies to a module for a target (SPEC 7). Pure reads: no fetching.
 *
 * Entries name a Terraform root module directory (`metadata.component`, default the
 * component name) and come from, in order of precedence:
 *
 *   1. `deployment.vendor.components` (inline)
 *   2. `deployment.vendor.manifest`   (an Atmos `AtmosVendorConfig` file)
 *   3. the repository `vendor.yaml`    (Atmos format), entries whose `component` is a module
 *                                      the deployment uses
 *   4. auto-discovery (`auto_discover: true`): for a module whose directory is missing
 *      locally, a repository `vendor.yaml` entry whose Atmos `targets` path is that
 *      directory (`components/terraform/<module>`), whatever its `component` name
 *
 * The first level with an entry for the module that matches the target wins; within a
 * level the most specific entry (most label keys) wins. `labels: { environment: [prod] }`
 * matches a target whose labels (the deployment's `labels`, then the target's, plus
 * `target: <name>`) have one of the listed values; an entry without labels applies to
 * every target. Nothing applies when the deployment has no `vendor:` section.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { YamlFileCache, displayPath } from '../config/files.js';
import { checkComponentName } from '../config/names.js';
import { DiagnosticBag, DiagnosticError, error, type Location } from '../diagnostics/index.js';
import { resolveComponent } from '../stacks/index.js';
import { describeType, isPlainMap, keyLocOf, locOf } from '../yaml/index.js';
import { containmentProblem, insideRepo } from '../config/paths.js';
import { SourceError, parseSource, renderSource, renderTemplate, type VendorSource } from './source.js';

export type VendorOrigin = 'inline' | 'manifest' | 'vendor.yaml' | 'auto-discover';

export interface VendorEntry {
  /** The module directory name this entry provides. */
  component: string;
  /** The source as written (templates unrendered). */
  source: string;
  version?: string;
  /** label -> accepted values. */
  labels?: Record<string, string[]>;
  included_paths?: string[];
  excluded_paths?: string[];
  /** Atmos `targets` (destination paths; used by auto-discovery only). */
  targets?: string[];
  origin: VendorOrigin;
  /** Where the entry is declared. */
  location?: Location;
  /** Where its `source` is declared. */
  sourceLocation?: Location;
  /** Directory relative local sources are resolved against. */
  baseDir: string;
}

/** An entry chosen for a module and target, its source rendered and parsed. */
export interface SelectedEntry extends VendorEntry {
  /** The module directory name (may differ from `component` for auto-discovered entries). */
  module: string;
  /** Templates filled, `?ref=` added from the version for Git. */
  rendered: string;
  spec: VendorSource;
}

export interface VendorConfig {
  inline: VendorEntry[];
  manifest: VendorEntry[];
  repository: VendorEntry[];
  autoDiscover: boolean;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? v : undefined;
}

function labelsOf(v: unknown): Record<string, string[]> | undefined {
  if (!isPlainMap(v)) return undefined;
  const out: Record<string, string[]> = {};
  for (const [k, x] of Object.entries(v)) out[k] = Array.isArray(x) ? x.map(String) : [String(x)];
  return out;
}

/**
 * Read an Atmos vendor manifest (`apiVersion: atmos/v1`, `kind: AtmosVendorConfig`,
 * `spec.imports`, `spec.sources[]`). Unknown keys are Atmos's and ignored; known keys with
 * the wrong type are located errors.
 */
function readManifest(cfg: AtmosConfig, abs: string, origin: VendorOrigin, files: YamlFileCache, bag: DiagnosticBag, seen: string[] = []): VendorEntry[] {
  const f = files.loadValid(abs);
  const top: Location = { file: f.file, line: 1, col: 1 };
  if (seen.includes(abs)) {
    bag.error('vendor/import-cycle', `vendor manifest imports form a cycle: ${[...seen, abs].map((p) => displayPath(cfg.repoRoot, p)).join(' → ')}`, top);
    return [];
  }
  const doc = f.value;
  if (doc === null || doc === undefined) return [];
  if (!isPlainMap(doc)) {
    bag.error('vendor/manifest', `${f.file}: expected an AtmosVendorConfig mapping, got ${describeType(doc)}`, locOf(doc) ?? top);
    return [];
  }
  if (doc.kind !== undefined && doc.kind !== 'AtmosVendorConfig') {
    bag.error(
      'vendor/manifest',
      `${f.file}: kind must be AtmosVendorConfig, got ${JSON.stringify(doc.kind)}`,
      locOf(doc, 'kind') ?? top,
      'an Atmos vendor manifest starts with apiVersion: atmos/v1 and kind: AtmosVendorConfig',
    );
    return [];
  }
  if (doc.apiVersion !== undefined && doc.apiVersion !== 'atmos/v1') {
    bag.error('vendor/manifest', `${f.file}: apiVersion must be atmos/v1, got ${JSON.stringify(doc.apiVersion)}`, locOf(doc, 'apiVersion') ?? top);
    return [];
  }
  const spec = doc.spec;
  if (spec === undefined || spec === null) return [];
  if (!isPlainMap(spec)) {
    bag.error('vendor/manifest', `${f.file}: spec must be a mapping, got ${describeType(spec)}`, locOf(doc, 'spec') ?? top);
    return [];
  }
  const out: VendorEntry[] = [];
  // imports: paths relative to the base path; `.yaml` assumed when there is no extension.
  if (spec.imports !== undefined) {
    if (!Array.isArray(spec.imports)) bag.error('vendor/manifest', `${f.file}: spec.imports must be a list of paths`, locOf(spec, 'imports') ?? top);
    else {
      spec.imports.forEach((imp, i) => {
        const loc = locOf(spec.imports, i) ?? top;
        if (typeof imp !== 'string') {
          bag.error('vendor/manifest', `${f.file}: spec.imports[${i}] must be a string`, loc);
          return;
        }
        const outside = containmentProblem(cfg.repoRoot, path.resolve(cfg.basePath, imp), { what: `${f.file}: vendor manifest import`, value: imp, location: loc });
        if (outside) {
          bag.add(outside);
          return;
        }
        const candidates = path.extname(imp) ? [imp] : [`${imp}.yaml`, `${imp}.yml`];
        const found = candidates.map((c) => path.resolve(cfg.basePath, c)).find((p) => existsSync(p));
        if (!found) {
          bag.error('vendor/manifest-import', `${f.file}: imported vendor manifest "${imp}" not found`, loc, 'import paths are relative to the base path; the .yaml extension may be left out');
          return;
        }
        out.push(...readManifest(cfg, found, origin, files, bag, [...seen, abs]));
      });
    }
  }
  if (spec.sources !== undefined) {
    if (!Array.isArray(spec.sources)) {
      bag.error('vendor/manifest', `${f.file}: spec.sources must be a list`, locOf(spec, 'sources') ?? top);
      return out;
    }
    spec.sources.forEach((s, i) => {
      const loc = locOf(spec.sources, i) ?? top;
      if (!isPlainMap(s)) {
        bag.error('vendor/manifest', `${f.file}: spec.sources[${i}] must be a mapping`, loc);
        return;
      }
      const source = s.source;
      if (typeof source !== 'string') {
        bag.error('vendor/manifest', `${f.file}: spec.sources[${i}].source must be a string`, locOf(s, 'source') ?? loc);
        return;
      }
      const bad = (key: string, what: string) => bag.error('vendor/manifest', `${f.file}: spec.sources[${i}].${key} must be ${what}`, locOf(s, key) ?? loc);
      const lists: Record<string, string[] | undefined> = {};
      for (const key of ['targets', 'included_paths', 'excluded_paths']) {
        const v = s[key];
        if (v === undefined || v === null) continue;
        if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad(key, 'a list of strings');
        else lists[key] = v as string[];
      }
      if (s.component !== undefined && typeof s.component !== 'string') bad('component', 'a string');
      if (s.version !== undefined && s.version !== null && str(s.version) === undefined) bad('version', 'a string');
      if (s.labels !== undefined && !isPlainMap(s.labels)) bad('labels', 'a mapping of label to value(s)');
      out.push({
        component: typeof s.component === 'string' ? s.component : '',
        source,
        ...(str(s.version) !== undefined ? { version: str(s.version) } : {}),
        ...(labelsOf(s.labels) ? { labels: labelsOf(s.labels) } : {}),
        ...(lists.included_paths ? { included_paths: lists.included_paths } : {}),
        ...(lists.excluded_paths ? { excluded_paths: lists.excluded_paths } : {}),
        ...(lists.targets ? { targets: lists.targets } : {}),
        origin,
        location: loc,
        sourceLocation: locOf(s, 'source') ?? loc,
        // Atmos resolves relative local sources against the manifest's directory.
        baseDir: path.dirname(abs),
      });
    });
  }
  return out;
}

/** Every vendor entry a deployment can see (empty levels when it has no `vendor:` section). */
export function loadVendorConfig(cfg: AtmosConfig, dep: DeploymentConfig, files: YamlFileCache = new YamlFileCache(cfg.repoRoot)): VendorConfig {
  const v = dep.body.vendor;
  const out: VendorConfig = { inline: [], manifest: [], repository: [], autoDiscover: false };
  if (!v) return out;
  const bag = new DiagnosticBag();
  out.autoDiscover = v.auto_discover === true;
  (v.components ?? []).forEach((c, i) => {
    const loc = locOf(v.components, i) ?? dep.location;
    const problem = checkComponentName(c.component);
    if (problem)
      bag.error(
        'vendor/component-name',
        `vendor.components[${i}].component "${c.component}" ${problem}`,
        locOf(c, 'component') ?? loc,
        'name the Terraform root module directory, e.g. "vpc" or "ecs-service"',
      );
    out.inline.push({
      component: c.component,
      source: c.source,
      ...(c.version !== undefined ? { version: String(c.version) } : {}),
      ...(c.labels ? { labels: labelsOf(c.labels) } : {}),
      ...(c.included_paths ? { included_paths: c.included_paths } : {}),
      ...(c.excluded_paths ? { excluded_paths: c.excluded_paths } : {}),
      origin: 'inline',
      location: loc,
      sourceLocation: locOf(c, 'source') ?? loc,
      baseDir: cfg.basePath,
    });
  });
  if (v.manifest !== undefined) {
    const abs = insideRepo(cfg.repoRoot, path.resolve(cfg.basePath, v.manifest), { what: 'vendor.manifest', value: v.manifest, location: locOf(v, 'manifest') ?? dep.location });
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      bag.error(
        'vendor/manifest-missing',
        `vendor.manifest: ${displayPath(cfg.repoRoot, abs)} does not exist`,
        locOf(v, 'manifest') ?? dep.location,
        'the path is relative to the base path; create it or remove vendor.manifest',
      );
    } else out.manifest = readManifest(cfg, abs, 'manifest', files, bag);
  }
  const repoManifest = ['vendor.yaml', 'vendor.yml'].map((n) => path.join(cfg.basePath, n)).find((p) => existsSync(p));
  if (repoManifest && !(v.manifest !== undefined && path.resolve(cfg.basePath, v.manifest) === repoManifest)) {
    out.repository = readManifest(cfg, repoManifest, 'vendor.yaml', files, bag);
  }
  bag.throwIfErrors();
  return out;
}

/** The labels a target is matched with: the deployment's, the target's, and `target`. */
export function targetLabels(dep: DeploymentConfig, target: string): Record<string, string> {
  return { target, ...(dep.body.labels ?? {}), ...(dep.body.targets[target]?.labels ?? {}) };
}

function matches(entry: VendorEntry, labels: Record<string, string>): boolean {
  return Object.entries(entry.labels ?? {}).every(([k, vals]) => labels[k] !== undefined && vals.includes(labels[k]));
}

function specificity(entry: VendorEntry): number {
  return Object.keys(entry.labels ?? {}).length;
}

function pick(cands: VendorEntry[], module: string, target: string): VendorEntry | undefined {
  if (cands.length === 0) return undefined;
  const best = Math.max(...cands.map(specificity));
  const top = cands.filter((c) => specificity(c) === best);
  if (top.length > 1) {
    const where = top.map((c) => (c.location ? `${c.location.file}:${c.location.line}` : c.origin)).join(', ');
    throw new DiagnosticError(
      error(
        'vendor/ambiguous',
        `${top.length} ${top[0].origin} vendor entries for module "${module}" match target "${target}" equally (${where})`,
        top[1].location ?? top[0].location,
        'give one of them more specific labels (e.g. labels: { environment: [prod] }) or remove one',
      ),
    );
  }
  return top[0];
}

/** `components/terraform/vpc` (relative to the repository, POSIX). */
function normalisedTargetPath(cfg: AtmosConfig, entry: VendorEntry, t: string, module: string): string | undefined {
  let rendered: string;
  try {
    rendered = renderTemplate(t, { version: entry.version, component: module });
  } catch {
    return undefined;
  }
  return path.resolve(cfg.basePath, rendered);
}

/**
 * The entry that applies to `module` for `target`, or undefined (the local module is used).
 * Throws a located DiagnosticError (exit 2) for an invalid source.
 */
export function selectEntry(cfg: AtmosConfig, vc: VendorConfig, dep: DeploymentConfig, target: string, module: string): SelectedEntry | undefined {
  const labels = targetLabels(dep, target);
  let chosen: VendorEntry | undefined;
  for (const level of [vc.inline, vc.manifest, vc.repository]) {
    chosen = pick(
      level.filter((e) => e.component === module && matches(e, labels)),
      module,
      target,
    );
    if (chosen) break;
  }
  let origin: VendorOrigin | undefined = chosen?.origin;
  if (!chosen && vc.autoDiscover) {
    const local = path.join(cfg.terraformBasePath, module);
    if (!existsSync(local)) {
      chosen = pick(
        vc.repository.filter((e) => matches(e, labels) && (e.targets ?? []).some((t) => normalisedTargetPath(cfg, e, t, module) === local)),
        module,
        target,
      );
      origin = 'auto-discover';
    }
  }
  if (!chosen) return undefined;
  let rendered: string;
  let spec: VendorSource;
  try {
    rendered = renderSource(chosen.source, chosen.version, module);
    spec = parseSource(rendered, chosen.baseDir);
  } catch (e) {
    if (e instanceof SourceError) throw new DiagnosticError(error('vendor/source', `vendor source for module "${module}": ${e.message}`, chosen.sourceLocation ?? chosen.location, e.hint));
    throw e;
  }
  // A local source is read from the repository only.
  if (spec.kind === 'local') insideRepo(cfg.repoRoot, spec.path, { what: `vendor source for module "${module}"`, value: rendered, location: chosen.sourceLocation ?? chosen.location });
  return { ...chosen, origin: origin!, module, rendered, spec };
}

/** A Terraform module the deployment uses for a target, with where it is declared. */
export interface UsedModule {
  module: string;
  /** Components (names) using it. */
  components: string[];
  location?: Location;
}

/**
 * The modules a deployment's enabled Terraform components use for a target, as resolve
 * computes them: the deployment's `metadata.component`, else the stack component's own,
 * else the component name.
 */
export async function usedModules(cfg: AtmosConfig, dep: DeploymentConfig, target: string, files: YamlFileCache): Promise<UsedModule[]> {
  const tf = dep.body.components?.terraform ?? {};
  const { loadTargetStacks } = await import('../resolve/stack-config.js');
  const { withHclIncludes } = await import('../stacks/include.js');
  const stack = Object.keys(tf).length ? await withHclIncludes(() => loadTargetStacks(cfg, dep, target, files)) : undefined;
  const byModule = new Map<string, UsedModule>();
  for (const [n, c] of Object.entries(tf)) {
    const depMeta = (c.metadata ?? {}) as Record<string, unknown>;
    if (depMeta.enabled === false) continue;
    let moduleName = typeof depMeta.component === 'string' ? depMeta.component : undefined;
    try {
      const sc = resolveComponent(stack!, 'terraform', n, depMeta.inherits ? { inherits: depMeta.inherits as string[] } : undefined);
      if (sc.abstract || !sc.enabled || (sc.metadata as Record<string, unknown> | undefined)?.enabled === false) continue;
      moduleName ??= sc.component ?? n;
    } catch (e) {
      // resolve reports stack problems; here the module name is all that matters
      if (!(e instanceof DiagnosticError)) throw e;
      moduleName ??= n;
    }
    const m = path.relative(cfg.terraformBasePath, path.join(cfg.terraformBasePath, moduleName)).split(path.sep).join('/');
    const u = byModule.get(m) ?? { module: m, components: [], location: keyLocOf(tf, n) };
    u.components.push(n);
    byModule.set(m, u);
  }
  return [...byModule.values()].sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : 0));
}

/** A module name that can safely become a directory under the store. */
export function checkModuleName(module: string): string | undefined {
  if (!module || module.startsWith('/') || module.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'is not a relative path below the Terraform base path';
  return checkComponentName(module);
}
