/**
 * Resolution order (SPEC 7): inline vendor.components → vendor.manifest → repository
 * vendor.yaml (filtered to the deployment's modules) → auto-discovery; the local module
 * when no entry applies; only the modules the deployment uses are pulled.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { loadDeployment, openRepository, resolve } from '../../src/index.js';
import { ensureVendored, readLock, vendorPaths } from '../../src/vendoring/index.js';
import { makeRepo, runCli } from '../helpers.js';

const mod = (name: string) => `variable "from_${name.replace(/-/g, '_')}" { default = true }\n`;

function orderRepo(opts: { autoDiscover?: boolean } = {}) {
  const files: Record<string, string> = {
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/api/main.tf': mod('local-api'),
    'components/terraform/db/main.tf': mod('local-db'),
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  vendor:',
      `    manifest: vendor/deps.yaml`,
      ...(opts.autoDiscover ? ['    auto_discover: true'] : []),
      '    components:',
      '      - component: vpc',
      '        source: ./srcs/inline-vpc',
      '      - component: vpc',
      '        source: ./srcs/inline-vpc-prod',
      '        labels: { environment: [prod] }',
      '  components:',
      '    terraform:',
      '      vpc: {}',
      '      db: {}',
      '      cache: {}',
      '      api: {}',
      '      jobs:',
      '        metadata: { component: queue }',
      '  targets:',
      '    dev:',
      '      labels: { environment: dev }',
      '    prod:',
      '      labels: { environment: prod }',
      '',
    ].join('\n'),
    'vendor/deps.yaml': [
      'apiVersion: atmos/v1',
      'kind: AtmosVendorConfig',
      'metadata: { name: deps }',
      'spec:',
      '  sources:',
      '    - component: vpc',
      '      source: ../srcs/manifest-vpc',
      '    - component: db',
      '      source: ../srcs/manifest-db',
      '      version: "1.2.5"',
      '',
    ].join('\n'),
    'vendor.yaml': [
      'apiVersion: atmos/v1',
      'kind: AtmosVendorConfig',
      'spec:',
      '  imports: [vendor/more]',
      '  sources:',
      '    - component: vpc',
      '      source: ./srcs/repo-vpc',
      '    - component: db',
      '      source: ./srcs/repo-db',
      '    - component: unused',
      '      source: oci://public.ecr.aws/never/fetched:{{ .Version }}',
      '      version: latest',
      '    - source: ./srcs/repo-queue',
      '      targets: ["components/terraform/{{ .Component }}"]',
      '',
    ].join('\n'),
    'vendor/more.yaml': ['apiVersion: atmos/v1', 'kind: AtmosVendorConfig', 'spec:', '  sources:', '    - component: cache', '      source: ../srcs/repo-cache', '      tags: [caching]', ''].join(
      '\n',
    ),
  };
  for (const m of ['inline-vpc', 'inline-vpc-prod', 'manifest-vpc', 'manifest-db', 'repo-vpc', 'repo-db', 'repo-cache', 'repo-queue']) files[`srcs/${m}/main.tf`] = mod(m);
  return makeRepo(files);
}

async function modulesOf(repo: string, target: string) {
  const r = openRepository({ cwd: repo });
  const dep = loadDeployment(r, 'shop');
  const pulled = await ensureVendored(r, dep, target);
  const resolved = await resolve(r, dep, target);
  return {
    pulled: Object.fromEntries(pulled.components.map((c) => [c.component, c.origin])),
    vars: Object.fromEntries(resolved.components.map((c) => [c.name, /variable "(\w+)"/.exec(readFileSync(path.join(c.moduleDir!, 'main.tf'), 'utf8'))![1]])),
    vendored: Object.fromEntries(resolved.components.map((c) => [c.name, Boolean(c.vendored)])),
  };
}

describe('vendor resolution order', () => {
  it('inline beats the manifest, which beats vendor.yaml; labels pick per target; local modules stay local', async () => {
    const repo = orderRepo({ autoDiscover: true });
    const dev = await modulesOf(repo, 'dev');
    expect(dev.vars).toEqual({ vpc: 'from_inline_vpc', db: 'from_manifest_db', cache: 'from_repo_cache', api: 'from_local_api', jobs: 'from_repo_queue' });
    expect(dev.vendored).toEqual({ vpc: true, db: true, cache: true, api: false, jobs: true });
    expect(dev.pulled).toEqual({
      vpc: 'inline (deployments/shop.yaml:7:9)',
      db: 'manifest (vendor/deps.yaml:8:7)',
      cache: 'vendor.yaml (vendor/more.yaml:5:7)',
      queue: 'auto-discover (vendor.yaml:13:7)',
    });
    // The most specific matching entry wins: prod has its own inline vpc.
    const prod = await modulesOf(repo, 'prod');
    expect(prod.vars.vpc).toBe('from_inline_vpc_prod');

    // Only the modules the deployment uses were pulled (the oci:// entry is never parsed).
    const lock = readLock(vendorPaths(path.join(repo, '.atmos')), 'shop', 'dev');
    expect(Object.keys(lock.components).sort()).toEqual(['cache', 'db', 'queue', 'vpc']);
    expect(lock.components.db.version).toBe('1.2.5');
    expect(existsSync(path.join(repo, 'components/terraform/vpc'))).toBe(false);

    const status = runCli(['vendor', 'status', '--deployment', 'shop', '--target', 'dev', '-C', repo]);
    expect(status.code, status.stderr).toBe(0);
    expect(
      status.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) =>
          l
            .split(/\s+/)
            .slice(2, 4)
            .concat(l.includes(' ok ') ? 'ok' : '?'),
        ),
    ).toEqual([
      ['cache', '-', 'ok'],
      ['db', '1.2.5', 'ok'],
      ['queue', '-', 'ok'],
      ['vpc', '-', 'ok'],
    ]);
  });

  it('without auto_discover a module missing locally and unnamed in vendor.yaml is a located error', async () => {
    const repo = orderRepo();
    const r = openRepository({ cwd: repo });
    const dep = loadDeployment(r, 'shop');
    await ensureVendored(r, dep, 'dev');
    const err = await resolve(r, dep, 'dev').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiagnosticError);
    expect((err as DiagnosticError).message).toContain('deployments/shop.yaml:18:32: error: terraform component "jobs": module directory components/terraform/queue/ does not exist');
  });

  it('an invalid manifest is a located config error (exit 2) and nothing is written', () => {
    const r2 = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'deployments/shop.yaml': [
        'deployment:',
        '  name: shop',
        '  vendor:',
        '    manifest: vendor/missing.yaml',
        '  components:',
        '    terraform:',
        '      vpc: {}',
        '  targets:',
        '    dev: {}',
        '',
      ].join('\n'),
      'vendor.yaml': 'apiVersion: atmos/v1\nkind: Component\n',
    });
    const res = runCli(['vendor', 'pull', '--deployment', 'shop', '-C', r2]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('deployments/shop.yaml:4:15: error: vendor.manifest: vendor/missing.yaml does not exist');
    expect(res.stderr).toContain('vendor.yaml:2:7: error: vendor.yaml: kind must be AtmosVendorConfig, got "Component"');
    expect(existsSync(path.join(r2, '.atmos'))).toBe(false);
    expect(readFileSync(path.join(r2, 'vendor.yaml'), 'utf8')).toContain('Component');
  });

  it('two equally specific entries of one level are ambiguous (exit 2, located); a local source may not contain the store', async () => {
    const base = {
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'srcs/a/main.tf': mod('a'),
      'srcs/b/main.tf': mod('b'),
    };
    const deployment = (entries: string[]) =>
      [
        'deployment:',
        '  name: shop',
        '  vendor:',
        '    components:',
        ...entries,
        '  components:',
        '    terraform:',
        '      vpc: {}',
        '  targets:',
        '    dev:',
        '      labels: { environment: dev, tier: web }',
        '',
      ].join('\n');
    const repo = makeRepo({
      ...base,
      'deployments/shop.yaml': deployment(['      - { component: vpc, source: ./srcs/a, labels: { environment: dev } }', '      - { component: vpc, source: ./srcs/b, labels: { tier: [web, api] } }']),
    });
    const r = runCli(['vendor', 'pull', '--deployment', 'shop', '-C', repo]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/shop.yaml:6:9: error: 2 inline vendor entries for module "vpc" match target "dev" equally (deployments/shop.yaml:5, deployments/shop.yaml:6)');

    const whole = makeRepo({ ...base, 'deployments/shop.yaml': deployment(['      - { component: vpc, source: . }']) });
    const w = runCli(['vendor', 'pull', '--deployment', 'shop', '-C', whole]);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/local source .* contains the vendor store/);
  });
});
