/**
 * Containment: every path the configuration names (atmos.yaml paths, stack files and
 * imports, module directories, nixpack sources, local backend state, vendor sources) stays
 * inside the repository. Paths are compared by their REAL location (symlinks resolved), so a
 * symlinked directory or file that leads out of the repository is refused like `../..` is.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { displayPath } from './files.js';

/**
 * The real path of `p`: its longest existing prefix resolved through symlinks, the rest
 * appended as written (a path that does not exist yet is still judged by where it would be).
 * A dangling symlink on the way is judged by where it points, so a link to a directory that
 * does not exist yet cannot smuggle a write out of the repository.
 */
export function realPath(p: string, depth = 0): string {
  const abs = path.resolve(p);
  const tail: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return path.join(realpathSync(head), ...tail);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return abs;
      let link: string | undefined;
      try {
        link = lstatSync(head).isSymbolicLink() ? readlinkSync(head) : undefined;
      } catch {
        link = undefined;
      }
      if (link !== undefined && depth < 40) return path.join(realPath(path.resolve(parent, link), depth + 1), ...tail);
      tail.unshift(path.basename(head));
      head = parent;
    }
  }
}

/** `p` is `dir` or below it (both absolute, already real). */
export function isWithin(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!path.isAbsolute(rel) && rel.split(path.sep)[0] !== '..');
}

export interface ContainOptions {
  /** What the path is, for the message: `stack import`, `module directory`, ... */
  what: string;
  /** The value as written in the configuration (default: the path). */
  value?: string;
  /** Where it is written. */
  location?: Location;
  /** Directories inside the repository it must not point into either. */
  forbidden?: { dir: string; name: string }[];
  /** Stable diagnostic code (default `paths/outside-repository`). */
  code?: string;
  hint?: string;
}

/**
 * The diagnostic for a path (absolute, or relative to `root`) that leaves the repository
 * `root` or points into a forbidden directory; undefined when it is contained.
 */
export function containmentProblem(root: string, p: string, opts: ContainOptions): Diagnostic | undefined {
  const realRoot = realPath(root);
  const abs = path.resolve(root, p);
  const real = realPath(abs);
  const value = opts.value ?? p;
  const via = real !== abs ? ` (through a symlink: its real path is ${real})` : '';
  if (!isWithin(realRoot, real)) {
    return error(
      opts.code ?? 'paths/outside-repository',
      `${opts.what} "${value}" leaves the repository: it resolves to ${displayPath(root, abs)}${via}, outside ${root}`,
      opts.location,
      opts.hint ?? 'every path atmos-pipe reads or writes must stay inside the repository; use a path relative to the repository without "../" escapes or symlinks that lead out of it',
    );
  }
  for (const f of opts.forbidden ?? []) {
    const dir = realPath(f.dir);
    // A forbidden directory that holds the whole repository (base_path ".") forbids nothing.
    if (isWithin(dir, realRoot)) continue;
    if (isWithin(dir, real)) {
      return error(
        opts.code ?? 'paths/forbidden-directory',
        `${opts.what} "${value}" points into ${f.name} (${displayPath(root, f.dir)}/)${via}`,
        opts.location,
        opts.hint ?? `keep it out of ${f.name}`,
      );
    }
  }
  return undefined;
}

/** Resolve `p` against `root` and return it, or throw the located containment error. */
export function insideRepo(root: string, p: string, opts: ContainOptions): string {
  const d = containmentProblem(root, p, opts);
  if (d) throw new DiagnosticError(d);
  return path.resolve(root, p);
}

/**
 * The first symlink among `files` (relative to `dir`; default: every entry below `dir`) whose
 * real target leaves the repository `root`, or undefined. Directories are walked without
 * following links; `skip` prunes entries (e.g. `.terraform`).
 */
export function escapingSymlink(root: string, dir: string, opts: { files?: string[]; skip?: (rel: string) => boolean } = {}): BadSymlink | undefined {
  const realRoot = realPath(root);
  const check = (abs: string, rel: string): BadSymlink | undefined => {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      const real = realPath(abs);
      if (!isWithin(realRoot, real)) return { abs, target: readlinkSync(abs), real };
      // A link to a directory that holds the link itself would be followed forever.
      return isWithin(real, realPath(path.dirname(abs))) ? { abs, target: readlinkSync(abs), real, loop: true } : undefined;
    }
    if (!st.isDirectory()) return undefined;
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (opts.skip?.(r)) continue;
      const hit = check(path.join(abs, n), r);
      if (hit) return hit;
    }
    return undefined;
  };
  if (!opts.files) return check(dir, '');
  for (const rel of opts.files) {
    const hit = check(path.join(dir, ...rel.split('/')), rel);
    if (hit) return hit;
  }
  return undefined;
}

/** A symlink that leaves the repository, or (`loop`) leads back into a directory holding it. */
export interface BadSymlink {
  abs: string;
  target: string;
  real: string;
  loop?: boolean;
}

/** The located error for {@link escapingSymlink}'s finding. */
export function symlinkProblem(root: string, what: string, link: BadSymlink, location?: Location): Diagnostic {
  if (link.loop) {
    return error('paths/symlink-loop', `${what}: ${displayPath(root, link.abs)} is a symlink to ${link.target}, a directory that holds it (a symlink loop)`, location, 'remove the link that points at its own parent');
  }
  return error(
    'paths/symlink-outside',
    `${what}: ${displayPath(root, link.abs)} is a symlink to ${link.target} (real path ${link.real}), which leaves the repository ${root}`,
    location,
    'replace the link by the file itself, or point it at a file inside the repository',
  );
}
