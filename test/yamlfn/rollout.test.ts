/**
 * A real rollout through the CLI (dist/cli.mjs, the real terraform binary): `!terraform.output`
 * between two components of a deployment orders them and applies the real output value.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';

type Ev = { type: string; id?: string; status?: string };

function outputRepo(): string {
  return makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/first/main.tf': [
      'variable "name" { type = string }',
      'resource "terraform_data" "first" { input = var.name }',
      'output "some_output" { value = "hello-${terraform_data.first.output}" }',
      'output "config" { value = { port = 8080, tags = ["a", "b"] } }',
      '',
    ].join('\n'),
    'components/terraform/second/main.tf': [
      'variable "upstream" { type = string }',
      'variable "port" { type = number }',
      'resource "terraform_data" "second" { input = "${var.upstream}:${var.port}" }',
      'output "seen" { value = terraform_data.second.output }',
      '',
    ].join('\n'),
    // The second component's vars come from a stack manifest, as in an Atmos repository.
    'stacks/app.yaml': [
      'components:',
      '  terraform:',
      '    second:',
      '      vars:',
      '        upstream: !terraform.output first some_output',
      '        port: !terraform.state first .config.port',
      '',
    ].join('\n'),
    'deployments/chain.yaml': [
      'deployment:',
      '  name: chain',
      '  stacks: [app]',
      '  components:',
      '    terraform:',
      '      first:',
      '        vars: { name: world }',
      '      second: {}',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
}

describe('rollout with !terraform.output', () => {
  it('applies the first component before the second and gives the second the real output value', () => {
    const repo = outputRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--events', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Ev);
    const finishedAt = (id: string) => events.findIndex((e) => e.type === 'step.finished' && e.id === id && e.status === 'done');
    const startedAt = (id: string) => events.findIndex((e) => e.type === 'step.started' && e.id === id);
    expect(finishedAt('rollout:terraform/first:apply')).toBeGreaterThanOrEqual(0);
    expect(startedAt('rollout:terraform/second:apply')).toBeGreaterThan(finishedAt('rollout:terraform/first:apply'));
    const state = JSON.parse(readFileSync(path.join(repo, '.atmos/state/chain/dev/second.tfstate'), 'utf8'));
    expect(state.outputs.seen.value).toBe('hello-world:8080');
  });

  it('the second alone, its upstream never applied: exit 2 before anything runs, naming the dependency', () => {
    const repo = outputRepo();
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev', '--component', 'terraform/second']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /stacks\/app\.yaml:5:19: error: terraform\/second needs \{\{ terraform\.first\.outputs\.some_output \}\}, but terraform\/first is not part of this run and has never been applied to dev/,
    );
    expect(existsSync(path.join(repo, '.atmos/state/chain/dev/second.tfstate'))).toBe(false);
  });

  it('an unsupported function stops the rollout with exit 2 at the tag; nothing is applied', () => {
    const repo = outputRepo();
    writeFileSync(
      path.join(repo, 'stacks/app.yaml'),
      ['components:', '  terraform:', '    second:', '      vars:', '        upstream: !store ssm prod first some_output', '        port: 1', ''].join('\n'),
    );
    const r = runCli(['--chdir', repo, 'rollout', 'chain', '--target', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stacks\/app\.yaml:5:19: error: !store ssm prod first some_output: the Atmos YAML function !store is not supported/);
    expect(existsSync(path.join(repo, '.atmos/state/chain/dev/first.tfstate'))).toBe(false);
  });
});
