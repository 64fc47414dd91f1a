/**
 * Substitution at expansion (src/resolve/substitute.ts) renders what a resolution with the
 * same images and Terraform outputs gives, without resolving again: label and name bindings,
 * interpolated and whole templates, a map output merged over the stacks' map, lists appended
 * to the stacks' list, nixpack vars — values and where they came from.
 */
import { describe, expect, it } from 'vitest';
import { loadDeployment, openRepository, provenanceOf, resolutionCount, resolve, scopeWith, substitute, withImages, type ResolvedComponent } from '../../src/index.js';
import { baseRepo, makeRepo } from '../helpers.js';

const GIT = { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' };
const IMAGES = { web: { ref: `127.0.0.1:5000/shop-web@sha256:${'b'.repeat(64)}`, digest: `sha256:${'b'.repeat(64)}` } };
const OUTPUTS = { db: { endpoint: 'db.large', tags: { owner: 'db-team', tier: 3 }, hosts: ['h1', 'h2'] } };

function files(app: string[], strategy = 'replace'): Record<string, string> {
  return baseRepo({
    'atmos.yaml': `${baseRepo()['atmos.yaml']}settings:\n  list_merge_strategy: ${strategy}\n`,
    'stacks/catalog/app.yaml': 'components:\n  terraform:\n    app:\n      vars: { replicas: 1, cluster: main, tags: { team: shop }, hosts: [stack-host] }\n    db:\n      vars: { size: small }\n',
    'components/terraform/app/main.tf': [
      'variable "replicas" {}',
      'variable "cluster" {}',
      'variable "image" { default = "" }',
      'variable "tags" { default = {} }',
      'variable "hosts" { default = [] }',
      '',
    ].join('\n'),
    'components/terraform/db/main.tf': ['variable "size" {}', 'output "endpoint" { value = "x" }', 'output "tags" { value = {} }', 'output "hosts" { value = [] }', ''].join('\n'),
    'services/web/server.js': 'console.log(1)\n',
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
      '          start_cmd: "node server.js"',
      '          env: { UPSTREAM: "db at {{ terraform.db.outputs.endpoint }}" }',
      '          image: { registry: 127.0.0.1:5000, name: shop-web, tag: "{{ git.short_sha }}" }',
      '    terraform:',
      '      db:',
      '        vars: { size: large }',
      '      app:',
      ...app,
      '  targets:',
      '    dev:',
      '      context: { replicas: 2 }',
      '',
    ].join('\n'),
  });
}

async function compare(repoFiles: Record<string, string>) {
  const dir = makeRepo(repoFiles);
  const repo = openRepository({ cwd: dir });
  const dep = loadDeployment(repo, 'shop');
  const before = resolutionCount();
  const once = await resolve(repo, dep, 'dev', { git: GIT, images: {} });
  const again = await resolve(repo, dep, 'dev', { git: GIT, images: IMAGES, terraformOutputs: OUTPUTS });
  expect(resolutionCount() - before).toBe(2);
  const scope = scopeWith(once.scope, { images: IMAGES, terraformOutputs: OUTPUTS });
  const shape = (c: ResolvedComponent) => ({
    sections: JSON.parse(JSON.stringify({ vars: c.vars, settings: c.settings, env: c.env })),
    provenance: provenanceOf({ vars: c.vars, settings: c.settings, env: c.env }),
  });
  for (const c of once.components) {
    const expected = again.components.find((x) => x.address === c.address)!;
    expect(shape(substitute(c, scope)), c.address).toEqual(shape(expected));
  }
  // Images alone (a release's bound into the rollout's resolution): as resolving with them.
  const imagesOnly = await resolve(repo, dep, 'dev', { git: GIT, images: IMAGES });
  const bound = withImages(once, IMAGES);
  expect(bound.images).toEqual(IMAGES);
  for (const c of bound.components) expect(shape(c), c.address).toEqual(shape(imagesOnly.components.find((x) => x.address === c.address)!));
  expect(withImages(once, {})).toBe(once);
  return { once, again };
}

describe('substitution at expansion gives what resolving again gives', () => {
  it('label binding and interpolated output references', async () => {
    const { once, again } = await compare(files(['        metadata: { labels: { service: web } }', '        vars:', '          cluster: "{{ terraform.db.outputs.endpoint }}-cluster"']));
    const app = once.components.find((c) => c.address === 'terraform/app')!;
    expect(app.deferred.map((d) => [d.section, d.path.join('.')])).toEqual([
      ['vars', 'cluster'],
      ['vars', 'image'],
    ]);
    expect(again.components.find((c) => c.address === 'terraform/app')!.vars.image).toBe(IMAGES.web.ref);
  });

  it('name binding into container.image, with templates beside it', async () => {
    await compare(files(['        vars:', '          container: { name: web, port: 80, db: "{{ terraform.db.outputs.endpoint }}" }', '        settings: { image_of: "{{ nixpack.web.image }}" }']));
  });

  it('a whole template giving a map merges over the stacks map; a list replaces', async () => {
    const { again } = await compare(
      files([
        '        vars:',
        '          tags: "{{ terraform.db.outputs.tags }}"',
        '          hosts: "{{ terraform.db.outputs.hosts }}"',
        '        env: { DB: "{{ terraform.db.outputs.endpoint }}" }',
      ]),
    );
    expect(again.components.find((c) => c.address === 'terraform/app')!.vars).toMatchObject({ tags: { team: 'shop', owner: 'db-team', tier: 3 }, hosts: ['h1', 'h2'] });
  });

  it('list items appended to the stacks list (list_merge_strategy: append)', async () => {
    const { again } = await compare(
      files(['        vars:', '          hosts: ["{{ terraform.db.outputs.endpoint }}", "{{ nixpack.web.digest }}", plain]', '          tags: { db: "{{ terraform.db.outputs.tags }}" }'], 'append'),
    );
    expect(again.components.find((c) => c.address === 'terraform/app')!.vars.hosts).toEqual(['stack-host', 'db.large', IMAGES.web.digest, 'plain']);
  });

  it('list items merged with the stacks list (list_merge_strategy: merge)', async () => {
    await compare(files(['        vars:', '          hosts: ["{{ terraform.db.outputs.endpoint }}", "{{ nixpack.web.image }}"]'], 'merge'));
  });

  it('a context key over a templated var leaves nothing to substitute there', async () => {
    const { once } = await compare(files(['        vars:', '          replicas: "{{ terraform.db.outputs.endpoint }}"']));
    expect(once.components.find((c) => c.address === 'terraform/app')!.deferred).toEqual([]);
  });
});
