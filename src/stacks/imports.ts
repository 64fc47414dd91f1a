/**
 * Where an import points (SPEC 3.1 "Imports", Atmos `ProcessImportSection` +
 * `ProcessYAMLConfigFile`):
 *  - relative to `stacks.base_path`, or to the importing file when it starts with `./` or `../`;
 *  - without an extension `.yaml`, `.yml`, `.yaml.tmpl`, `.yml.tmpl` are tried in that order
 *    (a glob without an extension gets `.yaml`, like Atmos; `test-*.*` is globbed as written);
 *  - `x.yaml` is read as `x.yaml.tmpl` when that file exists (Atmos prefers the template);
 *  - globs match files only and merge in sorted order.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { didYouMean, fail } from '../diagnostics/index.js';
import { displayPath } from '../config/files.js';
import { insideRepo } from '../config/paths.js';
import type { ImportSpec } from './types.js';

export const STACK_EXTENSIONS = ['.yaml', '.yml', '.yaml.tmpl', '.yml.tmpl'] as const;

export function hasStackExtension(p: string): boolean {
  return STACK_EXTENSIONS.some((e) => p.endsWith(e));
}

/** Byte-wise order (like Go's sort.Strings), independent of the locale. */
export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class ImportResolver {
  private readonly isFileCache = new Map<string, boolean>();
  private readonly globCache = new Map<string, string[]>();
  private readonly resolved = new Map<string, string[]>();

  constructor(
    readonly repoRoot: string,
    readonly stacksBasePath: string,
  ) {}

  isFile(abs: string): boolean {
    let v = this.isFileCache.get(abs);
    if (v === undefined) {
      try {
        v = statSync(abs, { throwIfNoEntry: false })?.isFile() ?? false;
      } catch {
        v = false;
      }
      this.isFileCache.set(abs, v);
    }
    return v;
  }

  private glob(absPattern: string): string[] {
    let hit = this.globCache.get(absPattern);
    if (hit) return hit;
    const scan = picomatch.scan(absPattern);
    const base = scan.base || '/';
    const rest = scan.glob || '**';
    let matches: string[] = [];
    try {
      matches = globSync(rest, { cwd: base, onlyFiles: true, dot: true, absolute: true, followSymbolicLinks: true });
    } catch {
      matches = [];
    }
    hit = matches.map((m) => path.resolve(m)).sort((a, b) => byteCompare(displayPath(this.repoRoot, a), displayPath(this.repoRoot, b)));
    this.globCache.set(absPattern, hit);
    return hit;
  }

  /**
   * Absolute paths an import entry stands for (several for a glob). An empty list means
   * "skip" (a missing `skip_if_missing` import, or an unevaluated template path).
   * Throws a located error for a missing import.
   */
  resolve(spec: ImportSpec, fromAbs: string | undefined): string[] {
    const p = spec.path.trim();
    const relative = p.startsWith('./') || p.startsWith('../') || p === '.' || p === '..';
    const baseDir = relative && fromAbs ? path.dirname(fromAbs) : this.stacksBasePath;
    const key = `${baseDir}\0${p}`;
    const cached = this.resolved.get(key);
    let out: string[];
    if (cached) out = cached;
    else {
      // Contained: the path as written and every file it stands for (symlinks resolved).
      const what = fromAbs ? 'stack import' : 'stack';
      insideRepo(this.repoRoot, path.resolve(baseDir, p), { what, value: spec.path, location: spec.location });
      out = this.lookup(baseDir, p);
      for (const f of out) insideRepo(this.repoRoot, f, { what, value: `${spec.path} → ${displayPath(this.repoRoot, f)}`, location: spec.location });
      this.resolved.set(key, out);
    }
    if (out.length) return out;
    if (spec.skip_if_missing) return [];
    // A path still holding a Go template was not rendered (templating is off): Atmos keeps
    // it as written and ignores it when missing; fileinfo warns about it (stacks/import-template).
    if (p.includes('{{')) return [];
    this.missing(spec, baseDir, p, relative);
  }

  private lookup(baseDir: string, p: string): string[] {
    const abs = path.resolve(baseDir, p);
    const dynamic = isDynamicPattern(p);
    const base = path.basename(p);
    const ext = path.extname(base);
    if (ext === '.yaml' || ext === '.yml') {
      if (!dynamic && this.isFile(`${abs}.tmpl`)) return [`${abs}.tmpl`];
      return dynamic ? this.glob(abs) : this.isFile(abs) ? [abs] : [];
    }
    if (ext === '.tmpl') return dynamic ? this.glob(abs) : this.isFile(abs) ? [abs] : [];
    // Atmos adds `.yaml` only to a glob with no extension: `mixins/test-*.*` (extension
    // `.*`) is globbed as written (Atmos `ProcessImportSection`, filepath.Ext of the import).
    if (dynamic) return this.glob(ext === '' ? `${abs}.yaml` : abs);
    for (const e of STACK_EXTENSIONS) if (this.isFile(abs + e)) return [abs + e];
    // An unusual extension (`catalog/vpc.v2`): the literal file.
    if (ext !== '' && this.isFile(abs)) return [abs];
    return [];
  }

  private missing(spec: ImportSpec, baseDir: string, p: string, relative: boolean): never {
    const abs = path.resolve(baseDir, p);
    const shown = displayPath(this.repoRoot, abs);
    const ext = path.extname(path.basename(p));
    const dynamic = isDynamicPattern(p);
    const tried = dynamic
      ? `no file matches ${shown}${ext ? '' : '.yaml'}`
      : ext === '.yaml' || ext === '.yml' || ext === '.tmpl'
        ? `${shown} does not exist`
        : `tried ${STACK_EXTENSIONS.map((e) => shown + e).join(', ')}`;
    const hints: string[] = [];
    if (!dynamic) {
      const guess = this.suggest(abs);
      if (guess) hints.push(`did you mean "${guess}"?`);
    }
    const baseShown = displayPath(this.repoRoot, this.stacksBasePath);
    hints.push(relative ? 'paths starting with ./ or ../ are relative to the importing file' : `paths are relative to stacks.base_path (${baseShown}/) unless they start with ./ or ../`);
    hints.push('use {path: ..., skip_if_missing: true} for an optional import');
    fail('stacks/import-missing', `import "${spec.path}" not found: ${tried}`, spec.location, hints.join('; '));
  }

  /** A close stack file name in the directory the import points into (path as it would be written). */
  private suggest(abs: string): string | undefined {
    const dir = path.dirname(abs);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return undefined;
    }
    const stems = names.filter(hasStackExtension).map((n) => n.replace(/\.(yaml|yml)(\.tmpl)?$/, ''));
    const want = path.basename(abs).replace(/\.(yaml|yml)(\.tmpl)?$/, '');
    const g = didYouMean(want, stems);
    if (!g) return undefined;
    const rel = path.relative(this.stacksBasePath, path.join(dir, g)).split(path.sep).join('/');
    return rel.startsWith('..') ? undefined : rel;
  }
}
