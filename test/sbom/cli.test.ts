/**
 * `atmos-pipe sbom` through the real CLI: the bundled example validates strictly, output
 * is deterministic, `--component`, `--summary`, `--format spdx-json` and `--output`.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateCycloneDx } from '../../src/sbom/index.js';
import { ROOT, runCli } from '../helpers.js';
import { makeShopRepo } from './helpers.js';
import { spdxProblems } from './spdx-schema.js';

const ENV = { SOURCE_DATE_EPOCH: '1700000000' };
let example: string;
beforeAll(() => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-sbom-example-'));
  example = path.join(dir, 'payment-service');
  cpSync(path.join(ROOT, 'examples/payment-service'), example, { recursive: true, filter: (src) => !src.includes(`${path.sep}.atmos`) && !src.includes('node_modules') });
});
afterAll(() => rmSync(path.dirname(example), { recursive: true, force: true }));

const cli = (cwd: string, ...args: string[]) => runCli(['--chdir', cwd, ...args], { env: ENV });

describe('sbom on the bundled example', () => {
  it('prints a CycloneDX 1.6 document that validates strictly', async () => {
    const r = cli(example, 'sbom', 'payment-service', '--target', 'dev');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await validateCycloneDx(r.stdout)).toBeNull();
    const doc = JSON.parse(r.stdout);
    expect(doc.specVersion).toBe('1.6');
    expect(doc.metadata.timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(doc.metadata.component).toMatchObject({ 'bom-ref': 'payment-service', name: 'payment-service', description: 'Payment processing API on ECS' });
    expect(doc.components.map((c: { 'bom-ref': string }) => c['bom-ref'])).toEqual(['payment-service/nixpack/api', 'payment-service/terraform/ecr/api', 'payment-service/terraform/ecs/service-api']);
    const api = doc.components[0];
    expect(api).toMatchObject({ type: 'application', name: 'payment-api', version: '1.0.0', purl: 'pkg:npm/payment-api@1.0.0' });
    const deps = Object.fromEntries(doc.dependencies.map((d: { ref: string; dependsOn?: string[] }) => [d.ref, d.dependsOn ?? []]));
    expect(deps['payment-service']).toHaveLength(3);
    expect(deps['payment-service/terraform/ecs/service-api']).toEqual(['payment-service/nixpack/api', 'payment-service/terraform/ecr/api']);
  });

  it('is byte-identical across runs', () => {
    const a = cli(example, 'sbom', 'payment-service', '--target', 'dev');
    const b = cli(example, 'sbom', 'payment-service', '--target', 'dev');
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const s1 = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--format', 'spdx-json');
    const s2 = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--format', 'spdx-json');
    expect(s2.stdout).toBe(s1.stdout);
  });

  it('--format spdx-json gives SPDX 2.3 that passes the schema', () => {
    const r = cli(example, 'sbom', 'payment-service', '--target', 'prod', '--format', 'spdx-json');
    expect(r.code, r.stderr).toBe(0);
    expect(spdxProblems(r.stdout)).toEqual([]);
    const doc = JSON.parse(r.stdout);
    expect(doc.name).toBe('payment-service-prod');
    expect(doc.packages).toHaveLength(4);
  });

  it("--component gives that component's SBOM", async () => {
    const r = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--component', 'api');
    expect(r.code, r.stderr).toBe(0);
    expect(await validateCycloneDx(r.stdout)).toBeNull();
    const doc = JSON.parse(r.stdout);
    expect(doc.metadata.component['bom-ref']).toBe('payment-service/nixpack/api');
    expect(doc.components ?? []).toEqual([]);
  });

  it('--summary prints a table, or data with --format json', () => {
    const r = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--summary');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['COMPONENT', 'TYPE', 'ROOT', 'PACKAGES', 'DIRECT', 'LICENSES', 'IMAGE']);
    expect(lines[1].split(/\s{2,}/)).toEqual(['nixpack/api', 'nixpack', 'payment-api@1.0.0', '0', '0', '-', '-']);
    expect(lines.at(-1)).toMatch(/^0 distinct packages in 3 components; CycloneDX sha256:[0-9a-f]{64}$/);
    const j = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--summary', '--format', 'json');
    const s = JSON.parse(j.stdout);
    expect(s).toMatchObject({ deployment: 'payment-service', target: 'dev', packages: 0 });
    const doc = cli(example, 'sbom', 'payment-service', '--target', 'dev');
    expect(s.digest).toBe(`sha256:${createHash('sha256').update(doc.stdout).digest('hex')}`);
  });

  it('--output writes the document and prints nothing else', () => {
    const out = path.join(path.dirname(example), 'out', 'sbom.cdx.json');
    const r = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--output', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^wrote .*sbom\.cdx\.json \(CycloneDX 1\.6, 0 packages, sha256:[0-9a-f]{64}\)\n$/);
    expect(readFileSync(out, 'utf8')).toBe(cli(example, 'sbom', 'payment-service', '--target', 'dev').stdout);
    expect(existsSync(`${out}.tmp`)).toBe(false);
  });

  it('rejects bad arguments with located, actionable errors', () => {
    const f = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--format', 'table');
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('--format table is a summary format');
    const c = cli(example, 'sbom', 'payment-service', '--target', 'dev', '--component', 'ecs/servce-api');
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('did you mean "terraform/ecs/service-api"');
    const t = cli(example, 'sbom', 'payment-service', '--target', 'qa');
    expect(t.code).toBe(2);
    expect(c.stderr + t.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  });
});

describe('sbom on fixture services', () => {
  it('a deployment with every lock-file type validates; the summary counts packages and licenses', async () => {
    const repo = makeShopRepo();
    const out = path.join(repo, 'sbom.json');
    const r = cli(repo, 'sbom', 'shop', '--target', 'dev', '--summary', '--output', out);
    expect(r.code, r.stderr).toBe(0);
    expect(await validateCycloneDx(readFileSync(out, 'utf8'))).toBeNull();
    // Warnings (an unpinned requirement) go to stderr, located.
    expect(r.stderr).toContain('services/jobs/requirements.txt:12');
    const rows = Object.fromEntries(
      r.stdout
        .trimEnd()
        .split('\n')
        .slice(1, -1)
        .map((l) => {
          const c = l.split(/\s{2,}/);
          return [c[0], c];
        }),
    );
    expect(rows['nixpack/worker']).toEqual(['nixpack/worker', 'nixpack', '@acme/payments-worker@2.4.0', '9', '6', 'MIT', '-']);
    expect(rows['nixpack/ledger'].slice(0, 5)).toEqual(['nixpack/ledger', 'nixpack', 'ledger@0.3.1', '13', '5']);
    expect(rows['terraform/app'].slice(0, 5)).toEqual(['terraform/app', 'terraform', 'app', '6', '5']);
    const spdx = cli(repo, 'sbom', 'shop', '--target', 'dev', '--format', 'spdx-json');
    expect(spdxProblems(spdx.stdout)).toEqual([]);
  });
});
