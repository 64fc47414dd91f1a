/**
 * `migrate --from-stack`: on three Atmos-shaped repositories, every migrated component
 * resolves (`describe` of the new deployment, a separate process) to exactly the vars the
 * stack resolves to through the library's Atmos-compatible stack functions (what `atmos
 * describe component <c> -s <stack>` prints), component by component; refusals write nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRepository } from '../../src/index.js';
import { stackLoadOptions } from '../../src/resolve/stack-config.js';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';
import { listTree, makeRepo, runCli } from '../helpers.js';
import { CATALOG, INHERITANCE, OVERRIDES } from './fixtures.js';

/** Every deployable terraform component of a top-level stack file, resolved as Atmos resolves it. */
type Sections = Record<'vars' | 'settings' | 'env', Record<string, unknown>>;

function atmosResolution(dir: string, stackFile: string): Map<string, Sections> {
  const repo = openRepository({ cwd: dir });
  const stack = loadStack([{ path: stackFile }], stackLoadOptions(repo.config), repo.files);
  const out = new Map<string, Sections>();
  for (const n of stack.componentNames.terraform) {
    const c = resolveComponent(stack, 'terraform', n);
    if (!c.abstract && c.enabled) out.set(n, { vars: c.vars, settings: c.settings, env: c.env });
  }
  return out;
}

function describeSections(dir: string, name: string, target: string): Map<string, Sections> {
  const r = runCli(['describe', name, '--target', target, '--format', 'json'], { cwd: dir });
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout) as { components: ({ name: string; type: string } & Sections)[] };
  return new Map(d.components.filter((c) => c.type === 'terraform').map((c) => [c.name, { vars: c.vars, settings: c.settings, env: c.env }]));
}

const cases = [
  {
    title: 'inheritance (abstract bases, multiple inheritance, a derived and a disabled component; stack named by name_pattern)',
    files: INHERITANCE,
    from: 'plat-ue2-dev',
    stackFile: 'orgs/acme/ue2/dev.yaml',
    name: 'network',
    target: 'dev',
    layout: 'imports',
    migrated: ['vpc'],
    spot: { vpc: { cidr: '10.0.0.0/16', enable_nat: true, azs: ['a'], tags: { managed_by: 'atmos', team: 'network', env: 'dev' }, name: 'main', tenant: 'plat', stage: 'dev' } },
    notCarried: [/vpc\/defaults: abstract/, /logging\/defaults: abstract/, /vpc\/legacy: disabled/, /vpc\/flow-logs: its name nests under terraform\/vpc/],
  },
  {
    title: 'imports with overrides (an overrides file reaches only the imports after it; terraform.overrides of the top file; mixins)',
    files: OVERRIDES,
    from: 'deploy/prod',
    stackFile: 'deploy/prod.yaml',
    name: 'shop',
    target: 'prod',
    layout: 'stack',
    migrated: ['app', 'cache', 'db'],
    // The overrides file reaches app (imported after it) and db (defined by the importing file too), not cache (imported
    // before it, and only there); terraform.overrides of the top file reach all.
    spot: {
      app: { team: 'data', owner: 'sre', replicas: 3, ports: [80, 443] },
      db: { team: 'data', owner: 'sre', backups: { enabled: true, keep: 3 } },
      cache: { team: 'unknown', owner: 'sre', size: 'micro' },
    },
    notCarried: [],
  },
  {
    title: 'catalog and mixins (one template imported twice with two contexts, append list merges, a relative import)',
    files: CATALOG,
    from: 'stacks/envs/staging.yaml',
    stackFile: 'envs/staging.yaml',
    name: 'services',
    target: 'staging',
    layout: 'stack',
    migrated: ['service/api', 'service/worker'],
    spot: { 'service/worker': { service_name: 'worker', cpu: 512, subnets: ['base', 'shared', 'private'], org: 'acme' } },
    notCarried: [],
  },
];

describe('migrate --from-stack', () => {
  for (const c of cases) {
    it(`keeps every component's resolved vars: ${c.title}`, () => {
      const dir = makeRepo(c.files);
      const before = atmosResolution(dir, c.stackFile);
      const r = runCli(['migrate', '--from-stack', c.from, '--name', c.name, '--target', c.target, '--format', 'json'], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { file: string; layout: string; components: string[]; not_carried: string[] };
      expect(out.file).toBe(`deployments/${c.name}.yaml`);
      expect(out.layout).toBe(c.layout);
      expect(out.components.sort()).toEqual([...c.migrated].sort());
      for (const re of c.notCarried) expect(out.not_carried.some((l) => re.test(l))).toBe(true);
      expect(out.not_carried).toHaveLength(c.notCarried.length);
      const text = readFileSync(path.join(dir, out.file), 'utf8');
      if (c.layout === 'imports') expect(text).not.toContain(c.stackFile.replace(/\.yaml$/, '')); // the parent stack is no longer read
      expect(runCli(['validate', c.name], { cwd: dir }).code).toBe(0);
      const after = describeSections(dir, c.name, c.target);
      expect([...after.keys()].sort()).toEqual([...c.migrated].sort());
      for (const name of c.migrated) {
        expect(before.get(name), `${name}: resolved by the stack`).toBeDefined();
        const spot = (c.spot as Record<string, Record<string, unknown>>)[name];
        if (spot) expect(before.get(name)?.vars).toMatchObject(spot);
        expect(after.get(name)?.vars, `${name}: vars of the deployment equal the stack's`).toEqual(before.get(name)?.vars);
        expect(after.get(name)?.settings, `${name}: settings`).toEqual(before.get(name)?.settings);
        expect(after.get(name)?.env, `${name}: env`).toEqual(before.get(name)?.env);
      }
    });
  }

  it('the same template imported with two contexts gives two components (not the first rendering twice)', () => {
    const dir = makeRepo(CATALOG);
    const v = new Map([...atmosResolution(dir, 'envs/staging.yaml')].map(([k, x]) => [k, x.vars]));
    expect(v.get('service/api')).toMatchObject({ service_name: 'api', cpu: 256, subnets: ['base', 'shared'] });
    expect(v.get('service/worker')).toMatchObject({ service_name: 'worker', cpu: 512, subnets: ['base', 'shared', 'private'] });
  });

  it('--component migrates only the named components; an unknown one is refused with a suggestion', () => {
    const dir = makeRepo(OVERRIDES);
    const ok = runCli(['migrate', '--from-stack', 'deploy/prod', '--name', 'db-only', '--component', 'db', '--target', 'prod', '--dry-run'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('db: {}');
    expect(ok.stdout).not.toMatch(/^\s+(app|cache):/m);
    const bad = runCli(['migrate', '--from-stack', 'deploy/prod', '--name', 'x', '--component', 'dbb'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('did you mean "db"');
  });

  it('refuses an unknown stack with a did-you-mean, and an existing deployment file without --force; writes nothing', () => {
    const dir = makeRepo(INHERITANCE);
    // Files of the repository (the tool's own cache under .atmos/ aside).
    const files = () => listTree(dir).filter((f) => !f.startsWith('.atmos/'));
    const tree = files();
    const unknown = runCli(['migrate', '--from-stack', 'plat-ue2-dve', '--name', 'network'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--from-stack plat-ue2-dve');
    expect(unknown.stderr).toContain('did you mean "plat-ue2-dev"');
    expect(unknown.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(files()).toEqual(tree);
    const outside = runCli(['migrate', '--from-stack', 'plat-ue2-dev', '--name', 'network', '--output', '../network.yaml'], { cwd: dir });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('leaves the repository');
    expect(existsSync(path.join(dir, '../network.yaml'))).toBe(false);
    const misnamed = runCli(['migrate', '--from-stack', 'plat-ue2-dev', '--name', 'network', '--output', 'deployments/other.yaml'], { cwd: dir });
    expect(misnamed.code).toBe(2);
    expect(files()).toEqual(tree);

    expect(runCli(['migrate', '--from-stack', 'plat-ue2-dev', '--name', 'network', '--dry-run'], { cwd: dir }).code).toBe(0);
    expect(files()).toEqual(tree); // a dry run writes nothing
    expect(runCli(['migrate', '--from-stack', 'plat-ue2-dev', '--name', 'network'], { cwd: dir }).code).toBe(0);
    const file = path.join(dir, 'deployments/network.yaml');
    const first = readFileSync(file, 'utf8');
    const again = runCli(['migrate', '--from-stack', 'orgs/acme/ue2/dev', '--name', 'network', '--component', 'vpc'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/deployments\/network\.yaml:1:1: .*already exists/);
    expect(again.stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe(first);
    expect(runCli(['migrate', '--from-stack', 'orgs/acme/ue2/dev', '--name', 'network', '--force'], { cwd: dir }).code).toBe(0);
  });

  it('refuses hostile names before reading anything', () => {
    const dir = makeRepo(INHERITANCE);
    const tree = listTree(dir);
    for (const name of ['../x', 'Bad_Name', '']) {
      const r = runCli(['migrate', '--from-stack', 'plat-ue2-dev', '--name', name], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--name');
    }
    expect(existsSync(path.join(dir, 'x.yaml'))).toBe(false);
    expect(listTree(dir)).toEqual(tree);
  });
});
