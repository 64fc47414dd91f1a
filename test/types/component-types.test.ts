/**
 * Component types from modules (SPEC 8, issue 14): the built-in `zip` module declares `zip`, so
 * `components.zip.<name>` is valid in a deployment, validated by the module's schema (located,
 * exit 2), placed in the graph, shown by describe/graph/matrix/sbom, built reproducibly and
 * bound into Terraform like an image. Real CLI, real Git, real terraform.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { crc32, zipArchive } from '../../modules/zip/index.js';
import { terraformApply } from '../../modules/terraform/index.js';
import { builtinModules } from '../../modules/index.js';
import pipelines from '../../pipelines/index.js';
import rolloutPipeline from '../../pipelines/rollout.js';
import { loadDeployment, openRepository, resolve } from '../../src/repository.js';
import type { DiagnosticError } from '../../src/diagnostics/index.js';
import { bindPipeline, defineModule, definePipeline, moduleRegistry, withComponentTypes, type PipelineDefinition, type ResolvedComponent } from '../../src/module/index.js';
import { runPipeline } from '../../src/run/index.js';
import { git, makeRepo, runCli, writeFiles } from '../helpers.js';

const DEPLOYMENT = [
  'deployment:',
  '  name: fn',
  '  components:',
  '    zip:',
  '      hello:',
  '        vars:',
  '          source: functions/hello',
  '          exclude: ["**/*.test.js"]',
  '    terraform:',
  '      lambda:',
  '        vars:',
  '          package_hash: "{{ zip.hello.base64sha256 }}"',
  '          package: "{{ zip.hello.path }}"',
  '  targets:',
  '    dev: {}',
  '',
].join('\n');

/** A Lambda-shaped repository: a function directory packaged by `zip`, and a Terraform component that reads the package. */
function fnFiles(deployment = DEPLOYMENT): Record<string, string> {
  return {
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', 'stacks:', '  base_path: stacks', ''].join('\n'),
    'functions/hello/index.js': "exports.handler = async () => require('./lib/util').greet();\n",
    'functions/hello/lib/util.js': "exports.greet = () => 'hello';\n",
    'functions/hello/package.json': '{ "name": "hello", "main": "index.js" }\n',
    'functions/hello/handler.test.js': "require('./index');\n",
    'components/terraform/lambda/main.tf': [
      'variable "package_hash" { type = string }',
      'variable "package" { type = string }',
      'resource "terraform_data" "fn" {',
      '  input = { hash = var.package_hash, file_hash = filebase64sha256(var.package), package = var.package }',
      '}',
      'output "hash" { value = terraform_data.fn.output.hash }',
      'output "file_hash" { value = terraform_data.fn.output.file_hash }',
      'output "package" { value = terraform_data.fn.output.package }',
      '',
    ].join('\n'),
    'deployments/fn.yaml': deployment,
  };
}

/** The repository as a Git repository of its own (one commit). */
function gitRepo(deployment = DEPLOYMENT): string {
  const dir = makeRepo(fnFiles(deployment));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

/** Clones made here (the helpers remove what makeRepo made). */
const clonesMade: string[] = [];
afterAll(() => {
  for (const d of clonesMade) rmSync(d, { recursive: true, force: true });
});

const cli = (dir: string, ...args: string[]) => runCli(['--chdir', dir, ...args], { env: { ATMOS_PIPE_USER: 'dev@example.com' } });

/** What the last build of `zip/hello` produced (the store describe reads). */
function built(dir: string): { digest: string; base64sha256: string; size: number; files: number; path: { digest: string; name: string } } {
  return JSON.parse(readFileSync(path.join(dir, '.atmos/artifacts/built.json'), 'utf8')).fn['zip/hello'];
}

function casObject(dir: string, digest: string): string {
  return path.join(dir, '.atmos/cache/cas/sha256', digest.slice('sha256:'.length));
}

describe('a component type declared by a module', () => {
  it("validates its components' vars with the module's schema, located at the keys (exit 2)", () => {
    const bad = DEPLOYMENT.replace('          source: functions/hello', '          sorce: functions/hello\n          include: index.js');
    const dir = makeRepo(fnFiles(bad));
    const r = cli(dir, 'validate', 'fn');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/fn.yaml:7:11: error: unknown key "sorce" in deployment.components.zip.hello.vars\n  hint: did you mean "source"?');
    expect(r.stderr).toContain('deployments/fn.yaml:8:20: error: deployment.components.zip.hello.vars.include must be a list, got a string');
    expect(r.stderr).toMatch(/deployments\/fn\.yaml:\d+:\d+: error: missing required key "source" in deployment\.components\.zip\.hello\.vars/);
  });

  it('checks the source directory the module names at validate: inside the repository, a directory (exit 2, located)', () => {
    const outside = cli(makeRepo(fnFiles(DEPLOYMENT.replace('source: functions/hello', 'source: ../elsewhere'))), 'validate', 'fn');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/deployments\/fn\.yaml:7:19: error: zip\/hello: source "\.\.\/elsewhere" leaves the repository/);
    const missing = cli(makeRepo(fnFiles(DEPLOYMENT.replace('source: functions/hello', 'source: functions/nope'))), 'validate', 'fn');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('deployments/fn.yaml:7:19: error: zip/hello: vars.source "functions/nope" is not a directory');
  });

  it('refuses an unknown component type with a guess among the known ones (exit 2)', () => {
    const dir = makeRepo(fnFiles(DEPLOYMENT.replace('    zip:', '    zp:')));
    const r = cli(dir, 'validate', 'fn');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/fn.yaml:4:5: error: unknown component type "zp" in deployment.components');
    expect(r.stderr).toContain('hint: did you mean "zip"? component types: terraform, nixpack, zip (module zip)');
  });

  it('refuses a template naming an unknown component or output of the type, located', () => {
    const dir = makeRepo(fnFiles(DEPLOYMENT.replace('zip.hello.base64sha256', 'zip.helo.base64sha256').replace('zip.hello.path', 'zip.hello.pth')));
    const r = cli(dir, 'validate', 'fn');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/fn.yaml:12:25: error: unknown zip component "helo" in template {{ zip.helo.base64sha256 }}\n  hint: did you mean "zip.hello.base64sha256"?');
    expect(r.stderr).toContain('deployments/fn.yaml:13:20: error: unknown output "pth" of zip.hello in template {{ zip.hello.pth }}\n  hint: did you mean "path"?');
  });

  it('appears in describe (unbuilt placeholders), graph (with its edge) and matrix', () => {
    const dir = makeRepo(fnFiles());
    const d = JSON.parse(cli(dir, 'describe', 'fn', '--target', 'dev', '--format', 'json').stdout);
    const byAddr = Object.fromEntries(d.components.map((c: { address: string }) => [c.address, c]));
    expect(byAddr['zip/hello']).toMatchObject({ type: 'zip', name: 'hello', wave: 0, depends_on: [], vars: { source: 'functions/hello', exclude: ['**/*.test.js'] } });
    expect(byAddr['terraform/lambda']).toMatchObject({ wave: 1, depends_on: ['zip/hello'] });
    expect(byAddr['terraform/lambda'].vars).toEqual({ package_hash: '(unbuilt: zip/hello.base64sha256)', package: '(unbuilt: zip/hello.path)' });

    const g = JSON.parse(cli(dir, 'graph', 'fn', '--target', 'dev', '--format', 'json').stdout);
    expect(g.nodes).toContainEqual({ address: 'zip/hello', type: 'zip', wave: 0 });
    expect(g.edges).toEqual([{ from: 'terraform/lambda', to: 'zip/hello', kind: 'template' }]);
    expect(cli(dir, 'graph', 'fn', '--target', 'dev').stdout).toContain('terraform/lambda  ← zip/hello');

    const m = JSON.parse(cli(dir, 'matrix', 'fn', '--target', 'dev').stdout);
    expect(m.include).toEqual([
      { component: 'zip/hello', wave: 0, depends_on: [] },
      { component: 'terraform/lambda', wave: 1, depends_on: ['zip/hello'] },
    ]);
  });

  it('builds a bit-for-bit reproducible zip: the same digest in two clones at other paths and times', () => {
    const origin = gitRepo();
    const clones = [0, 1].map((i) => {
      const base = mkdtempSync(path.join(tmpdir(), `atmos-pipe-zip-clone-${i}-`));
      clonesMade.push(base);
      const dir = path.join(base, i ? 'deep/er/checkout' : 'c');
      execFileSync('git', ['clone', '-q', origin, dir]);
      return dir;
    });
    // The second clone's files: other times and modes than Git gave them.
    for (const f of ['index.js', 'lib/util.js', 'package.json']) {
      const p = path.join(clones[1], 'functions/hello', f);
      utimesSync(p, new Date('2031-05-06T07:08:09Z'), new Date('2031-05-06T07:08:09Z'));
      chmodSync(p, 0o600);
    }
    const results = clones.map((dir, i) => {
      const r = runCli(['--chdir', dir, 'build', 'fn'], { env: { SOURCE_DATE_EPOCH: String(1_700_000_000 + i * 86_400) } });
      expect(r.code, r.stderr).toBe(0);
      return { dir, out: built(dir) };
    });
    const [a, b] = results;
    expect(a.out.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.out).toEqual(a.out);
    const bytes = readFileSync(casObject(a.dir, a.out.digest));
    expect(readFileSync(casObject(b.dir, b.out.digest)).equals(bytes)).toBe(true);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(a.out.digest);
    expect(a.out.base64sha256).toBe(createHash('sha256').update(bytes).digest('base64'));
    expect(a.out).toMatchObject({ size: bytes.length, files: 3, path: { digest: a.out.digest, name: 'hello.zip' } });
    // A real zip: sorted entries, the test file excluded, the DOS epoch, fixed modes.
    const obj = casObject(a.dir, a.out.digest);
    expect(execFileSync('unzip', ['-Z1', obj], { encoding: 'utf8' }).trim().split('\n')).toEqual(['index.js', 'lib/util.js', 'package.json']);
    expect(execFileSync('unzip', ['-tq', obj], { encoding: 'utf8' })).toContain('No errors detected');
    const long = execFileSync('unzip', ['-Z', '-T', obj], { encoding: 'utf8' });
    expect(long.match(/^-rw-r--r--.* 19800101\.000000 /gm)).toHaveLength(3);
  });

  it('binds its hash and path into Terraform: a real rollout, proven by the state; a changed source re-applies', () => {
    const dir = gitRepo();
    const r = cli(dir, 'rollout', 'fn', '--target', 'dev');
    expect(r.code, r.stderr).toBe(0);
    const first = built(dir);
    const state = () => JSON.parse(readFileSync(path.join(dir, '.atmos/state/fn/dev/lambda.tfstate'), 'utf8')).outputs;
    // Terraform read the archive at the bound path: filebase64sha256 equals the bound hash.
    expect(state().hash.value).toBe(first.base64sha256);
    expect(state().file_hash.value).toBe(first.base64sha256);
    expect(state().package.value).toBe('.atmos/files/zip/hello/hello.zip');
    // describe now shows the built values.
    const d = JSON.parse(cli(dir, 'describe', 'fn', '--target', 'dev', '--format', 'json').stdout);
    expect(d.components.find((c: { address: string }) => c.address === 'terraform/lambda').vars).toEqual({ package_hash: first.base64sha256, package: '.atmos/files/zip/hello/hello.zip' });
    // Unchanged: everything cached.
    const again = cli(dir, 'rollout', 'fn', '--target', 'dev');
    expect(again.stdout).toMatch(/rollout fn → dev: 3 steps, 0 done, 3 cached/);
    // A changed function: another archive, applied.
    writeFiles(dir, { 'functions/hello/lib/util.js': "exports.greet = () => 'hello again';\n" });
    git(dir, 'commit', '-qam', 'greet again');
    expect(cli(dir, 'rollout', 'fn', '--target', 'dev').code).toBe(0);
    const second = built(dir);
    expect(second.digest).not.toBe(first.digest);
    expect(state().file_hash.value).toBe(second.base64sha256);
  });

  it('is an input of the rollout: a modified function is refused like any modified input (exit 3)', () => {
    const dir = gitRepo();
    writeFiles(dir, { 'functions/hello/index.js': 'exports.handler = async () => "edited";\n' });
    const r = cli(dir, 'rollout', 'fn', '--target', 'dev');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(' M functions/hello/index.js');
  });

  it('builds the archive a selected Terraform component binds in the same run (a CI matrix job)', () => {
    const dir = gitRepo();
    const r = cli(dir, 'plan', 'fn', '--target', 'dev', '--component', 'terraform/lambda');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`zip/hello  ${built(dir).digest}`);
    expect(r.stdout).toMatch(/terraform\/lambda +1 +0 +0/);
  });

  it('contributes its package to the SBOM', () => {
    const dir = makeRepo(fnFiles());
    const r = cli(dir, 'sbom', 'fn', '--target', 'dev', '--summary', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const zipRow = JSON.parse(r.stdout).components.find((c: { component: string }) => c.component === 'zip/hello');
    expect(zipRow).toMatchObject({ type: 'zip', name: 'hello', packages: 1, direct: 1 });
    expect(cli(dir, 'sbom', 'fn', '--target', 'dev').stdout).toContain('"bom-ref": "zip/hello/hello.zip"');
    // Once built, the archive's sha256 is in the document.
    expect(cli(dir, 'build', 'fn').code).toBe(0);
    const doc = JSON.parse(cli(dir, 'sbom', 'fn', '--target', 'dev').stdout);
    const archive = doc.components.find((c: { 'bom-ref': string }) => c['bom-ref'] === 'zip/hello/hello.zip');
    expect(archive.hashes).toEqual([{ alg: 'SHA-256', content: built(dir).digest.slice('sha256:'.length) }]);
  });
});

describe('component types through the library', () => {
  /** A user's module declaring the type `note`: its output is its text, bound into Terraform. */
  const note = defineModule({
    name: 'note',
    inputs: z.object({}),
    componentType: { name: 'note', vars: z.strictObject({ text: z.string() }), outputs: { text: 'the text, upper-cased' } },
    steps: () => [],
    outputs: (_r, ctx) => ({ text: String((ctx.component.vars as { text: string }).text).toUpperCase() }),
  });
  const deployment = [
    'deployment:',
    '  name: fn',
    '  components:',
    '    note:',
    '      greeting: { vars: { text: "hello {{ target.name }}" } }',
    '    terraform:',
    '      lambda:',
    '        vars: { package_hash: "{{ note.greeting.text }}", package: main.tf }',
    '  targets:',
    '    dev: {}',
    '',
  ].join('\n');

  it('knows the types of the registry the repository is opened with, and only those', async () => {
    const dir = makeRepo(fnFiles(deployment));
    const repo = openRepository({ cwd: dir, modules: moduleRegistry(terraformApply, note) });
    const resolved = await resolve(repo, loadDeployment(repo), 'dev');
    expect(resolved.components.map((c) => [c.address, c.type, c.wave])).toEqual([
      ['note/greeting', 'note', 0],
      ['terraform/lambda', 'terraform', 1],
    ]);
    expect(resolved.components[0].vars).toEqual({ text: 'hello dev' });
    let err: unknown;
    try {
      loadDeployment(openRepository({ cwd: dir }));
    } catch (e) {
      err = e;
    }
    expect((err as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'deployment/unknown-component-type', location: { file: 'deployments/fn.yaml', line: 4, col: 5 } });
  });

  it('adds the artifact stage to the pipelines that build artifacts (build, plan, rollout), first, for declared types only', () => {
    const modules = moduleRegistry(terraformApply, note);
    const bound = (p: PipelineDefinition) => withComponentTypes(bindPipeline(p, builtinModules), modules);
    expect(bound(pipelines.rollout).stages.map((s) => s.name)).toEqual(['artifact', 'apply']);
    expect(bound(pipelines.plan).stages.map((s) => s.name)).toEqual(['artifact', 'plan']);
    expect(bound(pipelines.build).stages.map((s) => s.name)).toEqual(['artifact', 'build']);
    expect(bound(pipelines.test).stages.map((s) => s.name)).toEqual(['test']);
    const artifact = bound(pipelines.rollout).stages[0];
    expect(artifact.appliesTo?.({ type: 'note' } as ResolvedComponent)).toBe(true);
    expect(artifact.appliesTo?.({ type: 'terraform' } as ResolvedComponent)).toBe(false);
    // No declared type in the registry: the pipeline as written.
    expect(withComponentTypes(bindPipeline(pipelines.rollout, builtinModules), moduleRegistry(terraformApply)).stages.map((s) => s.name)).toEqual(['apply']);
  });

  it('refuses a pipeline that applies what binds an artifact without building it (exit 2), before anything runs', async () => {
    const dir = makeRepo(fnFiles(deployment));
    const modules = moduleRegistry(terraformApply, note);
    const repo = openRepository({ cwd: dir, modules });
    const applyOnly = definePipeline({ name: 'apply-only', description: 'd', mutates: true, stages: [{ name: 'apply', module: terraformApply, appliesTo: (c) => c.type === 'terraform' }] });
    let err: unknown;
    try {
      await runPipeline(repo, loadDeployment(repo), { pipeline: applyOnly, modules, target: 'dev', emit: () => undefined });
    } catch (e) {
      err = e;
    }
    expect((err as DiagnosticError).diagnostics[0]).toMatchObject({
      code: 'run/unbuilt-artifact',
      message: 'terraform/lambda binds {{ note.greeting.text }}, but the apply-only pipeline does not build note/greeting',
      location: { file: 'deployments/fn.yaml', line: 8 },
    });
    expect(readdirSync(dir)).not.toContain('.atmos');
  });

  it("runs the built-in rollout pipeline over the user's type: its output reaches Terraform's state", async () => {
    const dir = makeRepo(fnFiles(deployment));
    const modules = moduleRegistry(terraformApply, note);
    const repo = openRepository({ cwd: dir, modules });
    const run = await runPipeline(repo, loadDeployment(repo), { pipeline: rolloutPipeline, modules, target: 'dev', emit: () => undefined });
    expect(run.status).toBe('success');
    expect(run.componentOutputs['note/greeting']).toEqual({ text: 'HELLO DEV' });
    const state = JSON.parse(readFileSync(path.join(dir, '.atmos/state/fn/dev/lambda.tfstate'), 'utf8'));
    expect(state.outputs.hash.value).toBe('HELLO DEV');
    expect(statSync(path.join(dir, '.atmos/artifacts/built.json')).isFile()).toBe(true);
  });
});

describe('the zip format', () => {
  it('computes CRC-32 as zlib does', () => {
    for (const s of ['', 'a', 'hello, world', 'x'.repeat(10_000)]) expect(crc32(Buffer.from(s))).toBe(zlibCrc32(Buffer.from(s)));
  });

  it('writes the same bytes whatever the order of the entries, with no extra fields', () => {
    const a = { name: 'b/x.txt', mode: 0o644, data: Buffer.from('x') };
    const b = { name: 'a.sh', mode: 0o755, data: Buffer.from('#!/bin/sh\n') };
    const one = zipArchive([a, b]);
    expect(zipArchive([b, a]).equals(one)).toBe(true);
    // Local headers: signature, then the sorted names right after the 30-byte header (extra length 0).
    expect(one.readUInt32LE(0)).toBe(0x04034b50);
    expect(one.readUInt16LE(28)).toBe(0);
    expect(one.subarray(30, 34).toString()).toBe('a.sh');
    expect(one.readUInt32LE(one.length - 22)).toBe(0x06054b50);
  });
});
