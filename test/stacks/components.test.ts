import { describe, expect, it } from 'vitest';
import { locOf } from '../../src/yaml/index.js';
import { resolveComponent } from '../../src/stacks/index.js';
import { diag, repo, tf, where } from './helpers.js';

describe('component configuration (SPEC 3.1 "Component config")', () => {
  const r = repo({
    'stacks/mixins/globals.yaml': `
      vars:
        namespace: acme
        level: root
      settings:
        team: platform
      env:
        TF_LOG: WARN
      terraform:
        vars:
          level: terraform
        settings:
          spacelift: { enabled: true }
        env:
          TF_IN_AUTOMATION: "1"
        backend_type: s3
        backend:
          s3:
            bucket: acme-tfstate
            region: us-east-1
          gcs:
            bucket: acme-gcs
        providers:
          aws:
            region: us-east-1
      helmfile:
        vars:
          level: helmfile
    `,
    'stacks/catalog/vpc.yaml': `
      components:
        terraform:
          vpc/defaults:
            metadata:
              type: abstract
              component: vpc
              labels: { tier: network }
            vars:
              cidr: 10.0.0.0/16
              level: base
              nat: one
            providers:
              aws:
                assume_role: base-role
          vpc:
            metadata:
              component: vpc
              inherits: [vpc/defaults]
            vars:
              nat: per-az
          vpc/flowlogs:
            metadata:
              inherits: [vpc/defaults]
            vars:
              flow_logs: true
            backend:
              s3:
                key: custom
        helmfile:
          nginx:
            vars:
              replicas: 2
    `,
    'stacks/dev.yaml': `
      import:
        - mixins/globals
        - catalog/vpc
      vars:
        stage: dev
      components:
        terraform:
          vpc:
            vars:
              cidr: 10.1.0.0/16
    `,
  });
  const s = r.load(['dev']);

  it('merges root, terraform section, bases, the component (later wins)', () => {
    const c = tf(s, 'vpc');
    expect(c.vars).toEqual({ namespace: 'acme', level: 'base', stage: 'dev', cidr: '10.1.0.0/16', nat: 'per-az' });
    expect(c.settings).toEqual({ team: 'platform', spacelift: { enabled: true } });
    expect(c.env).toEqual({ TF_LOG: 'WARN', TF_IN_AUTOMATION: '1' });
    expect(c.providers).toEqual({ aws: { region: 'us-east-1', assume_role: 'base-role' } });
    expect(c.inheritance).toEqual(['vpc/defaults']);
    expect(c.defined).toBe(true);
    expect(c.sources).toEqual(['stacks/catalog/vpc.yaml', 'stacks/dev.yaml']);
    expect(c.location).toEqual({ file: 'stacks/dev.yaml', line: 8, col: 5 });
  });

  it('backend_type and backend[backend_type] from terraform:, then bases, then the component, with Atmos defaults', () => {
    const c = tf(s, 'vpc');
    expect(c.backend_type).toBe('s3');
    expect(c.backend).toEqual({ bucket: 'acme-tfstate', region: 'us-east-1', workspace_key_prefix: 'vpc' });
    const f = tf(s, 'vpc/flowlogs');
    expect(f.backend).toEqual({ bucket: 'acme-tfstate', region: 'us-east-1', key: 'custom', workspace_key_prefix: 'vpc-flowlogs' });
  });

  it('metadata is inherited except inherits and type; the module directory never comes from a base', () => {
    const f = tf(s, 'vpc/flowlogs');
    expect(f.metadata).toEqual({ component: 'vpc', labels: { tier: 'network' }, inherits: ['vpc/defaults'] });
    expect(f.component).toBe('vpc/flowlogs');
    expect(f.abstract).toBe(false);
    const v = tf(s, 'vpc');
    expect(v.component).toBe('vpc');
    const base = tf(s, 'vpc/defaults');
    expect(base.abstract).toBe(true);
    expect(base.metadata.type).toBe('abstract');
  });

  it('a component no loaded stack defines still receives the root and terraform: sections', () => {
    const c = tf(s, 'ecr/api');
    expect(c.defined).toBe(false);
    expect(c.component).toBe('ecr/api');
    expect(c.vars).toEqual({ namespace: 'acme', level: 'terraform', stage: 'dev' });
    expect(c.backend).toEqual({ bucket: 'acme-tfstate', region: 'us-east-1', workspace_key_prefix: 'ecr-api' });
    expect(c.providers).toEqual({ aws: { region: 'us-east-1' } });
    expect(c.metadata).toEqual({});
    expect(c.inheritance).toEqual([]);
    expect(c.sources).toEqual([]);
    expect(c.location).toBeUndefined();
  });

  it("options.inherits replaces the component's own metadata.inherits (a deployment may declare them)", () => {
    const c = tf(s, 'ecr/api', ['vpc/defaults']);
    expect(c.vars.cidr).toBe('10.0.0.0/16');
    expect(c.inheritance).toEqual(['vpc/defaults']);
    expect(c.metadata.inherits).toEqual(['vpc/defaults']);
    const none = tf(s, 'vpc', []);
    expect(none.vars.nat).toBe('per-az');
    expect(none.vars.cidr).toBe('10.1.0.0/16');
    expect(none.inheritance).toEqual([]);
    const d = diag(() => resolveComponent(s, 'terraform', 'x', { inherits: ['nope'], location: { file: 'deployments/d.yaml', line: 9, col: 7 } }));
    expect(d.message).toBe('terraform component "x" inherits from "nope", which no loaded stack file defines');
    expect(where(d)).toBe('deployments/d.yaml:9:7');
  });

  it('helmfile components use the helmfile: section and have no backend or providers', () => {
    const h = resolveComponent(s, 'helmfile', 'nginx');
    expect(h.vars).toEqual({ namespace: 'acme', level: 'helmfile', stage: 'dev', replicas: 2 });
    expect(h.backend_type).toBeNull();
    expect(h.backend).toEqual({});
    expect(h.providers).toEqual({});
    expect(s.componentNames).toEqual({ terraform: ['vpc', 'vpc/defaults', 'vpc/flowlogs'], helmfile: ['nginx'] });
  });

  it('positions survive: every resolved value points at the file and line that won', () => {
    const c = tf(s, 'vpc');
    const at = (m: unknown, k: string) => {
      const l = locOf(m, k);
      return l && `${l.file}:${l.line}`;
    };
    expect(at(c.vars, 'cidr')).toBe('stacks/dev.yaml:10');
    expect(at(c.vars, 'nat')).toBe('stacks/catalog/vpc.yaml:20');
    expect(at(c.vars, 'level')).toBe('stacks/catalog/vpc.yaml:10');
    expect(at(c.vars, 'namespace')).toBe('stacks/mixins/globals.yaml:2');
    expect(at(c.vars, 'stage')).toBe('stacks/dev.yaml:5');
    expect(at(c.settings, 'spacelift')).toBe('stacks/mixins/globals.yaml:12');
    expect(at(c.providers.aws, 'assume_role')).toBe('stacks/catalog/vpc.yaml:14');
    expect(at(c.backend, 'bucket')).toBe('stacks/mixins/globals.yaml:18');
    expect(at(c.metadata, 'labels')).toBe('stacks/catalog/vpc.yaml:7');
  });
});

describe('inheritance (SPEC 3.1 "Inheritance")', () => {
  it('component: first, then metadata.inherits in order (later wins); the component wins over all; recursive', () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            legacy:
              vars: { from: legacy, legacy: 1 }
            a:
              vars: { from: a, a: 1 }
            b:
              metadata: { inherits: [c] }
              vars: { from: b, b: 1 }
            c:
              vars: { from: c, c: 1, shadow: c }
            app:
              component: legacy
              metadata:
                inherits: [a, b]
              vars: { own: 1 }
            app2:
              metadata:
                inherits: [b, a]
      `,
    });
    const s = r.load(['dev']);
    const app = tf(s, 'app');
    expect(app.vars).toEqual({ from: 'b', legacy: 1, a: 1, c: 1, shadow: 'c', b: 1, own: 1 });
    expect(app.inheritance).toEqual(['b', 'c', 'a', 'legacy']);
    // the top-level component: names the module directory (legacy Atmos)
    expect(app.component).toBe('legacy');
    const app2 = tf(s, 'app2');
    expect(app2.vars.from).toBe('a');
    expect(app2.inheritance).toEqual(['a', 'b', 'c']);
    expect(app2.component).toBe('app2');
  });

  it("a base's own bases are merged where Atmos merges them (inherits [a, b] with b → c: c wins over a)", () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            a: { vars: { v: a } }
            c: { vars: { v: c } }
            b: { metadata: { inherits: [c] } }
            app: { metadata: { inherits: [a, b] } }
      `,
    });
    expect(tf(r.load(['dev']), 'app').vars.v).toBe('c');
  });

  it('component: naming itself or a component no stack defines adds nothing', () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            vpc:
              component: vpc
              vars: { a: 1 }
            vpc/2:
              component: vpc-module
              vars: { b: 1 }
            vpc/3:
              component: vpc
              metadata:
                component: vpc-v3
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'vpc')).toMatchObject({ component: 'vpc', vars: { a: 1 }, inheritance: [] });
    // Atmos: a `component:` that no stack defines is neither a base nor the module directory
    expect(tf(s, 'vpc/2')).toMatchObject({ component: 'vpc/2', vars: { b: 1 }, inheritance: [] });
    expect(tf(s, 'vpc/3')).toMatchObject({ component: 'vpc-v3', vars: { a: 1 }, inheritance: ['vpc'] });
  });

  it('an unknown base is an error at the inherits entry, with a suggestion', () => {
    const r = repo({
      'stacks/catalog/base.yaml': `
        components:
          terraform:
            vpc/defaults: { vars: { a: 1 } }
      `,
      'stacks/dev.yaml': `
        import: [catalog/base]
        components:
          terraform:
            vpc:
              metadata:
                inherits:
                  - vpc/defaults
                  - vpc/defualts
      `,
    });
    const d = diag(() => tf(r.load(['dev']), 'vpc'));
    expect(d.code).toBe('stacks/unknown-base');
    expect(d.message).toBe('terraform component "vpc" inherits from "vpc/defualts", which no loaded stack file defines');
    expect(where(d)).toBe('stacks/dev.yaml:8:13');
    expect(d.hint).toBe('did you mean "vpc/defaults"?');
  });

  it('an inheritance cycle is an error printing the cycle, at its first edge', () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            a:
              metadata: { inherits: [b] }
            b:
              metadata: { inherits: [c] }
            c:
              metadata:
                inherits:
                  - a
            d:
              metadata: { inherits: [d] }
            e:
              metadata: { inherits: [a] }
      `,
    });
    const s = r.load(['dev']);
    let d = diag(() => tf(s, 'a'));
    expect(d.code).toBe('stacks/inheritance-cycle');
    expect(d.message).toBe('terraform component inheritance cycle: a → b → c → a');
    expect(where(d)).toBe('stacks/dev.yaml:4:30');
    d = diag(() => tf(s, 'e'));
    expect(d.message).toBe('terraform component inheritance cycle: a → b → c → a');
    expect(where(d)).toBe('stacks/dev.yaml:4:30');
    d = diag(() => tf(s, 'd'));
    expect(d.message).toBe('terraform component inheritance cycle: d → d');
    expect(where(d)).toBe('stacks/dev.yaml:12:30');
  });

  it('abstract components can be inherited, never deployed; enabled: false is reported (and inherited)', () => {
    const r = repo({
      'stacks/dev.yaml': `
        components:
          terraform:
            base:
              metadata: { type: abstract, enabled: false }
              vars: { a: 1 }
            off:
              metadata: { enabled: false }
            child:
              metadata: { inherits: [base] }
            child-on:
              metadata: { inherits: [base], enabled: true }
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'base')).toMatchObject({ abstract: true, enabled: false });
    expect(tf(s, 'off')).toMatchObject({ abstract: false, enabled: false });
    expect(tf(s, 'child')).toMatchObject({ abstract: false, enabled: false, vars: { a: 1 } });
    expect(tf(s, 'child-on')).toMatchObject({ abstract: false, enabled: true });
  });

  it('drops settings.spacelift.workspace_enabled from abstract components (as Atmos does)', () => {
    const r = repo({
      'stacks/dev.yaml': `
        settings:
          spacelift: { workspace_enabled: true, stack_destructor_enabled: false }
        components:
          terraform:
            base:
              metadata: { type: abstract }
            real: {}
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'base').settings).toEqual({ spacelift: { stack_destructor_enabled: false } });
    expect(locOf((tf(s, 'base').settings as { spacelift: object }).spacelift, 'stack_destructor_enabled')).toMatchObject({ line: 2 });
    expect(tf(s, 'real').settings).toEqual({ spacelift: { workspace_enabled: true, stack_destructor_enabled: false } });
  });

  it('backend_type: the last base processed decides (Atmos), the component wins; gcs and azurerm defaults', () => {
    const r = repo({
      'stacks/dev.yaml': `
        terraform:
          backend_type: s3
          backend:
            s3: { bucket: b }
            gcs: { bucket: g }
            azurerm: { key: tfstate, container_name: c }
        components:
          terraform:
            on-gcs:
              backend_type: gcs
              metadata: { component: net, name: network }
            base-gcs:
              backend_type: gcs
            child:
              metadata: { inherits: [base-gcs] }
            az:
              backend_type: azurerm
              metadata: { component: x/y }
            az-own:
              backend_type: azurerm
              backend:
                azurerm: { key: mine.tfstate }
            no-backend:
              backend_type: local
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'on-gcs')).toMatchObject({ backend_type: 'gcs', backend: { bucket: 'g', prefix: 'network' } });
    expect(tf(s, 'child')).toMatchObject({ backend_type: 'gcs', backend: { bucket: 'g', prefix: 'child' } });
    expect(tf(s, 'az').backend).toEqual({ key: 'tfstate/x-y.terraform.tfstate', container_name: 'c' });
    expect(tf(s, 'az-own').backend).toEqual({ key: 'mine.tfstate', container_name: 'c' });
    expect(tf(s, 'no-backend')).toMatchObject({ backend_type: 'local', backend: {} });
  });

  it('no backend_type at all: null and an empty backend', () => {
    const r = repo({ 'stacks/dev.yaml': 'components: { terraform: { x: { vars: { a: 1 } } } }' });
    expect(tf(r.load(['dev']), 'x')).toMatchObject({ backend_type: null, backend: {} });
  });
});

describe('stack file checks', () => {
  it('sections of the wrong type are located errors', () => {
    const cases: [string, string, string][] = [
      ['vars: [a]', 'vars must be a mapping, got a list', 'stacks/dev.yaml:1:7'],
      ['terraform: true', 'terraform must be a mapping, got a boolean', 'stacks/dev.yaml:1:12'],
      ['terraform:\n  backend_type: [s3]', 'terraform.backend_type must be a string, got a list', 'stacks/dev.yaml:2:17'],
      ['components:\n  terraform:\n    vpc: 3', 'components.terraform.vpc must be a mapping, got a number', 'stacks/dev.yaml:3:10'],
      ['components:\n  terraform:\n    vpc:\n      vars: x', 'components.terraform.vpc.vars must be a mapping, got a string', 'stacks/dev.yaml:4:13'],
      [
        'components:\n  terraform:\n    vpc:\n      metadata:\n        inherits: base',
        'components.terraform.vpc.metadata.inherits must be a list of component names, got a string',
        'stacks/dev.yaml:5:19',
      ],
      ['components:\n  terraform:\n    vpc:\n      metadata:\n        type: concrete', 'components.terraform.vpc.metadata.type must be "abstract" or "real", got "concrete"', 'stacks/dev.yaml:5:15'],
      ['components:\n  terraform:\n    vpc:\n      metadata:\n        enabled: "no"', 'components.terraform.vpc.metadata.enabled must be true or false, got a string', 'stacks/dev.yaml:5:18'],
      ['overrides:\n  vars: [1]', 'overrides.vars must be a mapping, got a list', 'stacks/dev.yaml:2:9'],
      ['terraform:\n  overrides: 1', 'terraform.overrides must be a mapping, got a number', 'stacks/dev.yaml:2:14'],
    ];
    for (const [text, message, loc] of cases) {
      const r = repo({ 'stacks/dev.yaml': text });
      const d = diag(() => r.load(['dev']));
      expect(d.message, text).toBe(message);
      expect(where(d), text).toBe(loc);
    }
  });
});
