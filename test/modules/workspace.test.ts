/**
 * The rollout selects each Terraform component's Atmos workspace (TF_WORKSPACE) and runs the
 * configured command: through the real CLI, the real terraform binary (offline
 * `terraform_data`) and real files.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

type Ev = { type: string; id?: string; status?: string };
const ndjson = (s: string): Ev[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);

/** `a` and `b` in stack `dev`, each with the stacks' own local backend; `b` depends on `a` through Atmos's settings.depends_on. */
function workspaceRepo(atmosExtra: string[] = []): string {
  const tf = (name: string) => [`resource "terraform_data" "${name}" { input = "${name}" }`, `output "value" { value = terraform_data.${name}.output }`, ''].join('\n');
  return makeRepo({
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', ...atmosExtra, 'stacks:', '  base_path: stacks', ''].join('\n'),
    'components/terraform/a/main.tf': tf('a'),
    'components/terraform/b/main.tf': tf('b'),
    'stacks/dev.yaml': [
      'components:',
      '  terraform:',
      '    a:',
      '      backend_type: local',
      '      backend:',
      '        local: { path: states/a.tfstate }',
      '    b:',
      '      backend_type: local',
      '      backend:',
      '        local: { path: states/b.tfstate }',
      '      settings:',
      '        depends_on:',
      '          1: { component: a }',
      '',
    ].join('\n'),
    'deployments/ws.yaml': ['deployment:', '  name: ws', '  stacks: [dev]', '  components:', '    terraform:', '      a: {}', '      b: {}', '  targets:', '    dev: {}', ''].join('\n'),
  });
}

describe('workspaces in a rollout', () => {
  it('describe shows the workspace (the stack name) and the command', () => {
    const repo = workspaceRepo();
    const r = runCli(['--chdir', repo, 'describe', 'ws', '--target', 'dev', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as { components: { name: string; workspace: string; command: string; wave: number }[] };
    expect(d.components.map((c) => [c.name, c.workspace, c.command, c.wave])).toEqual([
      ['a', 'dev', 'terraform', 0],
      ['b', 'dev', 'terraform', 1],
    ]);
    const table = runCli(['--chdir', repo, 'describe', 'ws', '--target', 'dev']);
    expect(table.stdout).toContain('workspace: dev   command: terraform');
  });

  it("the state lands in the workspace's file; the dependent runs after its dependency; a re-run is all cached", () => {
    const repo = workspaceRepo();
    const first = runCli(['--chdir', repo, 'rollout', 'ws', '--target', 'dev', '--events', 'ndjson']);
    expect(first.code, first.stderr).toBe(0);
    for (const name of ['a', 'b']) {
      // Terraform's local backend keeps workspace `dev` in <workspace_dir>/dev/terraform.tfstate (workspace_dir: <path>.d).
      const state = JSON.parse(readFileSync(path.join(repo, `states/${name}.tfstate.d/dev/terraform.tfstate`), 'utf8')) as { resources: { name: string }[] };
      expect(state.resources.map((x) => x.name)).toEqual([name]);
      expect(existsSync(path.join(repo, `states/${name}.tfstate`))).toBe(false);
    }
    // settings.depends_on put b in the wave after a: b's first step starts after a's last step finished.
    const evs = ndjson(first.stdout);
    const aDone = evs.findIndex((e) => e.type === 'step.finished' && e.id === 'rollout:terraform/a:output');
    const bStart = evs.findIndex((e) => e.type === 'step.started' && e.id === 'rollout:terraform/b:apply');
    expect(aDone).toBeGreaterThanOrEqual(0);
    expect(bStart).toBeGreaterThan(aDone);

    const again = ndjson(runCli(['--chdir', repo, 'rollout', 'ws', '--target', 'dev', '--events', 'ndjson']).stdout);
    const statuses = again.filter((e) => e.type === 'step.finished').map((e) => e.status);
    expect(statuses.length).toBe(6);
    expect(statuses.every((s) => s === 'cached')).toBe(true);
  });

  it('components.terraform.command runs the steps with that command (a tofu shim on PATH)', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-tofu-'));
    const shim = path.join(bin, 'tofu');
    // Says it ran (into the step's log) and runs the real terraform.
    writeFileSync(shim, `#!/bin/sh\necho "tofu shim: $1" >&2\nexec terraform "$@"\n`);
    chmodSync(shim, 0o755);
    const repo = workspaceRepo(['    command: tofu']);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const d = JSON.parse(runCli(['--chdir', repo, 'describe', 'ws', '--target', 'dev', '--format', 'json'], { env }).stdout) as { components: { command: string }[] };
    expect(d.components.map((c) => c.command)).toEqual(['tofu', 'tofu']);
    const r = runCli(['--chdir', repo, 'rollout', 'ws', '--target', 'dev', '--events', 'ndjson'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(repo, 'states/a.tfstate.d/dev/terraform.tfstate'))).toBe(true);
    // Every step's argv[0] was `tofu`: each step's log starts with the shim's line naming its subcommand.
    const logs = path.join(repo, '.atmos/logs');
    const texts = readdirSync(logs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'));
    for (const sub of ['init', 'apply', 'output']) expect(texts.filter((t) => t.includes(`tofu shim: ${sub}`)).length).toBe(2);
  });
});
