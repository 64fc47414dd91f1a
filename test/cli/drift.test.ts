/**
 * `status --check-drift` through the CLI with real Terraform (terraform_data, local backend)
 * and real Git: every Terraform component of the target is planned with `-detailed-exitcode`
 * through the step engine; a change of the state made outside atmos-pipe, or of an input, is
 * reported as drift (exit 5); after a rollout there is none (exit 0); an unchanged state
 * re-uses the cached plan.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers.js';
import { cli, commitAll, git } from '../security/fixture.js';

const SVC = 'variable "greeting" {\n  type = string\n}\n\nresource "terraform_data" "svc" {\n  input = var.greeting\n}\n\noutput "greeting" {\n  value = terraform_data.svc.output\n}\n';
const stack = (greeting: string) => `components:\n  terraform:\n    svc:\n      vars:\n        greeting: ${greeting}\n`;

function repository(consumer = false): string {
  const components = consumer ? '      svc: {}\n      consumer:\n        metadata: { depends_on: [svc] }\n        vars: { greeting: "{{ terraform.svc.outputs.greeting }}" }\n' : '      svc: {}\n';
  const dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
    'stacks/base.yaml': stack('hello'),
    'components/terraform/svc/main.tf': SVC,
    'components/terraform/consumer/main.tf': SVC,
    'deployments/shop.yaml': `deployment:\n  name: shop\n  stacks: [base]\n  components:\n    terraform:\n${components}  targets:\n    dev: {}\n`,
    '.gitignore': '.atmos/\n',
  });
  git(dir, 'init', '-q', '-b', 'main');
  commitAll(dir, 'initial');
  return dir;
}

interface Report {
  drift: boolean;
  compared_commit: string;
  components: { component: string; drift: string; add: number; change: number; destroy: number; cached: boolean; deployed_commit: string | null; release: string | null }[];
  notes: string[];
}
const report = (stdout: string) => JSON.parse(stdout) as Report;

/** Change the applied value in the Terraform state, as someone editing it by hand would. */
function tamperState(dir: string): void {
  const file = path.join(dir, '.atmos/state/shop/dev/svc.tfstate');
  const state = JSON.parse(readFileSync(file, 'utf8')) as { serial: number; resources: { instances: { attributes: Record<string, { value: string }> }[] }[] };
  for (const r of state.resources) for (const i of r.instances) for (const k of ['input', 'output']) i.attributes[k].value = 'changed by hand';
  state.serial += 1;
  writeFileSync(file, JSON.stringify(state));
}

describe('status --check-drift', () => {
  it('reports no drift after a rollout, drift after the state changed out of band, none after a re-rollout', () => {
    const dir = repository();
    const head = git(dir, 'rev-parse', 'HEAD');
    // Never rolled out: the plan would create the resource, a first rollout and not drift.
    const first = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift', '--format', 'json']);
    expect(first.code).toBe(0);
    expect(report(first.stdout)).toMatchObject({ drift: false });
    expect(report(first.stdout).components[0]).toMatchObject({ component: 'terraform/svc', drift: 'not-deployed', add: 1, deployed_commit: null });
    expect(report(first.stdout).notes[0]).toMatch(/never deployed to dev \(no record in Git\); its plan is a first rollout, not drift/);
    expect(cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift']).stdout).toMatch(/terraform\/svc +- +- +not deployed \(\+1 ~0 -0\) +cached/);

    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const clean = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift', '--format', 'json']);
    expect(clean.stderr).toContain('terraform/svc:plan');
    expect(clean.code).toBe(0);
    const r = report(clean.stdout);
    expect(r).toMatchObject({ drift: false, compared_commit: head });
    expect(r.components[0]).toMatchObject({ drift: 'none', add: 0, change: 0, destroy: 0, deployed_commit: head, cached: false });
    expect(r.components[0].release).toMatch(/^r-/);

    // The same state: the plan is a cache hit (Terraform does not run again).
    const again = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift', '--format', 'json']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/cached\s+terraform\/svc:plan/);
    expect(report(again.stdout).components[0]).toMatchObject({ drift: 'none', cached: true });
    // --no-cache plans again.
    const fresh = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift', '--no-cache', '--format', 'json']);
    expect(fresh.code).toBe(0);
    expect(report(fresh.stdout).components[0].cached).toBe(false);

    tamperState(dir);
    const drifted = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift']);
    expect(drifted.code).toBe(5);
    expect(drifted.stdout).toMatch(/terraform\/svc\s+\S+\s+r-\S+\s+detected \(\+0 ~1 -0\)\s+planned/);
    expect(drifted.stdout).toContain('drift detected in 1 component(s)');

    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const repaired = cli(dir, ['status', 'shop', '--target', 'dev', '--check-drift']);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/terraform\/svc\s+\S+\s+r-\S+\s+none/);
  });

  it('a changed input is drift of the working tree against the state, named as not rolled out yet once committed', () => {
    const dir = repository();
    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    writeFileSync(path.join(dir, 'stacks/base.yaml'), stack('changed'));
    commitAll(dir, 'another greeting');
    const r = cli(dir, ['status', 'shop', '--check-drift', '--format', 'json']);
    expect(r.code).toBe(5);
    const rep = report(r.stdout);
    expect(rep.components[0]).toMatchObject({ drift: 'detected', change: 1 });
    expect(rep.notes[0]).toMatch(/deployed from commit [0-9a-f]{12}, the working tree is at [0-9a-f]{12}: its change may be one not yet rolled out rather than drift/);
    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    expect(cli(dir, ['status', 'shop', '--check-drift']).code).toBe(0);
  });

  it('a component whose upstream output was never recorded is not planned (unknown, exit 1); the check records nothing', () => {
    const dir = repository(true);
    const refs = git(dir, 'for-each-ref');
    const r = cli(dir, ['status', 'shop', '--check-drift', '--format', 'json']);
    expect(r.code).toBe(1);
    const rep = report(r.stdout);
    expect(rep.components.map((c) => [c.component, c.drift])).toEqual([
      ['terraform/svc', 'not-deployed'],
      ['terraform/consumer', 'unknown'],
    ]);
    expect((rep.components[1] as { reason?: string }).reason).toMatch(/not planned: \{\{ terraform\.svc\.outputs\.greeting \}\} is unknown/);
    expect(git(dir, 'for-each-ref')).toBe(refs);
    // Once svc is rolled out, consumer is planned with its recorded output.
    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const after = cli(dir, ['status', 'shop', '--check-drift', '--format', 'json']);
    expect(after.code, after.stderr).toBe(0);
    expect(report(after.stdout).components.map((c) => c.drift)).toEqual(['none', 'none']);
  });

  it('a failing plan is exit 1; drift-only flags without --check-drift are usage errors', () => {
    const dir = repository();
    writeFileSync(path.join(dir, 'components/terraform/svc/main.tf'), `${SVC}\nresource "terraform_data" "broken" {\n  input = var.missing\n}\n`);
    const r = cli(dir, ['status', 'shop', '--check-drift', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(report(r.stdout).components[0]).toMatchObject({ drift: 'error' });
    const usage = cli(dir, ['status', 'shop', '--no-cache']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--no-cache needs --check-drift');
    const target = cli(dir, ['status', 'shop', '--target', 'nope', '--check-drift']);
    expect(target.code).toBe(2);
  });
});
