/**
 * Resolution (SPEC 3): stack config → deployment vars → declared context keys → bindings;
 * templates; edges; provenance. Through the library and the CLI on real files.
 */
import { describe, expect, it } from 'vitest';
import { describe as describeDeployment, loadDeployment, openRepository, resolve } from '../../src/index.js';
import { baseRepo, makeRepo, runCli } from '../helpers.js';

async function resolveIn(files: Record<string, string>, target = 'dev', name = 'shop') {
  const dir = makeRepo(files);
  const repo = openRepository({ cwd: dir });
  const dep = loadDeployment(repo, name);
  const r = await resolve(repo, dep, target, { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } });
  return { dir, r, d: describeDeployment(r, { provenance: true }) };
}

const comp = (d: Awaited<ReturnType<typeof resolveIn>>['d'], address: string) => {
  const c = d.components.find((x) => x.address === address);
  if (!c) throw new Error(`no ${address} in ${d.components.map((x) => x.address).join(', ')}`);
  return c;
};

describe('resolution of terraform vars', () => {
  it('merges stack config, deployment vars, declared context keys, in that order', async () => {
    const { d } = await resolveIn(baseRepo(), 'prod');
    const app = comp(d, 'terraform/app');
    // stack: region (terraform section), replicas 1, cluster main; context: cpu, replicas
    expect(app.vars).toMatchObject({ region: 'us-east-1', cluster: 'main', cpu: 1024, replicas: 3 });
    const db = comp(d, 'terraform/db');
    // db's module declares neither cpu nor replicas: the context does not reach it
    expect(db.vars).toEqual({ region: 'us-east-1', size: 'large' });
  });

  it('evaluates templates and records their edges; waves follow', async () => {
    const { d } = await resolveIn(baseRepo());
    const app = comp(d, 'terraform/app');
    expect(app.vars.db_endpoint).toBe('(known after apply: terraform/db.outputs.endpoint)');
    expect(app.depends_on).toEqual(['terraform/db']);
    expect(app.wave).toBe(1);
    expect(comp(d, 'terraform/db').wave).toBe(0);
  });

  it('gives the exact describe shape', async () => {
    const { r } = await resolveIn(baseRepo());
    const d = describeDeployment(r);
    expect(Object.keys(d)).toEqual(['deployment', 'target', 'stacks', 'components']);
    expect(d.stacks).toEqual(['stacks/catalog/app.yaml']);
    expect(Object.keys(d.components[0])).toEqual([
      'address',
      'type',
      'name',
      'component',
      'vars',
      'settings',
      'env',
      'backend_type',
      'backend',
      'providers',
      'depends_on',
      'wave',
      'workspace',
      'command',
    ]);
    expect(d.components[0]).toMatchObject({ backend_type: 'local', backend: { path: '.atmos/state/shop/dev/db.tfstate' } });
  });

  it('reports provenance: the file and line each value came from', async () => {
    const { d } = await resolveIn(baseRepo(), 'prod');
    const p = comp(d, 'terraform/app').provenance!;
    expect(p['vars.region']).toBe('stacks/catalog/app.yaml:3:13');
    expect(p['vars.cluster']).toBe('stacks/catalog/app.yaml:9:18');
    expect(p['vars.replicas']).toBe('deployments/shop.yaml:17:39');
    expect(p['vars.db_endpoint']).toBe('deployments/shop.yaml:11:24');
    expect(comp(d, 'terraform/db').provenance!['vars.size']).toBe('deployments/shop.yaml:7:23');
  });

  it('keeps only context keys a module declares and warns about unused ones with a hint', async () => {
    const files = baseRepo();
    files['deployments/shop.yaml'] = files['deployments/shop.yaml'].replace('context: { cpu: 256 }', 'context: { cpu: 256, replica: 2 }');
    const { r } = await resolveIn(files);
    expect(r.warnings.map((w) => [w.message, w.hint])).toContainEqual([
      'targets.dev.context.replica is not declared as a variable by any Terraform module of this deployment and no template references it',
      'did you mean "replicas"?',
    ]);
    expect(comp(describeDeployment(r), 'terraform/app').vars).not.toHaveProperty('replica');
  });
});

const nixFiles = (tfApp: string[], extraNix: string[] = []) =>
  baseRepo({
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  stacks: [catalog/app]',
      '  components:',
      '    nixpack:',
      '      web:',
      '        metadata: { labels: { service: web } }',
      '        vars:',
      '          source: ./services/web',
      '          start_cmd: "node server.js --cpu {{ target.context.cpu }}"',
      '          image: { registry: 127.0.0.1:5000, name: shop-web, tag: "{{ git.short_sha }}" }',
      ...extraNix,
      '    terraform:',
      '      app:',
      ...tfApp,
      '  targets:',
      '    dev:',
      '      context: { cpu: 256 }',
      '',
    ].join('\n'),
  });

describe('image bindings', () => {
  it('label binding puts the image in the `image` var and adds an edge', async () => {
    const { d } = await resolveIn(nixFiles(['        metadata: { labels: { service: web, tier: fe } }']));
    const app = comp(d, 'terraform/app');
    expect(app.vars.image).toBe('127.0.0.1:5000/shop-web@sha256:<unbuilt>');
    expect(app.depends_on).toEqual(['nixpack/web']);
    expect(comp(d, 'nixpack/web')).toMatchObject({ component: null, wave: 0, backend_type: null });
  });

  it('settings.binding.var names the variable', async () => {
    const { d } = await resolveIn(nixFiles(['        metadata: { labels: { service: web } }', '        settings: { binding: { var: container_image } }']));
    expect(comp(d, 'terraform/app').vars.container_image).toBe('127.0.0.1:5000/shop-web@sha256:<unbuilt>');
  });

  it('name binding sets container.image when vars.container.name is the nixpack name', async () => {
    const { d } = await resolveIn(nixFiles(['        vars: { container: { name: web, port: 80 } }']));
    expect(comp(d, 'terraform/app').vars.container).toEqual({ name: 'web', port: 80, image: '127.0.0.1:5000/shop-web@sha256:<unbuilt>' });
  });

  it('explicit templates win over label binding', async () => {
    const { d } = await resolveIn(nixFiles(['        metadata: { labels: { service: web } }', '        vars: { image: "{{ nixpack.web.repository }}:{{ nixpack.web.tag }}" }']));
    const app = comp(d, 'terraform/app');
    expect(app.vars.image).toBe('127.0.0.1:5000/shop-web:aaaaaaaa');
    expect(app.depends_on).toEqual(['nixpack/web']);
  });

  it('uses the built image when one is known', async () => {
    const dir = makeRepo(nixFiles(['        metadata: { labels: { service: web } }']));
    const repo = openRepository({ cwd: dir });
    const dep = loadDeployment(repo, 'shop');
    const r = await resolve(repo, dep, 'dev', { images: { web: { ref: `127.0.0.1:5000/shop-web@sha256:${'b'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}` } } });
    expect(describeDeployment(r).components.find((c) => c.address === 'terraform/app')!.vars.image).toBe(`127.0.0.1:5000/shop-web@sha256:${'b'.repeat(64)}`);
  });

  it('nixpack vars are the deployment vars with templates evaluated; context reaches them only through templates', async () => {
    const { d } = await resolveIn(nixFiles(['        vars: {}']));
    const web = comp(d, 'nixpack/web');
    expect(web.vars).toEqual({ source: './services/web', start_cmd: 'node server.js --cpu 256', image: { registry: '127.0.0.1:5000', name: 'shop-web', tag: 'aaaaaaaa' } });
  });

  // Issue 13 item 7: no `latest` (a mutable tag); the short commit SHA, as {{ git.short_sha }} gives it.
  it('an image without a tag gets the short commit SHA, never latest', async () => {
    const files = nixFiles(['        vars: { image: "{{ nixpack.web.repository }}:{{ nixpack.web.tag }}" }']);
    files['deployments/shop.yaml'] = files['deployments/shop.yaml'].replace(', tag: "{{ git.short_sha }}"', '');
    const { d } = await resolveIn(files);
    expect(comp(d, 'nixpack/web').vars.image).toEqual({ registry: '127.0.0.1:5000', name: 'shop-web', tag: 'aaaaaaaa' });
    expect(comp(d, 'terraform/app').vars.image).toBe('127.0.0.1:5000/shop-web:aaaaaaaa');
    // Outside a Git repository nothing can be derived: vars show no tag rather than an invented one.
    const dir = makeRepo(files);
    const repo = openRepository({ cwd: dir });
    const r = await resolve(repo, loadDeployment(repo, 'shop'), 'dev', { git: {} });
    expect(describeDeployment(r).components.find((c) => c.address === 'nixpack/web')!.vars.image).toEqual({ registry: '127.0.0.1:5000', name: 'shop-web' });
  });

  it('shows an unbuilt image without a registry as <name>@sha256:<unbuilt>', async () => {
    const files = nixFiles(['        metadata: { labels: { service: web } }']);
    files['deployments/shop.yaml'] = files['deployments/shop.yaml'].replace('registry: 127.0.0.1:5000, ', '');
    const { d } = await resolveIn(files);
    expect(comp(d, 'terraform/app').vars.image).toBe('shop-web@sha256:<unbuilt>');
  });
});

describe('depends_on', () => {
  it('accepts a bare name when unambiguous and the full address', async () => {
    const { d } = await resolveIn(baseRepo());
    expect(comp(d, 'terraform/app').depends_on).toEqual(['terraform/db']);
  });

  it('rejects an ambiguous bare name', async () => {
    const files = nixFiles(['        metadata: { depends_on: [web] }']);
    files['deployments/shop.yaml'] = files['deployments/shop.yaml'].replace('    terraform:\n', '    terraform:\n      web: { metadata: { component: db } }\n');
    const dir = makeRepo(files);
    const r = runCli(['--chdir', dir, 'describe', 'shop', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('depends_on "web" is ambiguous: terraform/web, nixpack/web');
  });
});

describe('scoping: only the listed stacks are read', () => {
  it('ignores a broken, unrelated stack file next to the listed ones', async () => {
    const files = baseRepo({ 'stacks/catalog/broken.yaml': 'components: [this is: not: valid\n', 'stacks/orgs/other.yaml': 'import: [does/not/exist]\n' });
    const { r } = await resolveIn(files);
    expect(r.stacks).toEqual(['stacks/catalog/app.yaml']);
  });

  it('adds the target stacks after the deployment stacks', async () => {
    const files = baseRepo({ 'stacks/orgs/prod.yaml': 'terraform:\n  vars:\n    region: eu-west-1\n' });
    files['deployments/shop.yaml'] = files['deployments/shop.yaml'].replace(
      '      promotion: { from: dev, requires_approval: true }',
      '      promotion: { from: dev, requires_approval: true }\n      stacks: [orgs/prod]',
    );
    const { d } = await resolveIn(files, 'prod');
    expect(d.stacks).toEqual(['stacks/catalog/app.yaml', 'stacks/orgs/prod.yaml']);
    expect(comp(d, 'terraform/app').vars.region).toBe('eu-west-1');
    expect(comp(d, 'terraform/app').provenance!['vars.region']).toBe('stacks/orgs/prod.yaml:3:13');
  });
});
