import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type Location } from '../../diagnostics/index.js';

/**
 * Read-only view of a service's source tree. Paths given to it are relative and
 * POSIX-style; nothing it returns contains the absolute location of the tree, so plans
 * built from it are the same wherever the tree lives.
 */
export class SourceTree {
  private readonly cache = new Map<string, string>();

  /**
   * @param dir the directory on disk
   * @param display how the directory is named in diagnostics (the component's `source`)
   */
  constructor(
    readonly dir: string,
    readonly display: string,
  ) {}

  private abs(rel: string): string {
    return path.join(this.dir, ...rel.split('/'));
  }

  /** A regular file (or a symlink to one) exists. */
  hasFile(rel: string): boolean {
    try {
      return statSync(this.abs(rel)).isFile();
    } catch {
      return false;
    }
  }

  hasDir(rel: string): boolean {
    try {
      return statSync(this.abs(rel)).isDirectory();
    } catch {
      return false;
    }
  }

  /** The first of `candidates` that exists as a file. */
  firstFile(candidates: readonly string[]): string | undefined {
    return candidates.find((c) => this.hasFile(c));
  }

  read(rel: string): string {
    let text = this.cache.get(rel);
    if (text === undefined) {
      text = readFileSync(this.abs(rel), 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      this.cache.set(rel, text);
    }
    return text;
  }

  /** Like {@link read}, but '' when the file does not exist. */
  readOptional(rel: string): string {
    return this.hasFile(rel) ? this.read(rel) : '';
  }

  /** Parsed JSON; a syntax error is a located diagnostic pointing into the file. */
  readJson(rel: string): unknown {
    const text = this.read(rel);
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const m = /position (\d+)/.exec(msg) ?? /at line (\d+) column (\d+)/.exec(msg);
      let loc: Location = this.location(rel, 1, 1);
      if (m && m.length === 2) {
        const before = text.slice(0, Number(m[1]));
        const lines = before.split('\n');
        loc = this.location(rel, lines.length, lines[lines.length - 1].length + 1);
      } else if (m && m.length === 3) {
        loc = this.location(rel, Number(m[1]), Number(m[2]));
      }
      throw new DiagnosticError(error('nixpack/invalid-json', `${rel} is not valid JSON: ${msg}`, loc, `fix the syntax of ${rel}`));
    }
  }

  /** Entries of a directory, sorted (so that every choice made from a listing is stable). */
  list(rel: string): { name: string; dir: boolean }[] {
    try {
      return readdirSync(this.abs(rel), { withFileTypes: true })
        .map((d) => ({ name: d.name, dir: d.isDirectory() }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return [];
    }
  }

  /** A location inside a file of this tree, named relative to the repository root when possible. */
  location(rel: string, line = 1, col = 1): Location {
    const base = this.display.replace(/\\/g, '/');
    const file = path.posix.normalize(path.posix.join(base, rel));
    return { file, line, col };
  }
}
