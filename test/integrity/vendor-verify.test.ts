/**
 * Issue 11, item 3 (the vendor store): a vendored module is verified against the lock's
 * digest before every use. A file edited inside the store (objects/…, hard-linked into
 * deployments/<d>/<t>/) is detected, the object evicted and pulled again (one notice), so the
 * locked content is what Terraform applies and what the release records; without a reachable
 * source the run stops (exit 1) naming the module and the files. `vendor status` reports
 * modified, missing and extra files and exits 1. Through the real CLI, real Git (a bare
 * repository with tags) and real terraform.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { vendoredDigests } from '../../src/vendoring/index.js';
import { makeRepo, runCli } from '../helpers.js';
import { bareRepo } from '../vendoring/fixture.js';

const ENV = { GIT_AUTHOR_NAME: 'D', GIT_AUTHOR_EMAIL: 'd@example.com', GIT_COMMITTER_NAME: 'D', GIT_COMMITTER_EMAIL: 'd@example.com', ATMOS_PIPE_USER: 'd' };

/** A committed repository whose only module, vpc v1.1.0, comes from the bare Git repository. */
function netRepo(url: string): string {
  const repo = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'deployments/net.yaml': [
      'deployment:',
      '  name: net',
      '  vendor:',
      '    components:',
      '      - component: vpc',
      `        source: "git::${url}//modules/vpc?ref={{ version }}"`,
      '        version: v1.1.0',
      '  components:',
      '    terraform:',
      '      vpc:',
      '        vars: { cidr: 10.0.0.0/16 }',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-qm', 'net'],
  ])
    execFileSync('git', args, { cwd: repo, env: { ...process.env, ...ENV } });
  return repo;
}

const cli = (repo: string, args: string[]) => runCli(['--chdir', repo, ...args], { env: ENV });
const store = (repo: string) => path.join(repo, '.atmos/cache/vendor');
const linked = (repo: string) => path.join(store(repo), 'deployments/net/dev/vpc');
const lockedDigest = (repo: string) => /digest: (sha256:[0-9a-f]{64})/.exec(readFileSync(path.join(store(repo), 'deployments/net/dev/.vendor-lock.yaml'), 'utf8'))![1];
const objectOf = (repo: string) => path.join(store(repo), 'objects/sha256', lockedDigest(repo).slice(7));
const outputs = (repo: string) => JSON.parse(readFileSync(path.join(repo, '.atmos/state/net/dev/vpc.tfstate'), 'utf8')).outputs as Record<string, { value: unknown }>;
const notices = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; message?: string })
    .filter((e) => e.type === 'notice' && e.message?.startsWith('vendor:'))
    .map((e) => e.message!);

/**
 * Edit main.tf inside the store object in place (the hard-linked copy the steps read changes
 * with it), and add a file to the linked copy.
 */
function tamperStore(repo: string): void {
  const file = path.join(objectOf(repo), 'main.tf');
  writeFileSync(file, readFileSync(file, 'utf8').replace('value = "1.1.0"', 'value = "6.6.6-tampered"'));
  writeFileSync(path.join(linked(repo), 'backdoor.tf'), 'output "x" { value = 1 }\n');
  expect(readFileSync(path.join(linked(repo), 'main.tf'), 'utf8')).toContain('6.6.6-tampered');
}

describe('the vendor store is verified against the lock before every use', () => {
  it('a file edited in the store: status reports it (exit 1); the rollout evicts and pulls it again with one notice, applies the locked content, and the release records its digest', {
    timeout: 120_000,
  }, () => {
    const { url } = bareRepo();
    const repo = netRepo(url);
    const pull = cli(repo, ['vendor', 'pull', '--deployment', 'net']);
    expect(pull.code, pull.stderr).toBe(0);
    const digest = lockedDigest(repo);
    expect(cli(repo, ['vendor', 'status', '--deployment', 'net']).code).toBe(0);

    tamperStore(repo);
    const status = cli(repo, ['vendor', 'status', '--deployment', 'net']);
    expect(status.code, status.stdout).toBe(1);
    expect(status.stdout).toMatch(/dev\s+vpc\s+v1\.1\.0\s+[0-9a-f]{12}\s+\S+\s+modified \(main\.tf modified, backdoor\.tf extra: modified in the store/);
    expect(status.stdout).toContain('net/dev vpc:\n  modified: main.tf\n  extra:    backdoor.tf\n');
    const json = JSON.parse(cli(repo, ['vendor', 'status', '--deployment', 'net', '--format', 'json']).stdout);
    expect(json[0]).toMatchObject({ component: 'vpc', state: 'modified', digest, files: { modified: ['main.tf'], missing: [], extra: ['backdoor.tf'] } });

    const run = cli(repo, ['rollout', 'net', '--target', 'dev', '--events', 'ndjson']);
    expect(run.code, run.stderr).toBe(0);
    expect(notices(run.stdout)).toEqual([`vendor: vpc: the store copy of ${digest.slice(0, 19)} was modified (main.tf modified); evicted, pulling it again from git::${url}//modules/vpc?ref=v1.1.0`]);
    expect(outputs(repo).version.value).toBe('1.1.0');
    expect(outputs(repo).x).toBeUndefined();
    expect(readFileSync(path.join(linked(repo), 'main.tf'), 'utf8')).not.toContain('tampered');
    expect(existsSync(path.join(linked(repo), 'backdoor.tf'))).toBe(false);
    expect(lockedDigest(repo)).toBe(digest);
    const releases = JSON.parse(cli(repo, ['releases', 'net', '--format', 'json']).stdout);
    expect(releases[0].vendored).toEqual({ vpc: digest });
    const after = cli(repo, ['vendor', 'status', '--deployment', 'net']);
    expect(after.code, after.stdout).toBe(0);
    expect(after.stdout).toMatch(/\bok\b/);
  });

  it('a linked copy replaced by an editor (the store object intact) is relinked before the plan; a release records what is linked, never the locked digest of other content', {
    timeout: 120_000,
  }, () => {
    const { url } = bareRepo();
    const repo = netRepo(url);
    expect(cli(repo, ['vendor', 'pull', '--deployment', 'net']).code).toBe(0);
    const digest = lockedDigest(repo);
    // A new file renamed over the link (a new inode): only the linked copy differs.
    const file = path.join(linked(repo), 'main.tf');
    const text = readFileSync(file, 'utf8');
    writeFileSync(`${file}.new`, text.replace('value = "1.1.0"', 'value = "edited"'));
    renameSync(`${file}.new`, file);
    rmSync(path.join(linked(repo), 'README.md'));
    expect(statSync(file).ino).not.toBe(statSync(path.join(objectOf(repo), 'main.tf')).ino);

    const status = cli(repo, ['vendor', 'status', '--deployment', 'net']);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('modified (main.tf modified, README.md missing: its linked copy differs from the intact store object; the next run relinks it)');
    // What a release made now would record: the digest of the content that would be applied.
    const now = vendoredDigests(path.join(repo, '.atmos'), 'net', 'dev');
    expect(now.vpc).toMatch(/^sha256:/);
    expect(now.vpc).not.toBe(digest);

    const plan = cli(repo, ['plan', 'net', '--target', 'dev', '--events', 'ndjson']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(notices(plan.stdout)).toEqual([`vendor: vpc: its linked copy was modified (main.tf modified, README.md missing); relinked from the store (${digest.slice(0, 19)})`]);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(vendoredDigests(path.join(repo, '.atmos'), 'net', 'dev')).toEqual({ vpc: digest });
  });

  it('a modified store copy whose source cannot be reached: exit 1 naming the module and the files; nothing applied', { timeout: 120_000 }, () => {
    const { url, bare } = bareRepo();
    const repo = netRepo(url);
    expect(cli(repo, ['rollout', 'net', '--target', 'dev']).code).toBe(0);
    const state = readFileSync(path.join(repo, '.atmos/state/net/dev/vpc.tfstate'));
    tamperStore(repo);
    // Neither the source nor the store's Git mirror of it is left.
    rmSync(bare, { recursive: true, force: true });
    rmSync(path.join(store(repo), 'git'), { recursive: true, force: true });

    const run = cli(repo, ['rollout', 'net', '--target', 'dev']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `vendored module "vpc" for target dev was modified in the store (main.tf modified), and it cannot be pulled again from git::${url}//modules/vpc?ref=v1.1.0: git clone ${url} failed`,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(path.join(repo, '.atmos/state/net/dev/vpc.tfstate')).equals(state)).toBe(true);
    // The modified copy is gone from the store and the links: nothing of it can be applied later.
    expect(readdirSync(path.join(store(repo), 'objects/sha256'))).toEqual([]);
    expect(existsSync(linked(repo))).toBe(false);
  });
});
