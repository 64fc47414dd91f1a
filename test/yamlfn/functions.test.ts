/**
 * Atmos YAML functions (issue 13): each evaluated as Atmos evaluates it on a component's merged
 * configuration, through the library on real files. Every expected value cites the Atmos test
 * assertion or golden it comes from (cloudposse/atmos at main).
 */
import { describe, expect, it } from 'vitest';
import { describe as describeDeployment, loadDeployment, openRepository, resolve } from '../../src/index.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { makeRepo, runCli } from '../helpers.js';

const MODULE = [
  'variable "a" { default = null }',
  'variable "b" { default = null }',
  'variable "c" { default = null }',
  'variable "d" { default = null }',
  'output "id" { value = "x" }',
  'output "cfg" { value = {} }',
  '',
].join('\n');

/** A repository with components `first` and `second` (one module), one stack file and the deployment. */
function repo(stack: string[], second: string[] = [], extra: Record<string, string> = {}, atmos = ''): string {
  return makeRepo({
    'atmos.yaml': `components:\n  terraform:\n    base_path: components/terraform\n${atmos}`,
    'components/terraform/m/main.tf': MODULE,
    'stacks/app.yaml': [...stack, ''].join('\n'),
    'deployments/d.yaml': [
      'deployment:',
      '  name: d',
      '  stacks: [app]',
      '  components:',
      '    terraform:',
      '      first: { metadata: { component: m } }',
      '      second:',
      '        metadata: { component: m }',
      ...second,
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
    ...extra,
  });
}

async function resolveIn(dir: string) {
  const r = openRepository({ cwd: dir });
  const resolved = await resolve(r, loadDeployment(r, 'd'), 'dev', { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } });
  return describeDeployment(resolved, {});
}

const varsOf = async (dir: string, c = 'second') => (await resolveIn(dir)).components.find((x) => x.address === `terraform/${c}`)!;

async function failure(dir: string): Promise<string> {
  try {
    await resolveIn(dir);
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics.map((d) => `${d.code} ${d.location?.file}:${d.location?.line}:${d.location?.col} ${d.message} | ${d.hint ?? ''}`).join('\n');
    throw e;
  }
  throw new Error('resolved without an error');
}

const stackVars = (...lines: string[]) => ['components:', '  terraform:', '    second:', '      vars:', ...lines.map((l) => `        ${l}`)];

describe('!env', () => {
  it('reads the run environment, then the default, else the empty string; the component env section first', async () => {
    process.env.YAMLFN_SET = 'from-env';
    delete process.env.YAMLFN_UNSET;
    const dir = repo([
      ...stackVars('a: !env YAMLFN_SET', 'b: !env YAMLFN_UNSET "the default"', 'c: !env YAMLFN_UNSET', 'd: !env FROM_SECTION fallback'),
      '      env:',
      '        FROM_SECTION: section-value',
    ]);
    const c = await varsOf(dir);
    // Atmos pkg/utils/yaml_func_env.go ProcessTagEnv: the component's env section, then
    // os.LookupEnv, then the default, else "" (pkg/utils/yaml_func_env_test.go
    // "env var not set, no default" expects "", "with default" expects the default).
    expect(c.vars).toMatchObject({ a: 'from-env', b: 'the default', c: '', d: 'section-value' });
  });
});

describe('!template, !literal, !repo-root, !cwd', () => {
  it('parses JSON, keeps a literal as written, gives the repository root and the working directory', async () => {
    const dir = repo(stackVars(`a: !template '{"enabled": true, "timeout": 30}'`, `b: !template '["vpc-111", "vpc-222"]'`, 'c: !literal "{{ .not_evaluated }}"', 'd: !repo-root'));
    const c = await varsOf(dir);
    // Atmos internal/exec/yaml_func_template.go processTagTemplate: json.Unmarshal of the
    // argument (tests/fixtures/scenarios/atmos-yaml-functions-merge base.yaml vpc_ids:
    // `!template '{{ list "vpc-111" "vpc-222" "vpc-333" | toJson }}'` is a list).
    expect(c.vars.a).toEqual({ enabled: true, timeout: 30 });
    expect(c.vars.b).toEqual(['vpc-111', 'vpc-222']);
    // Atmos pkg/utils/yaml_utils.go processCustomTagsInner: `!literal` keeps the value as is.
    expect(c.vars.c).toBe('{{ .not_evaluated }}');
    // Atmos pkg/git/yaml_tags.go ProcessTagRoot: the repository root.
    expect(c.vars.d).toBe(dir);
    const cwd = repo(stackVars('a: !cwd', 'b: !cwd sub/dir'));
    // Atmos pkg/utils/git.go ProcessTagCwd: os.Getwd(), joined with the argument.
    expect((await varsOf(cwd)).vars).toMatchObject({ a: process.cwd(), b: `${process.cwd()}/sub/dir` });
  });
});

describe('!include', () => {
  const config = {
    'config/vars.json': '{"string_var": "abc", "boolean_var": true, "list_var": ["a", "b", "c"], "map_var": {"a": 1, "b": 2, "c": 3}}',
    'config/vars.yaml': 'string_var: abc\nboolean_var: true\nlist_var: [a, b, c]\nmap_var: { a: 1, b: 2, c: 3 }\n',
    'config/vars.tfvars': 'string_var  = "abc"\nboolean_var = true\nlist_var    = ["a", "b", "c"]\nmap_var = {\n  a = 1\n  b = 2\n  c = 3\n}\n',
    'config/note.txt': 'This is a plain text note.\n',
  };
  it('includes yaml, json, tfvars and text, with a yq path, relative to the base path or the manifest', async () => {
    const dir = repo(
      stackVars('a: !include config/vars.json .string_var', 'b: !include config/vars.yaml .boolean_var', 'c: !include config/vars.tfvars .map_var', 'd: !include ../config/note.txt'),
      [],
      config,
    );
    const c = await varsOf(dir);
    // Atmos tests/yaml_functions_include_test.go TestYAMLFunctionInclude component-1:
    // string_var "abc" (JSON), boolean_var true (YAML), map_var {a:1,b:2,c:3} (tfvars);
    // component-7: a text file is its text ("plain text note").
    expect(c.vars).toMatchObject({ a: 'abc', b: true, c: { a: 1, b: 2, c: 3 }, d: 'This is a plain text note.\n' });
  });

  it('a whole section from a file merges like values written in the manifest', async () => {
    const dir = repo(['import: [base]', ...stackVars('c: over')], [], { ...config, 'stacks/base.yaml': 'components:\n  terraform:\n    second:\n      vars: !include config/vars.tfvars\n' });
    const c = await varsOf(dir);
    // Atmos tests/yaml_functions_include_test.go component-2 (`vars: !include config/vars.tfvars`)
    // has string_var, boolean_var, list_var and map_var; an included map merges with the
    // later manifest's (include is evaluated when the manifest is loaded, pkg/utils/yaml_utils.go).
    expect(c.vars).toMatchObject({ string_var: 'abc', boolean_var: true, list_var: ['a', 'b', 'c'], map_var: { a: 1, b: 2, c: 3 }, c: 'over' });
  });

  it('a path leaving the repository, a missing file and a remote URL are located errors', async () => {
    expect(await failure(repo(stackVars('a: !include ../../../etc/passwd')))).toMatch(/paths\/outside-repository stacks\/app\.yaml:5:12 .*leaves the repository/);
    expect(await failure(repo(stackVars('a: !include nothing/here.yaml')))).toMatch(/yaml\/include-missing stacks\/app\.yaml:5:12 !include nothing\/here\.yaml: no such file/);
    expect(await failure(repo(stackVars('a: !include https://example.com/x.yaml')))).toMatch(/yaml\/include-remote stacks\/app\.yaml:5:12 .*remote includes are not supported/);
  });
});

describe('refused functions', () => {
  it('!store, !secret, !aws.*, an unknown tag and !exec (not allowed) are located errors naming the function', async () => {
    expect(await failure(repo(stackVars('a: !store ssm prod vpc vpc_id')))).toMatch(
      /yaml\/unsupported-function stacks\/app\.yaml:5:12 !store ssm prod vpc vpc_id: the Atmos YAML function !store is not supported/,
    );
    expect(await failure(repo(stackVars('a: !secret db_password')))).toMatch(/yaml\/unsupported-function stacks\/app\.yaml:5:12 .*!secret is not supported.*\| declare the secret/);
    expect(await failure(repo(stackVars('a: !aws.account_id')))).toMatch(/yaml\/unsupported-function stacks\/app\.yaml:5:12 .*!aws\.account_id/);
    expect(await failure(repo(stackVars('a: !nonsense x')))).toMatch(/yaml\/unknown-tag stacks\/app\.yaml:5:12 unknown YAML tag !nonsense/);
    expect(await failure(repo(stackVars('a: !exec echo hi')))).toMatch(/yaml\/exec-not-allowed stacks\/app\.yaml:5:12 .*\| allow it in atmos\.yaml with deployments\.allow_exec: true/);
  });

  it('!terraform.output naming a component neither in the deployment nor in its stack, or a stack that does not exist, is a located error', async () => {
    expect(await failure(repo(stackVars('a: !terraform.output vpc vpc_id')))).toMatch(/yaml\/foreign-output stacks\/app\.yaml:5:12 .*vpc is not a Terraform component of this deployment/);
    expect(await failure(repo(stackVars('a: !terraform.output first prod-ue2 id')))).toMatch(/yaml\/foreign-output stacks\/app\.yaml:5:12 .*no stack is named "prod-ue2"/);
  });

  it('validate exits 2 at the tag', () => {
    const r = runCli(['--chdir', repo(stackVars('a: !store ssm prod vpc vpc_id')), 'validate', 'd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stacks\/app\.yaml:5:12/);
    expect(r.stderr).toMatch(/!store/);
  });
});

describe('!exec when allowed', () => {
  it('runs the command and decodes its output as JSON, else text', async () => {
    const dir = repo(stackVars(`a: !exec 'echo ''{"k": [1, 2]}'''`, 'b: !exec printf "plain\\n\\n"'), [], {}, 'deployments:\n  allow_exec: true\n');
    // Atmos pkg/utils/yaml_func_exec.go ProcessTagExec: output with trailing newlines cut,
    // json.Unmarshal'ed when it is JSON, else the string.
    expect((await varsOf(dir)).vars).toMatchObject({ a: { k: [1, 2] }, b: 'plain' });
  });
});

describe('!terraform.output and !terraform.state', () => {
  it('to a component of the deployment: a dependency edge and a value known after apply', async () => {
    const dir = repo(stackVars('a: !terraform.output first id', 'b: !terraform.state first .cfg.key'), ['        vars: { c: !terraform.output first id }']);
    const c = await varsOf(dir);
    expect(c.vars).toMatchObject({
      a: '(known after apply: terraform/first.outputs.id)',
      b: '(known after apply: terraform/first.outputs.cfg.key)',
      c: '(known after apply: terraform/first.outputs.id)',
    });
    expect(c.depends_on).toEqual(['terraform/first']);
    expect(c.wave).toBe(1);
  });

  it('an output the module does not declare is a located error', async () => {
    expect(await failure(repo(stackVars('a: !terraform.output first nope')))).toMatch(/template\/unknown-output stacks\/app\.yaml:5:12 .*declares no output "nope"/);
  });
});

describe('functions and the merge (Atmos scenario atmos-yaml-functions-merge)', () => {
  const base = {
    'stacks/base.yaml': [
      'components:',
      '  terraform:',
      '    second:',
      '      vars:',
      `        template_config: !template '{"enabled": true, "timeout": 30, "retries": 3}'`,
      '        mirror_config: { enabled: true, base_only: "yes" }',
      '',
    ].join('\n'),
  };
  it('a !template result and a concrete map in another layer deep-merge, whichever layer holds the function', async () => {
    const dir = repo(['import: [base]', ...stackVars('template_config: { new_key: new_value, enabled: false }', `mirror_config: !template '{"new_key": "new_value"}'`)], [], base);
    const c = await varsOf(dir);
    // Atmos tests/yaml_functions_integration_test.go TestYAMLFunctionsDeferredMerge,
    // test-deep-merge: {"enabled":false,"timeout":30,"retries":3,"new_key":"new_value"}
    // ("!template result must deep-merge with the component's own override"); and
    // test-mirror-precedence: {enabled: true, base_only: "yes", new_key: "new_value"}.
    expect(c.vars.template_config).toEqual({ enabled: false, timeout: 30, retries: 3, new_key: 'new_value' });
    expect(c.vars.mirror_config).toEqual({ enabled: true, base_only: 'yes', new_key: 'new_value' });
  });
});

describe('functions in backend and providers', () => {
  it('are evaluated; another component output there is a located error', async () => {
    process.env.YAMLFN_BUCKET = 'state-bucket';
    const stack = (v: string) => [
      'components:',
      '  terraform:',
      '    second:',
      '      backend_type: s3',
      '      backend:',
      '        s3:',
      `          bucket: ${v}`,
      '      providers:',
      '        aws: { region: !env YAMLFN_UNSET_REGION us-east-2 }',
    ];
    const c = (await resolveIn(repo(stack('!env YAMLFN_BUCKET')))).components.find((x) => x.address === 'terraform/second')!;
    // Atmos ProcessCustomYamlTags runs over the whole component section (backend and providers included).
    expect(c.backend).toMatchObject({ bucket: 'state-bucket' });
    expect(c.providers).toEqual({ aws: { region: 'us-east-2' } });
    expect(await failure(repo(stack('!terraform.output first id')))).toMatch(/yaml\/output-too-early stacks\/app\.yaml:7:19 /);
  });
});
