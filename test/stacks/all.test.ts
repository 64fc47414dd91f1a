import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { YamlFileCache } from '../../src/config/files.js';
import { loadAllStacks, loadStack } from '../../src/stacks/index.js';
import { generateRepo } from './gen.js';
import { diag, repo } from './helpers.js';

describe('loadAllStacks (atmos describe stacks)', () => {
  const r = repo({
    'stacks/catalog/vpc.yaml': `
      components:
        terraform:
          vpc/defaults:
            metadata: { type: abstract }
            vars: { cidr: 10.0.0.0/16 }
          vpc:
            metadata: { inherits: [vpc/defaults] }
          legacy:
            metadata: { enabled: false }
    `,
    'stacks/orgs/acme/dev.yaml': `
      import: [catalog/vpc]
      vars: { stage: dev }
    `,
    'stacks/orgs/acme/prod.yml': `
      import: [catalog/vpc]
      vars: { stage: prod }
      components:
        terraform:
          eks:
            vars: { size: 3 }
    `,
    'stacks/orgs/acme/_defaults.yaml': 'vars: { namespace: acme }',
    'stacks/orgs/acme/notes.txt': 'not a stack',
  });

  it('resolves every included stack file with its deployable terraform components', () => {
    const all = loadAllStacks({ ...r.opts, included: ['orgs/**/*'], excluded: ['**/_defaults.yaml'] }, r.files);
    expect(all.stacks.map((s) => s.file)).toEqual(['stacks/orgs/acme/dev.yaml', 'stacks/orgs/acme/prod.yml']);
    expect(Object.keys(all.stacks[0].components)).toEqual(['vpc']);
    expect(Object.keys(all.stacks[1].components)).toEqual(['eks', 'vpc']);
    expect(all.stacks[1].components.vpc.vars).toEqual({ stage: 'prod', cidr: '10.0.0.0/16' });
    expect(all.instances).toBe(3);
  });

  it('defaults to every stack file under the stacks base path', () => {
    const all = loadAllStacks(r.opts, r.files);
    expect(all.stacks.map((s) => s.file)).toEqual(['stacks/catalog/vpc.yaml', 'stacks/orgs/acme/_defaults.yaml', 'stacks/orgs/acme/dev.yaml', 'stacks/orgs/acme/prod.yml']);
  });

  it('errors stay located', () => {
    const b = repo({ 'stacks/a.yaml': 'import: [missing]' });
    expect(diag(() => loadAllStacks(b.opts, b.files)).location).toEqual({ file: 'stacks/a.yaml', line: 1, col: 10 });
  });
});

describe('scale and caching', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'stacks-perf-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  generateRepo(root, 1000, 10, 50);
  const opts = { repoRoot: root, stacksBasePath: path.join(root, 'stacks'), listMergeStrategy: 'replace' as const, included: ['orgs/**/*'] };

  // Speed is the `scale` benchmark's (npm run bench), never a timed assertion here.
  it('1,000 stacks and 10,000 component instances load, each merged as Atmos merges it', () => {
    const all = loadAllStacks(opts);
    expect(all.stacks).toHaveLength(1000);
    expect(all.instances).toBe(10000);
    const s7 = all.stacks.find((s) => s.file === 'stacks/orgs/o7/stack7.yaml')!;
    expect(s7.components.c7.vars).toMatchObject({ region: 'region-3', stage: 's2', tenant: 't7', stack_id: 7, name: 'c7', own: 7, v0: 'value-7-0' });
    expect(s7.components.c7.backend).toEqual({ bucket: 'tfstate-s2', region: 'us-east-1', workspace_key_prefix: 'mod0' });
    expect(all.stacks.find((s) => s.file === 'stacks/orgs/o0/stack10.yaml')!.components.c10.vars.overridden).toBe(true);
  });

  it('parses each file once and merges a shared import once per override context', () => {
    const files = new YamlFileCache(root);
    const a = loadStack([{ path: 'orgs/o1/stack1' }], opts, files);
    const b = loadStack([{ path: 'orgs/o4/stack4' }], opts, files);
    const parsed = files.size;
    loadStack([{ path: 'orgs/o1/stack1' }], opts, files);
    expect(files.size).toBe(parsed);
    // catalog/c7 is imported by both (no overrides reach it): its component is the same object
    const comps = (s: typeof a) => (s.internal as { content: { components: { terraform: Record<string, unknown> } } }).content.components.terraform;
    expect(comps(a).c7).toBeDefined();
    expect(comps(a).c7).toBe(comps(b).c7);
  });
});
