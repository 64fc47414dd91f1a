/**
 * Atmos compatibility: `!literal`. Atmos clears the tag when loading and keeps the value
 * verbatim, "bypass[ing] all template processing" (pkg/utils/yaml_utils.go
 * processCustomTagsInner), so a `{{ ... }}` meant for Terraform, Helm or another tool survives
 * the Go template pass that renders its neighbours.
 */
import { describe, expect, it } from 'vitest';
import { resolveScenario, scenarioRepo as repo } from './deployment-repo.js';

const templating = (evaluations = 1) => ['templates:', '  settings:', '    enabled: true', `    evaluations: ${evaluations}`];

const stacks = {
  'dev.yaml': [
    'vars:',
    '  stage: dev',
    'components:',
    '  terraform:',
    '    mock:',
    '      vars:',
    '        email: !literal "{{external.email}}"',
    '        config: !literal "{{ .Values.ingress.class }}"',
    '        db_users:',
    '          - !literal "{{external.email}}"',
    '          - !literal "{{external.admin}}"',
    '          - regular_user',
    `        rendered: '{{ .vars.stage }}'`,
    '      settings:',
    '        script: !literal |',
    '          echo "{{ .vars.stage }} ${USER}"',
  ],
};

describe('Atmos !literal', () => {
  it('keeps {{ ... }} verbatim through the Go template pass; the templates beside it are rendered', async () => {
    for (const evaluations of [1, 2]) {
      const { byName } = await resolveScenario(repo({ atmos: templating(evaluations), stacks, stack: 'dev', components: ['mock'] }));
      const vars = byName.mock.vars as Record<string, unknown>;
      // pkg/utils/yaml_utils_test.go TestLiteralTag_PreservesTemplateSyntax:
      // assert.Equal(t, "{{external.email}}", result["email"]); assert.Equal(t, "{{ .Values.ingress.class }}", result["config"])
      expect(vars.email).toBe('{{external.email}}');
      expect(vars.config).toBe('{{ .Values.ingress.class }}');
      // TestLiteralTag_InList: users[0] "{{external.email}}", users[1] "{{external.admin}}", users[2] "regular_user"
      expect(vars.db_users).toEqual(['{{external.email}}', '{{external.admin}}', 'regular_user']);
      // TestLiteralTag_MultilineValue (a block scalar, kept as written) in settings.
      expect((byName.mock.settings as Record<string, unknown>).script).toBe('echo "{{ .vars.stage }} ${USER}"\n');
      expect(vars.rendered).toBe('dev');
    }
  });

  it('with templating off, a file whose only {{ ... }} are !literal holds no template to warn about', async () => {
    const only = { 'dev.yaml': ['components:', '  terraform:', '    mock:', '      vars:', '        email: !literal "{{external.email}}"'] };
    const { r, byName } = await resolveScenario(repo({ atmos: ['templates:', '  settings:', '    enabled: false'], stacks: only, stack: 'dev', components: ['mock'] }));
    expect(byName.mock.vars.email).toBe('{{external.email}}');
    expect(r.warnings.filter((w) => w.code === 'stacks/unevaluated-template')).toEqual([]);
  });
});
