/**
 * A deployment's pipeline (pipeline.ts) as a GitHub Actions workflow. Every job checks out
 * the whole history (releases and history are tags and notes), restores the cache and runs
 * one atmos-pipe command; a rollout job runs in the GitHub environment named after its
 * target, so the environment's protection rules (required reviewers, branches) are the
 * protected context from which an approving rollout (`--approve --approver`) may run.
 */
import { stringify } from 'yaml';
import { commandLine, rolloutArgs, type CiPipeline } from './pipeline.js';

/** The workflow's YAML; `header` is the comment that says how it was generated. */
export function githubWorkflow(p: CiPipeline, header: string): string {
  const prefix = `atmos-pipe-${p.deployment}-`;
  const lockHash = p.lockFiles.length ? `\${{ hashFiles(${p.lockFiles.map((f) => `'${f}'`).join(', ')}) }}` : 'no-lock-files';
  const setup = [
    { uses: 'actions/checkout@v4', with: { 'fetch-depth': 0 } },
    { uses: 'actions/setup-node@v4', with: { 'node-version': 20 } },
    ...(p.terraformVersion ? [{ uses: 'hashicorp/setup-terraform@v3', with: { terraform_version: p.terraformVersion, terraform_wrapper: false } }] : []),
    {
      uses: 'actions/cache@v4',
      with: {
        path: p.cachePaths.join('\n'),
        // A new entry per job (entries are immutable); each job restores the newest one for the same lock files.
        key: `${prefix}${lockHash}-\${{ github.run_id }}-\${{ github.job }}`,
        'restore-keys': `${prefix}${lockHash}-`,
      },
    },
  ];
  const job = (needs: string | undefined, run: string, extra: Record<string, unknown> = {}, id?: string) => ({
    ...(needs ? { needs } : {}),
    'runs-on': 'ubuntu-latest',
    ...extra,
    steps: [...setup, { ...(id ? { id } : {}), run }],
  });
  const jobs: Record<string, unknown> = {};
  jobs.validate = job(undefined, commandLine(p, ['validate', p.deployment]));
  let last = 'validate';
  if (p.builds) {
    jobs.build = job(last, commandLine(p, ['build', p.deployment, '--target', p.releaseTarget]));
    jobs.test = job('build', commandLine(p, ['test', p.deployment, '--target', p.releaseTarget]));
    last = 'test';
  }
  const onBranch = `github.ref == 'refs/heads/${p.branch}'`;
  // Releases and rollouts record in Git: only from the branch, never from a pull request.
  jobs.release = job(
    last,
    commandLine(p, ['release', p.deployment, '--target', p.releaseTarget, '--push']),
    { if: onBranch, outputs: { release_id: `\${{ steps.release.outputs.release_id }}` } },
    'release',
  );
  for (const r of p.rollouts) {
    jobs[r.name] = job(r.needs, commandLine(p, rolloutArgs(p, r), r.approval ? '--approver "$GITHUB_ACTOR"' : ''), {
      if: onBranch,
      environment: r.target,
      concurrency: { group: `${prefix}${r.target}`, 'cancel-in-progress': false },
    });
  }
  const workflow = {
    name: `atmos-pipe ${p.deployment}`,
    on: { push: { branches: [p.branch] }, pull_request: null, workflow_dispatch: null },
    // Releases, history tags and notes are pushed back to the repository.
    permissions: { contents: 'write' },
    // Tags and notes need an identity; the deployer recorded is GITHUB_ACTOR (src/ci/provider.ts).
    env: {
      GIT_AUTHOR_NAME: 'github-actions[bot]',
      GIT_AUTHOR_EMAIL: '41898282+github-actions[bot]@users.noreply.github.com',
      GIT_COMMITTER_NAME: 'github-actions[bot]',
      GIT_COMMITTER_EMAIL: '41898282+github-actions[bot]@users.noreply.github.com',
    },
    jobs,
  };
  return `${header}${stringify(workflow, { lineWidth: 0, aliasDuplicateObjects: false, nullStr: '' })}`;
}
