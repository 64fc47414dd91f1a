/**
 * The promotion and approval policy as pure decisions over a deployment file, history and
 * releases (the CLI-level story is in test/rollout/story.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../src/cli/exit.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { loadDeployment, openRepository } from '../../src/index.js';
import { formatApproval, parseApprovals, type Approval } from '../../src/promotion/approvals.js';
import { checkApproval, decideRollout, pathCommands, pathTo } from '../../src/promotion/policy.js';
import type { ReleaseEntry, ReleaseRecord } from '../../src/release/index.js';
import type { HistoryEntry } from '../../src/tracking/history.js';
import { baseRepo, makeRepo } from '../helpers.js';

const shop = () => {
  const dir = makeRepo(
    baseRepo({
      'deployments/shop.yaml': [
        'deployment:',
        '  name: shop',
        '  stacks: [catalog/app]',
        '  components: { terraform: { app: {} } }',
        '  approval: { distinct_approver: true }',
        '  targets:',
        '    dev: {}',
        '    qa: {}',
        '    staging:',
        '      promotion: { allowed_from: [dev, qa] }',
        '    prod:',
        '      promotion: { from: staging, requires_approval: true }',
        '',
      ].join('\n'),
    }),
  );
  return loadDeployment(openRepository({ cwd: dir }), 'shop');
};

const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);
function release(id: string, sha: string): ReleaseEntry {
  const record: ReleaseRecord = {
    deployment: 'shop',
    target: 'dev',
    git_sha: sha,
    git_branch: 'main',
    images: {},
    sboms: {},
    vendored: {},
    tools: {},
    annotations: {},
    created_at: '2026-11-30T00:00:00.000Z',
    created_by: 'x',
  };
  return { id, tag: `atmos/releases/shop/${id}`, commit: sha, record };
}
function entry(target: string, rel: string, sha: string, ts: string, status: HistoryEntry['status'] = 'success'): HistoryEntry {
  return {
    tag: `atmos/deployments/shop/${target}/app/${ts}`,
    deployment: 'shop',
    target,
    component: 'app',
    release: rel,
    git_sha: sha,
    images: {},
    deployed_by: 'x',
    timestamp: ts,
    status,
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
  };
}
const policyError = (fn: () => unknown): DiagnosticError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiagnosticError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
};

describe('decideRollout', () => {
  const dep = shop();
  const releases = [release('r-bbbbbbbbbbbb', SHA2), release('r-aaaaaaaaaaaa', SHA1)];
  // newest first
  const history = [
    entry('staging', 'r-aaaaaaaaaaaa', SHA1, '2026-11-30T03:00:00.000Z'),
    entry('dev', 'r-bbbbbbbbbbbb', SHA2, '2026-11-30T02:00:00.000Z', 'failed'),
    entry('dev', 'r-aaaaaaaaaaaa', SHA1, '2026-11-30T01:00:00.000Z'),
  ];

  it('entry points take a new commit; promoted targets refuse it (exit 3) with the allowed path', () => {
    expect(decideRollout(dep, { target: 'dev' }, history, releases)).toMatchObject({ choice: { kind: 'head' }, promotedFrom: null, skippedCheck: false });
    const e = policyError(() => decideRollout(dep, { target: 'prod' }, history, releases));
    expect(exitCodeOf(e)).toBe(3);
    expect(e.diagnostics[0].location?.file).toMatch(/deployments\/shop\.yaml$/);
    expect(e.diagnostics[0].hint).toContain('allowed path: dev → staging → prod [approval]');
  });

  it('promotes the source target\u2019s current release: a failed newer entry does not count', () => {
    const d = decideRollout(dep, { target: 'staging', promoteFrom: 'dev' }, history, releases);
    expect(d.choice).toMatchObject({ kind: 'existing', release: { id: 'r-aaaaaaaaaaaa' } });
    expect(d.promotedFrom).toBe('dev');
    // qa is an allowed source too, but runs nothing yet.
    expect(policyError(() => decideRollout(dep, { target: 'staging', promoteFrom: 'qa' }, history, releases)).diagnostics[0].message).toMatch(/qa has no successful deployment/);
    const withQa = [entry('qa', 'r-bbbbbbbbbbbb', SHA2, '2026-11-30T04:00:00.000Z'), ...history];
    expect(decideRollout(dep, { target: 'staging', promoteFrom: 'qa' }, withQa, releases)).toMatchObject({ promotedFrom: 'qa', choice: { release: { id: 'r-bbbbbbbbbbbb' } } });
  });

  it('refuses a wrong source and a release that never ran in the source; --skip-promotion-check is marked', () => {
    expect(exitCodeOf(policyError(() => decideRollout(dep, { target: 'prod', promoteFrom: 'dev' }, history, releases)))).toBe(3);
    expect(policyError(() => decideRollout(dep, { target: 'prod', release: 'r-bbbbbbbbbbbb' }, history, releases)).diagnostics[0].message).toMatch(/never ran in staging/);
    const skipped = decideRollout(dep, { target: 'prod', promoteFrom: 'dev', skipPromotionCheck: true }, history, releases);
    expect(skipped.skippedCheck).toBe(true);
    // An allowed path is not "skipped".
    expect(decideRollout(dep, { target: 'prod', promoteFrom: 'staging', skipPromotionCheck: true }, history, releases).skippedCheck).toBe(false);
  });

  it('a release that ran in the target before is a rollback of the current one', () => {
    const h = [entry('prod', 'r-bbbbbbbbbbbb', SHA2, '2026-11-30T05:00:00.000Z'), entry('prod', 'r-aaaaaaaaaaaa', SHA1, '2026-11-30T04:00:00.000Z'), ...history];
    const d = decideRollout(dep, { target: 'prod', release: 'r-aaaa' }, h, releases);
    expect(d).toMatchObject({ rollbackOf: 'r-bbbbbbbbbbbb', promotedFrom: null });
    expect(decideRollout(dep, { target: 'prod', gitSha: SHA1.slice(0, 7) }, h, releases).rollbackOf).toBe('r-bbbbbbbbbbbb');
  });

  it('bad arguments are exit 2: unknown release, unknown source, exclusive flags', () => {
    expect(exitCodeOf(policyError(() => decideRollout(dep, { target: 'prod', release: 'r-nope' }, history, releases)))).toBe(2);
    expect(policyError(() => decideRollout(dep, { target: 'prod', promoteFrom: 'stage' }, history, releases)).diagnostics[0].hint).toContain('staging');
    expect(exitCodeOf(policyError(() => decideRollout(dep, { target: 'prod', promoteFrom: 'staging', release: 'r-aaaaaaaaaaaa' }, history, releases)))).toBe(2);
  });

  it('the path and its commands', () => {
    expect(pathTo(dep, 'prod')).toEqual(['dev', 'staging', 'prod']);
    expect(pathCommands(dep, 'prod')).toEqual([
      'atmos-pipe rollout shop --target dev',
      'atmos-pipe rollout shop --target staging --promote-from dev',
      'atmos-pipe approve shop --target prod',
      'atmos-pipe rollout shop --target prod --promote-from staging',
    ]);
  });
});

describe('approvals', () => {
  const dep = shop();
  const decision = decideRollout(dep, { target: 'prod', promoteFrom: 'staging' }, [entry('staging', 'r-aaaaaaaaaaaa', SHA1, '2026-11-30T03:00:00.000Z')], [release('r-aaaaaaaaaaaa', SHA1)]);
  const a = (by: string, rel = 'r-aaaaaaaaaaaa', target = 'prod'): Approval => ({
    deployment: 'shop',
    target,
    release: rel,
    promoted_from: 'staging',
    approved_by: by,
    approved_at: `2026-11-30T0${by.length}:00:00.000Z`,
  });

  it('one line per approval survives a line-sorting merge of two clones\u2019 notes', () => {
    const mine = formatApproval(a('alice')) + formatApproval(a('bob', 'r-bbbbbbbbbbbb'));
    const theirs = formatApproval(a('carol', 'r-aaaaaaaaaaaa', 'staging')) + formatApproval(a('alice'));
    const merged = `${[...new Set((mine + theirs).split('\n').filter(Boolean))].sort().join('\n')}\n`;
    expect(
      parseApprovals(merged)
        .map((x) => [x.approved_by, x.target, x.release])
        .sort(),
    ).toEqual([
      ['alice', 'prod', 'r-aaaaaaaaaaaa'],
      ['bob', 'prod', 'r-bbbbbbbbbbbb'],
      ['carol', 'staging', 'r-aaaaaaaaaaaa'],
    ]);
    expect(parseApprovals(`not json\n{"kind":"Other"}\n{broken\n${formatApproval(a('dan'))}`)).toHaveLength(1);
  });

  it('requires an approval of this release for this target, by someone else than the deployer', () => {
    expect(decision.requiresApproval && decision.distinctApprover).toBe(true);
    expect(policyError(() => checkApproval(dep, decision, 'prod', 'r-aaaaaaaaaaaa', [], 'dev')).diagnostics[0].code).toBe('policy/approval-required');
    expect(exitCodeOf(policyError(() => checkApproval(dep, decision, 'prod', 'r-aaaaaaaaaaaa', [a('bob', 'r-bbbbbbbbbbbb'), a('carol', 'r-aaaaaaaaaaaa', 'staging')], 'dev')))).toBe(3);
    expect(policyError(() => checkApproval(dep, decision, 'prod', 'r-aaaaaaaaaaaa', [a('dev')], 'dev')).diagnostics[0].code).toBe('policy/self-approval');
    expect(checkApproval(dep, decision, 'prod', 'r-aaaaaaaaaaaa', [a('dev'), a('alice')], 'dev').map((x) => x.approved_by)).toEqual(['alice']);
  });
});
