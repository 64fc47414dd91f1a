/**
 * The built-in Terraform module (SPEC 5.4) and the rollout/plan pipelines: step generation on
 * a real module in a temp repository (generated files, step chains, state facts, nothing
 * written under components/), then the steps run for real with the terraform binary through
 * a tiny executor that does what the scheduler does (inputs from the CAS into a fresh
 * workspace per step, declared outputs back into the CAS).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleContext } from '../../src/module/index.js';
import { Cas } from '../../src/cache/cas.js';
import { loadDeployment, openRepository, resolve, type ResolvedComponent } from '../../src/index.js';
import { fingerprintData, fingerprintOf, sha256 } from '../../src/steps/fingerprint.js';
import { isOutputRef, stepWorkspace, type Artifact, type Step, type StepResult } from '../../src/steps/types.js';
import {
  applySteps,
  countPlanChanges,
  excludeFromModule,
  parseOutputs,
  planSteps,
  terraformApply,
  terraformInputs,
  terraformPlan,
  terraformWorkspace,
  type TerraformInputs,
} from '../../modules/terraform/index.js';
import pipelinesDefault, { pipelines, plan as planPipeline, rollout as rolloutPipeline } from '../../pipelines/index.js';
import { baseRepo, listTree, makeRepo } from '../helpers.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

const HELLO_TF = [
  'variable "region" { type = string }',
  'variable "name" { type = string }',
  'variable "size" { type = number }',
  'variable "tags" {',
  '  type    = map(string)',
  '  default = {}',
  '}',
  'locals { greeting = "hello ${var.name} in ${var.region}" }',
  'resource "terraform_data" "greeting" { input = local.greeting }',
  'resource "terraform_data" "size" { input = var.size }',
  'output "greeting" { value = terraform_data.greeting.output }',
  'output "double" { value = var.size * 2 }',
  'output "tags" { value = var.tags }',
  '',
].join('\n');

function repoFiles(): Record<string, string> {
  return baseRepo({
    'stacks/catalog/app.yaml': [
      'terraform:',
      '  vars:',
      '    region: us-east-1',
      'components:',
      '  terraform:',
      '    hello:',
      '      vars:',
      '        size: 3',
      '        name: world',
      '        tags: { zeta: z, alpha: a }',
      '    pinned:',
      // Terraform's default workspace, so the state is the backend's path itself (workspaces: test/modules/workspace.test.ts).
      '      metadata: { component: hello, terraform_workspace: default }',
      '      backend_type: local',
      '      backend:',
      '        local: { path: states/pinned.tfstate }',
      '      vars: { name: pinned, size: 1 }',
      '    cloud:',
      '      backend_type: s3',
      '      backend:',
      '        s3: { bucket: tf-state, key: cloud.tfstate, region: eu-west-1 }',
      '      providers:',
      '        aws: { region: eu-west-1, default_tags: { tags: { team: platform } } }',
      '      env: { AWS_RETRY_MODE: adaptive, TF_LOG: "" }',
      '      vars: { name: cloud, size: 2 }',
      '',
    ].join('\n'),
    'components/terraform/hello/main.tf': HELLO_TF,
    'components/terraform/hello/modules/util/main.tf': 'output "x" { value = 1 }\n',
    // Leftovers of someone running terraform by hand: never part of the workspace.
    'components/terraform/hello/.terraform/terraform.tfstate': '{}\n',
    'components/terraform/hello/terraform.tfstate': '{"version": 4}\n',
    'components/terraform/hello/terraform.tfstate.backup': '{"version": 4}\n',
    'components/terraform/hello/terraform.tfvars.json': '{"name": "stale"}\n',
    'components/terraform/cloud/main.tf': HELLO_TF,
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  stacks: [catalog/app]',
      '  components:',
      '    terraform:',
      '      hello: {}',
      '      pinned: {}',
      '      cloud: {}',
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
  comps: Record<string, ResolvedComponent>;
}

async function fixture(): Promise<Fixture> {
  const dir = makeRepo(repoFiles());
  const repo = openRepository({ cwd: dir });
  const dep = loadDeployment(repo, 'shop');
  const r = await resolve(repo, dep, 'dev', { git: { sha: 'a'.repeat(40), short_sha: 'aaaaaaaa', branch: 'main' } });
  const comps = Object.fromEntries(r.components.map((c) => [c.name, c]));
  return { dir, cacheDir: repo.config.cacheDir, cas: new Cas(tempDir('atmos-pipe-cas-')), comps };
}

function ctxFor(f: Fixture, component: ResolvedComponent, pipeline = 'rollout', inputs: Partial<TerraformInputs> = {}): ModuleContext<TerraformInputs> {
  return {
    inputs: terraformInputs.parse(inputs),
    deployment: 'shop',
    target: 'dev',
    pipeline,
    runId: 'test-run',
    component,
    outputsOf: () => undefined,
    cas: f.cas,
    repoRoot: f.dir,
    cacheDir: f.cacheDir,
    tools: { terraform: { command: 'terraform', version: '1.11.4' } },
    options: { lockTimeoutSeconds: 30, noCache: false },
    stepId: (name) => `${pipeline}:${component.address}:${name}`,
  };
}

const byId = (steps: Step[], name: string) => {
  const s = steps.find((x) => x.id.endsWith(`:${name}`));
  if (!s) throw new Error(`no step ${name} in ${steps.map((x) => x.id).join(', ')}`);
  return s;
};

describe('generated workspace files', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('local backend at the default state path, relative to the step workspace (no host path in the file); tfvars with sorted keys; no providers file without providers', () => {
    const ws = terraformWorkspace(ctxFor(f, f.comps.hello));
    const state = path.join(f.cacheDir, 'state', 'shop', 'dev', 'hello.tfstate');
    expect(path.isAbsolute(ws.statePath!)).toBe(true);
    expect(ws.statePath).toBe(state);
    expect(ws.files['backend.tf.json']).toBe(`{\n  "terraform": {\n    "backend": {\n      "local": {\n        "path": "../../../state/shop/dev/hello.tfstate"\n      }\n    }\n  }\n}\n`);
    expect(ws.files['backend.tf.json']).not.toContain(f.dir);
    expect(ws.files['terraform.tfvars.json']).toBe('{\n  "name": "world",\n  "region": "us-east-1",\n  "size": 3,\n  "tags": {\n    "alpha": "a",\n    "zeta": "z"\n  }\n}\n');
    expect(Object.keys(ws.files).sort()).toEqual(['backend.tf.json', 'terraform.tfvars.json']);
    expect(Object.keys(ws.inputs).sort()).toEqual(['.', 'backend.tf.json', 'terraform.tfvars.json']);
    for (const [name, text] of Object.entries(ws.files)) {
      expect(ws.inputs[name]).toEqual({ kind: 'file', digest: sha256(text) });
      expect(f.cas.readBytes(ws.inputs[name].digest).toString('utf8')).toBe(text);
    }
  });

  it("a stack's local backend path (repository-relative) is resolved against the repository root, and named from the step workspace", () => {
    const ws = terraformWorkspace(ctxFor(f, f.comps.pinned));
    expect(ws.statePath).toBe(path.join(f.dir, 'states', 'pinned.tfstate'));
    expect(path.relative(f.dir, f.cacheDir)).toBe('.atmos');
    expect(JSON.parse(ws.files['backend.tf.json'])).toEqual({ terraform: { backend: { local: { path: '../../../../states/pinned.tfstate' } } } });
  });

  it('the root module tree leaves out .terraform, state files and a stale terraform.tfvars.json', () => {
    const ws = terraformWorkspace(ctxFor(f, f.comps.hello));
    expect(ws.inputs['.'].kind).toBe('dir');
    expect(f.cas.manifest(ws.inputs['.'].digest).entries.map((e) => e.path)).toEqual(['main.tf', 'modules/util/main.tf']);
    expect(excludeFromModule('.terraform')).toBe(true);
    expect(excludeFromModule('modules/x/.terraform')).toBe(true);
    expect(excludeFromModule('terraform.tfstate.d')).toBe(true);
    expect(excludeFromModule('modules/terraform.tfvars.json')).toBe(false);
    expect(excludeFromModule('.terraform.lock.hcl')).toBe(false);
  });

  it('remote backend: its config as given (sorted), providers override when configured', () => {
    const c = f.comps.cloud;
    const ws = terraformWorkspace(ctxFor(f, c));
    expect(ws.statePath).toBeNull();
    expect(JSON.parse(ws.files['backend.tf.json'])).toEqual({ terraform: { backend: { s3: c.backend } } });
    expect(c.backend).toMatchObject({ bucket: 'tf-state', key: 'cloud.tfstate', region: 'eu-west-1' });
    expect(ws.files['providers_override.tf.json']).toBe(
      '{\n  "provider": {\n    "aws": {\n      "default_tags": {\n        "tags": {\n          "team": "platform"\n        }\n      },\n      "region": "eu-west-1"\n    }\n  }\n}\n',
    );
    expect(Object.keys(ws.inputs).sort()).toEqual(['.', 'backend.tf.json', 'providers_override.tf.json', 'terraform.tfvars.json']);
  });

  it('the same component gives the same digests (generated bytes are stable)', () => {
    const a = terraformWorkspace(ctxFor(f, f.comps.hello));
    const b = terraformWorkspace(ctxFor(f, f.comps.hello));
    expect(a.inputs).toEqual(b.inputs);
  });

  it('writes nothing under components/ (nor anywhere in the repository)', async () => {
    const g = await fixture();
    const before = listTree(g.dir);
    for (const c of Object.values(g.comps)) {
      applySteps(ctxFor(g, c));
      planSteps(ctxFor(g, c, 'plan'));
    }
    expect(listTree(g.dir)).toEqual(before);
  });

  it('refuses a component that is not Terraform', () => {
    const nx = { ...f.comps.hello, type: 'nixpack', moduleDir: undefined } as unknown as ResolvedComponent;
    expect(() => applySteps(ctxFor(f, nx))).toThrow(/not a Terraform component/);
  });
});

describe('rollout steps: init → apply → output', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('chains ids, needs, argv, outputs, mounts and facts', () => {
    const steps = applySteps(ctxFor(f, f.comps.hello));
    const ws = terraformWorkspace(ctxFor(f, f.comps.hello));
    const stateDir = path.join(f.cacheDir, 'state', 'shop', 'dev');
    const statePath = path.join(stateDir, 'hello.tfstate');
    expect(steps.map((s) => s.id)).toEqual(['rollout:terraform/hello:init', 'rollout:terraform/hello:apply', 'rollout:terraform/hello:output']);
    const [init, apply, output] = steps;
    for (const s of steps) {
      expect(s.component).toBe('terraform/hello');
      expect(s.image).toBe('hashicorp/terraform:1.11.4');
      expect(s.tool).toEqual({ name: 'terraform', version: '1.11.4' });
      expect(s.secrets).toEqual([]);
      expect(s.env).toEqual({ TF_IN_AUTOMATION: '1' });
    }
    expect(init).toMatchObject({
      module: 'terraform.init',
      argv: ['terraform', 'init', '-input=false', '-no-color'],
      inputs: ws.inputs,
      outputs: { dirs: ['.terraform'], files: ['.terraform.lock.hcl'] },
      needs: [],
      network: true,
      cache: 'content',
    });
    expect(init.mounts).toBeUndefined();
    expect(init.facts).toBeUndefined();

    const afterInit = { ...ws.inputs, '.terraform': { step: init.id, output: '.terraform' }, '.terraform.lock.hcl': { step: init.id, output: '.terraform.lock.hcl' } };
    expect(apply).toMatchObject({
      module: 'terraform.apply',
      argv: ['terraform', 'apply', '-auto-approve', '-input=false', '-no-color'],
      operationalArgs: ['-lock-timeout=30s'],
      inputs: afterInit,
      outputs: {},
      needs: [init.id],
      mounts: [{ host: stateDir, path: '../../../state/shop/dev', writable: true }],
      facts: { state: 'none' },
      refreshFacts: { state: statePath },
      cache: 'content',
    });
    expect(output).toMatchObject({
      module: 'terraform.output',
      argv: ['terraform', 'output', '-json', '-no-color'],
      inputs: afterInit,
      stdout: 'outputs.json',
      outputs: { values: ['outputs.json'] },
      needs: [init.id, apply.id],
      mounts: [{ host: stateDir, path: '../../../state/shop/dev', writable: false }],
      facts: { state: 'none' },
      refreshFacts: { state: statePath },
      network: false,
      cache: 'content',
    });
    // Every output ref names a step in needs (the scheduler's rule).
    for (const s of steps) for (const i of Object.values(s.inputs)) if (isOutputRef(i)) expect(s.needs).toContain(i.step);
  });

  it('the state fact is the digest of the state the apply starts from', () => {
    const ctx = ctxFor(f, f.comps.pinned);
    const statePath = path.join(f.dir, 'states', 'pinned.tfstate');
    expect(byId(applySteps(ctx), 'apply').facts).toEqual({ state: 'none' });
    mkdirSync(path.dirname(statePath), { recursive: true });
    writeFileSync(statePath, '{"version":4,"serial":1}\n');
    const one = byId(applySteps(ctx), 'apply').facts!.state;
    expect(one).toBe(sha256('{"version":4,"serial":1}\n'));
    writeFileSync(statePath, '{"version":4,"serial":2}\n');
    const two = byId(applySteps(ctx), 'apply').facts!.state;
    expect(two).toBe(sha256('{"version":4,"serial":2}\n'));
    expect(two).not.toBe(one);
    rmSync(statePath);
  });

  it('changes of the state change the apply fingerprint; refreshFacts is not part of it', () => {
    const apply = byId(applySteps(ctxFor(f, f.comps.hello)), 'apply');
    const fctx = {
      resolveRef: (): Artifact => ({ kind: 'dir', digest: sha256('x') }),
      depDigest: () => sha256('dep'),
      secretKey: Buffer.alloc(32),
      secretValue: () => undefined,
    };
    const fp = (s: Step) => fingerprintOf(fingerprintData(s, fctx));
    expect(fp({ ...apply, refreshFacts: undefined })).toBe(fp(apply));
    expect(fp({ ...apply, facts: { state: sha256('other') } })).not.toBe(fp(apply));
  });

  it('remote backends: apply and output are never cached and bind no state', () => {
    const steps = applySteps(ctxFor(f, f.comps.cloud, 'rollout', { secrets: ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'] }));
    const apply = byId(steps, 'apply');
    const output = byId(steps, 'output');
    expect(byId(steps, 'init').cache).toBe('content');
    for (const s of [apply, output]) {
      expect(s.cache).toBe('never');
      expect(s.mounts).toBeUndefined();
      expect(s.facts).toBeUndefined();
      expect(s.refreshFacts).toBeUndefined();
    }
    expect(output.network).toBe(true);
    for (const s of steps) {
      expect(s.secrets).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
      // A remote backend selects the component's Atmos workspace: the stack's name (stacks/catalog/app.yaml -> catalog-app).
      expect(s.env).toEqual({ AWS_RETRY_MODE: 'adaptive', TF_IN_AUTOMATION: '1', TF_LOG: '', TF_WORKSPACE: 'catalog-app' });
    }
  });

  it('pinned images and tool commands are used as configured', () => {
    const ctx = { ...ctxFor(f, f.comps.hello), tools: { terraform: { command: 'tofu', image: 'registry.example/tofu@sha256:abc' } } };
    const [init] = applySteps(ctx);
    expect(init.image).toBe('registry.example/tofu@sha256:abc');
    expect(init.tool).toEqual({ name: 'tofu', version: '*' });
    expect(init.argv[0]).toBe('tofu');
    const [init2] = applySteps({ ...ctx, tools: { terraform: { command: 'tofu', version: '1.8.0' } } });
    expect(init2.image).toBe('ghcr.io/opentofu/opentofu:1.8.0');
  });

  it('module inputs are validated (strict; secret names must be env names)', () => {
    expect(terraformApply.inputs.parse({})).toEqual({ secrets: [] });
    expect(() => terraformApply.inputs.parse({ secret: ['X'] })).toThrow();
    expect(() => terraformApply.inputs.parse({ secrets: ['not a name'] })).toThrow();
  });

  it('outputs() returns name → value from terraform output -json', () => {
    const ctx = ctxFor(f, f.comps.hello);
    const json = { url: { value: 'http://x', type: 'string', sensitive: false }, n: { value: 3, type: 'number', sensitive: false }, pw: { value: 's3cret', type: 'string', sensitive: true } };
    const results: StepResult[] = [
      { id: ctx.stepId('apply'), component: 'terraform/hello', module: 'terraform.apply', status: 'done', outputs: {}, values: {}, durationMs: 1 },
      { id: ctx.stepId('output'), component: 'terraform/hello', module: 'terraform.output', status: 'cached', outputs: {}, values: { 'outputs.json': json }, durationMs: 1 },
    ];
    expect(terraformApply.outputs!(results, ctx)).toEqual({ url: 'http://x', n: 3, pw: 's3cret' });
    expect(parseOutputs({})).toEqual({});
    expect(parseOutputs(undefined)).toEqual({});
  });
});

describe('plan steps: init → plan → show', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture();
  });

  it('chains ids, needs, argv, outputs, mounts and facts', () => {
    const steps = planSteps(ctxFor(f, f.comps.hello, 'plan'));
    const stateDir = path.join(f.cacheDir, 'state', 'shop', 'dev');
    expect(steps.map((s) => s.id)).toEqual(['plan:terraform/hello:init', 'plan:terraform/hello:plan', 'plan:terraform/hello:show']);
    const [init, plan, show] = steps;
    expect(init.module).toBe('terraform.init');
    expect(plan).toMatchObject({
      module: 'terraform.plan',
      argv: ['terraform', 'plan', '-input=false', '-no-color', '-out=tfplan'],
      operationalArgs: ['-lock-timeout=30s'],
      outputs: { files: ['tfplan'] },
      needs: [init.id],
      mounts: [{ host: stateDir, path: '../../../state/shop/dev', writable: true }],
      facts: { state: 'none' },
      cache: 'content',
    });
    expect(plan.inputs['.terraform']).toEqual({ step: init.id, output: '.terraform' });
    expect(show).toMatchObject({
      module: 'terraform.show',
      argv: ['terraform', 'show', '-json', '-no-color', 'tfplan'],
      stdout: 'plan.json',
      outputs: { values: ['plan.json'] },
      needs: [init.id, plan.id],
      network: false,
      cache: 'content',
    });
    expect(show.inputs.tfplan).toEqual({ step: plan.id, output: 'tfplan' });
    expect(show.mounts).toBeUndefined();
    // The init step is the same action in rollout and plan (same fingerprint inputs): shared cache.
    const rolloutInit = applySteps(ctxFor(f, f.comps.hello))[0];
    expect({ ...init, id: '' }).toEqual({ ...rolloutInit, id: '' });
  });

  it('counts add/change/destroy like Terraform does', () => {
    const rc = (...actions: string[]) => ({ address: 'x', change: { actions } });
    const plan = {
      resource_changes: [rc('create'), rc('create'), rc('update'), rc('delete'), rc('delete', 'create'), rc('create', 'delete'), rc('no-op'), rc('read'), { address: 'weird' }],
    };
    expect(countPlanChanges(plan)).toEqual({ add: 4, change: 1, destroy: 3 });
    expect(countPlanChanges({})).toEqual({ add: 0, change: 0, destroy: 0 });
    expect(countPlanChanges(null)).toEqual({ add: 0, change: 0, destroy: 0 });
    const ctx = ctxFor(f, f.comps.hello, 'plan');
    const results: StepResult[] = [{ id: ctx.stepId('show'), component: 'terraform/hello', module: 'terraform.show', status: 'done', outputs: {}, values: { 'plan.json': plan }, durationMs: 1 }];
    expect(terraformPlan.outputs!(results, ctx)).toEqual({ add: 4, change: 1, destroy: 3 });
  });
});

describe('pipelines', () => {
  it('rollout applies and mutates; plan plans and does not; both only for Terraform components', async () => {
    expect(pipelines).toBe(pipelinesDefault);
    expect(Object.keys(pipelines)).toEqual(['rollout', 'plan', 'release', 'build', 'test']);
    expect(rolloutPipeline).toMatchObject({ name: 'rollout', mutates: true });
    expect(planPipeline).toMatchObject({ name: 'plan', mutates: false });
    expect(rolloutPipeline.stages.map((s) => [s.name, s.module.name])).toEqual([['apply', 'terraform.apply']]);
    expect(planPipeline.stages.map((s) => [s.name, s.module.name])).toEqual([['plan', 'terraform.plan']]);
    const f = await fixture();
    const nx = { ...f.comps.hello, type: 'nixpack' } as ResolvedComponent;
    for (const p of [rolloutPipeline, planPipeline]) {
      expect(p.stages[0].appliesTo!(f.comps.hello)).toBe(true);
      expect(p.stages[0].appliesTo!(nx)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// With the real terraform binary (offline: only variables, locals, outputs and terraform_data).

/**
 * A minimal stand-in for the scheduler: per step, a fresh workspace with its inputs
 * materialised from the CAS (shorter mount paths first, missing optional outputs skipped),
 * the argv run directly, stdout captured, declared outputs put back into the CAS.
 */
function execute(steps: Step[], cas: Cas, cacheDir: string, done = new Map<string, StepResult>()): StepResult[] {
  const out: StepResult[] = [];
  for (const s of steps) {
    for (const n of s.needs) if (!done.has(n)) throw new Error(`${s.id} needs ${n}, which has not run`);
    // Where the scheduler puts it: the steps name the state relative to the workspace.
    const ws = stepWorkspace(cacheDir, 'test-run', path.basename(tempDir('atmos-pipe-ws-')));
    const mounts = Object.entries(s.inputs).sort(([a], [b]) => a.length - b.length || (a < b ? -1 : 1));
    for (const [mount, input] of mounts) {
      const a = isOutputRef(input) ? done.get(input.step)?.outputs[input.output] : input;
      if (a) cas.materialize(a, path.resolve(ws, mount));
    }
    const cwd = path.join(ws, s.workdir ?? '.');
    for (const m of s.mounts ?? []) {
      mkdirSync(m.host, { recursive: true });
      if (path.resolve(cwd, m.path) !== m.host) throw new Error(`${s.id}: mount ${m.path} does not lead to ${m.host} from ${cwd}`);
    }
    let stdout: Buffer;
    try {
      stdout = execFileSync(s.argv[0], s.argv.slice(1), { cwd, env: { ...process.env, HOME: path.join(ws, '.home'), ...s.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const err = e as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`${s.id} failed:\n${err.stdout?.toString() ?? ''}\n${err.stderr?.toString() ?? ''}`);
    }
    if (s.stdout) writeFileSync(path.join(cwd, s.stdout), stdout);
    const outputs: Record<string, Artifact> = {};
    for (const o of [...(s.outputs.dirs ?? []), ...(s.outputs.files ?? [])]) if (existsSync(path.join(cwd, o))) outputs[o] = cas.put(path.join(cwd, o));
    const values: Record<string, unknown> = {};
    for (const v of s.outputs.values ?? []) values[v] = JSON.parse(readFileSync(path.join(cwd, v), 'utf8'));
    const r: StepResult = { id: s.id, component: s.component, module: s.module, status: 'done', outputs, values, exitCode: 0, durationMs: 0 };
    done.set(s.id, r);
    out.push(r);
  }
  return out;
}

describe('with the real terraform binary', () => {
  let f: Fixture;
  let before: string[];
  beforeAll(async () => {
    f = await fixture();
    before = listTree(path.join(f.dir, 'components'));
  });
  const statePath = () => path.join(f.cacheDir, 'state', 'shop', 'dev', 'hello.tfstate');

  it('plan on a fresh state: 2 to add', () => {
    const ctx = ctxFor(f, f.comps.hello, 'plan');
    const results = execute(planSteps(ctx), f.cas, f.cacheDir);
    expect(terraformPlan.outputs!(results, ctx)).toEqual({ add: 2, change: 0, destroy: 0 });
    expect(existsSync(statePath())).toBe(false); // plan records nothing
  });

  it('init + apply create the state at its absolute path; output -json gives the outputs', () => {
    const ctx = ctxFor(f, f.comps.hello);
    const steps = applySteps(ctx);
    expect(byId(steps, 'apply').facts).toEqual({ state: 'none' });
    const results = execute(steps, f.cas, f.cacheDir);
    expect(results.find((r) => r.id.endsWith(':init'))!.outputs['.terraform']).toBeDefined();
    expect(existsSync(statePath())).toBe(true);
    const state = JSON.parse(readFileSync(statePath(), 'utf8')) as { resources: { type: string; name: string }[] };
    expect(state.resources.map((r) => `${r.type}.${r.name}`).sort()).toEqual(['terraform_data.greeting', 'terraform_data.size']);
    expect(terraformApply.outputs!(results, ctx)).toEqual({ greeting: 'hello world in us-east-1', double: 6, tags: { alpha: 'a', zeta: 'z' } });
  });

  it('the next apply starts from the state the last one produced (what refreshFacts converges to)', () => {
    const apply = byId(applySteps(ctxFor(f, f.comps.hello)), 'apply');
    expect(apply.facts!.state).toBe(sha256(readFileSync(statePath())));
    expect(apply.refreshFacts).toEqual({ state: statePath() });
  });

  it('plan after apply: nothing to do; a changed var: 1 to change', () => {
    const ctx = ctxFor(f, f.comps.hello, 'plan');
    expect(terraformPlan.outputs!(execute(planSteps(ctx), f.cas, f.cacheDir), ctx)).toEqual({ add: 0, change: 0, destroy: 0 });
    const changed = { ...f.comps.hello, vars: { ...f.comps.hello.vars, size: 4 } };
    const ctx2 = ctxFor(f, changed, 'plan');
    expect(terraformPlan.outputs!(execute(planSteps(ctx2), f.cas, f.cacheDir), ctx2)).toEqual({ add: 0, change: 1, destroy: 0 });
  });

  it('apply converges: a second apply leaves outputs as they were', () => {
    const ctx = ctxFor(f, f.comps.hello);
    const results = execute(applySteps(ctx), f.cas, f.cacheDir);
    expect(terraformApply.outputs!(results, ctx)).toEqual({ greeting: 'hello world in us-east-1', double: 6, tags: { alpha: 'a', zeta: 'z' } });
  });

  it('nothing was written under components/', () => {
    expect(listTree(path.join(f.dir, 'components'))).toEqual(before);
  });
});
