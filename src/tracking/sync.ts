/**
 * `pushTracking`: pushes what one rollout recorded (deployment refs, history/release tags,
 * notes) to a remote, in one `git push` per attempt, never overwriting anything blindly
 * (SPEC 6: "a rejected push is fetched, re-checked and retried").
 *
 * - Deployment refs are pushed with a lease on the value they had before the rollout. When
 *   the remote moved meanwhile, the remote history tags of the component are listed (one
 *   `git ls-remote` for all rejected refs) and the deployment that set the remote value is
 *   found: the newest history tag of the component pointing at the remote value (or, when
 *   none does, the newest history tag of the component). If ours is newer (or the remote has
 *   none) we retry with a lease on the remote value: the older deployment is replaced
 *   knowingly, its history stays in its tag. Otherwise the remote wins: the ref is reported
 *   as `superseded`, and neither the remote nor the local ref is touched.
 *   Failed deployments keep their previous ref (SPEC 6), so a newer `status: failed` tag of
 *   another commit does not supersede a successful deployment.
 * - Tags are immutable: plain push; a remote tag with the same name is accepted only when it
 *   is the very same object, otherwise it is reported in `rejected` (never forced).
 * - Notes refs: plain (fast-forward) push; on rejection the remote notes are merged into the
 *   local notes ref (`git notes merge -s cat_sort_uniq`) and pushed with a lease on the
 *   remote value, so concurrent appenders' notes all end up on the remote.
 */
import { secrets } from '../secrets/mask.js';
import type { FetchedState, GitRepo, PushRefStatus, PushSpec, RemoteRef } from './git.js';
import { deploymentRef, historyTagPrefix, parseHistoryTag } from './records.js';

export interface TrackingPush {
  /** Deployment refs this rollout moved: full ref name, the value before the rollout (null = did not exist), the new value. */
  refs: Array<{
    ref: string;
    previous: string | null;
    value: string;
    /** history tag (name without refs/tags/) recording this move; its timestamp orders deployments */
    tag: string;
  }>;
  /** Tags created (names without refs/tags/): history tags and release tags. Immutable. */
  tags: string[];
  /** Notes refs (full names, refs/notes/atmos/<d>/approvals etc.) to push if they exist locally. */
  notes: string[];
}

export interface TrackingPushResult {
  ok: boolean;
  attempts: number;
  /** dst refs accepted (or already up to date) */
  pushed: string[];
  /** refs not pushed because the remote holds a NEWER deployment (not an error: remote wins, reported) */
  superseded: Array<{ ref: string; remote: string; remoteTag: string | null }>;
  /** refs still rejected at the end, with git's reason */
  rejected: Array<{ ref: string; reason: string }>;
}

interface DeploymentMove {
  ref: string;
  previous: string | null;
  value: string;
  /** Our history tag (name without refs/tags/). */
  tag: string;
  deployment: string;
  target: string;
  component: string;
  time: number;
}

const TAGS = 'refs/tags/';
const RELEASE_TAGS = 'refs/tags/atmos/releases/';

/** A remote release tag made by another clone for the same release: same name, same commit. */
async function sameRelease(repo: GitRepo, dst: string, local: string, fetched: string | undefined): Promise<boolean> {
  if (!fetched) return false;
  const r = await repo.run(['rev-parse', `${local}^{commit}`, `${fetched}^{commit}`], { allowFail: true });
  if (r.code !== 0) return false;
  const [a, b] = r.text.trim().split('\n');
  return Boolean(a) && a === b && dst.startsWith(RELEASE_TAGS);
}
const stripTags = (t: string): string => (t.startsWith(TAGS) ? t.slice(TAGS.length) : t);
const reasonOf = (s: PushRefStatus): string => s.reason ?? s.summary;

/** Pushes the refs, tags and notes of one rollout; see the module comment for the rules. */
export async function pushTracking(repo: GitRepo, remote: string, what: TrackingPush, opts: { maxAttempts?: number } = {}): Promise<TrackingPushResult> {
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
  // A token in the remote's URL (https://user:token@host/...) is masked in everything printed.
  secrets.addUrl(remote);

  // ------------------------------------------------------------ validate the input
  const moves = new Map<string, DeploymentMove>();
  for (const r of what.refs) {
    const tag = stripTags(r.tag);
    const h = parseHistoryTag(tag);
    if (!h) throw new Error(`${r.ref}: "${r.tag}" is not a deployment history tag`);
    const expected = deploymentRef(h.deployment, h.target, h.component);
    if (expected !== r.ref) throw new Error(`history tag ${tag} records ${expected}, not ${r.ref}`);
    if (moves.has(r.ref)) throw new Error(`deployment ref ${r.ref} listed twice`);
    moves.set(r.ref, { ...r, tag, ...h, time: Date.parse(h.timestamp) });
  }
  const notes = [...new Set(what.notes)];
  for (const n of notes) {
    if (!n.startsWith('refs/notes/')) throw new Error(`notes ref must be a full ref under refs/notes/: ${n}`);
  }
  // History tags of the moves are pushed too (history is never lost), even if not in `tags`.
  const tagRefs = [...new Set([...what.tags, ...[...moves.values()].map((m) => m.tag)].map((t) => TAGS + stripTags(t)))];

  // ------------------------------------------------- local state (one for-each-ref)
  const wanted = [...tagRefs, ...notes];
  const localSha = new Map<string, string>();
  if (wanted.length) {
    const set = new Set(wanted);
    for (const r of await repo.readRefs(wanted)) if (set.has(r.ref)) localSha.set(r.ref, r.sha);
  }

  const rejected: TrackingPushResult['rejected'] = [];
  const superseded: TrackingPushResult['superseded'] = [];
  const alsoPushed: string[] = [];

  const specs: PushSpec[] = [];
  for (const t of tagRefs) {
    if (localSha.has(t)) specs.push({ src: t, dst: t });
    else rejected.push({ ref: t, reason: 'does not exist locally' });
  }
  for (const m of moves.values()) specs.push({ src: m.value, dst: m.ref, expect: m.previous });
  for (const n of notes) if (localSha.has(n)) specs.push({ src: n, dst: n });

  if (specs.length === 0) return { ok: rejected.length === 0, attempts: 0, pushed: [], superseded, rejected };

  // ------------------------------------------------------ re-check after a rejection
  const reconcile = async (state: FetchedState): Promise<PushSpec[]> => {
    const next: PushSpec[] = [];
    const stale: Array<{ move: DeploymentMove; remoteValue: string | null }> = [];
    for (const st of state.rejected) {
      const dst = st.dst;
      const remoteValue = state.remoteRefs.get(dst) ?? null;
      const move = moves.get(dst);
      if (dst.startsWith(TAGS)) {
        // Tags are immutable: the same object on the remote is fine, anything else is a conflict.
        if (remoteValue !== null && remoteValue === localSha.get(dst)) alsoPushed.push(dst);
        else if (remoteValue !== null && dst.startsWith(RELEASE_TAGS) && (await sameRelease(repo, dst, localSha.get(dst)!, state.fetchedInto.get(dst)))) {
          // Release ids are derived from the content (commit + artifacts): another clone made
          // the same release first. Adopt theirs so every clone holds one tag object.
          const cas = await repo.updateRef(dst, remoteValue, localSha.get(dst)!, 'atmos-pipe: adopt the remote release tag');
          if (cas.ok) alsoPushed.push(dst);
          else rejected.push({ ref: dst, reason: 'changed locally during the push' });
        } else rejected.push({ ref: dst, reason: reasonOf(st) });
      } else if (move) {
        if (remoteValue === move.value) alsoPushed.push(dst);
        else if (st.state === 'remote-rejected') rejected.push({ ref: dst, reason: reasonOf(st) });
        else stale.push({ move, remoteValue });
      } else if (dst.startsWith('refs/notes/')) {
        const fetched = state.fetchedInto.get(dst);
        if (st.state === 'remote-rejected' || remoteValue === null || !fetched) {
          rejected.push({ ref: dst, reason: reasonOf(st) });
          continue;
        }
        // Approvals are one JSON line each: merged line by line. Other notes (an SBOM, a JUnit
        // report) are whole documents: for a commit both sides annotated, ours (the newer) wins.
        await repo.mergeNotes(dst, fetched, { strategy: dst.endsWith('/approvals') ? 'cat_sort_uniq' : 'ours' });
        next.push({ src: dst, dst, expect: remoteValue });
      } else {
        rejected.push({ ref: dst, reason: reasonOf(st) });
      }
    }
    if (stale.length) {
      // One ls-remote for all rejected deployment refs: the history tags of their components.
      const patterns = [...new Set(stale.map(({ move: m }) => `${historyTagPrefix(m.deployment, m.target)}${m.component}/*`))];
      const remoteTags = await repo.lsRemote(state.remote, patterns);
      for (const { move, remoteValue } of stale) {
        const winner = remoteDeployment(move, remoteValue, remoteTags);
        if (!winner || move.time > winner.time) {
          // Ours is newer: knowingly replace the older deployment (its tag keeps its history).
          next.push({ src: move.value, dst: move.ref, expect: remoteValue });
        } else if (remoteValue === null) {
          rejected.push({ ref: move.ref, reason: `deleted on the remote, which has a newer deployment ${winner.name}` });
        } else {
          superseded.push({ ref: move.ref, remote: remoteValue, remoteTag: winner.name });
        }
      }
    }
    return next;
  };

  const res = await repo.push(remote, specs, { reconcile, maxAttempts });
  for (const st of res.rejected) rejected.push({ ref: st.dst, reason: reasonOf(st) });
  const pushed = [...new Set([...res.pushed.map((s) => s.dst), ...alsoPushed])];
  return { ok: rejected.length === 0, attempts: res.attempts, pushed, superseded, rejected };
}

/** What `--push` (or `deployments.tracking.remote`) did: the push result and the remote. */
export type RemotePush = TrackingPushResult & { remote: string };

/**
 * The push of `release`, `approve` and `rollout`: what they recorded goes to `remote` when
 * one was asked for or configured (undefined: nothing pushed).
 */
export async function pushRecorded(repo: GitRepo, remote: string | undefined, what: TrackingPush): Promise<RemotePush | undefined> {
  if (!remote) return undefined;
  return { ...(await pushTracking(repo, remote, what)), remote };
}

/**
 * The remote deployment our move competes with: the newest remote history tag of the same
 * component that points at the remote value, else the newest history tag of the component
 * (our own tag, possibly pushed in the same batch, never counts). Undefined when none.
 */
function remoteDeployment(move: DeploymentMove, remoteValue: string | null, remoteTags: RemoteRef[]): { name: string; time: number } | undefined {
  let newest: { name: string; time: number } | undefined;
  let newestOfValue: { name: string; time: number } | undefined;
  for (const r of remoteTags) {
    const name = stripTags(r.ref);
    if (name === move.tag) continue;
    const h = parseHistoryTag(name);
    if (!h || h.deployment !== move.deployment || h.target !== move.target || h.component !== move.component) continue;
    const cand = { name, time: Date.parse(h.timestamp) };
    if (!newest || cand.time > newest.time) newest = cand;
    if (remoteValue !== null && r.target === remoteValue && (!newestOfValue || cand.time > newestOfValue.time)) {
      newestOfValue = cand;
    }
  }
  return newestOfValue ?? newest;
}
