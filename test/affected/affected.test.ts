/**
 * `affected --base --head` through the CLI on a real Git repository: one commit per kind of
 * input, each of which must count and say which file; changes that are no input of a
 * deployment must not count.
 */
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRepo, GIT_ENV, git, makeRepo, runCli } from '../helpers.js';

interface Reason {
  input: string;
  file?: string;
  component?: string;
}
interface Result {
  changed: string[];
  deployments: { deployment: string; deleted?: boolean }[];
  targets: { deployment: string; target: string }[];
  components: { deployment: string; target: string; component: string; reasons: Reason[] }[];
}

/** shop (dev, prod: app depends on db) plus a second deployment, `other`, with its own stack and module. */
function repository(): string {
  const files = baseRepo({
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', 'stacks:', '  base_path: stacks', 'templates:', '  settings:', '    enabled: true', ''].join('\n'),
    'stacks/catalog/app.yaml': [
      'import: [catalog/tags]',
      'terraform:',
      '  vars:',
      '    region: us-east-1',
      'components:',
      '  terraform:',
      '    app:',
      '      vars:',
      '        replicas: 1',
      '        cluster: main',
      '    db:',
      '      vars:',
      '        size: small',
      '        settings: !include stacks/data/db.json',
      '',
    ].join('\n'),
    'stacks/catalog/tags.yaml.tmpl': ['terraform:', '  vars:', '    owner: "{{ `team` }}"', ''].join('\n'),
    'stacks/data/db.json': '{"engine": "postgres"}\n',
    'components/terraform/db/main.tf': [
      'variable "region" {}',
      'variable "size" {}',
      'variable "settings" { default = {} }',
      'variable "owner" { default = "" }',
      'output "endpoint" { value = "db.${var.size}" }',
      '',
    ].join('\n'),
    'shared/common.tf': 'locals { common = 1 }\n',
    'stacks/catalog/other.yaml': ['components:', '  terraform:', '    queue:', '      vars: { name: q }', ''].join('\n'),
    'components/terraform/queue/main.tf': 'variable "name" {}\n',
    'vendored/queue/main.tf': 'variable "name" {}\n',
    '.gitignore': '.atmos/\n',
    'deployments/other.yaml': [
      'deployment:',
      '  name: other',
      '  stacks: [catalog/other]',
      '  vendor:',
      '    components:',
      '      - component: queue',
      '        source: ./vendored/queue',
      '  components:',
      '    nixpack:',
      '      worker:',
      '        vars: { source: ./services/worker, start_cmd: node index.js, image: { name: worker } }',
      '    terraform:',
      '      queue: {}',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
    'services/worker/index.js': 'console.log(1);\n',
    'modules/notify/index.ts': 'export default 1;\n',
    'README.md': '# shop\n',
    'docs/notes.md': 'notes\n',
  });
  const dir = makeRepo(files);
  symlinkSync('../../../shared/common.tf', path.join(dir, 'components/terraform/app/common.tf'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

/** Commits a change and returns `affected --base HEAD~1 --format json` for it. */
function change(dir: string, edit: () => void, extra: string[] = []): Result {
  edit();
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'change');
  const r = runCli(['affected', '--base', 'HEAD~1', '--format', 'json', ...extra], { cwd: dir });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Result;
}

const rows = (r: Result) => r.components.map((c) => `${c.deployment}/${c.target}/${c.component}`).sort();
const why = (r: Result, address: string) => r.components.find((c) => `${c.deployment}/${c.target}/${c.component}` === address)?.reasons;
const append = (dir: string, rel: string, text: string) => writeFileSync(path.join(dir, rel), text, { flag: 'a' });

describe('affected', () => {
  it('counts every kind of input, naming the file, and nothing else', () => {
    const dir = repository();
    const shopAll = ['shop/dev/terraform/app', 'shop/dev/terraform/db', 'shop/prod/terraform/app', 'shop/prod/terraform/db'];

    // Unrelated files: nothing.
    let r = change(dir, () => {
      append(dir, 'README.md', 'more\n');
      append(dir, 'docs/notes.md', 'more\n');
    });
    expect(r.changed).toEqual(['README.md', 'docs/notes.md']);
    expect(r.components).toEqual([]);

    // The deployment file: every component of every target of that deployment, not the other's.
    r = change(dir, () => append(dir, 'deployments/shop.yaml', '# a comment is content\n'));
    expect(rows(r)).toEqual(shopAll);
    expect(why(r, 'shop/dev/terraform/db')).toEqual([{ input: 'deployment', file: 'deployments/shop.yaml' }]);

    // A vendor entry in the deployment file is named once.
    r = change(dir, () => append(dir, 'deployments/other.yaml', '# pinned\n'));
    expect(why(r, 'other/dev/terraform/queue')).toEqual([{ input: 'deployment', file: 'deployments/other.yaml' }]);

    // A stack file the targets load.
    r = change(dir, () => append(dir, 'stacks/catalog/app.yaml', '# tuned\n'));
    expect(rows(r)).toEqual(shopAll);
    expect(why(r, 'shop/prod/terraform/app')).toEqual([{ input: 'stack', file: 'stacks/catalog/app.yaml' }]);

    // An imported .tmpl stack file.
    r = change(dir, () => append(dir, 'stacks/catalog/tags.yaml.tmpl', '# imported\n'));
    expect(rows(r)).toEqual(shopAll);
    expect(why(r, 'shop/dev/terraform/app')).toEqual([{ input: 'stack', file: 'stacks/catalog/tags.yaml.tmpl' }]);

    // A file a stack file !includes.
    r = change(dir, () => writeFileSync(path.join(dir, 'stacks/data/db.json'), '{"engine": "mysql"}\n'));
    expect(rows(r)).toEqual(shopAll);
    expect(why(r, 'shop/dev/terraform/db')).toEqual([{ input: 'include', file: 'stacks/data/db.json' }]);

    // Another deployment's stack: only that deployment.
    r = change(dir, () => append(dir, 'stacks/catalog/other.yaml', '# queue\n'));
    expect(rows(r)).toEqual(['other/dev/nixpack/worker', 'other/dev/terraform/queue']);
    expect(r.deployments).toEqual([{ deployment: 'other' }]);
    expect(r.targets).toEqual([{ deployment: 'other', target: 'dev' }]);

    // A module directory: only the components built from it, in every target.
    r = change(dir, () => append(dir, 'components/terraform/db/main.tf', '# db\n'));
    expect(rows(r)).toEqual(['shop/dev/terraform/db', 'shop/prod/terraform/db']);
    expect(why(r, 'shop/prod/terraform/db')).toEqual([{ input: 'module', file: 'components/terraform/db/main.tf' }]);

    // The target of a symlink in a module directory.
    r = change(dir, () => append(dir, 'shared/common.tf', '# shared\n'));
    expect(rows(r)).toEqual(['shop/dev/terraform/app', 'shop/prod/terraform/app']);
    expect(why(r, 'shop/dev/terraform/app')).toEqual([{ input: 'symlink', file: 'shared/common.tf' }]);

    // A vendored module's source (the module directory of the same name is not what runs).
    r = change(dir, () => {
      append(dir, 'vendored/queue/main.tf', '# v2\n');
      append(dir, 'components/terraform/queue/main.tf', '# not used\n');
    });
    expect(rows(r)).toEqual(['other/dev/terraform/queue']);
    expect(why(r, 'other/dev/terraform/queue')).toEqual([{ input: 'vendor', file: 'vendored/queue/main.tf' }]);

    // A nixpack source directory.
    r = change(dir, () => append(dir, 'services/worker/index.js', '// v2\n'));
    expect(rows(r)).toEqual(['other/dev/nixpack/worker']);
    expect(why(r, 'other/dev/nixpack/worker')).toEqual([{ input: 'source', file: 'services/worker/index.js' }]);

    // The repository's own modules: read by every run.
    r = change(dir, () => append(dir, 'modules/notify/index.ts', '// v2\n'));
    expect(rows(r)).toEqual([...shopAll, 'other/dev/nixpack/worker', 'other/dev/terraform/queue'].sort());
    expect(why(r, 'other/dev/terraform/queue')).toEqual([{ input: 'extension', file: 'modules/notify/index.ts' }]);

    // atmos.yaml: everything.
    r = change(dir, () => append(dir, 'atmos.yaml', '# settings\n'));
    expect(rows(r)).toEqual([...shopAll, 'other/dev/nixpack/worker', 'other/dev/terraform/queue'].sort());
    expect(why(r, 'shop/dev/terraform/app')).toEqual([{ input: 'atmos.yaml', file: 'atmos.yaml' }]);
  });

  it('adds dependents with --include-dependents, filters by deployment and target, prints a matrix', () => {
    const dir = repository();
    let r = change(dir, () => append(dir, 'components/terraform/db/main.tf', '# db\n'), ['--include-dependents']);
    expect(rows(r)).toEqual(['shop/dev/terraform/app', 'shop/dev/terraform/db', 'shop/prod/terraform/app', 'shop/prod/terraform/db']);
    expect(why(r, 'shop/dev/terraform/app')).toEqual([{ input: 'dependency', component: 'terraform/db' }]);

    r = JSON.parse(runCli(['affected', 'shop', '--target', 'prod', '--base', 'HEAD~1', '--format', 'json'], { cwd: dir }).stdout) as Result;
    expect(rows(r)).toEqual(['shop/prod/terraform/db']);

    const m = runCli(['affected', '--base', 'HEAD~1', '--format', 'matrix'], { cwd: dir });
    expect(m.code).toBe(0);
    expect(JSON.parse(m.stdout)).toEqual({
      include: [
        { deployment: 'shop', target: 'dev', component: 'terraform/db', wave: 0, depends_on: [] },
        { deployment: 'shop', target: 'prod', component: 'terraform/db', wave: 0, depends_on: [] },
      ],
    });

    const t = runCli(['affected', '--base', 'HEAD~1'], { cwd: dir });
    expect(t.stdout).toMatch(/shop\s+dev\s+terraform\/db\s+module: components\/terraform\/db\/main\.tf/);
  });

  it('reads the head commit, not the working tree, and reports a deleted deployment', () => {
    const dir = repository();
    git(dir, 'tag', 'v1');
    unlinkSync(path.join(dir, 'deployments/other.yaml'));
    append(dir, 'components/terraform/queue/main.tf', '# gone\n');
    append(dir, 'services/worker/index.js', '// gone\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'drop other');
    git(dir, 'tag', 'v2');
    git(dir, 'checkout', '-q', 'v1');
    // The working tree is v1 (other still exists) and holds an uncommitted module; head v2 is read from Git.
    mkdirSync(path.join(dir, 'components/terraform/extra'));
    writeFileSync(path.join(dir, 'components/terraform/extra/main.tf'), '');
    const r = runCli(['affected', '--base', 'v1', '--head', 'v2', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Result;
    expect(out.components).toEqual([]);
    expect(out.deployments).toEqual([{ deployment: 'other', deleted: true }]);
    expect(git(dir, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('finds the base in CI or from the current release, else says how to give one', () => {
    const dir = repository();
    const first = git(dir, 'rev-parse', 'HEAD');
    append(dir, 'components/terraform/db/main.tf', '# db\n');
    git(dir, 'commit', '-qam', 'db');
    const gitlab = runCli(['affected', '--format', 'json'], { cwd: dir, env: { CI_MERGE_REQUEST_DIFF_BASE_SHA: first, GITHUB_BASE_REF: '' } });
    expect(gitlab.code).toBe(0);
    expect(rows(JSON.parse(gitlab.stdout) as Result)).toEqual(['shop/dev/terraform/db', 'shop/prod/terraform/db']);

    git(dir, 'branch', 'base', first);
    const github = runCli(['affected', '--format', 'json'], { cwd: dir, env: { GITHUB_BASE_REF: 'base', CI_MERGE_REQUEST_DIFF_BASE_SHA: '' } });
    expect(github.code).toBe(0);
    expect((JSON.parse(github.stdout) as { base: { sha: string } }).base.sha).toBe(first);

    const none = runCli(['affected'], { cwd: dir, env: { GITHUB_BASE_REF: '', CI_MERGE_REQUEST_DIFF_BASE_SHA: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no --base given/);
    expect(none.stderr).toMatch(/--base origin\/main/);

    const bad = runCli(['affected', '--base', 'no-such-ref'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"no-such-ref" is not a commit/);

    const name = runCli(['affected', 'Bad_Name', '--base', 'HEAD'], { cwd: dir });
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/invalid deployment name "Bad_Name"/);
  });

  it("compares with the target's current release when no base is given", () => {
    const dir = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
      'stacks/base.yaml': 'components:\n  terraform:\n    svc:\n      vars: {}\n',
      'components/terraform/svc/main.tf': 'resource "terraform_data" "svc" {\n  input = "v1"\n}\n',
      'deployments/shop.yaml': ['deployment:', '  name: shop', '  stacks: [base]', '  components:', '    terraform:', '      svc: {}', '  targets:', '    dev: {}', '    prod: {}', ''].join('\n'),
      '.gitignore': '.atmos/\n',
    });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'initial');
    const released = git(dir, 'rev-parse', 'HEAD');
    const ci = { GITHUB_BASE_REF: '', CI_MERGE_REQUEST_DIFF_BASE_SHA: '', ...GIT_ENV };
    expect(runCli(['rollout', 'shop', '--target', 'dev'], { cwd: dir, env: ci }).code).toBe(0);
    append(dir, 'components/terraform/svc/main.tf', '# v2\n');
    git(dir, 'commit', '-qam', 'v2');
    const r = runCli(['affected', 'shop', '--target', 'dev', '--format', 'json'], { cwd: dir, env: ci });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Result & { base: { ref: string; sha: string } };
    expect(out.base.sha).toBe(released);
    expect(out.base.ref).toMatch(/^release r-[0-9a-f]+ on dev$/);
    expect(rows(out)).toEqual(['shop/dev/terraform/svc']);
    // prod has no release: nothing to compare with.
    const none = runCli(['affected', 'shop', '--target', 'prod'], { cwd: dir, env: ci });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/shop\/prod has no current release/);
  });
});
