/**
 * Who is deploying or approving: recorded as `deployed_by`, `created_by` and `approved_by`.
 * First match wins: ATMOS_PIPE_USER; the CI's actor (src/ci/provider.ts: GitHub Actions,
 * GitLab, Buildkite, CircleCI, Azure Pipelines, Bitbucket, Jenkins); Git's committer e-mail
 * (else name); the operating-system user.
 */
import os from 'node:os';
import { ciActor } from '../ci/provider.js';
import type { GitRepo } from './git.js';

/**
 * Whether two recorded identities are the same person: e-mail addresses and CI logins are
 * case-insensitive, so `ALICE@x` and ` alice@x ` are one identity (approval.distinct_approver).
 */
export function sameIdentity(a: string, b: string): boolean {
  const key = (s: string) => s.normalize('NFKC').trim().toLowerCase();
  return key(a) === key(b);
}

export async function whoAmI(repo: GitRepo | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.ATMOS_PIPE_USER?.trim();
  if (explicit) return explicit;
  const actor = ciActor(env);
  if (actor) return actor;
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
