/**
 * The short form of a deployment file (src/config/short-form.ts): no `deployment:` wrapper,
 * components as lists of names. It means exactly the long form (the loaded deployment and
 * `describe` are the same), its errors are located in the file as written, and `fmt` /
 * `validate --fix` rewrite it into the long form keeping comments, writing nothing on error.
 */
import { readFileSync, statSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAtmosConfig } from '../../src/config/atmos.js';
import { loadDeploymentFile } from '../../src/config/deployment.js';
import { baseRepo, listTree, makeRepo, runCli } from '../helpers.js';

const SHORT = [
  '# The shop, written short.',
  'name: shop',
  'description: A shop   # shown by list',
  'stacks: [catalog/app]',
  '',
  'components:',
  '  # built from services/web',
  '  nixpack:',
  '    - web',
  '  terraform: [app, db]',
  '',
  'targets:',
  '  dev:',
  '    labels:',
  '      cpu: "512"',
  '  prod:',
  '    promotion: { from: dev }',
  '',
].join('\n');

const LONG = [
  'deployment:',
  '  name: shop',
  '  description: A shop',
  '  stacks: [catalog/app]',
  '  components:',
  '    nixpack:',
  '      web:',
  '        vars:',
  '          source: services/web',
  '          image: { name: web }',
  '    terraform:',
  '      app: {}',
  '      db: {}',
  '  targets:',
  '    dev:',
  '      labels: { cpu: "512" }',
  '    prod:',
  '      promotion: { from: dev }',
  '',
].join('\n');

const SERVICE = { 'services/web/package.json': '{"name":"web","version":"1.0.0","scripts":{"start":"node index.js"}}\n', 'services/web/index.js': 'console.log(1);\n' };

const repoWith = (deployment: string, extra: Record<string, string> = {}) => makeRepo(baseRepo({ 'deployments/shop.yaml': deployment, ...SERVICE, ...extra }));

/** The deployment's body as plain data (positions dropped). */
const bodyOf = (dir: string) => {
  const cfg = loadAtmosConfig({ cwd: dir });
  return JSON.parse(JSON.stringify(loadDeploymentFile(cfg, path.join(dir, 'deployments/shop.yaml')).body));
};

describe('the short form of a deployment file', () => {
  it('means exactly the long form: the same loaded deployment and the same describe', () => {
    const short = repoWith(SHORT);
    const long = repoWith(LONG);
    expect(bodyOf(short)).toEqual(bodyOf(long));
    for (const target of ['dev', 'prod']) {
      const a = runCli(['--chdir', short, 'describe', 'shop', '--target', target, '--format', 'json']);
      const b = runCli(['--chdir', long, 'describe', 'shop', '--target', target, '--format', 'json']);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toBe(b.stdout);
    }
    const d = JSON.parse(runCli(['--chdir', short, 'describe', 'shop', '--target', 'dev', '--format', 'json']).stdout);
    expect(d.components.map((c: { address: string }) => c.address).sort()).toEqual(['nixpack/web', 'terraform/app', 'terraform/db']);
    // A Terraform name is the Atmos component of that name, as the stacks configure it.
    expect(d.components.find((c: { address: string }) => c.address === 'terraform/app').vars).toMatchObject({ replicas: 1, cluster: 'main', region: 'us-east-1' });
    expect(runCli(['--chdir', short, 'validate', 'shop']).code).toBe(0);
  });

  it('takes a nixpack name from components.nixpack.base_path in atmos.yaml', () => {
    const dir = makeRepo(
      baseRepo({
        'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n  nixpack:\n    base_path: apps\nstacks:\n  base_path: stacks\n',
        'deployments/shop.yaml': 'name: shop\ncomponents:\n  nixpack: [web]\ntargets:\n  dev: {}\n',
        'apps/web/index.js': 'console.log(1);\n',
      }),
    );
    expect(bodyOf(dir).components.nixpack.web.vars).toEqual({ source: 'apps/web', image: { name: 'web' } });
  });

  const bad: { name: string; file: string; expect: string; hint: string | RegExp }[] = [
    {
      name: 'a file mixing the forms',
      file: 'deployment:\n  name: shop\n  targets: { dev: {} }\ncomponents:\n  terraform: [app]\n',
      expect: 'deployments/shop.yaml:4:1: error: "components" is beside "deployment:"',
      hint: 'move "components" under deployment:',
    },
    {
      name: 'a list mixing names and configurations',
      file: 'name: shop\ncomponents:\n  terraform:\n    - app\n    - db: { vars: { size: large } }\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:5:7: error: components.terraform[1]: a list of components holds names only, got a mapping',
      hint: 'the two cannot be mixed in one list',
    },
    {
      name: 'a name listed twice',
      file: 'name: shop\ncomponents:\n  terraform:\n    - app\n    - db\n    - app\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:6:7: error: components.terraform: "app" is listed twice (first at line 4)',
      hint: 'list each component once',
    },
    {
      name: 'a nixpack name without its directory',
      file: 'name: shop\ncomponents:\n  nixpack: [web, wbe]\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:3:18: error: nixpack component "wbe": its source directory services/wbe does not exist',
      hint: /components\.nixpack\.base_path/,
    },
    {
      name: 'a list of a module-declared component type',
      file: 'name: shop\ncomponents:\n  zip: [bundle]\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:3:8: error: components.zip is a list: only terraform and nixpack components may be given as a list of names',
      hint: 'write each zip component with its vars',
    },
    {
      name: 'an unknown key at the top of a short-form file',
      file: 'name: shop\ndescripton: typo\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:2:1: error: unknown key "descripton" in deployment',
      hint: 'did you mean "description"?',
    },
    {
      name: 'a missing key of a short-form file',
      file: '# no targets\nname: shop\ncomponents: { terraform: [app] }\n',
      expect: 'deployments/shop.yaml:2:1: error: missing required key "targets" in deployment',
      hint: 'add "targets: ..."',
    },
    {
      name: 'a bad component name in a list, at the name',
      file: 'name: shop\ncomponents:\n  terraform: [app, "x/../y"]\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:3:20: error: component name "x/../y" must not contain ".."',
      hint: 'component names look like',
    },
    {
      name: 'a name that is not the file name',
      file: '\nname: other\ntargets: { dev: {} }\n',
      expect: 'deployments/shop.yaml:2:7: error: deployment name "other" must equal the file name "shop"',
      hint: 'rename the file',
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}: exit 2, located, nothing written`, () => {
      const dir = repoWith(c.file);
      const before = listTree(dir);
      for (const args of [['describe', 'shop', '--target', 'dev'], ['fmt']]) {
        const r = runCli(['--chdir', dir, ...args]);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(c.expect);
        expect(r.stderr).toMatch(typeof c.hint === 'string' ? new RegExp(c.hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : c.hint);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      expect(listTree(dir)).toEqual(before);
      expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe(c.file);
    });
  }
});

describe('fmt and validate --fix', () => {
  it('rewrites the short form into the long form, keeping comments; --check tells CI', () => {
    const dir = repoWith(SHORT);
    const file = path.join(dir, 'deployments/shop.yaml');
    chmodSync(file, 0o640);
    const describeBefore = runCli(['--chdir', dir, 'describe', 'shop', '--target', 'prod', '--format', 'json']).stdout;
    const check = runCli(['--chdir', dir, 'fmt', '--check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('deployments/shop.yaml: short form');
    expect(readFileSync(file, 'utf8')).toBe(SHORT);

    const r = runCli(['--chdir', dir, 'fmt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deployments/shop.yaml: rewritten into the long form');
    expect(readFileSync(file, 'utf8')).toBe(
      [
        '# The shop, written short.',
        'deployment:',
        '  name: shop',
        '  description: A shop # shown by list',
        '  stacks: [ catalog/app ]',
        '',
        '  components:',
        '    # built from services/web',
        '    nixpack:',
        '      web:',
        '        vars:',
        '          source: services/web',
        '          image:',
        '            name: web',
        '    terraform:',
        '      app: {}',
        '      db: {}',
        '',
        '  targets:',
        '    dev:',
        '      labels:',
        '        cpu: "512"',
        '    prod:',
        '      promotion: { from: dev }',
        '',
      ].join('\n'),
    );
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(runCli(['--chdir', dir, 'describe', 'shop', '--target', 'prod', '--format', 'json']).stdout).toBe(describeBefore);
    // Now in the long form: nothing is due, nothing changes.
    const again = runCli(['--chdir', dir, 'fmt', '--check']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('1 deployment file already in the long form');
  });

  it('leaves a long-form file byte for byte', () => {
    const text = '# odd   spacing kept\ndeployment:\n    name:   shop\n    targets: {dev: {}}\n';
    const dir = repoWith(text);
    expect(runCli(['--chdir', dir, 'fmt']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe(text);
  });

  it('expands lists of names inside a long-form file too', () => {
    const dir = repoWith('deployment:\n  name: shop\n  components:\n    terraform: [app]   # the app\n  targets: { dev: {} }\n');
    expect(runCli(['--chdir', dir, 'fmt', 'shop']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe('deployment:\n  name: shop\n  components:\n    terraform:\n      app: {}\n      # the app\n  targets: { dev: {} }\n');
  });

  it('keeps what an alias of a rewritten list meant', () => {
    const dir = repoWith('name: shop\ncomponents:\n  terraform: &names [app]\nstacks: *names\ntargets: { dev: {} }\n', { 'stacks/app.yaml': 'vars: { region: eu-west-1 }\n' });
    const before = runCli(['--chdir', dir, 'describe', 'shop', '--target', 'dev', '--format', 'json']);
    expect(before.code, before.stderr).toBe(0);
    expect(runCli(['--chdir', dir, 'fmt']).code).toBe(0);
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe('deployment:\n  name: shop\n  components:\n    terraform:\n      app: {}\n  stacks: [ app ]\n  targets: { dev: {} }\n');
    expect(runCli(['--chdir', dir, 'describe', 'shop', '--target', 'dev', '--format', 'json']).stdout).toBe(before.stdout);
  });

  it('validate --fix rewrites only when everything is valid', () => {
    const dir = makeRepo(baseRepo({ 'deployments/shop.yaml': SHORT, ...SERVICE, 'deployments/broken.yaml': 'name: broken\ntargets: { Dev: {} }\n' }));
    const r = runCli(['--chdir', dir, 'validate', '--all', '--fix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/broken.yaml:2:12: error: target name "Dev"');
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe(SHORT);
    // fmt validates every file it would touch first: one invalid file, nothing written.
    const f = runCli(['--chdir', dir, 'fmt']);
    expect(f.code).toBe(2);
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toBe(SHORT);

    const ok = runCli(['--chdir', dir, 'validate', 'shop', '--fix']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('deployments/shop.yaml: rewritten into the long form');
    expect(readFileSync(path.join(dir, 'deployments/shop.yaml'), 'utf8')).toMatch(/^# The shop, written short\.\ndeployment:\n {2}name: shop\n/);
  });
});
