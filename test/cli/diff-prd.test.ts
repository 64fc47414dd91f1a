/**
 * The PRD's `diff` flags through the CLI on a real Git repository with real rollouts
 * (terraform_data, local backend): `--from-sha/--to-sha` (the deployment's resolved
 * configuration at two commits), `--component` (restrict) and `--show-files` (every file
 * that changed, not only the configuration).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers.js';
import { cli, commitAll, git } from '../security/fixture.js';

const TF = 'variable "greeting" {\n  type = string\n}\n\nresource "terraform_data" "this" {\n  input = var.greeting\n}\n';
const stack = (greeting: string) => `components:\n  terraform:\n    svc:\n      vars:\n        greeting: ${greeting}\n    other:\n      vars:\n        greeting: same\n`;

let dir: string;
let first: string;
let second: string;
beforeAll(() => {
  dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
    'stacks/base.yaml': stack('hello'),
    'components/terraform/svc/main.tf': TF,
    'components/terraform/other/main.tf': TF,
    'deployments/shop.yaml':
      'deployment:\n  name: shop\n  stacks: [base]\n  components:\n    terraform:\n      svc: {}\n      other: {}\n  targets:\n    dev: {}\n    qa:\n      context: { tier: small }\n',
    'README.md': 'shop\n',
    '.gitignore': '.atmos/\n',
  });
  git(dir, 'init', '-q', '-b', 'main');
  commitAll(dir, 'initial');
  first = git(dir, 'rev-parse', 'HEAD');
  expect(cli(dir, ['rollout', 'shop', '--target', 'qa']).code).toBe(0);
  writeFileSync(path.join(dir, 'stacks/base.yaml'), stack('bonjour'));
  writeFileSync(path.join(dir, 'README.md'), 'shop, in French\n');
  commitAll(dir, 'say bonjour');
  second = git(dir, 'rev-parse', 'HEAD');
  expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
}, 120_000);

interface CommitDiff {
  from_sha: string;
  to_sha: string;
  commits_ahead: number;
  commits: { subject: string }[];
  configuration_changes: { status: string; path: string }[];
  files: { status: string; path: string }[] | null;
  targets: { target: string; error: string | null; components: { component: string; change: string; values: { path: string; from: unknown; to: unknown }[] }[] }[];
}

describe('diff --from-sha --to-sha', () => {
  it("compares the deployment's resolved configuration at two commits, value by value", () => {
    const r = cli(dir, ['diff', 'shop', '--from-sha', first.slice(0, 10), '--to-sha', second, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as CommitDiff;
    expect(d).toMatchObject({ from_sha: first, to_sha: second, commits_ahead: 1, files: null });
    expect(d.commits.map((c) => c.subject)).toEqual(['say bonjour']);
    expect(d.configuration_changes).toEqual([{ status: 'M', path: 'stacks/base.yaml', old_path: null }]);
    expect(d.targets.map((t) => t.target)).toEqual(['dev', 'qa']);
    for (const t of d.targets) {
      expect(t.error).toBeNull();
      expect(t.components).toEqual([
        { component: 'terraform/other', change: 'unchanged', values: [] },
        { component: 'terraform/svc', change: 'changed', values: [{ path: 'vars.greeting', from: 'hello', to: 'bonjour' }] },
      ]);
    }
    const table = cli(dir, ['diff', 'shop', '--from-sha', first, '--to-sha', second, '--target', 'qa']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('qa:\n  terraform/svc  changed\n    vars.greeting: "hello" → "bonjour"\n');
    expect(table.stdout).not.toContain('dev:');
    // --to-sha defaults to HEAD; the reverse direction swaps the values.
    const back = JSON.parse(cli(dir, ['diff', 'shop', '--from-sha', second, '--to-sha', first, '--component', 'svc', '--format', 'json']).stdout) as CommitDiff;
    expect(back.targets[0].components).toEqual([{ component: 'terraform/svc', change: 'changed', values: [{ path: 'vars.greeting', from: 'bonjour', to: 'hello' }] }]);
    expect(JSON.parse(cli(dir, ['diff', 'shop', '--from-sha', first, '--format', 'json']).stdout).to_sha).toBe(second);
    // No temporary worktree is left behind.
    expect(git(dir, 'worktree', 'list').split('\n')).toHaveLength(1);
  });

  it('--show-files lists every changed file; unknown commits and mixed modes are usage errors', () => {
    const d = JSON.parse(cli(dir, ['diff', 'shop', '--from-sha', first, '--to-sha', second, '--show-files', '--format', 'json']).stdout) as CommitDiff;
    // The release record the first rollout wrote was committed with the second commit.
    expect(d.files?.map((f) => f.path)).toEqual(['README.md', expect.stringMatching(/^releases\/shop\/qa\/release-r-[0-9a-f]+\.yaml$/), 'stacks/base.yaml']);
    const missing = cli(dir, ['diff', 'shop', '--from-sha', 'deadbeef']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--from-sha deadbeef: no such commit in this repository');
    expect(cli(dir, ['diff', 'shop', '--from-sha', '--output=x']).code).toBe(2);
    expect(cli(dir, ['diff', 'shop', '--to-sha', second]).stderr).toContain('--to-sha needs --from-sha');
    const mixed = cli(dir, ['diff', 'shop', '--from-sha', first, '--to-target', 'qa']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--to-target compares targets; --from-sha compares commits');
    expect(cli(dir, ['diff', 'shop']).stderr).toContain('--to-target is required (or compare two commits with --from-sha)');
  });
});

describe('diff --from-target --to-target with --component and --show-files', () => {
  it('restricts the components and lists every changed file between the two deployed commits', () => {
    const all = JSON.parse(cli(dir, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--format', 'json']).stdout) as {
      components: { component: string }[];
      files: unknown;
      configuration_changes: { path: string }[];
    };
    expect(all.components.map((c) => c.component)).toEqual(['other', 'svc']);
    expect(all.files).toBeNull();
    expect(all.configuration_changes.map((f) => f.path)).toEqual(['stacks/base.yaml']);
    const r = cli(dir, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--component', 'terraform/svc', '--show-files']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/svc +r-\S+ [0-9a-f]{12} +r-\S+ [0-9a-f]{12} +yes/);
    expect(r.stdout).not.toMatch(/^other /m);
    expect(r.stdout).toMatch(/files changed \(3\):\n {2}M {2}README\.md\n {2}A {2}releases\/shop\/qa\/release-r-[0-9a-f]+\.yaml\n {2}M {2}stacks\/base\.yaml/);
    const bad = cli(dir, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--component', 'svx']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--component svx: no such component in shop');
    expect(bad.stderr).toContain('did you mean "terraform/svc"?');
  });
});

describe('diff --show-code', () => {
  it("shows each component's code changes between the two deployed commits, with the patch", () => {
    const d = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
      'stacks/base.yaml': stack('hello'),
      'components/terraform/svc/main.tf': TF,
      'components/terraform/other/main.tf': TF,
      'deployments/shop.yaml': 'deployment:\n  name: shop\n  stacks: [base]\n  components:\n    terraform:\n      svc: {}\n      other: {}\n  targets:\n    dev: {}\n    qa: {}\n',
      '.gitignore': '.atmos/\n',
    });
    git(d, 'init', '-q', '-b', 'main');
    commitAll(d, 'initial');
    expect(cli(d, ['rollout', 'shop', '--target', 'qa']).code).toBe(0);
    writeFileSync(path.join(d, 'components/terraform/svc/main.tf'), `${TF}\noutput "greeting" {\n  value = var.greeting\n}\n`);
    commitAll(d, 'svc: output the greeting');
    expect(cli(d, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);

    const j = JSON.parse(cli(d, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--show-code', '--format', 'json']).stdout) as {
      code: { component: string; paths: string[]; files: { path: string; added: number; deleted: number }[]; patch: string; truncated: boolean }[];
    };
    // Only svc's module changed: other is left out.
    expect(j.code.map((c) => c.component)).toEqual(['svc']);
    expect(j.code[0].paths).toEqual(['components/terraform/svc']);
    expect(j.code[0].files).toEqual([{ path: 'components/terraform/svc/main.tf', added: 4, deleted: 0 }]);
    expect(j.code[0].patch).toContain('+output "greeting" {');
    expect(j.code[0].truncated).toBe(false);

    const r = cli(d, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--show-code']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('shop: dev vs qa (code changes)');
    expect(r.stdout).toMatch(/components\/terraform\/svc\/main\.tf {2}\+4 -0/);
    expect(r.stdout).toContain('    +  value = var.greeting');
    // --component keeps only the named ones: other's code did not change.
    const o = JSON.parse(cli(d, ['diff', 'shop', '--from-target', 'dev', '--to-target', 'qa', '--show-code', '--component', 'other', '--format', 'json']).stdout) as { code: unknown[] };
    expect(o.code).toEqual([]);
  }, 120_000);
});
