/**
 * The build context of a nixpack component: what Git would ship, never an ignored file.
 *
 *  - In a Git work tree: the tracked and untracked-but-not-ignored files under the source
 *    directory, from ONE `git ls-files -z --cached --others --exclude-standard` (so nested
 *    `.gitignore`, `.git/info/exclude` and `core.excludesFile` are honoured exactly as Git
 *    honours them). Tracked files deleted from the work tree are skipped.
 *  - Outside a Git work tree (a plain copy of a repository): the same rules are applied from
 *    the `.gitignore` files between the repository root and each file, so a directory that is
 *    not (yet) a Git repository never ships what its `.gitignore` keeps out. (Refusing would
 *    break building from an exported tarball; following the same files keeps the guarantee.)
 *  - Then, when the source directory holds a `.dockerignore`, its patterns with Docker's
 *    semantics: relative to the context root, `**`, `!` exceptions, the last matching pattern
 *    wins, and a pattern that matches a directory excludes everything below it.
 *  - Dependency and tool directories (`.git`, `node_modules`, `.atmos`, `.venv`,
 *    `__pycache__`) never enter a build: the install step recreates them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';

const NEVER = new Set(['.git', 'node_modules', '.atmos', '.venv', '__pycache__']);

interface Rule {
  match: (rel: string) => boolean;
  negate: boolean;
  dirOnly: boolean;
  /** Directory (relative to the context root, '' for the root or above) the rule's file is in. */
  base: string;
}

/** Docker's `.dockerignore`: the path or any of its parents matched by the last matching rule decides. */
export function dockerignoreFilter(dir: string): ((rel: string) => boolean) | undefined {
  const file = path.join(dir, '.dockerignore');
  if (!existsSync(file)) return undefined;
  const rules: Rule[] = [];
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    let t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const negate = t.startsWith('!');
    if (negate) t = t.slice(1).trim();
    t = path.posix.normalize(t).replace(/^\/+/, '').replace(/\/+$/, '');
    if (!t || t === '.') continue;
    rules.push({ match: picomatch(t, { dot: true }), negate, dirOnly: false, base: '' });
  }
  return (rel) => {
    const parts = rel.split('/');
    let excluded = false;
    for (const r of rules) {
      for (let i = parts.length; i > 0; i--) {
        if (r.match(parts.slice(0, i).join('/'))) {
          excluded = !r.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function gitignoreRules(file: string, base: string): Rule[] {
  if (!existsSync(file)) return [];
  const rules: Rule[] = [];
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    let t = line.replace(/(?<!\\)\s+$/, '');
    if (!t || t.startsWith('#')) continue;
    const negate = t.startsWith('!');
    if (negate) t = t.slice(1);
    const dirOnly = t.endsWith('/');
    t = t.replace(/\/+$/, '');
    // A pattern with a slash (other than at its end) is anchored to its file's directory.
    const anchored = t.includes('/');
    t = t.replace(/^\/+/, '');
    if (!t) continue;
    rules.push({ match: picomatch(anchored ? t : `**/${t}`, { dot: true }), negate, dirOnly, base });
  }
  return rules;
}

/** Last matching rule decides (Git semantics); not ignored when none matches. */
function ignoredBy(rules: Rule[], rel: string, isDir: boolean): boolean {
  let ignored = false;
  for (const r of rules) {
    if (r.dirOnly && !isDir) continue;
    let sub: string;
    if (r.base === '') sub = rel;
    else if (rel.startsWith(`${r.base}/`)) sub = rel.slice(r.base.length + 1);
    else continue;
    if (r.match(sub)) ignored = !r.negate;
  }
  return ignored;
}

/** Without Git: walk `dir`, honouring every `.gitignore` from `repoRoot` down. */
function walkWithGitignore(dir: string, repoRoot: string): string[] {
  const rules: Rule[] = [];
  // .gitignore files above the source (up to the repository root) apply with their own anchors,
  // expressed relative to the source directory.
  const relToRoot = path.relative(repoRoot, dir);
  if (relToRoot && !relToRoot.startsWith('..') && !path.isAbsolute(relToRoot)) {
    const parts = relToRoot.split(path.sep);
    for (let i = 0; i < parts.length; i++) {
      const above = path.join(repoRoot, ...parts.slice(0, i));
      const prefix = parts.slice(i).join('/');
      for (const r of gitignoreRules(path.join(above, '.gitignore'), '')) {
        rules.push({ ...r, match: (rel) => r.match(`${prefix}/${rel}`) });
      }
    }
  }
  const out: string[] = [];
  const walk = (abs: string, rel: string, inherited: Rule[]) => {
    const here = [...inherited, ...gitignoreRules(path.join(abs, '.gitignore'), rel)];
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const a = path.join(abs, n);
      // Links are listed, not descended into (like Git): the CAS follows or refuses them.
      const st = lstatSync(a, { throwIfNoEntry: false });
      const isDir = st?.isDirectory() ?? false;
      if (n === '.git' || ignoredBy(here, r, isDir)) continue;
      if (isDir) walk(a, r, here);
      else out.push(r);
    }
  };
  walk(dir, '', rules);
  return out;
}

/** Tracked and untracked-but-not-ignored files below `dir` (one git process), or undefined outside a work tree. */
function gitFiles(dir: string): string[] | undefined {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'], { cwd: dir, maxBuffer: 1024 * 1024 * 1024 });
  if (r.error || r.status !== 0) return undefined;
  // An untracked nested repository is listed as `sub/`: the CAS walks it as a directory.
  return r.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((p) => p.replace(/\/+$/, ''));
}

/**
 * The build context of `dir`: its files (relative POSIX paths, sorted, unique), as Git would
 * ship them minus `.dockerignore`d ones, and the filter that also applies below a listed
 * directory (a submodule, or a symlink the CAS follows). Listed paths may be symlinks or
 * deleted tracked files; the CAS follows or skips them.
 */
export function buildContext(dir: string, repoRoot: string): { files: string[]; exclude: (rel: string) => boolean } {
  const listed = gitFiles(dir) ?? walkWithGitignore(dir, repoRoot);
  const docker = dockerignoreFilter(dir);
  const exclude = (rel: string) => rel.split('/').some((seg) => NEVER.has(seg)) || (docker?.(rel) ?? false);
  return { files: [...new Set(listed.filter((rel) => !exclude(rel)))].sort(), exclude };
}
