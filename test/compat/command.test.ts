/**
 * Atmos compatibility: a component's `command`. Atmos internal/exec/stack_processor_merge.go
 * (mergeComponentConfigurations, "finalComponentCommand"): atmos.yaml `components.terraform.command`,
 * then the stack's `terraform.command` (GlobalCommand), then the base component's, the
 * component's own, and its `overrides.command`, each set one winning.
 */
import { describe, expect, it } from 'vitest';
import { resolveScenario, scenarioRepo as repo } from './deployment-repo.js';

describe('Atmos component command', () => {
  it('atmos.yaml < terraform: section < base (metadata.inherits) < own < overrides', async () => {
    const dir = repo({
      terraform: ['    command: from-atmos-yaml'],
      stacks: {
        'dev.yaml': [
          'components:',
          '  terraform:',
          '    base:',
          '      metadata:',
          '        type: abstract',
          '      command: from-base',
          '    plain:',
          '      metadata:',
          '        component: mock',
          '    inherited:',
          '      metadata:',
          '        component: mock',
          '        inherits: [base]',
          '    own:',
          '      metadata:',
          '        component: mock',
          '        inherits: [base]',
          '      command: from-own',
          '    overridden:',
          '      metadata:',
          '        component: mock',
          '      command: from-own',
          '      overrides:',
          '        command: from-overrides',
        ],
      },
      stack: 'dev',
      components: ['plain', 'inherited', 'own', 'overridden'],
    });
    const { byName } = await resolveScenario(dir);
    // stack_processor_merge.go:366-368: finalComponentCommand = AtmosConfig.Components.Terraform.Command
    expect(byName.plain.command).toBe('from-atmos-yaml');
    // :382-384 result.BaseComponentCommand; :385-387 result.ComponentCommand; :388-390 result.ComponentOverridesCommand
    expect(byName.inherited.command).toBe('from-base');
    expect(byName.own.command).toBe('from-own');
    expect(byName.overridden.command).toBe('from-overrides');

    const global = repo({
      terraform: ['    command: from-atmos-yaml'],
      stacks: { 'dev.yaml': ['terraform:', '  command: from-stack', 'components:', '  terraform:', '    plain:', '      metadata:', '        component: mock'] },
      stack: 'dev',
      components: ['plain'],
    });
    // :379-381 opts.GlobalCommand (the stack's terraform.command)
    expect((await resolveScenario(global)).byName.plain.command).toBe('from-stack');
  });
});
