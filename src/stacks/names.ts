/**
 * Atmos stack names (issue 13): the name Atmos gives a stack, so a deployment's `stacks:` may
 * list `plat-ue2-dev` as well as a file path, and a component's workspace starts from the same
 * name. Precedence is Atmos's `resolveStackName` (internal/exec/describe_stacks_component_processor.go)
 * and `processStackContextPrefix` (internal/exec/utils.go):
 *
 *  1. the manifest's top-level `name:`;
 *  2. atmos.yaml `stacks.name_template`, rendered with the component's section (`.vars`,
 *     `.settings`, `.metadata`, ...) as data;
 *  3. atmos.yaml `stacks.name_pattern` (`{namespace}-{tenant}-{environment}-{stage}` parts
 *     from the component's vars, Atmos `GetContextFromVars(ComponentVarsSection)` then
 *     `GetContextPrefix`); a part the vars do not set makes Atmos fall back to the file name,
 *     and so does this;
 *  4. the file's path under `stacks.base_path` without its extension.
 *
 * A name is a component's: a stack file whose component overrides `stage` is, for that
 * component, another stack (Atmos `findComponentInStacks` matches `-s <stack>` per component).
 * {@link stackNameFor} is that one rule, for a deployment's components (src/resolve/workspace.ts)
 * and for the names a `stacks:` entry may use ({@link stackNames}: every name of every
 * component of every stack file; the stack's shared vars for a file with no component).
 * Names are worked out only when an entry is not a stack file (listing every stack costs a
 * full load); the result is cached per command.
 */
import path from 'node:path';
import { displayPath, type YamlFileCache } from '../config/files.js';
import { isDynamicPattern } from 'tinyglobby';
import { DiagnosticError, didYouMean, error, fail, type Diagnostic, type Location } from '../diagnostics/index.js';
import { renderOptionsFor, renderTemplate, TemplateError } from '../gotemplate/index.js';
import { isPlainMap } from '../yaml/index.js';
import { atmosMergeShared } from './amerge.js';
import { listStackFiles, type AllStacksOptions } from './all.js';
import { resolveComponent } from './components.js';
import { internalOf, loadStack, loaderFor } from './load.js';
import type { StackNaming } from '../config/atmos.js';
import type { ImportSpec } from './types.js';

/** One top-level stack file and a name Atmos gives it (one entry per distinct name). */
export interface NamedStack {
  name: string;
  /** Path under `stacks.base_path`, with its extension (usable as a `stacks:` entry). */
  path: string;
}

const PATTERN_PARTS = ['namespace', 'tenant', 'environment', 'stage'] as const;

/** Atmos `GetContextPrefix`: undefined when a part the pattern names is not set. */
export function fromPattern(pattern: string, vars: Record<string, unknown>): string | undefined {
  const out: string[] = [];
  for (const part of pattern.split('-')) {
    const key = PATTERN_PARTS.find((p) => part === `{${p}}`);
    if (!key) continue;
    const v = vars[key];
    if (typeof v !== 'string' || v === '') return undefined;
    out.push(v);
  }
  return out.join('-');
}

/**
 * An Atmos name template (`stacks.name_template`, `metadata.terraform_workspace_template`, a
 * `settings.depends_on` stack) rendered by the Go template engine with `data` as dot, Atmos's
 * functions and `missingkey=default`; a template error is located where it is written.
 */
export function renderNameTemplate(text: string, data: Record<string, unknown>, what: string, location: Location | undefined): string {
  try {
    return renderTemplate(text, data, renderOptionsFor({ delimiters: ['{{', '}}'], env: {}, sprig: true, gomplate: true }, 'default'));
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    throw new DiagnosticError(error('stacks/template', `${what}: ${e.message}`, location, 'see https://atmos.tools/core-concepts/stacks/templates for the functions Atmos provides'));
  }
}

/** What a stack is named for: one component in it, its merged sections. */
export interface NamingSubject {
  /** The Atmos component name. */
  component: string;
  /** The module it deploys (`metadata.component`, else its own name). */
  module: string;
  vars: Record<string, unknown>;
  settings: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** What Atmos's name templates see of a component (its sections and context). */
export function namingData(subject: NamingSubject, file: string): Record<string, unknown> {
  return { vars: subject.vars, settings: subject.settings, metadata: subject.metadata, component: subject.module, atmos_component: subject.component, atmos_stack_file: file };
}

/**
 * The Atmos name of a stack for one component in it (see the file comment): `file` is the
 * top-level manifest under the stacks base path without extension, `manifestName` its `name:`.
 */
export function stackNameFor(naming: StackNaming, stack: { file: string; manifestName?: string }, subject: NamingSubject): string {
  if (stack.manifestName) return stack.manifestName;
  if (naming.nameTemplate) return renderNameTemplate(naming.nameTemplate.text, namingData(subject, stack.file), 'atmos.yaml: stacks.name_template', naming.nameTemplate.location);
  if (naming.namePattern) return fromPattern(naming.namePattern, subject.vars) ?? stack.file;
  return stack.file;
}

/** Every top-level stack (atmos.yaml `included_paths` / `excluded_paths`) with its Atmos name. */
export function stackNames(opts: AllStacksOptions, naming: StackNaming, files: YamlFileCache): NamedStack[] {
  const key = `stack-names:${opts.stacksBasePath}\0${naming.namePattern ?? ''}\0${naming.nameTemplate?.text ?? ''}\0${(opts.included ?? []).join(',')}\0${(opts.excluded ?? []).join(',')}`;
  return files.memo(key, () =>
    listStackFiles(opts).flatMap((abs) => {
      const rel = path.relative(opts.stacksBasePath, abs).split(path.sep).join('/');
      const stem = rel.replace(/\.(ya?ml)(\.tmpl)?$/, '');
      const root = files.loadValid(abs).value;
      const own = isPlainMap(root) ? root.name : undefined;
      if (typeof own === 'string' && own !== '') return [{ name: own, path: rel }];
      if (!naming.nameTemplate && !naming.namePattern) return [{ name: stem, path: rel }];
      const stack = loadStack([{ path: rel, location: { file: displayPath(opts.repoRoot, abs), line: 1, col: 1 } }], opts, files);
      const subjects: NamingSubject[] = stack.componentNames.terraform.map((name) => {
        const c = resolveComponent(stack, 'terraform', name);
        return { component: name, module: c.component, vars: c.vars, settings: c.settings, metadata: c.metadata };
      });
      if (!subjects.length) {
        // No component: the stack's shared vars and settings (what every component would start from).
        const content = internalOf(stack).content;
        const tf = isPlainMap(content.terraform) ? content.terraform : {};
        const shared = (k: string) => atmosMergeShared([content[k], tf[k]], opts.listMergeStrategy);
        subjects.push({ component: '', module: '', vars: shared('vars'), settings: shared('settings'), metadata: {} });
      }
      const names = new Set(subjects.map((subject) => stackNameFor(naming, { file: stem }, subject)));
      return [...names].map((name) => ({ name, path: rel }));
    }),
  );
}

/**
 * The stack file Atmos names `name`, or a located error (at the `stacks:` entry) with a
 * did-you-mean over the known names and the forms an entry may take.
 */
function stackFileNamed(name: string, missing: Diagnostic, opts: AllStacksOptions, naming: StackNaming, files: YamlFileCache): string {
  const location = missing.location;
  const all = stackNames(opts, naming, files);
  const hits = all.filter((s) => s.name === name);
  if (hits.length === 1) return hits[0].path;
  const base = path.relative(opts.repoRoot, opts.stacksBasePath).split(path.sep).join('/') || '.';
  if (hits.length > 1) {
    fail(
      'stacks/stack-name-ambiguous',
      `stack name "${name}" names ${hits.length} stack files: ${hits.map((h) => `${base}/${h.path}`).join(', ')}`,
      location,
      'list the stack file path instead, or give one of them a distinct top-level name:',
    );
  }
  const names = [...new Set(all.map((s) => s.name))].sort();
  const guess = didYouMean(name, names);
  const how = `an entry is a stack file path under ${base}/ (extension optional, globs allowed) or an Atmos stack name (manifest name:, stacks.name_template or stacks.name_pattern in atmos.yaml)`;
  const known = names.length ? `; known stack names: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, … (${names.length} in all)` : ''}` : '';
  // The file lookup's own findings (what was tried, a close file name) stay in the message and hint.
  const tried = missing.message.replace(/^[^:]*: /, '');
  fail(
    'stacks/unknown-stack',
    `"${name}" is neither a stack file under ${base}/ nor the name of a stack (${tried})`,
    location,
    `${guess ? `did you mean the stack "${guess}"? ` : ''}${missing.hint ? `${missing.hint}; ` : ''}${how}${known}`,
  );
}

/**
 * `stacks:` entries with each one that names no stack file but an Atmos stack
 * (`plat-ue2-dev`) replaced by the file Atmos gives that name. Files are tried first, so
 * the names of all stacks are worked out only for an entry that is not one.
 */
export function withStackNames(imports: ImportSpec[], opts: AllStacksOptions, naming: StackNaming, files: YamlFileCache): ImportSpec[] {
  const resolver = loaderFor(opts, files).imports;
  return imports.map((spec) => {
    if (spec.skip_if_missing || isDynamicPattern(spec.path)) return spec;
    try {
      resolver.resolve(spec, undefined);
      return spec;
    } catch (e) {
      const missing = e instanceof DiagnosticError ? e.diagnostics[0] : undefined;
      if (missing?.code !== 'stacks/import-missing') throw e;
      return { ...spec, path: stackFileNamed(spec.path.trim(), missing, opts, naming, files) };
    }
  });
}
