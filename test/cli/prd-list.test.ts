/**
 * The PRD's `list` sub-lists and `matrix` flags, through the CLI on a Git copy of the bundled
 * example after a real rollout of platform-network to dev (terraform_data, local backend):
 * `list deployments`, `list targets <d>`, `list components <d> --target t`, `list --verbose`,
 * `matrix --format json` and `matrix --components a,b`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, exampleGitRepo, git } from '../security/fixture.js';

let repo: string;
let head: string;
beforeAll(() => {
  repo = exampleGitRepo('atmos-pipe-prd-list-');
  head = git(repo, 'rev-parse', 'HEAD');
  const r = cli(repo, ['rollout', 'platform-network', '--target', 'dev']);
  expect(r.code, r.stderr).toBe(0);
}, 120_000);

const run = (...args: string[]) => cli(repo, args);

describe('list', () => {
  it('list and list deployments: targets, components and the last deployment Git records', () => {
    const table = run('list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/DEPLOYMENT +TARGETS +COMPONENTS +LAST DEPLOY/);
    expect(table.stdout).toMatch(/platform-network +dev, staging, prod +1 \(vpc\) +\d+[smhd] ago \(dev\)/);
    expect(table.stdout).toMatch(/payment-service +dev, staging, prod +3 \(api, ecr\/api, ecs\/service-api\) +- /);
    const json = JSON.parse(run('list', 'deployments', '--format', 'json').stdout) as { deployments: { name: string; components: string[]; last_deploy: { target: string; status: string } | null }[] };
    expect(json.deployments.map((d) => d.name)).toEqual(['payment-service', 'payment-webhooks', 'platform-network']);
    expect(json.deployments[2]).toMatchObject({ components: ['terraform/vpc'], last_deploy: { target: 'dev', status: 'success' } });
    expect(json.deployments[0].last_deploy).toBeNull();
    // --label keeps working, on both forms.
    const some = JSON.parse(run('list', 'deployments', '--label', 'team=platform', '--format', 'json').stdout) as { deployments: { name: string }[] };
    expect(some.deployments.map((d) => d.name)).toEqual(['platform-network']);
  });

  it('list targets <d>: promotion source, approval, last deployment and status per target', () => {
    const r = run('list', 'targets', 'platform-network');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/TARGET +PROMOTION FROM +REQUIRES APPROVAL +LAST DEPLOY +STATUS/);
    expect(r.stdout).toMatch(/dev +\(entry point\) +no +\d+[smhd] ago +success +1\/1/);
    expect(r.stdout).toMatch(/prod +staging +yes +- +not deployed +0\/1/);
    const j = JSON.parse(run('list', 'targets', 'platform-network', '--format', 'json').stdout) as { targets: Record<string, unknown>[] };
    expect(j.targets.map((t) => t.target)).toEqual(['dev', 'staging', 'prod']);
    expect(j.targets[0]).toMatchObject({ promotion_from: [], requires_approval: false, status: 'success', deployed: 1, components: 1 });
    expect(j.targets[2]).toMatchObject({ promotion_from: ['staging'], requires_approval: true, status: null, last_deploy: null });
    const bad = run('list', 'targets', 'platform-netwrk');
    expect(bad.code).toBe(2);
  });

  it('list components <d> --target t: type, deployed commit, release and status per component', () => {
    const r = run('list', 'components', 'platform-network', '--target', 'dev');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/COMPONENT +TYPE +COMMIT +RELEASE +DEPLOYED +STATUS/);
    expect(r.stdout).toMatch(new RegExp(`vpc +terraform +${head.slice(0, 7)} +r-[0-9a-f]+ +\\d+[smhd] ago +success`));
    const j = JSON.parse(run('list', 'components', 'payment-service', '--target', 'dev', '--format', 'json').stdout) as { components: Record<string, unknown>[] };
    expect(j.components.map((c) => [c.component, c.type, c.commit])).toEqual([
      ['nixpack/api', 'nixpack', null],
      ['terraform/ecr/api', 'terraform', null],
      ['terraform/ecs/service-api', 'terraform', null],
    ]);
    const staging = JSON.parse(run('list', 'components', 'platform-network', '--target', 'staging', '--format', 'json').stdout) as { components: Record<string, unknown>[] };
    expect(staging.components[0]).toMatchObject({ component: 'terraform/vpc', commit: null, status: null });
    const bad = run('list', 'components', 'platform-network', '--target', 'qa');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/valid values: dev, staging, prod/);
  });

  it('list --verbose: each deployment described, with resolved dependencies and the targets’ context and promotion', () => {
    const r = run('list', '--verbose', '--label', 'team=payments');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deployment: payment-service\nDescription: Payment processing API on ECS\n');
    expect(r.stdout).toContain('Stacks: teams/payments\nTargets: dev, staging, prod\n');
    expect(r.stdout).toContain('Components (resolved for dev):\n  nixpack/api\n  terraform/ecr/api\n  terraform/ecs/service-api (depends: nixpack/api, terraform/ecr/api)\n');
    expect(r.stdout).toContain('  prod: cpu=2048, memory=4096, replicas=4  [from staging, requires approval; stacks orgs/acme/prod]');
    const j = JSON.parse(run('list', '--verbose', '--format', 'json', '--label', 'team=platform').stdout) as {
      deployments: { target_details: { name: string; context: unknown }[]; component_details: unknown[] }[];
    };
    expect(j.deployments[0].component_details).toEqual([{ address: 'terraform/vpc', depends_on: [], wave: 0 }]);
    expect(j.deployments[0].target_details.find((t) => t.name === 'prod')?.context).toEqual({ nat_gateway_enabled: true });
  });
});

describe('matrix', () => {
  it('--format json prints the matrix; --components keeps only those, each with its wave and dependencies', () => {
    const all = run('matrix', 'payment-service', '--target', 'prod', '--format', 'json');
    expect(all.code, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).include.map((e: { component: string }) => e.component)).toEqual(['nixpack/api', 'terraform/ecr/api', 'terraform/ecs/service-api']);
    const some = run('matrix', 'payment-service', '--target', 'prod', '--components', 'api,ecs/service-api', '--format', 'json');
    expect(some.code, some.stderr).toBe(0);
    expect(JSON.parse(some.stdout)).toEqual({
      include: [
        { component: 'nixpack/api', wave: 0, depends_on: [] },
        { component: 'terraform/ecs/service-api', wave: 1, depends_on: ['nixpack/api', 'terraform/ecr/api'] },
      ],
    });
    const waves = JSON.parse(run('matrix', 'payment-service', '--target', 'prod', '--waves', '--components', 'terraform/ecs/service-api').stdout);
    expect(waves).toEqual({ waves: [{ wave: 1, include: [{ component: 'terraform/ecs/service-api', wave: 1, depends_on: ['nixpack/api', 'terraform/ecr/api'] }] }] });
    const yaml = run('matrix', 'payment-service', '--target', 'prod', '--components', 'ecr/api', '--format', 'yaml');
    expect(yaml.stdout).toContain('- component: terraform/ecr/api');
  });

  it('an unknown component in --components is exit 2 with a suggestion; nothing on stdout', () => {
    const r = run('matrix', 'payment-service', '--target', 'prod', '--components', 'api,ecs/servce-api');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--components ecs/servce-api: no such component in payment-service (target prod)');
    expect(r.stderr).toContain('did you mean "terraform/ecs/service-api"?');
    expect(run('matrix', 'payment-service', '--target', 'prod', '--components', 'api,,x').code).toBe(2);
    expect(run('matrix', 'payment-service', '--target', 'prod', '--format', 'table').code).toBe(2);
  });
});
