/**
 * `syncTracking`: brings the records of the tracking remote into this repository, so a fresh
 * CI clone sees what runs where (SPEC 10: "with a remote, refs, tags and notes are fetched
 * first"). One `git fetch` mirrors the remote's deployment refs, `atmos/` tags (history and
 * releases) and `atmos` notes under a private namespace (`refs/atmos-remote/<remote>/…`,
 * `refs/notes/atmos-remote/<remote>/atmos/…`); they are then taken in without losing anything
 * recorded here and not pushed yet:
 *
 * - Tags are immutable: a remote tag missing here is created; one that exists with another
 *   object is left as is and reported.
 * - A deployment ref takes the remote value unless this repository holds a newer deployment
 *   of the component (its newest history tag at the local value is newer than the one at the
 *   remote value: a rollout whose push failed), which is kept and reported.
 * - Notes refs are merged like a rejected push merges them (approvals line by line, other
 *   notes: ours), so approvals recorded on either side all remain.
 *
 * Shallow clones (`--depth 1`) fetch the records with `--depth=1`: every deployed or
 * released commit arrives (a rollout of an existing release checks its tree out) without
 * deepening the clone's history.
 *
 * A command fetches at most once per process ({@link fetchFirst} memoizes per repository and
 * remote); a run that waited for another machine's lease asks for a fresh copy explicitly.
 */
import type { Diagnostic } from '../diagnostics/index.js';
import { DiagnosticError, error, warning } from '../diagnostics/index.js';
import type { EnvironmentError } from '../diagnostics/environment.js';
import { secrets } from '../secrets/mask.js';
import { GitError, gitFailure, remoteNamespace, type GitRepo, type RefInfo } from './git.js';
import { parseHistoryTag } from './records.js';

/** What one sync took in from the remote. */
export interface SyncReport {
  remote: string;
  /** The clone is shallow: the records were fetched with `--depth=1`. */
  shallow: boolean;
  /** Deployment refs created or moved to the remote's value (`from` null: new here). */
  refs: Array<{ ref: string; from: string | null; to: string }>;
  /** Deployment refs whose local value is a newer deployment than the remote's (not pushed yet): kept. */
  keptLocal: Array<{ ref: string; local: string; remote: string }>;
  /** Tags (names without refs/tags/) created here: history and release tags. */
  tags: string[];
  /** Tags that exist here with another object than the remote's (tags are immutable: kept). */
  tagConflicts: string[];
  /** Notes refs created or merged with the remote's. */
  notes: string[];
}

/** The records under these prefixes are tracking data (leases under refs/atmos/leases/ are not). */
const DEPLOYMENTS = 'refs/atmos/deployments/';
const TAGS = 'refs/tags/atmos/';
const NOTES = 'refs/notes/atmos/';

/** Whether the repository is a shallow clone; undefined outside a Git repository. */
async function shallowness(git: GitRepo): Promise<boolean | undefined> {
  const r = await git.run(['rev-parse', '--is-shallow-repository'], { allowFail: true });
  if (r.code !== 0) return undefined;
  return r.text.trim() === 'true';
}

/**
 * Newest history tag time of each (deployment ref, commit), over the tags of both sides:
 * `tagRoots` are where tags live (`refs/tags/`, and the remote's mirror of them).
 */
function deploymentTimes(refs: RefInfo[], tagRoots: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of refs) {
    const root = tagRoots.find((p) => r.ref.startsWith(p));
    const h = root === undefined ? undefined : parseHistoryTag(r.ref.slice(root.length));
    if (!h) continue;
    const key = `${DEPLOYMENTS}${h.deployment}/${h.target}/${h.component}\0${r.target}`;
    out.set(key, Math.max(out.get(key) ?? Number.NEGATIVE_INFINITY, Date.parse(h.timestamp)));
  }
  return out;
}

/** Fetches the records of `remote` and takes them in; see the module comment for the rules. */
export async function syncTracking(git: GitRepo, remote: string, shallow?: boolean): Promise<SyncReport> {
  secrets.addUrl(remote);
  const isShallow = shallow ?? (await shallowness(git)) ?? false;
  const ns = remoteNamespace(remote);
  // The layout a rejected push fetches into too (GitRepo.push): one mirror of the remote.
  const mirror = { deployments: `refs/atmos-remote/${ns}/atmos/deployments/`, tags: `refs/atmos-remote/${ns}/tags/atmos/`, notes: `refs/notes/atmos-remote/${ns}/atmos/` };
  const args = ['fetch', '--no-tags', '--no-write-fetch-head', '--prune', '--quiet'];
  if (isShallow) args.push('--depth=1');
  args.push('--', remote, `+${DEPLOYMENTS}*:${mirror.deployments}*`, `+${TAGS}*:${mirror.tags}*`, `+${NOTES}*:${mirror.notes}*`);
  await git.run(args);

  const all = await git.readRefs([DEPLOYMENTS, TAGS, NOTES, mirror.deployments, mirror.tags, mirror.notes]);
  const local = new Map<string, RefInfo>();
  const remoteRefs = new Map<string, RefInfo>();
  for (const r of all) {
    if (r.ref.startsWith(mirror.deployments)) remoteRefs.set(DEPLOYMENTS + r.ref.slice(mirror.deployments.length), r);
    else if (r.ref.startsWith(mirror.tags)) remoteRefs.set(TAGS + r.ref.slice(mirror.tags.length), r);
    else if (r.ref.startsWith(mirror.notes)) remoteRefs.set(NOTES + r.ref.slice(mirror.notes.length), r);
    else local.set(r.ref, r);
  }
  const report: SyncReport = { remote, shallow: isShallow, refs: [], keptLocal: [], tags: [], tagConflicts: [], notes: [] };
  const commands: string[] = [];
  for (const [ref, r] of remoteRefs) {
    if (!ref.startsWith(TAGS)) continue;
    const mine = local.get(ref);
    if (!mine) {
      commands.push(`create ${ref} ${r.sha}`);
      report.tags.push(ref.slice('refs/tags/'.length));
    } else if (mine.sha !== r.sha) report.tagConflicts.push(ref.slice('refs/tags/'.length));
  }
  // Which value of a deployment ref is the newer deployment: by the history tags of both sides.
  const times = deploymentTimes(all, ['refs/tags/', `refs/atmos-remote/${ns}/tags/`]);
  const timeOf = (ref: string, sha: string) => times.get(`${ref}\0${sha}`) ?? Number.NEGATIVE_INFINITY;
  for (const [ref, r] of remoteRefs) {
    if (!ref.startsWith(DEPLOYMENTS)) continue;
    const mine = local.get(ref);
    if (mine?.sha === r.sha) continue;
    if (mine && timeOf(ref, mine.sha) > timeOf(ref, r.sha)) {
      report.keptLocal.push({ ref, local: mine.sha, remote: r.sha });
      continue;
    }
    commands.push(mine ? `update ${ref} ${r.sha} ${mine.sha}` : `create ${ref} ${r.sha}`);
    report.refs.push({ ref, from: mine?.sha ?? null, to: r.sha });
  }
  // One transaction for every tag and deployment ref: each moves from the value read above.
  if (commands.length) await git.run(['update-ref', '-m', `atmos-pipe: sync from ${remote}`, '--stdin'], { input: `${commands.join('\n')}\n` });
  for (const [ref, r] of remoteRefs) {
    if (!ref.startsWith(NOTES)) continue;
    const before = local.get(ref)?.sha ?? null;
    if (before === r.sha) continue;
    const fetched = mirror.notes + ref.slice(NOTES.length);
    const after = await git.mergeNotes(ref, fetched, { strategy: ref.endsWith('/approvals') ? 'cat_sort_uniq' : 'ours' });
    if (after !== before) report.notes.push(ref);
  }
  return report;
}

/** What fetching first gave: the sync report, or why the remote could not be read. */
export type FetchOutcome = { remote: string; report: SyncReport; failure?: undefined } | { remote: string; report?: undefined; failure: EnvironmentError };

/** `ATMOS_PIPE_NO_FETCH=1` (or true/yes): `--no-fetch` for every command of a job. */
export function fetchDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env.ATMOS_PIPE_NO_FETCH?.trim() ?? '');
}

const fetched = new Map<string, Promise<FetchOutcome | undefined>>();

/**
 * Fetches the records of `remote` before a command reads or records: once per process for
 * each repository and remote (`refresh` fetches again, e.g. after waiting for another
 * machine's lease). Undefined when there is no remote, fetching is off (`--no-fetch`), or the
 * directory is not a Git repository (the command reports that itself). A remote that cannot
 * be read is a `failure`, not an exception: the caller decides what stale records may cost.
 */
export function fetchFirst(git: GitRepo, remote: string | undefined, opts: { fetch?: boolean; refresh?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<FetchOutcome | undefined> {
  if (!remote || opts.fetch === false || fetchDisabled(opts.env)) return Promise.resolve(undefined);
  const key = `${git.dir}\0${remote}`;
  const known = fetched.get(key);
  if (known && !opts.refresh) return known;
  const p = (async (): Promise<FetchOutcome | undefined> => {
    const shallow = await shallowness(git);
    if (shallow === undefined) return undefined;
    try {
      return { remote, report: await syncTracking(git, remote, shallow) };
    } catch (e) {
      const failure = e instanceof GitError && e.args[0] === 'fetch' ? gitFailure(e) : undefined;
      if (!failure) throw e;
      return { remote, failure };
    }
  })();
  fetched.set(key, p);
  return p;
}

/** The warning of a remote that could not be read: the local records are used as they are. */
export function staleWarning(outcome: FetchOutcome | undefined, what: string): Diagnostic[] {
  if (!outcome?.failure) return [];
  const f = outcome.failure;
  return [warning('tracking/fetch-failed', `could not fetch the deployment records from ${f.where ?? outcome.remote} (${f.reason}): ${what}`, undefined, f.hint)];
}

/**
 * A decision that depends on other targets' records (a promotion, an approval, a rollback)
 * is refused on records that could not be refreshed: a stale view could let a release
 * through that the remote knows was rolled back or never approved. Exit 3, nothing written.
 */
export function requireFresh(outcome: FetchOutcome | undefined, what: string): void {
  if (!outcome?.failure) return;
  const f = outcome.failure;
  throw new DiagnosticError(
    error(
      'tracking/stale-records',
      `${what} depends on the deployment records of the tracking remote, which could not be fetched from ${f.where ?? outcome.remote} (${f.reason})`,
      undefined,
      `${f.hint}; to decide on this repository's records as they are, run again with --no-fetch (or ATMOS_PIPE_NO_FETCH=1)`,
    ),
    'refused',
  );
}
