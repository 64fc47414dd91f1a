/**
 * The generated GitLab pipeline, run for real by gitlab-ci-local (npm; shell executor, no
 * Docker) on the bundled example, from a fresh clone of a bare remote: validate → build →
 * test → release → rollout dev → rollout staging, with the records pushed to the remote and
 * read from another clone. prod needs an approval: its job is manual and does not run.
 *
 * gitlab-ci-local copies the tracked files with rsync before any job (even shell jobs), and
 * sets GITLAB_CI=false (it is not GitLab): the run sets GITLAB_CI=true as GitLab does, so
 * atmos-pipe writes GitLab's sections and reports. Slow: one pipeline run, one test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, GIT_ENV, ROOT, exampleGitRepo, git } from '../helpers.js';
import { envWithoutCi } from './env.js';

const atmosPipe = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...envWithoutCi(), ...GIT_ENV, NO_COLOR: '1' } });

describe('the generated GitLab pipeline under gitlab-ci-local', () => {
  it('validates, builds, tests, releases and rolls out dev then staging; another clone sees it', { timeout: 600_000 }, () => {
    const src = exampleGitRepo('atmos-pipe-gitlab-ci-local-');
    const base = path.dirname(src);
    const remote = path.join(base, 'remote.git');
    const work = path.join(base, 'work');
    git(base, 'clone', '-q', '--bare', src, remote);
    git(base, 'clone', '-q', remote, work);
    // gitlab-ci-local reads the user from the repository's Git configuration.
    git(work, 'config', 'user.name', 'Alice Example');
    git(work, 'config', 'user.email', 'alice@acme.example');
    const gen = atmosPipe(work, 'ci', 'generate', 'gitlab', 'payment-service', '--output', '.gitlab-ci.yml', '--atmos-pipe', `${process.execPath} ${CLI}`);
    expect(gen.status, gen.stderr).toBe(0);
    git(work, 'add', '.gitlab-ci.yml');
    git(work, 'commit', '-qm', 'ci: the generated pipeline');
    git(work, 'push', '-q', 'origin', 'main');

    const home = path.join(base, 'home');
    mkdirSync(home);
    const run = spawnSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js'),
        '--home',
        home,
        '--no-color',
        '--shell-executor-no-image',
        '--variable',
        'GITLAB_CI=true',
        '--variable',
        'GITLAB_USER_LOGIN=alice',
      ],
      { cwd: work, encoding: 'utf8', env: { ...envWithoutCi(), ...GIT_ENV, NO_COLOR: '1', HOME: home } },
    );
    const log = `${run.stdout}${run.stderr}`;
    expect(run.status, log).toBe(0);
    for (const job of ['validate', 'build', 'test', 'release', 'rollout-dev', 'rollout-staging']) expect(log).toMatch(new RegExp(`PASS +${job}\\s`));
    expect(log).not.toMatch(/PASS +rollout-prod/);
    // gitlab-ci-local folds atmos-pipe's section markers as GitLab does: a section per component.
    expect(log).toMatch(/rollout-dev +terraform_ecr_api took/);
    expect(log).toMatch(/build +nixpack_api took/);
    expect(readFileSync(path.join(work, '.atmos/reports/atmos-pipe.env'), 'utf8')).toMatch(/^ATMOS_RELEASE_ID=r-[0-9a-f]{12}\n/);

    // Another machine: a fresh clone of the remote, with atmos-pipe's refs and notes fetched.
    const other = path.join(base, 'other');
    git(base, 'clone', '-q', remote, other);
    git(other, 'fetch', '-q', 'origin', 'refs/atmos/*:refs/atmos/*', 'refs/notes/*:refs/notes/*');
    const head = git(work, 'rev-parse', 'HEAD');
    const status = atmosPipe(other, 'status', 'payment-service', '--format', 'json');
    expect(status.status, status.stderr).toBe(0);
    const rows = JSON.stringify(JSON.parse(status.stdout));
    for (const t of ['dev', 'staging']) expect(rows).toContain(`"${t}"`);
    expect(rows).not.toContain('"prod"');
    expect(rows).toContain(head);
    const history = atmosPipe(other, 'history', 'payment-service', '--target', 'staging');
    expect(history.status, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/staging +ecs\/service-api +success +r-[0-9a-f]{12} +[0-9a-f]{12} +alice +from dev/);
    // The tags are on the remote itself, not only in the job's clone.
    const tags = execFileSync('git', ['for-each-ref', '--format=%(refname)', 'refs/tags/atmos/deployments/payment-service/staging/'], { cwd: remote, encoding: 'utf8' });
    expect(tags.trim().split('\n')).toHaveLength(2);
  });
});
