/**
 * `diff d --from-sha a --to-sha b`: the deployment's configuration at two commits, each
 * resolved from that commit's own files (the working tree when it is that commit, else a
 * temporary worktree removed afterwards, as `affected` reads its head), compared value by
 * value per target and component;
 * with the commits between them and the files that changed (the same git reads as a target
 * diff: src/promotion/diff.ts).
 */
import path from 'node:path';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { describe, type DescribedComponent } from '../describe/index.js';
import type { Repository } from '../repository.js';
import { headRepository } from '../affected/index.js';
import { loadDeployment, resolve } from '../repository.js';
import type { GitRepo } from '../tracking/index.js';
import { parseLog, parseNameStatus, type FileChange, type LogEntry } from './diff.js';

/** One value that differs: its dotted path in the component (`vars.cpu`), before and after (undefined: absent). */
export interface ValueChange {
  path: string;
  from: unknown;
  to: unknown;
}

export interface ComponentConfigChange {
  component: string;
  change: 'added' | 'removed' | 'changed' | 'unchanged';
  values: ValueChange[];
}

export interface TargetConfigDiff {
  target: string;
  /** Why this target could not be compared at one of the commits (absent there, does not resolve); null otherwise. */
  error: string | null;
  components: ComponentConfigChange[];
}

export interface CommitDiff {
  deployment: string;
  from_sha: string;
  to_sha: string;
  /** Commits in `to` that `from` lacks (`git rev-list --count from..to`), and the reverse. */
  commits_ahead: number;
  commits_behind: number;
  /** `git log from..to`, newest first, at most `log_limit`. */
  commits: LogEntry[];
  log_limit: number;
  /** `git diff --name-status from to -- <configuration_paths>`. */
  configuration_paths: string[];
  configuration_changes: FileChange[];
  /** Every file that changed (`--show-files`); null when not asked. */
  files: FileChange[] | null;
  targets: TargetConfigDiff[];
}

export interface CommitDiffOptions {
  /** Only these targets (default: every target of the deployment at either commit). */
  targets?: string[];
  /** Only these component addresses. */
  components?: string[];
  configPaths: string[];
  logLimit: number;
  showFiles: boolean;
}

/** A commit-ish given on the command line, as a full object id (exit 2 when it names no commit). */
async function commitOf(git: GitRepo, flag: string, rev: string): Promise<string> {
  if (rev.startsWith('-') || rev.trim() === '') throw new DiagnosticError(error('args/sha', `${flag} "${rev}" is not a commit`, undefined, 'e.g. --from-sha abc123 (a commit id, a tag or a branch)'));
  const r = await git.run(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], { allowFail: true });
  if (r.code !== 0 || !r.text.trim()) {
    throw new DiagnosticError(error('args/sha', `${flag} ${rev}: no such commit in this repository`, undefined, 'fetch it first, or give another commit (git log --oneline)'));
  }
  return r.text.trim();
}

/** Leaves of a described component as dotted paths (arrays whole: a reordered list is a change). */
function flatten(value: unknown, at: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && at) out.set(at, {});
    for (const [k, v] of entries) flatten(v, at ? `${at}.${k}` : k, out);
  } else out.set(at, value);
}

const COMPARED = ['component', 'vars', 'settings', 'env', 'backend_type', 'backend', 'providers', 'depends_on', 'wave'] as const;

function leaves(c: DescribedComponent): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const k of COMPARED) flatten(c[k], k, out);
  return out;
}

/** The value changes between two resolutions of one component. */
export function componentChanges(a: DescribedComponent | undefined, b: DescribedComponent | undefined): ValueChange[] {
  const la = a ? leaves(a) : new Map<string, unknown>();
  const lb = b ? leaves(b) : new Map<string, unknown>();
  const paths = [...new Set([...la.keys(), ...lb.keys()])].sort();
  return paths.filter((p) => JSON.stringify(la.get(p)) !== JSON.stringify(lb.get(p))).map((p) => ({ path: p, from: la.get(p), to: lb.get(p) }));
}

function loadAt(repo: Repository, name: string): DeploymentConfig | string {
  try {
    return loadDeployment(repo, name);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0]?.message ?? 'invalid';
    throw e;
  }
}

/**
 * Strings naming the cache directory (a local backend's state path) as the repository names it:
 * a temporary worktree reaches the repository's cache by another relative path.
 */
function sameCachePaths<T>(value: T, from: string, to: string): T {
  if (from === to) return value;
  if (typeof value === 'string') return (value === from || value.startsWith(`${from}/`) ? to + value.slice(from.length) : value) as T;
  if (Array.isArray(value)) return value.map((v) => sameCachePaths(v, from, to)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, sameCachePaths(v, from, to)])) as T;
}

async function describeAt(repo: Repository, dep: DeploymentConfig | string, target: string, sha: string, cacheAs: string): Promise<DescribedComponent[] | string> {
  if (typeof dep === 'string') return `the deployment does not load at ${sha.slice(0, 12)}: ${dep}`;
  if (!dep.body.targets[target]) return `no target "${target}" at ${sha.slice(0, 12)}`;
  try {
    const resolved = await resolve(repo, dep, target, { git: { sha, short_sha: sha.slice(0, 8) } });
    const here = path.relative(repo.config.repoRoot, repo.config.cacheDir).split(path.sep).join('/');
    return sameCachePaths(describe(resolved).components, here, cacheAs);
  } catch (e) {
    if (e instanceof DiagnosticError) return `does not resolve at ${sha.slice(0, 12)}: ${e.diagnostics[0]?.message ?? 'invalid'}`;
    throw e;
  }
}

/** Compares the deployment `name` between two commits (see the module comment). */
export async function diffCommits(repo: Repository, git: GitRepo, name: string, fromRev: string, toRev: string, opts: CommitDiffOptions): Promise<CommitDiff> {
  const a = await commitOf(git, '--from-sha', fromRev);
  const b = await commitOf(git, '--to-sha', toRev);
  const top = (await git.run(['rev-parse', '--show-toplevel'])).text.trim();
  const opened: { close: () => Promise<void> }[] = [];
  try {
    const at = async (sha: string): Promise<Repository> => {
      const h = await headRepository(git, repo, top, sha);
      opened.push(h);
      return { ...h.repo, modules: repo.modules };
    };
    const ra = await at(a);
    const rb = await at(b);
    // Paths into the cache shown as this repository names them (a worktree elsewhere names them otherwise).
    const cacheAs = path.relative(repo.config.repoRoot, repo.config.cacheDir).split(path.sep).join('/');
    return await compare(git, name, a, b, ra, rb, { ...opts, cacheAs });
  } finally {
    for (const h of opened) await h.close();
  }
}

async function compare(git: GitRepo, name: string, a: string, b: string, ra: Repository, rb: Repository, opts: CommitDiffOptions & { cacheAs: string }): Promise<CommitDiff> {
  const { cacheAs } = opts;
  const da = loadAt(ra, name);
  const db = loadAt(rb, name);
  if (typeof da === 'string' && typeof db === 'string') {
    throw new DiagnosticError(error('args/deployment', `deployment "${name}" does not load at either commit (${a.slice(0, 12)}: ${da})`, undefined, 'give commits where the deployment file exists'));
  }
  const targetNames = opts.targets ?? [...new Set([...(typeof da === 'string' ? [] : Object.keys(da.body.targets)), ...(typeof db === 'string' ? [] : Object.keys(db.body.targets))])];
  const targets: TargetConfigDiff[] = [];
  for (const t of targetNames) {
    const [ca, cb] = await Promise.all([describeAt(ra, da, t, a, cacheAs), describeAt(rb, db, t, b, cacheAs)]);
    if (typeof ca === 'string' && typeof cb === 'string') {
      targets.push({ target: t, error: `${ca}; ${cb}`, components: [] });
      continue;
    }
    const before = typeof ca === 'string' ? [] : ca;
    const after = typeof cb === 'string' ? [] : cb;
    const addresses = [...new Set([...before.map((c) => c.address), ...after.map((c) => c.address)])].filter((x) => !opts.components || opts.components.includes(x)).sort();
    const components = addresses.map((address): ComponentConfigChange => {
      const x = before.find((c) => c.address === address);
      const y = after.find((c) => c.address === address);
      const values = componentChanges(x, y);
      return { component: address, change: !x ? 'added' : !y ? 'removed' : values.length ? 'changed' : 'unchanged', values: x && y ? values : [] };
    });
    targets.push({ target: t, error: typeof ca === 'string' ? ca : typeof cb === 'string' ? cb : null, components });
  }
  const pathspec = (paths: string[]) => paths.map((p) => `:(literal)${p}`);
  const [count, log, diff, files] = await Promise.all([
    git.run(['rev-list', '--left-right', '--count', `${a}...${b}`]),
    git.run(['log', '--no-show-signature', '--no-decorate', '--no-color', `--max-count=${opts.logLimit}`, '--format=%H%x00%an%x00%aI%x00%s%x00', `${a}..${b}`]),
    opts.configPaths.length ? git.run(['diff', '--name-status', '-z', '-M', '--no-color', '--no-ext-diff', a, b, '--', ...pathspec(opts.configPaths)]) : Promise.resolve({ text: '' }),
    opts.showFiles ? git.run(['diff', '--name-status', '-z', '-M', '--no-color', '--no-ext-diff', a, b]) : Promise.resolve(undefined),
  ]);
  const [behind, ahead] = count.text.trim().split(/\s+/).map(Number);
  return {
    deployment: name,
    from_sha: a,
    to_sha: b,
    commits_ahead: ahead,
    commits_behind: behind,
    commits: parseLog(log.text),
    log_limit: opts.logLimit,
    configuration_paths: opts.configPaths,
    configuration_changes: parseNameStatus(diff.text),
    files: files ? parseNameStatus(files.text) : null,
    targets,
  };
}
