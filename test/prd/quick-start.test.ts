/**
 * The PRD index's quick start (../shared/seeds/000_…, "Quick Start"), unchanged: its
 * deployment file (test/prd/quick-start/payment-service.yaml, copied verbatim from the
 * heredoc at line 43 of that document) dropped into the bundled example in place of the
 * example's own payment-service, then its three commands (build, release, rollout
 * `payment-service --target dev`) through the real CLI with real terraform and Git.
 *
 * The file names no stacks, so none is loaded (SPEC 3); its components are the example's
 * modules of those names: `ecs-service` and `rds` (components/terraform/, every variable with
 * a default) and the `api` service (services/api, the nixpack base path's default).
 */
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exampleGitRepo, git, GIT_ENV, ROOT, runCli } from '../helpers.js';

const QUICK_START = path.join(ROOT, 'test/prd/quick-start/payment-service.yaml');

let repo: string;
beforeAll(() => {
  repo = exampleGitRepo('atmos-pipe-quick-start-', (dir) => copyFileSync(QUICK_START, path.join(dir, 'deployments/payment-service.yaml')));
});

const cli = (...args: string[]) => {
  const r = runCli(['--chdir', repo, ...args], { env: { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' } });
  return { code: r.code, stdout: r.stdout, out: r.stdout + r.stderr };
};

describe("the PRD index's quick start, unchanged, on the example's stacks", () => {
  it('is the short form, as the PRD writes it', () => {
    const text = readFileSync(QUICK_START, 'utf8');
    expect(text).not.toMatch(/^deployment:/m);
    expect(text).toContain('components:\n  nixpack:\n    - api\n  terraform:\n    - ecs-service\n    - rds\n');
  });

  it('validates, and describes as its long form', () => {
    const v = cli('validate', 'payment-service');
    expect(v.code, v.out).toBe(0);
    expect(v.stdout).toContain('✓ payment-service: 2 targets (dev, prod), 3 components, 0 stack files');
    const d = cli('describe', 'payment-service', '--target', 'dev', '--format', 'json');
    expect(d.code, d.out).toBe(0);
    const byAddr = Object.fromEntries(JSON.parse(d.stdout).components.map((c: { address: string }) => [c.address, c]));
    expect(Object.keys(byAddr).sort()).toEqual(['nixpack/api', 'terraform/ecs-service', 'terraform/rds']);
    expect(byAddr['nixpack/api'].vars).toMatchObject({ source: 'services/api', image: { name: 'api' } });
    expect(byAddr['terraform/ecs-service'].component).toBe('ecs-service');
    expect(byAddr['terraform/rds'].component).toBe('rds');
  });

  it('builds, releases and rolls out to dev (the three commands of the quick start)', () => {
    const build = cli('build', 'payment-service', '--target', 'dev');
    expect(build.code, build.out).toBe(0);
    expect(build.out).toMatch(/nixpack\/api\s+api@sha256:[0-9a-f]{64}/);
    const release = cli('release', 'payment-service', '--target', 'dev');
    expect(release.code, release.out).toBe(0);
    const rollout = cli('rollout', 'payment-service', '--target', 'dev');
    expect(rollout.code, rollout.out).toBe(0);
    expect(rollout.out).toMatch(/rollout payment-service → dev: .* 0 failed/);
    const head = git(repo, 'rev-parse', 'HEAD');
    for (const c of ['ecs-service', 'rds']) expect(git(repo, 'rev-parse', `refs/atmos/deployments/payment-service/dev/${c}`)).toBe(head);
    const state = JSON.parse(readFileSync(path.join(repo, '.atmos/state/payment-service/dev/rds.tfstate'), 'utf8'));
    expect(JSON.stringify(state.resources)).toContain('acme-dev-db');
    const status = cli('status', 'payment-service', '--target', 'dev');
    expect(status.code, status.out).toBe(0);
    expect(status.stdout).toMatch(/dev\s+rds\s+[0-9a-f]{12}\s+\S+\s+success/);
  });

  it('fmt rewrites it into the long form that means the same', () => {
    const before = cli('describe', 'payment-service', '--target', 'prod', '--format', 'json').stdout;
    expect(cli('fmt', '--check').code).toBe(1);
    const f = cli('fmt', 'payment-service');
    expect(f.code, f.out).toBe(0);
    expect(readFileSync(path.join(repo, 'deployments/payment-service.yaml'), 'utf8')).toMatch(/^deployment:\n {2}name: payment-service\n/);
    expect(cli('describe', 'payment-service', '--target', 'prod', '--format', 'json').stdout).toBe(before);
    expect(cli('fmt', '--check').code).toBe(0);
  });
});
