/**
 * `validate --check-promotions` through the CLI: the promotion paths of a valid deployment;
 * cycles, unknown sources and self-promotion refused (as every validate does), located; an
 * approval rule that can never apply refused only with the flag; a default target that only
 * accepts promotions warned about.
 */
import { describe, expect, it } from 'vitest';
import { baseRepo, makeRepo, runCli } from '../helpers.js';

/** shop with these targets (YAML lines under `targets:`) and extra top-level lines. */
function shop(targets: string[], extra: string[] = []): string {
  const base = baseRepo();
  const deployment = ['deployment:', '  name: shop', '  stacks: [catalog/app]', ...extra, '  components:', '    terraform:', '      db: {}', '  targets:', ...targets.map((l) => `    ${l}`), ''].join(
    '\n',
  );
  return makeRepo({ ...base, 'deployments/shop.yaml': deployment });
}

const validate = (dir: string, ...args: string[]) => runCli(['--chdir', dir, 'validate', 'shop', ...args]);

describe('validate --check-promotions', () => {
  it('prints the promotion paths, entry points and approval gates of a valid deployment (exit 0)', () => {
    const dir = shop([
      'dev: {}',
      'qa:',
      '  promotion: { from: dev }',
      'staging:',
      '  promotion: { allowed_from: [dev, qa] }',
      'prod:',
      '  promotion: { from: staging, requires_approval: true }',
      '  approval: { distinct_approver: true }',
    ]);
    const r = validate(dir, '--check-promotions');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('✓ promotion rules valid: every source exists, no cycles, approval rules apply');
    expect(r.stdout).toContain('promotion path: dev → qa → staging → prod [approval]');
    expect(r.stdout).toContain('promotion path: dev → staging → prod [approval]');
    expect(r.stdout).toContain('entry points: dev; approval required: prod');
    const j = JSON.parse(validate(dir, '--check-promotions', '--format', 'json').stdout) as { deployments: { promotion: { entry_points: string[]; approval_required: string[]; paths: string[] } }[] };
    expect(j.deployments[0].promotion).toEqual({
      paths: ['dev → qa → staging → prod [approval]', 'dev → staging → prod [approval]'],
      entry_points: ['dev'],
      approval_required: ['prod'],
    });
    // Without the flag: no promotion report.
    expect(validate(dir).stdout).not.toContain('promotion path');
  });

  it('a cycle, an unknown source and a self-promotion are located errors (exit 2)', () => {
    const cycle = validate(shop(['dev:', '  promotion: { from: prod }', 'prod:', '  promotion: { from: dev }']), '--check-promotions');
    expect(cycle.code).toBe(2);
    expect(cycle.stderr).toMatch(/promotion paths form a cycle: (dev ← prod ← dev|prod ← dev ← prod)/);
    expect(cycle.stderr).toMatch(/deployments\/shop\.yaml:\d+:\d+/);
    const unknown = validate(shop(['dev: {}', 'prod:', '  promotion: { from: stagin }']), '--check-promotions');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('targets.prod.promotion: unknown source target "stagin"');
    const self = validate(shop(['dev: {}', 'prod:', '  promotion: { allowed_from: [dev, prod] }']), '--check-promotions');
    expect(self.code).toBe(2);
    expect(self.stderr).toContain('target "prod" cannot promote from itself');
  });

  it('an approval rule that never applies is an error with the flag only', () => {
    const dir = shop(['dev: {}', 'prod:', '  promotion: { from: dev }', '  approval: { distinct_approver: true }']);
    expect(validate(dir).code).toBe(0);
    const r = validate(dir, '--check-promotions');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('targets.prod.approval.distinct_approver is set, but rollouts to "prod" need no approval (no promotion.requires_approval): it never applies');
    expect(r.stderr).toMatch(/deployments\/shop\.yaml:11:38: error/);
    expect(r.stdout).toContain('✗ promotion rules: see the errors above');
    const top = validate(shop(['dev: {}', 'prod:', '  promotion: { from: dev }'], ['  approval: { distinct_approver: true }']), '--check-promotions');
    expect(top.code).toBe(2);
    expect(top.stderr).toContain('approval.distinct_approver is set, but no target requires an approval');
  });

  it('warns when the default target only accepts promotions', () => {
    const dir = shop(['dev: {}', 'prod:', '  promotion: { from: dev }'], ['  context: { default_target: prod }']);
    const r = validate(dir, '--check-promotions');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('context.default_target "prod" only accepts promotions (from dev)');
  });
});
