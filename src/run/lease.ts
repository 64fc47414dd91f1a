/**
 * The lease of a deployment and target on the tracking remote: the run lock across machines
 * (SPEC 10: "a lease ref guards a target across machines"). The local lock (lock.ts) keeps
 * two runs on one machine apart; two CI jobs on two machines share only the remote, so the
 * lease lives there: `refs/atmos/leases/<d>/<t>` points to a commit (empty tree, no parent)
 * whose message is the holder (host, pid, run id, CI job URL) and the expiry.
 *
 * - Taken with a compare-and-swap on the remote (`git push --force-with-lease=<ref>:<seen>`):
 *   of two jobs that saw the same value, exactly one moves it.
 * - Held by another run and not expired: waited for (polling) up to the lock timeout, then
 *   exit 4 naming the holder, like the local lock.
 * - Renewed by a heartbeat (every third of its duration) while the run lasts; released (the
 *   ref deleted, again with a lease on our value) at the end.
 * - Expired (its holder crashed or was killed, so the heartbeat stopped): taken over, with a
 *   notice naming the run it replaces. Expiry is judged by this machine's clock, so the
 *   duration (ATMOS_PIPE_LEASE_TTL, default 2 minutes) must exceed the clock skew between
 *   runners by far.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { fetchFirst, staleWarning } from '../tracking/fetch.js';
import { GitError, gitFailure, remoteNamespace, type GitRepo } from '../tracking/git.js';
import { secrets } from '../secrets/mask.js';
import { ciJobUrl } from '../ci/provider.js';

/** Who holds a lease and until when (the lease commit's message, as JSON). */
export interface LeaseHolder {
  deployment: string;
  target: string;
  runId: string;
  host: string;
  pid: number;
  /** The CI job running the holder, when it runs in one. */
  job?: string;
  since: string;
  expires: string;
}

/** Default lease duration; a heartbeat renews it three times per duration. */
const DEFAULT_TTL_SECONDS = 120;

/** The lease duration: `ATMOS_PIPE_LEASE_TTL` (seconds), else two minutes. */
export function leaseTtlSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.ATMOS_PIPE_LEASE_TTL);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_TTL_SECONDS;
}

/** `refs/atmos/leases/<d>/<t>`: names are kebab-case (checked when loaded), so ref-safe. */
export function leaseRef(deployment: string, target: string): string {
  return `refs/atmos/leases/${deployment}/${target}`;
}

/** Says who holds a lease, for messages. */
export function describeHolder(h: LeaseHolder): string {
  return `run ${h.runId}, pid ${h.pid} on ${h.host}${h.job ? `, ${h.job}` : ''}, since ${h.since}, expires ${h.expires}`;
}

export interface LeaseEvents {
  /** Once, when the lease is held by another run and this one starts waiting. */
  onWait?: (holder: LeaseHolder | undefined) => void;
  /** Anything worth telling: an expired lease taken over, a renewal that failed. */
  notice?: (message: string) => void;
}

export class RemoteLease {
  private sha: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private emptyTree: string | undefined;
  /** Set when a renewal found the lease taken by someone else (reported at release). */
  lost: LeaseHolder | undefined;
  /** The run waited for another holder before taking the lease (its records may be newer). */
  waited = false;

  constructor(
    readonly git: GitRepo,
    readonly remote: string,
    readonly deployment: string,
    readonly target: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
    readonly ttlSeconds = leaseTtlSeconds(env),
  ) {
    secrets.addUrl(remote); // a token in the remote's URL is masked in every notice
  }

  get ref(): string {
    return leaseRef(this.deployment, this.target);
  }

  /** The lease on the remote now: its commit and holder (undefined: nobody holds it). */
  private async read(attempt = 1): Promise<{ sha: string; holder: LeaseHolder | undefined } | undefined> {
    const [r] = await this.git.lsRemote(this.remote, [this.ref]);
    if (!r) return undefined;
    let body = await this.git.run(['cat-file', 'commit', r.sha], { allowFail: true });
    if (body.code !== 0) {
      const local = `refs/atmos-remote/${remoteNamespace(this.remote)}/leases/${this.deployment}/${this.target}`;
      const fetched = await this.git.run(['fetch', '--no-tags', '--no-write-fetch-head', '--quiet', '--', this.remote, `+${this.ref}:${local}`], { allowFail: attempt < 3 });
      // The holder released or renewed it between the listing and the fetch: look again.
      if (fetched.code !== 0) return this.read(attempt + 1);
      body = await this.git.run(['cat-file', 'commit', r.sha], { allowFail: attempt < 3 });
      if (body.code !== 0) return this.read(attempt + 1);
    }
    const message = body.text.slice(body.text.indexOf('\n\n') + 2);
    try {
      return { sha: r.sha, holder: JSON.parse(message) as LeaseHolder };
    } catch {
      return { sha: r.sha, holder: undefined }; // not ours to read: treated as expired
    }
  }

  /** A new lease commit for `runId`, valid for the lease duration from now. */
  private async commit(runId: string, since: string): Promise<string> {
    this.emptyTree ??= (await this.git.run(['mktree'], { input: '' })).text.trim();
    const job = ciJobUrl(this.env);
    const holder: LeaseHolder = {
      deployment: this.deployment,
      target: this.target,
      runId,
      host: hostname(),
      pid: process.pid,
      ...(job ? { job } : {}),
      since,
      expires: new Date(Date.now() + this.ttlSeconds * 1000).toISOString(),
    };
    await this.git.committerIdent(); // a fresh runner without a Git identity still leases
    return (await this.git.run(['commit-tree', this.emptyTree, '-m', JSON.stringify(holder)])).text.trim();
  }

  /** Moves the remote lease from `expect` (null: absent) to `src` ('' deletes it); false when someone else moved it first. */
  private async cas(src: string, expect: string | null): Promise<boolean> {
    const r = await this.git.push(this.remote, [{ src, dst: this.ref, expect }]);
    return r.ok;
  }

  /**
   * Takes the lease for `runId`, waiting up to `timeoutSeconds` for another holder; throws a
   * DiagnosticError of kind `locked` (exit 4) naming the holder. Starts the heartbeat.
   */
  async acquire(runId: string, timeoutSeconds: number, events: LeaseEvents = {}): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const since = new Date().toISOString();
    for (;;) {
      const now = await this.read();
      const expired = now !== undefined && (!now.holder || Date.parse(now.holder.expires) <= Date.now());
      if (!now || expired || now.holder?.runId === runId) {
        const sha = await this.commit(runId, since);
        if (await this.cas(sha, now?.sha ?? null)) {
          this.sha = sha;
          if (expired && now.holder?.runId !== runId)
            events.notice?.(`took over the expired lease of ${this.deployment}/${this.target} on ${this.remote}${now.holder ? ` (${describeHolder(now.holder)})` : ''}`);
          this.startHeartbeat(runId, since, events);
          return;
        }
        continue; // another job moved it between our read and our push: read again
      }
      if (Date.now() >= deadline) {
        throw new DiagnosticError(
          error(
            'run/lease-held',
            `another run holds the lease of ${this.deployment}/${this.target} on ${this.remote}${now.holder ? ` (${describeHolder(now.holder)})` : ''}`,
            undefined,
            `wait for it to finish, or raise --lock-timeout (now ${timeoutSeconds}s); a crashed holder's lease expires by itself (ref ${this.ref})`,
          ),
          'locked',
        );
      }
      if (!this.waited) events.onWait?.(now.holder);
      this.waited = true;
      const untilExpiry = now.holder ? Date.parse(now.holder.expires) - Date.now() : 0;
      await sleep(Math.max(200, Math.min(2000, untilExpiry, deadline - Date.now())));
    }
  }

  private startHeartbeat(runId: string, since: string, events: LeaseEvents): void {
    const every = Math.max(200, (this.ttlSeconds * 1000) / 3);
    this.timer = setInterval(() => {
      if (this.renewing || !this.sha) return;
      this.renewing = this.renew(runId, since, events).finally(() => {
        this.renewing = undefined;
      });
    }, every);
    this.timer.unref();
  }

  private async renew(runId: string, since: string, events: LeaseEvents): Promise<void> {
    const previous = this.sha;
    if (!previous) return;
    try {
      const sha = await this.commit(runId, since);
      if (await this.cas(sha, previous)) {
        if (this.sha === previous) this.sha = sha;
        return;
      }
      // Someone took it over: our heartbeat came too late (a paused machine, a lease too short).
      this.sha = undefined;
      this.lost = (await this.read())?.holder;
      events.notice?.(
        `the lease of ${this.deployment}/${this.target} on ${this.remote} was taken over${this.lost ? ` by ${describeHolder(this.lost)}` : ''} while this run held it; raise ATMOS_PIPE_LEASE_TTL (now ${this.ttlSeconds}s)`,
      );
    } catch (e) {
      // The remote is unreachable for a moment: the next heartbeat tries again before expiry.
      if (!(e instanceof GitError)) throw e;
      events.notice?.(`renewing the lease of ${this.deployment}/${this.target} on ${this.remote} failed: ${e.stderr.trim().split('\n').pop() ?? ''}`);
    }
  }

  /** Stops the heartbeat and deletes the lease if it is still ours (never someone else's). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
    const sha = this.sha;
    this.sha = undefined;
    if (!sha) return;
    try {
      await this.cas('', sha);
    } catch (e) {
      // Unreachable remote: the lease expires by itself; nothing else to do at the end of a run.
      if (!(e instanceof GitError)) throw e;
    }
  }
}

/**
 * Takes the lease of a run, telling the user while it waits. After waiting for another
 * machine's run, the records are fetched again: that run has just pushed what it rolled out,
 * and the rollout's re-check under the lock must decide on it.
 */
export async function acquireLease(lease: RemoteLease, runId: string, timeoutSeconds: number, notice: (message: string) => void): Promise<void> {
  try {
    await lease.acquire(runId, timeoutSeconds, {
      notice,
      onWait: (h) => notice(`waiting for the lease of ${lease.deployment}/${lease.target} on ${lease.remote}${h ? ` (held by ${describeHolder(h)})` : ''}`),
    });
  } catch (e) {
    // An unreachable remote: the run can record nothing there either (its push fails at the
    // end, exit 1), so it goes on under the local lock, said rather than refused.
    const failure = e instanceof GitError ? gitFailure(e) : undefined;
    if (!failure) throw e;
    notice(`no lease taken on ${failure.where ?? lease.remote} (${failure.reason}): only the local lock guards this run`);
    return;
  }
  if (!lease.waited) return;
  const again = await fetchFirst(lease.git, lease.remote, { refresh: true });
  for (const d of staleWarning(again, 'the records of the run waited for may be missing')) notice(d.message);
}
