/**
 * Loading a stack: imports resolved recursively and deep-merged (imports in list order,
 * then the file's own content; later wins), with `overrides` flowing exactly as Atmos's
 * `ProcessYAMLConfigFile` lets them flow:
 *
 *  - a file's inline overrides are `overrides` merged with `terraform.overrides` (which
 *    wins); those of the files importing it (its ancestors) win over its own;
 *  - while a file's import list is walked, the overrides exported by each entry
 *    (its imports' overrides, then its inline ones) accumulate, and every later entry
 *    starts from what accumulated before it: an imported file's overrides reach the
 *    components of siblings listed after it (and of the importer itself), never before;
 *  - the overrides that reach a file's own components are `merge(accumulated, inline)`.
 *
 * Everything is cached per process: parsed files (YamlFileCache), file checks, import
 * resolution, the result of a file in a given override context, and merged contents
 * (hash-consed by the identity of their parts, so a catalog file imported by 1,000 stacks
 * is merged once per distinct override context).
 */
import path from 'node:path';
import { DiagnosticError, fail, type Diagnostic, type Location } from '../diagnostics/index.js';
import { YamlFileCache, displayPath } from '../config/files.js';
import { copyLocs, ensureLocs, locOf, locsOf, setEntryLoc } from '../yaml/index.js';
import type { TemplateSettings } from '../config/atmos.js';
import { renderOptionsFor, renderTemplate, TemplateError } from '../gotemplate/index.js';
import { deepMerge, type ListMergeStrategy } from './merge.js';
import { atmosMergeAll, atmosMergeMaps } from './amerge.js';
import { STACK_COMPONENT_TYPES, isEmptyMap, mapAt, readFileInfo, type StackComponentType, type FileInfo, type Section } from './fileinfo.js';
import { ImportResolver } from './imports.js';
import type { ImportSpec, LoadedStack, StackLoadOptions } from './types.js';

type Ov = Section | undefined;

interface Flow {
  inline: Record<StackComponentType, Ov>;
  imports: Record<StackComponentType, Ov>;
  /** The import context reaching this file (its importers' contexts merged, theirs winning). */
  context?: ImportContext;
}

/** An import context with how the file it reaches is rendered. */
interface ImportContext {
  values: Section;
  /** JSON of `values` and the flags: the cache key of a file read in this context. */
  key: string;
  skip: boolean;
  ignoreMissing: boolean;
}

interface VisitResult {
  content: Section;
  /** What this file passes back to its importer (Atmos's returned inline / imports overrides). */
  out: Flow;
  /** Files in merge order (imports before importers), absolute, unique. */
  files: string[];
}

interface ChainEntry {
  abs: string;
  file: string;
  /** The import entry in this file that leads to the next one in the chain. */
  via?: Location;
}

const EMPTY_SECTION: Section = Object.freeze({}) as Section;

/** Per (file cache, stacks base path, list strategy): everything that can be shared. */
export class StackLoader {
  readonly imports: ImportResolver;
  private readonly infos = new Map<string, FileInfo | DiagnosticError>();
  private readonly latest = new Map<string, FileInfo>();
  private readonly visits = new Map<string, VisitResult>();
  private readonly contents = new Map<string, Section>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  constructor(
    readonly files: YamlFileCache,
    readonly repoRoot: string,
    readonly stacksBasePath: string,
    readonly strategy: ListMergeStrategy,
    readonly templates: TemplateSettings | undefined,
  ) {
    this.imports = new ImportResolver(repoRoot, stacksBasePath);
  }

  /**
   * A file as read in an import context (none: as it is, `.tmpl` files rendered without
   * values when they can be). Without a context, the file as last read in any context.
   */
  info(abs: string, context?: ImportContext): FileInfo {
    const key = context ? `${abs}\0${context.key}` : abs;
    const hit = this.infos.get(key) ?? (context ? undefined : this.latest.get(abs));
    if (hit instanceof DiagnosticError) throw hit;
    if (hit) return hit;
    try {
      const templating =
        this.templates && !context?.skip ? { settings: this.templates, context: context?.values ?? {}, explicit: context !== undefined, ignoreMissing: context?.ignoreMissing ?? false } : undefined;
      const info = readFileInfo(this.files, abs, this.strategy, templating);
      this.infos.set(key, info);
      this.latest.set(abs, info);
      return info;
    } catch (e) {
      if (e instanceof DiagnosticError) this.infos.set(abs, e);
      throw e;
    }
  }

  /** Results shared by every stack of this loader, keyed by the identity of their inputs. */
  readonly memo = new Map<string, unknown>();

  /** A number naming an object's identity (0 for undefined). */
  id(o: object | undefined): number {
    if (!o) return 0;
    let v = this.ids.get(o);
    if (v === undefined) {
      v = this.nextId++;
      this.ids.set(o, v);
    }
    return v;
  }

  /** Atmos merges of override maps, keeping identity where the result is one of the inputs. */
  private mergeOv(list: Ov[]): Ov {
    const xs: Section[] = [];
    for (const v of list) {
      if (isEmptyMap(v)) continue;
      // merge(a, a) == a except under `append` (where Atmos really duplicates list items).
      if (this.strategy !== 'append' && xs.length && xs[xs.length - 1] === v) continue;
      xs.push(v!);
    }
    if (!xs.length) return undefined;
    if (xs.length === 1) return xs[0];
    return atmosMergeMaps(xs, this.strategy);
  }

  /** A file's own content with the overrides that reach it set on each of its components. */
  private applyOverrides(info: FileInfo, finals: Record<StackComponentType, Ov>): Section {
    const apply = STACK_COMPONENT_TYPES.filter((t) => finals[t] && info.ownComponents[t].length);
    if (!apply.length) return info.content;
    const content = copy(info.content);
    const comps = copy(mapAt(content, 'components')!);
    content.components = comps;
    for (const t of apply) {
      const byName = copy(mapAt(comps, t)!);
      comps[t] = byName;
      const final = finals[t]!;
      for (const name of info.ownComponents[t]) {
        const c = byName[name];
        const nc = c !== null && typeof c === 'object' && !Array.isArray(c) ? copy(c as Section) : ({} as Section);
        if (!locsOf(nc)) ensureLocs(nc, locOf(byName, name));
        nc.overrides = final;
        const self = locsOf(final)?.self;
        if (self) setEntryLoc(nc, 'overrides', self);
        byName[name] = nc;
      }
    }
    return content;
  }

  /** Merged content, hash-consed by the identity of its parts. */
  private content(abs: string, finals: Record<StackComponentType, Ov>, info: FileInfo, children: Section[]): Section {
    const tf = info.ownComponents.terraform.length ? this.id(finals.terraform) : 0;
    const hf = info.ownComponents.helmfile.length ? this.id(finals.helmfile) : 0;
    // The file as read in its import context (one rendering per context): the same file imported twice with two contexts is two contents.
    let key = `${abs}|${this.id(info)}|${tf}|${hf}`;
    for (const c of children) key += `,${this.id(c)}`;
    let hit = this.contents.get(key);
    if (hit) return hit;
    const own = this.applyOverrides(info, finals);
    const parts = isEmptyMap(own) ? children : [...children, own];
    hit = parts.length === 0 ? EMPTY_SECTION : parts.length === 1 ? parts[0] : (atmosMergeAll(parts, this.strategy) as Section);
    this.contents.set(key, hit);
    return hit;
  }

  /** Process one file in an override context (memoized on the context's identity). */
  visit(abs: string, ctx: Flow, chain: ChainEntry[]): VisitResult {
    const key = `${abs}|${this.id(ctx.inline.terraform)}|${this.id(ctx.imports.terraform)}|${this.id(ctx.inline.helmfile)}|${this.id(ctx.imports.helmfile)}|${ctx.context?.key ?? ''}`;
    const hit = this.visits.get(key);
    if (hit) return hit;
    const info = this.info(abs, ctx.context);
    const entry: ChainEntry = { abs, file: info.file };
    chain.push(entry);
    try {
      const r = this.walk(info, info.imports, abs, ctx, chain, entry);
      this.visits.set(key, r);
      return r;
    } finally {
      chain.pop();
    }
  }

  /**
   * The context an import entry passes on: its own `context` deep-merged under the one that
   * reached the importing file (Atmos: "the parent context takes precedence"), and the entry's
   * flags. None when templating is off or no context is involved.
   */
  private contextFor(spec: ImportSpec, parent: ImportContext | undefined): ImportContext | undefined {
    if (!this.templates?.enabled || (!spec.context && !parent)) return undefined;
    const values = spec.context && parent ? (deepMerge(spec.context, parent.values, this.strategy) as Section) : (parent?.values ?? spec.context ?? {});
    if (isEmptyMap(values)) return undefined;
    const skip = spec.skip_templates_processing === true;
    const ignoreMissing = spec.ignore_missing_template_values === true;
    return { values, skip, ignoreMissing, key: `${skip ? 's' : ''}${ignoreMissing ? 'i' : ''}${JSON.stringify(values)}` };
  }

  /**
   * An import path holding a template, rendered as Atmos `renderImportPath` renders it: with
   * the `settings`, `vars` and `env` of the imports listed before it in the same file, the
   * import's context over them, `missingkey=error` unless the import ignores missing values.
   * (Atmos also seeds these sections from the importing file's own importer; not done here.)
   */
  private renderedPath(spec: ImportSpec, earlier: Section[], context: ImportContext | undefined): ImportSpec {
    const settings = this.templates;
    if (!settings?.enabled || spec.skip_templates_processing || !spec.path.includes(settings.delimiters[0])) return spec;
    let data: unknown = {};
    for (const c of earlier) data = deepMerge(data, { settings: c.settings ?? {}, vars: c.vars ?? {}, env: c.env ?? {} }, this.strategy);
    if (context) data = deepMerge(data, context.values, this.strategy);
    const ignoreMissing = spec.ignore_missing_template_values === true;
    try {
      return { ...spec, path: renderTemplate(spec.path, data, renderOptionsFor(settings, ignoreMissing ? 'default' : 'error')) };
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      fail(
        'stacks/template',
        `import path "${spec.path}": ${e.message}`,
        spec.location,
        "define the value in an earlier import of this file or in the import's context, or set ignore_missing_template_values: true on the import",
      );
    }
  }

  /** The body shared by a real file and the virtual top-level stack (`info` absent). */
  walk(info: FileInfo | undefined, imports: ImportSpec[], fromAbs: string | undefined, ctx: Flow, chain: ChainEntry[], self: ChainEntry | undefined): VisitResult {
    const inline: Record<StackComponentType, Ov> = {
      terraform: this.mergeOv([info?.inline.terraform, ctx.inline.terraform]),
      helmfile: this.mergeOv([info?.inline.helmfile, ctx.inline.helmfile]),
    };
    const acc: Record<StackComponentType, Ov> = { terraform: ctx.imports.terraform, helmfile: ctx.imports.helmfile };
    const children: Section[] = [];
    const seen = new Set<string>();
    const files: string[] = [];
    for (const spec of imports) {
      const context = this.contextFor(spec, ctx.context);
      const matches = this.imports.resolve(this.renderedPath(spec, children, context), fromAbs);
      if (!matches.length) continue;
      if (self) self.via = spec.location;
      const start: Flow = { inline, imports: { terraform: acc.terraform, helmfile: acc.helmfile }, ...(context ? { context } : {}) };
      const results: VisitResult[] = [];
      for (const m of matches) {
        const i = chain.findIndex((c) => c.abs === m);
        if (i >= 0) {
          const names = [...chain.slice(i).map((c) => c.file), displayPath(this.repoRoot, m)];
          fail(
            'stacks/import-cycle',
            `import cycle: ${names.join(' → ')}`,
            // At the import that closes the cycle (issue 13 item 7): the entry to remove.
            spec.location ?? chain[i].via,
            'a stack file must not import itself, directly or through other imports; remove one of these imports',
          );
        }
        results.push(this.visit(m, start, chain));
      }
      for (const r of results) {
        for (const t of STACK_COMPONENT_TYPES) acc[t] = this.mergeOv([acc[t], r.out.imports[t], r.out.inline[t]]);
        children.push(r.content);
        for (const f of r.files) {
          if (!seen.has(f)) {
            seen.add(f);
            files.push(f);
          }
        }
      }
    }
    const finals: Record<StackComponentType, Ov> = {
      terraform: this.mergeOv([acc.terraform, inline.terraform]),
      helmfile: this.mergeOv([acc.helmfile, inline.helmfile]),
    };
    let content: Section;
    if (info) {
      content = this.content(info.abs, finals, info, children);
      if (!seen.has(info.abs)) files.push(info.abs);
    } else {
      content = children.length === 0 ? EMPTY_SECTION : children.length === 1 ? children[0] : (atmosMergeAll(children, this.strategy) as Section);
    }
    return { content, out: { inline, imports: acc }, files };
  }
}

function copy(m: Section): Section {
  const out: Section = { ...m };
  copyLocs(m, out);
  return out;
}

const LOADERS = new WeakMap<YamlFileCache, Map<string, StackLoader>>();

export function loaderFor(opts: StackLoadOptions, files?: YamlFileCache): StackLoader {
  const cache = files ?? new YamlFileCache(opts.repoRoot);
  let byKey = LOADERS.get(cache);
  if (!byKey) {
    byKey = new Map();
    LOADERS.set(cache, byKey);
  }
  const base = path.resolve(opts.stacksBasePath);
  const key = `${path.resolve(opts.repoRoot)}\0${base}\0${opts.listMergeStrategy}\0${JSON.stringify(opts.templates ?? null)}`;
  let l = byKey.get(key);
  if (!l) {
    l = new StackLoader(cache, path.resolve(opts.repoRoot), base, opts.listMergeStrategy, opts.templates);
    byKey.set(key, l);
  }
  return l;
}

/** What resolveComponent needs; kept behind `LoadedStack.internal`. */
export interface StackInternal {
  loader: StackLoader;
  content: Section;
  /** Absolute files in merge order. */
  absFiles: string[];
  memo: Map<string, unknown>;
  /** atmos.yaml `integrations.github` (absent or empty: nothing to merge). */
  integrationsGithub?: Record<string, unknown>;
}

const NO_FLOW: Flow = { inline: { terraform: undefined, helmfile: undefined }, imports: { terraform: undefined, helmfile: undefined } };

/**
 * The virtual top-level stack whose imports are exactly `imports` (in order).
 * Throws a DiagnosticError (located) for missing imports, cycles, invalid files.
 */
export function loadStack(imports: ImportSpec[], opts: StackLoadOptions, files?: YamlFileCache): LoadedStack {
  const loader = loaderFor(opts, files);
  const r = loader.walk(undefined, imports, undefined, NO_FLOW, [], undefined);
  const warnings: Diagnostic[] = [];
  for (const f of r.files) warnings.push(...loader.info(f).warnings);
  const comps = mapAt(r.content, 'components');
  const names = (t: StackComponentType) => Object.keys(mapAt(comps, t) ?? {}).sort();
  const internal: StackInternal = {
    loader,
    content: r.content,
    absFiles: r.files,
    memo: new Map(),
    ...(opts.integrationsGithub && Object.keys(opts.integrationsGithub).length ? { integrationsGithub: opts.integrationsGithub } : {}),
  };
  return {
    files: r.files.map((f) => loader.info(f).file),
    included: [...new Set(r.files.flatMap((f) => loader.info(f).includes))].map((f) => displayPath(opts.repoRoot, f)).sort(),
    componentNames: { terraform: names('terraform'), helmfile: names('helmfile') },
    warnings,
    internal,
  };
}

export function internalOf(stack: LoadedStack): StackInternal {
  const i = stack.internal as StackInternal | undefined;
  if (!i || !(i.loader instanceof StackLoader)) throw new Error('resolveComponent: not a stack produced by loadStack()');
  return i;
}
