/**
 * `fmt` (and `validate --fix`): rewrite deployment files written in the short form
 * (./short-form.ts) into the long form, keeping comments, key order and quoting (the `yaml`
 * library's Document API edits the file's own node tree). Every file is validated first; an
 * invalid file means nothing is written, to any file. A rewrite is checked before it is
 * written: the new text must load to exactly what the old text meant.
 */
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../cache/cas.js';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/index.js';
import { parseYaml } from '../yaml/index.js';
import type { AtmosConfig } from './atmos.js';
import { loadDeploymentFile, type DeclaredComponentType } from './deployment.js';
import { findDeploymentFile, listDeploymentFiles } from './deployment-files.js';
import type { YamlFileCache } from './files.js';
import { componentOfName, isShortForm, normaliseDeploymentDocument } from './short-form.js';

export interface FormatResult {
  deployment: string;
  /** Repository-relative path. */
  file: string;
  /** Whether the file is (or was) rewritten into the long form. */
  rewrite: boolean;
}

type YamlLib = typeof import('yaml');
type Doc = ReturnType<YamlLib['parseDocument']>;
type YMap = InstanceType<YamlLib['YAMLMap']>;

/** Comments of a node carried to the node that replaces it. */
function moveComments(from: { commentBefore?: string | null; comment?: string | null; spaceBefore?: boolean }, to: typeof from): void {
  if (from.commentBefore) to.commentBefore = from.commentBefore;
  if (from.comment) to.comment = from.comment;
  if (from.spaceBefore) to.spaceBefore = true;
}

/** Lists of names under `components:` replaced by the long form's mappings; whether any was. */
function expandComponentLists(Y: YamlLib, doc: Doc, cfg: AtmosConfig, body: YMap): boolean {
  const components = body.get('components', true);
  if (!Y.isMap(components)) return false;
  let changed = false;
  for (const pair of components.items) {
    const type = Y.isScalar(pair.key) ? String(pair.key.value) : undefined;
    if ((type !== 'terraform' && type !== 'nixpack') || !Y.isSeq(pair.value)) continue;
    const list = pair.value;
    // An anchored list stays what its aliases meant: each alias becomes a copy of the list.
    const anchor = list.anchor;
    if (anchor) {
      Y.visit(doc, {
        Alias: (_, node) => {
          if (node.source !== anchor) return undefined;
          const copy = list.clone() as typeof list;
          copy.anchor = undefined;
          return copy;
        },
      });
    }
    const map = new Y.YAMLMap();
    moveComments(list, map);
    for (const item of list.items) {
      if (!Y.isScalar(item) || typeof item.value !== 'string') return false; // validated before: not reached
      const value = doc.createNode(componentOfName(cfg, type, item.value)) as YMap;
      if (value.items.length === 0) value.flow = true;
      const key = new Y.Scalar(item.value);
      moveComments(item, key);
      map.items.push(new Y.Pair(key, value));
    }
    pair.value = map;
    changed = true;
  }
  return changed;
}

/**
 * The long form of a deployment file's text, or undefined when it is already written so.
 * The text must be a valid deployment file (load it first).
 */
export async function longFormText(cfg: AtmosConfig, text: string): Promise<string | undefined> {
  const Y = (await import('yaml')) as YamlLib;
  const doc = Y.parseDocument(text, { keepSourceTokens: false, uniqueKeys: true });
  const root = doc.contents;
  if (!Y.isMap(root)) return undefined;
  const short = isShortForm(root.toJSON());
  const body = short ? root : root.get('deployment', true);
  if (!Y.isMap(body)) return undefined;
  const expanded = expandComponentLists(Y, doc, cfg, body);
  if (!short && !expanded) return undefined;
  if (short) {
    const wrapper = new Y.YAMLMap();
    const key = new Y.Scalar('deployment');
    // The file's opening comment stays above its first line; the rest move with their keys.
    const first = root.items[0]?.key;
    if (root.commentBefore) {
      key.commentBefore = root.commentBefore;
      root.commentBefore = undefined;
    } else if (Y.isScalar(first) && first.commentBefore) {
      key.commentBefore = first.commentBefore;
      first.commentBefore = undefined;
    }
    if (root.comment) {
      wrapper.comment = root.comment;
      root.comment = undefined;
    }
    root.flow = false;
    wrapper.items.push(new Y.Pair(key, root));
    (doc as { contents: unknown }).contents = wrapper;
  }
  return doc.toString({ lineWidth: 0 });
}

/** What a deployment file's text means (its long form, as plain JSON). */
function meaning(cfg: AtmosConfig, text: string, file: string): string {
  const top = { file, line: 1, col: 1 };
  return JSON.stringify(normaliseDeploymentDocument(cfg, parseYaml(text, file, { positions: false }).value, top).value);
}

/**
 * Validate the named deployment files (all with `'all'`) and rewrite those in the short form
 * into the long form; `check`: write nothing, only report which a rewrite is due for. Throws
 * the diagnostics of every invalid file before writing anything.
 */
export async function formatDeploymentFiles(
  cfg: AtmosConfig,
  files: YamlFileCache,
  names: string[] | 'all',
  types: readonly DeclaredComponentType[],
  opts: { check?: boolean } = {},
): Promise<FormatResult[]> {
  const found = names === 'all' ? listDeploymentFiles(cfg) : names.map((n) => findDeploymentFile(cfg, n));
  const problems: Diagnostic[] = [];
  const loaded: { deployment: string; abs: string; file: string; text: string }[] = [];
  for (const f of found) {
    try {
      const dep = loadDeploymentFile(cfg, f.abs, files, types);
      loaded.push({ deployment: dep.name, abs: f.abs, file: dep.file, text: readFileSync(f.abs, 'utf8') });
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      problems.push(...e.diagnostics);
    }
  }
  if (problems.length) throw new DiagnosticError(problems);
  const results: FormatResult[] = [];
  const writes: { abs: string; text: string; mode: number }[] = [];
  for (const f of loaded) {
    let next: string | undefined;
    try {
      next = await longFormText(cfg, f.text);
    } catch (e) {
      // The yaml library refused to render the edited document: report it, write nothing.
      throw new DiagnosticError(
        error(
          'fmt/rewrite-failed',
          `cannot rewrite ${f.file} into the long form (${(e as Error).message}); nothing was written`,
          { file: f.file, line: 1, col: 1 },
          'rewrite it by hand (and report this)',
        ),
        'failed',
      );
    }
    results.push({ deployment: f.deployment, file: f.file, rewrite: next !== undefined });
    if (next === undefined) continue;
    if (meaning(cfg, next, f.file) !== meaning(cfg, f.text, f.file)) {
      throw new DiagnosticError(
        error(
          'fmt/changed-meaning',
          `rewriting ${f.file} into the long form would change what it means; nothing was written`,
          { file: f.file, line: 1, col: 1 },
          'rewrite it by hand (and report this)',
        ),
        'failed',
      );
    }
    writes.push({ abs: f.abs, text: next, mode: statSync(f.abs).mode & 0o777 });
  }
  if (!opts.check) for (const w of writes) writeFileAtomic(w.abs, w.text, w.mode);
  return results;
}
