import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRelease, formatRelease, listReleases, parseRelease, releaseId, type ReleaseRecord } from '../../src/release/index.js';
import {
  GitRepo,
  countingRunner,
  filterHistory,
  formatAge,
  formatDeploymentRecord,
  historyFromRefs,
  statusFromRefs,
  historyTagName,
  deploymentRef,
  type DeploymentRecord,
} from '../../src/tracking/index.js';
import { GIT_ENV, commit, git, initRepo } from '../tracking/gitfixture.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function record(sha: string, over: Partial<ReleaseRecord> = {}): ReleaseRecord {
  return {
    deployment: 'shop',
    target: 'dev',
    git_sha: sha,
    git_branch: 'main',
    images: { api: { ref: 'registry.example.com/api:1', digest: D1 }, worker: { ref: 'registry.example.com/worker:1', digest: D2 } },
    sboms: { api: `sha256:${'a'.repeat(64)}` },
    vendored: { vpc: `sha256:${'b'.repeat(64)}` },
    tools: { 'atmos-pipe': '0.1.0', terraform: '1.9.0' },
    annotations: { ticket: 'OPS-1' },
    created_at: '2026-11-22T06:15:00.123Z',
    created_by: 'alice',
    ...over,
  };
}

describe('releaseId', () => {
  const sha = 'c'.repeat(40);
  it('is r- + 12 hex and depends only on artifacts + commit', () => {
    const id = releaseId(record(sha));
    expect(id).toMatch(/^r-[0-9a-f]{12}$/);
    expect(releaseId(record(sha, { created_at: '2027-01-01T00:00:00.000Z', created_by: 'bob', target: 'prod', git_branch: 'x', tools: {}, annotations: { a: 'b' } }))).toBe(id);
    // key order does not matter
    const r = record(sha);
    expect(releaseId({ ...r, images: { worker: r.images.worker, api: r.images.api } })).toBe(id);
  });
  it('changes with any digest or the commit', () => {
    const id = releaseId(record(sha));
    expect(releaseId(record(sha, { images: { api: { ref: 'registry.example.com/api:1', digest: D2 }, worker: record(sha).images.worker } }))).not.toBe(id);
    // SBOMs are derived from the artifacts (and name their target): they do not change the id.
    expect(releaseId(record(sha, { sboms: { api: D2 } }))).toBe(id);
    expect(releaseId(record(sha, { vendored: {} }))).not.toBe(id);
    expect(releaseId(record('d'.repeat(40)))).not.toBe(id);
  });
});

describe('formatRelease / parseRelease', () => {
  it('round-trips with a fixed key order', () => {
    const r = record('c'.repeat(40));
    const text = formatRelease(r);
    expect(text.startsWith('atmos.tools/v1alpha1\nkind: Release\n---\ndeployment: shop\ntarget: dev\ngit_sha: ')).toBe(true);
    const keys = text
      .split('\n')
      .filter((l) => /^[a-z_]+:/.test(l))
      .map((l) => l.split(':')[0]);
    expect(keys).toEqual(['kind', 'deployment', 'target', 'git_sha', 'git_branch', 'images', 'sboms', 'vendored', 'tools', 'annotations', 'created_at', 'created_by']);
    expect(parseRelease(text)).toEqual(r);
    expect(parseRelease(text.split('---\n')[1])).toEqual(r);
    expect(formatRelease(record('c'.repeat(40), { git_branch: null }))).toContain('git_branch: null');
  });
  it('rejects bad records', () => {
    expect(() => parseRelease('atmos.tools/v1alpha1\nkind: Deployment\n---\n')).toThrow(/not a release/);
    expect(() => parseRelease('deployment: shop\n')).toThrow(/target/);
    expect(() => parseRelease(formatRelease(record('c'.repeat(40))).replace(/digest: .*/, 'digest: 3'))).toThrow(/images.api/);
  });
});

describe('createRelease / listReleases', () => {
  it('tags the commit, exports the file and is idempotent', async () => {
    const dir = initRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    const repo = new GitRepo(dir, { env: GIT_ENV });
    const releasesPath = path.join(dir, 'releases');
    const r = record(sha);
    const a = await createRelease(repo, r, { releasesPath, repoRoot: dir });
    const id = releaseId(r);
    expect(a).toMatchObject({ id, tag: `atmos/releases/shop/${id}`, created: true, relativeFile: `releases/shop/dev/release-${id}.yaml` });
    expect(git(dir, 'rev-parse', `${a.tag}^{commit}`)).toBe(sha);
    expect(git(dir, 'cat-file', '-t', a.tag)).toBe('tag');
    const msg = git(dir, 'for-each-ref', '--format=%(contents)', `refs/tags/${a.tag}`);
    expect(`${msg}\n`).toBe(formatRelease(r));
    expect(readFileSync(a.file, 'utf8')).toBe(formatRelease(r));

    // Same artifacts + commit later, by someone else: same id, existing tag reused.
    const b = await createRelease(repo, record(sha, { created_at: '2026-12-01T00:00:00.000Z', created_by: 'bob' }), { releasesPath, repoRoot: dir });
    expect(b).toMatchObject({ id, sha: a.sha, created: false });
    expect(b.record).toEqual(r);

    // A different digest: a new release.
    const sha2 = commit(dir, 'second');
    const c = await createRelease(repo, record(sha2, { created_at: '2026-11-23T00:00:00.000Z', target: 'prod' }), { releasesPath, repoRoot: dir });
    expect(c.created).toBe(true);
    expect(c.id).not.toBe(id);
    expect(c.relativeFile).toBe(`releases/shop/prod/release-${c.id}.yaml`);

    // listReleases: one git process, newest first, with the commit.
    const counter = countingRunner();
    const list = await listReleases(new GitRepo(dir, { env: GIT_ENV, runner: counter }), 'shop');
    expect(counter.calls.length).toBe(1);
    expect(list.map((x) => [x.id, x.commit, x.record.target])).toEqual([
      [c.id, sha2, 'prod'],
      [id, sha, 'dev'],
    ]);
    expect(await listReleases(repo, 'other')).toEqual([]);
  });
});

describe('read model', () => {
  const rec = (over: Partial<DeploymentRecord>): DeploymentRecord => ({
    deployment: 'shop',
    target: 'dev',
    component: 'app',
    release: null,
    git_sha: 'e'.repeat(40),
    images: {},
    deployed_by: 'alice',
    timestamp: '2026-11-22T06:15:00.123Z',
    status: 'success',
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
    ...over,
  });
  const tagRef = (r: DeploymentRecord) => ({
    ref: `refs/tags/${historyTagName(r.deployment, r.target, r.component, r.timestamp)}`,
    sha: 'f'.repeat(40),
    type: 'tag',
    target: r.git_sha,
    targetType: 'commit',
    message: formatDeploymentRecord(r),
  });
  it('joins refs with the newest history tag and filters history', () => {
    const refs = [
      { ref: deploymentRef('shop', 'dev', 'app'), sha: '1'.repeat(40), type: 'commit', target: '1'.repeat(40), targetType: 'commit' },
      tagRef(rec({ timestamp: '2026-11-22T06:15:00.123Z', release: 'r-old' })),
      tagRef(rec({ timestamp: '2026-11-23T06:15:00.123Z', status: 'failed', release: 'r-new' })),
      tagRef(rec({ component: 'db', target: 'prod', timestamp: '2026-11-21T00:00:00.000Z' })),
      { ref: 'refs/tags/atmos/deployments/shop/dev/app/20261101T000000.000Z', sha: '2'.repeat(40), type: 'commit', target: '2'.repeat(40), targetType: 'commit' },
    ];
    const invalid: { tag: string; error: string }[] = [];
    const st = statusFromRefs(refs, 'shop', undefined, invalid);
    // status parses only the newest tag per component: the older broken one is not looked at...
    expect(invalid).toEqual([]);
    // ...while reading the whole history reports it.
    historyFromRefs(refs, 'shop', invalid);
    expect(invalid.map((i) => i.error)).toEqual(['not an annotated tag']);
    expect(st).toEqual([
      {
        deployment: 'shop',
        target: 'dev',
        component: 'app',
        commit: '1'.repeat(40),
        release: 'r-new',
        status: 'failed',
        deployed_by: 'alice',
        timestamp: '2026-11-23T06:15:00.123Z',
        tag: 'atmos/deployments/shop/dev/app/20261123T061500.123Z',
      },
      {
        deployment: 'shop',
        target: 'prod',
        component: 'db',
        commit: null,
        release: null,
        status: 'success',
        deployed_by: 'alice',
        timestamp: '2026-11-21T00:00:00.000Z',
        tag: 'atmos/deployments/shop/prod/db/20261121T000000.000Z',
      },
    ]);
    expect(statusFromRefs(refs, 'shop', 'prod').map((r) => r.component)).toEqual(['db']);
    const h = historyFromRefs(refs, 'shop');
    expect(h.map((x) => x.timestamp)).toEqual(['2026-11-23T06:15:00.123Z', '2026-11-22T06:15:00.123Z', '2026-11-21T00:00:00.000Z']);
    expect(filterHistory(h, { limit: 1 }).length).toBe(1);
    expect(filterHistory(h, { since: '2026-11-22T06:15:00.123Z' }).length).toBe(2);
    expect(filterHistory(h, { until: '2026-11-22' }).length).toBe(1);
    expect(filterHistory(h, { component: 'db' }).map((x) => x.target)).toEqual(['prod']);
  });
  it('formats ages', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(formatAge(null, now)).toBe('-');
    expect(formatAge('2026-11-22T11:59:30Z', now)).toBe('30s');
    expect(formatAge('2026-11-22T11:00:00Z', now)).toBe('1h');
    expect(formatAge('2026-11-20T12:00:00Z', now)).toBe('2d');
  });
});
