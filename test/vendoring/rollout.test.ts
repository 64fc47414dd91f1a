/**
 * A real Terraform rollout through the CLI of a deployment whose module exists only through
 * vendoring: pulled just in time, per-target versions, and the vendored content in the step
 * fingerprints (a new version re-runs the apply; an unchanged one is all cache hits).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo, runCli } from '../helpers.js';
import { bareRepo } from './fixture.js';

type Ev = { type: string; id?: string; status?: string; message?: string };
const ndjson = (s: string): Ev[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Ev);
const finished = (evs: Ev[]) => Object.fromEntries(evs.filter((e) => e.type === 'step.finished').map((e) => [e.id, e.status]));

function yaml(url: string, devVersion: string): string {
  return [
    'deployment:',
    '  name: net',
    '  vendor:',
    '    components:',
    '      - component: vpc',
    `        source: "git::${url}//modules/vpc?ref={{ version }}"`,
    `        version: ${devVersion}`,
    '      - component: vpc',
    `        source: git::${url}//modules/vpc`,
    '        version: v1.0.0',
    '        labels: { environment: [prod] }',
    '  components:',
    '    terraform:',
    '      network:',
    '        metadata: { component: vpc }',
    '        vars: { cidr: 10.0.0.0/16 }',
    '  targets:',
    '    dev:',
    '      context: { flow_logs: true }',
    '    prod:',
    '      labels: { environment: prod }',
    '',
  ].join('\n');
}

describe('rollout of a vendored module', () => {
  it('pulls just in time, applies the version of each target, and re-runs only when the vendored content changes', () => {
    const { url } = bareRepo();
    const repo = makeRepo({ 'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n', 'deployments/net.yaml': yaml(url, 'v1.1.0') });
    const state = (t: string) => JSON.parse(readFileSync(path.join(repo, `.atmos/state/net/${t}/network.tfstate`), 'utf8')).outputs;

    const dev = runCli(['--chdir', repo, 'rollout', 'net', '--target', 'dev', '--events', 'ndjson']);
    expect(dev.code, dev.stderr).toBe(0);
    const evs = ndjson(dev.stdout);
    expect(evs.some((e) => e.type === 'notice' && /vendor: vpc pulled v1\.1\.0 sha256:[0-9a-f]{12} from git::/.test(e.message ?? ''))).toBe(true);
    expect(state('dev')).toMatchObject({ version: { value: '1.1.0' }, flow_logs: { value: true }, cidr: { value: '10.0.0.0/16' } });
    expect(existsSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/.vendor-lock.yaml'))).toBe(true);

    const prod = runCli(['--chdir', repo, 'rollout', 'net', '--target', 'prod']);
    expect(prod.code, prod.stderr).toBe(0);
    expect(state('prod').version.value).toBe('1.0.0');
    expect(state('prod').flow_logs).toBeUndefined();
    expect(existsSync(path.join(repo, 'components'))).toBe(false);

    // Unchanged: all cache hits, nothing fetched.
    const again = ndjson(runCli(['--chdir', repo, 'rollout', 'net', '--target', 'dev', '--events', 'ndjson']).stdout);
    expect(Object.values(finished(again)).every((s) => s === 'cached')).toBe(true);
    expect(again.some((e) => e.type === 'notice' && (e.message ?? '').startsWith('vendor:'))).toBe(false);

    // dev moves to v1.0.0: the vendored digest changes, so the apply runs again.
    writeFileSync(path.join(repo, 'deployments/net.yaml'), yaml(url, 'v1.0.0'));
    const plan = runCli(['--chdir', repo, 'plan', 'net', '--target', 'dev']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/terraform\/network\s+\d+\s+\d+\s+\d+/);
    const moved = ndjson(runCli(['--chdir', repo, 'rollout', 'net', '--target', 'dev', '--events', 'ndjson']).stdout);
    expect(finished(moved)['rollout:terraform/network:apply']).toBe('done');
    expect(state('dev').version.value).toBe('1.0.0');
  });
});

describe('releases pin vendored modules', () => {
  it('the release record carries the digest of every module vendored for its target', () => {
    const { url } = bareRepo();
    const repo = makeRepo({ 'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n', 'deployments/net.yaml': yaml(url, 'v1.1.0') });
    const env = { GIT_AUTHOR_NAME: 'D', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'D', GIT_COMMITTER_EMAIL: 'd@example.com', ATMOS_PIPE_USER: 'd' };
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'net');
    const r = runCli(['--chdir', repo, 'rollout', 'net', '--target', 'dev'], { env });
    expect(r.code, r.stderr).toBe(0);
    const lock = readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/.vendor-lock.yaml'), 'utf8');
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(lock)![1];
    const releases = JSON.parse(runCli(['--chdir', repo, 'releases', 'net', '--format', 'json'], { env }).stdout);
    expect(releases[0].vendored).toEqual({ vpc: digest });
    // The same commit released for prod pins another version: another content, another id.
    const p = JSON.parse(runCli(['--chdir', repo, 'release', 'net', '--target', 'prod', '--format', 'json'], { env }).stdout);
    expect(p.record.vendored.vpc).toMatch(/^sha256:/);
    expect(p.record.vendored.vpc).not.toBe(digest);
    expect(p.id).not.toBe(releases[0].id);
  });
});
