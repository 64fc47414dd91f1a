import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { YamlFileCache } from '../../src/config/files.js';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';
import { locOf } from '../../src/yaml/index.js';
import { diag, repo, tf, where } from './helpers.js';

const fixture = path.resolve(__dirname, '../fixtures/stacks/overrides-scenario');

describe('overrides: the Atmos "atmos-overrides-section" scenario', () => {
  const files = new YamlFileCache(fixture);
  const opts = { repoRoot: fixture, stacksBasePath: path.join(fixture, 'stacks'), listMergeStrategy: 'replace' as const };
  const c1 = (stage: string) => resolveComponent(loadStack([{ path: `deploy/${stage}` }], opts, files), 'terraform', 'c1').vars.test;

  it.each([
    ['prod', { a: 'a-prod', b: 'b-prod', c: 'c-prod', d: 'd' }],
    ['staging', { a: 'a-staging', b: 'b-team2', c: 'c-team1', d: 'd' }],
    ['dev', { a: 'a-dev', b: 'b-team2', c: 'c-team1', d: 'd' }],
    ['sandbox', { a: 'a-team2', b: 'b-team2', c: 'c-team1', d: 'd' }],
    ['test', { a: 'a-test-2', b: 'b-test', c: 'c-team1', d: 'd' }],
    // an imported file's overrides reach siblings listed after it, never before
    ['test2', { a: 'a', b: 'b', c: 'c', d: 'd' }],
    ['test3', { a: 'a-overridden', b: 'b-overridden', c: 'c', d: 'd' }],
  ])('describe component c1 -s %s', (stage, expected) => {
    expect(c1(stage)).toEqual(expected);
  });

  it('an overridden value points at the overrides that won', () => {
    const v = resolveComponent(loadStack([{ path: 'deploy/test' }], opts, files), 'terraform', 'c1').vars.test;
    expect(locOf(v, 'a')).toMatchObject({ file: 'stacks/deploy/test.yaml', line: 17 });
    expect(locOf(v, 'b')).toMatchObject({ file: 'stacks/deploy/test.yaml', line: 11 });
    expect(locOf(v, 'c')).toMatchObject({ file: 'stacks/teams/team1.yaml', line: 12 });
    expect(locOf(v, 'd')).toMatchObject({ file: 'stacks/catalog/c1.yaml', line: 9 });
  });
});

describe('overrides scoping (SPEC 3.1 "Overrides")', () => {
  const r = repo({
    'stacks/catalog/app.yaml': `
      components:
        terraform:
          app:
            vars: { v: catalog, keep: 1 }
            settings: { s: catalog }
            env: { E: catalog }
        helmfile:
          chart:
            vars: { v: catalog }
    `,
    'stacks/catalog/other.yaml': `
      components:
        terraform:
          other:
            vars: { v: catalog }
    `,
    'stacks/layers/network.yaml': `
      import: [catalog/app]
      overrides:
        vars: { v: global-overrides, g: 1 }
        env: { E: overridden }
      terraform:
        overrides:
          vars: { v: terraform-overrides }
          settings: { s: overridden }
    `,
    'stacks/importer.yaml': `
      import: [layers/network]
      terraform:
        overrides:
          vars: { v: importer }
    `,
    'stacks/sibling-after.yaml': 'import: [layers/network, catalog/other]',
    'stacks/sibling-before.yaml': 'import: [catalog/other, layers/network]',
    'stacks/own.yaml': `
      import: [layers/network]
      components:
        terraform:
          mine:
            vars: { v: own }
    `,
  });

  it('apply to the components of the file and of what it imports; terraform.overrides wins over overrides', () => {
    const c = tf(r.load(['layers/network']), 'app');
    expect(c.vars).toEqual({ v: 'terraform-overrides', keep: 1, g: 1 });
    expect(c.settings).toEqual({ s: 'overridden' });
    expect(c.env).toEqual({ E: 'overridden' });
  });

  it("an importing file's overrides win over an imported file's", () => {
    expect(tf(r.load(['importer']), 'app').vars).toEqual({ v: 'importer', keep: 1, g: 1 });
  });

  it("reach siblings listed after the importing entry, never before; and the importer's own components", () => {
    expect(tf(r.load(['sibling-after']), 'other').vars.v).toBe('terraform-overrides');
    expect(tf(r.load(['sibling-before']), 'other').vars.v).toBe('catalog');
    expect(tf(r.load(['own']), 'mine').vars.v).toBe('terraform-overrides');
    // the same for stacks listed by a deployment (they merge like imports)
    expect(tf(r.load(['layers/network', 'catalog/other']), 'other').vars.v).toBe('terraform-overrides');
    expect(tf(r.load(['catalog/other', 'layers/network']), 'other').vars.v).toBe('catalog');
  });

  it('do not reach a component no stack defines; terraform.overrides do not reach helmfile components', () => {
    const s = r.load(['layers/network']);
    expect(tf(s, 'undefined-here').vars).toEqual({});
    expect(resolveComponent(s, 'helmfile', 'chart').vars).toEqual({ v: 'global-overrides', g: 1 });
  });

  it('a file imported by several stacks gives each the overrides of its own context', () => {
    const a = r.load(['importer']);
    const b = r.load(['layers/network']);
    const c = r.load(['catalog/app']);
    expect(tf(a, 'app').vars.v).toBe('importer');
    expect(tf(b, 'app').vars.v).toBe('terraform-overrides');
    expect(tf(c, 'app').vars.v).toBe('catalog');
  });

  it("are not inherited: a component inheriting an overridden base gets the base's own values", () => {
    const s = repo({
      'stacks/catalog/base.yaml': `
        components:
          terraform:
            base:
              vars: { v: base }
        overrides:
          vars: { v: overridden }
      `,
      'stacks/child.yaml': `
        components:
          terraform:
            child:
              metadata: { inherits: [base] }
      `,
    });
    const st = s.load(['child', 'catalog/base']);
    expect(tf(st, 'base').vars.v).toBe('overridden');
    expect(tf(st, 'child').vars.v).toBe('base');
  });

  it('override sections of the wrong type are located errors', () => {
    const e = repo({ 'stacks/dev.yaml': 'overrides:\n  env: [A]' });
    const d = diag(() => e.load(['dev']));
    expect(d.message).toBe('overrides.env must be a mapping, got a list');
    expect(where(d)).toBe('stacks/dev.yaml:2:8');
  });
});
