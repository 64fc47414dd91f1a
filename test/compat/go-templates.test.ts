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
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { atmosStackName, evaluateGoTemplates } from '../../src/resolve/go-templates.js';
import { loadStack, resolveComponent } from '../../src/stacks/index.js';

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
    const name = atmosStackName(merged, file, { nameTemplate: '{{ .vars.tenant }}-{{ .vars.environment }}-{{ .vars.stage }}' }, cfg.templates, env);
    expect(name).toBe('tenant1-ue2-dev');
    const c = evaluateGoTemplates(merged, { name, file }, cfg.templates, env);
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
    let err: unknown;
    try {
      evaluateGoTemplates(resolveComponent(stack, 'terraform', 'app'), { name: 'dev', file: 'dev' }, cfg.templates, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiagnosticError);
    const d = (err as DiagnosticError).diagnostics[0];
    expect(d.code).toBe('stacks/template');
    expect(d.message).toBe('vars.vpc_id: function "atmos.Component" not defined');
    expect(d.hint).toContain('atmos.Component is not supported yet');
    expect(d.location).toMatchObject({ file: 'stacks/dev.yaml', line: 6, col: 17 });
  });
});
