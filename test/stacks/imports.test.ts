import { describe, expect, it } from 'vitest';
import { repo, diag, tf, where } from './helpers.js';

describe('imports (SPEC 3.1 "Imports")', () => {
  it('merges imports in list order, then the file itself; later wins; lists files in merge order', () => {
    const r = repo({
      'stacks/mixins/a.yaml': 'vars: { v: a, only_a: 1 }',
      'stacks/mixins/b.yaml': `
        import: [mixins/c]
        vars: { v: b }
      `,
      'stacks/mixins/c.yaml': 'vars: { v: c, only_c: 1 }',
      'stacks/dev.yaml': `
        import:
          - mixins/a
          - mixins/b
        vars:
          own: 1
      `,
    });
    const s = r.load(['dev']);
    expect(s.files).toEqual(['stacks/mixins/a.yaml', 'stacks/mixins/c.yaml', 'stacks/mixins/b.yaml', 'stacks/dev.yaml']);
    expect(tf(s, 'x').vars).toEqual({ v: 'b', only_a: 1, only_c: 1, own: 1 });
    // several listed stacks merge like imports: later wins
    expect(tf(r.load(['mixins/b', 'mixins/a']), 'x').vars.v).toBe('a');
  });

  it('a file imported twice is listed once', () => {
    const r = repo({
      'stacks/m.yaml': 'vars: { v: m }',
      'stacks/a.yaml': 'import: [m]',
      'stacks/dev.yaml': 'import: [m, a]',
    });
    expect(r.load(['dev']).files).toEqual(['stacks/m.yaml', 'stacks/a.yaml', 'stacks/dev.yaml']);
  });

  it('tries .yaml, .yml, .yaml.tmpl, .yml.tmpl in that order when there is no extension', () => {
    const r = repo({
      'stacks/e/one.yml': 'vars: { v: yml }',
      'stacks/e/one.yaml.tmpl': 'vars: { v: yaml.tmpl }',
      'stacks/e/two.yaml.tmpl': 'vars: { v: yaml.tmpl }',
      'stacks/e/two.yml.tmpl': 'vars: { v: yml.tmpl }',
      'stacks/e/three.yaml': 'vars: { v: yaml }',
      'stacks/e/three.yml': 'vars: { v: yml }',
      'stacks/e/four.yml.tmpl': 'vars: { v: yml.tmpl }',
    });
    const v = (p: string) => tf(r.load([p]), 'x').vars.v;
    expect(v('e/one')).toBe('yml');
    expect(v('e/two')).toBe('yaml.tmpl');
    expect(v('e/three')).toBe('yaml');
    expect(v('e/four')).toBe('yml.tmpl');
    expect(v('e/three.yml')).toBe('yml');
    expect(r.load(['e/one']).files).toEqual(['stacks/e/one.yml']);
  });

  it('reads x.yaml.tmpl for an import of x.yaml when the template exists (as Atmos does)', () => {
    const r = repo({
      'stacks/x.yaml': 'vars: { v: plain }',
      'stacks/x.yaml.tmpl': 'vars: { v: template }',
    });
    expect(tf(r.load(['x.yaml']), 'c').vars.v).toBe('template');
  });

  it('resolves ./ and ../ against the importing file, everything else against stacks.base_path', () => {
    const r = repo({
      'stacks/orgs/acme/_defaults.yaml': 'vars: { namespace: acme }',
      'stacks/orgs/acme/dev/app.yaml': `
        import:
          - ../_defaults
          - ./region
          - mixins/stage
      `,
      'stacks/orgs/acme/dev/region.yaml': 'vars: { region: us-east-1 }',
      'stacks/mixins/stage.yaml': 'vars: { stage: dev }',
    });
    const s = r.load(['orgs/acme/dev/app']);
    expect(tf(s, 'x').vars).toEqual({ namespace: 'acme', region: 'us-east-1', stage: 'dev' });
    expect(s.files).toEqual(['stacks/orgs/acme/_defaults.yaml', 'stacks/orgs/acme/dev/region.yaml', 'stacks/mixins/stage.yaml', 'stacks/orgs/acme/dev/app.yaml']);
  });

  it('merges glob matches in sorted order (the last match wins), .yaml added to a glob without extension', () => {
    const r = repo({
      'stacks/catalog/b.yaml': 'vars: { v: b, b: 1 }',
      'stacks/catalog/a.yaml': 'vars: { v: a, a: 1 }',
      'stacks/catalog/c.yaml': 'vars: { v: c, c: 1 }',
      'stacks/catalog/z.yml': 'vars: { v: z-yml }',
      'stacks/catalog/README.md': 'not yaml: [',
      'stacks/catalog/sub/d.yaml': 'vars: { v: d, d: 1 }',
      'stacks/dev.yaml': 'import: [catalog/*]',
      'stacks/deep.yaml': 'import: ["catalog/**/*.yaml"]',
    });
    const s = r.load(['dev']);
    expect(s.files).toEqual(['stacks/catalog/a.yaml', 'stacks/catalog/b.yaml', 'stacks/catalog/c.yaml', 'stacks/dev.yaml']);
    expect(tf(s, 'x').vars).toEqual({ v: 'c', a: 1, b: 1, c: 1 });
    const deep = r.load(['deep']);
    expect(deep.files).toEqual(['stacks/catalog/a.yaml', 'stacks/catalog/b.yaml', 'stacks/catalog/c.yaml', 'stacks/catalog/sub/d.yaml', 'stacks/deep.yaml']);
    expect(tf(deep, 'x').vars.v).toBe('d');
  });

  // Issue 13 item 5: Atmos adds `.yaml` only to a glob without extension; `test-*.*` has the
  // extension `.*` and is globbed as written (Atmos internal/exec/stack_processor_utils.go).
  it('a glob ending in .* is globbed as written (no .yaml added)', () => {
    const r = repo({
      'stacks/mixins/test-1.yaml': 'vars: { v: one, one: 1 }',
      'stacks/mixins/test-2.yml': 'vars: { v: two, two: 1 }',
      'stacks/mixins/other.yaml': 'vars: { other: 1 }',
      'stacks/dev.yaml': 'import: ["mixins/test-*.*"]',
      'stacks/none.yaml': 'import: ["mixins/nope-*.*"]',
    });
    const s = r.load(['dev']);
    expect(s.files).toEqual(['stacks/mixins/test-1.yaml', 'stacks/mixins/test-2.yml', 'stacks/dev.yaml']);
    expect(tf(s, 'x').vars).toEqual({ v: 'two', one: 1, two: 1 });
    expect(diag(() => r.load(['none'])).message).toBe('import "mixins/nope-*.*" not found: no file matches stacks/mixins/nope-*.*');
  });

  it('a missing import is an error at the import entry, with a suggestion', () => {
    const r = repo({
      'stacks/catalog/vpc.yaml': 'vars: {}',
      'stacks/dev.yaml': `
        vars: { a: 1 }
        import:
          - catalog/vpc
          - catalog/vcp
      `,
    });
    const d = diag(() => r.load(['dev']));
    expect(d.code).toBe('stacks/import-missing');
    expect(d.message).toBe('import "catalog/vcp" not found: tried stacks/catalog/vcp.yaml, stacks/catalog/vcp.yml, stacks/catalog/vcp.yaml.tmpl, stacks/catalog/vcp.yml.tmpl');
    expect(where(d)).toBe('stacks/dev.yaml:4:5');
    expect(d.hint).toContain('did you mean "catalog/vpc"?');
    expect(d.hint).toContain('skip_if_missing');
  });

  it('a missing listed stack is an error at the deployment entry; an empty glob is missing too', () => {
    const r = repo({ 'stacks/dev.yaml': 'import: ["catalog/none/*"]' });
    const loc = { file: 'deployments/app.yaml', line: 3, col: 5 };
    const d = diag(() => r.load([{ path: 'prod', location: loc }]));
    expect(d.message).toMatch(/^import "prod" not found/);
    expect(d.location).toEqual(loc);
    const g = diag(() => r.load(['dev']));
    expect(g.message).toBe('import "catalog/none/*" not found: no file matches stacks/catalog/none/*.yaml');
    expect(where(g)).toBe('stacks/dev.yaml:1:10');
  });

  it('skip_if_missing skips a missing import (mapping form, also for listed stacks)', () => {
    const r = repo({
      'stacks/dev.yaml': `
        import:
          - path: catalog/optional
            skip_if_missing: true
          - path: mixins/here
        vars: { own: 1 }
      `,
      'stacks/mixins/here.yaml': 'vars: { here: 1 }',
    });
    const s = r.load(['dev', { path: 'nope', skip_if_missing: true }]);
    expect(s.files).toEqual(['stacks/mixins/here.yaml', 'stacks/dev.yaml']);
    expect(tf(s, 'x').vars).toEqual({ here: 1, own: 1 });
  });

  // Issue 13 item 7: located at the import that closes the cycle, not at the first edge.
  it('an import cycle is an error printing the chain, at the import that closes it', () => {
    const r = repo({
      'stacks/a.yaml': `
        vars: {}
        import:
          - b
      `,
      'stacks/b.yaml': 'import: [c]',
      'stacks/c.yaml': 'import: [a]',
      'stacks/self.yaml': 'import: [self]',
    });
    const d = diag(() => r.load(['a']));
    expect(d.code).toBe('stacks/import-cycle');
    expect(d.message).toBe('import cycle: stacks/a.yaml → stacks/b.yaml → stacks/c.yaml → stacks/a.yaml');
    expect(where(d)).toBe('stacks/c.yaml:1:10');
    const e = diag(() => r.load(['b']));
    expect(e.message).toBe('import cycle: stacks/b.yaml → stacks/c.yaml → stacks/a.yaml → stacks/b.yaml');
    expect(where(e)).toBe('stacks/a.yaml:3:5');
    expect(diag(() => r.load(['self'])).message).toBe('import cycle: stacks/self.yaml → stacks/self.yaml');
  });

  it('"import" must be a list; entries must be paths or {path, ...}', () => {
    const r = repo({
      'stacks/map.yaml': `
        vars: {}
        import:
          catalog: vpc
      `,
      'stacks/num.yaml': `
        import:
          - catalog/vpc
          - 42
      `,
      'stacks/nopath.yaml': `
        import:
          - skip_if_missing: true
      `,
      'stacks/badskip.yaml': `
        import:
          - path: x
            skip_if_missing: "yes"
      `,
      'stacks/catalog/vpc.yaml': 'vars: {}',
    });
    let d = diag(() => r.load(['map']));
    expect(d.message).toBe('"import" must be a list of stack paths or {path, context, skip_if_missing} entries, got a mapping');
    expect(where(d)).toBe('stacks/map.yaml:3:3');
    d = diag(() => r.load(['num']));
    expect(d.message).toBe('an import entry must be a path or a mapping {path, context, skip_if_missing}, got a number');
    expect(where(d)).toBe('stacks/num.yaml:3:5');
    d = diag(() => r.load(['nopath']));
    expect(d.message).toBe('an import entry needs a "path"');
    expect(where(d)).toBe('stacks/nopath.yaml:2:5');
    d = diag(() => r.load(['badskip']));
    expect(d.message).toBe('import skip_if_missing must be true or false, got a string');
    expect(where(d)).toBe('stacks/badskip.yaml:3:22');
  });

  it('reads only the listed files and what they import (a broken file next to them is never read)', () => {
    const r = repo({
      'stacks/dev.yaml': 'import: [catalog/vpc]',
      'stacks/catalog/vpc.yaml': 'components: { terraform: { vpc: { vars: { a: 1 } } } }',
      'stacks/catalog/broken.yaml': 'vars: [unclosed',
      'stacks/broken.yaml': ': : :\n  - ]',
    });
    const s = r.load(['dev']);
    expect(tf(s, 'vpc').vars).toEqual({ a: 1 });
    expect(r.files.size).toBe(2);
    // ... whereas loading it is a located YAML error
    const d = diag(() => r.load(['catalog/broken']));
    expect(d.location?.file).toBe('stacks/catalog/broken.yaml');
  });

  it('a top-level name: is the stack name, not configuration', () => {
    const r = repo({
      'stacks/dev.yaml': `
        name: acme-dev
        vars: { stage: dev }
        components:
          terraform:
            vpc: {}
      `,
    });
    const c = tf(r.load(['dev']), 'vpc');
    expect(c.vars).toEqual({ stage: 'dev' });
    expect(c.settings).toEqual({});
    expect(JSON.stringify(c)).not.toContain('acme-dev');
  });

  it('a stack file must be a mapping; an empty file is an empty stack', () => {
    const r = repo({ 'stacks/list.yaml': '- a\n- b', 'stacks/empty.yaml': '', 'stacks/dev.yaml': 'import: [empty]' });
    const d = diag(() => r.load(['list']));
    expect(d.message).toBe('a stack file must be a mapping, got a list');
    expect(where(d)).toBe('stacks/list.yaml:1:1');
    expect(r.load(['dev']).files).toEqual(['stacks/empty.yaml', 'stacks/dev.yaml']);
  });

  it('Go templates and YAML functions pass through stack loading unchanged (functions are evaluated by the resolver); Go templates with one warning per file', () => {
    const r = repo({
      'stacks/catalog/t.yaml': `
        components:
          terraform:
            app:
              vars:
                a: "{{ .vars.stage }}-app"
                b: !env HOME
                c: '{{ .settings.x }}'
      `,
      'stacks/catalog/plain.yaml': 'vars: { plain: 1 }',
      'stacks/dev.yaml': `
        import: [catalog/plain, catalog/t]
        vars:
          id: !terraform.output vpc .vpc_id
      `,
    });
    const s = r.load(['dev']);
    expect(tf(s, 'app').vars).toEqual({ plain: 1, id: '!terraform.output vpc .vpc_id', a: '{{ .vars.stage }}-app', b: '!env HOME', c: '{{ .settings.x }}' });
    // Issue 13: YAML functions are evaluated (src/resolve/yaml-functions.ts) and Go templates too when
    // atmos.yaml turns templating on; left off (as here), the file says once that they stay as written.
    expect(s.warnings.map((w) => [w.code, `${w.location?.file}:${w.location?.line}`])).toEqual([['stacks/unevaluated-template', 'stacks/catalog/t.yaml:5']]);
    expect(s.warnings[0].message).toBe(
      'stacks/catalog/t.yaml contains Go templates, and atmos.yaml leaves templates off (templates.settings.enabled): as Atmos does, their values are passed through unchanged',
    );
    expect(s.warnings.every((w) => w.severity === 'warning')).toBe(true);
  });

  it('an import path that is an unevaluated template is skipped, not an error', () => {
    const r = repo({ 'stacks/dev.yaml': 'import: ["mixins/{{ .stage }}"]\nvars: { a: 1 }' });
    const s = r.load(['dev']);
    expect(tf(s, 'x').vars).toEqual({ a: 1 });
    expect(s.warnings).toHaveLength(1);
  });
});
