/**
 * Every stack of a repository (`atmos describe stacks`) loads as a deployment's stacks load:
 * a `.yaml.tmpl` manifest rendered, an import's `context:` rendering the file it imports
 * (Atmos internal/exec/stack_processor_utils.go `processYAMLConfigFileWithContextInternal`),
 * and each component's own Go templates evaluated with its stack name (Atmos
 * internal/exec/utils.go `ProcessComponentConfig` → `ProcessTmplWithDatasources`).
 */
import { describe, expect, it } from 'vitest';
import { loadAtmosConfig } from '../../src/config/atmos.js';
import { loadRepositoryStacks } from '../../src/resolve/stack-config.js';
import { makeRepo } from '../helpers.js';

const repo = () =>
  makeRepo({
    'atmos.yaml': [
      'components:',
      '  terraform:',
      '    base_path: components/terraform',
      'stacks:',
      '  base_path: stacks',
      '  included_paths: ["orgs/**/*"]',
      '  name_pattern: "{stage}"',
      'templates:',
      '  settings:',
      '    enabled: true',
      '    sprig: { enabled: true }',
      '',
    ].join('\n'),
    'stacks/catalog/vpc.yaml.tmpl': ['components:', '  terraform:', '    vpc:', '      vars:', '        cidr: "10.{{ .index }}.0.0/16"', ''].join('\n'),
    'stacks/orgs/dev.yaml': [
      'import:',
      '  - path: catalog/vpc',
      '    context: { index: 7 }',
      'vars:',
      '  stage: dev',
      'components:',
      '  terraform:',
      '    vpc:',
      '      vars:',
      '        name: "{{ .atmos_component }}-{{ .atmos_stack }}"',
      '',
    ].join('\n'),
    'stacks/orgs/prod.yaml.tmpl': ['vars:', '  stage: prod', 'components:', '  terraform:', '    api:', '      vars:', '        size: {{ add 1 2 }}', ''].join('\n'),
  });

describe('loadRepositoryStacks (describe across all stacks)', () => {
  it('renders .yaml.tmpl manifests and import contexts, and evaluates component templates', () => {
    const cfg = loadAtmosConfig({ cwd: repo() });
    const all = loadRepositoryStacks(cfg);
    const vars = Object.fromEntries(all.stacks.map((s) => [s.file, Object.fromEntries(Object.entries(s.components).map(([n, c]) => [n, c.vars]))]));
    expect(vars).toEqual({
      'stacks/orgs/dev.yaml': { vpc: { stage: 'dev', cidr: '10.7.0.0/16', name: 'vpc-dev' } },
      'stacks/orgs/prod.yaml.tmpl': { api: { stage: 'prod', size: 3 } },
    });
    expect(all.instances).toBe(2);
  });
});
