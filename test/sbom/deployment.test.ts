/**
 * The deployment SBOM: aggregation without duplicates (dependency relations kept), a root
 * reaching everything, strict CycloneDX 1.6 validation, SPDX 2.3, determinism, one
 * component, and the Git note.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDeployment, openRepository } from '../../src/index.js';
import { aggregate, attachSbom, deploymentSbom, readSbomNote, toSpdxJson, validateCycloneDx, type DeploymentSbom } from '../../src/sbom/index.js';
import { newPackage, type ComponentSbom } from '../../src/sbom/model.js';
import { makeShopRepo } from './helpers.js';
import { spdxProblems } from './spdx-schema.js';

const EPOCH = 1_700_000_000;

async function sbomOf(dir: string, opts: Parameters<typeof deploymentSbom>[3] = {}): Promise<DeploymentSbom> {
  const repo = openRepository({ cwd: dir });
  return deploymentSbom(repo, loadDeployment(repo, 'shop'), 'dev', { epoch: EPOCH, ...opts });
}

interface CdxDoc {
  serialNumber: string;
  metadata: { timestamp: string; component: { 'bom-ref': string; name: string }; properties: { name: string; value: string }[] };
  components: { 'bom-ref': string; purl?: string; type: string; name: string }[];
  dependencies: { ref: string; dependsOn?: string[] }[];
}

let dir: string;
let full: DeploymentSbom;
let doc: CdxDoc;

beforeAll(async () => {
  dir = makeShopRepo();
  full = await sbomOf(dir);
  doc = JSON.parse(full.cyclonedx) as CdxDoc;
});

const dependsOn = (d: CdxDoc, ref: string) => d.dependencies.find((x) => x.ref === ref)?.dependsOn ?? [];

describe('aggregation', () => {
  it('puts the deployment at the root, every component root under it, every package once', () => {
    expect(doc.metadata.component).toMatchObject({ 'bom-ref': 'shop', name: 'shop' });
    const roots = dependsOn(doc, 'shop');
    expect(roots).toEqual(full.model.components.map((c) => `shop/${c.component}`).sort());
    const refs = doc.components.map((c) => c['bom-ref']);
    expect(new Set(refs).size).toBe(refs.length);
    const purls = doc.components.map((c) => c.purl).filter(Boolean);
    expect(new Set(purls).size).toBe(purls.length);
    expect(full.summary.packages).toBe(doc.components.length - full.model.components.length);
  });

  it("shares a package between components: one component, both components' edges", () => {
    // ms@2.1.3 is in nixpack/orders (direct) and nixpack/worker (direct and under debug).
    expect(doc.components.filter((c) => c.purl === 'pkg:npm/ms@2.1.3')).toHaveLength(1);
    expect(dependsOn(doc, 'shop/nixpack/orders')).toContain('pkg:npm/ms@2.1.3');
    expect(dependsOn(doc, 'shop/nixpack/worker')).toContain('pkg:npm/ms@2.1.3');
    expect(dependsOn(doc, 'pkg:npm/debug@4.4.3')).toEqual(['pkg:npm/ms@2.1.3']);
    // hashicorp/random is locked by terraform/app and terraform/db.
    const random = 'pkg:terraform/registry.terraform.io/hashicorp/random@3.1.0';
    expect(doc.components.filter((c) => c.purl === random)).toHaveLength(1);
    expect(dependsOn(doc, 'shop/terraform/app')).toContain(random);
    expect(dependsOn(doc, 'shop/terraform/db')).toContain(random);
  });

  it('keeps the deployment graph: component dependencies', () => {
    expect(dependsOn(doc, 'shop/terraform/app')).toContain('shop/terraform/db');
  });

  it('reaches every component from the root', () => {
    const seen = new Set<string>();
    const walk = (r: string) => {
      if (seen.has(r)) return;
      seen.add(r);
      for (const d of dependsOn(doc, r)) walk(d);
    };
    walk('shop');
    const unreachable = doc.components.map((c) => c['bom-ref']).filter((r) => !seen.has(r));
    expect(unreachable).toEqual([]);
  });

  it('merges what two components say about one package (strongest scope, union of hashes)', () => {
    const lib = (scope: 'excluded' | 'required', withHash: boolean) =>
      newPackage({ bomRef: 'pkg:npm/x@1.0.0', type: 'library', name: 'x', version: '1.0.0', purl: 'pkg:npm/x@1.0.0', scope, hashes: withHash ? [{ alg: 'SHA-512', content: 'ab'.repeat(64) }] : [] });
    const comp = (name: string, scope: 'excluded' | 'required', withHash: boolean): ComponentSbom => ({
      component: `nixpack/${name}`,
      type: 'nixpack',
      root: newPackage({ bomRef: `d/nixpack/${name}`, type: 'application', name }),
      packages: [lib(scope, withHash)],
      dependencies: { [`d/nixpack/${name}`]: ['pkg:npm/x@1.0.0'] },
      sources: [],
      image: null,
      warnings: [],
    });
    const m = aggregate({
      deployment: 'd',
      target: 't',
      timestamp: new Date(0).toISOString(),
      tool: { name: 'atmos-pipe', version: '0' },
      components: [comp('a', 'excluded', false), comp('b', 'required', true)],
    });
    expect(m.packages.filter((p) => p.bomRef === 'pkg:npm/x@1.0.0')).toEqual([expect.objectContaining({ scope: 'required', hashes: [{ alg: 'SHA-512', content: 'ab'.repeat(64) }] })]);
    expect(m.dependencies['d/nixpack/a']).toEqual(['pkg:npm/x@1.0.0']);
    expect(m.dependencies['d/nixpack/b']).toEqual(['pkg:npm/x@1.0.0']);
    expect(m.dependencies.d).toEqual(['d/nixpack/a', 'd/nixpack/b']);
  });
});

describe('CycloneDX', () => {
  it("validates with the library's strict JSON validator", async () => {
    expect(await validateCycloneDx(full.cyclonedx)).toBeNull();
    const parsed = JSON.parse(full.cyclonedx);
    expect(parsed).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', version: 1 });
    expect(parsed.metadata.tools.components[0]).toMatchObject({ type: 'application', name: 'atmos-pipe' });
  });

  it('catches an invalid document', async () => {
    const bad = JSON.parse(full.cyclonedx);
    bad.components[0].type = 'spaceship';
    bad.unexpected = true;
    expect(await validateCycloneDx(JSON.stringify(bad))).not.toBeNull();
    expect(await validateCycloneDx('{not json')).not.toBeNull();
  });

  it('carries the timestamp it was given and a content-derived serial number; digest = sha256 of the text', async () => {
    expect(doc.metadata.timestamp).toBe('2023-11-14T22:13:20.000Z');
    expect(doc.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const { createHash } = await import('node:crypto');
    expect(full.digest).toBe(`sha256:${createHash('sha256').update(full.cyclonedx).digest('hex')}`);
  });

  it('is byte-identical for the same inputs, wherever the repository is', async () => {
    const again = await sbomOf(dir);
    expect(again.cyclonedx).toBe(full.cyclonedx);
    const elsewhere = await sbomOf(makeShopRepo());
    expect(elsewhere.cyclonedx).toBe(full.cyclonedx);
    expect(await toSpdxJson(elsewhere.model)).toBe(await toSpdxJson(full.model));
    // Another time gives another document (and serial number).
    const later = await sbomOf(dir, { epoch: EPOCH + 1 });
    expect(later.digest).not.toBe(full.digest);
    expect(JSON.parse(later.cyclonedx).serialNumber).not.toBe(doc.serialNumber);
  });

  it('takes SOURCE_DATE_EPOCH when no epoch is given', async () => {
    const r = await sbomOf(dir, { epoch: undefined, env: { SOURCE_DATE_EPOCH: '86400' } });
    expect(JSON.parse(r.cyclonedx).metadata.timestamp).toBe('1970-01-02T00:00:00.000Z');
  });
});

describe('SPDX 2.3', () => {
  it('passes the strict schema, with the same packages and relations', async () => {
    const text = await toSpdxJson(full.model);
    expect(spdxProblems(text)).toEqual([]);
    const spdx = JSON.parse(text);
    expect(spdx.packages).toHaveLength(doc.components.length + 1);
    const purls = spdx.packages.flatMap((p: { externalRefs?: { referenceLocator: string }[] }) => (p.externalRefs ?? []).map((r) => r.referenceLocator));
    expect(purls.sort()).toEqual(
      doc.components
        .map((c) => c.purl)
        .filter(Boolean)
        .sort(),
    );
    const edges = doc.dependencies.reduce((n, d) => n + (d.dependsOn?.length ?? 0), 0);
    expect(spdx.relationships.filter((r: { relationshipType: string }) => r.relationshipType === 'DEPENDS_ON')).toHaveLength(edges);
    expect(spdx.creationInfo.created).toBe('2023-11-14T22:13:20Z');
    const ms = spdx.packages.find((p: { name: string }) => p.name === 'ms');
    expect(ms).toMatchObject({ versionInfo: '2.1.3', downloadLocation: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', licenseDeclared: 'MIT', checksums: [{ algorithm: 'SHA512' }] });
    const ledger = spdx.packages.find((p: { name: string }) => p.name === 'ledger');
    expect(ledger.licenseDeclared).toBe('MIT OR Apache-2.0');
    const worker = spdx.packages.find((p: { name: string }) => p.name === '@acme/payments-worker');
    expect(worker.licenseDeclared).toBe('NOASSERTION'); // UNLICENSED is not an SPDX id
  });
});

describe('one component', () => {
  it('makes the component the root and contains only its packages', async () => {
    const r = await sbomOf(dir, { component: 'worker' });
    expect(await validateCycloneDx(r.cyclonedx)).toBeNull();
    const d = JSON.parse(r.cyclonedx) as CdxDoc;
    expect(d.metadata.component['bom-ref']).toBe('shop/nixpack/worker');
    expect(d.metadata.properties).toContainEqual({ name: 'atmos:deployment', value: 'shop' });
    expect(d.components.map((c) => c['bom-ref'])).toEqual(full.model.components.find((c) => c.component === 'nixpack/worker')!.packages.map((p) => p.bomRef));
    expect(r.summary.components.map((c) => c.component)).toEqual(['nixpack/worker']);
    expect(spdxProblems(await toSpdxJson(r.model))).toEqual([]);
  });

  it('rejects an unknown component with the valid values', async () => {
    await expect(sbomOf(dir, { component: 'workr' })).rejects.toMatchObject({ diagnostics: [{ code: 'args/component', hint: expect.stringContaining('did you mean "nixpack/worker"') }] });
  });
});

describe('the Git note', () => {
  it('is written on the commit in refs/notes/atmos/<d>/sbom and replaced on the next attach', async () => {
    const d = makeShopRepo(['orders']);
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: d,
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_COMMITTER_DATE: '2024-01-02T03:04:05Z' },
      }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'init');
    const sha = git('rev-parse', 'HEAD');
    // No epoch, no SOURCE_DATE_EPOCH: the commit time.
    const r = await sbomOf(d, { epoch: undefined, env: {} });
    const parsed = JSON.parse(r.cyclonedx);
    expect(parsed.metadata.timestamp).toBe('2024-01-02T03:04:05.000Z');
    expect(parsed.metadata.properties).toContainEqual({ name: 'atmos:git:sha', value: sha });
    const a = await attachSbom(d, 'shop', 'HEAD', r.cyclonedx);
    expect(a).toMatchObject({ ref: 'refs/notes/atmos/shop/sbom', commit: sha });
    expect(`${git('notes', '--ref', 'refs/notes/atmos/shop/sbom', 'show', sha)}\n`).toBe(r.cyclonedx);
    await attachSbom(d, 'shop', sha, '{"replaced":true}\n');
    expect(await readSbomNote(d, 'shop', sha)).toBe('{"replaced":true}\n');
    expect(git('notes', '--ref', 'refs/notes/atmos/shop/sbom', 'list').split('\n')).toHaveLength(1);
  });
});
