/**
 * Step hooks (SPEC 8): `steps.before_<stage>` / `after_<stage>` of the deployment, a target
 * and a component become real steps of the run — sandboxed, content-addressed, cached —
 * through the library with test modules (defined here with `defineModule`, each step a real
 * `sh` process in the sandbox), on a real Git repository with real Terraform. A failing hook
 * fails its component (dependents skipped, history `failed`); a re-run is all cached but for
 * a never-cached hook. `validate` through the CLI refuses an unknown `uses:` and a bad
 * `with:`, located.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineModule, moduleRegistry, type ModuleContext, type Step } from 'atmos-pipe/module';
import { builtinModules } from '../../modules/index.js';
import pipelines from '../../pipelines/index.js';
import { LocalEngine } from '../../src/engine/local.js';
import type { ExecRequest, ExecResult, RunEvent } from '../../src/engine/types.js';
import { loadDeployment, openRepository } from '../../src/index.js';
import { rollout } from '../../src/rollout/index.js';
import { dryRunPipeline, runPipeline, sandboxFor } from '../../src/run/index.js';
import { GIT_ENV, exampleGitRepo, git, makeRepo, runCli } from '../helpers.js';

const ENV: Record<string, string> = { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' };
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  // The library's git processes (tags, notes) take the environment of this process.
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** One sandboxed `sh` step of a test module. */
function shStep(ctx: ModuleContext, name: string, script: string, args: string[], extra: Partial<Step> = {}): Step {
  return {
    id: ctx.stepId(name),
    module: `test.${name}`,
    component: ctx.component.address,
    image: 'busybox:1.36',
    tool: { name: 'sh', version: '*' },
    argv: ['sh', '-c', script, 'sh', ...args],
    env: {},
    secrets: [],
    inputs: {},
    outputs: {},
    needs: [],
    network: false,
    cache: 'content',
    ...extra,
  };
}

/** Writes what it was given to a value output (`seen.json`), so the test reads what the hook saw. */
const record = defineModule({
  name: 'record',
  inputs: z.strictObject({ value: z.string() }),
  steps: (ctx) => [shStep(ctx, 'record', 'printf \'{"seen": "%s"}\' "$1" > seen.json', [ctx.inputs.value], { outputs: { values: ['seen.json'] } })],
});

/** Fails (exit 3) unless `actual` equals `expect`: a smoke test of an output. */
const check = defineModule({
  name: 'check',
  inputs: z.strictObject({ expect: z.string(), actual: z.string() }),
  steps: (ctx) => [shStep(ctx, 'check', 'if [ "$1" = "$2" ]; then echo ok; else echo "expected $1, got $2" >&2; exit 3; fi', [ctx.inputs.expect, ctx.inputs.actual])],
});

/** A notification: never cached, it runs on every rollout. */
const notify = defineModule({
  name: 'notify',
  inputs: z.strictObject({ message: z.string() }),
  steps: (ctx) => [shStep(ctx, 'notify', 'echo "$1"', [ctx.inputs.message], { cache: 'never' })],
});

const modules = moduleRegistry(...builtinModules.values(), record, check, notify);

/** `a` outputs a greeting that `b` reads; hooks at the deployment, a target and `a`. */
function hookedRepo(): string {
  const dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/a/main.tf': [
      'variable "name" { type = string }',
      'resource "terraform_data" "a" { input = var.name }',
      'output "greeting" { value = "hello-${terraform_data.a.output}" }',
      '',
    ].join('\n'),
    'components/terraform/b/main.tf': ['variable "upstream" { type = string }', 'resource "terraform_data" "b" { input = var.upstream }', ''].join('\n'),
    'deployments/hooked.yaml': [
      'deployment:',
      '  name: hooked',
      '  steps:',
      '    after_apply:',
      '      - uses: notify',
      '        with: { message: "{{ self.address }} applied to {{ target.name }}" }',
      '  components:',
      '    terraform:',
      '      a:',
      '        vars: { name: world }',
      '        steps:',
      '          before_plan:',
      '            - uses: record',
      '              with: { value: "planning {{ self.vars.name }}" }',
      '          before_apply:',
      '            - uses: record',
      '              with: { value: "{{ self.vars.name }}" }',
      '          after_apply:',
      '            - uses: record',
      '              name: what a applied',
      '              with: { value: "{{ self.outputs.greeting }}" }',
      '      b:',
      '        vars: { upstream: "{{ terraform.a.outputs.greeting }}" }',
      '  targets:',
      '    dev:',
      '      context: { expect: hello-world }',
      '      steps:',
      '        after_apply:',
      '          - uses: check',
      '            with: { expect: "{{ target.context.expect }}", actual: "{{ terraform.a.outputs.greeting }}" }',
      '    broken:',
      '      context: { expect: hello-moon }',
      '      steps:',
      '        after_apply:',
      '          - uses: check',
      '            with: { expect: "{{ target.context.expect }}", actual: "{{ terraform.a.outputs.greeting }}" }',
      '',
    ].join('\n'),
  });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

/** The local engine, counting the processes it starts (each step is one sandboxed process). */
class CountingEngine extends LocalEngine {
  started: string[] = [];
  override exec(req: ExecRequest): Promise<ExecResult> {
    this.started.push(req.step.id);
    return super.exec(req);
  }
}

async function rolloutOf(dir: string, target: string) {
  const repo = openRepository({ cwd: dir });
  const dep = loadDeployment(repo, 'hooked');
  const events: RunEvent[] = [];
  const engine = new CountingEngine({ sandbox: (await sandboxFor(repo, {}))! });
  const summary = await rollout(repo, dep, {
    pipeline: pipelines.rollout,
    build: pipelines.build,
    modules,
    target,
    emit: (e) => events.push(e),
    engineInstance: engine,
    env: { ...process.env, ...ENV },
  });
  return { summary, events, started: engine.started };
}

/** Position of an event in the stream: the order things happened in. */
function at(events: RunEvent[], type: 'step.started' | 'step.finished', id: string): number {
  const i = events.findIndex((e) => e.type === type && 'id' in e && e.id === id);
  expect(i, `${type} ${id}`).toBeGreaterThanOrEqual(0);
  return i;
}

describe('step hooks in a rollout', () => {
  it('run before and after the stage, in order (deployment, target, component), with the outputs; dependents wait; a re-run is all cached but the never-cached hook', async () => {
    const dir = hookedRepo();
    const { summary, events } = await rolloutOf(dir, 'dev');
    expect(summary.run.status).toBe('success');
    const A = 'rollout:terraform/a';
    // before_apply, then init → apply → output, then the after_apply hooks: the deployment's, the target's, a's.
    expect(at(events, 'step.finished', `${A}:before_apply.1.record`)).toBeLessThan(at(events, 'step.started', `${A}:init`));
    expect(at(events, 'step.finished', `${A}:output`)).toBeLessThan(at(events, 'step.started', `${A}:after_apply.1.notify`));
    expect(at(events, 'step.finished', `${A}:after_apply.1.notify`)).toBeLessThan(at(events, 'step.started', `${A}:after_apply.2.check`));
    expect(at(events, 'step.finished', `${A}:after_apply.2.check`)).toBeLessThan(at(events, 'step.started', `${A}:after_apply.3.record`));
    // b depends on a: it starts once a's hooks are done.
    expect(at(events, 'step.finished', `${A}:after_apply.3.record`)).toBeLessThan(at(events, 'step.started', 'rollout:terraform/b:init'));
    // The hooks saw the component's resolved vars and its outputs.
    const seen = (id: string) => summary.run.results.find((r) => r.id === id)?.values['seen.json'];
    expect(seen(`${A}:before_apply.1.record`)).toEqual({ seen: 'world' });
    expect(seen(`${A}:after_apply.3.record`)).toEqual({ seen: 'hello-world' });
    // The deployment's hook applies to b too; a plan's hook does not run in a rollout.
    expect(summary.run.results.map((r) => r.id)).toContain('rollout:terraform/b:after_apply.1.notify');
    expect(summary.run.results.some((r) => r.id.includes('before_plan'))).toBe(false);
    expect(summary.recorded.map((r) => [r.component, r.status])).toEqual([
      ['a', 'success'],
      ['b', 'success'],
    ]);

    // A re-run: every step cached, but the two notifications (never cached) run again.
    const again = await rolloutOf(dir, 'dev');
    expect(again.summary.run.status).toBe('success');
    expect(again.started.sort()).toEqual([`${A}:after_apply.1.notify`, 'rollout:terraform/b:after_apply.1.notify']);
    const statuses = Object.fromEntries(again.summary.run.results.map((r) => [r.id, r.status]));
    expect(statuses[`${A}:after_apply.3.record`]).toBe('cached');
    expect(statuses[`${A}:before_apply.1.record`]).toBe('cached');
    expect(statuses[`${A}:apply`]).toBe('cached');
  });

  it('a failing after_apply hook fails its component: dependents are skipped, the run fails, history records failed', async () => {
    const dir = hookedRepo();
    const { summary } = await rolloutOf(dir, 'broken');
    expect(summary.run.status).toBe('failed');
    const byId = Object.fromEntries(summary.run.results.map((r) => [r.id, r]));
    expect(byId['rollout:terraform/a:apply'].status).toBe('done');
    expect(byId['rollout:terraform/a:after_apply.2.check'].status).toBe('failed');
    expect(byId['rollout:terraform/a:after_apply.2.check'].logTail?.join('\n')).toContain('expected hello-moon, got hello-world');
    // The hooks after the failed one do not run; b never starts.
    expect(byId['rollout:terraform/a:after_apply.3.record'].status).toBe('skipped');
    expect(byId['terraform/b:*'].status).toBe('skipped');
    expect(summary.recorded).toEqual([{ component: 'a', status: 'failed', tag: expect.any(String), refUpdated: false }]);
    // What Git says, read back through the CLI.
    const history = runCli(['--chdir', dir, 'history', 'hooked', '--target', 'broken', '--format', 'json'], { env: ENV });
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { component: string; status: string }[]).map((h) => [h.component, h.status])).toEqual([['a', 'failed']]);
    expect(git(dir, 'for-each-ref', 'refs/atmos/deployments/hooked/broken/')).toBe('');
  });

  it('a plan runs the plan hooks only; a dry run shows the hook steps', async () => {
    const dir = hookedRepo();
    const repo = openRepository({ cwd: dir });
    const dep = loadDeployment(repo, 'hooked');
    const plan = await runPipeline(repo, dep, { pipeline: pipelines.plan, modules, target: 'dev', emit: () => undefined });
    expect(plan.status).toBe('success');
    const ids = plan.results.map((r) => r.id);
    expect(ids).toContain('plan:terraform/a:before_plan.1.record');
    expect(plan.results.find((r) => r.id === 'plan:terraform/a:before_plan.1.record')?.values['seen.json']).toEqual({ seen: 'planning world' });
    expect(ids.some((id) => id.includes('apply'))).toBe(false);

    const dry = await dryRunPipeline(repo, dep, { pipeline: pipelines.rollout, modules, target: 'dev' });
    const planned = Object.fromEntries(dry.steps.map((s) => [s.id, s]));
    expect(planned['rollout:terraform/a:before_apply.1.record'].status).toBe('run');
    expect(planned['rollout:terraform/a:after_apply.3.record'].status).toBe('blocked');
    expect(planned['rollout:terraform/a:after_apply.3.record'].needs).toEqual(['rollout:terraform/a:after_apply.2.check']);
    expect(planned['rollout:terraform/b:after_apply.1.notify']).toBeDefined();
  });

  it('an unknown module or a bad input refuses the run before anything is written', async () => {
    const dir = hookedRepo();
    const file = path.join(dir, 'deployments/hooked.yaml');
    const repo = openRepository({ cwd: dir });
    writeFileSync(file, readFileSync(file, 'utf8').replace('value: "{{ self.vars.name }}"', 'valeu: "{{ self.vars.name }}"'));
    const dep = loadDeployment(repo, 'hooked');
    const err = await runPipeline(repo, dep, { pipeline: pipelines.rollout, modules, target: 'dev', emit: () => undefined }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/unknown key "valeu"/);
    expect(existsSync(path.join(dir, '.atmos'))).toBe(false);
  });
});

describe('step hooks of a nixpack component', () => {
  it("an after_build hook runs once the image is built, with the image's reference; a re-run is cached", { timeout: 240_000 }, async () => {
    const dir = exampleGitRepo('atmos-pipe-hooks-build-', (d) => {
      const file = path.join(d, 'deployments/payment-service.yaml');
      const text = readFileSync(file, 'utf8');
      const at = text.indexOf('        settings:\n          nixpack:\n            publish: false');
      writeFileSync(file, `${text.slice(0, at)}        steps:\n          after_build:\n            - uses: record\n              with: { value: "{{ self.outputs.image }}" }\n${text.slice(at)}`);
    });
    const repo = openRepository({ cwd: dir });
    const dep = loadDeployment(repo, 'payment-service');
    const build = () => runPipeline(repo, dep, { pipeline: pipelines.build, modules, target: 'dev', emit: () => undefined });
    const first = await build();
    expect(first.status).toBe('success');
    const hook = first.results.find((r) => r.id === 'build:nixpack/api:after_build.1.record');
    expect(hook?.status).toBe('done');
    expect(hook?.values['seen.json']).toEqual({ seen: first.componentOutputs['nixpack/api'].image });
    expect(String(first.componentOutputs['nixpack/api'].image)).toMatch(/^payment-api@sha256:[0-9a-f]{64}$/);
    const again = await build();
    expect(again.results.find((r) => r.id === 'build:nixpack/api:after_build.1.record')?.status).toBe('cached');
  });
});

describe('validate checks step hooks (CLI, built-in modules)', () => {
  const deployment = (steps: string[]) =>
    makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'components/terraform/a/main.tf': 'output "url" { value = "http://a" }\n',
      'deployments/hooked.yaml': ['deployment:', '  name: hooked', '  components:', '    terraform:', '      a:', '        steps:', ...steps, '  targets:', '    dev: {}', ''].join('\n'),
    });

  it('an unknown `uses:` is exit 2 at the value, with a did-you-mean among the registered modules', () => {
    const dir = deployment(['          after_apply:', '            - uses: terraform.aply']);
    const r = runCli(['--chdir', dir, 'validate', 'hooked']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deployments/hooked.yaml:8:21');
    expect(r.stderr).toContain('no module named "terraform.aply" is registered');
    expect(r.stderr).toContain('did you mean "terraform.apply"?');
  });

  it('a bad `with:` is exit 2 at the key: an unknown key with a did-you-mean, a wrong type with the expected one', () => {
    const dir = deployment([
      '          before_apply:',
      '            - uses: terraform.plan',
      '              with:',
      '                secret: [TOKEN]',
      '          after_apply:',
      '            - uses: terraform.plan',
      '              with:',
      '                secrets: TOKEN',
    ]);
    const r = runCli(['--chdir', dir, 'validate', 'hooked', '--format', 'json']);
    expect(r.code).toBe(2);
    const errors = (JSON.parse(r.stdout) as { deployments: { errors: { code: string; message: string; hint?: string; location: { line: number; col: number } }[] }[] }).deployments[0].errors;
    expect(errors).toEqual([
      expect.objectContaining({ code: 'hook/unknown-key', location: expect.objectContaining({ line: 10, col: 17 }), hint: 'did you mean "secrets"?' }),
      expect.objectContaining({
        code: 'hook/type',
        message: expect.stringMatching(/steps\.after_apply\[0\]\.with\.secrets must be a list, got a string/),
        location: expect.objectContaining({ line: 14, col: 26 }),
      }),
    ]);
  });

  it('a template in `with:` naming an unknown output is exit 2 at the template', () => {
    const dir = deployment(['          after_apply:', '            - uses: terraform.plan', '              with: { secrets: ["{{ self.outputs.ulr }}", "{{ terraform.a.outputs.nope }}"] }']);
    const r = runCli(['--chdir', dir, 'validate', 'hooked']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/declares no output "ulr"/);
    expect(r.stderr).toContain('did you mean "self.outputs.url"?');
    expect(r.stderr).toMatch(/deployments\/hooked\.yaml:9:59: error: \{\{ terraform\.a\.outputs\.nope \}\}: terraform\/a \(module a\) declares no output "nope"/);
  });

  it('`self.outputs` in a before_ hook is exit 2: the outputs are known only after the stage', () => {
    const dir = deployment(['          before_apply:', '            - uses: terraform.plan', '              with: { secrets: ["{{ self.outputs.url }}"] }']);
    const r = runCli(['--chdir', dir, 'validate', 'hooked']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("the component's outputs are known only after its apply stage");
    expect(r.stderr).toContain('move the hook to after_apply');
  });

  it("a hook reading another component's output orders the component after it (graph edge)", () => {
    const dir = makeRepo({
      'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
      'components/terraform/a/main.tf': 'output "url" { value = "http://a" }\n',
      'components/terraform/b/main.tf': '\n',
      'deployments/hooked.yaml': [
        'deployment:',
        '  name: hooked',
        '  components:',
        '    terraform:',
        '      a: {}',
        '      b:',
        '        steps:',
        '          after_apply:',
        '            - uses: terraform.plan',
        '              with: { secrets: ["{{ terraform.a.outputs.url }}"] }',
        '  targets:',
        '    dev: {}',
        '',
      ].join('\n'),
    });
    expect(runCli(['--chdir', dir, 'validate', 'hooked']).code).toBe(0);
    const graph = runCli(['--chdir', dir, 'graph', 'hooked', '--target', 'dev', '--format', 'json']);
    expect(graph.code, graph.stderr).toBe(0);
    expect(JSON.parse(graph.stdout).waves).toEqual([['terraform/a'], ['terraform/b']]);
  });
});
