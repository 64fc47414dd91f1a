/**
 * Bad input, through the real CLI: every case exits 2, prints a located error
 * (file:line:col, what was expected, a hint), no stack trace, and writes nothing.
 */
import { describe, expect, it } from 'vitest';
import { baseRepo, listTree, makeRepo, runCli } from '../helpers.js';

interface Case {
  name: string;
  files: Record<string, string>;
  args?: string[];
  /** `file:line:col: error: message` prefix expected on stderr. */
  expect: string;
  hint?: string | RegExp;
}

const dep = (lines: string[]) => ({ 'deployments/shop.yaml': `${lines.join('\n')}\n` });

const cases: Case[] = [
  {
    name: 'empty deployment file',
    files: { 'deployments/shop.yaml': '' },
    expect: 'deployments/shop.yaml:1:1: error: the deployment file is empty',
    hint: /deployment:\n\s+name: shop/,
  },
  {
    name: 'YAML syntax error',
    files: dep(['deployment:', '  name: shop', '  targets: [dev', '']),
    expect: 'deployments/shop.yaml:',
    hint: 'fix the YAML syntax',
  },
  {
    name: 'duplicate key',
    files: dep(['deployment:', '  name: shop', '  targets:', '    dev: {}', '  targets:', '    prod: {}']),
    expect: 'deployments/shop.yaml:5:3: error: duplicate key in mapping',
    hint: 'each key may appear once',
  },
  {
    name: 'unknown top-level key with did-you-mean',
    files: dep(['deployment:', '  name: shop', '  descripton: typo', '  targets:', '    dev: {}']),
    expect: 'deployments/shop.yaml:3:3: error: unknown key "descripton" in deployment',
    hint: 'did you mean "description"?',
  },
  {
    name: 'unknown key in a target',
    files: dep(['deployment:', '  name: shop', '  targets:', '    dev:', '      promotoin: { from: x }']),
    expect: 'deployments/shop.yaml:5:7: error: unknown key "promotoin" in deployment.targets.dev',
    hint: 'did you mean "promotion"?',
  },
  {
    name: 'wrong type: targets is a list',
    files: dep(['deployment:', '  name: shop', '  targets: [dev, prod]']),
    expect: 'deployments/shop.yaml:3:12: error: deployment.targets must be a mapping, got a list',
  },
  {
    name: 'missing required key reports the enclosing mapping',
    files: dep(['# no targets', 'deployment:', '  name: shop']),
    expect: 'deployments/shop.yaml:3:3: error: missing required key "targets" in deployment',
    hint: 'add "targets: ..."',
  },
  {
    name: 'name does not equal the file name',
    files: dep(['deployment:', '  name: store', '  targets:', '    dev: {}']),
    expect: 'deployments/shop.yaml:2:9: error: deployment name "store" must equal the file name "shop"',
    hint: 'rename the file to store.yaml',
  },
  {
    name: 'name is not kebab-case',
    files: { 'deployments/Shop_1.yaml': 'deployment:\n  name: Shop_1\n  targets:\n    dev: {}\n' },
    args: ['validate', '--all'],
    expect: 'deployments/Shop_1.yaml:2:9: error: deployment name "Shop_1" must be kebab-case',
  },
  {
    name: 'target name is not valid',
    files: dep(['deployment:', '  name: shop', '  targets:', '    Prod: {}']),
    expect: 'deployments/shop.yaml:4:5: error: target name "Prod" must be kebab-case',
  },
  {
    name: 'component name that cannot be a Git ref',
    files: dep(['deployment:', '  name: shop', '  components:', '    terraform:', '      app.lock: {}', '  targets:', '    dev: {}']),
    expect: 'deployments/shop.yaml:5:7: error: component name "app.lock" must not end in ".lock"',
  },
  {
    name: 'promotion from and allowed_from together',
    files: dep(['deployment:', '  name: shop', '  targets:', '    dev: {}', '    qa: {}', '    prod:', '      promotion: { from: dev, allowed_from: [qa] }']),
    expect: 'deployments/shop.yaml:7:31: error: targets.prod.promotion: "from" and "allowed_from" are mutually exclusive',
  },
  {
    name: 'promotion from an unknown target',
    files: dep(['deployment:', '  name: shop', '  targets:', '    dev: {}', '    prod:', '      promotion:', '        from: deb']),
    expect: 'deployments/shop.yaml:7:15: error: targets.prod.promotion: unknown source target "deb"',
    hint: 'did you mean "dev"?',
  },
  {
    name: 'promotion cycle',
    files: dep(['deployment:', '  name: shop', '  targets:', '    dev:', '      promotion: { from: prod }', '    prod:', '      promotion: { from: dev }']),
    expect: 'deployments/shop.yaml:5:26: error: promotion paths form a cycle: dev ← prod ← dev',
  },
  {
    name: 'default_target that is not a target',
    files: dep(['deployment:', '  name: shop', '  context: { default_target: stage }', '  targets:', '    dev: {}', '    staging: {}']),
    expect: 'deployments/shop.yaml:3:30: error: context.default_target "stage" is not a target',
    hint: 'did you mean "staging"?',
  },
  {
    name: 'wrong enum value',
    files: dep(['deployment:', '  name: shop', '  context: { promote_by: sha }', '  targets:', '    dev: {}']),
    expect: 'deployments/shop.yaml:3:26: error: deployment.context.promote_by must be one of digest, tag, got "sha"',
  },
  {
    name: 'unknown template reference',
    files: baseRepo(
      dep([
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components:',
        '    terraform:',
        '      app:',
        '        vars:',
        '          cluster: "c-{{ git.shaa }}"',
        '  targets:',
        '    dev: {}',
      ]),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:8:20: error: unknown template reference {{ git.shaa }}',
    hint: 'did you mean {{ git.sha }}?',
  },
  {
    name: 'template naming an unknown terraform component',
    files: baseRepo(
      dep([
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components:',
        '    terraform:',
        '      db: {}',
        '      app:',
        '        vars:',
        '          db_endpoint: "{{ terraform.dbs.outputs.endpoint }}"',
        '  targets:',
        '    dev: {}',
      ]),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:9:24: error: unknown terraform component "dbs" in template {{ terraform.dbs.outputs.endpoint }}',
    hint: 'did you mean "terraform.db.outputs.endpoint"?',
  },
  {
    name: 'template reading a context key the target lacks',
    files: baseRepo(
      dep([
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components:',
        '    terraform:',
        '      app:',
        '        vars:',
        '          cluster: "{{ target.context.clusterr }}"',
        '  targets:',
        '    dev:',
        '      context: { cluster: x }',
      ]),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:8:20: error: {{ target.context.clusterr }}: target "dev" has no context key "clusterr"',
    hint: 'available keys: cluster',
  },
  {
    name: 'unknown depends_on',
    files: baseRepo(
      dep([
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components:',
        '    terraform:',
        '      db: {}',
        '      app:',
        '        metadata:',
        '          depends_on: [dbb]',
        '  targets:',
        '    dev: {}',
      ]),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:9:24: error: depends_on "dbb" is not a component of this deployment',
    hint: 'did you mean "db"?',
  },
  {
    name: 'dependency cycle printed as a chain at the first edge',
    files: baseRepo(
      dep([
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components:',
        '    terraform:',
        '      app:',
        '        metadata: { depends_on: [terraform/db] }',
        '      db:',
        '        vars:',
        '          size: "{{ terraform.app.outputs.url }}"',
        '  targets:',
        '    dev: {}',
      ]),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:7:34: error: dependency cycle: terraform/app → terraform/db → terraform/app',
  },
  {
    name: 'module directory that does not exist',
    files: baseRepo(
      dep(['deployment:', '  name: shop', '  stacks: [catalog/app]', '  components:', '    terraform:', '      app:', '        metadata: { component: ecs-service }', '  targets:', '    dev: {}']),
    ),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:7:32: error: terraform component "app": module directory components/terraform/ecs-service/ does not exist',
    hint: 'metadata.component',
  },
  {
    name: 'listed stack file that does not exist',
    files: baseRepo(dep(['deployment:', '  name: shop', '  stacks:', '    - catalog/app', '    - catalog/missing', '  targets:', '    dev: {}'])),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:5:7: error:',
    hint: /skip_if_missing/,
  },
  {
    name: 'nixpack component without its required vars',
    files: dep(['deployment:', '  name: shop', '  components:', '    nixpack:', '      api:', '        vars:', '          source: ./services/api', '  targets:', '    dev: {}']),
    expect: 'deployments/shop.yaml:7:11: error: missing required key "image" in deployment.components.nixpack.api.vars',
  },
  {
    name: 'alias bomb',
    files: dep([
      'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'deployment:',
      '  name: shop',
      '  targets: { dev: {} }',
    ]),
    expect: 'error: more than 10000 alias expansions',
    hint: 'alias bomb',
  },
  {
    name: 'nesting deeper than 200 levels',
    files: { 'deployments/shop.yaml': `deployment:\n  name: shop\n  labels: ${'['.repeat(300)}${']'.repeat(300)}\n  targets: { dev: {} }\n` },
    expect: 'error: nesting deeper than 200 levels',
  },
  {
    name: 'unknown --target lists the valid targets',
    files: baseRepo(),
    args: ['describe', 'shop', '--target', 'stagin'],
    expect: 'error: --target stagin: deployment "shop" has no target "stagin"',
    hint: 'valid values: dev, prod',
  },
  {
    name: 'unknown deployment lists the valid ones',
    files: baseRepo(),
    args: ['describe', 'shpo', '--target', 'dev'],
    expect: 'error: unknown deployment "shpo"',
    hint: 'did you mean "shop"?',
  },
  {
    name: 'abstract component cannot be deployed',
    files: baseRepo({
      'stacks/catalog/app.yaml': 'components:\n  terraform:\n    app:\n      metadata: { type: abstract }\n',
      ...dep(['deployment:', '  name: shop', '  stacks: [catalog/app]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}']),
    }),
    args: ['describe', 'shop', '--target', 'dev'],
    expect: 'deployments/shop.yaml:6:7: error: terraform component "app" is abstract in the stacks and cannot be deployed',
  },
];

describe('bad input is a located error, exit 2, nothing written', () => {
  for (const c of cases) {
    it(c.name, () => {
      const repo = makeRepo(c.files);
      const before = listTree(repo);
      const r = runCli(['--chdir', repo, ...(c.args ?? ['validate', 'shop'])]);
      expect(r.code, r.stderr + r.stdout).toBe(2);
      expect(r.stderr).toContain(c.expect);
      if (c.hint instanceof RegExp) expect(r.stderr).toMatch(c.hint);
      else if (c.hint) expect(r.stderr).toContain(c.hint);
      expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
      expect(r.stderr).not.toContain('internal error');
      expect(listTree(repo)).toEqual(before);
    });
  }

  it('has at least 20 distinct bad inputs', () => {
    expect(new Set(cases.map((c) => c.expect)).size).toBeGreaterThanOrEqual(20);
  });

  it('rejects a bad deployment name on the command line before reading any file', () => {
    // The repository's only deployment file is broken YAML; the name check comes first.
    const repo = makeRepo({ 'deployments/shop.yaml': 'deployment: [' });
    const r = runCli(['--chdir', repo, 'describe', '../etc', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid deployment name "../etc"');
    expect(r.stderr).not.toContain('shop.yaml');
  });

  // The hint names the commands that write one (`init`, `migrate`) and shows a minimal deployment file.
  it('with no deployment file, the hint names init and migrate and shows how to write one', () => {
    const repo = makeRepo({ 'atmos.yaml': 'stacks:\n  base_path: stacks\n' });
    const r = runCli(['--chdir', repo, 'describe', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no deployment files found in deployments/');
    expect(r.stderr).toMatch(/create deployments\/<name>\.yaml, for example deployments\/shop\.yaml:\n\s*deployment:\n\s+name: shop\n\s+targets:\n\s+dev: \{\}/);
    expect(r.stderr).toContain('run `atmos-pipe init` (or `atmos-pipe migrate --from-stack <stack> --name <n>` from an Atmos stack)');
  });

  it('rejects an unknown option as a usage error with exit 2', () => {
    const repo = makeRepo(baseRepo());
    const r = runCli(['--chdir', repo, 'describe', 'shop', '--targte', 'dev']);
    expect(r.code).toBe(2);
    // One line with the closest option, not every command's usage.
    expect(r.stderr).toBe("atmos-pipe describe: unknown option '--targte'; did you mean '--target'? (see 'atmos-pipe describe --help')\n");
  });
});
