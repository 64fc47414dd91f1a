/**
 * A deployment's pipeline (pipeline.ts) as a GitLab CI pipeline (a project pipeline, or a
 * child pipeline included or triggered from one). Jobs run one atmos-pipe command each, with
 * the whole history (GIT_DEPTH 0), the cache keyed by the lock files' digest, and the reports
 * atmos-pipe writes on GitLab (reports.ts) declared as artifacts. An approving rollout is a
 * manual job in the environment named after its target: a protected environment decides who
 * may start it, and the job records that person as the approver.
 */
import { stringify } from 'yaml';
import { commandLine, rolloutArgs, type CiPipeline } from './pipeline.js';
import { GITLAB_REPORTS } from './reports.js';

export interface GitlabOptions {
  /** The jobs' image (a Docker executor's runner); absent: the runner's default. */
  image?: string;
  /** Where atmos-pipe writes its reports (ATMOS_PIPE_REPORTS_DIR), repository-relative. */
  reportsDir: string;
}

/** The pipeline's YAML; `header` is the comment that says how it was generated. */
export function gitlabPipeline(p: CiPipeline, header: string, opts: GitlabOptions): string {
  const report = (name: keyof typeof GITLAB_REPORTS) => `${opts.reportsDir}/${GITLAB_REPORTS[name]}`;
  const onBranch = `$CI_COMMIT_BRANCH == "${p.branch}"`;
  const job = (stage: string, needs: string | undefined, script: string, reports: (keyof typeof GITLAB_REPORTS)[], extra: Record<string, unknown> = {}) => ({
    stage,
    needs: needs ? [needs] : [],
    ...extra,
    script: [script],
    artifacts: { when: 'always', reports: Object.fromEntries(reports.map((r) => [r, report(r)])) },
  });
  const jobs: Record<string, unknown> = {};
  jobs.validate = job('validate', undefined, commandLine(p, ['validate', p.deployment]), ['codequality']);
  let last = 'validate';
  if (p.builds) {
    jobs.build = job('build', last, commandLine(p, ['build', p.deployment, '--target', p.releaseTarget]), ['junit', 'dotenv']);
    jobs.test = job('test', 'build', commandLine(p, ['test', p.deployment, '--target', p.releaseTarget]), ['junit']);
    last = 'test';
  }
  jobs.release = job('release', last, commandLine(p, ['release', p.deployment, '--target', p.releaseTarget, '--push']), ['dotenv'], { rules: [{ if: onBranch }] });
  for (const r of p.rollouts) {
    jobs[r.name] = job('rollout', r.needs, commandLine(p, rolloutArgs(p, r), r.approval ? '--approver "$GITLAB_USER_LOGIN"' : ''), ['junit', 'dotenv'], {
      // Started by hand when the target needs an approval: a protected environment says by whom.
      rules: [r.approval ? { if: onBranch, when: 'manual' } : { if: onBranch }],
      environment: { name: r.target },
      // One rollout per target at a time, across pipelines.
      resource_group: `atmos-pipe-${p.deployment}-${r.target}`,
    });
  }
  const pipeline = {
    stages: ['validate', ...(p.builds ? ['build', 'test'] : []), 'release', 'rollout'],
    variables: {
      // Releases and history are tags and notes on the history: clone all of it.
      GIT_DEPTH: '0',
      ATMOS_PIPE_REPORTS_DIR: opts.reportsDir,
      // Tags and notes need an identity: the user who started the pipeline.
      GIT_AUTHOR_NAME: '$GITLAB_USER_NAME',
      GIT_AUTHOR_EMAIL: '$GITLAB_USER_EMAIL',
      GIT_COMMITTER_NAME: '$GITLAB_USER_NAME',
      GIT_COMMITTER_EMAIL: '$GITLAB_USER_EMAIL',
    },
    default: {
      ...(opts.image ? { image: opts.image } : {}),
      // GitLab keys a cache by at most two files: the key is the digest of all the lock files instead.
      cache: { key: `atmos-pipe-${p.deployment}-${p.lockDigest}`, paths: p.cachePaths },
    },
    ...jobs,
  };
  return `${header}${stringify(pipeline, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
