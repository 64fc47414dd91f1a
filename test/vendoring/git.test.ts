/**
 * Vendoring from a real bare Git repository with tags, through the CLI: per-target versions
 * by labels, the lock file, `describe` reading the vendored module, a second pull that
 * touches no source, --update, and status states.
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeployment, openRepository, resolve } from '../../src/index.js';
import { loadPlain } from '../../src/yaml/plain.js';
import { makeRepo, runCli } from '../helpers.js';
import { VPC_V1, VPC_V11, bareRepo, git } from './fixture.js';

function netRepo(url: string, opts: { devVersion?: string } = {}) {
  return makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'deployments/net.yaml': netYaml(url, opts.devVersion ?? 'v1.1.0'),
  });
}

function netYaml(url: string, devVersion: string): string {
  return [
    'deployment:',
    '  name: net',
    '  vendor:',
    '    components:',
    '      - component: vpc',
    `        source: git::${url}//modules/vpc`,
    `        version: ${devVersion}`,
    '      - component: vpc',
    `        source: "git::${url}//modules/vpc?ref={{ .Version }}"`,
    '        version: v1.0.0',
    '        labels: { environment: [prod] }',
    '  components:',
    '    terraform:',
    '      vpc:',
    '        vars: { cidr: 10.0.0.0/16 }',
    '  targets:',
    '    dev:',
    '      labels: { environment: dev }',
    '      context: { flow_logs: true }',
    '    prod:',
    '      labels: { environment: prod }',
    '      context: { flow_logs: true }',
    '',
  ].join('\n');
}

const lockOf = (repo: string, t: string) =>
  loadPlain(readFileSync(path.join(repo, `.atmos/cache/vendor/deployments/net/${t}/.vendor-lock.yaml`), 'utf8')) as {
    deployment: string;
    target: string;
    components: Record<string, { source: string; version: string; digest: string; pulled_at: string; commit: string; origin: string }>;
  };

describe('vendoring from Git', () => {
  it('pins versions per target by labels; describe uses the vendored module; the lock records source, version, digest, pulled_at', async () => {
    const { url, commits } = bareRepo();
    const repo = netRepo(url);

    // Nothing pulled yet: resolve is a pure read and says what to run.
    const before = runCli(['describe', 'net', '--target', 'dev', '-C', repo]);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(
      /deployments\/net\.yaml:14:7: error: terraform component "vpc": module "vpc" is vendored for target dev from git::file:\/\/.*\?ref=v1\.1\.0 \(inline \(deployments\/net\.yaml:5:9\)\) but has not been pulled yet/,
    );
    expect(before.stderr).toContain('hint: atmos-pipe vendor pull --deployment net --target dev');
    expect(existsSync(path.join(repo, '.atmos/cache/vendor'))).toBe(false);

    const pull = runCli(['vendor', 'pull', '--deployment', 'net', '-C', repo]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toMatch(/dev\s+vpc\s+v1\.1\.0\s+[0-9a-f]{12}\s+pulled/);
    expect(pull.stdout).toMatch(/prod\s+vpc\s+v1\.0\.0\s+[0-9a-f]{12}\s+pulled/);
    expect(pull.stdout).toContain('2 pulled');

    const dev = lockOf(repo, 'dev');
    const prod = lockOf(repo, 'prod');
    expect(dev).toMatchObject({ deployment: 'net', target: 'dev' });
    expect(dev.components.vpc).toMatchObject({ source: `git::${url}//modules/vpc?ref=v1.1.0`, version: 'v1.1.0', commit: commits['v1.1.0'] });
    expect(prod.components.vpc).toMatchObject({ source: `git::${url}//modules/vpc?ref=v1.0.0`, version: 'v1.0.0', commit: commits['v1.0.0'] });
    expect(dev.components.vpc.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dev.components.vpc.digest).not.toBe(prod.components.vpc.digest);
    expect(new Date(dev.components.vpc.pulled_at).toISOString()).toBe(dev.components.vpc.pulled_at);
    expect(dev.components.vpc.origin).toBe('inline (deployments/net.yaml:5:9)');
    expect(prod.components.vpc.origin).toBe('inline (deployments/net.yaml:8:9)');

    // Linked into the deployment's target directory: hard links to the immutable object.
    const store = path.join(repo, '.atmos/cache/vendor');
    const devDir = path.join(store, 'deployments/net/dev/vpc');
    expect(readFileSync(path.join(devDir, 'main.tf'), 'utf8')).toBe(VPC_V11);
    expect(readFileSync(path.join(store, 'deployments/net/prod/vpc/main.tf'), 'utf8')).toBe(VPC_V1);
    expect(readdirSync(devDir).sort()).toEqual(['README.md', 'main.tf']);
    const obj = path.join(store, 'objects/sha256', dev.components.vpc.digest.slice(7));
    expect(statSync(path.join(obj, 'main.tf')).ino).toBe(statSync(path.join(devDir, 'main.tf')).ino);
    expect(statSync(path.join(obj, 'main.tf')).mode & 0o222).toBe(0);
    // Nothing is ever written into components/.
    expect(existsSync(path.join(repo, 'components'))).toBe(false);

    // describe reads the vendored module: only v1.1.0 declares flow_logs.
    const dDev = runCli(['describe', 'net', '--target', 'dev', '--format', 'json', '-C', repo]);
    expect(dDev.code, dDev.stderr).toBe(0);
    const devVpc = JSON.parse(dDev.stdout).components[0];
    expect(devVpc).toMatchObject({ address: 'terraform/vpc', component: 'vpc', vars: { cidr: '10.0.0.0/16', flow_logs: true } });
    const dProd = runCli(['describe', 'net', '--target', 'prod', '--format', 'json', '-C', repo]);
    expect(dProd.code, dProd.stderr).toBe(0);
    expect(JSON.parse(dProd.stdout).components[0].vars).toEqual({ cidr: '10.0.0.0/16' });

    // The library exposes where the module came from.
    const r = openRepository({ cwd: repo });
    const resolved = await resolve(r, loadDeployment(r, 'net'), 'dev');
    expect(resolved.components[0].moduleDir).toBe(devDir);
    expect(resolved.components[0].vendored).toEqual({ digest: dev.components.vpc.digest, source: `git::${url}//modules/vpc?ref=v1.1.0`, version: 'v1.1.0' });

    const status = runCli(['vendor', 'status', '--format', 'json', '-C', repo]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).map((s: { target: string; state: string; version: string }) => [s.target, s.version, s.state])).toEqual([
      ['dev', 'v1.1.0', 'ok'],
      ['prod', 'v1.0.0', 'ok'],
    ]);
  });

  it('a second pull is a cache hit: the bare repository and the mirror are gone and it still succeeds; --update then fails naming what', () => {
    const { bare, url } = bareRepo();
    const repo = netRepo(url);
    expect(runCli(['vendor', 'pull', '--deployment', 'net', '-C', repo]).code).toBe(0);
    const lock = readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/.vendor-lock.yaml'), 'utf8');
    renameSync(bare, `${bare}.moved`);
    rmSync(path.join(repo, '.atmos/cache/vendor/git'), { recursive: true, force: true });
    // Links removed too: relinked from the store, still without any source.
    rmSync(path.join(repo, '.atmos/cache/vendor/deployments/net/prod/vpc'), { recursive: true, force: true });

    const again = runCli(['vendor', 'pull', '--deployment', 'net', '--format', 'json', '-C', repo]);
    expect(again.code, again.stderr).toBe(0);
    const rows = JSON.parse(again.stdout).flatMap((r: { components: { target: string; status: string }[] }) => r.components.map((c) => [c.target, c.status]));
    expect(rows).toEqual([
      ['dev', 'cached'],
      ['prod', 'relinked'],
    ]);
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/.vendor-lock.yaml'), 'utf8')).toBe(lock);
    expect(existsSync(path.join(repo, '.atmos/cache/vendor/git'))).toBe(false);
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/prod/vpc/main.tf'), 'utf8')).toBe(VPC_V1);

    const update = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '--update', '-C', repo]);
    expect(update.code).toBe(1);
    expect(update.stderr).toMatch(/deployments\/net\.yaml:6:17: error: vendoring module "vpc" for target dev from git::file:\/\/.*: git clone .* failed/);
    expect(update.stderr).toContain('hint: check the URL and your access to it');
    // The failed update kept what was pulled.
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/.vendor-lock.yaml'), 'utf8')).toBe(lock);
  });

  it('a changed version makes the lock stale: status says so, describe refuses, pull updates it; --update follows a moved branch', () => {
    const { bare, url } = bareRepo();
    const repo = netRepo(url);
    expect(runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]).code).toBe(0);
    writeFileSync(path.join(repo, 'deployments/net.yaml'), netYaml(url, 'v1.0.0'));

    const status = runCli(['vendor', 'status', '--deployment', 'net', '-C', repo]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/net\s+dev\s+vpc\s+v1\.0\.0\s+[0-9a-f]{12}\s+\S+\s+stale \(locked git::.*\?ref=v1\.1\.0\)/);
    expect(status.stdout).toMatch(/net\s+prod\s+vpc\s+v1\.0\.0\s+-\s+-\s+missing/);

    const d = runCli(['describe', 'net', '--target', 'dev', '-C', repo]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/the vendor lock \(.*\?ref=v1\.1\.0, version v1\.1\.0\) differs from the configuration/);

    const pull = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toMatch(/dev\s+vpc\s+v1\.0\.0\s+[0-9a-f]{12}\s+updated/);
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/vpc/main.tf'), 'utf8')).toBe(VPC_V1);

    // A branch: the lock pins the commit until --update.
    writeFileSync(path.join(repo, 'deployments/net.yaml'), netYaml(url, 'main'));
    expect(runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]).code).toBe(0);
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/vpc/main.tf'), 'utf8')).toBe(VPC_V11);
    const work = path.join(path.dirname(bare), 'work');
    writeFileSync(path.join(work, 'modules/vpc/main.tf'), `${VPC_V11}output "extra" { value = 1 }\n`);
    git(work, 'commit', '-q', '-am', 'main moves');
    git(work, 'push', '-q', bare, 'main');
    const cached = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]);
    expect(cached.stdout).toMatch(/dev\s+vpc\s+main\s+[0-9a-f]{12}\s+cached/);
    const updated = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '--update', '-C', repo]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/dev\s+vpc\s+main\s+[0-9a-f]{12}\s+updated/);
    expect(readFileSync(path.join(repo, '.atmos/cache/vendor/deployments/net/dev/vpc/main.tf'), 'utf8')).toContain('output "extra"');
    expect(lockOf(repo, 'dev').components.vpc.commit).toBe(git(bare, 'rev-parse', 'main'));
  });

  it('config errors are located at the vendor entry (exit 2); an unknown ref names the tags (exit 1)', () => {
    const { url } = bareRepo();
    const repo = netRepo(url);
    writeFileSync(path.join(repo, 'deployments/net.yaml'), netYaml(url, 'v1.1.0').replace(`source: git::${url}//modules/vpc`, 'source: s3::https://bucket/vpc.tar.gz'));
    const bad = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/deployments\/net\.yaml:6:17: error: vendor source for module "vpc": "s3::https:\/\/bucket\/vpc\.tar\.gz": the s3:: getter is not supported/);
    expect(existsSync(path.join(repo, '.atmos/cache/vendor'))).toBe(false);

    writeFileSync(path.join(repo, 'deployments/net.yaml'), netYaml(url, 'v9.9.9'));
    const ref = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'dev', '-C', repo]);
    expect(ref.code).toBe(1);
    expect(ref.stderr).toMatch(/ref "v9\.9\.9" not found/);
    expect(ref.stderr).toMatch(/hint: tags: v1\.1\.0, v1\.0\.0|hint: tags: v1\.0\.0, v1\.1\.0/);

    const target = runCli(['vendor', 'pull', '--deployment', 'net', '--target', 'qa', '-C', repo]);
    expect(target.code).toBe(2);
    expect(target.stderr).toContain('valid values: dev, prod');
  });
});
