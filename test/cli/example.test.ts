/**
 * The read-only commands on the bundled example, through the real CLI on a temp copy; and
 * its custom steps as modules (SPEC 8): the smoke-test hook of payment-webhooks passes and
 * fails a rollout, the repository's own pipeline runs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleGitRepo, GIT_ENV, ROOT, runCli } from '../helpers.js';

let repo: string;
beforeAll(() => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-example-'));
  repo = path.join(dir, 'payment-service');
  cpSync(path.join(ROOT, 'examples/payment-service'), repo, { recursive: true, filter: (src) => !src.includes(`${path.sep}.atmos`) && !src.includes('node_modules') });
});
afterAll(() => rmSync(path.dirname(repo), { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['--chdir', repo, ...args]);

/** A run's whole output: progress and the summary table go to different streams. */
const rolledOut = (dir: string, ...args: string[]) => {
  const r = runCli(['--chdir', dir, ...args], { env: { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' } });
  return { code: r.code, out: r.stdout + r.stderr };
};

describe('the bundled example', () => {
  it('validates every deployment', () => {
    const r = cli('validate', '--all');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ payment-service: 3 targets \(dev, staging, prod\), 3 components, \d+ stack files/);
    expect(r.stdout).toMatch(/✓ platform-network:/);
    expect(r.stdout).toMatch(/✓ payment-webhooks: 2 targets \(dev, staging\), 2 components, \d+ stack files/);
    expect(r.stdout).toMatch(/3 deployments checked: 0 errors/);
  });

  it('describes a target in the exact JSON shape', () => {
    const r = cli('describe', 'payment-service', '--target', 'dev', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(Object.keys(d)).toEqual(['deployment', 'target', 'stacks', 'components']);
    expect(d.deployment).toBe('payment-service');
    expect(d.target).toBe('dev');
    expect(d.stacks.length).toBeGreaterThan(3);
    expect(d.stacks.every((s: string) => s.startsWith('stacks/'))).toBe(true);
    const byAddr = Object.fromEntries(d.components.map((c: { address: string }) => [c.address, c]));
    expect(Object.keys(byAddr).sort()).toEqual(['nixpack/api', 'terraform/ecr/api', 'terraform/ecs/service-api']);
    const svc = byAddr['terraform/ecs/service-api'];
    expect(svc.component).toBe('ecs-service');
    expect(svc.vars.image).toBe('payment-api@sha256:<unbuilt>');
    expect(svc.vars.replicas).toBe(1);
    expect(svc.depends_on).toEqual(['nixpack/api', 'terraform/ecr/api']);
    expect(svc.wave).toBe(1);
    expect(byAddr['nixpack/api'].component).toBeNull();
  });

  it('resolves another target with its own context and stacks', () => {
    const r = cli('describe', 'payment-service', '--target', 'prod', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.stacks).toContain('stacks/orgs/acme/prod.yaml');
    const svc = d.components.find((c: { address: string }) => c.address === 'terraform/ecs/service-api');
    expect(svc.vars.replicas).toBe(4);
    expect(svc.vars.cpu).toBe(2048);
  });

  it('shows provenance in the table view', () => {
    const r = cli('describe', 'payment-service', '--target', 'dev', '--provenance');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/replicas: 1 +# deployments\/payment-service\.yaml:\d+:\d+/);
    expect(r.stdout).toMatch(/# stacks\/[^:]+\.yaml:\d+:\d+/);
  });

  it('prints the graph in every format', () => {
    const ascii = cli('graph', 'payment-service', '--target', 'dev');
    expect(ascii.code).toBe(0);
    expect(ascii.stdout).toContain('wave 0');
    expect(ascii.stdout).toMatch(/terraform\/ecs\/service-api +← nixpack\/api, terraform\/ecr\/api/);
    const dot = cli('graph', 'payment-service', '--target', 'dev', '--format', 'dot');
    expect(dot.stdout).toMatch(/^digraph /);
    expect(dot.stdout).toContain('"terraform/ecr/api" -> "terraform/ecs/service-api"');
    const mermaid = cli('graph', 'payment-service', '--target', 'dev', '--format', 'mermaid');
    expect(mermaid.stdout).toMatch(/^graph LR/);
    const json = JSON.parse(cli('graph', 'payment-service', '--target', 'dev', '--format', 'json').stdout);
    expect(json.waves).toEqual([['nixpack/api', 'terraform/ecr/api'], ['terraform/ecs/service-api']]);
  });

  it('prints a CI matrix, and one per wave', () => {
    const m = JSON.parse(cli('matrix', 'payment-service', '--target', 'dev').stdout);
    expect(m.include).toContainEqual({ component: 'terraform/ecs/service-api', wave: 1, depends_on: ['nixpack/api', 'terraform/ecr/api'] });
    const w = JSON.parse(cli('matrix', 'payment-service', '--target', 'dev', '--waves').stdout);
    expect(w.waves.map((x: { include: unknown[] }) => x.include.length)).toEqual([2, 1]);
  });

  it('prints the promotion graph', () => {
    const r = cli('promotion-graph', 'payment-service');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dev → staging → prod [approval]');
    const j = JSON.parse(cli('promotion-graph', 'payment-service', '--format', 'json').stdout);
    expect(j.targets.find((t: { name: string }) => t.name === 'dev').entry_point).toBe(true);
  });

  it('lists deployments, filtered by label', () => {
    const all = JSON.parse(cli('list', '--format', 'json').stdout);
    expect(all.deployments.map((d: { name: string }) => d.name)).toEqual(['payment-service', 'payment-webhooks', 'platform-network']);
    const some = JSON.parse(cli('list', '--label', 'team=payments', '--format', 'json').stdout);
    expect(some.deployments.map((d: { name: string }) => d.name)).toEqual(['payment-service']);
    expect(cli('list').stdout).toMatch(/DEPLOYMENT +TARGETS/);
  });

  it('accepts global options before or after the command, and --format yaml', () => {
    const r = runCli(['describe', '--chdir', repo, 'payment-service', '-t', 'staging', '--format', 'yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^deployment: payment-service\ntarget: staging\n/);
  });

  it('has --help with examples on every command, and --version', () => {
    for (const c of ['list', 'describe', 'validate', 'graph', 'matrix', 'promotion-graph']) {
      const r = runCli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain('Examples');
    }
    expect(runCli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('the bundled example: custom steps as modules', () => {
  it("lists the repository's own modules and pipeline", () => {
    const r = cli('modules', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const listing = JSON.parse(r.stdout) as { modules: { uses: string; origin: { kind: string; file?: string } }[]; pipelines: { name: string; origin: { kind: string } }[] };
    const own = listing.modules.filter((m) => m.origin.kind === 'repository').map((m) => [m.uses, m.origin.file]);
    expect(own).toEqual([
      ['require-vars', 'modules/require-vars/index.ts'],
      ['smoke-test', 'modules/smoke-test/index.ts'],
    ]);
    expect(listing.pipelines.find((p) => p.name === 'verify')?.origin.kind).toBe('repository');
  });

  it('lists the component types modules provide and the hook stages of each type, in JSON and the table', () => {
    const r = cli('modules', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const listing = JSON.parse(r.stdout) as {
      modules: { uses: string; hooks: string[]; componentType?: { name: string; vars: { key: string; optional: boolean }[]; outputs: Record<string, string> } }[];
      componentTypes: { name: string; module?: string; hookStages: string[] }[];
    };
    const byUses = new Map(listing.modules.map((m) => [m.uses, m]));
    expect(byUses.get('smoke-test')?.hooks).toEqual([
      'before_plan',
      'after_plan',
      'before_apply',
      'after_apply',
      'before_build',
      'after_build',
      'before_test',
      'after_test',
      'before_artifact',
      'after_artifact',
    ]);
    expect(byUses.get('terraform.apply')?.hooks).toEqual([]);
    const zip = byUses.get('zip');
    expect(zip?.hooks).toEqual([]);
    expect(zip?.componentType?.name).toBe('zip');
    expect(zip?.componentType?.vars.map((v) => v.key)).toContain('source');
    expect(Object.keys(zip?.componentType?.outputs ?? {})).toEqual(expect.arrayContaining(['path', 'base64sha256', 'digest']));
    expect(listing.componentTypes).toEqual([
      { name: 'terraform', hookStages: ['plan', 'apply'] },
      { name: 'nixpack', hookStages: ['build', 'test'] },
      { name: 'zip', module: 'zip', hookStages: ['artifact'] },
    ]);
    const table = cli('modules');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/smoke-test +repository modules\/smoke-test\/index\.ts .*step hooks/);
    expect(table.stdout).toMatch(/zip +built-in +component type zip/);
    expect(table.stdout).toMatch(/COMPONENT TYPE +MODULE +VARS +OUTPUTS +HOOK STAGES/);
    expect(table.stdout).toMatch(/terraform +built-in +plan, apply/);
    expect(table.stdout).toMatch(/zip +zip +source: string.* +digest, base64sha256, .*path +artifact/);
  });

  it("describes a component's step hooks as written, in JSON and the table", () => {
    const r = cli('describe', 'payment-webhooks', '--target', 'dev', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const byAddr = Object.fromEntries((JSON.parse(r.stdout).components as { address: string; hooks?: unknown }[]).map((c) => [c.address, c]));
    expect(byAddr['terraform/lambda/webhook'].hooks).toEqual([
      {
        key: 'after_apply',
        uses: 'smoke-test',
        level: 'component',
        with: { check: 'the function runs the built archive', expect: '{{ zip.webhook.base64sha256 }}', actual: '{{ self.outputs.source_code_hash }}' },
      },
    ]);
    expect(byAddr['zip/webhook']).not.toHaveProperty('hooks');
    const table = cli('describe', 'payment-webhooks', '--target', 'dev');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(
      '  steps:\n    after_apply: smoke-test  with {"check":"the function runs the built archive","expect":"{{ zip.webhook.base64sha256 }}","actual":"{{ self.outputs.source_code_hash }}"}  # its own\n',
    );
  });

  it('rolls out payment-webhooks with its smoke test after apply; the re-run checks nothing again', () => {
    const dir = exampleGitRepo();
    const first = rolledOut(dir, 'rollout', 'payment-webhooks', '--target', 'dev');
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/terraform\/lambda\/webhook +after_apply\.1\.smoke-test +done +\S+ +miss/);
    const again = rolledOut(dir, 'rollout', 'payment-webhooks', '--target', 'dev');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/terraform\/lambda\/webhook +after_apply\.1\.smoke-test +cached/);
  });

  it('a failing smoke test fails the rollout, and history records the component failed', () => {
    const dir = exampleGitRepo('atmos-pipe-example-', (d) => {
      const file = path.join(d, 'deployments/payment-webhooks.yaml');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('expect: "{{ zip.webhook.base64sha256 }}"');
      writeFileSync(file, text.replace('expect: "{{ zip.webhook.base64sha256 }}"', 'expect: not-the-built-archive'));
    });
    const r = rolledOut(dir, 'rollout', 'payment-webhooks', '--target', 'dev');
    expect(r.code, r.out).toBe(1);
    expect(r.out).toMatch(/FAILED terraform\/lambda\/webhook:after_apply\.1\.smoke-test/);
    expect(r.out).toContain('smoke test failed: the function runs the built archive: expected not-the-built-archive, got ');
    const h = runCli(['--chdir', dir, 'history', 'payment-webhooks', '--format', 'json']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/"status": "failed"/);
  });

  it('a component of a declared type (zip) takes hooks of its artifact stage; a failing one fails it and skips the function', () => {
    const withHook = (expected: string, output = 'files') =>
      exampleGitRepo('atmos-pipe-example-', (d) => {
        const file = path.join(d, 'deployments/payment-webhooks.yaml');
        const text = readFileSync(file, 'utf8');
        const anchor = '          exclude: ["**/*.test.js"]\n';
        expect(text).toContain(anchor);
        const hook = [
          '        steps:',
          '          after_artifact:',
          '            - uses: smoke-test',
          `              with: { check: the archive holds the function, expect: "${expected}", actual: "files: {{ self.outputs.${output} }}" }`,
          '',
        ].join('\n');
        writeFileSync(file, text.replace(anchor, anchor + hook));
      });
    const ok = withHook('files: 2');
    const passed = rolledOut(ok, 'rollout', 'payment-webhooks', '--target', 'dev');
    expect(passed.code, passed.out).toBe(0);
    expect(passed.out).toMatch(/zip\/webhook +after_artifact\.1\.smoke-test +done/);

    const failing = withHook('files: 3');
    const failed = rolledOut(failing, 'rollout', 'payment-webhooks', '--target', 'dev');
    expect(failed.code, failed.out).toBe(1);
    expect(failed.out).toContain('smoke test failed: the archive holds the function: expected files: 3, got files: 2');
    expect(failed.out).toMatch(/terraform\/lambda\/webhook +\(all steps\) +skipped/);

    const typo = withHook('files: 2', 'filez');
    const refused = runCli(['--chdir', typo, 'validate', 'payment-webhooks']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/deployments\/payment-webhooks\.yaml:\d+:\d+: error: \{\{ self\.outputs\.filez \}\}: zip\/webhook \(module zip\) declares no output "filez"/);
    expect(refused.stderr).toContain('did you mean "self.outputs.files"?');
  });

  it("runs the repository's own pipeline: verify applies nothing", () => {
    const dir = exampleGitRepo();
    const r = rolledOut(dir, 'run', 'verify', 'platform-network', '--target', 'dev');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/verify platform-network → dev: 1 steps?, 1 done, 0 cached, 0 failed/);
    expect(runCli(['--chdir', dir, 'status', '--format', 'json']).stdout).not.toContain('platform-network');
  });
});
