/**
 * Atmos's per-component `command` (e.g. `tofu` for one component): set in the stacks, shown by
 * describe, run by the rollout, and refused where it is set when the command is not on PATH.
 */
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

function commandRepo(command: string): string {
  return makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n    command: terraform\n',
    'components/terraform/one/main.tf': ['variable "name" { type = string }', 'resource "terraform_data" "one" { input = var.name }', 'output "seen" { value = terraform_data.one.output }', ''].join(
      '\n',
    ),
    'stacks/app.yaml': [
      'components:',
      '  terraform:',
      '    plain:',
      '      metadata:',
      '        component: one',
      '      vars: { name: plain }',
      '    own:',
      '      metadata:',
      '        component: one',
      `      command: ${command}`,
      '      vars: { name: own }',
      '',
    ].join('\n'),
    'deployments/app.yaml': ['deployment:', '  name: app', '  stacks: [app]', '  components:', '    terraform:', '      plain: {}', '      own: {}', '  targets:', '    dev: {}', ''].join('\n'),
  });
}

/** A PATH without terraform, holding `name` (a link to the real terraform binary). */
function pathWith(name: string): string {
  const bin = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-bin-'));
  const terraform = ['/usr/local/bin/terraform', '/usr/bin/terraform'].find((p) => existsSync(p));
  if (!terraform) throw new Error('terraform is needed on this machine');
  symlinkSync(terraform, path.join(bin, name));
  return [bin, '/usr/bin', '/bin'].join(':');
}

describe("a component's own command", () => {
  it("describe shows it; the other component keeps atmos.yaml's", () => {
    const repo = commandRepo('mytf');
    const r = runCli(['--chdir', repo, 'describe', 'app', '--target', 'dev', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const byName = Object.fromEntries((JSON.parse(r.stdout).components as { name: string; command: string }[]).map((c) => [c.name, c.command]));
    expect(byName).toEqual({ plain: 'terraform', own: 'mytf' });
  });

  it('the rollout runs it: with only that command on PATH, the component applies', () => {
    const repo = commandRepo('mytf');
    const r = runCli(['--chdir', repo, 'rollout', 'app', '--target', 'dev', '--component', 'terraform/own'], { env: { PATH: pathWith('mytf') } });
    expect(r.code, r.stderr).toBe(0);
    const state = JSON.parse(readFileSync(path.join(repo, '.atmos/state/app/dev/own.tfstate'), 'utf8'));
    expect(state.outputs.seen.value).toBe('own');
  });

  it('a command not on PATH is exit 2 where it is set, before anything runs', () => {
    const repo = commandRepo('tofu-not-installed');
    const r = runCli(['--chdir', repo, 'rollout', 'app', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stacks\/app\.yaml:10:16: error: "tofu-not-installed" \(the command of terraform\/own\) is not on PATH/);
    expect(existsSync(path.join(repo, '.atmos/state'))).toBe(false);
  });
});
