/**
 * build, test and rollout of nixpack components through the real CLI: real npm in the
 * sandbox, reproducible OCI images checked with skopeo, a real registry (Debian's
 * docker-registry), bindings into real Terraform, and Git notes for test results.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIT_ENV, exampleGitRepo, git, runCli, type CliResult } from '../helpers.js';
import { startRegistry, type RunningRegistry } from '../oci/registry-server.js';
import { validateCycloneDx } from '../../src/sbom/index.js';

const ENV: Record<string, string> = { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' };
const D = 'payment-service';
const cli = (dir: string, ...args: string[]): CliResult => runCli(args, { cwd: dir, env: ENV });
const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8' });
const exampleRepo = (edit?: (dir: string) => void) => exampleGitRepo('atmos-pipe-build-', edit);

const imageOf = (r: CliResult): string => {
  expect(r.code, r.stderr).toBe(0);
  const m = /nixpack\/api\s+(\S+@sha256:[0-9a-f]{64})/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return m![1];
};

describe('build', () => {
  it('--plan prints a nixpacks-shaped plan with the overrides and builds nothing', () => {
    const dir = exampleRepo();
    const r = cli(dir, 'build', D, '--component', 'api', '--plan');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.providers).toEqual(['node']);
    expect(plan.phases.install.cmds).toEqual(['npm ci']);
    expect(plan.phases.build.cmds).toEqual(['npm run build']);
    expect(plan.start.cmd).toBe('node dist/server.js');
    expect(plan.phases.setup.nixPkgs[0]).toMatch(/^nodejs_\d+$/);
    expect(existsSync(path.join(dir, '.atmos/images'))).toBe(false);
    expect(existsSync(path.join(dir, '.atmos/workspaces'))).toBe(false);
  });

  it('builds in the sandbox over a copy, caches by content, and two clones give the same digest', { timeout: 120_000 }, () => {
    const a = exampleRepo();
    const b = path.join(mkdtempSync(path.join(tmpdir(), 'atmos-pipe-clone-')), 'elsewhere');
    git(tmpdir(), 'clone', '-q', a, b);
    const first = cli(a, 'build', D);
    const digestA = imageOf(first);
    expect(first.stdout).toMatch(/nixpack\/api\s+install\s+done/);
    // Never in the source tree.
    expect(existsSync(path.join(a, 'services/api/node_modules'))).toBe(false);
    expect(existsSync(path.join(a, 'services/api/dist'))).toBe(false);
    // Unchanged: nothing rebuilt, same image.
    const again = cli(a, 'build', D);
    expect(imageOf(again)).toBe(digestA);
    expect(again.stdout).toMatch(/0 done, 2 cached/);
    // Another clone, another directory: bit-for-bit the same image.
    expect(imageOf(cli(b, 'build', D))).toBe(digestA);
    // A third-party client reads the local OCI layout: config, entrypoint, annotations.
    const inspect = JSON.parse(skopeo('inspect', `oci:${path.join(a, '.atmos/images')}:payment-api:${git(a, 'rev-parse', 'HEAD')}`));
    expect(inspect.Digest).toBe(digestA.split('@')[1]);
    expect(inspect.Labels['org.opencontainers.image.revision']).toBe(git(a, 'rev-parse', 'HEAD'));
    expect(inspect.Labels['org.opencontainers.image.base.name']).toMatch(/nixpacks/);
    const config = JSON.parse(skopeo('inspect', '--config', `oci:${path.join(a, '.atmos/images')}:payment-api:${git(a, 'rev-parse', 'HEAD')}`));
    expect(config.config.Cmd).toEqual(['/bin/sh', '-c', 'node dist/server.js']);
    expect(config.config.WorkingDir).toBe('/app');
    expect(config.created).toBe(new Date(Number(git(a, 'log', '-1', '--format=%ct')) * 1000).toISOString().replace('.000Z', 'Z'));
    // The layer holds the built app (dist/) under /app, owned by root, with the fixed mtime.
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'atmos-pipe-skopeo-')), 'img');
    skopeo('copy', `oci:${path.join(a, '.atmos/images')}:payment-api:${git(a, 'rev-parse', 'HEAD')}`, `dir:${out}`);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const layer = path.join(out, manifest.layers[0].digest.split(':')[1]);
    const listing = execFileSync('tar', ['-tzvf', layer], { encoding: 'utf8' });
    expect(listing).toMatch(/0\/0 .* app\/dist\/server\.js/);
    expect(listing).not.toMatch(/node_modules\/\.cache/);
    // A changed source rebuilds and changes the digest.
    writeFileSync(path.join(a, 'services/api/src/app.js'), `${readFileSync(path.join(a, 'services/api/src/app.js'), 'utf8')}\n// changed\n`);
    expect(imageOf(cli(a, 'build', D))).not.toBe(digestA);
  });

  it('a Dockerfile escape is refused by the local engine, with why and what to use', () => {
    const dir = exampleRepo((d) => {
      writeFileSync(path.join(d, 'services/api/Dockerfile'), 'FROM node:20-slim\nCOPY . /app\nCMD ["node", "/app/dist/server.js"]\n');
      const f = path.join(d, 'deployments/payment-service.yaml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8')
          .replace('            publish: false', '            publish: false\n            dockerfile_escape: true')
          .replace(/ {10}install_cmd: npm ci\n {10}build_cmd: npm run build\n/, ''),
      );
    });
    const r = cli(dir, 'build', D, '--engine', 'local');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/deployments\/payment-service\.yaml:\d+:\d+: error: nixpack\/api builds from a Dockerfile/);
    expect(r.stderr).toMatch(/--engine dagger/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('test', () => {
  it('runs the tests against the built tree, writes JUnit, attaches a Git note; a failure fails with its output', { timeout: 120_000 }, () => {
    const dir = exampleRepo();
    const ok = cli(dir, 'test', D, '--junit-xml', 'reports/junit.xml');
    expect(ok.code, ok.stderr).toBe(0);
    const xml = readFileSync(path.join(dir, 'reports/junit.xml'), 'utf8');
    expect(xml).toMatch(/<testsuite name="nixpack\/api" tests="3" failures="0"/);
    expect(git(dir, 'notes', '--ref', `refs/notes/atmos/${D}/test-results`, 'show', 'HEAD')).toContain('<testsuites');

    writeFileSync(
      path.join(dir, 'services/api/test/broken.test.js'),
      "import { test } from 'node:test';\nimport assert from 'node:assert';\ntest('refunds are never negative', () => { assert.strictEqual(-1, 1, 'refund went negative'); });\n",
    );
    const bad = cli(dir, 'test', D, '--junit-xml', 'reports/junit.xml');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('refund went negative');
    expect(readFileSync(path.join(dir, 'reports/junit.xml'), 'utf8')).toMatch(/<failure message="exit 1">[\s\S]*refund went negative/);
  });

  it('reuses what build built: the same steps in another pipeline are cache hits', { timeout: 120_000 }, () => {
    const dir = exampleRepo();
    expect(cli(dir, 'build', D).code).toBe(0);
    const t = cli(dir, 'test', D, '--events', 'ndjson');
    expect(t.code, t.stderr).toBe(0);
    const finished = t.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; module?: string; status?: string })
      .filter((e) => e.type === 'step.finished');
    // Before: the build step ran again (its fingerprint named the pipeline through its dependency's id).
    expect(finished.filter((e) => e.module !== 'nixpack.test').map((e) => e.status)).toEqual(['cached', 'cached']);
    expect(finished.find((e) => e.module === 'nixpack.test')?.status).toBe('done');
  });
});

describe('publish to a real registry', () => {
  let registry: RunningRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
  });

  const withRegistry =
    (host: string, publish = true) =>
    (d: string) => {
      const f = path.join(d, 'deployments/payment-service.yaml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8')
          .replace('            name: payment-api\n', `            registry: ${host}\n            name: payment-api\n`)
          .replace('            publish: false', `            publish: ${publish}`),
      );
    };

  it('pushes blobs and manifest; skopeo sees the same digest; --skip-push and publish: false push nothing', { timeout: 120_000 }, () => {
    const dir = exampleRepo(withRegistry(registry.host));
    const sha = git(dir, 'rev-parse', 'HEAD');
    const skipped = imageOf(cli(dir, 'build', D, '--skip-push'));
    expect(() => skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/payment-api:${sha}`)).toThrow();
    const r = cli(dir, 'build', D);
    const ref = imageOf(r);
    expect(ref).toBe(skipped);
    expect(ref.startsWith(`${registry.host}/payment-api@sha256:`)).toBe(true);
    expect(r.stdout).toMatch(/\byes\b/);
    const inspect = JSON.parse(skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/payment-api:${sha}`));
    expect(inspect.Digest).toBe(ref.split('@')[1]);

    const off = exampleRepo(withRegistry(registry.host, false));
    const f = path.join(off, 'services/api/src/app.js');
    writeFileSync(f, `${readFileSync(f, 'utf8')}\n// another image\n`);
    git(off, 'commit', '-qam', 'change');
    const r2 = cli(off, 'build', D);
    imageOf(r2);
    expect(r2.stdout).toMatch(/no \(local store/);
    expect(() => skopeo('inspect', '--tls-verify=false', `docker://${registry.host}/payment-api:${git(off, 'rev-parse', 'HEAD')}`)).toThrow();
  });
});

describe('rollout builds, binds and releases', () => {
  it('the example rolls out end to end: the image digest reaches Terraform and the release', { timeout: 180_000 }, async () => {
    const dir = exampleRepo();
    const r = cli(dir, 'rollout', D, '--target', 'dev');
    expect(r.code, r.stderr).toBe(0);
    const built = JSON.parse(readFileSync(path.join(dir, '.atmos/images/built.json'), 'utf8'))[D].api;
    expect(built.ref).toMatch(/^payment-api@sha256:[0-9a-f]{64}$/);
    // Bound by label into ecs/service-api's `image` variable: Terraform got the digest.
    const state = readFileSync(path.join(dir, '.atmos/state', D, 'dev', 'ecs/service-api.tfstate'), 'utf8');
    expect(state).toContain(built.ref);
    // The release pins it; describe shows the real reference.
    const rel = JSON.parse(cli(dir, 'releases', D, '--format', 'json').stdout)[0];
    expect(rel.images.api).toEqual({ ref: built.ref, digest: built.digest });
    // The release's SBOM: a Git note on the commit whose digest the record holds; strictly valid.
    const note = `${git(dir, 'notes', '--ref', `refs/notes/atmos/${D}/sbom`, 'show', 'HEAD')}\n`;
    expect(rel.sboms.deployment).toBe(`sha256:${createHash('sha256').update(note).digest('hex')}`);
    expect(await validateCycloneDx(note)).toBeNull();
    expect(note).toContain(built.digest);
    const desc = JSON.parse(cli(dir, 'describe', D, '--target', 'dev', '--format', 'json').stdout);
    expect(desc.components.find((c: { address: string }) => c.address === 'terraform/ecs/service-api').vars.image).toBe(built.ref);
    // Promotion rolls out exactly that image, without building.
    const stg = cli(dir, 'rollout', D, '--target', 'staging', '--promote-from', 'dev');
    expect(stg.code, stg.stderr).toBe(0);
    expect(stg.stderr).not.toMatch(/nixpack\/api:(install|build)/);
    expect(readFileSync(path.join(dir, '.atmos/state', D, 'staging', 'ecs/service-api.tfstate'), 'utf8')).toContain(built.ref);
    const h = JSON.parse(cli(dir, 'history', D, '--target', 'staging', '--format', 'json').stdout);
    expect(h[0].images).toEqual({ api: built.ref });
  });
});
