import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { diffTargets, parseNameStatus, type TargetDiff } from '../../src/promotion/diff.js';
import { countingRunner, formatDeploymentRecord, historyTagName } from '../../src/tracking/index.js';
import { runCli } from '../helpers.js';
import { D, TAGGER, exampleRepo, hoursAgo, moreHistory, openRepo, standardState, type ExampleRepo } from './fixture.js';

const CONFIG_PATHS = ['deployments/payment-service.yaml', 'atmos.yaml', 'stacks', 'components/terraform'];

describe('diff', () => {
  let x: ExampleRepo;
  beforeAll(async () => {
    x = exampleRepo();
    await standardState(openRepo(x.dir), x);
  });
  const cli = (...args: string[]) => runCli(['--chdir', x.dir, 'diff', D, ...args]);
  const json = (...args: string[]): TargetDiff => {
    const r = cli(...args, '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as TargetDiff;
  };

  it('compares two deployed targets: components, commits behind, log and configuration changes', () => {
    const d = json('--from-target', 'dev', '--to-target', 'staging');
    expect(d.from).toMatchObject({ target: 'dev', deployed: true, commit: x.c3, release: 'r-c3', deployed_by: 'alice@example.com' });
    // The failed rollout of c2 to staging does not count: staging still runs r-c1.
    expect(d.to).toMatchObject({ target: 'staging', deployed: true, commit: x.c1, release: 'r-c1' });
    expect(d.components.map((c) => [c.component, c.from?.release, c.from?.commit, c.to?.release, c.to?.commit, c.changed])).toEqual([
      ['ecr/api', 'r-c3', x.c3, 'r-c1', x.c1, true],
      ['ecs/service-api', 'r-c3', x.c3, 'r-c1', x.c1, true],
    ]);
    expect(d.commits_behind).toBe(2);
    expect(d.commits_ahead).toBe(0);
    expect(d.commits!.map((c) => [c.sha, c.subject, c.author])).toEqual([
      [x.c3, 'Docs: rewrite the README', 'Test Author'],
      [x.c2, 'Tune the staging stack', 'Test Author'],
    ]);
    expect(d.commits_truncated).toBe(false);
    expect(d.configuration_paths).toEqual(CONFIG_PATHS);
    // services/ and README.md changed too, but they are not configuration.
    expect(d.configuration_changes).toEqual([
      { status: 'A', path: 'components/terraform/ecr/extra.tf', old_path: null },
      { status: 'M', path: 'stacks/orgs/acme/staging.yaml', old_path: null },
    ]);
    expect(d.warnings).toEqual([]);
  });

  it('renders a table and yaml', () => {
    const r = cli('--from-target', 'dev', '--to-target', 'staging');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('payment-service: dev → staging');
    expect(r.stdout).toContain('staging is 2 commits behind dev (0 ahead)');
    expect(r.stdout).toMatch(/ecs\/service-api\s+r-c3 [0-9a-f]{12}\s+r-c1 [0-9a-f]{12}\s+yes/);
    expect(r.stdout).toContain(`${x.c2.slice(0, 12)}`);
    expect(r.stdout).toContain('Tune the staging stack');
    expect(r.stdout).toContain('M  stacks/orgs/acme/staging.yaml');
    expect(r.stdout).not.toContain('services/api');
    const y = cli('--from-target', 'dev', '--to-target', 'staging', '--format', 'yaml');
    expect(y.code).toBe(0);
    expect((parseYaml(y.stdout) as TargetDiff).commits_behind).toBe(2);
  });

  it('counts commits ahead the other way round and caps the log', () => {
    const back = json('--from-target', 'staging', '--to-target', 'dev');
    expect([back.commits_behind, back.commits_ahead, back.commits]).toEqual([0, 2, []]);
    expect(back.configuration_changes).toEqual([
      { status: 'D', path: 'components/terraform/ecr/extra.tf', old_path: null },
      { status: 'M', path: 'stacks/orgs/acme/staging.yaml', old_path: null },
    ]);
    const capped = json('--from-target', 'dev', '--to-target', 'staging', '--limit', '1');
    expect(capped.commits!.map((c) => c.sha)).toEqual([x.c3]);
    expect(capped.commits_truncated).toBe(true);
    expect(capped.log_limit).toBe(1);
    expect(cli('--from-target', 'dev', '--to-target', 'staging', '--limit', '1').stdout).toContain('commits (newest 1 of 2, newest first)');
  });

  it('defaults --from-target to the promotion source', () => {
    const d = json('--to-target', 'staging');
    expect([d.from.target, d.to.target]).toEqual(['dev', 'staging']);
    const r = cli('--to-target', 'dev');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--from-target is required');
  });

  it('reports a target that was never deployed, with nulls in JSON, and exits 0', () => {
    const d = json('--from-target', 'staging', '--to-target', 'prod');
    expect(d.to).toEqual({ target: 'prod', deployed: false, commit: null, release: null, timestamp: null, deployed_by: null });
    expect(d.commits_behind).toBeNull();
    expect(d.commits_ahead).toBeNull();
    expect(d.commits).toBeNull();
    expect(d.configuration_changes).toBeNull();
    expect(d.components.every((c) => c.to === null && c.from !== null && c.changed)).toBe(true);
    const r = cli('--from-target', 'staging', '--to-target', 'prod');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('prod: never deployed');
    expect(r.stdout).toContain('nothing to compare: prod never deployed');
    expect(r.stdout).toMatch(/ecr\/api\s+r-c1 [0-9a-f]{12}\s+not deployed\s+yes/);
  });

  it('rejects unknown and invalid targets with exit 2, listing the valid ones', () => {
    const r = cli('--from-target', 'dev', '--to-target', 'qa');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('--to-target qa');
    expect(r.stderr).toContain('dev, staging, prod');
    const f = cli('--from-target', 'stagin', '--to-target', 'prod');
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('--from-target stagin');
    expect(f.stderr).toContain('did you mean "staging"');
    const bad = cli('--from-target', 'Dev!', '--to-target', 'prod');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --from-target "Dev!"');
  });

  it('reads Git with a constant number of processes whatever the number of tags', async () => {
    const counter = countingRunner();
    const repo = openRepo(x.dir, counter);
    const opts = { configPaths: CONFIG_PATHS };
    const before = await diffTargets(repo, D, 'dev', 'staging', opts);
    const calls = counter.calls.map((c) => c[0]);
    expect(calls.sort()).toEqual(['diff', 'for-each-ref', 'log', 'rev-list']);

    const y = exampleRepo();
    const other = openRepo(y.dir);
    await standardState(other, y);
    await moreHistory(other, y, 40);
    counter.reset();
    const after = await diffTargets(openRepo(y.dir, counter), D, 'dev', 'staging', opts);
    expect(counter.calls.length).toBe(4);
    expect(after.commits_behind).toBe(before.commits_behind);
    expect(after.components).toHaveLength(2);

    // Never deployed: one process; the same commit on both sides: one process.
    counter.reset();
    await diffTargets(repo, D, 'staging', 'prod', opts);
    expect(counter.calls.length).toBe(1);
    counter.reset();
    const same = await diffTargets(repo, D, 'dev', 'dev', opts);
    expect(counter.calls.length).toBe(1);
    expect([same.commits_behind, same.commits_ahead, same.commits, same.configuration_changes]).toEqual([0, 0, [], []]);
  });

  it('reports a commit missing from this clone, and bad tags, as warnings', async () => {
    const y = exampleRepo();
    const repo = openRepo(y.dir);
    await standardState(repo, y);
    // prod's record names a commit this clone does not have (the tag itself must point at an object that exists).
    const missing = 'f'.repeat(40);
    const rec = {
      deployment: D,
      target: 'prod',
      component: 'ecr/api',
      release: 'r-gone',
      git_sha: missing,
      images: {},
      deployed_by: 'bob',
      timestamp: hoursAgo(1),
      status: 'success' as const,
      promoted_from: 'staging',
      approved_by: [],
      rollback_of: null,
      annotations: {},
    };
    await repo.createAnnotatedTag(historyTagName(D, 'prod', 'ecr/api', rec.timestamp), y.c1, formatDeploymentRecord(rec), { tagger: TAGGER });
    // A newer tag that is no record: reported, skipped.
    await repo.createAnnotatedTag('atmos/deployments/payment-service/prod/ecr/api/20991231T000000.000Z', y.c1, 'not a record\n', { tagger: TAGGER });
    const r = runCli(['--chdir', y.dir, 'diff', D, '--from-target', 'staging', '--to-target', 'prod', '--format', 'json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as TargetDiff;
    expect(d.to).toMatchObject({ commit: missing, release: 'r-gone' });
    expect([d.commits_behind, d.commits, d.configuration_changes]).toEqual([null, null, null]);
    expect(d.warnings.join('\n')).toContain('fetch both commits');
    expect(r.stderr).toContain('could not compare staging');
    expect(r.stderr).toContain('ignoring tag atmos/deployments/payment-service/prod/ecr/api/20991231T000000.000Z');
    const t = runCli(['--chdir', y.dir, 'diff', D, '--from-target', 'staging', '--to-target', 'prod']);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('commits behind: unknown');
  });

  it('parses rename lines of --name-status -z', () => {
    expect(parseNameStatus('R087\0stacks/a.yaml\0stacks/b.yaml\0M\0stacks/c.yaml\0')).toEqual([
      { status: 'R', path: 'stacks/b.yaml', old_path: 'stacks/a.yaml' },
      { status: 'M', path: 'stacks/c.yaml', old_path: null },
    ]);
  });
});
