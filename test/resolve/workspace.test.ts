/**
 * Workspaces and `command` at resolution: workspace and name templates evaluated by the Go
 * template engine, what is refused (an unknown function, located, exit 2) and which atmos.yaml
 * key names the command.
 */
import { describe, expect, it } from 'vitest';
import { loadAtmosConfig } from '../../src/config/atmos.js';
import { makeRepo, runCli } from '../helpers.js';

function repo(atmos: string[], metadata: string[] = []): string {
  return makeRepo({
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', ...atmos, ''].join('\n'),
    'components/terraform/app/main.tf': 'variable "stage" { default = "" }\n',
    'stacks/dev.yaml': ['vars:', '  stage: dev', 'components:', '  terraform:', '    app:', '      metadata:', '        component: app', ...metadata, ''].join('\n'),
    'deployments/d.yaml': ['deployment:', '  name: d', '  stacks: [dev]', '  components:', '    terraform:', '      app: {}', '  targets:', '    t: {}', ''].join('\n'),
  });
}

describe('workspace templates', () => {
  it("evaluates a field reference, with Go's trim markers", () => {
    // Go text/template: "{{ .a -}} - {{- .b }}" trims the white space on both sides of the "-".
    const dir = repo(['stacks:', '  base_path: stacks'], ['        terraform_workspace_template: "  {{- .vars.stage -}} - {{- .atmos_component }}"']);
    const r = runCli(['--chdir', dir, 'describe', 'd', '--target', 't', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { components: { workspace: string }[] }).components[0].workspace).toBe('dev-app');
  });

  it('evaluates pipelines and functions with the Go template engine (Sprig upper, printf)', () => {
    const dir = repo(['stacks:', '  base_path: stacks'], ['        terraform_workspace_template: "{{ .vars.stage | upper }}"']);
    const r = runCli(['--chdir', dir, 'describe', 'd', '--target', 't', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { components: { workspace: string }[] }).components[0].workspace).toBe('DEV');
    const named = repo(['stacks:', '  base_path: stacks', '  name_template: "{{ printf \\"%s-x\\" .vars.stage }}"']);
    const n = runCli(['--chdir', named, 'describe', 'd', '--target', 't', '--format', 'json']);
    expect(n.code, n.stderr).toBe(0);
    // The workspace of a component whose module is its own name is the stack name.
    expect((JSON.parse(n.stdout) as { components: { workspace: string }[] }).components[0].workspace).toBe('dev-x');
  });

  it('refuses a function the engine does not know, located at the metadata key (exit 2)', () => {
    const dir = repo(['stacks:', '  base_path: stacks'], ['        terraform_workspace_template: "{{ .vars.stage | nosuchfunc }}"']);
    const r = runCli(['--chdir', dir, 'describe', 'd', '--target', 't', '--format', 'json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stacks/dev.yaml:8:39');
    expect(r.stderr).toMatch(/metadata\.terraform_workspace_template: .*nosuchfunc/);
  });

  it('refuses such a stacks.name_template, located in atmos.yaml (exit 2)', () => {
    const dir = repo(['stacks:', '  base_path: stacks', '  name_template: "{{ nosuchfunc .vars.stage }}"']);
    const r = runCli(['--chdir', dir, 'describe', 'd', '--target', 't', '--format', 'json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/atmos\.yaml:6:18: error: atmos\.yaml: stacks\.name_template: .*nosuchfunc/);
  });
});

describe('the Terraform command', () => {
  it("Atmos's components.terraform.command is used; deployments.tools.terraform.command wins when both are set", () => {
    const atmosOnly = repo(['    command: tofu']);
    expect(loadAtmosConfig({ cwd: atmosOnly }).tools.terraform.command).toBe('tofu');
    const both = repo(['    command: tofu', 'deployments:', '  tools:', '    terraform:', '      command: /opt/terraform/bin/terraform', '      version: 1.11.4']);
    expect(loadAtmosConfig({ cwd: both }).tools.terraform).toMatchObject({ command: '/opt/terraform/bin/terraform', version: '1.11.4' });
    expect(loadAtmosConfig({ cwd: repo([]) }).tools.terraform.command).toBe('terraform');
  });
});
