/**
 * `!include <path> [query]` and `!include.raw <path>` (Atmos pkg/utils/yaml_include_by_extension.go),
 * evaluated when a manifest is loaded because the path is relative to it: the included value
 * replaces the tag before the manifest is checked and merged, so it merges like any value
 * written in the file (Atmos scenario atmos-yaml-functions-merge).
 *
 * A path starting with `./` or `../` is relative to the manifest's directory; any other is
 * tried relative to the manifest, then to the base path (the repository). The file must stay
 * inside the repository. `.yaml`/`.yml` and `.json` are parsed, `.tfvars`/`.hcl`/`.tf` parsed
 * as HCL, anything else (and every `!include.raw`) is the file's text. Remote URLs are refused.
 *
 * `!template` without a Go template is evaluated here too (see {@link includeValue}).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import type { YamlFileCache } from '../config/files.js';
import { containmentProblem } from '../config/paths.js';
import { isPlainMap } from '../yaml/index.js';
import { mapStrings } from '../yaml/map-strings.js';
import { jsonOrText, splitArgs, splitFunction } from '../yaml/functions.js';

const REMOTE = /^(https?|s3|gcs|git|oci|scp|sftp|github):\/\/|::/;
const MAX_DEPTH = 10;

/** Parsed HCL files by absolute path: filled asynchronously by {@link loadHclIncludes} (HCL's parser is asynchronous). */
const hclFiles = new Map<string, unknown>();

/** Thrown when a manifest includes an HCL file not parsed yet: the caller parses them ({@link loadHclIncludes}) and loads again. */
export class HclIncludesNeeded extends Error {
  constructor(readonly files: string[]) {
    super(`HCL files to parse first: ${files.join(', ')}`);
  }
}

/** Parse the HCL files a load asked for, so that loading again finds them. */
async function loadHclIncludes(e: HclIncludesNeeded): Promise<void> {
  const { parseHclFile } = await import('../hcl/index.js');
  for (const f of e.files) hclFiles.set(f, await parseHclFile(f));
}

/**
 * Runs a load of stacks, again after parsing the HCL files its `!include`s asked for (HCL's
 * parser is asynchronous, stack loading is not). Each pass parses new files only, so it ends.
 */
export async function withHclIncludes<T>(load: () => T | Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await load();
    } catch (e) {
      if (!(e instanceof HclIncludesNeeded)) throw e;
      await loadHclIncludes(e);
    }
  }
}

/** A simple yq path (`.`, `.a.b`, `.list[0]`) as keys; undefined for any other expression. */
function yqPath(q: string): (string | number)[] | undefined {
  if (q === '.') return [];
  if (!/^(\.[A-Za-z0-9_-]+|\[\d+\])+$/.test(q)) return undefined;
  return [...q.matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

/** Where an include path points: the file found, or the refusal. */
function locate(repoRoot: string, manifest: string, p: string, location: Location): { abs: string } | { problem: Diagnostic } {
  if (REMOTE.test(p)) {
    return { problem: error('yaml/include-remote', `!include ${p}: remote includes are not supported`, location, 'vendor the file into the repository and include it by its path') };
  }
  const relative = /^\.\.?([/\\]|$)/.test(p);
  const candidates = path.isAbsolute(p) ? [p] : relative ? [path.resolve(path.dirname(manifest), p)] : [path.resolve(path.dirname(manifest), p), path.resolve(repoRoot, p)];
  const abs = candidates.find((c) => existsSync(c));
  if (!abs) {
    return {
      problem: error(
        'yaml/include-missing',
        `!include ${p}: no such file (tried ${candidates.map((c) => path.relative(repoRoot, c) || '.').join(', ')})`,
        location,
        'a path starting with ./ or ../ is relative to the manifest; any other, relative to the manifest or to the repository root',
      ),
    };
  }
  const problem = containmentProblem(repoRoot, abs, { what: '!include', value: p, location });
  return problem ? { problem } : { abs };
}

/** The value of one include (before its query). Undefined when a problem was reported. */
function load(files: YamlFileCache, abs: string, raw: boolean, missingHcl: string[], depth: number, problems: Diagnostic[], read: string[]): unknown {
  read.push(abs);
  if (raw) return readFileSync(abs, 'utf8');
  const ext = path.extname(abs).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return expandIn(files, files.loadValid(abs).value, abs, problems, missingHcl, depth + 1, read);
  if (ext === '.json') return JSON.parse(readFileSync(abs, 'utf8')) as unknown;
  if (ext === '.tfvars' || ext === '.hcl' || ext === '.tf') {
    if (!hclFiles.has(abs)) missingHcl.push(abs);
    return hclFiles.get(abs);
  }
  return readFileSync(abs, 'utf8');
}

/** The value of `!include`/`!include.raw` written as `s` at `location` in `manifest`; undefined when it is not one. */
function includeValue(
  files: YamlFileCache,
  manifest: string,
  s: string,
  location: Location,
  problems: Diagnostic[],
  missingHcl: string[],
  depth: number,
  read: string[],
): { value: unknown } | undefined {
  const fn = splitFunction(s);
  // A `!template` needing no Go template has the same value now as after merging: evaluated
  // now, its map or list deep-merges with the other layers' as Atmos's deferred merge does.
  if (fn?.tag === '!template' && !fn.args.includes('{{')) return { value: jsonOrText(fn.args) };
  if (!fn || (fn.tag !== '!include' && fn.tag !== '!include.raw')) return undefined;
  const args = splitArgs(fn.args);
  if ('error' in args || args.length === 0) {
    problems.push(error('yaml/include-args', `${fn.tag}: ${'error' in args ? args.error : 'no path given'}`, location, `write ${fn.tag} <path>${fn.tag === '!include' ? ' [yq query]' : ''}`));
    return { value: undefined };
  }
  if (depth > MAX_DEPTH) {
    problems.push(error('yaml/include-depth', `${s}: includes nested deeper than ${MAX_DEPTH} levels`, location, 'an included file includes itself, directly or through others'));
    return { value: undefined };
  }
  const where = locate(files.repoRoot, manifest, args[0].value, location);
  if ('problem' in where) {
    problems.push(where.problem);
    return { value: undefined };
  }
  let value: unknown;
  try {
    value = load(files, where.abs, fn.tag === '!include.raw', missingHcl, depth, problems, read);
  } catch (e) {
    if (e instanceof DiagnosticError) problems.push(...e.diagnostics);
    else problems.push(error('yaml/include-parse', `${s}: ${(e as Error).message}`, location));
    return { value: undefined };
  }
  const query = fn.tag === '!include' && args.length > 1 ? fn.args.slice(args[1].start).trim() : undefined;
  if (query === undefined) return { value };
  const keys = yqPath(query);
  if (!keys) {
    problems.push(
      error('yaml/include-query', `${s}: only simple yq paths (.a.b, .list[0]) are supported, not "${query}"`, location, 'include the file and select the value with a simple path, or split the file'),
    );
    return { value: undefined };
  }
  for (const k of keys) value = isPlainMap(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[k] : undefined;
  return { value: value ?? null };
}

/** `value` with every include evaluated. */
function expandIn(files: YamlFileCache, value: unknown, manifest: string, problems: Diagnostic[], missingHcl: string[], depth: number, read: string[]): unknown {
  const fallback: Location = { file: path.relative(files.repoRoot, manifest), line: 1, col: 1 };
  return mapStrings(value, fallback, (s, loc) => {
    const r = includeValue(files, manifest, s, loc, problems, missingHcl, depth, read);
    return r ? r.value : s;
  });
}

/**
 * A manifest's value with its `!include`/`!include.raw` functions evaluated. Throws a
 * DiagnosticError for a refused include, or {@link HclIncludesNeeded} when an HCL file must be
 * parsed first. `read` receives the absolute path of every file included (nested ones too):
 * they are inputs of the stack as much as the manifest itself (src/affected, clean releases).
 */
export function expandIncludes(files: YamlFileCache, value: unknown, manifest: string, read: string[] = []): unknown {
  const problems: Diagnostic[] = [];
  const missingHcl: string[] = [];
  const out = expandIn(files, value, manifest, problems, missingHcl, 0, read);
  if (problems.length) throw new DiagnosticError(problems);
  if (missingHcl.length) throw new HclIncludesNeeded([...new Set(missingHcl)]);
  return out;
}
