import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import {
  DaggerEngine,
  NETWORK_NOTICE,
  NONCE_VARIABLE,
  TOOL_CACHE_ROOT,
  WORKSPACE_PATH,
  MIRROR_ROOT,
  connectWithSdk,
  type DaggerCacheVolume,
  type DaggerClient,
  type DaggerConnect,
  type DaggerContainer,
  type DaggerDirectory,
  type DaggerSecret,
} from '../../src/engine/dagger/index.js';
import type { ExecRequest, ExecResult } from '../../src/engine/types.js';
import { fromWorkspace, stepWorkspace, type Step } from '../../src/steps/types.js';
import { ROOT, makeRepo } from '../helpers.js';

// ---------------------------------------------------------------------------------------------
// A recording fake of the client surface.

type Call = unknown[];

interface FakeBehaviour {
  version?: () => Promise<string>;
  /** Exit code of the exec, by argv (default 0). */
  exitCode?: (argv: string[]) => number | Promise<number>;
  stdout?: string;
  stderr?: string;
  combined?: string;
  /** Thrown by the first query (exitCode) instead of answering. */
  queryError?: Error;
  /** Files the step "wrote": container dir -> (relative path -> content), written on export. */
  files?: Record<string, Record<string, string>>;
  /** The OCI tarball a Dockerfile build "produced", written by Container.export. */
  imageTar?: Buffer;
  /** Thrown by Container.export of a Dockerfile build (the SDK reports a failed build there). */
  buildError?: Error;
}

class FakeDagger {
  readonly calls: Call[] = [];
  connects = 0;
  closes = 0;
  constructor(readonly b: FakeBehaviour = {}) {}

  client(): DaggerClient {
    const rec = (...c: Call) => this.calls.push(c);
    const b = this.b;
    const dir = (desc: Record<string, unknown>): DaggerDirectory & { desc: Record<string, unknown> } => ({
      desc,
      dockerBuild: (o) => (rec('dockerBuild', desc, o), container(undefined, { dockerBuild: desc })),
      async export(hostPath, opts) {
        rec('export', desc, hostPath, opts);
        const files = desc.container ? b.files?.[desc.container as string] : undefined;
        for (const [rel, content] of Object.entries(files ?? {})) {
          mkdirSync(path.dirname(path.join(hostPath, rel)), { recursive: true });
          writeFileSync(path.join(hostPath, rel), content);
        }
        return hostPath;
      },
    });
    const container = (argv?: string[], built?: { dockerBuild: Record<string, unknown> }): DaggerContainer => {
      const c: DaggerContainer = {
        from: (a) => (rec('from', a), container(argv)),
        withMountedDirectory: (p, d, o) => (rec('withMountedDirectory', p, (d as ReturnType<typeof dir>).desc, o), container(argv)),
        withMountedCache: (p, v, o) => (rec('withMountedCache', p, v.volumeKey, o), container(argv)),
        withMountedFile: (p, f) => (rec('withMountedFile', p, f.hostPath), container(argv)),
        withEnvVariable: (k, v) => (rec('withEnvVariable', k, v), container(argv)),
        withSecretVariable: (k, s) => (rec('withSecretVariable', k, s.secretName), container(argv)),
        withWorkdir: (p) => (rec('withWorkdir', p), container(argv)),
        withExec: (a, o) => (rec('withExec', a, o), container(a)),
        exitCode: async () => {
          rec('exitCode');
          if (b.queryError) throw b.queryError;
          return b.exitCode ? b.exitCode(argv ?? []) : 0;
        },
        stdout: async () => (rec('stdout'), b.stdout ?? ''),
        stderr: async () => (rec('stderr'), b.stderr ?? ''),
        combinedOutput: async () => (rec('combinedOutput'), b.combined ?? ''),
        directory: (p) => (rec('directory', p), dir({ container: p })),
        file: (p) => ({ export: async (hostPath) => (rec('file.export', p, hostPath), hostPath) }),
        export: async (hostPath) => {
          rec('container.export', hostPath);
          if (built && b.buildError) throw b.buildError;
          writeFileSync(hostPath, b.imageTar ?? Buffer.alloc(0));
          return hostPath;
        },
      };
      return c;
    };
    return {
      version: () => (rec('version'), b.version ? b.version() : Promise.resolve('v0.21.9')),
      container: () => (rec('container'), container()),
      host: () => ({ directory: (p, o) => (rec('host.directory', p, o), dir({ host: p })), file: (p) => (rec('host.file', p), { hostPath: p }) }),
      cacheVolume: (k): DaggerCacheVolume => (rec('cacheVolume', k), { volumeKey: k }),
      setSecret: (n, v): DaggerSecret => (rec('setSecret', n, v), { secretName: n }),
    };
  }

  connect: DaggerConnect = async () => {
    this.connects++;
    return { client: this.client(), via: 'a fake session', close: async () => void this.closes++ };
  };

  /** Calls made by one exec: from `container` on (the session's `version` probe left out). */
  get execCalls(): Call[] {
    return this.calls.filter((c) => c[0] !== 'version');
  }
}

// ---------------------------------------------------------------------------------------------
// Realistic steps.

/** Images run by digest on Dagger (a tag-only reference is refused). */
const IMAGE = `hashicorp/terraform:1.9.8@sha256:${'d'.repeat(64)}`;
const SECRET = 's3cr3t-db-p4ssw0rd-9f2c';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-dagger-'));
  temps.push(d);
  return d;
}

function tfStep(over: Partial<Step> & Pick<Step, 'id' | 'module' | 'argv'>): Step {
  return {
    component: 'terraform/vpc',
    image: IMAGE,
    tool: { name: 'terraform', version: '1.9.8' },
    caches: [{ volume: 'terraform-plugins-1.9.8', dir: 'terraform-plugins', env: 'TF_PLUGIN_CACHE_DIR' }],
    env: {},
    secrets: [],
    inputs: {},
    outputs: {},
    needs: [],
    network: true,
    cache: 'content',
    ...over,
  };
}

function request(step: Step, workspace: string, env: Record<string, string>, out: Buffer[] = []): ExecRequest {
  return { step, workspace, env, onOutput: (c) => out.push(c), signal: new AbortController().signal };
}

function noNonce(): string {
  return 'nonce-1';
}

describe('DaggerEngine: translation of a step (recording fake)', () => {
  it('terraform init then apply: image, workspace, state mount, plugin cache, sorted env, secret, workdir, exec, exports', async () => {
    const repo = makeRepo({});
    const ws1 = path.join(repo, '.atmos/workspaces/run1/init');
    const ws2 = path.join(repo, '.atmos/workspaces/run1/apply');
    const state = path.join(repo, '.atmos/state/terraform/vpc');
    for (const w of [ws1, ws2]) {
      mkdirSync(path.join(w, 'components/terraform/vpc'), { recursive: true });
      writeFileSync(path.join(w, 'components/terraform/vpc/main.tf'), 'variable "cidr" {}\n');
      writeFileSync(path.join(w, 'components/terraform/vpc/vpc.terraform.tfvars.json'), '{"cidr":"10.0.0.0/16"}');
    }
    const fake = new FakeDagger({
      combined: 'Terraform has been successfully initialized!\n',
      files: { [WORKSPACE_PATH]: { 'components/terraform/vpc/.terraform.lock.hcl': '# lock\n' } },
    });
    const engine = new DaggerEngine({ connect: fake.connect, nonce: noNonce });

    const init = tfStep({
      id: 'rollout:terraform/vpc:init',
      module: 'terraform.init',
      argv: ['terraform', 'init', '-input=false', '-no-color'],
      env: { TF_INPUT: '0', TF_IN_AUTOMATION: '1' },
      inputs: { 'components/terraform/vpc': { kind: 'dir', digest: 'sha256:aa' } },
      outputs: { dirs: ['.terraform'], files: ['.terraform.lock.hcl'] },
      workdir: 'components/terraform/vpc',
    });
    const out: Buffer[] = [];
    const r1 = await engine.exec(request(init, ws1, { ...init.env }, out));
    expect(r1).toEqual({ exitCode: 0 });
    expect(Buffer.concat(out).toString()).toBe('Terraform has been successfully initialized!\n');
    // What the step "wrote" came back to the host workspace, where the scheduler collects it.
    expect(readFileSync(path.join(ws1, 'components/terraform/vpc/.terraform.lock.hcl'), 'utf8')).toBe('# lock\n');

    const cache = 'atmos-pipe-terraform-plugins-1.9.8';
    const pluginDir = `${TOOL_CACHE_ROOT}/terraform-plugins`;
    expect(fake.execCalls).toEqual([
      ['container'],
      ['from', IMAGE],
      ['host.directory', ws1, { noCache: true }],
      ['withMountedDirectory', WORKSPACE_PATH, { host: ws1 }, undefined],
      ['cacheVolume', cache],
      ['withMountedCache', pluginDir, cache, { sharing: 'PRIVATE' }],
      ['withEnvVariable', 'TF_INPUT', '0'],
      ['withEnvVariable', 'TF_IN_AUTOMATION', '1'],
      ['withEnvVariable', 'TF_PLUGIN_CACHE_DIR', pluginDir],
      ['withWorkdir', `${WORKSPACE_PATH}/components/terraform/vpc`],
      ['withEnvVariable', NONCE_VARIABLE, 'nonce-1'],
      ['withExec', ['terraform', 'init', '-input=false', '-no-color'], { expect: 'ANY' }],
      ['exitCode'],
      ['combinedOutput'],
      ['directory', WORKSPACE_PATH],
      ['export', { container: WORKSPACE_PATH }, ws1, { wipe: true }],
    ]);

    fake.calls.length = 0;
    const apply = tfStep({
      id: 'rollout:terraform/vpc:apply',
      module: 'terraform.apply',
      argv: ['terraform', 'apply', '-input=false', '-auto-approve', '-no-color', '-var-file=vpc.terraform.tfvars.json'],
      env: { TF_IN_AUTOMATION: '1', AWS_REGION: 'eu-west-1', TF_INPUT: '0' },
      secrets: ['TF_VAR_db_password'],
      inputs: {
        'components/terraform/vpc': { kind: 'dir', digest: 'sha256:aa' },
        'components/terraform/vpc/.terraform': { step: 'rollout:terraform/vpc:init', output: '.terraform' },
      },
      mounts: [{ host: state, path: state, writable: true }],
      facts: { state: 'none' },
      needs: ['rollout:terraform/vpc:init'],
      workdir: 'components/terraform/vpc',
      cache: 'never',
    });
    const r2 = await engine.exec(request(apply, ws2, { ...apply.env, TF_VAR_db_password: SECRET }));
    expect(r2).toEqual({ exitCode: 0 });
    expect(existsSync(state)).toBe(true); // created on the host before it is mounted
    expect(fake.execCalls).toEqual([
      ['container'],
      ['from', IMAGE],
      ['host.directory', ws2, { noCache: true }],
      ['withMountedDirectory', WORKSPACE_PATH, { host: ws2 }, undefined],
      ['host.directory', state, { noCache: true, exclude: ['**/*.atmos-pipe-merge-*'] }],
      ['withMountedDirectory', state, { host: state }, undefined],
      ['cacheVolume', cache],
      ['withMountedCache', pluginDir, cache, { sharing: 'PRIVATE' }],
      ['withEnvVariable', 'AWS_REGION', 'eu-west-1'],
      ['withEnvVariable', 'TF_INPUT', '0'],
      ['withEnvVariable', 'TF_IN_AUTOMATION', '1'],
      ['withEnvVariable', 'TF_PLUGIN_CACHE_DIR', pluginDir],
      ['setSecret', 'atmos-pipe:rollout:terraform/vpc:apply:TF_VAR_db_password', SECRET],
      ['withSecretVariable', 'TF_VAR_db_password', 'atmos-pipe:rollout:terraform/vpc:apply:TF_VAR_db_password'],
      ['withWorkdir', `${WORKSPACE_PATH}/components/terraform/vpc`],
      ['withEnvVariable', NONCE_VARIABLE, 'nonce-1'],
      ['withExec', apply.argv, { expect: 'ANY' }],
      ['exitCode'],
      ['combinedOutput'],
      // the writable state mount is exported to a scratch directory (only what the step changed
      // is then written to the shared state directory), then the workspace (wiped)
      ['directory', state],
      ['export', { container: state }, expect.stringContaining('atmos-pipe-dagger-export-'), { wipe: true }],
      ['directory', WORKSPACE_PATH],
      ['export', { container: WORKSPACE_PATH }, ws2, { wipe: true }],
    ]);
    // One session for both steps, ended by close().
    expect(fake.connects).toBe(1);
    await engine.close();
    expect(fake.closes).toBe(1);
  });

  it('a secret value only ever reaches setSecret, never env, argv, paths or errors', async () => {
    const ws = tmp();
    const fake = new FakeDagger({ exitCode: () => 0 });
    const engine = new DaggerEngine({ connect: fake.connect });
    const step = tfStep({
      id: 'deploy:terraform/db:apply',
      module: 'terraform.apply',
      argv: ['terraform', 'apply', '-auto-approve'],
      env: { TF_IN_AUTOMATION: '1' },
      secrets: ['TF_VAR_db_password', 'AWS_SECRET_ACCESS_KEY', 'NOT_SET_ON_HOST'],
    });
    await engine.exec(request(step, ws, { TF_IN_AUTOMATION: '1', TF_VAR_db_password: SECRET, AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-K7MDENG' }));
    const setSecrets = fake.calls.filter((c) => c[0] === 'setSecret');
    expect(setSecrets.map((c) => [c[1], c[2]])).toEqual([
      ['atmos-pipe:deploy:terraform/db:apply:AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI-K7MDENG'],
      ['atmos-pipe:deploy:terraform/db:apply:TF_VAR_db_password', SECRET],
    ]);
    const others = JSON.stringify(fake.calls.filter((c) => c[0] !== 'setSecret'));
    expect(others).not.toContain(SECRET);
    expect(others).not.toContain('wJalrXUtnFEMI-K7MDENG');
    const envNames = fake.calls.filter((c) => c[0] === 'withEnvVariable').map((c) => c[1]);
    expect(envNames).not.toContain('TF_VAR_db_password');
    expect(envNames).not.toContain('AWS_SECRET_ACCESS_KEY');
    // A secret the host does not have is left unset (as with the local engine).
    expect(fake.calls.filter((c) => c[0] === 'withSecretVariable').map((c) => c[1])).toEqual(['AWS_SECRET_ACCESS_KEY', 'TF_VAR_db_password']);

    // An engine error that happens to echo the value is redacted before it becomes a reason.
    const leaky = new FakeDagger({ queryError: new Error(`process "terraform" failed: password ${SECRET} rejected`) });
    const e2 = new DaggerEngine({ connect: leaky.connect });
    const err = await e2.exec(request(step, ws, { TF_VAR_db_password: SECRET })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(DiagnosticError);
    expect((err as Error).message).toBe('dagger: process "terraform" failed: password *** rejected');
  });

  it('returns the exit code and, for `stdout` steps, stdout (stderr alone goes to the log)', async () => {
    const ws = tmp();
    const fake = new FakeDagger({ exitCode: (argv) => (argv[1] === 'output' ? 0 : 3), stdout: '{"vpc_id":{"value":"vpc-123"}}\n', stderr: 'warning: x\n', combined: 'Error: boom\n' });
    const engine = new DaggerEngine({ connect: fake.connect });
    const outStep = tfStep({
      id: 'rollout:terraform/vpc:output',
      module: 'terraform.output',
      argv: ['terraform', 'output', '-json'],
      stdout: 'outputs.json',
      outputs: { values: ['outputs.json'] },
      workdir: 'c',
    });
    const log: Buffer[] = [];
    const r = await engine.exec(request(outStep, ws, {}, log));
    expect(r.exitCode).toBe(0);
    expect(r.stdout?.toString()).toBe('{"vpc_id":{"value":"vpc-123"}}\n');
    expect(Buffer.concat(log).toString()).toBe('warning: x\n');
    expect(fake.execCalls.slice(fake.execCalls.findIndex((c) => c[0] === 'exitCode'))).toEqual([
      ['exitCode'],
      ['stdout'],
      ['stderr'],
      ['directory', WORKSPACE_PATH],
      ['export', { container: WORKSPACE_PATH }, ws, { wipe: true }],
    ]);

    // A failing command is a result (exit 3), with its output, and its files still come back.
    fake.calls.length = 0;
    const log2: Buffer[] = [];
    const failing = tfStep({ id: 'rollout:terraform/vpc:plan', module: 'terraform.plan', argv: ['terraform', 'plan'] });
    const r2 = await engine.exec(request(failing, ws, {}, log2));
    expect(r2).toEqual({ exitCode: 3 });
    expect(Buffer.concat(log2).toString()).toBe('Error: boom\n');
    expect(fake.calls.some((c) => c[0] === 'export')).toBe(true);
  });

  it('an exec killed by a signal (Dagger ExecError) is exit 137 with its output, and nothing to export', async () => {
    const ws = tmp();
    const execError = Object.assign(new Error('process "terraform apply" did not complete successfully: exit code: 137'), {
      name: 'ExecError',
      exitCode: 137,
      stdout: 'Applying...',
      stderr: 'Killed',
    });
    const fake = new FakeDagger({ queryError: execError });
    const engine = new DaggerEngine({ connect: fake.connect });
    const log: Buffer[] = [];
    const r = await engine.exec(request(tfStep({ id: 'a:b:apply', module: 'terraform.apply', argv: ['terraform', 'apply'] }), ws, {}, log));
    expect(r).toEqual({ exitCode: 137 });
    expect(Buffer.concat(log).toString()).toBe('Applying...\nKilled');
    expect(fake.calls.some((c) => c[0] === 'export')).toBe(false);
  });

  it('read-only mounts, a step-chosen plugin cache dir, an image without a host tool, and workdir checks', async () => {
    const ws = tmp();
    const ro = tmp();
    const fake = new FakeDagger();
    const engine = new DaggerEngine({ connect: fake.connect, nonce: noNonce });
    const step: Step = {
      id: 'r:terraform/x:validate',
      module: 'terraform.validate',
      component: 'terraform/x',
      image: `ghcr.io/opentofu/opentofu:1.8.3@sha256:${'a'.repeat(64)}`,
      argv: ['tofu', 'validate'],
      env: { TF_PLUGIN_CACHE_DIR: '.plugins' },
      caches: [{ volume: 'opentofu-plugins-1.8.3', dir: 'opentofu-plugins', env: 'TF_PLUGIN_CACHE_DIR' }],
      secrets: [],
      inputs: {},
      outputs: {},
      mounts: [{ host: ro, path: '/etc/atmos-ro', writable: false }],
      needs: [],
      network: false,
      cache: 'content',
    };
    await engine.exec(request(step, ws, { TF_PLUGIN_CACHE_DIR: '.plugins' }));
    expect(fake.execCalls).toEqual([
      ['container'],
      ['from', `ghcr.io/opentofu/opentofu:1.8.3@sha256:${'a'.repeat(64)}`],
      ['host.directory', ws, { noCache: true }],
      ['withMountedDirectory', WORKSPACE_PATH, { host: ws }, undefined],
      ['host.directory', ro, { noCache: true, exclude: ['**/*.atmos-pipe-merge-*'] }],
      ['withMountedDirectory', '/etc/atmos-ro', { host: ro }, { readOnly: true }],
      ['cacheVolume', 'atmos-pipe-opentofu-plugins-1.8.3'],
      ['withMountedCache', `${WORKSPACE_PATH}/.plugins`, 'atmos-pipe-opentofu-plugins-1.8.3', { sharing: 'PRIVATE' }],
      ['withEnvVariable', 'TF_PLUGIN_CACHE_DIR', '.plugins'],
      ['withWorkdir', WORKSPACE_PATH],
      ['withEnvVariable', NONCE_VARIABLE, 'nonce-1'],
      ['withExec', ['tofu', 'validate'], { expect: 'ANY' }],
      ['exitCode'],
      ['combinedOutput'],
      ['directory', WORKSPACE_PATH],
      ['export', { container: WORKSPACE_PATH }, ws, { wipe: true }],
    ]);
    // network: false is not enforced by Dagger: said once.
    expect(engine.drainNotices()).toEqual([NETWORK_NOTICE]);
    await engine.exec(request(step, ws, {}));
    expect(engine.drainNotices()).toEqual([]);

    // A step that declares no tool cache gets no cache volume.
    fake.calls.length = 0;
    await engine.exec(request({ ...step, image: `alpine:3.20@sha256:${'e'.repeat(64)}`, argv: ['true'], mounts: [], env: {}, caches: undefined }, ws, {}));
    expect(fake.calls.some((c) => c[0] === 'withMountedCache')).toBe(false);

    await expect(engine.exec(request({ ...step, workdir: '../..' }, ws, {}))).rejects.toThrow(/escapes the workspace/);
    await expect(engine.exec(request({ ...step, mounts: [{ host: ro, path: `${WORKSPACE_PATH}/x`, writable: true }] }, ws, {}))).rejects.toThrow(/overlaps the workspace/);
  });

  it('a mount named relative to the workdir (local Terraform state) is where that path leads: the container mirrors the host layout, the same for every copy', async () => {
    const layoutOf = async (cacheDir: string) => {
      const ws = stepWorkspace(cacheDir, '20260101T000000Z-abcdef', 'rollout_terraform_vpc_apply-12345678');
      mkdirSync(ws, { recursive: true });
      const state = path.join(cacheDir, 'state', 'shop', 'dev');
      const rel = fromWorkspace(cacheDir, state);
      expect(rel).toBe('../../../state/shop/dev');
      const fake = new FakeDagger();
      const engine = new DaggerEngine({ connect: fake.connect, nonce: noNonce });
      const step = tfStep({ id: 'rollout:terraform/vpc:apply', module: 'terraform.apply', argv: ['terraform', 'apply'], mounts: [{ host: state, path: rel, writable: true }] });
      await engine.exec(request(step, ws, {}));
      expect(existsSync(state)).toBe(true);
      const mounted = fake.execCalls.filter((c) => c[0] === 'withMountedDirectory').map((c) => [c[1], c[2]]);
      const workdir = fake.execCalls.find((c) => c[0] === 'withWorkdir')![1] as string;
      const exported = fake.execCalls.filter((c) => c[0] === 'export').map((c) => [c[1], c[2]]);
      return { ws, state, rel, mounted, workdir, exported };
    };
    const a = await layoutOf(tmp());
    const wsIn = `${MIRROR_ROOT}/workspaces/20260101T000000Z-abcdef/rollout_terraform_vpc_apply-12345678`;
    const stateIn = `${MIRROR_ROOT}/state/shop/dev`;
    expect(a.mounted).toEqual([
      [wsIn, { host: a.ws }],
      [stateIn, { host: a.state }],
    ]);
    expect(a.workdir).toBe(wsIn);
    expect(path.posix.resolve(a.workdir, a.rel)).toBe(stateIn); // what Terraform opens is what is mounted
    expect(a.exported).toEqual([
      [{ container: stateIn }, expect.stringContaining('atmos-pipe-dagger-export-')],
      [{ container: wsIn }, a.ws],
    ]);
    // A copy of the repository elsewhere: other host paths, the same container paths.
    const b = await layoutOf(path.join(tmp(), 'deeper', 'checkout', '.atmos'));
    expect(b.mounted.map((m) => m[0])).toEqual(a.mounted.map((m) => m[0]));
    expect(b.workdir).toBe(a.workdir);
  });

  it('timeouts give exit 124 with a log line; cancellation rejects; every exec gets a fresh nonce', async () => {
    const ws = tmp();
    const fake = new FakeDagger({ exitCode: () => new Promise<number>(() => undefined) });
    const engine = new DaggerEngine({ connect: fake.connect });
    const log: Buffer[] = [];
    const step = tfStep({ id: 'a:b:apply', module: 'terraform.apply', argv: ['terraform', 'apply'], timeoutSeconds: 0.05 });
    expect(await engine.exec(request(step, ws, {}, log))).toEqual({ exitCode: 124 });
    expect(Buffer.concat(log).toString()).toMatch(/timed out after 0.05s/);

    const ac = new AbortController();
    const p = engine.exec({ ...request({ ...step, timeoutSeconds: undefined }, ws, {}), signal: ac.signal });
    setTimeout(() => ac.abort(), 10);
    await expect(p).rejects.toThrow('step a:b:apply was cancelled');

    const nonces = fake.calls.filter((c) => c[0] === 'withEnvVariable' && c[1] === NONCE_VARIABLE).map((c) => c[2]);
    expect(nonces).toHaveLength(2);
    expect(new Set(nonces).size).toBe(2);
  });
});

/** The step the nixpack module gives a Dockerfile escape (it requires `container-build`). */
function dockerfileStep(over: Partial<Step> = {}): Step {
  return {
    id: 'build:nixpack/api:docker-build',
    module: 'nixpack.dockerfile',
    component: 'nixpack/api',
    image: 'node:20-slim',
    argv: ['docker-build', '--dockerfile', 'Dockerfile', '--output', 'image.oci.tar'],
    env: {},
    secrets: [],
    inputs: { app: { kind: 'dir', digest: 'sha256:aa' } },
    outputs: { files: ['image.oci.tar'] },
    workdir: 'app',
    needs: [],
    network: true,
    cache: 'content',
    requires: [{ capability: 'container-build', what: 'builds from a Dockerfile', code: 'nixpack/dockerfile' }],
    ...over,
  };
}

function dockerfileWorkspace(): string {
  const ws = tmp();
  mkdirSync(path.join(ws, 'app'), { recursive: true });
  writeFileSync(path.join(ws, 'app/Dockerfile'), 'FROM node:20-slim\nCOPY . /app\nCMD ["node", "/app/server.js"]\n');
  return ws;
}

describe('DaggerEngine: Dockerfile builds (recording fake)', () => {
  it('builds the workdir with its Dockerfile and exports the image as an OCI tarball into the workspace', async () => {
    const ws = dockerfileWorkspace();
    const tarball = Buffer.from('an OCI image layout tarball');
    const fake = new FakeDagger({ imageTar: tarball });
    const engine = new DaggerEngine({ connect: fake.connect, nonce: noNonce });
    const log: Buffer[] = [];
    const r = await engine.exec(request(dockerfileStep(), ws, {}, log));
    expect(r).toEqual({ exitCode: 0 });
    expect(fake.execCalls).toEqual([
      ['host.directory', path.join(ws, 'app'), { noCache: true }],
      ['dockerBuild', { host: path.join(ws, 'app') }, { dockerfile: 'Dockerfile' }],
      ['container.export', path.join(ws, 'app/image.oci.tar')],
    ]);
    // Where the scheduler collects the step's `image.oci.tar` output (relative to its workdir).
    expect(readFileSync(path.join(ws, 'app/image.oci.tar')).equals(tarball)).toBe(true);
    expect(Buffer.concat(log).toString()).toBe('built Dockerfile on the Dagger engine; OCI image written to image.oci.tar\n');
    // No container of the step's image, no exec, no workspace export.
    expect(fake.calls.map((c) => c[0])).not.toContain('withExec');
    expect(fake.calls.map((c) => c[0])).not.toContain('export');
    await engine.close();
  });

  it('another Dockerfile path is passed as is; paths leaving the build context are refused', async () => {
    const ws = dockerfileWorkspace();
    const fake = new FakeDagger({ imageTar: Buffer.from('x') });
    const engine = new DaggerEngine({ connect: fake.connect });
    const argv = ['docker-build', '--dockerfile', 'docker/prod.Dockerfile', '--output', 'out/image.oci.tar'];
    mkdirSync(path.join(ws, 'app/out'), { recursive: true });
    expect(await engine.exec(request(dockerfileStep({ argv }), ws, {}))).toEqual({ exitCode: 0 });
    expect(fake.calls.filter((c) => c[0] === 'dockerBuild' || c[0] === 'container.export')).toEqual([
      ['dockerBuild', { host: path.join(ws, 'app') }, { dockerfile: 'docker/prod.Dockerfile' }],
      ['container.export', path.join(ws, 'app/out/image.oci.tar')],
    ]);
    for (const bad of [
      ['docker-build', '--dockerfile', '../Dockerfile', '--output', 'image.oci.tar'],
      ['docker-build', '--dockerfile', 'Dockerfile', '--output', '/tmp/image.oci.tar'],
      ['docker-build', '--dockerfile', 'Dockerfile'],
      ['docker-build', '--dockerfile', 'Dockerfile', '--output', 'image.oci.tar', '--push'],
    ]) {
      await expect(engine.exec(request(dockerfileStep({ argv: bad }), ws, {}))).rejects.toThrow(/build:nixpack\/api:docker-build/);
    }
    await engine.close();
  });

  it('a failing build is exit 1 with the reason (and a failed RUN its output) in the log, never a stack', async () => {
    const ws = dockerfileWorkspace();
    const cause = new Error('failed to solve: failed to resolve source metadata for docker.io/library/nope:1: not found\n    at Object.<anonymous> (/x/y.js:1:1)');
    const fake = new FakeDagger({ buildError: new Error('GraphQL request failed', { cause }) });
    const engine = new DaggerEngine({ connect: fake.connect });
    const log: Buffer[] = [];
    const r = await engine.exec(request(dockerfileStep(), ws, {}, log));
    expect(r).toEqual({ exitCode: 1 });
    const text = Buffer.concat(log).toString();
    expect(text).toBe('dagger: building Dockerfile failed: failed to solve: failed to resolve source metadata for docker.io/library/nope:1: not found\n');
    expect(text).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(ws, 'app/image.oci.tar'))).toBe(false);

    const execError = Object.assign(new Error('process "/bin/sh -c npm ci" did not complete successfully: exit code: 1'), {
      name: 'ExecError',
      exitCode: 1,
      stdout: '',
      stderr: 'npm ERR! missing package-lock.json\n',
    });
    const failing = new FakeDagger({ buildError: execError });
    const e2 = new DaggerEngine({ connect: failing.connect });
    const log2: Buffer[] = [];
    expect(await e2.exec(request(dockerfileStep(), ws, {}, log2))).toEqual({ exitCode: 1 });
    expect(Buffer.concat(log2).toString()).toBe('npm ERR! missing package-lock.json\ndagger: building Dockerfile failed: process "/bin/sh -c npm ci" did not complete successfully: exit code: 1\n');
    await engine.close();
    await e2.close();
  });
});

describe('DaggerEngine: sessions and errors', () => {
  it('prepare connects once, says which engine runs the steps, and refuses steps without an image', async () => {
    const fake = new FakeDagger();
    const engine = new DaggerEngine({ connect: fake.connect, env: { _EXPERIMENTAL_DAGGER_RUNNER_HOST: 'tcp://builder:1234' } });
    const steps = [tfStep({ id: 'a:b:init', module: 'terraform.init', argv: ['terraform', 'init'], network: false })];
    expect(await engine.prepare(steps, { allowToolDrift: false })).toEqual([
      'steps run in containers on the Dagger engine v0.21.9, through a fake session (runner tcp://builder:1234)',
      NETWORK_NOTICE,
    ]);
    // Parallel execs share the session.
    const ws = tmp();
    await Promise.all([1, 2, 3].map(() => engine.exec(request(steps[0], ws, {}))));
    expect(fake.connects).toBe(1);
    await engine.close();
    await engine.close();
    expect(fake.closes).toBe(1);

    const noImage = await engine.prepare([{ ...steps[0], image: '' }], { allowToolDrift: false }).catch((e: unknown) => e);
    expect(noImage).toBeInstanceOf(DiagnosticError);
    expect((noImage as DiagnosticError).diagnostics[0]).toMatchObject({ code: 'engine/dagger-no-image', hint: expect.stringContaining('--engine local') });
  });

  function expectUnreachable(e: unknown, detail: RegExp): void {
    expect(e).toBeInstanceOf(DiagnosticError);
    const d = e as DiagnosticError;
    expect(exitCodeOf(d)).toBe(2);
    expect(d.diagnostics[0].code).toBe('engine/dagger-unreachable');
    expect(d.diagnostics[0].message).toMatch(/^no Dagger engine is reachable: /);
    expect(d.diagnostics[0].message).toMatch(detail);
    expect(d.diagnostics[0].hint).toContain('--engine local');
    expect(d.diagnostics[0].hint).toContain('_EXPERIMENTAL_DAGGER_RUNNER_HOST');
    expect(d.message).not.toMatch(/\n\s+at /); // no stack trace
  }

  it('a session that cannot connect, a failing first query and a hanging connect are all the same diagnostic', async () => {
    const failing = new DaggerEngine({
      connect: async () => {
        throw new Error('failed to execute function with automatic provisioning', { cause: new Error('connect ECONNREFUSED 10.0.0.1:1234\n    at TCPConnectWrap.afterConnect') });
      },
    });
    expectUnreachable(await failing.prepare([], { allowToolDrift: false }).catch((e: unknown) => e), /connect ECONNREFUSED 10\.0\.0\.1:1234$/);
    // exec without prepare reports the same (the scheduler rethrows DiagnosticErrors: exit 2).
    expectUnreachable(await failing.exec(request(tfStep({ id: 'a', module: 'm', argv: ['x'] }), tmp(), {})).catch((e: unknown) => e), /ECONNREFUSED/);
    await failing.close();

    let closed = 0;
    const probeFails = new DaggerEngine({
      connect: async () => ({
        via: 'the Dagger session on port 1 (DAGGER_SESSION_PORT)',
        close: async () => void closed++,
        client: { ...new FakeDagger().client(), version: () => Promise.reject(new Error('request to http://127.0.0.1:1/query failed, reason: connect ECONNREFUSED 127.0.0.1:1')) },
      }),
    });
    expectUnreachable(
      await probeFails.prepare([], { allowToolDrift: false }).catch((e: unknown) => e),
      /^no Dagger engine is reachable: the Dagger session on port 1 \(DAGGER_SESSION_PORT\): request to .* ECONNREFUSED/,
    );
    expect(closed).toBe(1);

    const hangs = new DaggerEngine({ connect: () => new Promise(() => undefined), connectTimeoutMs: 50 });
    expectUnreachable(await hangs.prepare([], { allowToolDrift: false }).catch((e: unknown) => e), /starting a Dagger session took longer than 50 ms/);
  });
});

// ---------------------------------------------------------------------------------------------
// The real SDK, without an engine: every path fails fast with the diagnostic.

describe('connectWithSdk (the real @dagger.io/dagger, no engine on this machine)', () => {
  const dir = tmp();
  const base = { PATH: '/nonexistent-bin', HOME: dir, XDG_CACHE_HOME: path.join(dir, 'cache') };
  let unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  afterAll(() => void process.off('unhandledRejection', onUnhandled));
  afterEach(() => {
    unhandled = [];
  });

  async function bounded<T>(p: Promise<T>, ms = 20_000): Promise<{ value: T | unknown; ms: number }> {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const value = await Promise.race([
      p.catch((e: unknown) => e),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`still waiting after ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
    return { value, ms: Date.now() - t0 };
  }

  it('_EXPERIMENTAL_DAGGER_CLI_BIN pointing nowhere: the diagnostic at once, nothing downloaded', async () => {
    const engine = new DaggerEngine({ env: { ...base, _EXPERIMENTAL_DAGGER_CLI_BIN: '/nonexistent/dagger' } });
    const { value, ms } = await bounded(engine.prepare([], { allowToolDrift: false }));
    expect(value).toBeInstanceOf(DiagnosticError);
    expect((value as DiagnosticError).diagnostics[0]).toMatchObject({
      code: 'engine/dagger-unreachable',
      message: 'no Dagger engine is reachable: the dagger CLI /nonexistent/dagger (_EXPERIMENTAL_DAGGER_CLI_BIN): not an executable file',
    });
    expect(ms).toBeLessThan(5_000);
    await engine.close();
  });

  it('a CLI that cannot start a session: its stderr is the reason, nothing is left behind', async () => {
    const cli = path.join(dir, 'dagger');
    writeFileSync(cli, '#!/bin/sh\necho "Error: failed to connect to engine: no runner available" >&2\nexit 1\n');
    chmodSync(cli, 0o755);
    const engine = new DaggerEngine({ env: { ...base, _EXPERIMENTAL_DAGGER_CLI_BIN: cli } });
    const { value, ms } = await bounded(engine.prepare([], { allowToolDrift: false }));
    expect(value).toBeInstanceOf(DiagnosticError);
    expect((value as DiagnosticError).diagnostics[0].message).toBe(
      `no Dagger engine is reachable: the dagger CLI ${cli} (_EXPERIMENTAL_DAGGER_CLI_BIN): Error: failed to connect to engine: no runner available`,
    );
    expect(ms).toBeLessThan(15_000);
    await new Promise((r) => setTimeout(r, 200));
    // No stray rejection (the SDK's own provisioning would leave an EngineSessionError unhandled).
    expect(unhandled).toEqual([]);
    // The SDK's variables were restored.
    expect(process.env._EXPERIMENTAL_DAGGER_CLI_BIN).toBeUndefined();
    await engine.close();
  });

  it('end to end through the real SDK against a fake `dagger session` (a GraphQL stub): the queries the SDK sends', async () => {
    // The stub speaks the session protocol: one JSON line with port and token on stdout, GraphQL
    // on 127.0.0.1:port with Basic auth, shutdown when stdin closes. It answers any query with
    // the shape asked (ids, exit code 2, canned output) and logs every query.
    const work = path.join(dir, 'e2e');
    mkdirSync(work, { recursive: true });
    const log = path.join(work, 'queries.log');
    writeFileSync(log, '');
    const stub = path.join(work, 'fake-engine.mjs');
    writeFileSync(
      stub,
      `import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const { parse } = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})('graphql');
const log = process.env.FAKE_DAGGER_LOG;
const token = 'fake-token-123';
let ids = 0;
const leaf = (name, args) => ({ id: () => 'fake-id-' + ++ids, version: () => 'v0.21.9-fake', exitCode: () => 2,
  stdout: () => 'fake stdout', stderr: () => 'fake stderr', combinedOutput: () => 'fake combined output', export: () => args.path }[name] ?? (() => null))();
const resolve = (set) => Object.fromEntries(set.selections.flatMap((f) => f.kind === 'InlineFragment' ? Object.entries(resolve(f.selectionSet)) : [[f.name.value, f.selectionSet ? resolve(f.selectionSet)
  : leaf(f.name.value, Object.fromEntries((f.arguments ?? []).map((a) => [a.name.value, a.value.value])))]]));
const srv = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.headers.authorization !== 'Basic ' + Buffer.from(token + ':').toString('base64')) { res.writeHead(401); return res.end(); }
    const { query } = JSON.parse(body);
    appendFileSync(log, query.replace(/\\s+/g, ' ').trim() + '\\n');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: resolve(parse(query).definitions[0].selectionSet) }));
  });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: srv.address().port, session_token: token }) + '\\n'));
process.stdin.on('end', () => { appendFileSync(log, 'STDIN CLOSED\\n'); process.exit(0); });
process.stdin.resume();
`,
    );
    const cli = path.join(work, 'dagger');
    writeFileSync(cli, `#!/bin/sh\nexec "${process.execPath}" "${stub}" "$@"\n`);
    chmodSync(cli, 0o755);

    const ws = path.join(work, 'ws');
    const state = path.join(work, 'state');
    const ro = path.join(work, 'ro');
    mkdirSync(ws, { recursive: true });
    mkdirSync(ro, { recursive: true });
    const engine = new DaggerEngine({ env: { ...base, _EXPERIMENTAL_DAGGER_CLI_BIN: cli, FAKE_DAGGER_LOG: log }, nonce: noNonce });
    const { value: notices } = await bounded(engine.prepare([], { allowToolDrift: false }));
    expect(notices).toEqual([`steps run in containers on the Dagger engine v0.21.9-fake, through the dagger CLI ${cli} (_EXPERIMENTAL_DAGGER_CLI_BIN)`]);

    const step = tfStep({
      id: 'rollout:terraform/db:apply',
      module: 'terraform.apply',
      argv: ['terraform', 'apply', '-auto-approve'],
      env: { TF_IN_AUTOMATION: '1' },
      secrets: ['TF_VAR_db_password'],
      mounts: [
        { host: state, path: '/state', writable: true },
        { host: ro, path: '/ro', writable: false },
      ],
      workdir: 'c',
    });
    const out: Buffer[] = [];
    const { value: r } = await bounded(engine.exec(request(step, ws, { TF_IN_AUTOMATION: '1', TF_VAR_db_password: SECRET }, out)));
    expect(r).toEqual({ exitCode: 2 });
    expect(Buffer.concat(out).toString()).toBe('fake combined output');
    const { value: r2 } = await bounded(
      engine.exec(request({ ...step, id: 'rollout:terraform/db:output', argv: ['terraform', 'output', '-json'], stdout: 'out.json', secrets: [], mounts: [] }, ws, {})),
    );
    expect((r2 as ExecResult).stdout?.toString()).toBe('fake stdout');
    // A Dockerfile build: Directory.dockerBuild then Container.export, gzip layers, OCI media types.
    mkdirSync(path.join(ws, 'app'), { recursive: true });
    const { value: r3 } = await bounded(engine.exec(request(dockerfileStep(), ws, {})));
    expect(r3).toEqual({ exitCode: 0 });
    await engine.close();

    const queries = readFileSync(log, 'utf8').trim().split('\n');
    const has = (re: RegExp) =>
      expect(
        queries.some((q) => re.test(q)),
        `${re}\n${queries.join('\n')}`,
      ).toBe(true);
    has(/^\{ version \}$/);
    has(new RegExp(`host \\{ directory \\(path: "${ws}",noCache: true\\) \\{ id \\} \\}`));
    has(/setSecret \(name: "atmos-pipe:rollout:terraform\/db:apply:TF_VAR_db_password",plaintext: "s3cr3t-db-p4ssw0rd-9f2c"\) \{ id \}/);
    has(/cacheVolume \(key: "atmos-pipe-terraform-plugins-1\.9\.8"\) \{ id \}/);
    has(
      new RegExp(
        [
          '\\{ container \\{ from \\(address: "hashicorp/terraform:1\\.9\\.8@sha256:d{64}"\\) \\{ ',
          'withMountedDirectory \\(path: "/atmos-pipe/workspace",source: "fake-id-\\d+"\\) \\{ ',
          'withMountedDirectory \\(path: "/state",source: "fake-id-\\d+"\\) \\{ ',
          'withMountedDirectory \\(path: "/ro",source: "fake-id-\\d+",readOnly: true\\) \\{ ',
          'withMountedCache \\(path: "/atmos-pipe/cache/terraform-plugins",cache: "fake-id-\\d+",sharing: PRIVATE\\) \\{ ',
          'withEnvVariable \\(name: "TF_IN_AUTOMATION",value: "1"\\) \\{ ',
          'withEnvVariable \\(name: "TF_PLUGIN_CACHE_DIR",value: "/atmos-pipe/cache/terraform-plugins"\\) \\{ ',
          'withSecretVariable \\(name: "TF_VAR_db_password",secret: "fake-id-\\d+"\\) \\{ ',
          'withWorkdir \\(path: "/atmos-pipe/workspace/c"\\) \\{ ',
          `withEnvVariable \\(name: "${NONCE_VARIABLE}",value: "nonce-1"\\) \\{ `,
          'withExec \\(args: \\["terraform","apply","-auto-approve"\\],expect: ANY\\) \\{ id \\}',
        ].join(''),
      ),
    );
    // The exit code is asked for by the container's ID, in a query the engine can abort.
    has(/^\{ node\(id: "fake-id-\d+"\) \{ \.\.\. on Container \{ exitCode \} \} \}$/);
    has(/withExec \(args: \["terraform","apply","-auto-approve"\],expect: ANY\) \{ combinedOutput \}/);
    has(/withExec \(args: \["terraform","apply","-auto-approve"\],expect: ANY\) \{ directory \(path: "\/state"\) \{ export \(path: ".*\/atmos-pipe-dagger-export-[^"]*",wipe: true\) \}/);
    has(new RegExp(`withExec \\(args: \\["terraform","apply","-auto-approve"\\],expect: ANY\\) \\{ directory \\(path: "/atmos-pipe/workspace"\\) \\{ export \\(path: "${ws}",wipe: true\\) \\}`));
    has(/withExec \(args: \["terraform","output","-json"\],expect: ANY\) \{ stdout \}/);
    has(/withExec \(args: \["terraform","output","-json"\],expect: ANY\) \{ stderr \}/);
    has(
      new RegExp(
        `host \\{ directory \\(path: "${path.join(ws, 'app')}",noCache: true\\) \\{ dockerBuild \\(dockerfile: "Dockerfile"\\) \\{ ` +
          `export \\(path: "${path.join(ws, 'app/image.oci.tar')}",forcedCompression: Gzip,mediaTypes: OCI\\) \\}`,
      ),
    );
    // The secret value travels only in setSecret; the session was ended by closing stdin.
    expect(queries.filter((q) => q.includes(SECRET)).every((q) => q.includes('setSecret'))).toBe(true);
    expect(queries.at(-1)).toBe('STDIN CLOSED');
    expect(process.env.DAGGER_SESSION_PORT).toBeUndefined();
  });

  it("the SDK's own provisioning (used only when no CLI is found): its stray rejection does not crash Node", () => {
    // Run in a child Node (vitest reports any unhandled rejection, whoever handles it): the
    // engine modules transpiled to plain JS, the SDK told to start a CLI that fails at once.
    const out = path.join(dir, 'child');
    for (const f of [
      'src/engine/dagger/index.ts',
      'src/engine/dagger/client.ts',
      'src/engine/dagger/translate.ts',
      'src/engine/dagger/session.ts',
      'src/engine/dagger/merge.ts',
      'src/engine/dagger/links.ts',
      'src/engine/select.ts',
      'src/diagnostics/index.ts',
      'src/steps/types.ts',
    ]) {
      const js = ts.transpileModule(readFileSync(path.join(ROOT, f), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
      writeFileSync(path.join(out, f.replace(/\.ts$/, '.js')), js);
    }
    writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(out, 'node_modules'));
    const cli = path.join(out, 'dagger');
    writeFileSync(cli, '#!/bin/sh\necho "Error: failed to connect to engine: docker: command not found" >&2\nexit 1\n');
    chmodSync(cli, 0o755);
    writeFileSync(
      path.join(out, 'main.mjs'),
      `import { sdkSession } from './src/engine/dagger/index.js';
const guard = process.argv[2] === 'guard';
try {
  await sdkSession('the SDK', { _EXPERIMENTAL_DAGGER_CLI_BIN: ${JSON.stringify(cli)} }, undefined, guard);
} catch (e) {
  console.log(JSON.stringify({ message: e.message }));
}
setTimeout(() => console.log(JSON.stringify({ alive: true })), 300);
`,
    );
    const run = (mode: string) => spawnSync(process.execPath, [path.join(out, 'main.mjs'), mode], { encoding: 'utf8', timeout: 30_000, env: { ...base, PATH: process.env.PATH } });
    const guarded = run('guard');
    expect(guarded.status, guarded.stderr).toBe(0);
    expect(
      guarded.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([{ message: 'the SDK: Error: failed to connect to engine: docker: command not found' }, { alive: true }]);
    // Control: without the guard the same failure kills the process.
    const bare = run('none');
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toMatch(/EngineSessionError/);
  });

  it('a dagger CLI found on PATH is the one used (the SDK alone would download its own)', async () => {
    const binDir = path.join(dir, 'bin');
    mkdirSync(binDir, { recursive: true });
    const cli = path.join(binDir, 'dagger');
    writeFileSync(cli, '#!/bin/sh\necho "dagger from PATH: $*" >&2\nexit 1\n');
    chmodSync(cli, 0o755);
    const { value } = await bounded(connectWithSdk({ env: { ...base, PATH: `${binDir}:/usr/bin:/bin` } }));
    expect(String((value as Error).message)).toMatch(new RegExp(`^the dagger CLI ${cli} \\(on PATH\\): dagger from PATH: session `));
  });

  it('DAGGER_SESSION_PORT with nothing listening: the first query fails with ECONNREFUSED', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const engine = new DaggerEngine({ env: { ...base, DAGGER_SESSION_PORT: String(port), DAGGER_SESSION_TOKEN: 'tok' } });
    const { value, ms } = await bounded(engine.prepare([], { allowToolDrift: false }));
    expect(value).toBeInstanceOf(DiagnosticError);
    expect((value as DiagnosticError).diagnostics[0].message).toMatch(new RegExp(`^no Dagger engine is reachable: the Dagger session on port ${port} \\(DAGGER_SESSION_PORT\\): .*ECONNREFUSED`));
    expect((value as DiagnosticError).message).not.toContain('tok');
    expect(ms).toBeLessThan(15_000);
    await engine.close();

    const noToken = new DaggerEngine({ env: { ...base, DAGGER_SESSION_PORT: String(port) } });
    const r2 = await bounded(noToken.prepare([], { allowToolDrift: false }));
    expect((r2.value as DiagnosticError).diagnostics[0].message).toMatch(/DAGGER_SESSION_TOKEN must be set if DAGGER_SESSION_PORT is set$/);
    await noToken.close();
  });
});

// ---------------------------------------------------------------------------------------------
// The SDK is loaded lazily.

describe('lazy SDK import', () => {
  it('the compiled engine module has no static import of @dagger.io/dagger, only a dynamic one', () => {
    for (const file of ['src/engine/dagger/index.ts', 'src/engine/dagger/client.ts', 'src/engine/dagger/translate.ts', 'src/engine/dagger/session.ts', 'src/engine/select.ts']) {
      const src = readFileSync(path.join(ROOT, file), 'utf8');
      // As the package compiles it (ESM): type-only imports are erased, value imports stay.
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      // The check sees static imports (the engine's parts import each other and their layers).
      if (file.split('/').length === 3) expect(js).toMatch(/^import .* from '\.\.\/diagnostics\/index\.js';$/m);
      else expect(js).toMatch(/^import .* from '(\.\.?\/)+[a-z/]+\.js';$/m);
      expect(js).not.toMatch(/^\s*import\s[^(]*['"]@dagger\.io\/dagger['"]/m);
      expect(js).not.toMatch(/require\(\s*['"]@dagger\.io\/dagger['"]/);
      expect(js).not.toMatch(/^\s*export\s.*from\s+['"]@dagger\.io\/dagger['"]/m);
      if (file.endsWith('client.ts')) expect(js).toContain("await import('@dagger.io/dagger')");
      else expect(js).not.toContain('@dagger.io/dagger');
    }
  });

  it('loading the engine module and running steps with an injected client never loads the SDK', async () => {
    const loaded = { count: 0 };
    vi.resetModules();
    vi.doMock('@dagger.io/dagger', () => {
      loaded.count++;
      return {};
    });
    try {
      const mod = await import('../../src/engine/dagger/index.js');
      const sel = await import('../../src/engine/select.js');
      expect(sel.selectEngine('auto', { DAGGER_SESSION_PORT: '1' }).engine).toBe('dagger');
      const fake = new FakeDagger();
      const engine = new mod.DaggerEngine({ connect: fake.connect });
      await engine.prepare([], { allowToolDrift: false });
      const r: ExecResult = await engine.exec(request(tfStep({ id: 'a:b:c', module: 'm', argv: ['terraform', 'version'] }), tmp(), {}));
      expect(r.exitCode).toBe(0);
      await engine.close();
      // The default factory checks the CLI before it would import the SDK.
      await expect(mod.connectWithSdk({ env: { _EXPERIMENTAL_DAGGER_CLI_BIN: '/nonexistent/dagger' } })).rejects.toThrow(/not an executable file/);
      expect(loaded.count).toBe(0);
    } finally {
      vi.doUnmock('@dagger.io/dagger');
      vi.resetModules();
    }
  });
});
