/**
 * The Dagger engine end to end: the built CLI (dist/cli.mjs) as a child process against the
 * semantic Dagger stub (a separate `dagger` process that validates every query against the
 * schema of the SDK's version, runs each exec on the host in bubblewrap and moves real files),
 * with the real terraform.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaggerEngine } from '../../src/engine/dagger/index.js';
import type { Step } from '../../src/steps/types.js';
import { NIXPACKS_BASE_IMAGE } from '../../src/nixpack/types.js';
import { CLI, GIT_ENV, ROOT, exampleGitRepo, makeRepo, runCli } from '../helpers.js';
import { STUB, execs, invalidQueries, readStubLog, startSession, stubFiles } from './helpers.js';

/** A Terraform image pinned by digest in atmos.yaml (the stub records it; it pulls nothing). */
const TF_IMAGE = `hashicorp/terraform:1.11.4@sha256:${'5'.repeat(64)}`;

/** Two independent components; each applies `terraform_data` with the target's value and may sleep. */
function twoComponents(): string {
  const tf = (name: string) =>
    [
      'variable "value" { type = string }',
      'variable "sleep" { default = 0 }',
      'resource "terraform_data" "x" {',
      `  input = "${name}-\${var.value}"`,
      '  provisioner "local-exec" {',
      '    command = "sleep ${var.sleep}"',
      '  }',
      '}',
      'output "v" { value = terraform_data.x.output }',
      '',
    ].join('\n');
  return makeRepo({
    'atmos.yaml': `components:\n  terraform:\n    base_path: components/terraform\ndeployments:\n  tools:\n    terraform:\n      image: ${TF_IMAGE}\n`,
    'components/terraform/a/main.tf': tf('a'),
    'components/terraform/b/main.tf': tf('b'),
    'deployments/d.yaml': [
      'deployment:',
      '  name: d',
      '  components:',
      '    terraform:',
      '      a:',
      '        vars: { value: "{{ target.context.value }}", sleep: "{{ target.context.sleep }}" }',
      '      b:',
      '        vars: { value: "{{ target.context.value }}", sleep: "{{ target.context.sleep }}" }',
      '  targets:',
      '    dev:',
      '      context: { value: one, sleep: 0 }',
      '',
    ].join('\n'),
  });
}

function setContext(repo: string, value: string, sleep: number): void {
  const f = path.join(repo, 'deployments/d.yaml');
  writeFileSync(f, readFileSync(f, 'utf8').replace(/context: \{.*\}/, `context: { value: ${value}, sleep: ${sleep} }`));
}

function stateValue(repo: string, component: string): string {
  const s = JSON.parse(readFileSync(path.join(repo, `.atmos/state/d/dev/${component}.tfstate`), 'utf8')) as { outputs: { v: { value: string } } };
  return s.outputs.v.value;
}

describe('the Dagger engine against the semantic stub (separate processes)', () => {
  it("the stub's schema is the one of the SDK version in package-lock.json", () => {
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const sdk = lock.packages['node_modules/@dagger.io/dagger']!.version;
    expect(readFileSync(path.join(ROOT, 'test/dagger/dagger-stub/schema.graphqls'), 'utf8').split('\n')[0]).toBe(
      `# The GraphQL schema of Dagger v${sdk}, the version of @dagger.io/dagger in package-lock.json.`,
    );
    // The SDK's generated client names the fields the engine uses; the schema has them.
    const client = readFileSync(path.join(ROOT, 'node_modules/@dagger.io/dagger/dist/src/api/client.gen.js'), 'utf8');
    for (const field of ['withMountedCache', 'withMountedFile', 'withSecretVariable', 'combinedOutput', 'dockerBuild']) {
      expect(client).toContain(`"${field}"`);
      expect(readFileSync(path.join(ROOT, 'test/dagger/dagger-stub/schema.graphqls'), 'utf8')).toMatch(new RegExp(`^  ${field}\\b`, 'm'));
    }
  });

  it('the stub answers as Dagger does: an invalid query is a GraphQL validation error, a failed exec an EXEC_ERROR with exit code, stdout and stderr', async () => {
    const files = stubFiles();
    const s = await startSession(files);
    const ask = async (query: string) => {
      const res = await fetch(`http://127.0.0.1:${s.env.DAGGER_SESSION_PORT}/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${s.env.DAGGER_SESSION_TOKEN}:`).toString('base64')}` },
        body: JSON.stringify({ query }),
      });
      return { status: res.status, body: (await res.json()) as { data: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
    };
    const bad = await ask('{ container { from(address: "alpine") { withExec(args: ["true"], expect: SOMETIMES) { exitCode } } } }');
    expect(bad.status).toBe(422);
    expect(bad.body.errors?.[0]?.message).toMatch(/Value "SOMETIMES" does not exist in "ReturnType" enum/);
    expect(bad.body.errors?.[0]?.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    const unknown = await ask('{ container { exitStatus } }');
    expect(unknown.body.errors?.[0]?.message).toMatch(/^Cannot query field "exitStatus" on type "Container"\./);
    const failed = await ask(`{ container { from(address: "${TF_IMAGE}") { withExec(args: ["sh", "-c", "echo out; echo err >&2; exit 3"]) { stdout } } } }`);
    expect(failed.status).toBe(200);
    expect(failed.body.errors?.[0]?.message).toBe('process "sh -c echo out; echo err >&2; exit 3" did not complete successfully: exit code: 3');
    expect(failed.body.errors?.[0]?.extensions).toEqual({ _type: 'EXEC_ERROR', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    // With expect: ANY a non-zero exit is a result; a signal (128-191) is still an error.
    const any = await ask(`{ container { from(address: "${TF_IMAGE}") { withExec(args: ["sh", "-c", "exit 3"], expect: ANY) { exitCode } } } }`);
    expect(any.body).toEqual({ data: { container: { from: { withExec: { exitCode: 3 } } } } });
    const killed = await ask(`{ container { from(address: "${TF_IMAGE}") { withExec(args: ["sh", "-c", "kill -9 $$"], expect: ANY) { exitCode } } } }`);
    expect(killed.body.errors?.[0]?.extensions?.exitCode).toBe(137);
    await s.stop();
  });

  it('the stub speaks the CLI protocol: `dagger version` and a session line with port and token', async () => {
    const v = spawnSync(STUB, ['version'], { encoding: 'utf8' });
    expect(v.stdout).toMatch(/^dagger v0\.21\.9 /);
    const files = stubFiles();
    const s = await startSession(files);
    expect(Number(s.env.DAGGER_SESSION_PORT)).toBeGreaterThan(0);
    expect(s.env.DAGGER_SESSION_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    await s.stop();
    expect(readStubLog(files.log).map((r) => r.event)).toEqual(['session.started', 'session.closed']);
  });

  it('atmos-pipe starts `dagger session` itself: exit 0 with the summary, every query valid, the session ended (issue 15.1)', () => {
    const repo = twoComponents();
    const files = stubFiles();
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger'], { env: files.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rollout d → dev: 6 steps, 6 done, 0 cached, 0 failed, 0 skipped/);
    const log = readStubLog(files.log);
    expect(invalidQueries(log)).toEqual([]);
    expect(log.filter((x) => x.event === 'query').length).toBeGreaterThan(6);
    expect(execs(log).map((e) => e.argv?.slice(0, 2))).toEqual(
      expect.arrayContaining([
        ['terraform', 'init'],
        ['terraform', 'apply'],
      ]),
    );
    expect(log.at(-1)?.event).toBe('session.closed');
    expect(new Set(execs(log).map((e) => e.image))).toEqual(new Set([TF_IMAGE]));
    expect(stateValue(repo, 'a')).toBe('a-one');
    expect(stateValue(repo, 'b')).toBe('b-one');
  });

  it('inside a session someone else started (DAGGER_SESSION_PORT): exit 0, the session left running', async () => {
    const repo = twoComponents();
    const files = stubFiles();
    const s = await startSession(files);
    const r = await runCliAsync(['--chdir', repo, 'rollout', 'd', '--target', 'dev'], s.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/engine dagger/);
    expect(r.stdout).toMatch(/6 steps, 6 done/);
    expect(readStubLog(files.log).some((x) => x.event === 'session.closed')).toBe(false);
    await s.stop();
    expect(invalidQueries(readStubLog(files.log))).toEqual([]);
  });

  it('two applies in parallel keep both states (issue 15.2)', () => {
    const repo = twoComponents();
    const files = stubFiles();
    const first = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger', '--parallelism', '4'], { env: files.env });
    expect(first.code, first.stderr).toBe(0);
    setContext(repo, 'two', 1);
    const second = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger', '--parallelism', '4'], { env: files.env });
    expect(second.code, second.stderr).toBe(0);
    expect([stateValue(repo, 'a'), stateValue(repo, 'b')]).toEqual(['a-two', 'b-two']);
  });

  it('steps of independent components run at the same time under --parallelism 4 (issue 15.3)', () => {
    const repo = twoComponents();
    setContext(repo, 'one', 3);
    const files = stubFiles();
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger', '--parallelism', '4'], { env: files.env });
    expect(r.code, r.stderr).toBe(0);
    const applies = execs(readStubLog(files.log)).filter((e) => e.argv?.[1] === 'apply');
    expect(applies).toHaveLength(2);
    const [x, y] = applies.map((e) => ({ start: e.start ?? 0, end: e.end ?? 0 }));
    // Overlap: each started before the other ended.
    expect(x!.start < y!.end && y!.start < x!.end, JSON.stringify(applies)).toBe(true);
  });
  it('an image pinned by tag only is refused on Dagger with where to pin it; --allow-tool-drift runs it with a notice (issue 15.7)', () => {
    const repo = twoComponents();
    writeFileSync(path.join(repo, 'atmos.yaml'), 'components:\n  terraform:\n    base_path: components/terraform\n');
    const files = stubFiles();
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger'], { env: files.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('runs the image hashicorp/terraform:latest, pinned by tag only: the Dagger engine runs images by digest');
    expect(r.stderr).toContain('deployments.tools.terraform.version in atmos.yaml');
    expect(r.stderr).toContain('name@sha256:<digest>');
    expect(execs(readStubLog(files.log))).toEqual([]);
    const drift = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger', '--allow-tool-drift'], { env: files.env });
    expect(drift.code, drift.stderr).toBe(0);
    expect(drift.stderr).toContain('the Dagger engine runs hashicorp/terraform:latest by tag (--allow-tool-drift)');
  });

  it('nixpack on Dagger: the Nix base (no setup step installs the runtime) is refused naming settings.nixpack.base_image; the image chosen there runs install and build (issue 15.6)', () => {
    const files = stubFiles();
    const build = (repo: string) => runCli(['--chdir', repo, 'build', 'payment-service', '--component', 'api', '--engine', 'dagger'], { env: { ...GIT_ENV, ...files.env } });
    const refused = build(exampleGitRepo('atmos-pipe-dagger-nixpack-'));
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`runs the image ${NIXPACKS_BASE_IMAGE}, pinned by tag only`);
    expect(refused.stderr).toContain('the image is chosen in settings.nixpack.base_image');
    expect(execs(readStubLog(files.log))).toEqual([]);

    const NODE_IMAGE = `node:20-bookworm@sha256:${'2'.repeat(64)}`;
    const repo = exampleGitRepo('atmos-pipe-dagger-nixpack-', (dir) => {
      const f = path.join(dir, 'deployments/payment-service.yaml');
      writeFileSync(f, readFileSync(f, 'utf8').replace('            publish: false\n', `            publish: false\n            base_image: "${NODE_IMAGE}"\n`));
    });
    const r = build(repo);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nixpack\/api\s+\S+@sha256:[0-9a-f]{64}/);
    const log = readStubLog(files.log);
    expect(invalidQueries(log)).toEqual([]);
    expect(execs(log).map((e) => [e.image, e.argv, e.exitCode])).toEqual([
      [NODE_IMAGE, ['sh', '-c', 'npm ci'], 0],
      [NODE_IMAGE, ['sh', '-c', 'npm run build'], 0],
    ]);
    // The built tree came back from the container: the image holds dist/server.js.
    expect(existsSync(path.join(repo, '.atmos/images/index.json'))).toBe(true);
  });

  it('an init cached on Dagger serves the local engine: plan there reuses it and sees the state the Dagger applies wrote (issue 15.4)', () => {
    const repo = twoComponents();
    const files = stubFiles();
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger'], { env: files.env });
    expect(r.code, r.stderr).toBe(0);
    const local = runCli(['--chdir', repo, 'plan', 'd', '--target', 'dev', '--engine', 'local']);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr + local.stdout).toMatch(/terraform\/a +init +cached/);
    expect(local.stderr + local.stdout).toMatch(/terraform\/b +init +cached/);
    expect(local.stdout).toMatch(/terraform\/a +0 +0 +0/);
    expect(local.stdout).toMatch(/terraform\/b +0 +0 +0/);
  });

  it('no symlink that only resolves in the container reaches the workspace: cache links become content, workspace links relative (issue 15.4)', async () => {
    const files = stubFiles();
    const s = await startSession(files);
    const engine = new DaggerEngine({ env: { ...process.env, ...s.env } });
    const ws = makeRepo({ 'main.tf': '# module\n' });
    const step: Step = {
      id: 'rollout:linker:init',
      component: 'linker',
      module: 'test.linker',
      image: TF_IMAGE,
      // As `terraform init` with a plugin cache: the provider lands in the cache, the workspace links to it.
      argv: ['sh', '-c', 'mkdir -p "$TOOL_CACHE/p" .terraform && echo provider > "$TOOL_CACHE/p/bin" && ln -s "$TOOL_CACHE/p" .terraform/p && ln -s "$PWD/main.tf" .terraform/main-link'],
      env: {},
      secrets: [],
      inputs: {},
      outputs: {},
      needs: [],
      network: true,
      cache: 'content',
      caches: [{ volume: 'linker', dir: 'linker', env: 'TOOL_CACHE' }],
    };
    const r = await engine.exec({ step, workspace: ws, env: {}, onOutput: () => undefined, signal: new AbortController().signal });
    await engine.close();
    await s.stop();
    expect(r.exitCode).toBe(0);
    expect(lstatSync(path.join(ws, '.terraform/p')).isDirectory()).toBe(true);
    expect(readFileSync(path.join(ws, '.terraform/p/bin'), 'utf8')).toBe('provider\n');
    expect(readlinkSync(path.join(ws, '.terraform/main-link'))).toBe('../main.tf');
    expect(readFileSync(path.join(ws, '.terraform/main-link'), 'utf8')).toBe('# module\n');
    expect(invalidQueries(readStubLog(files.log))).toEqual([]);
  });

  it("opening and closing a session leaves the SDK's global client alone (use inside a Dagger module) (issue 15.8)", async () => {
    const files = stubFiles();
    const s = await startSession(files);
    const script = path.join(makeRepo({}), 'module.mjs');
    writeFileSync(
      script,
      [
        `import { connection, dag } from ${JSON.stringify(path.join(ROOT, 'node_modules/@dagger.io/dagger/dist/src/index.js'))};`,
        `import { connectWithSdk } from ${JSON.stringify(path.join(ROOT, 'dist/src/engine/dagger/index.js'))};`,
        'await connection(async () => {',
        '  const session = await connectWithSdk({ env: process.env });',
        '  await session.client.version();',
        '  await session.close();',
        "  console.log('after:', await dag.version());",
        '});',
        '',
      ].join('\n'),
    );
    const r = await runNode(script, s.env);
    await s.stop();
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('after: v0.21.9\n');
  });

  it("the runner's proxies and the files its tool reads reach the container as on the local engine (issue 15.8)", () => {
    const repo = twoComponents();
    const files = stubFiles();
    const rc = path.join(repo, 'terraform.rc');
    writeFileSync(rc, 'disable_checkpoint = true\n');
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger'], {
      env: { ...files.env, HTTPS_PROXY: 'http://proxy.invalid:3128', TF_CLI_CONFIG_FILE: rc },
    });
    expect(r.code, r.stderr).toBe(0);
    const envs = execs(readStubLog(files.log)).map((e) => e.env ?? {});
    expect(envs.length).toBeGreaterThan(0);
    for (const env of envs) {
      expect(env.HTTPS_PROXY).toBe('http://proxy.invalid:3128');
      expect(env.TF_CLI_CONFIG_FILE).toBe('/atmos-pipe/host-files/TF_CLI_CONFIG_FILE');
    }
    // Terraform found the file where the variable points (it warns about a file it cannot open).
    const logs = path.join(repo, '.atmos/logs');
    const text = readdirSync(logs, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(path.join(logs, f), 'utf8'))
      .join('\n');
    expect(text).toContain('Terraform has been successfully initialized');
    expect(text).not.toContain('CLI configuration');
  });

  it('an engine of another version than the SDK is named in a notice (issue 15.8)', () => {
    const repo = twoComponents();
    const files = stubFiles();
    const r = runCli(['--chdir', repo, 'rollout', 'd', '--target', 'dev', '--engine', 'dagger'], { env: { ...files.env, DAGGER_STUB_VERSION: 'v0.20.3' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('the Dagger engine v0.20.3 is not the version of the Dagger SDK atmos-pipe uses (v0.21.9)');
  });

  it('a timed-out or cancelled exec is stopped on the engine, and nothing is exported afterwards (issue 15.5)', async () => {
    const files = stubFiles();
    const s = await startSession(files);
    const engine = new DaggerEngine({ env: { ...process.env, ...s.env } });
    const ws = makeRepo({ 'keep.txt': 'before\n' });
    const state = path.join(ws, 'state');
    mkdirSync(state);
    const step: Step = {
      id: 'rollout:slow:apply',
      component: 'slow',
      module: 'test.slow',
      image: TF_IMAGE,
      argv: ['sh', '-c', 'sleep 8; echo late > late.txt; echo late > /atmos-pipe/host/state/late.txt'],
      env: {},
      secrets: [],
      inputs: {},
      outputs: {},
      needs: [],
      network: true,
      cache: 'never',
      mounts: [{ host: state, path: '/atmos-pipe/host/state', writable: true }],
      timeoutSeconds: 1,
    };
    const out: Buffer[] = [];
    const r = await engine.exec({ step, workspace: ws, env: {}, onOutput: (c) => out.push(c), signal: new AbortController().signal });
    expect(r.exitCode).toBe(124);
    const ac = new AbortController();
    const cancelled = engine.exec({ step: { ...step, timeoutSeconds: undefined }, workspace: ws, env: {}, onOutput: () => undefined, signal: ac.signal });
    await waitFor(() => execStarts(files.log) >= 2);
    ac.abort();
    await expect(cancelled).rejects.toThrow(/cancelled/);
    // The engine saw both execs end as cancelled: stopped, not left to finish.
    await waitFor(() => execs(readStubLog(files.log)).length >= 2);
    await engine.close();
    await s.stop();
    const log = readStubLog(files.log);
    expect(execs(log).map((e) => e.cancelled)).toEqual([true, true]);
    expect(log.filter((e) => e.event === 'export')).toEqual([]);
    expect(existsSync(path.join(ws, 'late.txt'))).toBe(false);
    expect(existsSync(path.join(state, 'late.txt'))).toBe(false);
    expect(invalidQueries(log)).toEqual([]);
  });
});

function execStarts(log: string): number {
  return readStubLog(log).filter((e) => e.event === 'exec.started').length;
}

/** Polls `cond` (the stub's log) until it holds; the test's own timeout bounds it. */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 50));
}

function runNode(script: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProcess([script], env);
}

/** The CLI as a child process without blocking this process (a session the test owns must answer meanwhile). */
function runCliAsync(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return runProcess([CLI, ...args], env);
}

function runProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
