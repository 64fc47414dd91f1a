/**
 * The seeds' story end to end, through the real CLI, real terraform and real Git: rollout
 * dev → promote staging → prod refused without approval → approve → prod → status and
 * history → rollback. Plus every bypass attempt, failed components, concurrent rollouts and
 * a push that the remote first rejects.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, GIT_ENV, exampleGitRepo, git, makeRepo, runCli, type CliResult } from '../helpers.js';

const D = 'platform-network';
const exampleRepo = () => exampleGitRepo('atmos-pipe-story-');

function cli(dir: string, user: string, ...args: string[]): CliResult {
  return runCli(args, { cwd: dir, env: { ...GIT_ENV, ATMOS_PIPE_USER: user } });
}

function cliAsync(dir: string, user: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...GIT_ENV, ATMOS_PIPE_USER: user } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const json = <T>(r: CliResult): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

/** Every tracking ref (refs/atmos, tags, notes) with its value: to prove nothing moved. */
const trackingRefs = (dir: string) => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/atmos', 'refs/tags', 'refs/notes');

type History = Array<{
  target: string;
  component: string;
  status: string;
  release: string;
  git_sha: string;
  promoted_from: string | null;
  approved_by: string[];
  rollback_of: string | null;
  deployed_by: string;
  annotations: Record<string, string>;
}>;
type Status = Array<{ target: string; component: string; commit: string | null; release: string | null; status: string | null }>;

describe('the seeds story on the bundled example', () => {
  it('dev → staging → prod refused → approve → prod → status/history → rollback', { timeout: 240_000 }, () => {
    const dir = exampleRepo();
    const c1 = git(dir, 'rev-parse', 'HEAD');

    // 1. dev accepts any commit.
    const dev = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'dev', '--annotation', 'ticket=OPS-1');
    expect(dev.code, dev.stderr).toBe(0);
    expect(dev.stdout).toMatch(/release r-[0-9a-f]{12} \(created\)/);
    const r1 = /release (r-[0-9a-f]{12})/.exec(dev.stdout)![1];
    expect(git(dir, 'rev-parse', `refs/atmos/deployments/${D}/dev/vpc`)).toBe(c1);
    expect(git(dir, 'cat-file', '-t', `refs/tags/atmos/releases/${D}/${r1}`)).toBe('tag');
    const exported = path.join(dir, 'releases', D, 'dev', `release-${r1}.yaml`);
    expect(readFileSync(exported, 'utf8')).toContain(`git_sha: ${c1}`);
    expect(readFileSync(exported, 'utf8')).toContain('ticket: OPS-1');

    // 2. staging: a promotion of exactly what runs in dev (same release id).
    const stg = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'staging', '--promote-from', 'dev');
    expect(stg.code, stg.stderr).toBe(0);
    expect(stg.stdout).toContain(`release ${r1} (existing)`);
    expect(existsSync(path.join(dir, 'releases', D, 'staging', `release-${r1}.yaml`))).toBe(true);

    // 3. prod without an approval: refused by policy, nothing written.
    const before = trackingRefs(dir);
    const refused = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--promote-from', 'staging');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/deployments\/platform-network\.yaml:\d+:\d+: error: prod requires an approval of release r-/);
    expect(refused.stderr).toContain(`atmos-pipe approve ${D} --target prod --release ${r1}`);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(trackingRefs(dir)).toBe(before);
    expect(existsSync(path.join(dir, 'releases', D, 'prod'))).toBe(false);

    // 4. approve (another person), then prod.
    const ok = cli(dir, 'alice@example.com', 'approve', D, '--target', 'prod', '--format', 'json');
    const approval = json<{ release: string; approved_by: string; promoted_from: string }>(ok);
    expect(approval).toMatchObject({ release: r1, approved_by: 'alice@example.com', promoted_from: 'staging' });
    expect(git(dir, 'notes', '--ref', `refs/notes/atmos/${D}/approvals`, 'show', c1)).toContain('"approved_by":"alice@example.com"');
    const prod = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--promote-from', 'staging');
    expect(prod.code, prod.stderr).toBe(0);

    // 5. status and history show it.
    const status = json<Status>(cli(dir, 'x', 'status', D, '--format', 'json'));
    expect(status.map((s) => [s.target, s.component, s.commit, s.release, s.status])).toEqual([
      ['dev', 'vpc', c1, r1, 'success'],
      ['prod', 'vpc', c1, r1, 'success'],
      ['staging', 'vpc', c1, r1, 'success'],
    ]);
    let history = json<History>(cli(dir, 'x', 'history', D, '--format', 'json'));
    expect(history.map((h) => [h.target, h.status, h.promoted_from])).toEqual([
      ['prod', 'success', 'staging'],
      ['staging', 'success', 'dev'],
      ['dev', 'success', null],
    ]);
    expect(history[0]).toMatchObject({ approved_by: ['alice@example.com'], deployed_by: 'dev@example.com', release: r1, git_sha: c1 });
    expect(history[2].annotations).toEqual({ ticket: 'OPS-1' });
    // The history tag message has the exact format.
    const tag = git(dir, 'tag', '-l', `atmos/deployments/${D}/prod/vpc/*`);
    expect(tag).toMatch(/^atmos\/deployments\/platform-network\/prod\/vpc\/\d{8}T\d{6}\.\d{3}Z$/);
    expect(git(dir, 'tag', '-l', '--format=%(contents)', tag).split('\n').slice(0, 4)).toEqual(['atmos.tools/v1alpha1', 'kind: Deployment', '---', `deployment: ${D}`]);

    // 6. A second commit goes through the same path.
    const file = path.join(dir, 'deployments', `${D}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: core', 'name: core-v2'));
    git(dir, 'commit', '-qam', 'rename the VPC');
    const c2 = git(dir, 'rev-parse', 'HEAD');
    expect(cli(dir, 'dev@example.com', 'rollout', D, '--target', 'dev').code).toBe(0);
    expect(cli(dir, 'dev@example.com', 'rollout', D, '--target', 'staging', '--promote-from', 'dev').code).toBe(0);
    const p2 = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--promote-from', 'staging', '--approve', '--approver', 'bob@example.com');
    expect(p2.code, p2.stderr).toBe(0);
    const r2 = /release (r-[0-9a-f]{12})/.exec(p2.stdout)![1];
    expect(r2).not.toBe(r1);
    expect(git(dir, 'rev-parse', `refs/atmos/deployments/${D}/prod/vpc`)).toBe(c2);
    const stateV2 = readFileSync(path.join(dir, '.atmos/state', D, 'prod', 'vpc.tfstate'), 'utf8');
    expect(stateV2).toContain('core-v2');

    // 7. Rollback prod to the first release: its own commit's configuration is applied.
    const rb = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--release', r1);
    expect(rb.code, rb.stderr).toBe(0);
    expect(git(dir, 'rev-parse', `refs/atmos/deployments/${D}/prod/vpc`)).toBe(c1);
    const stateV1 = readFileSync(path.join(dir, '.atmos/state', D, 'prod', 'vpc.tfstate'), 'utf8');
    expect(stateV1).not.toContain('core-v2');
    history = json<History>(cli(dir, 'x', 'history', D, '--target', 'prod', '--format', 'json'));
    expect(history[0]).toMatchObject({ status: 'rollback', release: r1, rollback_of: r2, git_sha: c1 });
    // The working tree was not touched by the rollback.
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(c2);
    expect(git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe('');
    // A dry run makes the same choice and the same checks, plans from the release's commit, writes nothing.
    const refsBefore = trackingRefs(dir);
    const dry = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--release', r2, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would roll out ${r2} (commit ${c2.slice(0, 12)}), rolling back ${r1}; approval: recorded (bob@example.com)`);
    expect(dry.stdout).toMatch(/rollout:terraform\/vpc:apply\s+would run/);
    expect(trackingRefs(dir)).toBe(refsBefore);
    // --git-sha finds the same release.
    const bySha = cli(dir, 'dev@example.com', 'rollout', D, '--target', 'prod', '--git-sha', c2.slice(0, 10));
    expect(bySha.code, bySha.stderr).toBe(0);
    expect(bySha.stdout).toContain(`release ${r2} (existing)`);
    expect(bySha.stdout).toContain(`rollback of ${r1}`);
  });
});

describe('promotion bypass attempts are refused and leave refs untouched', () => {
  it('wrong source, skipped target, missing approval, self-approval, new commit into a promoted target', { timeout: 240_000 }, () => {
    const dir = exampleRepo();
    // distinct approvers for prod
    const file = path.join(dir, 'deployments', `${D}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('        requires_approval: true\n', '        requires_approval: true\n      approval:\n        distinct_approver: true\n'));
    git(dir, 'commit', '-qam', 'distinct approvers');
    expect(cli(dir, 'dev', 'validate', D).code).toBe(0);
    expect(cli(dir, 'dev', 'rollout', D, '--target', 'dev').code).toBe(0);
    const r1 = json<Array<{ id: string }>>(cli(dir, 'x', 'releases', D, '--format', 'json'))[0].id;

    const attempt = (args: string[], code: number, message: RegExp, user = 'dev') => {
      const before = trackingRefs(dir);
      const r = cli(dir, user, 'rollout', D, ...args);
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(trackingRefs(dir)).toBe(before);
      return r;
    };
    // A new commit straight into staging.
    const direct = attempt(['--target', 'staging'], 3, /staging accepts only promotions from dev, not a new commit/);
    expect(direct.stderr).toContain('allowed path: dev → staging');
    expect(direct.stderr).toContain(`atmos-pipe rollout ${D} --target staging --promote-from dev`);
    // Skipping staging: promote dev straight to prod, by target or by release or by commit.
    const skip = attempt(['--target', 'prod', '--promote-from', 'dev'], 3, /prod accepts promotions only from staging, not from dev/);
    expect(skip.stderr).toContain('allowed path: dev → staging → prod [approval]');
    expect(skip.stderr).toContain(`atmos-pipe approve ${D} --target prod`);
    attempt(['--target', 'prod', '--release', r1], 3, new RegExp(`release ${r1} never ran in staging`));
    attempt(['--target', 'prod', '--git-sha', git(dir, 'rev-parse', 'HEAD')], 3, /never ran in staging/);
    attempt(['--target', 'prod', '--promote-from', 'dev', '--dry-run'], 3, /prod accepts promotions only from staging, not from dev/);
    // Nothing in staging yet: nothing to promote.
    attempt(['--target', 'prod', '--promote-from', 'staging'], 3, /staging has no successful deployment/);
    // Unknown source target: a usage error.
    attempt(['--target', 'prod', '--promote-from', 'stagin'], 2, /--promote-from stagin: no such target[\s\S]*did you mean "staging"/);

    expect(cli(dir, 'dev', 'rollout', D, '--target', 'staging', '--promote-from', 'dev').code).toBe(0);
    // Missing approval.
    attempt(['--target', 'prod', '--promote-from', 'staging'], 3, /prod requires an approval/);
    // --approve without --approver and no terminal: a usage error.
    attempt(['--target', 'prod', '--promote-from', 'staging', '--approve'], 2, /--approve needs --approver/);
    // Self-approval: approving your own rollout, recorded before or given on the command line.
    attempt(['--target', 'prod', '--promote-from', 'staging', '--approve', '--approver', 'dev'], 3, /approved only by dev, who is deploying it/);
    expect(cli(dir, 'dev', 'approve', D, '--target', 'prod').code).toBe(0);
    attempt(['--target', 'prod', '--promote-from', 'staging'], 3, /someone other than the deployer/);
    // Another person's approval lets it through.
    expect(cli(dir, 'alice', 'approve', D, '--target', 'prod').code).toBe(0);
    const ok = cli(dir, 'dev', 'rollout', D, '--target', 'prod', '--promote-from', 'staging');
    expect(ok.code, ok.stderr).toBe(0);
    const h = json<History>(cli(dir, 'x', 'history', D, '--target', 'prod', '--format', 'json'));
    expect(h[0].approved_by).toEqual(['alice']);

    // --skip-promotion-check exists, and is recorded.
    const skipped = cli(dir, 'dev', 'rollout', D, '--target', 'staging', '--skip-promotion-check', '--no-cache');
    expect(skipped.code, skipped.stderr).toBe(0);
    const hs = json<History>(cli(dir, 'x', 'history', D, '--target', 'staging', '--limit', '1', '--format', 'json'));
    expect(hs[0].annotations).toEqual({ 'atmos-pipe/promotion-check': 'skipped' });
  });
});

/** Three components; `c` fails when the deployment says so. */
function failingRepo(): string {
  const dir = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/a/main.tf': 'variable "v" {}\nresource "terraform_data" "a" { input = var.v }\n',
    'components/terraform/c/main.tf': [
      'variable "fail" { default = false }',
      'resource "terraform_data" "c" {',
      '  triggers_replace = [var.fail]',
      '  provisioner "local-exec" {',
      '    command = var.fail ? "echo broken >&2; exit 7" : "true"',
      '  }',
      '}',
      '',
    ].join('\n'),
    'deployments/svc.yaml': [
      'deployment:',
      '  name: svc',
      '  components:',
      '    terraform:',
      '      a: { vars: { v: one } }',
      '      c: { vars: { fail: false } }',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}

describe('recording outcomes', () => {
  it('a failed component gets a failed history entry and keeps its previous ref; an unchanged re-run records nothing', { timeout: 120_000 }, () => {
    const dir = failingRepo();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    expect(cli(dir, 'dev', 'rollout', 'svc').code).toBe(0);
    const again = cli(dir, 'dev', 'rollout', 'svc');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged, nothing recorded');
    expect(git(dir, 'tag', '-l', 'atmos/deployments/svc/dev/*').split('\n')).toHaveLength(2);

    const f = path.join(dir, 'deployments/svc.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('v: one', 'v: two').replace('fail: false', 'fail: true'));
    git(dir, 'commit', '-qam', 'break c');
    const c2 = git(dir, 'rev-parse', 'HEAD');
    const broken = cli(dir, 'dev', 'rollout', 'svc', '--keep-going');
    expect(broken.code).toBe(1);
    expect(git(dir, 'rev-parse', 'refs/atmos/deployments/svc/dev/a')).toBe(c2);
    expect(git(dir, 'rev-parse', 'refs/atmos/deployments/svc/dev/c')).toBe(c1);
    const status = json<Status>(cli(dir, 'x', 'status', 'svc', '--format', 'json'));
    expect(status.map((s) => [s.component, s.commit, s.status])).toEqual([
      ['a', c2, 'success'],
      ['c', c1, 'failed'],
    ]);
  });

  it('two rollouts of the same target at once: both recorded, no lost update', { timeout: 120_000 }, async () => {
    const dir = failingRepo();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    const [x, y] = await Promise.all([cliAsync(dir, 'one', 'rollout', 'svc', '--no-cache'), cliAsync(dir, 'two', 'rollout', 'svc', '--no-cache')]);
    expect(x.code, x.stderr).toBe(0);
    expect(y.code, y.stderr).toBe(0);
    const h = json<History>(cli(dir, 'x', 'history', 'svc', '--component', 'a', '--format', 'json'));
    expect(h.map((e) => e.deployed_by).sort()).toEqual(['one', 'two']);
    expect(git(dir, 'rev-parse', 'refs/atmos/deployments/svc/dev/a')).toBe(c1);
    expect(x.stderr + y.stderr).not.toContain('by another process');
  });
});

describe('--push', () => {
  it('a push rejected by the remote is fetched, re-checked and retried; nothing is overwritten', { timeout: 120_000 }, () => {
    const seed = failingRepo();
    const remote = path.join(mkdtempSync(path.join(tmpdir(), 'atmos-pipe-remote-')), 'remote.git');
    git(seed, 'init', '-q', '--bare', '-b', 'main', remote);
    git(seed, 'push', '-q', remote, 'main:refs/heads/main');
    const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-clones-'));
    const a = path.join(base, 'a');
    const b = path.join(base, 'b');
    git(base, 'clone', '-q', remote, a);
    git(base, 'clone', '-q', remote, b);

    const pa = cli(a, 'alice', 'rollout', 'svc', '--push');
    expect(pa.code, pa.stderr).toBe(0);
    expect(pa.stdout).toContain('pushed to origin');
    const tagA = git(remote, 'tag', '-l', 'atmos/deployments/svc/dev/a/*');
    const tagAObject = git(remote, 'rev-parse', `refs/tags/${tagA}`);

    // b deployed a newer commit, later, without having fetched a's records: its lease is stale.
    const fb = path.join(b, 'deployments/svc.yaml');
    writeFileSync(fb, readFileSync(fb, 'utf8').replace('v: one', 'v: two'));
    git(b, 'commit', '-qam', 'b changes a');
    const pb = cli(b, 'bob', 'rollout', 'svc', '--push', '--no-fetch');
    expect(pb.code, pb.stderr).toBe(0);
    expect(pb.stdout).toMatch(/pushed to origin \(\d+ refs, after 2 attempts\)/);
    const tags = git(remote, 'tag', '-l', 'atmos/deployments/svc/dev/a/*').split('\n');
    expect(tags).toHaveLength(2);
    expect(git(remote, 'rev-parse', `refs/tags/${tagA}`)).toBe(tagAObject);
    expect(git(remote, 'rev-parse', 'refs/atmos/deployments/svc/dev/a')).toBe(git(b, 'rev-parse', 'HEAD'));
    expect(git(remote, 'tag', '-l', 'atmos/releases/svc/*').split('\n')).toHaveLength(2);

    // A third clone releases a's commit again: same release id, made independently. The
    // remote's tag is adopted (releases are content-addressed), nothing is overwritten.
    const c = path.join(base, 'c');
    git(base, 'clone', '-q', '--no-tags', remote, c);
    git(c, 'checkout', '-q', git(a, 'rev-parse', 'HEAD'));
    const releaseA = git(remote, 'tag', '-l', 'atmos/releases/svc/*', '--points-at', git(a, 'rev-parse', 'HEAD'));
    const releaseAObject = git(remote, 'rev-parse', `refs/tags/${releaseA}`);
    const pc = cli(c, 'carol', 'release', 'svc', '--push', '--no-fetch');
    expect(pc.code, pc.stderr).toBe(0);
    expect(pc.stdout).toContain(releaseA.split('/').pop()!);
    expect(git(remote, 'rev-parse', `refs/tags/${releaseA}`)).toBe(releaseAObject);
    expect(git(c, 'rev-parse', `refs/tags/${releaseA}`)).toBe(releaseAObject);
  });
});

describe('release', () => {
  it('is content-addressed and idempotent, with annotations, a tag and an exported file; needs Git', { timeout: 60_000 }, () => {
    const dir = failingRepo();
    const sha = git(dir, 'rev-parse', 'HEAD');
    const first = json<{ id: string; created: boolean; tag: string; file: string; record: { annotations: Record<string, string>; git_sha: string } }>(
      cli(dir, 'rel', 'release', 'svc', '--annotation', 'ticket=OPS-7', '--annotation', 'reason=a=b', '--format', 'json'),
    );
    expect(first).toMatchObject({ created: true, tag: `atmos/releases/svc/${first.id}`, file: `releases/svc/dev/release-${first.id}.yaml` });
    expect(first.record).toMatchObject({ git_sha: sha, annotations: { ticket: 'OPS-7', reason: 'a=b' } });
    expect(git(dir, 'tag', '-l', '--format=%(contents)', first.tag)).toContain('kind: Release');
    expect(readFileSync(path.join(dir, first.file), 'utf8')).toContain('ticket: OPS-7');
    // Again (through the pipeline form): the same id, nothing new.
    const again = cli(dir, 'rel', 'run', 'release', 'svc');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`release ${first.id} already existed`);
    expect(git(dir, 'tag', '-l', 'atmos/releases/svc/*')).toBe(first.tag);
    // Bad annotation, not a Git repository, flags of rollout on plan: exit 2, nothing written.
    expect(cli(dir, 'rel', 'release', 'svc', '--annotation', 'novalue').code).toBe(2);
    expect(cli(dir, 'rel', 'run', 'plan', 'svc', '--promote-from', 'dev').code).toBe(2);
    const bare = makeRepo({ 'deployments/x.yaml': 'deployment:\n  name: x\n  targets:\n    dev: {}\n' });
    const r = cli(bare, 'rel', 'release', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/release needs Git/);
    expect(existsSync(path.join(bare, 'releases'))).toBe(false);
  });
});
