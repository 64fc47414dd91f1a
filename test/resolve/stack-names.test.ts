/**
 * `stacks:` entries that are Atmos stack names (issue 13 item 5): resolved to the top-level
 * stack file Atmos gives that name — manifest `name:` > `stacks.name_template` >
 * `stacks.name_pattern` > file name (Atmos internal/exec/describe_stacks_component_processor.go
 * resolveStackName). Expected names are cited from Atmos's tests.
 */
import { describe, expect, it } from 'vitest';
import { describe as describeDeployment, loadDeployment, openRepository, resolve } from '../../src/index.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { makeRepo } from '../helpers.js';

const GIT = { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } };

function files(stacks: string[], atmosStacks: string[]): Record<string, string> {
  return {
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', 'stacks:', '  base_path: stacks', ...atmosStacks, ''].join('\n'),
    'components/terraform/vpc/main.tf': 'variable "cidr" {}\nvariable "environment" { default = "" }\nvariable "stage" { default = "" }\nvariable "tenant" { default = "" }\n',
    'stacks/catalog/base.yaml': 'components:\n  terraform:\n    vpc:\n      vars:\n        cidr: 10.0.0.0/16\n',
    // tests/fixtures/scenarios/stack-manifest-name-pattern: with-explicit-name.yaml, without-explicit-name.yaml
    'stacks/with-explicit-name.yaml': 'name: my-explicit-stack\nimport: [catalog/base]\nvars:\n  environment: prod\n  stage: ue1\n',
    'stacks/without-explicit-name.yaml': 'import: [catalog/base]\nvars:\n  environment: dev\n  stage: uw2\n',
    'stacks/orgs/acme/plat/dev/us-east-2.yaml':
      'import: [catalog/base]\nvars:\n  tenant: plat\n  environment: ue2\n  stage: dev\ncomponents:\n  terraform:\n    vpc:\n      vars:\n        cidr: 10.2.0.0/16\n',
    'deployments/shop.yaml': ['deployment:', '  name: shop', '  stacks:', ...stacks.map((s) => `    - ${s}`), '  components:', '    terraform:', '      vpc: {}', '  targets:', '    dev: {}', ''].join(
      '\n',
    ),
  };
}

async function vpcVars(stacks: string[], atmosStacks: string[]) {
  const repo = openRepository({ cwd: makeRepo(files(stacks, atmosStacks)) });
  const r = await resolve(repo, loadDeployment(repo, 'shop'), 'dev', GIT);
  const d = describeDeployment(r);
  return { vars: d.components.find((c) => c.address === 'terraform/vpc')!.vars, files: r.stacks };
}

async function failure(stacks: string[], atmosStacks: string[]) {
  const repo = openRepository({ cwd: makeRepo(files(stacks, atmosStacks)) });
  try {
    await resolve(repo, loadDeployment(repo, 'shop'), 'dev', GIT);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0];
    throw e;
  }
  throw new Error('expected an error');
}

const PATTERN = ['  excluded_paths: ["catalog/**"]', '  name_pattern: "{environment}-{stage}"'];

describe('stack names in stacks:', () => {
  it('a manifest name: wins over name_pattern (stack_manifest_name_test.go TestDescribeStacks_NamePattern: result["my-explicit-stack"])', async () => {
    const { vars } = await vpcVars(['my-explicit-stack'], PATTERN);
    expect(vars).toMatchObject({ environment: 'prod', stage: 'ue1' });
  });

  it('name_pattern from the stack vars (TestDescribeStacks_NamePattern: result["dev-uw2"] for without-explicit-name.yaml)', async () => {
    const { vars } = await vpcVars(['dev-uw2'], PATTERN);
    expect(vars).toMatchObject({ environment: 'dev', stage: 'uw2' });
  });

  it('{tenant}-{environment}-{stage}: plat-ue2-dev', async () => {
    const { vars } = await vpcVars(['plat-ue2-dev'], ['  excluded_paths: ["catalog/**"]', '  name_pattern: "{tenant}-{environment}-{stage}"']);
    expect(vars).toMatchObject({ tenant: 'plat', cidr: '10.2.0.0/16' });
  });

  it('name_template in its simple forms ({{ .vars.x }}, with {{- -}} trimming)', async () => {
    const { vars } = await vpcVars(['plat-ue2-dev'], ['  excluded_paths: ["catalog/**"]', '  name_template: "{{ .vars.tenant }}-{{- .vars.environment -}}  -{{ .vars.stage }}"']);
    expect(vars).toMatchObject({ tenant: 'plat', cidr: '10.2.0.0/16' });
  });

  it('a name_template calling a function the engine does not know is exit 2, located at atmos.yaml', async () => {
    const d = await failure(['plat-ue2-dev'], ['  name_template: "{{ nosuchfunc .vars.stage }}"']);
    expect(d.code).toBe('stacks/template');
    expect(d.location).toMatchObject({ file: 'atmos.yaml', line: 6 });
  });

  it('file paths keep working and are tried first (no names are computed for them)', async () => {
    const { vars, files: loaded } = await vpcVars(['orgs/acme/plat/dev/us-east-2'], ['  name_template: "{{ if true }}x{{ end }}"']);
    expect(vars.cidr).toBe('10.2.0.0/16');
    expect(loaded).toContain('stacks/orgs/acme/plat/dev/us-east-2.yaml');
  });

  it('an unknown name is located at the entry, with did-you-mean and the valid forms', async () => {
    const d = await failure(['dev-uw3'], PATTERN);
    expect(d.code).toBe('stacks/unknown-stack');
    expect(d.message).toBe(
      '"dev-uw3" is neither a stack file under stacks/ nor the name of a stack (tried stacks/dev-uw3.yaml, stacks/dev-uw3.yml, stacks/dev-uw3.yaml.tmpl, stacks/dev-uw3.yml.tmpl)',
    );
    expect(d.location).toMatchObject({ file: 'deployments/shop.yaml', line: 4, col: 7 });
    expect(d.hint).toContain('did you mean the stack "dev-uw2"?');
    expect(d.hint).toContain('skip_if_missing');
    expect(d.hint).toContain('known stack names: dev-uw2, my-explicit-stack, ue2-dev');
    expect(d.hint).toContain('stack file path under stacks/');
  });
});
