import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRelease, releaseId, type ReleaseRecord } from '../../src/release/index.js';
import { GitRepo, deploymentRef, formatDeploymentRecord, historyTagName, type DeploymentRecord } from '../../src/tracking/index.js';
import { GIT_ENV, git } from '../tracking/gitfixture.js';
import { baseRepo, makeRepo, runCli } from '../helpers.js';

const ENV = GIT_ENV as Record<string, string>;

function rec(sha: string, over: Partial<DeploymentRecord>): DeploymentRecord {
  return {
    deployment: 'shop',
    target: 'dev',
    component: 'app',
    release: null,
    git_sha: sha,
    images: {},
    deployed_by: 'alice',
    timestamp: '2026-11-22T06:15:00.123Z',
    status: 'success',
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
    ...over,
  };
}

async function deploy(repo: GitRepo, r: DeploymentRecord): Promise<void> {
  await repo.createAnnotatedTag(historyTagName(r.deployment, r.target, r.component, r.timestamp), r.git_sha, formatDeploymentRecord(r));
  if (r.status !== 'failed') await repo.casUpdate(deploymentRef(r.deployment, r.target, r.component), () => r.git_sha);
}

/** A git repo holding the base atmos-pipe repository, with one commit. */
function gitRepo(): { dir: string; sha: string } {
  const dir = makeRepo(baseRepo());
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return { dir, sha: git(dir, 'rev-parse', 'HEAD') };
}

const cli = (dir: string, ...args: string[]) => runCli(['--chdir', dir, ...args], { env: ENV });

describe('status / history / releases', () => {
  let dir = '';
  let sha = '';
  let sha2 = '';
  let rid = '';
  beforeAll(async () => {
    ({ dir, sha } = gitRepo());
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'second');
    sha2 = git(dir, 'rev-parse', 'HEAD');
    const repo = new GitRepo(dir, { env: GIT_ENV });
    const release: ReleaseRecord = {
      deployment: 'shop',
      target: 'dev',
      git_sha: sha,
      git_branch: 'main',
      images: { api: { ref: 'reg/api:1', digest: `sha256:${'1'.repeat(64)}` } },
      sboms: {},
      vendored: {},
      tools: { 'atmos-pipe': '0.1.0' },
      annotations: {},
      created_at: '2026-11-22T06:00:00.000Z',
      created_by: 'alice',
    };
    rid = (await createRelease(repo, release, { releasesPath: path.join(dir, 'releases'), repoRoot: dir })).id;
    await createRelease(repo, { ...release, target: 'prod', git_sha: sha2, created_at: '2026-11-23T06:00:00.000Z' }, { releasesPath: path.join(dir, 'releases'), repoRoot: dir });
    await deploy(repo, rec(sha, { component: 'db', timestamp: '2026-11-22T06:10:00.000Z', release: rid }));
    await deploy(repo, rec(sha, { component: 'app', timestamp: '2026-11-22T06:15:00.123Z', release: rid }));
    await deploy(repo, rec(sha2, { component: 'app', timestamp: '2026-11-23T08:00:00.000Z', status: 'failed', deployed_by: 'bob' }));
    await deploy(repo, rec(sha, { target: 'prod', component: 'db', timestamp: '2026-11-24T00:00:00.000Z', promoted_from: 'dev', approved_by: ['carol'] }));
  });

  it('status json joins refs with the newest history tag', () => {
    const r = cli(dir, 'status', 'shop', '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        deployment: 'shop',
        target: 'dev',
        component: 'app',
        commit: sha,
        release: null,
        status: 'failed',
        deployed_by: 'bob',
        timestamp: '2026-11-23T08:00:00.000Z',
        tag: 'atmos/deployments/shop/dev/app/20261123T080000.000Z',
      },
      {
        deployment: 'shop',
        target: 'dev',
        component: 'db',
        commit: sha,
        release: rid,
        status: 'success',
        deployed_by: 'alice',
        timestamp: '2026-11-22T06:10:00.000Z',
        tag: 'atmos/deployments/shop/dev/db/20261122T061000.000Z',
      },
      {
        deployment: 'shop',
        target: 'prod',
        component: 'db',
        commit: sha,
        release: null,
        status: 'success',
        deployed_by: 'alice',
        timestamp: '2026-11-24T00:00:00.000Z',
        tag: 'atmos/deployments/shop/prod/db/20261124T000000.000Z',
      },
    ]);
    const p = cli(dir, 'status', '--target', 'prod', '--format', 'yaml');
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('component: db');
    expect(p.stdout).not.toContain('component: app');
  });

  it('status table shows commit, release, status and age', () => {
    const r = cli(dir, 'status', 'shop', '--target', 'dev');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s{2,}/)).toEqual(['TARGET', 'COMPONENT', 'COMMIT', 'RELEASE', 'STATUS', 'DEPLOYED BY', 'AGE']);
    expect(lines[1].split(/\s{2,}/).slice(0, 6)).toEqual(['dev', 'app', sha.slice(0, 12), '-', 'failed', 'bob']);
    expect(lines[2].split(/\s{2,}/).slice(0, 6)).toEqual(['dev', 'db', sha.slice(0, 12), rid, 'success', 'alice']);
    expect(lines[2]).toMatch(/ \d+[smhd]$/);
  });

  it('history is newest first and filters', () => {
    const all = cli(dir, 'history', 'shop', '--format', 'json');
    expect(all.code).toBe(0);
    const h = JSON.parse(all.stdout) as Record<string, unknown>[];
    expect(h.map((x) => x.timestamp)).toEqual(['2026-11-24T00:00:00.000Z', '2026-11-23T08:00:00.000Z', '2026-11-22T06:15:00.123Z', '2026-11-22T06:10:00.000Z']);
    expect(Object.keys(h[0])).toEqual([
      'tag',
      'deployment',
      'target',
      'component',
      'release',
      'git_sha',
      'images',
      'deployed_by',
      'timestamp',
      'status',
      'promoted_from',
      'approved_by',
      'rollback_of',
      'annotations',
    ]);
    expect(h[0]).toMatchObject({ target: 'prod', promoted_from: 'dev', approved_by: ['carol'], git_sha: sha });
    const ts = (...a: string[]) => (JSON.parse(cli(dir, 'history', 'shop', '--format', 'json', ...a).stdout) as { timestamp: string }[]).map((x) => x.timestamp);
    expect(ts('--limit', '2')).toEqual(['2026-11-24T00:00:00.000Z', '2026-11-23T08:00:00.000Z']);
    expect(ts('--target', 'dev', '--component', 'app')).toEqual(['2026-11-23T08:00:00.000Z', '2026-11-22T06:15:00.123Z']);
    expect(ts('--since', '2026-11-22T06:15:00.123Z', '--until', '2026-11-23T23:59:59Z')).toEqual(['2026-11-23T08:00:00.000Z', '2026-11-22T06:15:00.123Z']);
    expect(ts('--component', 'nothing')).toEqual([]);
    const t = cli(dir, 'history', 'shop', '--target', 'prod');
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('from dev; approved by carol');
    const bad = cli(dir, 'history', 'shop', '--since', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since "yesterday" is not an ISO-8601');
  });

  it('releases lists release tags, newest first', () => {
    const r = cli(dir, 'releases', 'shop', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(rows.map((x) => [x.target, x.git_sha])).toEqual([
      ['prod', sha2],
      ['dev', sha],
    ]);
    expect(rows[1]).toEqual({
      id: rid,
      tag: `atmos/releases/shop/${rid}`,
      deployment: 'shop',
      target: 'dev',
      git_sha: sha,
      git_branch: 'main',
      images: { api: { ref: 'reg/api:1', digest: `sha256:${'1'.repeat(64)}` } },
      sboms: {},
      vendored: {},
      tools: { 'atmos-pipe': '0.1.0' },
      annotations: {},
      created_at: '2026-11-22T06:00:00.000Z',
      created_by: 'alice',
    });
    expect(rid).toBe(releaseId(rows[1] as unknown as ReleaseRecord));
    const dev = cli(dir, 'releases', 'shop', '--target', 'dev');
    expect(dev.code).toBe(0);
    expect(dev.stdout).toContain(rid);
    expect(dev.stdout.trimEnd().split('\n').length).toBe(2);
    expect(existsSync(path.join(dir, 'releases/shop/dev', `release-${rid}.yaml`))).toBe(true);
  });

  it('unknown deployment or target exits 2 with the valid values', () => {
    for (const cmd of ['status', 'history', 'releases']) {
      const d = cli(dir, cmd, 'nope');
      expect(d.code).toBe(2);
      expect(d.stderr).toContain('unknown deployment "nope"');
      expect(d.stderr).toContain('shop');
      const t = cli(dir, cmd, 'shop', '--target', 'qa');
      expect(t.code).toBe(2);
      expect(t.stderr).toContain('valid values: dev, prod');
    }
    const t = cli(dir, 'status', '--target', 'qa');
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('dev, prod');
  });

  it('--help shows examples', () => {
    for (const cmd of ['status', 'history', 'releases']) {
      const r = runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples');
    }
  });
});

describe('constant number of git processes', () => {
  it('status, history and releases each run one git process with 2,000 history tags', () => {
    const { dir, sha } = gitRepo();
    // 2,000 annotated history tags + refs in one fast-import.
    const chunks: string[] = [];
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    for (let i = 0; i < 2000; i++) {
      const component = i % 2 ? 'app' : 'db';
      const r = rec(sha, { component, timestamp: new Date(base + i * 60_000).toISOString() });
      const msg = Buffer.from(formatDeploymentRecord(r));
      chunks.push(`tag ${historyTagName('shop', 'dev', component, r.timestamp)}\nfrom ${sha}\ntagger T <t@example.com> 1700000000 +0000\ndata ${msg.length}\n${msg.toString()}\n`);
    }
    execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: chunks.join(''), env: { ...process.env, ...GIT_ENV } });
    git(dir, 'update-ref', deploymentRef('shop', 'dev', 'app'), sha);
    git(dir, 'update-ref', deploymentRef('shop', 'dev', 'db'), sha);
    expect(git(dir, 'tag', '-l', 'atmos/*').split('\n').length).toBe(2000);

    // A `git` wrapper first on PATH that counts its invocations.
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = path.join(dir, '.bin');
    mkdirSync(bin);
    const counter = path.join(dir, '.git-count');
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$1" >> "$GIT_COUNT_FILE"\nexec "${realGit}" "$@"\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const run = (...args: string[]) => {
      writeFileSync(counter, '');
      const r = runCli(['--chdir', dir, ...args], { env: { ...ENV, PATH: `${bin}:${process.env.PATH}`, GIT_COUNT_FILE: counter } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return { out: r.stdout, calls: readFileSync(counter, 'utf8').trim().split('\n') };
    };
    const st = run('status', 'shop', '--format', 'json');
    expect(st.calls).toEqual(['for-each-ref']);
    const rows = JSON.parse(st.out) as { component: string; timestamp: string }[];
    expect(rows.map((r) => [r.component, r.timestamp])).toEqual([
      ['app', new Date(base + 1999 * 60_000).toISOString()],
      ['db', new Date(base + 1998 * 60_000).toISOString()],
    ]);
    const h = run('history', 'shop', '--limit', '5', '--format', 'json');
    expect(h.calls).toEqual(['for-each-ref']);
    expect((JSON.parse(h.out) as unknown[]).length).toBe(5);
    expect(run('releases', 'shop', '--format', 'json').calls).toEqual(['for-each-ref']);
  });
});
