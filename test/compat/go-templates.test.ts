/**
 * Go templates in stack manifests against Atmos's goldens: the `complete` scenario's
 * `top-level-component1` in `tenant1-ue2-dev` (fixture re-written under templates/complete).
 *
 * Golden: cloudposse/atmos tests/snapshots/
 *   TestCLICommands_describe_component_with_component_name_(backward_compatibility).stdout.golden
 * (`atmos describe component top-level-component1 -s tenant1-ue2-dev`, `vars:` section), run
 * with USER=user (the golden's `provisioned_by_user: user`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAtmosConfig } from '../../src/config/atmos.js';
import { YamlFileCache } from '../../src/config/files.js';
import { type Diagnostic, DiagnosticError } from '../../src/diagnostics/index.js';
import { evaluateGoTemplates } from '../../src/resolve/go-templates.js';
import { stackNameOf, workspaceOf } from '../../src/resolve/workspace.js';
import { makeRepo } from '../helpers.js';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';

/** The first diagnostic `fn` fails with (it must fail with a DiagnosticError). */
function firstDiagnostic(fn: () => unknown): Diagnostic {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiagnosticError) return e.diagnostics[0];
    throw e;
  }
  throw new Error('expected a DiagnosticError');
}

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates', 'complete');

describe('complete scenario: top-level-component1 in tenant1-ue2-dev', () => {
  it('matches Atmos on all 18 vars', () => {
    const files = new YamlFileCache(DIR);
    const cfg = loadAtmosConfig({ cwd: DIR, files });
    const stack = loadStack([{ path: 'orgs/cp/tenant1/dev/us-east-2' }], { repoRoot: DIR, stacksBasePath: cfg.stacksBasePath, listMergeStrategy: cfg.listMergeStrategy }, files);
    const merged = resolveComponent(stack, 'terraform', 'top-level-component1');
    const env = { USER: 'user' };
    const file = 'orgs/cp/tenant1/dev/us-east-2';
    // atmos.yaml stacks.name_template: "{{ .vars.tenant }}-{{ .vars.environment }}-{{ .vars.stage }}"
    const naming = { ...cfg, stackNaming: { nameTemplate: { text: '{{ .vars.tenant }}-{{ .vars.environment }}-{{ .vars.stage }}' } } };
    const input = {
      stack: { file },
      component: merged.name,
      module: merged.component,
      metadata: merged.metadata,
      vars: merged.vars,
      settings: merged.settings,
      backendType: merged.backend_type,
      location: { file, line: 1, col: 1 },
    };
    const name = stackNameOf(naming, input);
    expect(name).toBe('tenant1-ue2-dev');
    const c = evaluateGoTemplates(merged, { name, file, workspace: workspaceOf(naming, input) }, cfg.templates, env);
    expect(c.vars).toEqual({
      enabled: true, // golden: "enabled: true  # ○ [2] catalog/terraform/vpc.yaml:44"
      environment: 'ue2', // golden: "environment: ue2"
      namespace: 'cp', // golden: "namespace: cp"
      region: 'us-east-2', // golden: "region: us-east-2"
      service_1_name: 'top-level-service-1', // golden: "service_1_name: top-level-service-1"
      service_2_name: 'top-level-service-2', // golden: "service_2_name: top-level-service-2"
      stage: 'dev', // golden: "stage: dev"
      tenant: 'tenant1', // golden: "tenant: tenant1"
      tags: {
        atlantis_project: 'tenant1-ue2-dev-top-level-component1', // golden: "atlantis_project: tenant1-ue2-dev-top-level-component1"
        atmos_component: '{{ .atmos_component }}', // golden: "atmos_component: '{{ .atmos_component }}'" (the raw-string escape)
        atmos_component_description: 'Top-Level-Component1 component provisioned in the stack "tenant1-ue2-dev"', // golden: "atmos_component_description: >- Top-Level-Component1 component provisioned in the stack \"tenant1-ue2-dev\""
        atmos_manifest: 'orgs/cp/tenant1/dev/us-east-2', // golden: "atmos_manifest: orgs/cp/tenant1/dev/us-east-2"
        atmos_stack: 'tenant1-ue2-dev', // golden: "atmos_stack: tenant1-ue2-dev"
        provisioned_by_user: 'user', // golden: "provisioned_by_user: user"
        region: 'us-east-2', // golden: "region: us-east-2" (under tags)
        spacelift_stack: 'tenant1-ue2-dev-top-level-component1', // golden: "spacelift_stack: tenant1-ue2-dev-top-level-component1"
        terraform_component: 'top-level-component1', // golden: "terraform_component: top-level-component1"
        terraform_workspace: 'tenant1-ue2-dev', // golden: "terraform_workspace: tenant1-ue2-dev"
      },
    });
  });
});

describe('refusals', () => {
  it('an unsupported function is a located error naming it', () => {
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates', 'unsupported');
    const files = new YamlFileCache(dir);
    const cfg = loadAtmosConfig({ cwd: dir, files });
    const stack = loadStack([{ path: 'dev' }], { repoRoot: dir, stacksBasePath: cfg.stacksBasePath, listMergeStrategy: cfg.listMergeStrategy }, files);
    const d = firstDiagnostic(() => evaluateGoTemplates(resolveComponent(stack, 'terraform', 'app'), { name: 'dev', file: 'dev' }, cfg.templates, {}));
    expect(d.code).toBe('stacks/template');
    expect(d.message).toBe('vars.vpc_id: function "atmos.Component" not defined');
    expect(d.hint).toContain('atmos.Component is not supported yet');
    expect(d.location).toMatchObject({ file: 'stacks/dev.yaml', line: 6, col: 17 });
  });
});

describe('imports with a context and .tmpl files', () => {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates', 'import-context');
  const load = (top: string) => {
    const files = new YamlFileCache(dir);
    const cfg = loadAtmosConfig({ cwd: dir, files });
    return { cfg, stack: loadStack([{ path: top }], { repoRoot: dir, stacksBasePath: cfg.stacksBasePath, listMergeStrategy: cfg.listMergeStrategy, templates: cfg.templates }, files) };
  };

  it('renders a .tmpl file with its import context, keys included', () => {
    // atmos internal/exec/stack_processor_template_test.go "template with context":
    // assert.Equal(t, "production", vars["environment"]); assert.Equal(t, "value", vars["static"]); assert.Equal(t, 2, vars["computed"])
    const { stack } = load('deploy');
    expect(resolveComponent(stack, 'terraform', 'my-component').vars).toEqual({ environment: 'production', static: 'value', computed: 2 });
  });

  it('renders a .tmpl file without context when it can, and leaves component templates for later', () => {
    // atmos internal/exec/stack_processor_template_test.go "yaml template without context":
    // assert.Equal(t, "value", vars["static"]); assert.Equal(t, 15, vars["calculated"])
    // A template needing the component (`.atmos_component`) fails there and the raw content is kept
    // (stack_processor_utils.go: "Fall back to the raw content — these templates will be processed later").
    const { stack, cfg } = load('deploy');
    const c = resolveComponent(stack, 'terraform', 'test-component');
    expect(c.vars).toEqual({ static: 'value', calculated: 15, later: '{{ .atmos_component }}' });
    expect(evaluateGoTemplates(c, { name: 'deploy', file: 'deploy' }, cfg.templates, {}).vars).toEqual({ static: 'value', calculated: 15, later: 'test-component' });
  });

  it('renders a missing context value as <no value> with ignore_missing_template_values', () => {
    const { stack } = load('deploy');
    expect(resolveComponent(stack, 'terraform', 'plain').vars).toEqual({ value: '<no value>' });
  });

  it('renders an import path with the vars of the imports before it', () => {
    // atmos internal/exec/stack_processor_utils.go renderImportPath: "an import can reference values
    // (settings/vars/env) defined by earlier imports in this manifest, plus this import's own context"
    const { stack } = load('path');
    expect(resolveComponent(stack, 'terraform', 'extra').vars).toEqual({ stage: 'dev', a: 1 });
    const d = firstDiagnostic(() => load('missing-path'));
    expect(d.code).toBe('stacks/template');
    expect(d.message).toContain('map has no entry for key "nope"');
    expect(d.location).toMatchObject({ file: 'stacks/missing-path.yaml', line: 3 });
  });

  it('a value missing from an explicit context is a located error', () => {
    // atmos template_utils.go: missingkey=error unless ignore_missing_template_values ("map has no entry for key")
    const d = firstDiagnostic(() => load('missing'));
    expect(d.code).toBe('stacks/template');
    expect(d.message).toContain('map has no entry for key "environment"');
    expect(d.location).toMatchObject({ file: 'stacks/catalog/component.yaml.tmpl', line: 5 });
  });
});

describe('templates.settings', () => {
  const settingsOf = (yaml: string) => loadAtmosConfig({ cwd: makeRepo({ 'atmos.yaml': yaml }) }).templates;
  const comp = (vars: Record<string, unknown>, settings: Record<string, unknown> = {}) => ({
    name: 'c',
    component: 'c',
    vars,
    settings,
    env: {},
    metadata: {},
    backend_type: null,
    backend: {},
    providers: {},
    inheritance: [],
    abstract: false,
    enabled: true,
    defined: true,
    sources: [],
  });

  it('uses Atmos defaults: on without atmos.yaml, off when atmos.yaml does not enable them', () => {
    // atmos pkg/config/default.go (Templates.Settings.Enabled: true, used only when no atmos.yaml is found)
    expect(loadAtmosConfig({ cwd: makeRepo({}) }).templates).toMatchObject({ enabled: true, sprig: true, gomplate: true, evaluations: 1, delimiters: ['{{', '}}'] });
    expect(settingsOf('stacks: { base_path: stacks }\n')).toMatchObject({ enabled: false, sprig: false, gomplate: false });
  });

  it('evaluates as many passes as templates.settings.evaluations says', () => {
    // atmos template_utils.go: "for i := 0; i < evaluations; i++" renders the previous pass's output again.
    const c = comp({ a: '{{ .settings.x }}' }, { x: '{{ .vars.b }}' });
    const one = settingsOf('templates: { settings: { enabled: true, evaluations: 1 } }\n');
    const two = settingsOf('templates: { settings: { enabled: true, evaluations: 2 } }\n');
    expect(evaluateGoTemplates({ ...c, vars: { ...c.vars, b: 'B' } }, { name: 's', file: 's' }, one, {}).vars.a).toBe('{{ .vars.b }}');
    expect(evaluateGoTemplates({ ...c, vars: { ...c.vars, b: 'B' } }, { name: 's', file: 's' }, two, {}).vars.a).toBe('B');
  });

  it("reads env from atmos.yaml's and the component's templates.settings.env, the component's winning", () => {
    // atmos template_utils.go: "Stack manifest env overrides CLI config env (same precedence as the merge above)"
    const s = settingsOf('templates: { settings: { enabled: true, sprig: { enabled: true }, env: { A: cli, B: cli } } }\n');
    const c = comp({ a: '{{ env "A" }} {{ env "B" }} {{ env "C" }}' }, { templates: { settings: { env: { B: 'stack' } } } });
    expect(evaluateGoTemplates(c, { name: 's', file: 's' }, s, { C: 'run' }).vars.a).toBe('cli stack run');
  });

  it('uses custom delimiters and refuses a delimiters value that is not two strings', () => {
    const s = settingsOf("templates: { settings: { enabled: true, delimiters: ['${{', '}}'] } }\n");
    expect(evaluateGoTemplates(comp({ a: '${{ .atmos_stack }} {{ x }}' }), { name: 'st', file: 'f' }, s, {}).vars.a).toBe('st {{ x }}');
    // atmos template_utils.go: "'delimiters' must be an array with two string items: left and right delimiter"
    expect(() => settingsOf("templates: { settings: { delimiters: ['{{'] } }\n")).toThrow(/delimiters must be a list of two non-empty strings/);
  });
});
