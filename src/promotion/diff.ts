/**
 * `diff d --from-target a --to-target b` (SPEC 6): what runs in target `a` against what runs
 * in target `b` — per component (commit, release, changed or not), how many commits `b` is
 * behind (and ahead of) `a`, the commit log between them and the configuration files that
 * changed between the two commits.
 *
 * A constant number of git processes whatever the number of tags: ONE `git for-each-ref`
 * (current refs + history tags of both targets), then, only when both targets run different
 * commits, three more run concurrently: `git rev-list --left-right --count b...a`,
 * `git log --max-count=N b..a` and `git diff --name-status b a -- <configuration paths>`.
 * Only the history records that decide what runs are parsed (src/tracking/history.ts).
 */
import { deploymentRefPrefix, historyTagPrefix, LazyHistory, type GitRepo, type HistoryEntry, type InvalidTag, type RefInfo } from '../tracking/index.js';

/** What one target runs (from its newest non-failed history entry). */
export interface DiffSide {
  target: string;
  /** false when nothing was ever deployed to the target (every other field is then null). */
  deployed: boolean;
  commit: string | null;
  release: string | null;
  timestamp: string | null;
  deployed_by: string | null;
}

/** One component in one target; null in ComponentChange when the component is not deployed there. */
export interface ComponentSide {
  commit: string | null;
  release: string | null;
  status: string | null;
  timestamp: string | null;
}

export interface ComponentChange {
  component: string;
  from: ComponentSide | null;
  to: ComponentSide | null;
  /** Commit or release differ (or the component runs in only one of the targets). */
  changed: boolean;
}

export interface LogEntry {
  sha: string;
  author: string;
  /** Author date, ISO-8601. */
  date: string;
  subject: string;
}

export interface FileChange {
  /** git's status letter: A, M, D, R (renamed), C (copied), T (type changed). */
  status: string;
  path: string;
  /** Renames and copies: the path in the destination's commit; null otherwise. */
  old_path: string | null;
}

export interface TargetDiff {
  deployment: string;
  from: DiffSide;
  to: DiffSide;
  components: ComponentChange[];
  /** Commits in `from`'s commit that `to`'s commit lacks (`git rev-list --count to..from`); null when unknown. */
  commits_behind: number | null;
  /** Commits in `to`'s commit that `from`'s commit lacks; null when unknown. */
  commits_ahead: number | null;
  /** `git log to..from`, newest first, at most `log_limit` entries; null when unknown. */
  commits: LogEntry[] | null;
  /** More commits than `log_limit` lie between the two. */
  commits_truncated: boolean;
  log_limit: number;
  /** Paths (relative to the repository) the configuration changes are restricted to. */
  configuration_paths: string[];
  /** `git diff --name-status to from -- <configuration_paths>`; null when unknown. */
  configuration_changes: FileChange[] | null;
  /** Every file that changed between the two commits (`--show-files`); null when not asked or unknown. */
  files: FileChange[] | null;
  /**
   * `--show-code`: per component, the changes to its code (Terraform module directory, nixpack
   * source) between the two commits, with the patch; null when not asked or unknown.
   */
  code: CodeChange[] | null;
  /** Why some of the above is unknown (e.g. a commit missing from this clone). */
  warnings: string[];
}

/** One component's code changes between the two deployed commits (`--show-code`). */
export interface CodeChange {
  component: string;
  /** Repository-relative directories of its code. */
  paths: string[];
  files: { path: string; added: number | null; deleted: number | null }[];
  /** `git diff` of those directories, from the destination's commit to the source's; cut at {@link CODE_PATCH_LIMIT} bytes. */
  patch: string;
  truncated: boolean;
}

/** The most patch text kept per component. */
export const CODE_PATCH_LIMIT = 256 * 1024;

export interface DiffOptions {
  /** Paths relative to the repository root: deployment file, stacks and components directories. */
  configPaths?: string[];
  /** At most this many commits in the log (default 50). */
  logLimit?: number;
  /** Unparseable history tags are reported here. */
  invalid?: InvalidTag[];
  /** Also list every file that changed between the two commits (`files`). */
  showFiles?: boolean;
  /** `--show-code`: component -> repository-relative directories of its code. */
  codePaths?: Record<string, string[]>;
}

export const DEFAULT_LOG_LIMIT = 50;

const HEX = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function targetSide(target: string, cur: HistoryEntry | undefined, refCommits: string[]): DiffSide {
  if (cur) return { target, deployed: true, commit: cur.git_sha, release: cur.release, timestamp: cur.timestamp, deployed_by: cur.deployed_by };
  if (refCommits.length > 0) {
    // Refs without history tags (written by hand or by an older tool): the commit most components run.
    const counts = new Map<string, number>();
    for (const c of refCommits) counts.set(c, (counts.get(c) ?? 0) + 1);
    const commit = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    return { target, deployed: true, commit, release: null, timestamp: null, deployed_by: null };
  }
  return { target, deployed: false, commit: null, release: null, timestamp: null, deployed_by: null };
}

/** The pure part of diffTargets: sides and component changes out of `readRefs` results. */
export function diffFromRefs(refs: RefInfo[], deployment: string, from: string, to: string, invalid: InvalidTag[] = []): Pick<TargetDiff, 'deployment' | 'from' | 'to' | 'components'> {
  const history = new LazyHistory(refs, deployment, invalid);
  // Current refs: refs/atmos/deployments/<d>/<t>/<component> -> commit.
  const refCommit = new Map<string, Map<string, string>>([
    [from, new Map()],
    [to, new Map()],
  ]);
  const prefix = deploymentRefPrefix(deployment);
  for (const r of refs) {
    if (!r.ref.startsWith(prefix)) continue;
    const rest = r.ref.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) continue;
    refCommit.get(rest.slice(0, slash))?.set(rest.slice(slash + 1), r.target);
  }
  const names = new Set<string>();
  for (const m of refCommit.values()) for (const c of m.keys()) names.add(c);
  for (const t of history.tags) if (t.target === from || t.target === to) names.add(t.component);

  const side = (target: string, component: string): ComponentSide | null => {
    const commit = refCommit.get(target)?.get(component) ?? null;
    const entry = history.current((t) => t.target === target && t.component === component);
    if (commit === null && !entry) return null;
    return { commit: commit ?? entry!.git_sha, release: entry?.release ?? null, status: entry?.status ?? null, timestamp: entry?.timestamp ?? null };
  };
  const components = [...names]
    .sort()
    .map((component): ComponentChange => {
      const a = side(from, component);
      const b = side(to, component);
      const changed = !a || !b || a.commit !== b.commit || a.release !== b.release;
      return { component, from: a, to: b, changed };
    })
    .filter((c) => c.from !== null || c.to !== null); // only failed rollouts so far: runs nowhere
  return {
    deployment,
    from: targetSide(
      from,
      history.current((t) => t.target === from),
      [...refCommit.get(from)!.values()],
    ),
    to: targetSide(
      to,
      history.current((t) => t.target === to),
      [...refCommit.get(to)!.values()],
    ),
    components,
  };
}

/** Parses `git log --format=%H%x00%an%x00%aI%x00%s%x00`. */
export function parseLog(text: string): LogEntry[] {
  const parts = text.split('\0');
  const out: LogEntry[] = [];
  for (let i = 0; i + 4 <= parts.length; i += 4) {
    const sha = parts[i].replace(/^\n/, '');
    if (!sha) break;
    out.push({ sha, author: parts[i + 1], date: parts[i + 2], subject: parts[i + 3] });
  }
  return out;
}

/** Parses `git diff --name-status -z`. */
export function parseNameStatus(text: string): FileChange[] {
  const parts = text.split('\0');
  const out: FileChange[] = [];
  for (let i = 0; i < parts.length; ) {
    const code = parts[i++];
    if (!code) continue;
    const status = code[0];
    if (status === 'R' || status === 'C') {
      const oldPath = parts[i++];
      const newPath = parts[i++];
      if (newPath === undefined) break;
      out.push({ status, path: newPath, old_path: oldPath });
    } else {
      const p = parts[i++];
      if (p === undefined) break;
      out.push({ status, path: p, old_path: null });
    }
  }
  return out;
}

/** Each component's code changes from commit `b` to `a` (components without changes are left out). */
async function codeChanges(repo: GitRepo, b: string, a: string, codePaths: Record<string, string[]>): Promise<CodeChange[] | null> {
  const out: CodeChange[] = [];
  for (const [component, paths] of Object.entries(codePaths).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    if (paths.length === 0) continue;
    const spec = ['--', ...paths.map((p) => `:(literal)${p}`)];
    const base = ['diff', '--no-color', '--no-ext-diff', '-M', b, a];
    const [numstat, patch] = await Promise.all([repo.run([...base.slice(0, 3), '--numstat', '-z', ...base.slice(3), ...spec], { allowFail: true }), repo.run([...base, ...spec], { allowFail: true })]);
    if (numstat.code !== 0 || patch.code !== 0) return null;
    const files = parseNumstat(numstat.text);
    if (files.length === 0) continue;
    const truncated = patch.stdout.length > CODE_PATCH_LIMIT;
    out.push({ component, paths, files, patch: truncated ? patch.stdout.subarray(0, CODE_PATCH_LIMIT).toString('utf8') : patch.text, truncated });
  }
  return out;
}

/** `git diff --numstat -z`: `added\tdeleted\tpath\0`, or for a rename `added\tdeleted\t\0old\0new\0`; `-` counts (binary) are null. */
function parseNumstat(text: string): CodeChange['files'] {
  const parts = text.split('\0');
  const out: CodeChange['files'] = [];
  const n = (v: string) => (v === '-' ? null : Number(v));
  for (let i = 0; i < parts.length; i++) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(parts[i]);
    if (!m) continue;
    if (m[3] === '') {
      out.push({ path: parts[i + 2] ?? '', added: n(m[1]), deleted: n(m[2]) });
      i += 2;
    } else out.push({ path: m[3], added: n(m[1]), deleted: n(m[2]) });
  }
  return out;
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

/**
 * Compares what runs in target `from` with what runs in target `to` — at most four git
 * processes whatever the number of tags (see the module comment).
 */
export async function diffTargets(repo: GitRepo, deployment: string, from: string, to: string, opts: DiffOptions = {}): Promise<TargetDiff> {
  const logLimit = Math.max(1, Math.floor(opts.logLimit ?? DEFAULT_LOG_LIMIT));
  const configPaths = opts.configPaths ?? [];
  const refs = await repo.readRefs([deploymentRefPrefix(deployment, from), historyTagPrefix(deployment, from), deploymentRefPrefix(deployment, to), historyTagPrefix(deployment, to)]);
  const base = diffFromRefs(refs, deployment, from, to, opts.invalid);
  const out: TargetDiff = {
    ...base,
    commits_behind: null,
    commits_ahead: null,
    commits: null,
    commits_truncated: false,
    log_limit: logLimit,
    configuration_paths: configPaths,
    configuration_changes: null,
    files: null,
    code: null,
    warnings: [],
  };
  const a = base.from.commit;
  const b = base.to.commit;
  if (a === null || b === null) {
    for (const s of [base.from, base.to]) if (!s.deployed) out.warnings.push(`${s.target} was never deployed: nothing to compare with`);
    return out;
  }
  if (a === b) {
    out.commits_behind = 0;
    out.commits_ahead = 0;
    out.commits = [];
    out.configuration_changes = [];
    if (opts.showFiles) out.files = [];
    if (opts.codePaths) out.code = [];
    return out;
  }
  for (const [t, c] of [
    [from, a],
    [to, b],
  ]) {
    if (!HEX.test(c)) {
      out.warnings.push(`${t}: recorded commit "${c}" is not a full object id`);
      return out;
    }
  }
  const [count, log, diff, files] = await Promise.all([
    repo.run(['rev-list', '--left-right', '--count', `${b}...${a}`], { allowFail: true }),
    repo.run(['log', '--no-show-signature', '--no-decorate', '--no-color', `--max-count=${logLimit}`, '--format=%H%x00%an%x00%aI%x00%s%x00', `${b}..${a}`], { allowFail: true }),
    configPaths.length === 0
      ? Promise.resolve({ code: 0, text: '', stderr: '' })
      : repo.run(['diff', '--name-status', '-z', '-M', '--no-color', '--no-ext-diff', b, a, '--', ...configPaths.map((p) => `:(literal)${p}`)], { allowFail: true }),
    opts.showFiles ? repo.run(['diff', '--name-status', '-z', '-M', '--no-color', '--no-ext-diff', b, a], { allowFail: true }) : Promise.resolve(undefined),
  ]);
  if (count.code === 0) {
    const [left, right] = count.text.trim().split(/\s+/).map(Number);
    if (Number.isInteger(left) && Number.isInteger(right)) {
      out.commits_ahead = left;
      out.commits_behind = right;
    }
  }
  if (log.code === 0) out.commits = parseLog(log.text);
  if (diff.code === 0) out.configuration_changes = parseNameStatus(diff.text);
  if (files?.code === 0) out.files = parseNameStatus(files.text);
  if (opts.codePaths && [count, log].every((r) => r.code === 0)) out.code = await codeChanges(repo, b, a, opts.codePaths);
  out.commits_truncated = out.commits !== null && (out.commits_behind ?? 0) > out.commits.length;
  const failed = [count, log, diff].find((r) => r.code !== 0);
  if (failed) {
    out.warnings.push(`could not compare ${from} (${a.slice(0, 12)}) with ${to} (${b.slice(0, 12)}): ${firstLine(failed.stderr) || 'git failed'} — fetch both commits into this clone`);
  }
  return out;
}
