/**
 * CI detection and CI-native output per provider, from each CI's job variables
 * (test/fixtures/ci-env/<provider>.json), through the real CLI (dist/cli.mjs) on copies of
 * the bundled example: log sections per component, annotations of located errors, GitLab's
 * reports, GitHub's step outputs, and the deployer recorded from the CI's own variables.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCi } from '../../src/ci/provider.js';
import { whoAmI } from '../../src/tracking/identity.js';
import { CLI, GIT_ENV, ROOT, exampleGitRepo } from '../helpers.js';
import { envWithoutCi } from './env.js';

const PROVIDERS = ['github', 'gitlab', 'circleci', 'buildkite', 'jenkins', 'azure', 'bitbucket', 'generic'] as const;
const recorded = (p: string): Record<string, string> => JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/ci-env', `${p}.json`), 'utf8'));

function cli(cwd: string, args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...envWithoutCi(), ...GIT_ENV, CI: '', NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('CI detection from recorded job variables', () => {
  it('names each CI and who started the job', () => {
    const found = Object.fromEntries(PROVIDERS.map((p) => [p, detectCi(recorded(p))]));
    expect(found).toEqual({
      github: { id: 'github', name: 'GitHub Actions', actor: 'octocat' },
      gitlab: { id: 'gitlab', name: 'GitLab CI', actor: 'alice' },
      circleci: { id: 'circleci', name: 'CircleCI', actor: 'circle-carol' },
      buildkite: { id: 'buildkite', name: 'Buildkite', actor: 'dave@acme.example' },
      jenkins: { id: 'jenkins', name: 'Jenkins', actor: 'erin' },
      azure: { id: 'azure', name: 'Azure Pipelines', actor: 'frank@acme.example' },
      bitbucket: { id: 'bitbucket', name: 'Bitbucket Pipelines', actor: '{5d1f2c3a-7e4b-4a8c-9d0e-6f1a2b3c4d5e}' },
      generic: { id: 'generic', name: 'CI' },
    });
    expect(detectCi({})).toBeUndefined();
    expect(detectCi({ CI: 'false' })).toBeUndefined();
    // gitlab-ci-local sets GITLAB_CI=false: a CI, but not GitLab.
    expect(detectCi({ CI: 'true', GITLAB_CI: 'false', GITLAB_USER_LOGIN: 'x' })?.id).toBe('generic');
  });

  it('records the CI actor as the deployer, after ATMOS_PIPE_USER', async () => {
    expect(await whoAmI(undefined, recorded('gitlab'))).toBe('alice');
    expect(await whoAmI(undefined, recorded('azure'))).toBe('frank@acme.example');
    expect(await whoAmI(undefined, { ...recorded('jenkins'), ATMOS_PIPE_USER: 'ops-bot' })).toBe('ops-bot');
  });
});

/** The example with one error: a target promoted from a target that does not exist. */
function brokenExample(): string {
  return exampleGitRepo('atmos-pipe-ci-broken-', (dir) => {
    const f = path.join(dir, 'deployments/platform-network.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('      promotion:\n        from: dev\n', '      promotion:\n        from: qa\n'));
  });
}

describe('located configuration errors as CI annotations', () => {
  const dir = brokenExample();
  const line =
    readFileSync(path.join(dir, 'deployments/platform-network.yaml'), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes('from: qa')) + 1;

  it('GitHub: ::error with file, line and column', () => {
    const r = cli(dir, ['validate', 'platform-network'], recorded('github'));
    expect(r.code).toBe(2);
    const ann = r.stderr.split('\n').filter((l) => l.startsWith('::error '));
    expect(ann.length).toBeGreaterThan(0);
    expect(ann[0]).toMatch(new RegExp(`^::error file=deployments/platform-network\\.yaml,line=${line},col=\\d+,title=atmos-pipe [^:]+::.*qa`));
  });

  it('Azure Pipelines: ##vso[task.logissue] with the same place', () => {
    const r = cli(dir, ['validate', 'platform-network'], recorded('azure'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`##vso\\[task\\.logissue type=error;sourcepath=deployments/platform-network\\.yaml;linenumber=${line};columnnumber=\\d+;code=[^\\]]+\\].*qa`));
  });

  it('GitLab: a code-quality report, and no annotation lines', () => {
    const reports = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-reports-'));
    const r = cli(dir, ['validate', 'platform-network'], { ...recorded('gitlab'), ATMOS_PIPE_REPORTS_DIR: reports });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/^::error/m);
    const issues = JSON.parse(readFileSync(path.join(reports, 'gl-code-quality-report.json'), 'utf8'));
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ severity: 'major', location: { path: 'deployments/platform-network.yaml', lines: { begin: line } } });
    expect(issues[0].description).toContain('qa');
    expect(issues[0].fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a CI without annotations (Jenkins) and no CI get the plain diagnostics only', () => {
    for (const env of [recorded('jenkins'), {}]) {
      const r = cli(dir, ['validate', 'platform-network'], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('deployments/platform-network.yaml:');
      expect(r.stderr).not.toMatch(/^(::|##)/m);
    }
  });
});

describe('a rollout in CI', () => {
  it('GitHub: a section per component, step outputs, the job summary, the actor as deployer', () => {
    const dir = exampleGitRepo('atmos-pipe-ci-github-');
    const out = path.join(dir, '..', 'github-output');
    const summary = path.join(dir, '..', 'step-summary.md');
    const r = cli(dir, ['rollout', 'payment-service', '--target', 'dev'], { ...recorded('github'), GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: summary });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    for (const c of ['nixpack/api', 'terraform/ecr/api', 'terraform/ecs/service-api']) expect(lines).toContain(`::group::${c}`);
    expect(lines.filter((l) => l.startsWith('::group::')).length).toBe(lines.filter((l) => l === '::endgroup::').length);
    // Sections never nest: every ::group:: is closed before the next opens.
    let open = false;
    for (const l of lines) {
      if (l.startsWith('::group::')) {
        expect(open).toBe(false);
        open = true;
      } else if (l === '::endgroup::') open = false;
    }
    // Every step line is inside its component's section.
    let current = '';
    for (const l of lines) {
      if (l.startsWith('::group::')) current = l.slice('::group::'.length);
      else if (l === '::endgroup::') current = '';
      const m = /\] (?:start|done|cached) +(\S+):/.exec(l);
      if (m) expect(m[1]).toBe(current);
    }
    const outputs = readFileSync(out, 'utf8');
    const release = /^release_id=(r-[0-9a-f]{12})$/m.exec(outputs)?.[1];
    expect(release).toBeDefined();
    expect(outputs).toMatch(/^image_api=payment-api@sha256:[0-9a-f]{64}$/m);
    expect(JSON.parse(/^images=(.*)$/m.exec(outputs)![1])).toEqual({ 'nixpack/api': expect.stringMatching(/^payment-api@sha256:/) });
    expect(readFileSync(summary, 'utf8')).toContain('atmos-pipe rollout payment-service');
    const h = cli(dir, ['history', 'payment-service', '--target', 'dev', '--format', 'json'], {});
    expect(h.stdout).toContain('"octocat"');
    expect(h.stdout).toContain(release);
    // `release` gives the same id as a step output (releases are idempotent).
    const out2 = path.join(dir, '..', 'github-output-release');
    const rel = cli(dir, ['release', 'payment-service', '--target', 'dev'], { ...recorded('github'), GITHUB_OUTPUT: out2 });
    expect(rel.code, rel.stderr).toBe(0);
    expect(readFileSync(out2, 'utf8')).toContain(`release_id=${release}\n`);
  });

  it('GitLab: collapsed sections, the dotenv and JUnit reports, the user as deployer', () => {
    const dir = exampleGitRepo('atmos-pipe-ci-gitlab-');
    const reports = path.join(dir, '..', 'reports');
    const r = cli(dir, ['rollout', 'platform-network', '--target', 'dev'], { ...recorded('gitlab'), ATMOS_PIPE_REPORTS_DIR: reports });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\u001b\[0Ksection_start:\d+:terraform_vpc\[collapsed=true\]\r\u001b\[0Kterraform\/vpc\n/);
    expect(r.stderr).toMatch(/\u001b\[0Ksection_end:\d+:terraform_vpc\r\u001b\[0K\n/);
    expect(readFileSync(path.join(reports, 'atmos-pipe.env'), 'utf8')).toMatch(/^ATMOS_RELEASE_ID=r-[0-9a-f]{12}\n$/);
    const junit = readFileSync(path.join(reports, 'junit.xml'), 'utf8');
    expect(junit).toContain('<testsuite name="terraform/vpc"');
    expect(junit).toContain('failures="0"');
    const h = cli(dir, ['history', 'platform-network', '--target', 'dev', '--format', 'json'], {});
    expect(h.stdout).toContain('"alice"');
  });

  it('Buildkite and Azure: their own section markers; CircleCI: plain lines, its user as deployer', () => {
    const dir = exampleGitRepo('atmos-pipe-ci-others-');
    const bk = cli(dir, ['build', 'payment-service'], recorded('buildkite'));
    expect(bk.code, bk.stderr).toBe(0);
    expect(bk.stderr.split('\n')).toContain('--- nixpack/api');
    const az = cli(dir, ['build', 'payment-service'], recorded('azure'));
    expect(az.code, az.stderr).toBe(0);
    expect(az.stderr.split('\n')).toEqual(expect.arrayContaining(['##[group]nixpack/api', '##[endgroup]']));
    const cc = cli(dir, ['rollout', 'platform-network', '--target', 'dev'], recorded('circleci'));
    expect(cc.code, cc.stderr).toBe(0);
    expect(cc.stderr).toMatch(/\] start +terraform\/vpc:/);
    expect(cc.stderr).not.toMatch(/^(::|##|---|\u001b\[0Ksection)/m);
    expect(existsSync(path.join(dir, '.atmos/reports'))).toBe(false);
    expect(cli(dir, ['history', 'platform-network', '--format', 'json'], {}).stdout).toContain('"circle-carol"');
  });
});
