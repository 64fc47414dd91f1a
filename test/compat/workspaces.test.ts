/**
 * Atmos compatibility: Terraform workspaces (and the stack names they start from), derived as
 * cloudposse/atmos internal/exec/stack_utils.go `BuildTerraformWorkspace` derives them. Each
 * repository below re-creates an Atmos scenario in atmos-pipe's layout (a deployment listing
 * the scenario's top-level stack); every expected value cites the Atmos golden or assertion.
 */
import { describe, expect, it } from 'vitest';
import { resolveScenario, scenarioRepo as repo } from './deployment-repo.js';

async function workspaces(dir: string): Promise<Record<string, string | undefined>> {
  const { d } = await resolveScenario(dir);
  return Object.fromEntries(d.components.map((c) => [c.name, c.workspace]));
}

const mock = (extra: string[] = []) => ['components:', '  terraform:', '    mock:', ...extra, '      vars:', '        enabled: true'];

describe('Atmos workspaces: the stack name', () => {
  it('stack-names: the stack file name, or its manifest `name:`', async () => {
    // examples/stack-names: stacks/dev.yaml (no name) and stacks/prod.yaml (name: "production").
    const dev = repo({ stacks: { 'dev.yaml': mock() }, stack: 'dev', components: ['mock'] });
    // tests/snapshots/TestCLICommands_atmos_describe_component_mock_-s_dev_(stack-names_example).stdout.golden:217  "workspace": "dev"
    expect(await workspaces(dev)).toEqual({ mock: 'dev' });
    const prod = repo({ stacks: { 'prod.yaml': ['name: "production"', ...mock()] }, stack: 'prod', components: ['mock'] });
    // tests/snapshots/TestCLICommands_atmos_describe_component_mock_-s_production_(stack-names_example).stdout.golden:217  "workspace": "production"
    expect(await workspaces(prod)).toEqual({ mock: 'production' });
  });

  it('provenance: stacks.name_template over the component vars, through imports', async () => {
    // tests/fixtures/scenarios/provenance: name_template "{{ .vars.tenant }}-{{ .vars.stage }}-{{ .vars.region }}",
    // orgs/acme/dev/us-east-1 imports orgs/acme/_defaults (tenant acme) -> mixins/stage/dev (stage dev) -> catalog/mock/defaults.
    const dir = repo({
      stacksConfig: ['  name_template: "{{ .vars.tenant }}-{{ .vars.stage }}-{{ .vars.region }}"'],
      stacks: {
        'catalog/mock/defaults.yaml': ['components:', '  terraform:', '    mock:', '      metadata:', '        component: mock', '      vars:', '        enabled: true'],
        'mixins/stage/dev.yaml': ['import:', '  - catalog/mock/defaults', 'vars:', '  stage: dev', '  environment: development'],
        'orgs/acme/_defaults.yaml': ['import:', '  - mixins/stage/dev', 'vars:', '  tenant: acme', '  namespace: acme'],
        'orgs/acme/dev/us-east-1.yaml': ['import:', '  - orgs/acme/_defaults', 'vars:', '  region: us-east-1'],
      },
      stack: 'orgs/acme/dev/us-east-1',
      components: ['mock'],
    });
    // tests/snapshots/TestCLICommands_describe_component_with_stack_flag.stdout.golden:446  workspace: acme-dev-us-east-1
    expect(await workspaces(dir)).toEqual({ mock: 'acme-dev-us-east-1' });
  });

  it('stacks.name_pattern from the vars; the manifest name wins over it', async () => {
    // tests/fixtures/scenarios/stack-manifest-name-pattern: name_pattern "{environment}-{stage}".
    const stacks = {
      'catalog/base.yaml': mock(),
      'without-explicit-name.yaml': ['import:', '  - catalog/base', 'vars:', '  environment: dev', '  stage: uw2'],
      'with-explicit-name.yaml': ['name: my-explicit-stack', 'import:', '  - catalog/base', 'vars:', '  environment: prod', '  stage: ue1'],
    };
    const stacksConfig = ['  name_pattern: "{environment}-{stage}"'];
    // internal/exec/stack_manifest_name_test.go TestDescribeStacks_NamePatternWorkspace: assert.Equal(t, "dev-uw2", workspace)
    expect(await workspaces(repo({ stacksConfig, stacks, stack: 'without-explicit-name', components: ['mock'] }))).toEqual({ mock: 'dev-uw2' });
    // internal/exec/stack_manifest_name_test.go TestBuildTerraformWorkspace_StackManifestName: "Workspace should use StackManifestName"
    expect(await workspaces(repo({ stacksConfig, stacks, stack: 'with-explicit-name', components: ['mock'] }))).toEqual({ mock: 'my-explicit-stack' });
  });

  it('the stack file path with "/" replaced by "-"; workspaces disabled or an http backend: default', async () => {
    // internal/exec/stack_utils_test.go TestBuildTerraformWorkspace: Stack "dev/us-east-1" -> expectedWorkspace "dev-us-east-1"
    const dir = repo({ stacks: { 'dev/us-east-1.yaml': mock() }, stack: 'dev/us-east-1', components: ['mock'] });
    expect(await workspaces(dir)).toEqual({ mock: 'dev-us-east-1' });
    // ... "Explicitly disabled workspaces" -> expectedWorkspace "default"
    const off = repo({ terraform: ['    workspaces_enabled: false'], stacks: { 'dev/us-east-1.yaml': mock() }, stack: 'dev/us-east-1', components: ['mock'] });
    expect(await workspaces(off)).toEqual({ mock: 'default' });
    // ... "HTTP backend automatically disables workspaces" -> expectedWorkspace "default"
    const http = repo({
      stacks: { 'dev/us-east-1.yaml': mock(['      backend_type: http', '      backend:', '        http:', '          address: https://state.example/x']) },
      stack: 'dev/us-east-1',
      components: ['mock'],
    });
    expect(await workspaces(http)).toEqual({ mock: 'default' });
  });
});

describe('Atmos workspaces: per component', () => {
  // tests/fixtures/scenarios/complete (stack tenant1-ue2-dev, name_pattern "{tenant}-{environment}-{stage}").
  const stacksConfig = ['  name_pattern: "{tenant}-{environment}-{stage}"'];
  const stacks = {
    'orgs/cp/tenant1/dev/us-east-2.yaml': [
      'vars:',
      '  tenant: tenant1',
      '  environment: ue2',
      '  stage: dev',
      'components:',
      '  terraform:',
      '    top-level-component1:',
      '      vars:',
      '        enabled: true',
      '    "test/test-component":',
      '      metadata:',
      '        component: mock',
      '    "test/test-component-override":',
      '      component: "test/test-component"',
      '    "test/test-component-override-2":',
      '      component: "test/test-component-override"',
      '      metadata:',
      '        terraform_workspace_pattern: "{tenant}-{environment}-{stage}-{component}"',
      '    "test/test-component-override-3":',
      '      metadata:',
      '        component: "test/test-component"',
      '        terraform_workspace: test-component-override-3-workspace',
      '    derived-vpc:',
      '      metadata:',
      '        component: "test/test-component"',
      '    templated:',
      '      metadata:',
      '        component: mock',
      '        terraform_workspace_template: "{{ .vars.tenant }}-{{ .vars.stage }}-tmpl"',
    ],
  };
  const components = ['top-level-component1', 'test/test-component-override-2', 'test/test-component-override-3', 'derived-vpc', 'templated'];

  it('the stack name; metadata.terraform_workspace; terraform_workspace_pattern; <stack>-<component> when derived; a simple template', async () => {
    const ws = await workspaces(repo({ stacksConfig, stacks, stack: 'orgs/cp/tenant1/dev/us-east-2', components }));
    // pkg/describe/describe_stacks_test.go TestDescribeStacksWithFilter6: assert.Equal(t, "tenant1-ue2-dev", ...top-level-component1 workspace)
    expect(ws['top-level-component1']).toBe('tenant1-ue2-dev');
    // pkg/describe/describe_stacks_test.go TestDescribeStacksWithFilter7: assert.Equal(t, "test-component-override-3-workspace", ...)
    expect(ws['test/test-component-override-3']).toBe('test-component-override-3-workspace');
    // tests/fixtures/scenarios/complete/stacks/catalog/terraform/test-component-override-2.yaml: terraform_workspace_pattern
    // "{tenant}-{environment}-{stage}-{component}" (its comment names the result `tenant1-ue2-dev-test-test-component-override-2`);
    // stack_utils.go: ReplaceContextTokens, then strings.Replace(workspace, "/", "-", -1).
    expect(ws['test/test-component-override-2']).toBe('tenant1-ue2-dev-test-test-component-override-2');
    // internal/exec/stack_utils.go BuildTerraformWorkspace: a base component (metadata.component) -> fmt.Sprintf("%s-%s", contextPrefix, Context.Component)
    expect(ws['derived-vpc']).toBe('tenant1-ue2-dev-derived-vpc');
    // internal/exec/stack_manifest_name_test.go TestBuildTerraformWorkspace_NameTemplate: "{{ .vars.environment }}-{{ .vars.stage }}" -> "prod-ue1" (same evaluation, here for terraform_workspace_template)
    expect(ws.templated).toBe('tenant1-dev-tmpl');
  });
});

describe('Atmos workspaces: context tokens of terraform_workspace_pattern', () => {
  it('{component-path} is empty: the workspace derivation never fills it', async () => {
    // pkg/config/utils.go:902 ReplaceContextTokens: "{component-path}", context.ComponentPath; the workspace's context comes from
    // internal/exec/utils.go:498-545 processStackContextPrefix (GetContextFromVars, then only Context.Component and
    // Context.BaseComponent), so BuildTerraformWorkspace (internal/exec/stack_utils.go:60) replaces {component-path} with "".
    // ComponentPath is set only by terraform_generate_backends.go:219, terraform_generate_varfiles.go:172 and Atlantis.
    const dir = repo({
      stacks: {
        'dev.yaml': [
          'vars:',
          '  stage: dev',
          'components:',
          '  terraform:',
          '    "net/vpc":',
          '      metadata:',
          '        component: mock',
          '        terraform_workspace_pattern: "{stage}-{component}-{component-path}x{terraform_workspace}"',
        ],
      },
      stack: 'dev',
      components: ['net/vpc'],
    });
    // {component} is Context.Component = ComponentFromArg (net/vpc), then stack_utils.go "/" -> "-".
    expect(await workspaces(dir)).toEqual({ 'net/vpc': 'dev-net-vpc-x' });
  });
});

describe('Atmos stack names are a component’s: stacks: entries and workspaces agree', () => {
  // internal/exec/utils.go processStackContextPrefix: `Context = cfg.GetContextFromVars(ComponentVarsSection)`,
  // then GetContextPrefix(name_pattern); findComponentInStacks matches `-s <stack>` against that
  // per-component name (`stackMatches := candidateInfo.Stack == canonicalStackName`). A component that
  // overrides `stage` is, for Atmos, in the stack its own vars name.
  const stacks = {
    'orgs/acme/dev.yaml': ['vars:', '  tenant: acme', '  stage: dev', 'components:', '  terraform:', '    mock:', '      vars:', '        stage: qa'],
  };
  const stacksConfig = ['  name_pattern: "{tenant}-{stage}"'];

  it('the stack is listed by the name the component’s vars give it, and its workspace is that name', async () => {
    expect(await workspaces(repo({ stacksConfig, stacks, stack: 'acme-qa', components: ['mock'] }))).toEqual({ mock: 'acme-qa' });
    // The file path still names it; the workspace is the same.
    expect(await workspaces(repo({ stacksConfig, stacks, stack: 'orgs/acme/dev', components: ['mock'] }))).toEqual({ mock: 'acme-qa' });
  });

  it('the name the shared vars alone would give is not a name of that stack', async () => {
    const dir = repo({ stacksConfig, stacks, stack: 'acme-dev', components: ['mock'] });
    await expect(resolveScenario(dir)).rejects.toThrow(/"acme-dev" is neither a stack file under stacks\/ nor the name of a stack/);
  });
});
