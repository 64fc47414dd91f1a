/**
 * A temp repository for the SBOM tests: the Terraform fixture (test/fixtures/terraform-sbom)
 * plus service fixtures (test/fixtures/services/*, test/sbom/fixtures/*) as nixpack
 * components of a `shop` deployment.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { ROOT, writeFiles } from '../helpers.js';

export const SERVICES = path.join(ROOT, 'test/fixtures/services');
export const LOCAL = path.join(ROOT, 'test/sbom/fixtures');
export const TF_FIXTURE = path.join(ROOT, 'test/fixtures/terraform-sbom');

/** nixpack component -> fixture directory. */
export const SHOP_SERVICES: Record<string, string> = {
  orders: path.join(SERVICES, 'node-npm'),
  worker: path.join(LOCAL, 'npm-v2'),
  inventory: path.join(SERVICES, 'go'),
  stock: path.join(LOCAL, 'go-multi'),
  reports: path.join(SERVICES, 'python-poetry'),
  billing: path.join(LOCAL, 'poetry-graph'),
  jobs: path.join(LOCAL, 'pip-hashes'),
  legacy: path.join(SERVICES, 'python-pip'),
  ledger: path.join(SERVICES, 'rust'),
};

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export function shopDeployment(services: string[] = Object.keys(SHOP_SERVICES)): string {
  return [
    'deployment:',
    '  name: shop',
    '  description: Shop (SBOM fixture)',
    '  stacks: [catalog/infra]',
    '  components:',
    '    nixpack:',
    ...services.flatMap((s) => [
      `      ${s}:`,
      ...(s === 'orders' ? ['        metadata:', '          labels: { service: orders }'] : []),
      '        vars:',
      `          source: ./services/${s}`,
      `          image: { name: ${s}, registry: registry.example.com/acme }`,
    ]),
    '    terraform:',
    '      app:',
    '        metadata:',
    '          depends_on: [db]',
    ...(services.includes('orders') ? ['          labels: { service: orders }'] : []),
    '      db: {}',
    '      plain: {}',
    '  targets:',
    '    dev: {}',
    '    prod: {}',
    '',
  ].join('\n');
}

/** A fresh copy of the fixture repository with the given services and the `shop` deployment. */
export function makeShopRepo(services: string[] = Object.keys(SHOP_SERVICES), extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-sbom-'));
  made.push(dir);
  const repo = path.join(dir, 'repo');
  cpSync(TF_FIXTURE, repo, { recursive: true, filter: (src) => !src.includes(`${path.sep}.atmos`) });
  for (const s of services) cpSync(SHOP_SERVICES[s], path.join(repo, 'services', s), { recursive: true });
  writeFiles(repo, { 'deployments/shop.yaml': shopDeployment(services), ...extra });
  return repo;
}
