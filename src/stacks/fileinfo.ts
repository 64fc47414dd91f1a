/**
 * One stack file, read once per process and checked once: its own configuration (without
 * `import` and `name`), its import entries, its own `overrides`, the components it defines
 * itself (its `!include` functions evaluated, ./include.ts), and whether it holds Go templates
 * that stay as written (templating off in atmos.yaml). With templating on they are evaluated:
 * with an import's `context` (and in `.tmpl` files) when the file is read, and in each
 * component's merged configuration by src/resolve/go-templates.ts.
 *
 * Every structural problem is a located error (file:line:col of the offending value).
 */
import { DiagnosticBag, DiagnosticError, choicesHint, didYouMean, type Diagnostic, type Location } from '../diagnostics/index.js';
import { readFileSync } from 'node:fs';
import type { TemplateSettings } from '../config/atmos.js';
import { displayPath, type YamlFileCache } from '../config/files.js';
import { positionIn, renderOptionsFor, renderTemplate, TemplateError } from '../gotemplate/index.js';
import { copyLocs, describeType, isPlainMap, locOf, locsOf, parseYaml } from '../yaml/index.js';
import { LIST_MERGE_STRATEGIES, type ListMergeStrategy } from './merge.js';
import { atmosMergeMaps } from './amerge.js';
import { expandIncludes } from './include.js';
import type { ImportSpec } from './types.js';

/**
 * The component kinds an Atmos stack file defines (`components.terraform`, `components.helmfile`):
 * not the kinds a deployment builds (config/names.ts `ComponentType`: terraform, nixpack).
 */
export type StackComponentType = 'terraform' | 'helmfile';
export const STACK_COMPONENT_TYPES: readonly StackComponentType[] = ['terraform', 'helmfile'];

export type Section = Record<string, unknown>;

/** Keys an import written as a mapping may have (Atmos `StackImport`). */
const IMPORT_KEYS = ['path', 'context', 'skip_if_missing', 'skip_templates_processing', 'ignore_missing_template_values'];

export interface FileInfo {
  abs: string;
  /** Repository-relative path (as used in locations). */
  file: string;
  /** The file's own configuration without `import` and `name` (empty map for an empty file). */
  content: Section;
  imports: ImportSpec[];
  /** `overrides` merged with `terraform.overrides` / `helmfile.overrides` (the latter win); undefined when empty. */
  inline: Record<StackComponentType, Section | undefined>;
  /** Components this file defines itself, per type. */
  ownComponents: Record<StackComponentType, string[]>;
  /** Warnings for this file (unevaluated YAML functions, unknown import keys). */
  warnings: Diagnostic[];
  /** Absolute paths of the files its `!include`s read. */
  includes: string[];
}

const at = (file: string, loc: Location | undefined): Location => loc ?? { file, line: 1, col: 1 };

/** The map at `m[key]` when it is one. */
export function mapAt(m: unknown, key: string): Section | undefined {
  if (!isPlainMap(m)) return undefined;
  const v = m[key];
  return isPlainMap(v) ? v : undefined;
}

export function isEmptyMap(m: Section | undefined): boolean {
  if (!m) return true;
  for (const _k in m) return false;
  return true;
}

class Checker {
  readonly bag = new DiagnosticBag();
  constructor(readonly file: string) {}

  /** `container[key]` must be a mapping (or absent / null). Returns it when it is one. */
  map(container: Section, key: string, where: string): Section | undefined {
    const v = container[key];
    if (v === undefined || v === null) return undefined;
    if (!isPlainMap(v)) {
      this.bag.error('stacks/type', `${where} must be a mapping, got ${describeType(v)}`, at(this.file, locOf(container, key)), `write "key: value" pairs under ${key}:`);
      return undefined;
    }
    return v;
  }

  string(container: Section, key: string, where: string, hint?: string): string | undefined {
    const v = container[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.bag.error('stacks/type', `${where} must be a string, got ${describeType(v)}`, at(this.file, locOf(container, key)), hint ?? 'quote the value to make it a string');
      return undefined;
    }
    return v;
  }

  bool(container: Section, key: string, where: string): void {
    const v = container[key];
    if (v === undefined || v === null) return;
    if (typeof v !== 'boolean') this.bag.error('stacks/type', `${where} must be true or false, got ${describeType(v)}`, at(this.file, locOf(container, key)), 'write true or false (unquoted)');
  }

  /** `settings.list_merge_strategy`, when present, must name a strategy. */
  settings(settings: Section | undefined, where: string): void {
    if (!settings) return;
    const s = this.string(settings, 'list_merge_strategy', `${where}.list_merge_strategy`);
    if (s !== undefined && s !== '' && !(LIST_MERGE_STRATEGIES as readonly string[]).includes(s)) {
      this.bag.error(
        'stacks/list-merge-strategy',
        `${where}.list_merge_strategy must be replace, append or merge, got "${s}"`,
        at(this.file, locOf(settings, 'list_merge_strategy')),
        choicesHint(s, [...LIST_MERGE_STRATEGIES]),
      );
    }
  }

  /** vars/settings/env/providers/... of a scope. */
  sections(m: Section, where: string, opts: { providers?: boolean; backend?: boolean } = {}): void {
    this.map(m, 'vars', `${where}.vars`);
    this.settings(this.map(m, 'settings', `${where}.settings`), `${where}.settings`);
    this.map(m, 'env', `${where}.env`);
    if (opts.providers) this.map(m, 'providers', `${where}.providers`);
    if (opts.backend) {
      this.string(m, 'backend_type', `${where}.backend_type`, 'name the backend, e.g. backend_type: s3');
      this.map(m, 'backend', `${where}.backend`);
      this.string(m, 'remote_state_backend_type', `${where}.remote_state_backend_type`);
      this.map(m, 'remote_state_backend', `${where}.remote_state_backend`);
    }
    this.string(m, 'command', `${where}.command`);
  }

  overrides(m: Section, where: string): Section | undefined {
    const w = where ? `${where}.overrides` : 'overrides';
    const o = this.map(m, 'overrides', w);
    if (o) this.sections(o, w, { providers: true });
    return o;
  }
}

/**
 * An import path holding a Go template while templating is off: Atmos keeps the path as
 * written and skips the import when no file matches, which silently drops configuration.
 */
function templatedPath(ck: Checker, p: string, loc: Location): void {
  if (p.includes('{{'))
    ck.bag.warn(
      'stacks/import-template',
      `import path "${p}" holds a Go template but templating is off, so it is kept as written and skipped when no file matches it`,
      loc,
      'enable templates in atmos.yaml (templates.settings.enabled: true) or write the path literally',
    );
}

function parseImports(ck: Checker, content: Section, pathsRendered: boolean): ImportSpec[] {
  const raw = content.import;
  if (raw === undefined || raw === null) return [];
  const file = ck.file;
  if (!Array.isArray(raw)) {
    ck.bag.error(
      'stacks/import-type',
      `"import" must be a list of stack paths or {path, context, skip_if_missing} entries, got ${describeType(raw)}`,
      at(file, locOf(content, 'import')),
      'write each import as a list item, e.g.\n    import:\n      - catalog/vpc',
    );
    return [];
  }
  const out: ImportSpec[] = [];
  raw.forEach((entry, i) => {
    const loc = at(file, locOf(raw, i));
    if (typeof entry === 'string') {
      if (entry.trim() === '') ck.bag.error('stacks/import-empty', 'an import path must not be empty', loc, 'remove the entry or name a stack file');
      else {
        if (!pathsRendered) templatedPath(ck, entry, loc);
        out.push({ path: entry, location: loc });
      }
      return;
    }
    if (!isPlainMap(entry)) {
      ck.bag.error(
        'stacks/import-type',
        `an import entry must be a path or a mapping {path, context, skip_if_missing}, got ${describeType(entry)}`,
        loc,
        'write "- catalog/vpc" or "- path: catalog/vpc"',
      );
      return;
    }
    for (const k of Object.keys(entry)) {
      if (!IMPORT_KEYS.includes(k)) {
        const guess = didYouMean(k, IMPORT_KEYS);
        ck.bag.warn(
          'stacks/import-unknown-key',
          `unknown key "${k}" in an import entry (ignored)`,
          at(file, locsOf(entry)?.keys.get(k) ?? loc),
          guess ? `did you mean "${guess}"?` : `import entries take ${IMPORT_KEYS.join(', ')}`,
        );
      }
    }
    const p = entry.path;
    if (typeof p !== 'string' || p.trim() === '') {
      ck.bag.error(
        'stacks/import-path',
        p === undefined || p === null ? 'an import entry needs a "path"' : `an import "path" must be a non-empty string, got ${describeType(p)}`,
        at(file, locOf(entry, 'path') ?? locOf(entry)),
        'e.g. "- path: catalog/vpc"',
      );
      return;
    }
    if (!pathsRendered) templatedPath(ck, p, at(file, locOf(entry, 'path') ?? loc));
    ck.bool(entry, 'skip_if_missing', 'import skip_if_missing');
    ck.bool(entry, 'skip_templates_processing', 'import skip_templates_processing');
    ck.bool(entry, 'ignore_missing_template_values', 'import ignore_missing_template_values');
    const ctx = ck.map(entry, 'context', 'import context');
    out.push({
      path: p,
      ...(ctx ? { context: ctx } : {}),
      ...(entry.skip_if_missing === true ? { skip_if_missing: true } : {}),
      ...(entry.skip_templates_processing === true ? { skip_templates_processing: true } : {}),
      ...(entry.ignore_missing_template_values === true ? { ignore_missing_template_values: true } : {}),
      location: at(file, locOf(entry, 'path') ?? loc),
    });
  });
  return out;
}

function checkComponent(ck: Checker, type: StackComponentType, name: string, c: Section): void {
  const where = `components.${type}.${name}`;
  ck.sections(c, where, { providers: type === 'terraform', backend: type === 'terraform' });
  ck.overrides(c, where);
  ck.string(c, 'component', `${where}.component`, 'name the base component or the module directory');
  const meta = ck.map(c, 'metadata', `${where}.metadata`);
  if (!meta) return;
  ck.string(meta, 'component', `${where}.metadata.component`, 'name the Terraform root module directory, e.g. component: vpc');
  const t = ck.string(meta, 'type', `${where}.metadata.type`);
  if (t !== undefined && t !== 'abstract' && t !== 'real') {
    ck.bag.error('stacks/metadata-type', `${where}.metadata.type must be "abstract" or "real", got "${t}"`, at(ck.file, locOf(meta, 'type')), choicesHint(t, ['abstract', 'real']));
  }
  ck.bool(meta, 'enabled', `${where}.metadata.enabled`);
  const inh = meta.inherits;
  if (inh !== undefined && inh !== null) {
    if (!Array.isArray(inh)) {
      ck.bag.error(
        'stacks/inherits-type',
        `${where}.metadata.inherits must be a list of component names, got ${describeType(inh)}`,
        at(ck.file, locOf(meta, 'inherits')),
        'e.g. inherits: [vpc/defaults]',
      );
    } else {
      inh.forEach((b, i) => {
        if (typeof b !== 'string' || b === '') {
          ck.bag.error(
            'stacks/inherits-type',
            `${where}.metadata.inherits entries must be component names, got ${describeType(b)}`,
            at(ck.file, locOf(inh, i) ?? locOf(meta, 'inherits')),
            'list the names of the components to inherit from, e.g. inherits: [vpc/defaults]',
          );
        }
      });
    }
  }
}

/** A shallow copy of `m` without some keys, keeping positions. */
function without(m: Section, keys: string[]): Section {
  const out: Section = {};
  copyLocs(m, out);
  for (const k of Object.keys(m)) {
    if (keys.includes(k)) continue;
    out[k] = m[k];
  }
  return out;
}

/**
 * How a stack file's text is rendered as a Go template before it is parsed (Atmos
 * `processYAMLConfigFileWithContextInternal`): a `.tmpl` file always, any file imported with
 * a `context`. `explicit` says the context came from an import entry: then a failure is an
 * error (Atmos `missingkey=error`, unless the import sets `ignore_missing_template_values`);
 * a `.tmpl` file without one that fails is read as it is, and its templates are evaluated
 * later with the component's context, as Atmos falls back to the raw content.
 */
export interface FileTemplating {
  settings: TemplateSettings;
  context: Section;
  explicit: boolean;
  ignoreMissing: boolean;
}

/** The file's text rendered with its import context, or undefined when it is read as it is. */
function renderedText(abs: string, file: string, t: FileTemplating | undefined): string | undefined {
  if (!t?.settings.enabled || !(abs.endsWith('.tmpl') || t.explicit)) return undefined;
  const text = readFileSync(abs, 'utf8');
  if (!text.includes(t.settings.delimiters[0])) return undefined;
  try {
    return renderTemplate(text, t.context, renderOptionsFor(t.settings, t.ignoreMissing ? 'default' : 'error'));
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    if (!t.explicit) return undefined;
    throw new DiagnosticError([
      {
        severity: 'error',
        code: 'stacks/template',
        message: `${file}: ${e.message} (rendering the file with its import context ${JSON.stringify(t.context)})`,
        location: { file, ...positionIn(text, e.offset) },
        hint: "give the value in the import's context, or set ignore_missing_template_values: true on the import",
      },
    ]);
  }
}

export function readFileInfo(files: YamlFileCache, abs: string, strategy: ListMergeStrategy, templating?: FileTemplating): FileInfo {
  let parsed: { value: unknown; file: string; yamlFunctions: Location[]; goTemplates: Location[] };
  const rendered = renderedText(abs, displayPath(files.repoRoot, abs), templating);
  try {
    // Go templates are noted: where they stay as written (templating off), the file says so once.
    if (rendered === undefined) parsed = files.loadValid(abs, { detectGoTemplates: true });
    else {
      const file = displayPath(files.repoRoot, abs);
      const p = parseYaml(rendered, file);
      if (p.diagnostics.length) throw new DiagnosticError(p.diagnostics);
      parsed = { ...p, file };
    }
  } catch (e) {
    if (e instanceof DiagnosticError && abs.endsWith('.tmpl')) {
      throw new DiagnosticError(
        e.diagnostics.map((d) => ({
          ...d,
          hint: `${d.hint ? `${d.hint}; ` : ''}${rendered === undefined ? 'a .tmpl stack file that cannot be rendered without component context must also be valid YAML' : 'this is the file as rendered with its import context'}`,
        })),
      );
    }
    throw e;
  }
  const file = parsed.file;
  const ck = new Checker(file);
  // `!include` is evaluated now, relative to this manifest; the other functions after merging.
  const includes: string[] = [];
  const value = parsed.yamlFunctions.length ? expandIncludes(files, parsed.value, abs, includes) : parsed.value;
  let root: Section = {};
  if (value !== null && value !== undefined) {
    if (!isPlainMap(value)) {
      throw new DiagnosticError(
        ck.bag.items.concat({
          severity: 'error',
          code: 'stacks/type',
          message: `a stack file must be a mapping, got ${describeType(value)}`,
          location: at(file, locOf(value)),
          hint: 'a stack file holds keys such as import, vars, terraform and components',
        }),
      );
    }
    root = value;
  }

  // With templating on, import paths are rendered when the imports are walked (load.ts).
  const templatesOn = templating?.settings.enabled === true;
  const imports = parseImports(ck, root, templatesOn);
  return { abs, file, includes, ...check(ck, root, imports, templatesOn ? [] : parsed.goTemplates, strategy) };
}

function check(
  ck: Checker,
  root: Section,
  imports: ImportSpec[],
  goTemplates: Location[],
  strategy: ListMergeStrategy,
): Pick<FileInfo, 'content' | 'imports' | 'inline' | 'ownComponents' | 'warnings'> {
  const file = ck.file;
  ck.map(root, 'vars', 'vars');
  ck.settings(ck.map(root, 'settings', 'settings'), 'settings');
  ck.map(root, 'env', 'env');
  const globalOverrides = ck.overrides(root, '');
  const inline: Record<StackComponentType, Section | undefined> = { terraform: undefined, helmfile: undefined };
  for (const type of STACK_COMPONENT_TYPES) {
    const sec = ck.map(root, type, type);
    let typeOverrides: Section | undefined;
    if (sec) {
      ck.sections(sec, type, { providers: type === 'terraform', backend: type === 'terraform' });
      typeOverrides = ck.overrides(sec, type);
    }
    const parts = [globalOverrides, typeOverrides].filter((x): x is Section => !isEmptyMap(x));
    inline[type] = parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : atmosMergeMaps(parts, strategy);
  }
  const ownComponents: Record<StackComponentType, string[]> = { terraform: [], helmfile: [] };
  const comps = ck.map(root, 'components', 'components');
  if (comps) {
    for (const type of STACK_COMPONENT_TYPES) {
      const byName = ck.map(comps, type, `components.${type}`);
      if (!byName) continue;
      for (const [name, c] of Object.entries(byName)) {
        ownComponents[type].push(name);
        if (c === null || c === undefined) continue;
        if (!isPlainMap(c)) {
          ck.bag.error('stacks/type', `components.${type}.${name} must be a mapping, got ${describeType(c)}`, at(file, locOf(byName, name)), 'a component holds vars, settings, env, metadata, ...');
          continue;
        }
        checkComponent(ck, type, name, c);
      }
    }
  }
  ck.bag.throwIfErrors();

  const warnings = [...ck.bag.warnings];
  // A template in an import path has its own warning (import-template, load.ts).
  const firstTemplate = goTemplates.find((l) => !imports.some((i) => i.location?.line === l.line && i.location?.col === l.col));
  if (firstTemplate) {
    warnings.push({
      severity: 'warning',
      code: 'stacks/unevaluated-template',
      message: `${file} contains Go templates, and atmos.yaml leaves templates off (templates.settings.enabled): as Atmos does, their values are passed through unchanged`,
      location: firstTemplate,
      hint: 'set templates.settings.enabled: true in atmos.yaml to evaluate them, or write literal values',
    });
  }
  const content = 'import' in root || 'name' in root ? without(root, ['import', 'name']) : root;
  return { content, imports, inline, ownComponents, warnings };
}
