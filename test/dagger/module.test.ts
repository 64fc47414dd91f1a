/**
 * The Dagger module at the repository root (dagger.json, .dagger/): its configuration matches
 * the SDK in package-lock.json, it type-checks against that SDK, Dagger's own introspector (the
 * one the TypeScript runtime runs) reads the functions it should, the definitions it registers
 * and the queries its functions send validate against the schema of the SDK's version on the
 * semantic stub (a separate process).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, makeRepo } from '../helpers.js';
import { type StubRecord, invalidQueries, readStubLog, startSession, stubFiles } from './helpers.js';

const SDK = path.join(ROOT, 'node_modules/@dagger.io/dagger/dist/src');
const lockedSdk = () =>
  (JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }).packages['node_modules/@dagger.io/dagger']!.version;

/** Decodes a stub ID (base64url JSON): the value the engine holds for it. */
const decodeId = (id: string) => JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * The generated client the TypeScript runtime hands its introspector (`sdk/…/client.gen.ts`,
 * written by codegen on an engine): the SDK's own declarations of it, under that name.
 */
function clientGen(): string {
  const dir = makeRepo({}); // a temp dir removed after the file
  copyFileSync(path.join(SDK, 'api/client.gen.d.ts'), path.join(dir, 'client.gen.ts'));
  return path.join(dir, 'client.gen.ts');
}

/** Runs `node args` (a separate process) with `env` added; resolves with its exit code and output. */
function runNode(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

type Sdk = typeof import('@dagger.io/dagger');
type Module = typeof import('../../.dagger/src/index.js');

/**
 * Calls the module's functions in this process with the SDK's global client connected to a
 * stub session (a separate process), as the TypeScript runtime connects them on an engine;
 * `stubEnv` is the session's own environment (what `env://` secrets read). The stub's log after.
 */
async function onStub<T>(fn: (sdk: Sdk, mod: Module) => Promise<T>, stubEnv: Record<string, string> = {}): Promise<{ result: T; log: StubRecord[] }> {
  const files = stubFiles();
  Object.assign(process.env, stubEnv);
  const s = await startSession(files);
  for (const k of Object.keys(stubEnv)) delete process.env[k];
  process.env.DAGGER_SESSION_PORT = s.env.DAGGER_SESSION_PORT;
  process.env.DAGGER_SESSION_TOKEN = s.env.DAGGER_SESSION_TOKEN;
  try {
    const sdk = await import('@dagger.io/dagger');
    const mod = await import('../../.dagger/src/index.js');
    let result!: T;
    await sdk.connection(async () => {
      result = await fn(sdk, mod);
    });
    return { result, log: readStubLog(files.log) };
  } finally {
    delete process.env.DAGGER_SESSION_PORT;
    delete process.env.DAGGER_SESSION_TOKEN;
    await s.stop();
  }
}

interface ScannedFunction {
  name: string;
  cache?: string;
  returnType: { name?: string };
  arguments: Record<string, { name: string; defaultPath?: string; ignore?: string[]; isOptional: boolean; defaultValue?: unknown; type: { kind: string; name?: string; typeDef?: { name: string } } }>;
}

describe('the Dagger module (dagger.json, .dagger/)', () => {
  it('dagger.json names the module, the TypeScript SDK, its source and the engine version of the SDK in package-lock.json', () => {
    const config = JSON.parse(readFileSync(path.join(ROOT, 'dagger.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toEqual({ name: 'atmos-pipe', engineVersion: `v${lockedSdk()}`, sdk: { source: 'typescript' }, source: '.dagger' });
  });

  it('the module type-checks against the SDK in node_modules (tsc --noEmit, decorators as the runtime compiles them)', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.dagger/tsconfig.json', '--noEmit', '--traceResolution'], { cwd: ROOT, encoding: 'utf8' });
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors).toEqual([]);
    expect(r.status).toBe(0);
    // The SDK the module was checked against is the one of package-lock.json.
    expect(r.stdout).toContain(`Package ID '@dagger.io/dagger/dist/src/index.d.ts@${lockedSdk()}'`);
  });

  it("Dagger's introspector reads the functions: side effects never cached, the source with its ignore list, secrets as Secrets, the image by digest", async () => {
    const { scan } = (await import(path.join(SDK, 'module/introspector/index.js'))) as {
      scan: (files: string[], name: string, load: boolean) => Promise<{ objects: Record<string, { methods: Record<string, ScannedFunction> }> }>;
    };
    const mod = await scan([path.join(ROOT, '.dagger/src/index.ts'), clientGen()], 'atmos-pipe', false);
    const fns = mod.objects.AtmosPipe!.methods;
    expect(Object.keys(fns).sort()).toEqual(['build', 'cli', 'describe', 'plan', 'release', 'rollout', 'validate']);
    for (const f of ['rollout', 'plan', 'build', 'release']) expect([f, fns[f]!.cache]).toEqual([f, 'never']);
    for (const f of ['describe', 'validate', 'cli']) expect([f, fns[f]!.cache]).toEqual([f, undefined]);
    expect(fns.rollout!.returnType.name).toBe('Changeset');
    expect(fns.release!.returnType.name).toBe('Changeset');
    expect(fns.build!.returnType.name).toBe('Directory');
    const a = fns.rollout!.arguments;
    expect(a.source!.defaultPath).toBe('/');
    expect(a.source!.ignore).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '.atmos/cache']));
    expect(a.source!.ignore).not.toContain('.git'); // releases and history live there
    expect(a.secrets!.type).toEqual({ kind: 'LIST_KIND', typeDef: { kind: 'OBJECT_KIND', name: 'Secret' } });
    expect([a.gitToken!.type.name, a.gitToken!.isOptional]).toEqual(['Secret', true]);
    expect(a.deployment!.isOptional).toBe(false);
    expect(a.target!.isOptional).toBe(false);
    expect(String(a.image!.defaultValue)).toMatch(/^node:20-bookworm@sha256:[0-9a-f]{64}$/);
  });

  it('the definitions the runtime registers validate against the schema on the stub (separate processes): cache policy Never on the side-effecting functions', async () => {
    const files = stubFiles();
    const s = await startSession(files);
    const out = path.join(makeRepo({}), 'module-id.json');
    const r = await runNode([path.join(SDK, 'module/entrypoint/introspection_entrypoint.js'), 'atmos-pipe', path.join(ROOT, '.dagger/src'), clientGen()], { ...s.env, TYPEDEF_OUTPUT_FILE: out });
    await s.stop();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const log = readStubLog(files.log);
    expect(log.filter((q) => q.event === 'query').length).toBeGreaterThan(0);
    expect(invalidQueries(log)).toEqual([]);
    expect(log.filter((q) => q.event === 'error')).toEqual([]);
    // The module's definition as the engine received it.
    const def = JSON.stringify(decodeId(JSON.parse(readFileSync(out, 'utf8')) as string));
    const policies = new Map<string, string>();
    for (const m of def.matchAll(/\{"function":\{"name":"(\w+)"[\s\S]*?(?=\{"function":|$)/g)) policies.set(m[1]!, /"withCachePolicy":\{"policy":"(\w+)"/.exec(m[0])?.[1] ?? 'none');
    expect(Object.fromEntries(policies)).toEqual({ cli: 'Default', rollout: 'Never', plan: 'Never', build: 'Never', release: 'Never', describe: 'Default', validate: 'Default' });
    expect(def).toContain('"defaultPath":"/"');
  });

  it("rollout's query validates on the stub: the CLI built from the repository, the source mounted, --engine dagger through a nested session, the token only as a secret", async () => {
    const source = makeRepo({ 'deployments/d.yaml': 'deployment:\n  name: d\n' });
    const { result: id, log } = await onStub(async ({ dag }, { AtmosPipe }) => {
      const dir = dag.host().directory(source);
      const token = dag.setSecret('token', 'ghp_secret-token');
      const changes = await new AtmosPipe().rollout('d', 'dev', dir, dir, [], token, 'github.com', true, ['--approve'], 'ci@example.com', `node:20-bookworm@sha256:${'1'.repeat(64)}`);
      return changes.id();
    });
    expect(invalidQueries(log)).toEqual([]);
    expect(log.filter((q) => q.event === 'error')).toEqual([]);
    const changeset = decodeId(id) as { __t: string; after: { kind: string; include: string[]; dir: { container: Record<string, unknown> } } };
    expect(changeset.__t).toBe('Changeset');
    expect(changeset.after.include).toEqual(['.atmos/state/**', '.atmos/images/**', 'releases/**']);
    const c = changeset.after.dir.container as {
      image: string;
      workdir: string;
      env: Record<string, string>;
      secrets: Record<string, string>;
      execs: { args: string[]; nesting?: boolean }[];
      mounts: { path: string }[];
    };
    expect(c.image).toBe(`node:20-bookworm@sha256:${'1'.repeat(64)}`);
    expect(c.workdir).toBe('/src');
    expect(c.mounts.map((m) => m.path).sort()).toEqual(['/opt/atmos-pipe', '/root/.npm', '/src']);
    expect(c.execs).toEqual([
      { args: ['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund'], expect: 'SUCCESS' },
      { args: ['npm', 'run', 'build'], expect: 'SUCCESS' },
      { args: ['node', '/opt/atmos-pipe/dist/cli.mjs', 'rollout', 'd', '--target', 'dev', '--push', '--approve', '--engine', 'dagger'], expect: 'SUCCESS', nesting: true },
    ]);
    expect(c.env).toMatchObject({ ATMOS_PIPE_USER: 'ci@example.com', GIT_CONFIG_KEY_1: 'http.https://github.com/.extraHeader' });
    // The token reaches Git as a secret header for github.com only, never as a plain variable.
    expect(Buffer.from(c.secrets.GIT_CONFIG_VALUE_1!.replace('Authorization: Basic ', ''), 'base64').toString()).toBe('x-access-token:ghp_secret-token');
    expect(JSON.stringify(c.env)).not.toContain('ghp_secret-token');
  });

  it('secrets reach the CLI as the variables their env: URIs name; another provider is refused with how to pass them', async () => {
    const source = makeRepo({ 'deployments/d.yaml': 'deployment:\n  name: d\n' });
    const { result, log } = await onStub(
      async ({ dag }, { AtmosPipe }) => {
        const dir = dag.host().directory(source);
        const id = await (await new AtmosPipe().rollout('d', 'dev', dir, dir, [dag.secret('env://STUB_AWS_SECRET')])).id();
        const refused = await new AtmosPipe().rollout('d', 'dev', dir, dir, [dag.setSecret('x', 'y')]).then(
          () => '',
          (e: Error) => e.message,
        );
        return { id, refused };
      },
      { STUB_AWS_SECRET: 'aws-secret-value' },
    );
    const { id, refused } = result;
    expect(invalidQueries(log)).toEqual([]);
    const c = (decodeId(id) as { after: { dir: { container: { env: Record<string, string>; secrets: Record<string, string> } } } }).after.dir.container;
    expect(c.secrets).toEqual({ STUB_AWS_SECRET: 'aws-secret-value' });
    expect(c.env).not.toHaveProperty('STUB_AWS_SECRET');
    expect(c.env).not.toHaveProperty('GIT_CONFIG_KEY_1'); // no token, no header
    expect(refused).toMatch(/^secret setSecret:\/\/x: pass secrets as env:NAME/);
  });
});
