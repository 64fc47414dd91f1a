/**
 * The Dockerfile escape of the nixpack build module, at the module level (no engine): on the
 * Dagger engine one `docker-build` step over the source; the local engine refuses it; the
 * OCI tarball the build exports (here made by skopeo from an image our code wrote) becomes the
 * component's image in the local OCI layout and the image store, and is pushed like any other.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleContext, RunOptions } from '../../src/module/index.js';
import { Cas } from '../../src/cache/cas.js';
import { readImageStore } from '../../src/cache/images.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { refuseUnsupported } from '../../src/engine/capabilities.js';
import { DaggerEngine } from '../../src/engine/dagger/index.js';
import { LocalEngine } from '../../src/engine/local.js';
import { selectEngine } from '../../src/engine/select.js';
import { loadDeployment, openRepository, resolve, type ResolvedComponent } from '../../src/index.js';
import { assembleImage, createdFromEpoch, layerFromEntries, readFromLayout, writeToLayout, type BuiltOciImage } from '../../src/oci/index.js';
import type { Step, StepResult } from '../../src/steps/types.js';
import { nixpackBuild, type BuiltImageOutputs } from '../../modules/nixpack/index.js';
import { baseRepo, makeRepo } from '../helpers.js';
import { haveRegistry, startRegistry, type RunningRegistry } from '../oci/registry-server.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};
const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const DOCKERFILE = 'FROM node:20-slim AS base\nFROM base\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n';

function repoFiles(image: string): Record<string, string> {
  return baseRepo({
    'services/api/Dockerfile': DOCKERFILE,
    'services/api/server.js': 'console.log("api")\n',
    'services/api/.dockerignore': 'local.env\n',
    'services/api/local.env': 'TOKEN=never-in-the-build-context\n',
    'services/api/node_modules/left/over.js': '// installed by hand\n',
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  components:',
      '    nixpack:',
      '      api:',
      '        vars:',
      '          source: ./services/api',
      `          image: ${image}`,
      '        settings:',
      '          nixpack: { dockerfile_escape: true }',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
}

interface Fixture {
  dir: string;
  cacheDir: string;
  cas: Cas;
  api: ResolvedComponent;
}

async function fixture(image = '{ name: shop-api, tag: "1.0" }'): Promise<Fixture> {
  const dir = makeRepo(repoFiles(image));
  const repo = openRepository({ cwd: dir });
  const dep = loadDeployment(repo, 'shop');
  const r = await resolve(repo, dep, 'dev', { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } });
  const api = r.components.find((c) => c.name === 'api');
  if (!api) throw new Error(`no api component in ${r.components.map((c) => c.address).join(', ')}`);
  const cacheDir = repo.config.cacheDir;
  return { dir, cacheDir, cas: new Cas(cacheDir), api };
}

function ctxFor(f: Fixture, options: Partial<RunOptions> = {}): ModuleContext<unknown> {
  return {
    inputs: {},
    deployment: 'shop',
    target: 'dev',
    pipeline: 'build',
    runId: 'test-run',
    component: f.api,
    outputsOf: () => undefined,
    cas: f.cas,
    repoRoot: f.dir,
    cacheDir: f.cacheDir,
    tools: { terraform: { command: 'terraform' } },
    options: { lockTimeoutSeconds: 30, noCache: false, ...options },
    stepId: (name) => `build:${f.api.address}:${name}`,
  };
}

/** An image our code writes, archived by skopeo: what Container.export leaves in the workspace. */
async function skopeoArchive(): Promise<{ image: BuiltOciImage; archive: string }> {
  const dir = tempDir('atmos-pipe-dockerfile-img-');
  const layer = await layerFromEntries([{ path: 'app/server.js', type: 'file', mode: 0o644, content: Buffer.from('console.log("api")\n') }], { epoch: 1_700_000_000 });
  const image = assembleImage({ layers: [layer], cmd: ['node', 'server.js'], workingDir: '/app', created: createdFromEpoch(1_700_000_000) });
  writeToLayout(path.join(dir, 'layout'), image, 'built');
  const archive = path.join(dir, 'image.oci.tar');
  skopeo('copy', `oci:${path.join(dir, 'layout')}:built`, `oci-archive:${archive}`);
  return { image, archive };
}

function resultWith(f: Fixture, outputs: StepResult['outputs']): StepResult[] {
  return [{ id: `build:${f.api.address}:docker-build`, component: f.api.address, module: 'nixpack.dockerfile', status: 'done', outputs, values: {}, exitCode: 0, durationMs: 1 }];
}

describe('nixpack.build with a Dockerfile escape', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('on the Dagger engine: one docker-build step over a copy of the source', async () => {
    const steps = (await nixpackBuild.steps(ctxFor(f))) as Step[];
    expect(steps).toHaveLength(1);
    const source = steps[0].inputs.app as { kind: string; digest: string };
    expect(steps[0]).toEqual({
      id: 'build:nixpack/api:docker-build',
      module: 'nixpack.dockerfile',
      component: 'nixpack/api',
      image: 'node:20-slim',
      argv: ['docker-build', '--dockerfile', 'Dockerfile', '--output', 'image.oci.tar'],
      inputs: { app: { kind: 'dir', digest: source.digest } },
      workdir: 'app',
      outputs: { files: ['image.oci.tar'] },
      network: true,
      cache: 'content',
      env: {},
      secrets: [],
      needs: [],
      requires: [
        {
          capability: 'container-build',
          what: 'builds from a Dockerfile (settings.nixpack.dockerfile_escape: true)',
          code: 'nixpack/dockerfile',
          otherwise: 'drop dockerfile_escape so the build is planned from the source (node, go, python or static)',
          location: f.api.location,
        },
      ],
    });
    // The Dagger engine builds containers: nothing refused.
    expect(() => refuseUnsupported(new DaggerEngine(), steps)).not.toThrow();
    // The build context: the source without .dockerignore'd files and installed dependencies.
    expect(f.cas.manifest(source.digest).entries.map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile', 'server.js']);
    // Same source, same step (content-addressed).
    expect(await nixpackBuild.steps(ctxFor(f))).toEqual(steps);
  });

  it('on the local engine (or none chosen): refused with why and what to use', async () => {
    for (const choice of ['local', 'auto'] as const) {
      // With no Dagger engine around, `auto` is the local engine too.
      expect(selectEngine(choice, { PATH: '' }).engine).toBe('local');
      let err: unknown;
      try {
        // What the scheduler does with a component's steps before any of them runs.
        refuseUnsupported(new LocalEngine(), await nixpackBuild.steps(ctxFor(f)));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DiagnosticError);
      const d = (err as DiagnosticError).diagnostics[0];
      expect(d.code).toBe('nixpack/dockerfile-local');
      expect(d.message).toMatch(/builds from a Dockerfile .* which the local engine cannot build/);
      expect(d.hint).toMatch(/--engine dagger/);
    }
  });

  it("outputs(): the exported archive becomes the image in the OCI layout and the image store, with the archive's digest", async () => {
    const g = await fixture();
    const { image, archive } = await skopeoArchive();
    const tarball = g.cas.putFile(archive);
    const out = (await nixpackBuild.outputs!(resultWith(g, { 'image.oci.tar': { kind: 'file', digest: tarball.digest } }), ctxFor(g))) as BuiltImageOutputs;
    const steps = (await nixpackBuild.steps(ctxFor(g))) as Step[];
    expect(out).toEqual({
      image: `shop-api@${image.manifestDigest}`,
      digest: image.manifestDigest,
      repository: 'shop-api',
      tag: '1.0',
      pushed: false,
      tree: (steps[0].inputs.app as { digest: string }).digest,
    });
    const layout = path.join(g.cacheDir, 'images');
    const stored = readFromLayout(layout, 'shop-api:1.0');
    expect(stored?.manifestDigest).toBe(image.manifestDigest);
    expect(stored?.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    expect(readImageStore(g.cacheDir, 'shop')).toEqual({ api: { ref: `shop-api@${image.manifestDigest}`, digest: image.manifestDigest } });
    // A third-party client reads it from the store.
    expect((JSON.parse(skopeo('inspect', `oci:${layout}:shop-api:1.0`)) as { Digest: string }).Digest).toBe(image.manifestDigest);

    // --dry-run stores nothing in the image store.
    const h = await fixture();
    await nixpackBuild.outputs!(resultWith(h, { 'image.oci.tar': { kind: 'file', digest: h.cas.putFile(archive).digest } }), ctxFor(h, { dryRun: true }));
    expect(readImageStore(h.cacheDir, 'shop')).toEqual({});
  });

  it('outputs(): a missing or unusable archive fails with what is wrong', async () => {
    const g = await fixture();
    await expect(nixpackBuild.outputs!(resultWith(g, {}), ctxFor(g))).rejects.toThrow('the Dockerfile build produced no image.oci.tar');
    const junk = path.join(tempDir('atmos-pipe-dockerfile-junk-'), 'image.oci.tar');
    writeFileSync(junk, Buffer.alloc(1024));
    const digest = g.cas.putFile(junk).digest;
    await expect(nixpackBuild.outputs!(resultWith(g, { 'image.oci.tar': { kind: 'file', digest } }), ctxFor(g))).rejects.toThrow(
      'the image the Dockerfile build exported cannot be used: OCI archive: no oci-layout file (not an OCI image layout tarball)',
    );
    expect(readImageStore(g.cacheDir, 'shop')).toEqual({});
  });
});

describe.skipIf(!haveRegistry())('nixpack.build with a Dockerfile escape: publish', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('pushes the built image to image.registry, digest unchanged', async () => {
    const g = await fixture(`{ registry: "${registry.host}", name: shop-api, tag: "1.0" }`);
    const { image, archive } = await skopeoArchive();
    const out = (await nixpackBuild.outputs!(resultWith(g, { 'image.oci.tar': { kind: 'file', digest: g.cas.putFile(archive).digest } }), ctxFor(g))) as BuiltImageOutputs;
    expect(out).toMatchObject({ image: `${registry.host}/shop-api@${image.manifestDigest}`, pushed: true });
    const remote = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/shop-api:1.0`)) as { Digest: string };
    expect(remote.Digest).toBe(image.manifestDigest);
    // --skip-push keeps it local.
    const h = await fixture(`{ registry: "${registry.host}", name: shop-api, tag: "2.0" }`);
    const local = (await nixpackBuild.outputs!(resultWith(h, { 'image.oci.tar': { kind: 'file', digest: h.cas.putFile(archive).digest } }), ctxFor(h, { skipPush: true }))) as BuiltImageOutputs;
    expect(local.pushed).toBe(false);
  });
});
