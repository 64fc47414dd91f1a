/**
 * Atmos compatibility: dependencies. `settings.depends_on` (legacy, a map of context entries)
 * and `dependencies.components` (a list of `{component, stack?, kind?}`) order the components
 * of a deployment when they name one in the same stack; every other entry (another stack,
 * another kind) is shown by describe and graph and warned about once. Each repository
 * re-creates an Atmos scenario in atmos-pipe's layout; expected values cite Atmos's
 * internal/exec/describe_dependents_test.go (who depends on whom, per stack).
 */
import { describe, expect, it } from 'vitest';
import { buildComponentGraph, renderGraph } from '../../src/index.js';
import { resolveScenario, scenarioRepo as repo } from './deployment-repo.js';

const component = (name: string, extra: string[] = []) => [`    ${JSON.stringify(name)}:`, '      metadata:', '        component: mock', ...extra];

describe('Atmos settings.depends_on', () => {
  // tests/fixtures/scenarios/depends-on-with-stacks-name-pattern: name_pattern "{environment}-{stage}",
  // deploy/prod/us-east-1 (environment ue1, stage prod): tgw/attachment depends on vpc (same stack) and tgw/hub with stage network.
  const stacks = {
    'deploy/prod/us-east-1.yaml': [
      'vars:',
      '  environment: ue1',
      '  stage: prod',
      'components:',
      '  terraform:',
      ...component('vpc'),
      ...component('tgw/attachment', [
        '      settings:',
        '        depends_on:',
        '          1:',
        '            component: vpc',
        '          2:',
        '            component: tgw/hub',
        '            stage: network',
      ]),
    ],
  };

  it('an entry in the same stack orders the two components; one in another stack is shown and warned about once', async () => {
    const dir = repo({ stacksConfig: ['  name_pattern: "{environment}-{stage}"'], stacks, stack: 'deploy/prod/us-east-1', components: ['vpc', 'tgw/attachment'] });
    const { r, byName } = await resolveScenario(dir);
    // internal/exec/describe_dependents_test.go (depends-on-with-stacks-name-pattern): vpc in ue1-prod has dependent
    // tgw/attachment in ue1-prod; tgw/hub (ue1-network) is not in this stack.
    expect(byName['tgw/attachment'].depends_on).toEqual(['terraform/vpc']);
    expect(byName.vpc.wave).toBe(0);
    expect(byName['tgw/attachment'].wave).toBe(1);
    expect(byName['tgw/attachment'].dependencies).toEqual([
      { source: 'settings.depends_on', entry: { component: 'tgw/hub', stage: 'network' }, reason: 'another stack (stage network)', location: expect.any(Object) },
    ]);
    expect(byName.vpc.dependencies).toBeUndefined();
    const warnings = r.warnings.filter((w) => w.code === 'deployment/external-dependency');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain('terraform/tgw/attachment → tgw/hub (another stack (stage network))');
    expect(warnings[0].location?.file).toBe('stacks/deploy/prod/us-east-1.yaml');

    const graph = buildComponentGraph(r);
    expect(renderGraph(r, graph, 'ascii')).toContain('terraform/tgw/attachment  ← tgw/hub (stage=network): another stack (stage network)');
    const json = JSON.parse(renderGraph(r, graph, 'json'));
    expect(json.external).toEqual([{ from: 'terraform/tgw/attachment', to: 'tgw/hub (stage=network)', reason: 'another stack (stage network)' }]);
    expect(json.edges).toContainEqual({ from: 'terraform/tgw/attachment', to: 'terraform/vpc', kind: 'explicit' });
    expect(renderGraph(r, graph, 'dot')).toContain('"tgw/hub (stage=network)" -> "terraform/tgw/attachment" [style=dashed, label="outside"];');
    expect(renderGraph(r, graph, 'mermaid')).toMatch(/x0\["tgw\/hub \(stage=network\)"\]\n {2}x0 -\.->\|outside\| n\d/);
  });

  it('an entry naming a component the deployment does not deploy orders nothing, and is shown', async () => {
    const dir = repo({ stacksConfig: ['  name_pattern: "{environment}-{stage}"'], stacks, stack: 'deploy/prod/us-east-1', components: ['tgw/attachment'] });
    const { byName } = await resolveScenario(dir);
    expect(byName['tgw/attachment'].depends_on).toEqual([]);
    expect(byName['tgw/attachment'].dependencies?.map((x) => x.reason)).toEqual(['no component "vpc" in this deployment', 'another stack (stage network)']);
  });

  it('complete: top-level-component1 depends on test/test-component-override and on test/test-component with its own stage', async () => {
    // tests/fixtures/scenarios/complete/stacks/catalog/terraform/top-level-component1.yaml: depends_on 1: test/test-component-override,
    // 2: test/test-component with stage "dev" (the stack's own stage: the same stack, tenant1-ue2-dev).
    const dir = repo({
      stacksConfig: ['  name_pattern: "{tenant}-{environment}-{stage}"'],
      stacks: {
        'orgs/cp/tenant1/dev/us-east-2.yaml': [
          'vars: { tenant: tenant1, environment: ue2, stage: dev }',
          'components:',
          '  terraform:',
          ...component('test/test-component'),
          ...component('test/test-component-override'),
          ...component('top-level-component1', [
            '      settings:',
            '        depends_on:',
            '          1:',
            '            component: "test/test-component-override"',
            '          2:',
            '            component: "test/test-component"',
            '            stage: "dev"',
          ]),
        ],
      },
      stack: 'orgs/cp/tenant1/dev/us-east-2',
      components: ['test/test-component', 'test/test-component-override', 'top-level-component1'],
    });
    const { byName } = await resolveScenario(dir);
    // internal/exec/describe_dependents_test.go: test/test-component in tenant1-ue2-dev has dependent top-level-component1 (same stack).
    expect(byName['top-level-component1'].depends_on).toEqual(['terraform/test/test-component', 'terraform/test/test-component-override']);
    expect(byName['top-level-component1'].wave).toBe(1);
    expect(byName['top-level-component1'].dependencies).toBeUndefined();
  });
});

describe('Atmos dependencies.components', () => {
  // tests/fixtures/scenarios/dependencies-components-inheritance: name_template "{{.vars.stage}}"; catalog/base gives vpc
  // dependencies on account-settings and iam-baseline; deploy/dev replaces them.
  const stacks = {
    'catalog/base.yaml': [
      'components:',
      '  terraform:',
      ...component('vpc', ['      dependencies:', '        components:', '          - component: account-settings', '          - component: iam-baseline']),
    ],
    'deploy/dev.yaml': [
      'import:',
      '  - catalog/base',
      'vars:',
      '  stage: dev',
      'components:',
      '  terraform:',
      ...component('account-settings'),
      ...component('iam-baseline'),
      ...component('network-baseline'),
      '    vpc:',
      '      dependencies:',
      '        components:',
      '          - component: network-baseline',
      '          - component: security-group',
      '            stack: shared',
      ...component('subnet', ['      dependencies:', '        components:', '          - component: vpc']),
      ...component('rds', ['      dependencies:', '        components:', '          - component: vpc', '          - component: subnet']),
      ...component('eks', ['      dependencies:', '        components:', '          - component: vpc', '            stack: "{{ .vars.stage }}"']),
    ],
  };
  const components = ['account-settings', 'iam-baseline', 'network-baseline', 'vpc', 'subnet', 'rds', 'eks'];

  it('same-stack entries (a templated stack too) are edges; the child list replaces the base one', async () => {
    const { byName } = await resolveScenario(repo({ stacksConfig: ['  name_template: "{{.vars.stage}}"'], stacks, stack: 'deploy/dev', components }));
    // internal/exec/describe_dependents_test.go TestDescribeDependents_DependenciesComponentsInheritance:
    // vpc (dev) has dependents eks (templated stack), rds, subnet; subnet has dependent rds; rds has none;
    // "account-settings has no dependents (child replaced parent deps)", "iam-baseline has no dependents".
    expect(byName.eks.depends_on).toEqual(['terraform/vpc']);
    expect(byName.subnet.depends_on).toEqual(['terraform/vpc']);
    expect(byName.rds.depends_on).toEqual(['terraform/subnet', 'terraform/vpc']);
    expect(byName.vpc.depends_on).toEqual(['terraform/network-baseline']);
    expect(byName.vpc.dependencies).toEqual([
      { source: 'dependencies.components', entry: { component: 'security-group', stack: 'shared' }, reason: 'another stack (shared)', location: expect.any(Object) },
    ]);
    expect([byName['account-settings'].wave, byName.vpc.wave, byName.subnet.wave, byName.rds.wave]).toEqual([0, 1, 2, 3]);
  });

  it('with list_merge_strategy append the base list is kept', async () => {
    const dir = repo({ stacksConfig: ['  name_template: "{{.vars.stage}}"'], atmos: ['settings:', '  list_merge_strategy: append'], stacks, stack: 'deploy/dev', components });
    const { byName } = await resolveScenario(dir);
    // internal/exec/describe_dependents_test.go TestDescribeDependents_DependenciesComponentsInheritance_WithAppendMerge:
    // account-settings (dev) has dependent vpc (dev).
    expect(byName.vpc.depends_on).toEqual(['terraform/account-settings', 'terraform/iam-baseline', 'terraform/network-baseline']);
  });

  it('scoped: a deployment resolves only its own stacks (app-b, which would fail, is never evaluated)', async () => {
    // tests/fixtures/scenarios/dependencies-scoped-evaluation; cmd/list/dependencies_scoped_test.go
    // TestExecuteListDependenciesCmd_ScopedEvaluationAvoidsUnrelatedStack: require.NoError for app-a.
    const dir = repo({
      stacks: {
        'deploy/app-a.yaml': [
          'vars:',
          '  stage: app-a',
          'components:',
          '  terraform:',
          ...component('root'),
          ...component('child', ['      dependencies:', '        components:', '          - component: root']),
        ],
        'deploy/app-b.yaml': [
          'vars:',
          '  stage: app-b',
          'components:',
          '  terraform:',
          ...component('broken', ['      vars:', `        upstream_value: '{{ fail "app-b must never be evaluated" }}'`]),
        ],
      },
      stack: 'deploy/app-a',
      components: ['root', 'child'],
    });
    const { byName } = await resolveScenario(dir);
    expect(byName.child.depends_on).toEqual(['terraform/root']);
    expect(byName.child.wave).toBe(1);
  });
});

describe('Atmos dependencies inherited through metadata.inherits', () => {
  // Atmos internal/exec/stack_processor_merge.go mergeComponentConfigurations: dependencies = Merge(GlobalDependencies,
  // BaseComponentDependencies, ComponentDependencies) with the component's merge config; settings (depends_on) merge the same way.
  const stacks = (own: string[]) => ({
    'dev.yaml': [
      'terraform:',
      '  dependencies:',
      '    components:',
      '      - component: baseline',
      'components:',
      '  terraform:',
      ...component('baseline'),
      ...component('vpc'),
      ...component('dns'),
      ...component('db'),
      '    app/defaults:',
      '      metadata:',
      '        type: abstract',
      '      settings:',
      '        depends_on:',
      '          1:',
      '            component: dns',
      '      dependencies:',
      '        components:',
      '          - component: vpc',
      '    app:',
      '      metadata:',
      '        component: mock',
      '        inherits: [app/defaults]',
      ...own,
    ],
  });
  const components = ['baseline', 'vpc', 'dns', 'db', 'app'];

  it("a base's settings.depends_on and dependencies.components are the component's own edges", async () => {
    // tests/fixtures/scenarios/complete/stacks/catalog/terraform/derived-component-2.yaml (inherits + settings.depends_on);
    // internal/exec/stack_processor_merge_test.go TestMergeComponentConfigurations_Dependencies "same-list-keys-replace-by-default":
    // the base's list replaces the global one, so baseline is not a dependency of app.
    const { byName } = await resolveScenario(repo({ stacks: stacks([]), stack: 'dev', components }));
    expect(byName.app.depends_on).toEqual(['terraform/dns', 'terraform/vpc']);
    // ... and the component's own list replaces its base's: assert.Equal(t, []any{{"component": "component-vpc"}}, deps["components"]).
    const own = await resolveScenario(repo({ stacks: stacks(['      dependencies:', '        components:', '          - component: db']), stack: 'dev', components }));
    expect(own.byName.app.depends_on).toEqual(['terraform/db', 'terraform/dns']);
  });

  it('with list_merge_strategy append: global, base and own lists all order the component', async () => {
    // TestMergeComponentConfigurations_Dependencies "same-list-keys-append-when-strategy-is-append":
    // components == [global-baseline, base-vpc, component-vpc].
    const dir = repo({ atmos: ['settings:', '  list_merge_strategy: append'], stacks: stacks(['      dependencies:', '        components:', '          - component: db']), stack: 'dev', components });
    const { byName } = await resolveScenario(dir);
    expect(byName.app.depends_on).toEqual(['terraform/baseline', 'terraform/db', 'terraform/dns', 'terraform/vpc']);
    // The global list is every component's (a component naming itself orders nothing): vpc depends on baseline too.
    expect(byName.vpc.depends_on).toEqual(['terraform/baseline']);
    expect(byName.baseline.depends_on).toEqual([]);
    expect(byName.app.wave).toBe(2);
  });
});
