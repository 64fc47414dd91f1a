/**
 * Issue 11, item 1: upstream outputs are real or the run stops. Through the real CLI, real
 * terraform and real Git on the bundled example (ecs/service-api reads
 * `{{ terraform.ecr/api.outputs.repository_url }}`), and the Terraform module's own refusal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModuleContext } from '../../src/module/index.js';
import { Cas } from '../../src/cache/cas.js';
import { DiagnosticError } from '../../src/diagnostics/index.js';
import { loadDeployment, openRepository, resolve } from '../../src/index.js';
import { applySteps, terraformInputs, type TerraformInputs } from '../../modules/terraform/index.js';
import { cli, commitAll, exampleGitRepo, git } from '../security/fixture.js';

const D = 'payment-service';
/** What a template evaluated to without the output (Terraform's own plan text says "(known after apply)"). */
const MARKER = '(known after apply: terraform/';
const DEP_FILE = 'deployments/payment-service.yaml';

/** Line (1-based) of the first line of the deployment file containing `needle`. */
function lineOf(dir: string, needle: string): number {
  return (
    readFileSync(path.join(dir, DEP_FILE), 'utf8')
      .split('\n')
      .findIndex((l) => l.includes(needle)) + 1
  );
}

/** Every file below dir whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return hits;
}

const trackingRefs = (dir: string) => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/atmos', 'refs/tags', 'refs/notes');
const historyTags = (dir: string, component: string) => git(dir, 'for-each-ref', '--format=%(refname:short)', `refs/tags/atmos/deployments/${D}/dev/${component}/`).split('\n').filter(Boolean);
const tagMessage = (dir: string, tag: string) => git(dir, 'for-each-ref', '--format=%(contents)', `refs/tags/${tag}`);

describe('a component run without its dependencies', () => {
  it('exits 2 before anything runs when the dependency was never applied, naming it and the command that applies it', { timeout: 120_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    const r = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${DEP_FILE}:${lineOf(dir, 'ecr_repository_url:')}:`);
    expect(r.stderr).toContain('terraform/ecs/service-api needs {{ terraform.ecr/api.outputs.repository_url }}, but terraform/ecr/api is not part of this run and has never been applied to dev');
    expect(r.stderr).toContain(`atmos-pipe rollout ${D} --target dev --component terraform/ecr/api`);
    expect(r.stderr).toContain('--with-deps');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing ran and nothing was written: no build, no tfvars, no state, no release, no history.
    expect(existsSync(path.join(dir, '.atmos'))).toBe(false);
    expect(existsSync(path.join(dir, 'releases'))).toBe(false);
    expect(trackingRefs(dir)).toBe('');
  });

  it('after a full rollout, a single-component rollout of a new commit applies the recorded repository_url', { timeout: 240_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    const full = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(full.code, full.stderr).toBe(0);
    // The history record of ecr/api carries its (non-sensitive) outputs.
    const [ecrTag] = historyTags(dir, 'ecr/api');
    const recorded = tagMessage(dir, ecrTag);
    const url = /repository_url: (\S+)/.exec(recorded)?.[1];
    expect(url).toMatch(/^\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com\/acme\/payment-api$/);

    // A new commit changing only ecs-service vars, rolled out alone (as a matrix job does).
    const file = path.join(dir, DEP_FILE);
    writeFileSync(file, readFileSync(file, 'utf8').replace('cluster_name: payments', 'cluster_name: payments-blue'));
    commitAll(dir, 'ecs: blue cluster');
    const one = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api', '--events', 'ndjson']);
    expect(one.code, one.stderr).toBe(0);
    const finished = one.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; id?: string; status?: string })
      .filter((e) => e.type === 'step.finished');
    expect(finished.find((e) => e.id === 'rollout:terraform/ecs/service-api:apply')?.status).toBe('done');
    expect(finished.some((e) => e.id?.includes('terraform/ecr/api'))).toBe(false); // the dependency did not run
    expect(historyTags(dir, 'ecr/api')).toEqual([ecrTag]);

    // The applied value, read from the state Terraform wrote: the recorded URL, never a placeholder.
    const state = readFileSync(path.join(dir, '.atmos/state', D, 'dev/ecs/service-api.tfstate'), 'utf8');
    expect(state).toContain('"cluster": "payments-blue"');
    expect(state).toContain(`"execution_role_pulls": "${url}"`);
    expect(filesContaining(path.join(dir, '.atmos'), MARKER)).toEqual([]);
    // And the new deployment of ecs/service-api records its own outputs in turn.
    const [ecsTag] = historyTags(dir, 'ecs/service-api').slice(-1);
    expect(tagMessage(dir, ecsTag)).toContain('cluster_name: payments-blue');
  });

  it('promoting one component needs its dependency at the same release in the target', { timeout: 240_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    expect(cli(dir, ['rollout', D, '--target', 'dev']).code).toBe(0);
    const before = trackingRefs(dir);
    const r = cli(dir, ['rollout', D, '--target', 'staging', '--promote-from', 'dev', '--component', 'ecs/service-api']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('terraform/ecr/api is not part of this run and has never been applied to staging');
    expect(r.stderr).toContain(`atmos-pipe rollout ${D} --target staging --promote-from dev --component terraform/ecr/api`);
    expect(trackingRefs(dir)).toBe(before);
    expect(existsSync(path.join(dir, '.atmos/state', D, 'staging'))).toBe(false);
    // Following the hint, then the component alone, works.
    expect(cli(dir, ['rollout', D, '--target', 'staging', '--promote-from', 'dev', '--component', 'terraform/ecr/api']).code).toBe(0);
    const ok = cli(dir, ['rollout', D, '--target', 'staging', '--promote-from', 'dev', '--component', 'ecs/service-api']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a dependency recorded without outputs (an older record) is no source; re-applying it records them', { timeout: 240_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    expect(cli(dir, ['rollout', D, '--target', 'dev']).code).toBe(0);
    // Rewrite ecr/api's history record as an older atmos-pipe wrote it: no outputs.
    const [tag] = historyTags(dir, 'ecr/api');
    const message = tagMessage(dir, tag);
    const old = message.slice(0, message.indexOf('outputs:'));
    expect(old).not.toContain('repository_url');
    git(dir, 'tag', '-f', '-a', '-m', old, tag, git(dir, 'rev-parse', `${tag}^{commit}`));
    const r = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`terraform/ecr/api is not part of this run and recorded no outputs when it was applied to dev (${tag})`);
    // The command of the hint: an unchanged re-run (all cached), which now completes the record.
    const again = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecr/api']);
    expect(again.code, again.stderr).toBe(0);
    const tags = historyTags(dir, 'ecr/api');
    expect(tags).toHaveLength(2);
    expect(tagMessage(dir, tags.find((t) => t !== tag)!)).toContain('repository_url: ');
    const ok = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('never records a sensitive output in Git, and a component that needs one must run with its dependency', { timeout: 240_000 }, () => {
    const secret = 'hunter2-sensitive-4711';
    const dir = exampleGitRepo('atmos-pipe-upstream-', (d) => {
      // Computed, so that the value itself is in no committed file.
      writeFileSync(path.join(d, 'components/terraform/ecr/secret.tf'), `output "pull_token" {\n  value     = join("-", ${JSON.stringify(secret.split('-'))})\n  sensitive = true\n}\n`);
      writeFileSync(path.join(d, 'components/terraform/ecs-service/token.tf'), 'variable "pull_token" {\n  type    = string\n  default = ""\n}\n');
      const f = path.join(d, DEP_FILE);
      writeFileSync(f, readFileSync(f, 'utf8').replace('          cluster_name: payments\n', '          cluster_name: payments\n          pull_token: "{{ terraform.ecr/api.outputs.pull_token }}"\n'));
    });
    const full = cli(dir, ['rollout', D, '--target', 'dev']);
    expect(full.code, full.stderr).toBe(0);
    const objects = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch', '--unordered'], { cwd: dir, maxBuffer: 1 << 30 }).stdout.toString('latin1');
    expect(objects).toContain('repository_url: ');
    expect(objects).not.toContain(secret);
    const r = cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('has no recorded output "pull_token" in dev (sensitive outputs are never recorded)');
    expect(r.stderr).toContain('--with-deps');
    expect(cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecs/service-api', '--with-deps']).code).toBe(0);
  });
});

describe('templates naming outputs', () => {
  it('a misspelt output is a located exit-2 error of validate and of every command that resolves', { timeout: 60_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-', (d) => {
      const f = path.join(d, DEP_FILE);
      writeFileSync(f, readFileSync(f, 'utf8').replace('outputs.repository_url', 'outputs.repository_ulr'));
    });
    const where = `${DEP_FILE}:${lineOf(dir, 'ecr_repository_url:')}:31: error: {{ terraform.ecr/api.outputs.repository_ulr }}: terraform/ecr/api (module ecr) declares no output "repository_ulr"`;
    const v = cli(dir, ['validate', D]);
    expect(v.code).toBe(2);
    expect(v.stdout + v.stderr).toContain(where);
    expect(v.stdout + v.stderr).toContain('did you mean "repository_url"?');
    for (const args of [
      ['describe', D, '--target', 'dev'],
      ['rollout', D, '--target', 'dev'],
      ['plan', D, '--target', 'prod'],
    ]) {
      const r = cli(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(where);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(path.join(dir, '.atmos'))).toBe(false);
  });
});

describe('plan with an unknown upstream', () => {
  it('shows the component and the value as unknown, plans the rest, and exits 0', { timeout: 180_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    expect(cli(dir, ['build', D]).code).toBe(0);
    const r = cli(dir, ['plan', D, '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/terraform\/ecr\/api\s+1\s+0\s+0/);
    expect(r.stdout).toMatch(/terraform\/ecs\/service-api\s+\?\s+\?\s+\?/);
    expect(r.stdout).toContain('terraform/ecs/service-api: {{ terraform.ecr/api.outputs.repository_url }} is unknown (terraform/ecr/api has never been applied to dev); not planned');
    expect(r.stdout + r.stderr).not.toContain(MARKER);
    expect(filesContaining(path.join(dir, '.atmos'), MARKER)).toEqual([]);
    // Once ecr/api is applied, the plan of ecs/service-api uses its recorded outputs.
    expect(cli(dir, ['rollout', D, '--target', 'dev', '--component', 'terraform/ecr/api']).code).toBe(0);
    const after = cli(dir, ['plan', D, '--target', 'dev']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/terraform\/ecs\/service-api\s+\d+\s+\d+\s+\d+/);
    expect(after.stdout).not.toContain('unknown');
  });
});

describe('the Terraform module', () => {
  it('refuses to build apply steps whose vars hold the unknown-value marker anywhere, at any depth', async () => {
    const dir = exampleGitRepo('atmos-pipe-upstream-');
    const repo = openRepository({ cwd: dir });
    const resolved = await resolve(repo, loadDeployment(repo, D), 'dev');
    const ecs = resolved.components.find((c) => c.address === 'terraform/ecs/service-api')!;
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-upstream-cas-'));
    const ctx = (vars: Record<string, unknown>): ModuleContext<TerraformInputs> => ({
      inputs: terraformInputs.parse({}),
      deployment: D,
      target: 'dev',
      pipeline: 'rollout',
      runId: 'test',
      component: { ...ecs, vars },
      outputsOf: () => undefined,
      cas: new Cas(path.join(cacheDir, 'cache')),
      repoRoot: dir,
      cacheDir,
      tools: { terraform: { command: 'terraform', version: '1.11.4' } },
      options: { lockTimeoutSeconds: 30, noCache: false },
      stepId: (name) => `rollout:${ecs.address}:${name}`,
    });
    const refused = (vars: Record<string, unknown>) => {
      try {
        applySteps(ctx(vars));
      } catch (e) {
        expect(e).toBeInstanceOf(DiagnosticError);
        return (e as DiagnosticError).diagnostics[0];
      }
      return undefined;
    };
    // Resolved without the dependency's outputs: the template's placeholder is refused.
    const top = refused(ecs.vars);
    expect(top?.code).toBe('terraform/unknown-value');
    expect(top?.message).toContain('ecr_repository_url');
    const known = { ...ecs.vars, ecr_repository_url: '111111111111.dkr.ecr.us-east-1.amazonaws.com/acme/payment-api' };
    const deep = refused({ ...known, environment_variables: { A: ['x', { B: 'prefix (known after apply: terraform/x.outputs.y) suffix' }] } });
    expect(deep?.message).toContain('vars.environment_variables.A[1].B');
    expect(refused({ ...known, tags: { [`${MARKER}x.outputs.k)`]: 'v' } })?.code).toBe('terraform/unknown-value');
    expect(refused(known)).toBeUndefined();
    expect(applySteps(ctx(known)).map((s) => s.module)).toEqual(['terraform.init', 'terraform.apply', 'terraform.output']);
  });
});
