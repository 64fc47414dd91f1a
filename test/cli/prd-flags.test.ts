/**
 * The PRD's flags of build, test, release, approve, rollout and sbom (cli-commands.md,
 * cli-integration.md), each through dist/cli.mjs as a separate process, on a real Git
 * repository with real Terraform (local state) — and, for images, the example service built
 * in the sandbox and pushed to a real registry.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseRepo, CLI, exampleGitRepo, GIT_ENV, git, makeRepo, runCli, type CliResult } from '../helpers.js';
import { registryForSuite } from '../oci/registry-server.js';

const ENV: Record<string, string> = { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' };

/** baseRepo (db → app; prod promoted from dev with approval) with app's cpu as an output, committed. */
function shopRepo(): { dir: string; cli: (...args: string[]) => CliResult } {
  const files = baseRepo();
  files['components/terraform/app/main.tf'] += 'output "cpu" { value = var.cpu }\n';
  files['.gitignore'] = '.atmos/\n';
  const dir = makeRepo(files);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return { dir, cli: (...args: string[]) => runCli(args, { cwd: dir, env: ENV }) };
}

const appCpu = (dir: string, target = 'dev'): unknown => JSON.parse(readFileSync(path.join(dir, `.atmos/state/shop/${target}/app.tfstate`), 'utf8')).outputs.cpu.value;
const releaseIdOf = (r: CliResult): string => {
  expect(r.code, r.stderr).toBe(0);
  // The result (release line) is on stdout; `release` prints `release <id> created|already existed`.
  const m = /^release (\S+) \((created|existing)\)/m.exec(r.stdout) ?? /^release (\S+) (created|already existed)/m.exec(r.stdout);
  expect(m, `stderr: ${r.stderr}\nstdout: ${r.stdout}`).not.toBeNull();
  return m![1];
};
/** Every deployment record (tags, refs, notes): what a command that records nothing leaves as it was. */
const refs = (dir: string): string => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/tags', 'refs/atmos', 'refs/notes');

describe('--context k=v (cli-integration.md:55)', () => {
  it('overrides the target context, enters the fingerprints and the release, and a rollout of that release applies it again', { timeout: 120_000 }, () => {
    const { dir, cli } = shopRepo();
    const withCtx = releaseIdOf(cli('rollout', 'shop', '--target', 'dev', '--context', 'cpu=512'));
    expect(appCpu(dir)).toBe(512);
    const record = readFileSync(path.join(dir, `releases/shop/dev/release-${withCtx}.yaml`), 'utf8');
    expect(record).toMatch(/\ncontext:\n {2}cpu: 512\n/);
    expect(git(dir, 'cat-file', '-p', `atmos/releases/shop/${withCtx}`)).toMatch(/\ncontext:\n {2}cpu: 512(\n|$)/);

    const without = releaseIdOf(cli('rollout', 'shop', '--target', 'dev'));
    expect(without).not.toBe(withCtx);
    expect(appCpu(dir)).toBe(256);

    // What runs changes with the override: the steps' fingerprints (db's does not read cpu).
    const fp = (args: string[]) =>
      Object.fromEntries(
        (JSON.parse(cli('rollout', 'shop', '--target', 'dev', '--dry-run', '--format', 'json', ...args).stdout).steps as { id: string; fingerprint: string }[]).map((s) => [s.id, s.fingerprint]),
      );
    const plain = fp([]);
    const over = fp(['--context', 'cpu=512']);
    expect(over['rollout:terraform/app:apply']).not.toBe(plain['rollout:terraform/app:apply']);
    expect(over['rollout:terraform/db:apply']).toBe(plain['rollout:terraform/db:apply']);

    // Rolling the release out again applies the overrides it was made with.
    const again = cli('rollout', 'shop', '--target', 'dev', '--release', withCtx);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`release ${withCtx} carries the context overrides it was made with: cpu=512`);
    expect(appCpu(dir)).toBe(512);

    // Other overrides on an existing release: a usage error, nothing written.
    const before = refs(dir);
    const mixed = cli('rollout', 'shop', '--target', 'dev', '--release', withCtx, '--context', 'cpu=1');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('runs with the context it was made with (cpu=512)');
    expect(refs(dir)).toBe(before);
  });

  it('a malformed override is exit 2 before anything runs; an unknown key is a warning with "did you mean"', () => {
    const { dir, cli } = shopRepo();
    for (const bad of ['cpu', '=1', 'a.b=1', 'x=[1,']) {
      const r = cli('rollout', 'shop', '--target', 'dev', '--context', bad);
      expect(r.code, bad).toBe(2);
      expect(r.stderr, bad).toContain('--context');
    }
    expect(cli('build', 'shop', '--context', 'cpu=1', '--context', 'cpu=2').code).toBe(2);
    const typo = cli('rollout', 'shop', '--target', 'dev', '--context', 'cpux=3', '--dry-run');
    expect(typo.code, typo.stderr).toBe(0);
    expect(typo.stderr).toContain('--context cpux: no Terraform module');
    expect(typo.stderr).toContain('did you mean "cpu"?');
    expect(refs(dir)).toBe('');
  });
});

describe('release --id (cli-commands.md:143)', () => {
  it('names the release; the same content again is idempotent; another content under that id is refused (exit 3) and history stays', { timeout: 60_000 }, () => {
    const { dir, cli } = shopRepo();
    const r = cli('release', 'shop', '--target', 'dev', '--id', 'v1.2.3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^release v1\.2\.3 created/);
    const tag = git(dir, 'rev-parse', 'refs/tags/atmos/releases/shop/v1.2.3');
    const record = readFileSync(path.join(dir, 'releases/shop/dev/release-v1.2.3.yaml'), 'utf8');
    expect(record).toMatch(/\nid: v1\.2\.3\ncontent_id: r-[0-9a-f]{12}\n/);
    expect(cli('release', 'shop', '--target', 'dev', '--id', 'v1.2.3').stdout).toMatch(/^release v1\.2\.3 already existed/);

    // Other content (a context override) under the same id.
    const other = cli('release', 'shop', '--target', 'dev', '--id', 'v1.2.3', '--context', 'cpu=999');
    expect(other.code).toBe(3);
    expect(other.stderr).toContain('already exists with other content');
    // Another commit under the same id.
    writeFileSync(path.join(dir, 'stacks/catalog/app.yaml'), `${readFileSync(path.join(dir, 'stacks/catalog/app.yaml'), 'utf8')}# changed\n`);
    git(dir, 'commit', '-qam', 'change');
    expect(cli('release', 'shop', '--target', 'dev', '--id', 'v1.2.3').code).toBe(3);
    expect(git(dir, 'rev-parse', 'refs/tags/atmos/releases/shop/v1.2.3')).toBe(tag);
    expect(readFileSync(path.join(dir, 'releases/shop/dev/release-v1.2.3.yaml'), 'utf8')).toBe(record);

    for (const bad of ['r-abc123', '../x', '-v1', 'a..b', 'x.lock', 'v'.repeat(64)]) expect(cli('release', 'shop', '--target', 'dev', '--id', bad).code, bad).toBe(2);

    // The named release rolls out by its id.
    const out = cli('rollout', 'shop', '--target', 'dev', '--release', 'v1.2.3');
    expect(out.code, out.stderr).toBe(0);
    expect(git(dir, 'cat-file', '-p', git(dir, 'for-each-ref', '--format=%(refname)', 'refs/tags/atmos/deployments/shop/dev/app'))).toContain('release: v1.2.3');
  });
});

describe('sbom --git-sha (cli-integration.md:398)', () => {
  it('prints the SBOM of the release made at that commit, as the release attached it', { timeout: 60_000 }, () => {
    const { dir, cli } = shopRepo();
    expect(cli('release', 'shop', '--target', 'dev').code).toBe(0);
    const sha = git(dir, 'rev-parse', 'HEAD');
    // A later commit: the SBOM still describes the release's own commit.
    writeFileSync(path.join(dir, 'components/terraform/db/extra.tf'), 'output "x" { value = 1 }\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'later');
    const r = cli('sbom', 'shop', '--git-sha', sha.slice(0, 10));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(git(dir, 'notes', '--ref', 'atmos/shop/sbom', 'show', sha));
    expect(JSON.parse(r.stdout).metadata.component.name).toBe('shop');
    const missing = cli('sbom', 'shop', '--git-sha', 'deadbeef');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no release of shop was made at this commit');
  });
});

describe('approve --component and --timeout (cli-commands.md:273, 276)', () => {
  it('a component approval lets only that component through; --timeout waits for someone else’s approval, else exit 3', { timeout: 120_000 }, async () => {
    const { dir, cli } = shopRepo();
    expect(cli('rollout', 'shop', '--target', 'dev').code).toBe(0);
    expect(cli('approve', 'shop', '--target', 'prod', '--component', 'nope').code).toBe(2);
    const a = cli('approve', 'shop', '--target', 'prod', '--component', 'terraform/db', '--approver', 'alice@example.com');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('(components db)');

    const before = refs(dir);
    const whole = cli('rollout', 'shop', '--target', 'prod', '--promote-from', 'dev');
    expect(whole.code).toBe(3);
    expect(whole.stderr).toContain('approved only for db, not for app');
    expect(refs(dir)).toBe(before);
    const dbOnly = cli('rollout', 'shop', '--target', 'prod', '--promote-from', 'dev', '--component', 'db');
    expect(dbOnly.code, dbOnly.stderr).toBe(0);
    expect(dbOnly.stdout).toContain('approved by alice@example.com');

    // Waiting: the db-only approval is not a whole one, so nothing comes within 1s.
    const timedOut = cli('approve', 'shop', '--target', 'prod', '--timeout', '1s');
    expect(timedOut.code).toBe(3);
    expect(timedOut.stderr).toContain('was recorded within 1s');
    expect(cli('approve', 'shop', '--target', 'prod', '--timeout', '1s', '--approver', 'x').code).toBe(2);
    expect(cli('approve', 'shop', '--target', 'prod', '--timeout', 'soon').code).toBe(2);

    // A waiter in another process sees bob's approval when he records it.
    const waiter = spawn(process.execPath, [CLI, 'approve', 'shop', '--target', 'prod', '--timeout', '5m'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', ...ENV } });
    let out = '';
    let err = '';
    waiter.stdout.on('data', (d) => {
      out += d;
    });
    waiter.stderr.on('data', (d) => {
      err += d;
    });
    await new Promise<void>((resolve) => {
      const check = () => (err.includes('waiting up to') ? resolve() : setTimeout(check, 100));
      check();
    });
    expect(cli('approve', 'shop', '--target', 'prod', '--approver', 'bob@example.com').code).toBe(0);
    const code = await new Promise<number | null>((resolve) => waiter.on('exit', resolve));
    expect(code, err).toBe(0);
    expect(out).toContain('approval received');
    expect(out).toContain('by bob@example.com');
    expect(cli('rollout', 'shop', '--target', 'prod', '--promote-from', 'dev').code).toBe(0);
  });
});

describe('rollout --plan (cli-commands.md:199)', () => {
  it('plans exactly the rollout (same release and checks), applies and records nothing, and --from-plan applies that plan', { timeout: 120_000 }, () => {
    const { dir, cli } = shopRepo();
    expect(cli('rollout', 'shop', '--target', 'dev').code).toBe(0);
    const before = refs(dir);
    const promo = cli('rollout', 'shop', '--target', 'prod', '--promote-from', 'dev', '--plan');
    expect(promo.code, promo.stderr).toBe(0);
    expect(promo.stdout).toMatch(/terraform\/db\s+\d+\s+\d+\s+\d+/);
    expect(promo.stderr).toMatch(/planning release r-[0-9a-f]{12} \(commit [0-9a-f]{12}\) from dev/);
    expect(refs(dir)).toBe(before);
    // The same checks as the rollout: prod takes only promotions.
    const refused = cli('rollout', 'shop', '--target', 'prod', '--plan');
    expect(refused.code, refused.stderr).toBe(3);
    expect(cli('rollout', 'shop', '--target', 'dev', '--plan', '--approve').code).toBe(2);

    const plan = cli('rollout', 'shop', '--target', 'dev', '--context', 'cpu=300', '--plan');
    expect(plan.code, plan.stderr).toBe(0);
    expect(appCpu(dir)).toBe(256);
    expect(refs(dir)).toBe(before);
    const id = /rollout --from-plan (sha256:[0-9a-f]{64})/.exec(plan.stderr)?.[1];
    expect(id, plan.stderr).toBeDefined();
    // Without the override app's variables differ from the plan's: its stored plan is refused as stale.
    const stale = cli('rollout', 'shop', '--target', 'dev', '--from-plan', id!);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('terraform/app: the stored plan is stale: the variables');
    expect(appCpu(dir)).toBe(256);
    const applied = cli('rollout', 'shop', '--target', 'dev', '--context', 'cpu=300', '--from-plan', id!);
    expect(applied.code, applied.stderr).toBe(0);
    expect(appCpu(dir)).toBe(300);
  });
});

describe('nixpack: test --command and build --tag (cli-commands.md:112, 95)', () => {
  const registry = registryForSuite();

  it('test --command runs that shell command instead of test_cmd, and is part of the fingerprint', { timeout: 180_000 }, () => {
    const dir = exampleGitRepo('atmos-pipe-prdb-');
    const cli = (...args: string[]) => runCli(args, { cwd: dir, env: ENV });
    const failing = cli('test', 'payment-service', '--target', 'dev', '--command', 'echo custom-ran-$((6*7)); exit 7');
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('custom-ran-42');
    const ok = cli('test', 'payment-service', '--target', 'dev', '--command', 'test -f package.json', '--events', 'ndjson');
    expect(ok.code, ok.stderr).toBe(0);
    const testStep = (r: CliResult) =>
      r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((e) => e.type === 'step.finished' && e.id.endsWith(':test'));
    expect(testStep(ok).status).toBe('done');
    expect(testStep(cli('test', 'payment-service', '--target', 'dev', '--command', 'test -f package.json', '--events', 'ndjson')).status).toBe('cached');
    expect(cli('test', 'payment-service', '--command', '  ').code).toBe(2);
  });

  it('build --tag stores and pushes the same image under the extra tag', { timeout: 180_000 }, async () => {
    const dir = exampleGitRepo('atmos-pipe-prdb-', (d) => {
      const f = path.join(d, 'deployments/payment-service.yaml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8')
          .replace('            name: payment-api\n', `            registry: ${registry().host}\n            name: payment-api\n`)
          .replace('            publish: false', '            publish: true'),
      );
    });
    const cli = (...args: string[]) => runCli(args, { cwd: dir, env: ENV });
    expect(cli('build', 'payment-service', '--tag', 'bad tag').code).toBe(2);
    const r = cli('build', 'payment-service', '--target', 'dev', '--tag', 'v1.2.3');
    expect(r.code, r.stderr).toBe(0);
    const digest = /payment-api@(sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1];
    expect(digest, r.stdout).toBeDefined();
    expect(r.stdout).toContain('v1.2.3');
    const sha = git(dir, 'rev-parse', 'HEAD');
    for (const tag of [sha, 'v1.2.3']) {
      const res = await fetch(`http://${registry().host}/v2/payment-api/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(res.status, tag).toBe(200);
      expect(res.headers.get('docker-content-digest'), tag).toBe(digest);
    }
    const index = JSON.parse(readFileSync(path.join(dir, '.atmos/images/index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    expect(index.manifests.some((m) => m.digest === digest && m.annotations?.['org.opencontainers.image.ref.name'] === 'payment-api:v1.2.3')).toBe(true);
  });
});
