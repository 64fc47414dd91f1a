/**
 * Which CI runs atmos-pipe (SPEC 10), read from the variables each CI sets in every job, in
 * one place: the output views, the reports and the deployer identity all ask here.
 */

/** The CIs atmos-pipe knows by name; `generic` is any other that sets `CI=true`. */
export type CiProviderId = 'github' | 'gitlab' | 'circleci' | 'buildkite' | 'jenkins' | 'azure' | 'bitbucket' | 'generic';

export interface CiProvider {
  id: CiProviderId;
  /** The CI's own name, for messages. */
  name: string;
  /** Who started the job, from the CI's own variables; undefined when the CI does not say. */
  actor?: string;
}

type Env = NodeJS.ProcessEnv | Record<string, string | undefined>;

interface Known {
  id: Exclude<CiProviderId, 'generic'>;
  name: string;
  /** Whether the environment is this CI's (each CI documents one variable it always sets). */
  detect: (env: Env) => boolean;
  /** Variables naming who started the job, most specific first. */
  actors: string[];
}

const set = (v: string | undefined) => v !== undefined && v.trim() !== '';

/**
 * In detection order. GitHub first: a self-hosted GitHub runner on a Jenkins machine still
 * runs a GitHub job, and its variables are the job's.
 */
const KNOWN: Known[] = [
  { id: 'github', name: 'GitHub Actions', detect: (e) => e.GITHUB_ACTIONS === 'true', actors: ['GITHUB_ACTOR'] },
  { id: 'gitlab', name: 'GitLab CI', detect: (e) => e.GITLAB_CI === 'true', actors: ['GITLAB_USER_LOGIN', 'GITLAB_USER_EMAIL'] },
  { id: 'buildkite', name: 'Buildkite', detect: (e) => e.BUILDKITE === 'true', actors: ['BUILDKITE_BUILD_CREATOR_EMAIL', 'BUILDKITE_BUILD_CREATOR'] },
  { id: 'circleci', name: 'CircleCI', detect: (e) => e.CIRCLECI === 'true', actors: ['CIRCLE_USERNAME'] },
  { id: 'azure', name: 'Azure Pipelines', detect: (e) => e.TF_BUILD?.toLowerCase() === 'true', actors: ['BUILD_REQUESTEDFOREMAIL', 'BUILD_REQUESTEDFOR'] },
  { id: 'bitbucket', name: 'Bitbucket Pipelines', detect: (e) => set(e.BITBUCKET_BUILD_NUMBER), actors: ['BITBUCKET_STEP_TRIGGERER_UUID'] },
  // BUILD_USER_ID comes from Jenkins's build-user-vars plugin; CHANGE_AUTHOR from a multibranch PR build.
  { id: 'jenkins', name: 'Jenkins', detect: (e) => set(e.JENKINS_URL), actors: ['BUILD_USER_ID', 'CHANGE_AUTHOR'] },
];

function firstSet(env: Env, names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return v;
  }
  return undefined;
}

/** The CI this process runs in, or undefined outside CI (`CI` unset, empty, `0` or `false`). */
export function detectCi(env: Env = process.env): CiProvider | undefined {
  for (const k of KNOWN) {
    if (!k.detect(env)) continue;
    const actor = firstSet(env, k.actors);
    return { id: k.id, name: k.name, ...(actor ? { actor } : {}) };
  }
  const ci = env.CI?.trim().toLowerCase();
  if (ci && ci !== '0' && ci !== 'false') return { id: 'generic', name: 'CI' };
  return undefined;
}

/**
 * Who started the CI job: the detected CI's actor; when no CI is detected, any CI's actor
 * variable that is set (a job that exports GITHUB_ACTOR into a container loses GITHUB_ACTIONS).
 */
export function ciActor(env: Env = process.env): string | undefined {
  const ci = detectCi(env);
  if (ci && ci.id !== 'generic') return ci.actor;
  return firstSet(
    env,
    KNOWN.flatMap((k) => k.actors),
  );
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
