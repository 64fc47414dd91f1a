import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { recordApproval } from '../../src/promotion/approvals.js';
import { promotionStatusFrom, readPromotionStatus, readTargetStatus, type PromotionStatus } from '../../src/promotion/status.js';
import type { HistoryEntry } from '../../src/tracking/history.js';
import { promotionGraph } from '../../src/promotion/graph.js';
import { loadDeployment, openRepository } from '../../src/index.js';
import { countingRunner } from '../../src/tracking/index.js';
import { runCli } from '../helpers.js';
import { COMPONENTS, D, exampleRepo, hoursAgo, moreHistory, openRepo, recordDeployment, standardState, type ExampleRepo } from './fixture.js';

describe('promotion-status', () => {
  let x: ExampleRepo;
  beforeAll(async () => {
    x = exampleRepo();
    await standardState(openRepo(x.dir), x);
  });
  const cli = (dir: string, ...args: string[]) => runCli(['--chdir', dir, 'promotion-status', ...args]);
  const json = (dir: string, deployment = D): PromotionStatus => {
    const r = cli(dir, deployment, '--format', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as PromotionStatus;
  };

  it('shows pending promotions, approvals and the next command, until everything is promoted', async () => {
    const repo = openRepo(x.dir);
    // dev runs r-c3, staging r-c1, prod nothing.
    let st = json(x.dir);
    expect(st.deployment).toBe(D);
    expect(st.edges.map((e) => [e.from, e.to, e.source?.release, e.destination?.release ?? null, e.pending, e.state, e.approval, e.next_command])).toEqual([
      ['dev', 'staging', 'r-c3', 'r-c1', true, 'pending', { required: false, recorded: false, approved_by: [] }, `atmos-pipe rollout ${D} --target staging --promote-from dev`],
      ['staging', 'prod', 'r-c1', null, true, 'awaiting-approval', { required: true, recorded: false, approved_by: [] }, `atmos-pipe approve ${D} --target prod`],
    ]);
    expect(st.edges[0].source).toMatchObject({ commit: x.c3, deployed_by: 'alice@example.com' });
    expect(st.edges[1].destination).toBeNull();

    const table = cli(x.dir, D);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/dev\s+staging\s+r-c3 \([0-9a-f]{12}, 2h\)\s+r-c1 \([0-9a-f]{12}, 1d\)\s+pending\s+-/);
    expect(table.stdout).toMatch(/staging\s+prod\s+r-c1 \([0-9a-f]{12}, 1d\)\s+never deployed\s+awaiting-approval\s+required, not recorded/);
    expect(table.stdout).toContain(`  atmos-pipe rollout ${D} --target staging --promote-from dev`);
    expect(table.stdout).toContain(`  atmos-pipe approve ${D} --target prod`);

    // An approval of another release, or for another target, does not count.
    await recordApproval(repo, x.c1, { deployment: D, target: 'prod', release: 'r-other', promoted_from: 'staging', approved_by: 'mallory@example.com', approved_at: hoursAgo(1) });
    await recordApproval(repo, x.c1, { deployment: D, target: 'staging', release: 'r-c1', promoted_from: 'dev', approved_by: 'mallory@example.com', approved_at: hoursAgo(1) });
    expect(json(x.dir).edges[1].state).toBe('awaiting-approval');

    // The approval of r-c1 for prod: the rollout is next.
    await recordApproval(repo, x.c1, { deployment: D, target: 'prod', release: 'r-c1', promoted_from: 'staging', approved_by: 'carol@example.com', approved_at: hoursAgo(1) });
    st = json(x.dir);
    expect(st.edges[1]).toMatchObject({
      state: 'pending',
      pending: true,
      approval: { required: true, recorded: true, approved_by: ['carol@example.com'] },
      next_command: `atmos-pipe rollout ${D} --target prod --promote-from staging`,
    });
    expect(cli(x.dir, D).stdout).toMatch(/staging\s+prod\s+.*pending\s+approved by carol@example\.com/);

    // Promote everything: nothing left to do.
    for (const component of COMPONENTS) {
      await recordDeployment(repo, { target: 'prod', component, git_sha: x.c1, release: 'r-c1', timestamp: hoursAgo(0.5), promoted_from: 'staging', approved_by: ['carol@example.com'] });
      await recordDeployment(repo, { target: 'staging', component, git_sha: x.c3, release: 'r-c3', timestamp: hoursAgo(0.4), promoted_from: 'dev' });
    }
    st = json(x.dir);
    // staging now runs r-c3, which prod needs a new approval for.
    expect(st.edges.map((e) => [e.state, e.pending, e.next_command])).toEqual([
      ['up-to-date', false, null],
      ['awaiting-approval', true, `atmos-pipe approve ${D} --target prod`],
    ]);
    for (const component of COMPONENTS) {
      await recordDeployment(repo, { target: 'prod', component, git_sha: x.c3, release: 'r-c3', timestamp: hoursAgo(0.1), promoted_from: 'staging' });
    }
    st = json(x.dir);
    expect(st.edges.map((e) => [e.state, e.next_command])).toEqual([
      ['up-to-date', null],
      ['up-to-date', null],
    ]);
    const done = cli(x.dir, D);
    expect(done.stdout).toContain('nothing to promote');
    const y = cli(x.dir, D, '--format', 'yaml');
    expect((parseYaml(y.stdout) as PromotionStatus).edges[1].destination?.release).toBe('r-c3');
  });

  it('says when the source was never deployed', () => {
    const st = json(x.dir, 'platform-network');
    expect(st.edges.map((e) => [e.state, e.source, e.destination, e.next_command])).toEqual([
      ['nothing-to-promote', null, null, null],
      ['nothing-to-promote', null, null, null],
    ]);
    expect(cli(x.dir, 'platform-network').stdout).toContain('nothing to promote');
    expect(cli(x.dir, 'no-such').code).toBe(2);
  });

  it('reads Git with a constant number of processes whatever the number of tags', async () => {
    const y = exampleRepo();
    const plain = openRepo(y.dir);
    await standardState(plain, y);
    const counter = countingRunner();
    const graph = promotionGraph(loadDeployment(openRepository({ cwd: y.dir }), D));
    await readPromotionStatus(openRepo(y.dir, counter), graph);
    // for-each-ref, then the approvals notes (no notes ref yet: notes list + rev-parse).
    const first = counter.calls.length;
    expect(counter.calls[0][0]).toBe('for-each-ref');
    expect(first).toBeLessThanOrEqual(3);

    await recordApproval(plain, y.c3, { deployment: D, target: 'prod', release: 'r-c3', promoted_from: 'staging', approved_by: 'carol@example.com', approved_at: hoursAgo(1) });
    await recordApproval(plain, y.c1, { deployment: D, target: 'prod', release: 'r-c1', promoted_from: 'staging', approved_by: 'carol@example.com', approved_at: hoursAgo(1) });
    await moreHistory(plain, y, 40);
    counter.reset();
    const st = await readPromotionStatus(openRepo(y.dir, counter), graph);
    expect(counter.calls.map((c) => c[0])).toEqual(['for-each-ref', 'notes', 'cat-file']);
    expect(st.edges[1].approval.recorded).toBe(true);

    counter.reset();
    const ts = await readTargetStatus(openRepo(y.dir, counter), graph);
    expect(counter.calls.length).toBe(1);
    expect(ts.staging).toMatchObject({ release: 'r-c1', commit: y.c1 });
    expect(ts.prod).toEqual({ release: null, commit: null, timestamp: null, age: null, deployed_by: null });
  });
});

describe('promotionStatusFrom', () => {
  const entry = (target: string, release: string | null, git_sha: string, timestamp: string, status: HistoryEntry['status'] = 'success'): HistoryEntry => ({
    tag: `t-${target}-${timestamp}`,
    deployment: 'shop',
    target,
    component: 'app',
    release,
    git_sha,
    images: {},
    deployed_by: 'alice',
    timestamp,
    status,
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
  });
  const graph = {
    deployment: 'shop',
    targets: [
      { name: 'staging', entry_point: true, from: [], requires_approval: false },
      { name: 'hotfix', entry_point: true, from: [], requires_approval: false },
      { name: 'prod', entry_point: false, from: ['staging', 'hotfix'], requires_approval: true },
    ],
    edges: [
      { from: 'staging', to: 'prod', requires_approval: true },
      { from: 'hotfix', to: 'prod', requires_approval: true },
    ],
  };
  it('names the source in the approve command when the target accepts several, compares commits without release ids', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    // Newest first, as history is read.
    const history = [entry('hotfix', null, a, '2026-11-23T00:00:00.000Z'), entry('prod', null, a, '2026-11-22T00:00:00.000Z'), entry('staging', 'r-1', b, '2026-11-21T00:00:00.000Z')];
    const st = promotionStatusFrom(graph, history);
    expect(st.edges.map((e) => [e.from, e.state, e.next_command])).toEqual([
      ['staging', 'awaiting-approval', 'atmos-pipe approve shop --target prod --promote-from staging'],
      ['hotfix', 'up-to-date', null],
    ]);
    const approved = promotionStatusFrom(
      graph,
      history,
      new Map([[b, [{ deployment: 'shop', target: 'prod', release: 'r-1', promoted_from: null, approved_by: 'carol', approved_at: '2026-11-22T00:00:00.000Z' }]]]),
    );
    expect(approved.edges[0]).toMatchObject({ state: 'pending', next_command: 'atmos-pipe rollout shop --target prod --promote-from staging', approval: { recorded: true, approved_by: ['carol'] } });
    // A failed deployment never counts as what a target runs.
    const failed = promotionStatusFrom(graph, [entry('prod', 'r-1', b, '2026-11-24T00:00:00.000Z', 'failed'), ...history]);
    expect(failed.edges[0].destination?.commit).toBe(a);
  });
});

describe('promotion-graph --show-status', () => {
  it('annotates every target with its release, commit and age; without the flag the output is unchanged', async () => {
    const x = exampleRepo();
    const before = runCli(['--chdir', x.dir, 'promotion-graph', D, '--format', 'json']);
    await standardState(openRepo(x.dir), x);
    const plain = runCli(['--chdir', x.dir, 'promotion-graph', D, '--format', 'json']);
    expect(plain.stdout).toBe(before.stdout);
    const g = JSON.parse(plain.stdout) as { targets: Record<string, unknown>[] };
    expect(Object.keys(g.targets[0])).toEqual(['name', 'entry_point', 'from', 'requires_approval']);

    const r = runCli(['--chdir', x.dir, 'promotion-graph', D, '--show-status', '--format', 'json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { targets: { name: string; status: Record<string, unknown> }[]; edges: unknown[] };
    expect(s.edges).toEqual((JSON.parse(plain.stdout) as { edges: unknown[] }).edges);
    expect(s.targets.map((t) => [t.name, t.status.release, t.status.commit, t.status.age])).toEqual([
      ['dev', 'r-c3', x.c3, '2h'],
      ['staging', 'r-c1', x.c1, '1d'],
      ['prod', null, null, null],
    ]);

    const table = runCli(['--chdir', x.dir, 'promotion-graph', D, '--show-status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('dev → staging → prod [approval]');
    expect(table.stdout).toMatch(new RegExp(`dev\\s+any commit \\(entry point\\)\\s+-\\s+r-c3\\s+${x.c3.slice(0, 12)}\\s+2h`));
    expect(table.stdout).toMatch(/prod\s+promotion from staging\s+required\s+never deployed\s+-\s+-/);
    const y = runCli(['--chdir', x.dir, 'promotion-graph', D, '--show-status', '--format', 'yaml']);
    expect((parseYaml(y.stdout) as typeof s).targets[1].status.release).toBe('r-c1');
  });
});
