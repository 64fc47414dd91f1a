/**
 * rollout and plan through the real CLI, the real terraform binary and real files.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, listTree, makeRepo, runCli } from '../helpers.js';

type Ev = { type: string; id?: string; status?: string; fingerprint?: string; logTail?: string[]; reason?: string };
const ndjson = (s: string): Ev[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
const finished = (evs: Ev[]) => Object.fromEntries(evs.filter((e) => e.type === 'step.finished').map((e) => [e.id, e.status]));

function exampleCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-rollout-'));
  const repo = path.join(dir, 'payment-service');
  cpSync(path.join(ROOT, 'examples/payment-service'), repo, { recursive: true, filter: (s) => !s.includes(`${path.sep}.atmos`) });
  return repo;
}

/** A small repo: `a` outputs a value that `b` reads through a template; `c` fails on demand. */
function chainRepo(): string {
  return makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/a/main.tf': [
      'variable "name" { type = string }',
      'resource "terraform_data" "a" { input = var.name }',
      'output "greeting" { value = "hello-${terraform_data.a.output}" }',
      '',
    ].join('\n'),
    'components/terraform/b/main.tf': ['variable "upstream" { type = string }', 'resource "terraform_data" "b" { input = var.upstream }', 'output "seen" { value = terraform_data.b.output }', ''].join(
      '\n',
    ),
    'components/terraform/c/main.tf': [
      'variable "fail" { default = false }',
      'resource "terraform_data" "c" {',
      '  triggers_replace = [var.fail]',
      '  provisioner "local-exec" {',
      '    command = var.fail ? "echo this component is broken >&2; exit 7" : "true"',
      '  }',
      '}',
      '',
    ].join('\n'),
    'deployments/chain.yaml': [
      'deployment:',
      '  name: chain',
      '  components:',
      '    terraform:',
      '      a:',
      '        vars: { name: world }',
      '      b:',
      '        vars:',
      '          upstream: "{{ terraform.a.outputs.greeting }}"',
      '      c:',
      '        vars: { fail: "{{ target.context.fail }}" }',
      '  targets:',
      '    dev:',
      '      context: { fail: false }',
      '    broken:',
      '      context: { fail: true }',
      '',
    ].join('\n'),
  });
}

describe('rollout', () => {
  it('applies every component in isolated workspaces, writes state under .atmos, never touches components/', () => {
    const repo = exampleCopy();
    const components = listTree(path.join(repo, 'components'));
    const before = Object.fromEntries(components.map((f) => [f, readFileSync(path.join(repo, 'components', f), 'utf8')]));
    const r = runCli(['--chdir', repo, 'rollout', 'platform-network', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rollout platform-network → dev: 3 steps, 3 done, 0 cached, 0 failed, 0 skipped/);
    const state = JSON.parse(readFileSync(path.join(repo, '.atmos/state/platform-network/dev/vpc.tfstate'), 'utf8'));
    expect(state.resources.length).toBeGreaterThan(0);
    expect(listTree(path.join(repo, 'components'))).toEqual(components);
    for (const f of components) expect(readFileSync(path.join(repo, 'components', f), 'utf8')).toBe(before[f]);
    // Workspaces are removed after the run.
    const ws = path.join(repo, '.atmos/workspaces');
    expect(existsSync(ws) ? readdirSync(ws).flatMap((d) => readdirSync(path.join(ws, d))) : []).toEqual([]);
    rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('re-running an unchanged rollout is all cache hits; drift in the state re-runs the apply', () => {
    const repo = chainRepo();
    const first = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']);
    expect(first.code, first.stderr).toBe(0);
    const again = ndjson(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']).stdout);
    expect(Object.values(finished(again)).every((s) => s === 'cached')).toBe(true);
    expect(again.some((e) => e.type === 'step.started')).toBe(false);
    // Someone changed the state elsewhere: only that component's apply and output re-run.
    const statePath = path.join(repo, '.atmos/state/chain/dev/a.tfstate');
    const st = JSON.parse(readFileSync(statePath, 'utf8'));
    st.serial += 1;
    writeFileSync(statePath, JSON.stringify(st));
    const drift = finished(ndjson(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']).stdout));
    expect(drift['rollout:terraform/a:init']).toBe('cached');
    expect(drift['rollout:terraform/a:apply']).toBe('done');
    expect(drift['rollout:terraform/b:apply']).toBe('cached');
  });

  it("passes a component's outputs to the components whose templates read them", () => {
    const repo = chainRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(readFileSync(path.join(repo, '.atmos/state/chain/dev/b.tfstate'), 'utf8'));
    expect(b.outputs.seen.value).toBe('hello-world');
  });

  it('a failing step fails the run (exit 1) with its log tail; its dependents are skipped and reported', () => {
    const repo = chainRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'broken', '--keep-going']);
    expect(r.code).toBe(1);
    // Why it failed (the log tail) is a diagnostic: stderr; the summary table and totals are the result: stdout.
    expect(r.stderr).toMatch(/FAILED.*terraform\/c:apply/);
    expect(r.stderr).toContain('this component is broken');
    expect(r.stdout).toMatch(/terraform\/c +output +skipped/);
    expect(r.stdout).toMatch(/1 failed, 1 skipped/);
    // Independent components still finished (--keep-going).
    expect(existsSync(path.join(repo, '.atmos/state/chain/broken/b.tfstate'))).toBe(true);
  });

  it('plan refuses an image binding that was never built (exit 2); rollout --component limits the run (and builds nothing it does not need)', () => {
    const repo = exampleCopy();
    const r = runCli(['--chdir', repo, 'plan', 'payment-service', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('terraform/ecs/service-api receives the image of nixpack/api (label binding, var image), which has never been built');
    expect(r.stderr).toContain('atmos-pipe build payment-service --target dev');
    expect(existsSync(path.join(repo, '.atmos/state'))).toBe(false);
    const one = runCli(['--chdir', repo, 'rollout', 'payment-service', '--target', 'dev', '--component', 'ecr/api']);
    expect(one.code, one.stderr).toBe(0);
    expect(existsSync(path.join(repo, '.atmos/state/payment-service/dev/ecr/api.tfstate'))).toBe(true);
    expect(existsSync(path.join(repo, '.atmos/images'))).toBe(false);
    const bad = runCli(['--chdir', repo, 'rollout', 'payment-service', '--target', 'dev', '--component', 'ecr/apii']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('did you mean "terraform/ecr/api"');
    rmSync(path.dirname(repo), { recursive: true, force: true });
  });

  it('says what to install when terraform is missing (exit 2, nothing written)', () => {
    const repo = chainRepo();
    const before = listTree(repo);
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev'], { env: { PATH: path.dirname(process.execPath) } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"terraform" is not on PATH');
    expect(r.stderr).toContain('install Terraform >= 1.5 or OpenTofu');
    expect(r.stderr).toContain('--engine dagger');
    expect(listTree(repo)).toEqual(before);
  });

  it('--keep-workspace keeps the step workspaces with their generated files and prints their paths', () => {
    const repo = chainRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--component', 'a', '--keep-workspace', '--no-cache']);
    expect(r.code, r.stderr).toBe(0);
    const kept = [...r.stderr.matchAll(/workspace kept: (\S+)/g)].map((m) => m[1]);
    expect(kept.length).toBe(3);
    const apply = kept.find((k) => k.includes('apply'))!;
    expect(JSON.parse(readFileSync(path.join(apply, 'terraform.tfvars.json'), 'utf8'))).toEqual({ name: 'world' });
    // The state is named from the workspace (no host path in a fingerprinted file) and leads to the repository's.
    expect(JSON.parse(readFileSync(path.join(apply, 'backend.tf.json'), 'utf8'))).toEqual({ terraform: { backend: { local: { path: '../../../state/chain/dev/a.tfstate' } } } });
    expect(path.resolve(apply, '../../../state/chain/dev/a.tfstate')).toBe(path.join(repo, '.atmos/state/chain/dev/a.tfstate'));
    expect(statSync(path.join(apply, 'main.tf')).isFile()).toBe(true);
  });
});

describe('state locks', () => {
  it('a Terraform state lock held by another process: waits --lock-timeout, then exits 4', async () => {
    const repo = chainRepo();
    expect(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--component', 'a']).code).toBe(0);
    // Another Terraform (outside atmos-pipe) holds the same state while it sleeps.
    const other = path.join(repo, 'other');
    const statePath = path.join(repo, '.atmos/state/chain/dev/a.tfstate');
    cpSync(path.join(repo, 'components/terraform/a'), other, { recursive: true });
    writeFileSync(path.join(other, 'backend.tf.json'), JSON.stringify({ terraform: { backend: { local: { path: statePath } } } }));
    writeFileSync(path.join(other, 'slow.tf'), 'resource "terraform_data" "slow" {\n  provisioner "local-exec" { command = "sleep 6" }\n}\n');
    const { execFileSync, spawn } = await import('node:child_process');
    execFileSync('terraform', ['init', '-input=false', '-no-color'], { cwd: other, stdio: 'ignore' });
    const holder = spawn('terraform', ['apply', '-auto-approve', '-input=false', '-no-color', '-var', 'name=other'], { cwd: other, stdio: 'ignore' });
    try {
      const lockInfo = path.join(path.dirname(statePath), '.a.tfstate.lock.info');
      for (let i = 0; i < 100 && !existsSync(lockInfo); i++) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(lockInfo)).toBe(true);
      const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--component', 'a', '--no-cache', '--lock-timeout', '1s']);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toContain('a lock is held by another process');
      expect(r.stderr).toContain('Error acquiring the state lock');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('plan', () => {
  it('prints add/change/destroy per component and records nothing', () => {
    const repo = chainRepo();
    const r = runCli(['--chdir', repo, 'plan', 'chain', '--target', 'dev', '--component', 'a']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/COMPONENT +ADD +CHANGE +DESTROY\nterraform\/a +1 +0 +0/);
    expect(existsSync(path.join(repo, '.atmos/state/chain/dev/a.tfstate'))).toBe(false);
    expect(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--component', 'a']).code).toBe(0);
    expect(runCli(['--chdir', repo, 'plan', 'chain', '--target', 'dev', '--component', 'a']).stdout).toMatch(/terraform\/a +0 +0 +0/);
  });
});

describe('engines consume the same step graph', () => {
  it('the step graph and every fingerprint are byte-identical whichever engine is selected', () => {
    const repo = chainRepo();
    expect(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev']).code).toBe(0);
    const local = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--dry-run', '--format', 'json', '--engine', 'local']);
    const dagger = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--dry-run', '--format', 'json', '--engine', 'dagger']);
    expect(local.code, local.stderr).toBe(0);
    expect(dagger.stdout).toBe(local.stdout);
    const plan = JSON.parse(local.stdout) as { steps: { id: string; fingerprint: string; status: string }[] };
    expect(plan.steps.length).toBe(9);
    expect(plan.steps.every((s) => s.status === 'cached' && /^sha256:[0-9a-f]{64}$/.test(s.fingerprint))).toBe(true);
    // ... and they are the fingerprints a real run uses.
    const real = ndjson(runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']).stdout);
    for (const s of plan.steps) expect(real.find((e) => e.type === 'step.finished' && e.id === s.id)?.fingerprint).toBe(s.fingerprint);
  });
});
