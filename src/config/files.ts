/**
 * Reading configuration files: one parse per file per process, positions kept,
 * repository-relative names in every location.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';
import { parseYaml, type ParsedYaml, type ParseOptions } from '../yaml/index.js';

/** Path used in diagnostics: relative to the repository root when inside it, POSIX separators. */
export function displayPath(repoRoot: string, abs: string): string {
  const rel = path.relative(repoRoot, abs);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join('/');
}

export interface LoadedYamlFile extends ParsedYaml {
  /** Absolute path. */
  abs: string;
  /** Repository-relative path (used in locations). */
  file: string;
}

/**
 * A per-process cache of parsed YAML files (shared by every stack and deployment read in
 * one command, so a file imported from several places is parsed once).
 */
export class YamlFileCache {
  private readonly cache = new Map<string, LoadedYamlFile>();
  /**
   * @param positions record positions (default). A cache without them parses faster; use
   * it for bulk loads and parse again with positions when something must be reported.
   */
  constructor(
    readonly repoRoot: string,
    readonly positions = true,
  ) {}

  private readonly derived = new Map<string, unknown>();

  /**
   * Something derived from the repository's files (e.g. the symlink check of a module tree),
   * computed once per process like the parsed files themselves: a command that resolves a
   * deployment twice (build, then rollout) walks each tree once.
   */
  memo<T>(key: string, make: () => T): T {
    if (this.derived.has(key)) return this.derived.get(key) as T;
    const v = make();
    this.derived.set(key, v);
    return v;
  }

  /** Parse a file; throws a located DiagnosticError for unreadable or invalid YAML. */
  load(abs: string, options: ParseOptions = {}): LoadedYamlFile {
    const hit = this.cache.get(abs);
    if (hit) return hit;
    const file = displayPath(this.repoRoot, abs);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DiagnosticError(
        error(
          'file/unreadable',
          code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file} (${code ?? 'error'})`,
          { file, line: 1, col: 1 },
          code === 'ENOENT' ? 'check the path' : 'check the file permissions',
        ),
      );
    }
    const parsed = parseYaml(text, file, { ...options, positions: this.positions });
    const loaded: LoadedYamlFile = { ...parsed, abs, file };
    this.cache.set(abs, loaded);
    return loaded;
  }

  /** Whether the value at `loc` (in a file this cache parsed) is written `!literal`: kept verbatim, never rendered as a template. */
  isLiteral(loc: Location): boolean {
    const f = this.cache.get(path.resolve(this.repoRoot, loc.file));
    return f?.literals?.some((l) => l.line === loc.line && l.col === loc.col) ?? false;
  }

  /** Parse and throw on YAML errors. */
  loadValid(abs: string, options: ParseOptions = {}): LoadedYamlFile {
    const f = this.load(abs, options);
    if (f.diagnostics.length) throw new DiagnosticError(f.diagnostics);
    return f;
  }

  get size(): number {
    return this.cache.size;
  }
}
