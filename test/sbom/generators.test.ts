/**
 * The component generators (registry pattern) on the fixture services and Terraform
 * modules: the application root, libraries from lock files with their graph, the built
 * container image, providers from `.terraform.lock.hcl` and module calls.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeImageStore } from '../../src/cache/images.js';
import { loadDeployment, openRepository, resolve } from '../../src/index.js';
import * as oci from '../../src/oci/index.js';
import type { ResolvedDeployment } from '../../src/resolve/index.js';
import { classifyModuleSource, parseTerraformLock } from '../../src/sbom/terraform.js';
import { componentSboms, deploymentSbom, generators, type ComponentSbom } from '../../src/sbom/index.js';
import { makeShopRepo } from './helpers.js';

const BASE_IMAGE = 'ghcr.io/railwayapp/nixpacks:ubuntu-1745885067';

/** A real image in the repo's OCI layout, recorded as the build of `component`. */
async function storeImage(repoDir: string, component: string, revision: string): Promise<string> {
  const layer = await oci.layerFromEntries([{ path: 'app/server.js', type: 'file', mode: 0o644, content: Buffer.from(`// ${component}\n`) }], { epoch: 0 });
  const img = oci.assembleImage({
    layers: [layer],
    created: oci.createdFromEpoch(0),
    annotations: { 'org.opencontainers.image.base.name': BASE_IMAGE, 'org.opencontainers.image.revision': revision, 'org.opencontainers.image.created': oci.createdFromEpoch(0) },
  });
  oci.writeToLayout(path.join(repoDir, '.atmos', 'images'), img, `${component}:dev`);
  writeImageStore(path.join(repoDir, '.atmos'), 'shop', component, { ref: `registry.example.com/acme/${component}@${img.manifestDigest}`, digest: img.manifestDigest });
  return img.manifestDigest;
}

let dir: string;
let resolved: ResolvedDeployment;
let sboms: Map<string, ComponentSbom>;
let digest: string;
const REVISION = 'a'.repeat(40);

beforeAll(async () => {
  dir = makeShopRepo();
  digest = await storeImage(dir, 'orders', REVISION);
  const repo = openRepository({ cwd: dir });
  resolved = await resolve(repo, loadDeployment(repo, 'shop'), 'dev');
  sboms = new Map((await componentSboms(repo, resolved)).map((s) => [s.component, s]));
});

const get = (address: string) => {
  const s = sboms.get(address);
  if (!s) throw new Error(`no SBOM for ${address}`);
  return s;
};
const refs = (s: ComponentSbom) => s.packages.map((p) => p.bomRef);

describe('the registry', () => {
  it('has one generator per component type and every component gets its SBOM', () => {
    expect(Object.keys(generators).sort()).toEqual(['nixpack', 'terraform']);
    expect([...sboms.keys()].sort()).toEqual(resolved.components.map((c) => c.address).sort());
    for (const s of sboms.values()) {
      expect(s.root.bomRef).toBe(`shop/${s.component}`);
      // Every relation starts and ends at a known package (or the root).
      const known = new Set([s.root.bomRef, ...refs(s)]);
      for (const [from, tos] of Object.entries(s.dependencies)) {
        expect(known.has(from), `${s.component}: ${from}`).toBe(true);
        for (const t of tos) expect(known.has(t), `${s.component}: ${from} -> ${t}`).toBe(true);
      }
    }
  });
});

describe('nixpack', () => {
  it('node (package-lock v3) with a built image: the app, its libraries, the container and its base image', () => {
    const s = get('nixpack/orders');
    expect(s.root).toMatchObject({ type: 'application', name: 'orders-api', version: '1.0.0', purl: 'pkg:npm/orders-api@1.0.0' });
    const container = `pkg:oci/orders@${digest}?repository_url=registry.example.com/acme/orders`;
    const base = 'pkg:oci/nixpacks?repository_url=ghcr.io/railwayapp/nixpacks&tag=ubuntu-1745885067';
    expect(refs(s)).toEqual([base, container, 'pkg:npm/ms@2.1.3', 'pkg:npm/picocolors@1.1.1'].sort());
    const c = s.packages.find((p) => p.bomRef === container)!;
    expect(c).toMatchObject({ type: 'container', name: 'registry.example.com/acme/orders', version: digest, purl: container, hashes: [{ alg: 'SHA-256', content: digest.slice(7) }] });
    expect(c.properties).toContainEqual(['atmos:image:revision', REVISION]);
    expect(c.properties).toContainEqual(['atmos:image:layers', '1']);
    expect(s.dependencies[s.root.bomRef]).toEqual([container, 'pkg:npm/ms@2.1.3', 'pkg:npm/picocolors@1.1.1'].sort());
    expect(s.dependencies[container]).toEqual([base]);
    expect(s.image).toEqual({ ref: `registry.example.com/acme/orders@${digest}`, digest });
    expect(s.sources).toEqual(['services/orders/package.json', 'services/orders/package-lock.json']);
  });

  it('node (package-lock v2): a scoped root and the nested graph', () => {
    const s = get('nixpack/worker');
    expect(s.root).toMatchObject({ group: '@acme', name: 'payments-worker', version: '2.4.0', purl: 'pkg:npm/%40acme/payments-worker@2.4.0', licenses: ['UNLICENSED'] });
    expect(s.image).toBeNull();
    expect(s.dependencies[s.root.bomRef]).toContain('pkg:npm/path-key@3.1.1');
    expect(s.dependencies['pkg:npm/npm-run-path@6.0.0']).toEqual(['pkg:npm/path-key@4.0.0', 'pkg:npm/unicorn-magic@0.3.0']);
  });

  it('go: named by go.mod, modules flat under the root', () => {
    const s = get('nixpack/inventory');
    expect(s.root).toMatchObject({ name: 'example.com/inventory' });
    expect(s.root.purl).toBeUndefined();
    expect(s.dependencies[s.root.bomRef]).toEqual(['pkg:golang/github.com/google/uuid@v1.6.0']);
    expect(get('nixpack/stock').dependencies['shop/nixpack/stock']).toHaveLength(3);
  });

  it('python: poetry (pyproject name), requirements (component name), with graph and hashes', () => {
    const billing = get('nixpack/billing');
    expect(billing.root).toMatchObject({ name: 'Billing_Reports', version: '1.2.0', purl: 'pkg:pypi/billing-reports@1.2.0', licenses: ['Apache-2.0'] });
    expect(billing.dependencies['shop/nixpack/billing']).toEqual(['pkg:pypi/requests@2.31.0', 'pkg:pypi/tomli@2.0.1', 'pkg:pypi/typing-extensions@4.6.3']);
    expect(billing.dependencies['pkg:pypi/requests@2.31.0']).toHaveLength(4);
    const reports = get('nixpack/reports');
    expect(reports.root).toMatchObject({ name: 'reports', version: '0.1.0' });
    expect(reports.packages[0].hashes).toEqual([{ alg: 'SHA-256', content: '1e61c37477a1626458e36f7b1d82aa5c9b094fa4802892072e49de9c60c4c926' }]);
    const legacy = get('nixpack/legacy');
    expect(legacy.root.name).toBe('legacy');
    expect(refs(legacy)).toEqual(['pkg:pypi/six@1.16.0']);
    const jobs = get('nixpack/jobs');
    expect(jobs.sources).toEqual(['services/jobs/requirements.txt', 'services/jobs/requirements-base.txt']);
    expect(jobs.warnings.map((w) => w.code)).toEqual(['sbom/unpinned']);
  });

  it('rust: the root crate is the application; its dependencies are the root edges', () => {
    const s = get('nixpack/ledger');
    expect(s.root).toMatchObject({ name: 'ledger', version: '0.3.1', purl: 'pkg:cargo/ledger@0.3.1', licenses: ['MIT OR Apache-2.0'] });
    expect(s.dependencies['shop/nixpack/ledger']).toContain('pkg:cargo/itoa@1.0.11');
    expect(s.dependencies['shop/nixpack/ledger']).not.toContain('pkg:cargo/itoa@0.4.8');
    expect(s.packages).toHaveLength(13);
  });

  it('warns about lock files it does not read and dependencies without a lock file', async () => {
    const d = makeShopRepo(['orders'], {
      'services/orders/yarn.lock': '# yarn lockfile v1\n',
    });
    rmSync(path.join(d, 'services/orders/package-lock.json'));
    const repo = openRepository({ cwd: d });
    const r = await deploymentSbom(repo, loadDeployment(repo, 'shop'), 'dev', { epoch: 0 });
    expect(r.warnings.map((w) => [w.code, w.location?.file])).toEqual([
      ['sbom/no-lockfile', 'services/orders/package.json'],
      ['sbom/unsupported-lockfile', 'services/orders/yarn.lock'],
    ]);
    expect(r.summary.components.find((c) => c.component === 'nixpack/orders')?.packages).toBe(0);
  });

  it('in the deployment SBOM, a Terraform component bound to the image depends on the container', async () => {
    const repo = openRepository({ cwd: dir });
    const r = await deploymentSbom(repo, loadDeployment(repo, 'shop'), 'dev', { epoch: 0 });
    const container = `pkg:oci/orders@${digest}?repository_url=registry.example.com/acme/orders`;
    expect(resolved.components.find((c) => c.address === 'terraform/app')?.bindings).toEqual([{ var: 'image', nixpack: 'orders', kind: 'label' }]);
    expect(r.model.dependencies['shop/terraform/app']).toContain(container);
    expect(r.model.dependencies['shop/terraform/app']).toContain('shop/nixpack/orders');
    expect(r.summary.components.find((c) => c.component === 'nixpack/orders')).toMatchObject({ image: `registry.example.com/acme/orders@${digest}`, packages: 4, direct: 2 });
  });

  it('flags an image built from another commit', async () => {
    const repo = openRepository({ cwd: dir });
    const r = await deploymentSbom(repo, loadDeployment(repo, 'shop'), 'dev', { epoch: 0, git: { sha: 'b'.repeat(40) }, component: 'orders' });
    expect(r.warnings.map((w) => w.code)).toEqual(['sbom/image-revision']);
  });
});

describe('terraform', () => {
  it('parses a real .terraform.lock.hcl with the HCL parser', async () => {
    const { readFileSync } = await import('node:fs');
    const providers = await parseTerraformLock(readFileSync(path.join(dir, 'components/terraform/app/.terraform.lock.hcl'), 'utf8'), 'x/.terraform.lock.hcl');
    expect(providers.map((p) => [p.address, p.version, p.constraints, p.hashes.length])).toEqual([
      ['registry.terraform.io/hashicorp/aws', '3.59.0', '~> 3.59', 12],
      ['registry.terraform.io/hashicorp/random', '3.1.0', '~> 3.1', 12],
    ]);
    expect(providers[0].hashes[0]).toBe('h1:6JlihvRdEq02BzOZ7P7De2W5HH41ASVYg5I5Z2lAhIo=');
    expect(providers[0].hashes).toContain('zh:e5fa052b9285332a1ebb360ab14676bca88efdaac96cdd809207b23f8e732bb0');
  });

  it('a module with a lock file: providers (with hashes) and module calls, local modules followed', () => {
    const s = get('terraform/app');
    expect(s.root).toMatchObject({ type: 'application', name: 'app', bomRef: 'shop/terraform/app' });
    const aws = s.packages.find((p) => p.bomRef === 'pkg:terraform/registry.terraform.io/hashicorp/aws@3.59.0')!;
    expect(aws).toMatchObject({ group: 'registry.terraform.io', name: 'hashicorp/aws', version: '3.59.0', purl: 'pkg:terraform/registry.terraform.io/hashicorp/aws@3.59.0' });
    expect(aws.properties.filter(([k]) => k === 'atmos:terraform:provider:hash')).toHaveLength(12);
    expect(aws.properties).toContainEqual(['atmos:terraform:provider:constraints', '~> 3.59']);
    expect(s.dependencies['shop/terraform/app']).toEqual(
      [
        'pkg:terraform/registry.terraform.io/hashicorp/aws@3.59.0',
        'pkg:terraform/registry.terraform.io/hashicorp/random@3.1.0',
        'pkg:terraform/registry.terraform.io/cloudposse/label/null@0.25.0',
        'pkg:terraform/registry.terraform.io/terraform-aws-modules/vpc/aws',
        'shop/tf-module/components/terraform/app/modules/tags',
      ].sort(),
    );
    // The local module's own call hangs under it.
    expect(s.dependencies['shop/tf-module/components/terraform/app/modules/tags']).toEqual(['pkg:github/acme/terraform-naming@v1.4.2#modules/name']);
    const vpc = s.packages.find((p) => p.name === 'terraform-aws-modules/vpc/aws')!;
    expect(vpc.version).toBeUndefined();
    expect(vpc.properties).toContainEqual(['atmos:terraform:module:version-constraint', '~> 3.14']);
    expect(s.sources).toContain('components/terraform/app/.terraform.lock.hcl');
  });

  it('a module without a lock file lists just its module calls', () => {
    const s = get('terraform/plain');
    expect(refs(s)).toEqual(['pkg:github/acme/terraform-aws-s3@v2.0.1#modules/bucket']);
    expect(s.dependencies['shop/terraform/plain']).toEqual(['pkg:github/acme/terraform-aws-s3@v2.0.1#modules/bucket']);
  });

  it('classifies module sources', () => {
    expect(classifyModuleSource('cloudposse/label/null', '0.25.0').purl).toBe('pkg:terraform/registry.terraform.io/cloudposse/label/null@0.25.0');
    expect(classifyModuleSource('app.terraform.io/acme/vpc/aws', '= 1.2.3').purl).toBe('pkg:terraform/app.terraform.io/acme/vpc/aws@1.2.3');
    expect(classifyModuleSource('terraform-aws-modules/vpc/aws//modules/vpc-endpoints', '~> 5.0', '5.1.2').purl).toBe(
      'pkg:terraform/registry.terraform.io/terraform-aws-modules/vpc/aws@5.1.2#modules/vpc-endpoints',
    );
    expect(classifyModuleSource('git@github.com:acme/mods.git//net?ref=v2').purl).toBe('pkg:github/acme/mods@v2#net');
    expect(classifyModuleSource('git::https://gitlab.example.com/acme/mods.git?ref=1.0.0').purl).toBe('pkg:generic/mods@1.0.0?vcs_url=git%2Bhttps://gitlab.example.com/acme/mods.git%401.0.0');
    expect(classifyModuleSource('https://example.com/mods/vpc-1.2.0.zip').purl).toBe('pkg:generic/vpc-1.2.0?download_url=https://example.com/mods/vpc-1.2.0.zip');
    expect(classifyModuleSource('../shared/naming')).toMatchObject({ kind: 'local', path: '../shared/naming' });
  });
});
