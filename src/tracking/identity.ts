/**
 * Who is deploying or approving: recorded as `deployed_by`, `created_by` and `approved_by`.
 * First match wins: ATMOS_PIPE_USER; the CI's actor (GitHub Actions, GitLab, Buildkite,
 * CircleCI); Git's committer e-mail (else name); the operating-system user.
 */
import os from 'node:os';
import type { GitRepo } from './git.js';

/**
 * Whether two recorded identities are the same person: e-mail addresses and CI logins are
 * case-insensitive, so `ALICE@x` and ` alice@x ` are one identity (approval.distinct_approver).
 */
export function sameIdentity(a: string, b: string): boolean {
  const key = (s: string) => s.normalize('NFKC').trim().toLowerCase();
  return key(a) === key(b);
}

const CI_ACTORS = ['GITHUB_ACTOR', 'GITLAB_USER_LOGIN', 'BUILDKITE_BUILD_CREATOR_EMAIL', 'CIRCLE_USERNAME'];

export async function whoAmI(repo: GitRepo | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.ATMOS_PIPE_USER?.trim();
  if (explicit) return explicit;
  for (const k of CI_ACTORS) {
    const v = env[k]?.trim();
    if (v) return v;
  }
  if (repo) {
    const r = await repo.run(['var', 'GIT_COMMITTER_IDENT'], { allowFail: true });
    if (r.code === 0) {
      const m = /^(.*?)\s*<([^>]*)>/.exec(r.text.trim());
      if (m?.[2]) return m[2];
      if (m?.[1]) return m[1];
    }
  }
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * The web address of the CI job this process runs in (named in a lease, so whoever waits for
 * it can open the job): GitHub Actions, GitLab, Buildkite, CircleCI, Jenkins, Azure Pipelines.
 */
export function ciJobUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY) return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
  const direct = env.CI_JOB_URL ?? env.BUILDKITE_BUILD_URL ?? env.CIRCLE_BUILD_URL ?? env.BUILD_URL;
  if (direct) return direct;
  if (env.SYSTEM_COLLECTIONURI && env.SYSTEM_TEAMPROJECT && env.BUILD_BUILDID) return `${env.SYSTEM_COLLECTIONURI}${env.SYSTEM_TEAMPROJECT}/_build/results?buildId=${env.BUILD_BUILDID}`;
  return undefined;
}
