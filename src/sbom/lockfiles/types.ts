import { DiagnosticError, error, type Diagnostic, type Location } from '../../diagnostics/index.js';
import type { SbomPackage } from '../model.js';
import { TomlError, parseToml } from '../toml.js';

/** What a lock file says: its packages, how they depend on each other, and what the app uses directly. */
export interface LockGraph {
  /** Repository-relative path of the lock file. */
  file: string;
  packages: SbomPackage[];
  /** bomRef -> bomRefs. */
  edges: Map<string, Set<string>>;
  /** What the application itself depends on; undefined: every package nothing else depends on. */
  direct?: string[];
  warnings: Diagnostic[];
}

export interface LockInput {
  /** Absolute path. */
  abs: string;
  /** Repository-relative path (for messages and `sources`). */
  file: string;
  text: string;
  /** bomRef prefix for packages without a purl (local paths, workspace members). */
  localRef: string;
}

/** JSON.parse with a located error. */
export function parseJsonLocated(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    const loc = m ? locAt(text, Number(m[1]), file) : { file, line: 1, col: 1 };
    throw new DiagnosticError(error('sbom/lockfile-parse', `cannot parse ${file}: ${msg}`, loc, 'regenerate the lock file with its package manager'));
  }
}

/** TOML with a located error. */
export function parseTomlLocated(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) {
      throw new DiagnosticError(
        error(
          'sbom/lockfile-parse',
          `cannot parse ${file}: ${e.message.replace(/ \(line \d+, column \d+\)$/, '')}`,
          { file, line: e.line, col: e.col },
          'fix the TOML syntax (or regenerate the lock file)',
        ),
      );
    }
    throw e;
  }
}

function locAt(text: string, offset: number, file: string): Location {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
  }
  return { file, line, col };
}

export function lineOf(text: string, needle: string): number {
  const i = text.indexOf(needle);
  return i < 0 ? 1 : text.slice(0, i).split('\n').length;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
