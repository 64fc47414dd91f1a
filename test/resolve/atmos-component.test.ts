/**
 * `atmos.Component "<component>" <stack>` in a stack's Go template, through the CLI
 * (dist/cli.mjs) and the real terraform binary: another component of the deployment in the
 * same stack gives its configuration at resolution and its outputs at run time (a dependency
 * edge and a deferred value, as `!terraform.output` does). Anything else is exit 2 where it is
 * written.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

const SECOND_VARS = [
  `        upstream: '{{ (atmos.Component "first" .stack).outputs.some_output }}'`,
  `        port: '{{ (atmos.Component "first" .atmos_stack).outputs.config.port }}'`,
  `        tags: !template '{{ toJson (atmos.Component "first" .stack).outputs.tags }}'`,
  `        tags_text: '{{ toJson (atmos.Component "first" .stack).outputs.tags }}'`,
  `        name_copy: '{{ (atmos.Component "first" .stack).vars.name }}'`,
  // The stack named as written: the stack of stacks/app.yaml is "app" (its file path).
  `        team: 'team-{{ (atmos.Component "first" "app").settings.team }}'`,
];

function componentRepo(secondVars: string[] = SECOND_VARS, extra: string[] = []): string {
  return makeRepo({
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', 'templates:', '  settings:', '    enabled: true', '    sprig:', '      enabled: true', ''].join('\n'),
    'components/terraform/first/main.tf': [
      'variable "name" { type = string }',
      'resource "terraform_data" "first" { input = var.name }',
      'output "some_output" { value = "hello-${terraform_data.first.output}" }',
      'output "config" { value = { port = 8080 } }',
      'output "tags" { value = ["a", "b"] }',
      '',
    ].join('\n'),
    'components/terraform/second/main.tf': [
      'variable "upstream" { type = string }',
      'variable "port" { type = number }',
      'variable "tags" { type = list(string) }',
      'variable "tags_text" { type = string }',
      'variable "name_copy" { type = string }',
      'variable "team" { type = string }',
      'resource "terraform_data" "second" { input = "${var.upstream}:${var.port}:${join(",", var.tags)}:${var.tags_text}:${var.name_copy}:${var.team}" }',
      'output "seen" { value = terraform_data.second.output }',
      '',
    ].join('\n'),
    'stacks/app.yaml': [
      'components:',
      '  terraform:',
      '    first:',
      '      settings:',
      '        team: core',
      '      vars:',
      '        name: world',
      '    second:',
      '      vars:',
      ...secondVars,
      ...extra,
      '',
    ].join('\n'),
    'deployments/chain.yaml': ['deployment:', '  name: chain', '  stacks: [app]', '  components:', '    terraform:', '      first: {}', '      second: {}', '  targets:', '    dev: {}', ''].join('\n'),
  });
}

type Ev = { type: string; id?: string; status?: string };

describe('atmos.Component', () => {
  it('describe: an edge to the component read, its vars and settings known, its outputs known after apply', () => {
    const repo = componentRepo();
    const r = runCli(['--chdir', repo, 'describe', 'chain', '--target', 'dev', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const second = (JSON.parse(r.stdout).components as { name: string; depends_on: string[]; wave: number; vars: Record<string, unknown> }[]).find((c) => c.name === 'second')!;
    expect(second.depends_on).toEqual(['terraform/first']);
    expect(second.wave).toBe(1);
    expect(second.vars.name_copy).toBe('world');
    expect(second.vars.team).toBe('team-core');
    expect(second.vars.upstream).toBe('(known after apply: terraform/first.outputs.some_output)');
  });

  it('a rollout applies first, then gives second the real outputs (text, or typed through !template)', () => {
    const repo = componentRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']);
    expect(r.code, r.stderr + r.stdout.slice(-4000)).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Ev);
    const finishedAt = events.findIndex((e) => e.type === 'step.finished' && e.id === 'rollout:terraform/first:apply' && e.status === 'done');
    expect(finishedAt).toBeGreaterThanOrEqual(0);
    expect(events.findIndex((e) => e.type === 'step.started' && e.id === 'rollout:terraform/second:apply')).toBeGreaterThan(finishedAt);
    const state = JSON.parse(readFileSync(path.join(repo, '.atmos/state/chain/dev/second.tfstate'), 'utf8'));
    // Atmos tests/fixtures/scenarios/atmos-template-yaml-function/README.md: without !template toJson "Results in JSON string",
    // with !template "Results in native YAML list".
    expect(state.outputs.seen.value).toBe('hello-world:8080:a,b:["a","b"]:world:team-core');
  });
});

describe('atmos.Component refusals: exit 2 where it is written, nothing applied', () => {
  const refused = (secondVars: string[], message: RegExp, extra: string[] = []) => {
    const repo = componentRepo(secondVars, extra);
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: /);
    expect(existsSync(path.join(repo, '.atmos/state'))).toBe(false);
  };

  it('another stack', () => {
    refused(
      [`        upstream: '{{ (atmos.Component "first" "prod").outputs.some_output }}'`],
      /stacks\/app\.yaml:10:19: error: vars\.upstream: error calling atmos\.Component: reading first in stack "prod" is not supported/,
    );
  });

  it('a component the deployment does not deploy', () => {
    refused(
      [`        upstream: '{{ (atmos.Component "frist" .stack).outputs.some_output }}'`],
      /stacks\/app\.yaml:10:19: error: .*frist is not a Terraform component of this deployment \(did you mean "first"\?\)/,
    );
  });

  it('an output passed to a function, tested, or read whole', () => {
    refused(
      [`        upstream: '{{ upper (atmos.Component "first" .stack).outputs.some_output }}'`],
      /stacks\/app\.yaml:10:19: error: vars\.upstream: \(atmos\.Component "first" \.\.\.\)\.outputs\.some_output is known only when the deployment runs: it can be printed or passed to toJson, not passed to upper/,
    );
    refused([`        upstream: '{{ if (atmos.Component "first" .stack).outputs.some_output }}x{{ end }}'`], /stacks\/app\.yaml:10:19: error: .*not tested by if/);
    refused([`        upstream: '{{ or (atmos.Component "first" .stack).outputs.some_output "none" }}'`], /stacks\/app\.yaml:10:19: error: .*not tested by or/);
    refused([`        upstream: '{{ (atmos.Component "first" .stack).outputs }}'`], /stacks\/app\.yaml:10:19: error: .*outputs needs an output name/);
  });

  it('an output outside vars, settings and env; an output the module does not declare', () => {
    refused([`        upstream: x`], /stacks\/app\.yaml:13:19: error: providers\.aws\.region: another component's outputs \(atmos\.Component \.\.\. \.outputs\) cannot be read in providers/, [
      '      providers:',
      '        aws:',
      `          region: '{{ (atmos.Component "first" .stack).outputs.some_output }}'`,
    ]);
    refused([`        upstream: '{{ (atmos.Component "first" .stack).outputs.nope }}'`], /stacks\/app\.yaml:10:19: error: .*nope/);
  });

  it('a component reading itself back', () => {
    const repo = componentRepo([`        upstream: '{{ (atmos.Component "second" .stack).vars.port }}'`, `        port: '{{ (atmos.Component "second" .stack).vars.upstream }}'`]);
    const r = runCli(['--chdir', repo, 'validate', 'chain']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stacks\/app\.yaml:10:19: error: .*a component cannot read itself back/);
  });
});
