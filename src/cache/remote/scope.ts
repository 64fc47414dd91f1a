/**
 * Which namespaces of the shared cache a run may read and write (README "Shared cache"). The
 * reason is CVE-2025-36852 (Nx "CREEP"): a pull request could write a cache entry that the
 * default branch later used. Here a run writes only under its own ref's namespace; it reads
 * its own namespace and the trusted ones (`deployments.cache.trusted_refs`, default the
 * default branch), never another branch's; a pull-request run (its namespace is `pr/<n>`,
 * whatever its branch is called, since a fork may call its branch `main`) never writes a
 * trusted namespace.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';

export interface CacheScope {
  /** The namespace this run writes under (its ref); undefined when no ref is known (a detached HEAD outside CI). */
  namespace?: string;
  /** Namespaces read, own first. */
  read: string[];
  /** Whether this run may write its namespace. */
  write: boolean;
  /** A pull/merge request (or otherwise untrusted) run. */
  untrusted: boolean;
  /** How the ref was found, and why writes are (not) allowed, for `-v`. */
  why: string;
}

type Env = NodeJS.ProcessEnv | Record<string, string | undefined>;

function gitOut(repoRoot: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const nonEmpty = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);

/** The run's ref as a namespace and whether it is a pull/merge request, from the CI's variables, else Git. */
export function detectRef(env: Env, repoRoot: string): { namespace?: string; request: boolean; from: string } {
  if (nonEmpty(env.GITHUB_EVENT_NAME) || nonEmpty(env.GITHUB_REF)) {
    const ref = env.GITHUB_REF ?? '';
    if ((env.GITHUB_EVENT_NAME ?? '').startsWith('pull_request') || ref.startsWith('refs/pull/')) {
      const n = /^refs\/pull\/(\d+)\//.exec(ref)?.[1];
      return { namespace: n ? `pr/${n}` : undefined, request: true, from: `GITHUB_EVENT_NAME=${env.GITHUB_EVENT_NAME ?? ''}` };
    }
    if (ref.startsWith('refs/heads/')) return { namespace: ref.slice('refs/heads/'.length), request: false, from: 'GITHUB_REF' };
    if (ref.startsWith('refs/tags/')) return { namespace: `tags/${ref.slice('refs/tags/'.length)}`, request: false, from: 'GITHUB_REF' };
  }
  if (nonEmpty(env.CI_MERGE_REQUEST_IID)) return { namespace: `mr/${env.CI_MERGE_REQUEST_IID!.trim()}`, request: true, from: 'CI_MERGE_REQUEST_IID' };
  if (nonEmpty(env.CI_COMMIT_REF_NAME)) return { namespace: env.CI_COMMIT_REF_NAME!.trim(), request: false, from: 'CI_COMMIT_REF_NAME' };
  const circlePr = nonEmpty(env.CIRCLE_PR_NUMBER) ?? /\/pull\/(\d+)/.exec(env.CIRCLE_PULL_REQUEST ?? '')?.[1];
  if (circlePr) return { namespace: `pr/${circlePr}`, request: true, from: 'CIRCLE_PULL_REQUEST' };
  if (nonEmpty(env.CIRCLE_BRANCH)) return { namespace: env.CIRCLE_BRANCH!.trim(), request: false, from: 'CIRCLE_BRANCH' };
  if (nonEmpty(env.BUILDKITE_PULL_REQUEST) && env.BUILDKITE_PULL_REQUEST !== 'false') return { namespace: `pr/${env.BUILDKITE_PULL_REQUEST!.trim()}`, request: true, from: 'BUILDKITE_PULL_REQUEST' };
  if (nonEmpty(env.BUILDKITE_BRANCH)) return { namespace: env.BUILDKITE_BRANCH!.trim(), request: false, from: 'BUILDKITE_BRANCH' };
  if (nonEmpty(env.CHANGE_ID)) return { namespace: `pr/${env.CHANGE_ID!.trim()}`, request: true, from: 'CHANGE_ID' };
  if (nonEmpty(env.BRANCH_NAME)) return { namespace: env.BRANCH_NAME!.trim(), request: false, from: 'BRANCH_NAME' };
  const branch = gitOut(repoRoot, ['symbolic-ref', '-q', '--short', 'HEAD']);
  return { namespace: branch, request: false, from: branch ? 'the checked-out Git branch' : 'Git (detached HEAD: no branch)' };
}

/** The repository's default branch: the CI's word, else origin's HEAD, else `main`. */
export function defaultBranch(env: Env, repoRoot: string): string {
  if (nonEmpty(env.CI_DEFAULT_BRANCH)) return env.CI_DEFAULT_BRANCH!.trim();
  if (nonEmpty(env.GITHUB_EVENT_PATH)) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH!, 'utf8')) as { repository?: { default_branch?: unknown } };
      if (typeof event.repository?.default_branch === 'string' && event.repository.default_branch) return event.repository.default_branch;
    } catch {
      // no readable event file: ask Git
    }
  }
  const head = gitOut(repoRoot, ['symbolic-ref', '-q', 'refs/remotes/origin/HEAD']);
  if (head?.startsWith('refs/remotes/origin/')) return head.slice('refs/remotes/origin/'.length);
  return 'main';
}

/**
 * The scope of a run. `trustedRefs`: names or globs (`release/*`); default the default branch.
 * Globs can only match the run's own namespace (a store is read by name), so list trusted
 * branches by name for other runs to read them.
 */
export function cacheScope(env: Env, repoRoot: string, trustedRefs?: string[]): CacheScope {
  const ref = detectRef(env, repoRoot);
  const trusted = trustedRefs?.length ? trustedRefs : [defaultBranch(env, repoRoot)];
  const isTrusted = picomatch(trusted);
  const ownTrusted = ref.namespace !== undefined && isTrusted(ref.namespace);
  const read = [...new Set([...(ref.namespace ? [ref.namespace] : []), ...trusted.filter((t) => !picomatch.scan(t).isGlob)])];
  let write = ref.namespace !== undefined;
  let why = `namespace ${ref.namespace ?? '(none)'} from ${ref.from}; trusted: ${trusted.join(', ')}`;
  if (ref.namespace === undefined) why += '; writes nothing (no ref to write under)';
  else if (ref.request && ownTrusted) {
    write = false;
    why += '; a pull request never writes a trusted namespace';
  }
  return { ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}), read, write, untrusted: ref.request, why };
}
