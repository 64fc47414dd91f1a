/**
 * Atmos compatibility: `!terraform.output` / `!terraform.state` to a component outside the
 * deployment's target, read from its Terraform state when the configuration is resolved, as
 * Atmos's `!terraform.state` reads it. The states are made by real `terraform apply` runs (in
 * the component's directory, as `atmos terraform apply` leaves them; or by an atmos-pipe
 * rollout of another deployment); atmos-pipe then reads them through the CLI.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

const VPC = [
  'variable "cidr" { type = string }',
  'resource "terraform_data" "vpc" { input = var.cidr }',
  'output "vpc_id" { value = "vpc-${terraform_data.vpc.output}" }',
  'output "subnets" { value = ["${var.cidr}.1", "${var.cidr}.2"] }',
  'output "token" {',
  '  value     = "s3cr3t"',
  '  sensitive = true',
  '}',
  '',
].join('\n');

const APP = [
  'variable "vpc_id" { type = string }',
  'variable "subnet" { type = string }',
  'variable "zone" { type = string }',
  'resource "terraform_data" "app" { input = "${var.vpc_id}/${var.subnet}/${var.zone}" }',
  'output "seen" { value = terraform_data.app.output }',
  '',
].join('\n');

const ATMOS = 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n';

/** `terraform apply` of components/terraform/<module> in a workspace, as `atmos terraform apply <module> -s <workspace>` would. */
function applyVpc(repo: string, workspace: string, cidr: string, module = 'vpc'): void {
  const cwd = path.join(repo, 'components/terraform', module);
  const tf = (...args: string[]) => execFileSync('terraform', args, { cwd, stdio: 'pipe', env: { ...process.env, TF_IN_AUTOMATION: '1' } });
  tf('init', '-input=false');
  const list = tf('workspace', 'list').toString();
  tf('workspace', list.split('\n').some((l) => l.replace('*', '').trim() === workspace) ? 'select' : 'new', workspace);
  tf('apply', '-auto-approve', '-input=false', `-var=cidr=${cidr}`);
}

/** The app's state after a rollout: what Terraform really received. */
const seen = (repo: string, dep: string) => JSON.parse(readFileSync(path.join(repo, `.atmos/state/${dep}/dev/app.tfstate`), 'utf8')).outputs.seen.value as string;

function atmosRepo(appVars: string[]): string {
  return makeRepo({
    'atmos.yaml': ATMOS,
    'components/terraform/vpc/main.tf': VPC,
    'components/terraform/app/main.tf': APP,
    'stacks/plat-dev.yaml': ['components:', '  terraform:', '    vpc:', '      vars: { cidr: "10.1" }', '    app:', '      vars:', ...appVars.map((v) => `        ${v}`), ''].join('\n'),
    'stacks/plat-prod.yaml': ['components:', '  terraform:', '    vpc:', '      vars: { cidr: "10.2" }', ''].join('\n'),
    'stacks/plat-stage.yaml': ['components:', '  terraform:', '    vpc:', '      vars: { cidr: "10.4" }', ''].join('\n'),
    'stacks/plat-s3.yaml': ['components:', '  terraform:', '    vpc:', '      backend_type: s3', '      backend:', '        s3: { bucket: tfstate }', ''].join('\n'),
    'deployments/app.yaml': ['deployment:', '  name: app', '  stacks: [plat-dev]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
  });
}

describe('!terraform.state / !terraform.output of a component outside the deployment', () => {
  it('reads an Atmos component’s local state in its workspace; the values are in describe, provenance at the function, and in the fingerprint', () => {
    const repo = atmosRepo([
      // Two-argument form: the component in the caller's own stack (Atmos ParseTerraform:
      // internal/exec/yaml_func_terraform_state_yq_defaults_test.go TestParseTerraformStateArgs
      // "legacy component and output": stack = the current stack).
      'vpc_id: !terraform.state vpc .vpc_id',
      // Three-argument form with an indexed yq path ("legacy component stack and output").
      "subnet: !terraform.output vpc plat-prod '.subnets[1]'",
      // A yq default for an output that does not exist ("single quoted expression with a default";
      // TestTerraformState_LegacyCSVCompatibility: the default is the value).
      `zone: !terraform.state vpc '.zone // "zone-a"'`,
    ]);
    // Atmos workspaces are the stack names (plat-dev, plat-prod): internal/terraform_backend/
    // terraform_backend_local_test.go TestReadTerraformBackendLocal_DefaultWorkspace "named workspace -
    // state in workspace dir": terraform.tfstate.d/<workspace>/terraform.tfstate under the component.
    applyVpc(repo, 'plat-dev', '10.1');
    applyVpc(repo, 'plat-prod', '10.2');

    const d = runCli(['describe', 'app', '--target', 'dev', '--format', 'json', '--provenance', '-C', repo]);
    expect(d.code, d.stderr).toBe(0);
    const app = JSON.parse(d.stdout).components.find((c: { name: string }) => c.name === 'app');
    expect(app.vars).toEqual({ vpc_id: 'vpc-10.1', subnet: '10.2.2', zone: 'zone-a' });
    expect(app.provenance['vars.vpc_id']).toBe('stacks/plat-dev.yaml:7:17');
    expect(app.provenance['vars.subnet']).toBe('stacks/plat-dev.yaml:8:17');

    const r1 = runCli(['rollout', 'app', '--target', 'dev', '-C', repo]);
    expect(r1.code, r1.stderr).toBe(0);
    expect(seen(repo, 'app')).toBe('vpc-10.1/10.2.2/zone-a');
    // The vpc changes outside atmos-pipe: the value read is new, so the app's steps are not cache hits.
    applyVpc(repo, 'plat-dev', '10.3');
    const r2 = runCli(['rollout', 'app', '--target', 'dev', '-C', repo]);
    expect(r2.code, r2.stderr).toBe(0);
    expect(seen(repo, 'app')).toBe('vpc-10.3/10.2.2/zone-a');
  });

  it('what cannot be read here is exit 2 at the function, naming the component, the stack, the backend and why', () => {
    const repo = atmosRepo(['vpc_id: PLACEHOLDER', 'subnet: x', 'zone: y']);
    applyVpc(repo, 'plat-dev', '10.1');
    const stackFile = path.join(repo, 'stacks/plat-dev.yaml');
    const original = readFileSync(stackFile, 'utf8');
    const refused = (fn: string) => {
      writeFileSync(stackFile, original.replace('PLACEHOLDER', fn));
      const r = runCli(['validate', 'app', '-C', repo]);
      expect(r.code, r.stdout).toBe(2);
      return r.stderr;
    };
    expect(refused('!terraform.state vpc plat-s3 .vpc_id')).toMatch(
      /stacks\/plat-dev\.yaml:7:17: error: .*cannot read the outputs of terraform\/vpc in stack "plat-s3" \(backend s3\): atmos-pipe reads only local and pg state/,
    );
    expect(refused('!terraform.state vpc plat-stage .vpc_id')).toMatch(
      /stacks\/plat-dev\.yaml:7:17: error: .*terraform\/vpc in stack "plat-stage" \(backend local\): its state components\/terraform\/vpc\/terraform\.tfstate\.d\/plat-stage\/terraform\.tfstate \(workspace plat-stage\) does not exist/,
    );
    expect(refused("!terraform.state vpc '.subnets | length'")).toMatch(/stacks\/plat-dev\.yaml:7:17: error: .*"\.subnets \| length" is not a path atmos-pipe evaluates/);
    expect(refused('!terraform.state vpc .nope')).toMatch(/stacks\/plat-dev\.yaml:7:17: error: .*has no output for \.nope/);
    expect(refused('!terraform.output vpc .token')).toMatch(/stacks\/plat-dev\.yaml:7:17: error: .*the output token is sensitive/);
    expect(refused('!terraform.state vpc plat-prd .vpc_id')).toMatch(/stacks\/plat-dev\.yaml:7:17: error: .*no stack is named "plat-prd"[\s\S]*did you mean "plat-prod"/);
    expect(refused('!terraform.state vpcc .vpc_id')).toMatch(
      /stacks\/plat-dev\.yaml:7:17: error: .*vpcc is not a Terraform component of this deployment, and its stack "plat-dev" has none[\s\S]*did you mean "vpc"/,
    );
  });

  it('reads the state of a component another atmos-pipe deployment rolled out, where atmos-pipe keeps it', () => {
    const repo = makeRepo({
      'atmos.yaml': ATMOS,
      'components/terraform/vpc/main.tf': VPC,
      'components/terraform/app/main.tf': APP,
      'stacks/net.yaml': ['components:', '  terraform:', '    vpc:', '      vars: { cidr: "10.9" }', ''].join('\n'),
      'stacks/web.yaml': [
        'components:',
        '  terraform:',
        '    app:',
        '      vars:',
        '        vpc_id: !terraform.output vpc net .vpc_id',
        '        subnet: !terraform.state vpc net .subnets[0]',
        '        zone: z',
        '',
      ].join('\n'),
      'deployments/net.yaml': ['deployment:', '  name: net', '  stacks: [net]', '  components:', '    terraform:', '      vpc: {}', '  targets:', '    dev: {}', ''].join('\n'),
      'deployments/web.yaml': ['deployment:', '  name: web', '  stacks: [web]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
    });
    const early = runCli(['validate', 'web', '-C', repo]);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/stacks\/web\.yaml:5:17: error: .*terraform\/vpc of deployment net, target dev \(backend local\): its state \.atmos\/state\/net\/dev\/vpc\.tfstate/);
    const net = runCli(['rollout', 'net', '--target', 'dev', '-C', repo]);
    expect(net.code, net.stderr).toBe(0);
    const web = runCli(['rollout', 'web', '--target', 'dev', '-C', repo]);
    expect(web.code, web.stderr).toBe(0);
    expect(seen(repo, 'web')).toBe('vpc-10.9/10.9.1/z');
  });

  it('reads the state another target of the same deployment rolled out (dev reading prod)', () => {
    const repo = makeRepo({
      'atmos.yaml': ATMOS,
      'components/terraform/vpc/main.tf': VPC,
      'components/terraform/app/main.tf': APP,
      'stacks/plat-prod.yaml': ['components:', '  terraform:', '    vpc:', '      vars: { cidr: "10.2" }', '    app:', '      metadata: { enabled: false }', ''].join('\n'),
      'stacks/plat-dev.yaml': [
        'components:',
        '  terraform:',
        '    vpc:',
        '      vars: { cidr: "10.1" }',
        '    app:',
        '      vars:',
        '        vpc_id: !terraform.output vpc .vpc_id',
        "        subnet: !terraform.state vpc plat-prod '.subnets[0]'",
        '        zone: z',
        '',
      ].join('\n'),
      'deployments/net.yaml': [
        'deployment:',
        '  name: net',
        '  components:',
        '    terraform:',
        '      vpc: {}',
        '      app: {}',
        '  targets:',
        '    dev: { stacks: [plat-dev] }',
        '    prod: { stacks: [plat-prod] }',
        '',
      ].join('\n'),
    });
    const prod = runCli(['rollout', 'net', '--target', 'prod', '-C', repo]);
    expect(prod.code, prod.stderr).toBe(0);
    const dev = runCli(['rollout', 'net', '--target', 'dev', '-C', repo]);
    expect(dev.code, dev.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(repo, '.atmos/state/net/dev/app.tfstate'), 'utf8')).outputs.seen.value).toBe('vpc-10.1/10.2.1/z');
  });

  it("workspaces disabled: the default workspace's terraform.tfstate, or the backend's path relative to the component", () => {
    const repo = makeRepo({
      'atmos.yaml': ATMOS.replace('    base_path: components/terraform\n', '    base_path: components/terraform\n    workspaces_enabled: false\n'),
      'components/terraform/vpc/main.tf': VPC,
      'components/terraform/net/main.tf': VPC,
      // What `atmos terraform apply net` generates from the stack's backend section.
      'components/terraform/net/backend.tf.json': JSON.stringify({ terraform: { backend: { local: { path: '.context/tfstate/net.tfstate' } } } }),
      'components/terraform/app/main.tf': APP,
      'stacks/plat-dev.yaml': [
        'components:',
        '  terraform:',
        '    vpc:',
        '      vars: { cidr: "10.1" }',
        '    net:',
        '      backend_type: local',
        '      backend:',
        '        local: { path: .context/tfstate/net.tfstate }',
        '    app:',
        '      vars:',
        '        vpc_id: !terraform.state vpc .vpc_id',
        '        subnet: !terraform.state net .subnets[0]',
        '        zone: z',
        // Read before anything runs, so a provider setting may take it (unlike an output of this deployment).
        '      providers:',
        '        aws: { region: !terraform.state vpc .vpc_id }',
        '',
      ].join('\n'),
      'deployments/app.yaml': ['deployment:', '  name: app', '  stacks: [plat-dev]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
    });
    // internal/exec/yaml_func_terraform_state_workspaces_disabled_test.go: with workspaces disabled the
    // workspace is "default" and the local state is terraform.tfstate (not terraform.tfstate.d/default/...).
    applyVpc(repo, 'default', '10.1');
    // internal/terraform_backend/terraform_backend_local_test.go TestReadTerraformBackendLocal_ConfiguredBackendPath
    // "relative path resolves from component directory".
    applyVpc(repo, 'default', '10.5', 'net');
    const d = runCli(['describe', 'app', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(d.code, d.stderr).toBe(0);
    const app = JSON.parse(d.stdout).components[0];
    expect(app.vars).toEqual({ vpc_id: 'vpc-10.1', subnet: '10.5.1', zone: 'z' });
    expect(app.providers).toEqual({ aws: { region: 'vpc-10.1' } });
  });

  it('a local backend with workspace_dir: the named workspace where Terraform keeps it', () => {
    const repo = makeRepo({
      'atmos.yaml': ATMOS,
      'components/terraform/net/main.tf': VPC,
      // What `atmos terraform apply net -s plat-dev` generates from the stack's backend section.
      'components/terraform/net/backend.tf.json': JSON.stringify({ terraform: { backend: { local: { workspace_dir: 'states' } } } }),
      'components/terraform/app/main.tf': APP,
      'stacks/plat-dev.yaml': [
        'components:',
        '  terraform:',
        '    net:',
        '      backend_type: local',
        '      backend:',
        '        local: { workspace_dir: states }',
        '    app:',
        '      vars:',
        '        vpc_id: !terraform.state net .vpc_id',
        '        subnet: !terraform.state net .subnets[1]',
        '        zone: z',
        '',
      ].join('\n'),
      'deployments/app.yaml': ['deployment:', '  name: app', '  stacks: [plat-dev]', '  components:', '    terraform:', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
    });
    applyVpc(repo, 'plat-dev', '10.6', 'net');
    expect(existsSync(path.join(repo, 'components/terraform/net/states/plat-dev/terraform.tfstate'))).toBe(true);
    const d = runCli(['describe', 'app', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).components[0].vars).toEqual({ vpc_id: 'vpc-10.6', subnet: '10.6.2', zone: 'z' });
  });
});

describe('!terraform.state to a component of the deployment with an indexed yq path', () => {
  it('orders the two and applies the list item (Atmos TestParseTerraformStateArgs forms, `.subnets[1]`)', () => {
    const repo = makeRepo({
      'atmos.yaml': ATMOS,
      'components/terraform/vpc/main.tf': VPC,
      'components/terraform/app/main.tf': APP,
      'stacks/plat-dev.yaml': [
        'components:',
        '  terraform:',
        '    vpc:',
        '      vars: { cidr: "10.8" }',
        '    app:',
        '      vars:',
        '        vpc_id: !terraform.output vpc .vpc_id',
        "        subnet: !terraform.state vpc plat-dev '.subnets[1]'",
        '        zone: z',
        '',
      ].join('\n'),
      'deployments/app.yaml': ['deployment:', '  name: app', '  stacks: [plat-dev]', '  components:', '    terraform:', '      vpc: {}', '      app: {}', '  targets:', '    dev: {}', ''].join('\n'),
    });
    const d = runCli(['describe', 'app', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(d.code, d.stderr).toBe(0);
    const app = JSON.parse(d.stdout).components.find((c: { name: string }) => c.name === 'app');
    expect(app.depends_on).toEqual(['terraform/vpc']);
    expect(app.vars.subnet).toBe('(known after apply: terraform/vpc.outputs.subnets.1)');
    const r = runCli(['rollout', 'app', '--target', 'dev', '-C', repo]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen(repo, 'app')).toBe('vpc-10.8/10.8.2/z');
  });
});
