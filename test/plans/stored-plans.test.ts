/**
 * Stored plans through the CLI with real Terraform (terraform_data, local backend) and real
 * Git: `plan --out <dir>` stores each component's plan with what it was made from;
 * `rollout --from-plan <dir>` applies exactly that plan, and refuses (exit 3, naming what
 * changed) when an input or the state moved since.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers.js';
import { cli, commitAll, git } from '../security/fixture.js';

const SVC = 'variable "greeting" {\n  type = string\n}\n\nresource "terraform_data" "svc" {\n  input = var.greeting\n}\n\noutput "greeting" {\n  value = terraform_data.svc.output\n}\n';
const stack = (greeting: string) => `components:\n  terraform:\n    svc:\n      vars:\n        greeting: ${greeting}\n`;

/** shop/dev with svc; with `consumer`, a second component whose variable takes svc's output. */
function repository(consumer = false): string {
  const components = consumer ? `      svc: {}\n      consumer:\n        metadata: { depends_on: [svc] }\n        vars: { seen: "{{ terraform.svc.outputs.greeting }}" }\n` : '      svc: {}\n';
  const dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\nstacks:\n  base_path: stacks\n',
    'stacks/base.yaml': stack('hello'),
    'components/terraform/svc/main.tf': SVC,
    ...(consumer ? { 'components/terraform/consumer/main.tf': 'variable "seen" {\n  type = string\n}\n\nresource "terraform_data" "seen" {\n  input = var.seen\n}\n' } : {}),
    'deployments/shop.yaml': `deployment:\n  name: shop\n  stacks: [base]\n  components:\n    terraform:\n${components}  targets:\n    dev: {}\n`,
    '.gitignore': '.atmos/\n',
  });
  git(dir, 'init', '-q', '-b', 'main');
  commitAll(dir, 'initial');
  return dir;
}

const statePath = (dir: string) => path.join(dir, '.atmos/state/shop/dev/svc.tfstate');
/** The applied greeting, read from the Terraform state. */
function applied(dir: string): unknown {
  const state = JSON.parse(readFileSync(statePath(dir), 'utf8')) as { resources: { type: string; instances: { attributes: { input: unknown } }[] }[] };
  return state.resources.find((r) => r.type === 'terraform_data')?.instances[0].attributes.input;
}

/** The log of the newest apply step (run ids made in one second do not sort by time: the newest file wins). */
function applyLog(dir: string): string {
  const logs = path.join(dir, '.atmos/logs');
  const applies = readdirSync(logs).flatMap((run) =>
    readdirSync(path.join(logs, run))
      .filter((f) => f.startsWith('rollout_terraform_svc_apply-'))
      .map((f) => path.join(logs, run, f)),
  );
  const newest = applies.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs).pop() as string;
  return readFileSync(newest, 'utf8');
}

const plansDir = () => mkdtempSync(path.join(tmpdir(), 'atmos-pipe-plans-'));

describe('stored plans', () => {
  it('plan --out stores the plan; rollout --from-plan applies exactly it', () => {
    const dir = repository();
    const plans = plansDir();
    const p = cli(dir, ['plan', 'shop', '--target', 'dev', '--out', plans]);
    expect(p.stderr).toContain('stored the plan of terraform/svc');
    expect(p.code).toBe(0);
    const stored = path.join(plans, 'terraform__svc');
    expect(existsSync(path.join(stored, 'tfplan'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(stored, 'plan.json'), 'utf8')) as { component: string; state: { digest: string }; inputs: Record<string, string> };
    expect(manifest.component).toBe('terraform/svc');
    expect(manifest.state.digest).toBe('none');
    expect(Object.keys(manifest.inputs).sort()).toEqual(['.', 'backend.tf.json', 'terraform.tfvars.json']);

    const r = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', plans]);
    expect(r.code).toBe(0);
    expect(applied(dir)).toEqual({ type: 'string', value: 'hello' });
    // Terraform applied the saved plan: it shows no plan of its own before applying (as `apply -auto-approve` does).
    const log = applyLog(dir);
    expect(log).toContain('Apply complete! Resources: 1 added, 0 changed, 0 destroyed.');
    expect(log).not.toContain('Terraform will perform the following actions');
  });

  it('finds stored plans again by the id plan --out printed', () => {
    const dir = repository();
    const plans = plansDir();
    const p = cli(dir, ['plan', 'shop', '--target', 'dev', '--out', plans]);
    expect(p.code).toBe(0);
    const id = /stored plans (sha256:[0-9a-f]{64})/.exec(p.stderr)?.[1] as string;
    expect(id).toBeDefined();
    rmSync(plans, { recursive: true, force: true });
    const r = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', id]);
    expect(r.code).toBe(0);
    expect(applied(dir)).toEqual({ type: 'string', value: 'hello' });
    expect(applyLog(dir)).not.toContain('Terraform will perform the following actions');

    const unknown = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', `sha256:${'0'.repeat(64)}`]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no stored plans with this id/);
  });

  it('refuses a plan whose variables changed since, naming them (exit 3), and applies nothing', () => {
    const dir = repository();
    const plans = plansDir();
    expect(cli(dir, ['plan', 'shop', '--target', 'dev', '--out', plans]).code).toBe(0);
    writeFileSync(path.join(dir, 'stacks/base.yaml'), stack('changed'));
    commitAll(dir, 'another greeting');
    const refs = git(dir, 'for-each-ref');
    const r = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', plans]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/terraform\/svc: the stored plan is stale: the variables \(terraform\.tfvars\.json\) changed since it was made/);
    expect(existsSync(statePath(dir))).toBe(false);
    // Refused before anything is written: no release, no history tag.
    expect(git(dir, 'for-each-ref')).toBe(refs);
  });

  it('refuses a plan made from another state (exit 3), naming the state', () => {
    const dir = repository();
    const plans = plansDir();
    expect(cli(dir, ['plan', 'shop', '--target', 'dev', '--out', plans]).code).toBe(0);
    // Something applied in between: the state the plan was made from is gone.
    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    const before = readFileSync(statePath(dir), 'utf8');
    const refs = git(dir, 'for-each-ref');
    const r = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', plans]);
    expect(r.code).toBe(3);
    expect(git(dir, 'for-each-ref')).toBe(refs);
    expect(r.stderr).toMatch(/terraform\/svc: the stored plan is stale: the state changed since it was made \(then no state; now serial \d+, lineage [0-9a-f-]+/);
    expect(readFileSync(statePath(dir), 'utf8')).toBe(before);
  });
});

describe('stored plans of dependent components', () => {
  it('fails a dependent whose upstream outputs changed during the run, and records what was applied', () => {
    const dir = repository(true);
    expect(cli(dir, ['rollout', 'shop', '--target', 'dev']).code).toBe(0);
    writeFileSync(path.join(dir, 'stacks/base.yaml'), stack('bye'));
    commitAll(dir, 'bye');
    // The consumer's plan reads svc's recorded output ("hello"); applying svc's plan changes it.
    const plans = plansDir();
    expect(cli(dir, ['plan', 'shop', '--target', 'dev', '--out', plans]).code).toBe(0);
    const r = cli(dir, ['rollout', 'shop', '--target', 'dev', '--from-plan', plans]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /terraform\/consumer: the stored plan is stale: the variables \(terraform\.tfvars\.json\) changed since it was made, after a dependency applied in this run changed its outputs/,
    );
    expect(applied(dir)).toEqual({ type: 'string', value: 'bye' });
    // svc's rollout is recorded: its history tag names the new commit.
    const head = git(dir, 'rev-parse', 'HEAD');
    expect(git(dir, 'rev-parse', 'refs/atmos/deployments/shop/dev/svc^{commit}')).toBe(head);
  });
});
