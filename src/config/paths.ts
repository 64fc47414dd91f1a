/**
 * Containment: every path the configuration names (atmos.yaml paths, stack files and
 * imports, module directories, nixpack sources, local backend state, vendor sources) stays
 * inside the repository. Paths are compared by their REAL location (symlinks resolved), so a
 * symlinked directory or file that leads out of the repository is refused like `../..` is.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
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

/** A symlink that cannot be followed: it leaves the repository, loops, or points nowhere. */
export interface BadSymlink {
  kind: 'outside' | 'loop' | 'dangling';
  abs: string;
  target: string;
  real: string;
}

export interface WalkedEntry {
  /** POSIX path relative to the walked directory. */
  rel: string;
  /** Where to read it (for a followed symlink: the link, which reads as its target). */
  abs: string;
  type: 'file' | 'dir' | 'symlink';
  /** A symlink kept as a link (without `within`): its target. */
  target?: string;
}

export interface WalkOptions {
  /** Only these paths (relative to the directory); directories among them are walked. Missing ones are skipped. */
  files?: string[];
  /** Prunes entries (and everything below them). */
  exclude?: (rel: string) => boolean;
  /**
   * A repository root: symlinks are followed (their target's content is what is listed) and
   * the walk stops at the first one that leaves it, loops or dangles. Without it, links are
   * listed as links and never followed.
   */
  within?: string;
}

class StopWalk {
  constructor(readonly bad: BadSymlink) {}
}

/**
 * Walk a tree the way the CAS stores it and the checks judge it: files, empty directories
 * and (without `within`) symlinks, in sorted order; or the first bad symlink.
 */
export function walkTree(dir: string, opts: WalkOptions = {}): { entries: WalkedEntry[]; bad?: BadSymlink } {
  const entries: WalkedEntry[] = [];
  const root = opts.within === undefined ? undefined : realPath(opts.within);
  const visit = (abs: string, rel: string, open: Set<string>): void => {
    let st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return; // listed but deleted from the work tree
    let real = abs;
    if (st.isSymbolicLink()) {
      const target = readlinkSync(abs);
      if (root === undefined) return void entries.push({ rel, abs, type: 'symlink', target });
      real = realPath(abs);
      if (!isWithin(root, real)) throw new StopWalk({ kind: 'outside', abs, target, real });
      st = statSync(abs, { throwIfNoEntry: false });
      if (!st) throw new StopWalk({ kind: 'dangling', abs, target, real });
      // A link to a directory being walked (the link's own parent, or above) never ends.
      if (st.isDirectory() && open.has(real)) throw new StopWalk({ kind: 'loop', abs, target, real });
    } else if (root !== undefined) real = realPath(abs);
    if (st.isDirectory()) {
      const names = readdirSync(abs).sort();
      if (rel && names.length === 0) entries.push({ rel, abs, type: 'dir' });
      const inner = new Set(open).add(real);
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        if (!opts.exclude?.(r)) visit(path.join(abs, n), r, inner);
      }
    } else if (st.isFile()) entries.push({ rel, abs, type: 'file' });
  };
  try {
    // The directory and its ancestors up to the root count as being walked: a link back to
    // any of them loops.
    const realDir = root === undefined ? dir : realPath(dir);
    const top = new Set<string>();
    for (let d = realDir; root !== undefined && isWithin(root, d); d = path.dirname(d)) {
      top.add(d);
      if (d === root) break;
    }
    if (opts.files) {
      for (const rel of [...new Set(opts.files)].sort()) {
        if (opts.exclude?.(rel)) continue;
        const parts = rel.split('/');
        const open = new Set(top);
        for (let i = 1; i < parts.length; i++) open.add(path.join(realDir, ...parts.slice(0, i)));
        visit(path.join(dir, ...parts), rel, open);
      }
    } else visit(dir, '', top);
  } catch (e) {
    if (e instanceof StopWalk) return { entries, bad: e.bad };
    throw e;
  }
  return { entries };
}

/** The error for a {@link BadSymlink}, located where the caller says (the component, or the link itself). */
export function symlinkProblem(root: string, what: string, link: BadSymlink, location?: Location): Diagnostic {
  const shown = displayPath(root, link.abs);
  if (link.kind === 'loop') {
    return error('paths/symlink-loop', `${what}: ${shown} is a symlink to ${link.target}, a directory that holds it (a symlink loop)`, location, 'remove the link that points at its own parent');
  }
  if (link.kind === 'dangling') {
    return error('paths/symlink-dangling', `${what}: ${shown} is a symlink to ${link.target}, which does not exist`, location, 'remove the link or create its target inside the repository');
  }
  return error(
    'paths/symlink-outside',
    `${what}: ${shown} is a symlink to ${link.target} (real path ${link.real}), which leaves the repository ${root}`,
    location,
    'replace the link by the file itself, or point it at a file inside the repository',
  );
}
