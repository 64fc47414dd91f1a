/**
 * The read-only commands on the bundled example, through the real CLI on a temp copy.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers.js';

let repo: string;
beforeAll(() => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-example-'));
  repo = path.join(dir, 'payment-service');
  cpSync(path.join(ROOT, 'examples/payment-service'), repo, { recursive: true, filter: (src) => !src.includes(`${path.sep}.atmos`) && !src.includes('node_modules') });
});
afterAll(() => rmSync(path.dirname(repo), { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(['--chdir', repo, ...args]);

describe('the bundled example', () => {
  it('validates every deployment', () => {
    const r = cli('validate', '--all');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ payment-service: 3 targets \(dev, staging, prod\), 3 components, \d+ stack files/);
    expect(r.stdout).toMatch(/✓ platform-network:/);
    expect(r.stdout).toMatch(/✓ payment-webhooks: 2 targets \(dev, staging\), 2 components, \d+ stack files/);
    expect(r.stdout).toMatch(/3 deployments checked: 0 errors/);
  });

  it('describes a target in the exact JSON shape', () => {
    const r = cli('describe', 'payment-service', '--target', 'dev', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(Object.keys(d)).toEqual(['deployment', 'target', 'stacks', 'components']);
    expect(d.deployment).toBe('payment-service');
    expect(d.target).toBe('dev');
    expect(d.stacks.length).toBeGreaterThan(3);
    expect(d.stacks.every((s: string) => s.startsWith('stacks/'))).toBe(true);
    const byAddr = Object.fromEntries(d.components.map((c: { address: string }) => [c.address, c]));
    expect(Object.keys(byAddr).sort()).toEqual(['nixpack/api', 'terraform/ecr/api', 'terraform/ecs/service-api']);
    const svc = byAddr['terraform/ecs/service-api'];
    expect(svc.component).toBe('ecs-service');
    expect(svc.vars.image).toBe('payment-api@sha256:<unbuilt>');
    expect(svc.vars.replicas).toBe(1);
    expect(svc.depends_on).toEqual(['nixpack/api', 'terraform/ecr/api']);
    expect(svc.wave).toBe(1);
    expect(byAddr['nixpack/api'].component).toBeNull();
  });

  it('resolves another target with its own context and stacks', () => {
    const r = cli('describe', 'payment-service', '--target', 'prod', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.stacks).toContain('stacks/orgs/acme/prod.yaml');
    const svc = d.components.find((c: { address: string }) => c.address === 'terraform/ecs/service-api');
    expect(svc.vars.replicas).toBe(4);
    expect(svc.vars.cpu).toBe(2048);
  });

  it('shows provenance in the table view', () => {
    const r = cli('describe', 'payment-service', '--target', 'dev', '--provenance');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/replicas: 1 +# deployments\/payment-service\.yaml:\d+:\d+/);
    expect(r.stdout).toMatch(/# stacks\/[^:]+\.yaml:\d+:\d+/);
  });

  it('prints the graph in every format', () => {
    const ascii = cli('graph', 'payment-service', '--target', 'dev');
    expect(ascii.code).toBe(0);
    expect(ascii.stdout).toContain('wave 0');
    expect(ascii.stdout).toMatch(/terraform\/ecs\/service-api +← nixpack\/api, terraform\/ecr\/api/);
    const dot = cli('graph', 'payment-service', '--target', 'dev', '--format', 'dot');
    expect(dot.stdout).toMatch(/^digraph /);
    expect(dot.stdout).toContain('"terraform/ecr/api" -> "terraform/ecs/service-api"');
    const mermaid = cli('graph', 'payment-service', '--target', 'dev', '--format', 'mermaid');
    expect(mermaid.stdout).toMatch(/^graph LR/);
    const json = JSON.parse(cli('graph', 'payment-service', '--target', 'dev', '--format', 'json').stdout);
    expect(json.waves).toEqual([['nixpack/api', 'terraform/ecr/api'], ['terraform/ecs/service-api']]);
  });

  it('prints a CI matrix, and one per wave', () => {
    const m = JSON.parse(cli('matrix', 'payment-service', '--target', 'dev').stdout);
    expect(m.include).toContainEqual({ component: 'terraform/ecs/service-api', wave: 1, depends_on: ['nixpack/api', 'terraform/ecr/api'] });
    const w = JSON.parse(cli('matrix', 'payment-service', '--target', 'dev', '--waves').stdout);
    expect(w.waves.map((x: { include: unknown[] }) => x.include.length)).toEqual([2, 1]);
  });

  it('prints the promotion graph', () => {
    const r = cli('promotion-graph', 'payment-service');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dev → staging → prod [approval]');
    const j = JSON.parse(cli('promotion-graph', 'payment-service', '--format', 'json').stdout);
    expect(j.targets.find((t: { name: string }) => t.name === 'dev').entry_point).toBe(true);
  });

  it('lists deployments, filtered by label', () => {
    const all = JSON.parse(cli('list', '--format', 'json').stdout);
    expect(all.deployments.map((d: { name: string }) => d.name)).toEqual(['payment-service', 'payment-webhooks', 'platform-network']);
    const some = JSON.parse(cli('list', '--label', 'team=payments', '--format', 'json').stdout);
    expect(some.deployments.map((d: { name: string }) => d.name)).toEqual(['payment-service']);
    expect(cli('list').stdout).toMatch(/DEPLOYMENT +TARGETS/);
  });

  it('accepts global options before or after the command, and --format yaml', () => {
    const r = runCli(['describe', '--chdir', repo, 'payment-service', '-t', 'staging', '--format', 'yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^deployment: payment-service\ntarget: staging\n/);
  });

  it('has --help with examples on every command, and --version', () => {
    for (const c of ['list', 'describe', 'validate', 'graph', 'matrix', 'promotion-graph']) {
      const r = runCli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain('Examples');
    }
    expect(runCli(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
