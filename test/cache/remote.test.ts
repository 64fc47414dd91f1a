/**
 * Issue 19: a cache shared across machines that a pull request cannot poison. Two clones of
 * one bare Git repository at different paths act as two CI runners holding the same
 * ATMOS_PIPE_CACHE_KEY; the remote cache is a real registry (Debian's docker-registry on
 * 127.0.0.1) or a shared directory. Real CLI processes, real terraform, real Git.
 *
 * Terraform and npm are reached through PATH wrappers that log every invocation (version
 * probes aside), so "no process ran" is counted, not inferred. Steps run unsandboxed
 * (ATMOS_PIPE_SANDBOX=off) so the wrappers can write their log.
 *
 * Terraform state: the local backend keeps it in `.atmos/state` of one clone; apply steps
 * include the digest of the state they start from. A shared state backend (pg) is what makes
 * that digest the same on every runner; here the second runner gets a copy of the first's
 * state directory, which is what a shared backend would show it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, exampleGitRepo, GIT_ENV, git, writeFiles } from '../helpers.js';
import { freePort, haveRegistry, startRegistry, type RunningRegistry } from '../oci/registry-server.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
const temp = (prefix: string) => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** PATH wrappers for terraform and npm that log each invocation (not version probes) to one file. */
function countingTools(): { bin: string; count: () => { terraform: number; npm: number } } {
  const dir = temp('atmos-pipe-tools-');
  const log = path.join(dir, 'invocations.log');
  writeFileSync(log, '');
  for (const [name, real] of [
    ['terraform', which('terraform')],
    ['npm', which('npm')],
  ]) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\ncase "$1" in version|--version|-version|-v) ;; *) echo "${name} $*" >> ${JSON.stringify(log)} ;; esac\nexec ${JSON.stringify(real)} "$@"\n`);
    chmodSync(file, 0o755);
  }
  return {
    bin: dir,
    count: () => {
      const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      return { terraform: lines.filter((l) => l.startsWith('terraform ')).length, npm: lines.filter((l) => l.startsWith('npm ')).length };
    },
  };
}

/** The CI variables a developer's shell or the test runner may carry: cleared, so each test says which ref it runs on. */
const NO_CI_REF: Record<string, string> = Object.fromEntries(
  [
    'GITHUB_ACTIONS',
    'GITHUB_EVENT_NAME',
    'GITHUB_REF',
    'GITHUB_HEAD_REF',
    'GITHUB_EVENT_PATH',
    'GITLAB_CI',
    'CI_COMMIT_REF_NAME',
    'CI_MERGE_REQUEST_IID',
    'CI_DEFAULT_BRANCH',
    'CIRCLE_BRANCH',
    'CIRCLE_PULL_REQUEST',
    'CIRCLE_PR_NUMBER',
    'BUILDKITE_BRANCH',
    'BUILDKITE_PULL_REQUEST',
    'CHANGE_ID',
    'BRANCH_NAME',
    'ATMOS_PIPE_CACHE_KEY',
  ].map((k) => [k, '']),
);

interface Runner {
  dir: string;
  tools: ReturnType<typeof countingTools>;
  /** The CLI as a separate process (asynchronously: a long run must not block the test worker). */
  run(args: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
}

const KEY = 'ci-secret-0123456789abcdef';

/** A clone of `bare` at a fresh path, as one CI runner with its own (empty) .atmos. */
function runner(bare: string, name: string, baseEnv: Record<string, string> = {}): Runner {
  const dir = path.join(temp(`atmos-pipe-${name}-`), 'checkout', 'repo');
  mkdirSync(path.dirname(dir), { recursive: true });
  git(path.dirname(dir), 'clone', '-q', bare, dir);
  const tools = countingTools();
  return {
    dir,
    tools,
    run(args, env = {}) {
      return runCli(dir, args, {
        ...process.env,
        ...GIT_ENV,
        ...NO_CI_REF,
        NO_COLOR: '1',
        ATMOS_PIPE_SANDBOX: 'off',
        ATMOS_PIPE_USER: 'ci@example.com',
        ATMOS_PIPE_CACHE_KEY: KEY,
        PATH: `${tools.bin}:${process.env.PATH}`,
        ...baseEnv,
        ...env,
      });
    },
  };
}

/** A bare repository holding `dir`'s history (what the runners clone). */
function bareOf(dir: string): string {
  const bare = path.join(temp('atmos-pipe-bare-'), 'repo.git');
  git(path.dirname(bare), 'clone', '-q', '--bare', dir, bare);
  return bare;
}

/** What a shared backend shows the second runner: the first runner's Terraform state. */
function shareState(from: Runner, to: Runner): void {
  cpSync(path.join(from.dir, '.atmos', 'state'), path.join(to.dir, '.atmos', 'state'), { recursive: true });
}

/** The steps of a run by status (from --events ndjson); a step that ran again has its last status. */
function statuses(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, status] of finished(stdout)) out[id] = status;
  return out;
}

/** Every step.finished event of a run as [id, status], in order. */
function finished(stdout: string): [string, string][] {
  const out: [string, string][] = [];
  for (const l of stdout.split('\n')) {
    if (!l.startsWith('{')) continue;
    const e = JSON.parse(l) as { type: string; id?: string; status?: string };
    if (e.type === 'step.finished' && e.id) out.push([e.id, e.status!]);
  }
  return out;
}

/** Namespaces with entries in a shared-directory cache (their directory names start with the readable namespace). */
function dirNamespaces(shared: string): string[] {
  const entries = path.join(shared, 'entries');
  return existsSync(entries) ? readdirSync(entries).filter((d) => readdirSync(path.join(entries, d)).length > 0) : [];
}

/** A small deployment of two terraform_data components (db → app), fast to apply. */
function smallRepo(): string {
  const dir = path.join(temp('atmos-pipe-small-'), 'repo');
  writeFiles(dir, {
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\n',
    'components/terraform/db/main.tf': 'variable "size" {}\nresource "terraform_data" "db" { input = var.size }\noutput "endpoint" { value = "db.${var.size}" }\n',
    'components/terraform/app/main.tf': 'variable "db_endpoint" {}\nresource "terraform_data" "app" { input = var.db_endpoint }\noutput "url" { value = "http://${var.db_endpoint}" }\n',
    'components/terraform/queue/main.tf': 'variable "name" {}\nresource "terraform_data" "queue" { input = var.name }\n',
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  components:',
      '    terraform:',
      '      db:',
      '        vars: { size: large }',
      '      queue:',
      '        vars: { name: orders }',
      '      app:',
      '        metadata: { depends_on: [db] }',
      '        vars:',
      '          db_endpoint: "{{ terraform.db.outputs.endpoint }}"',
      '  targets:',
      '    dev: {}',
      '',
    ].join('\n'),
  });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'shop');
  return dir;
}

const PLAN = ['plan', 'shop', '--target', 'dev', '--events', 'ndjson'];

describe('the shared cache across two runners', () => {
  let registry: RunningRegistry | undefined;
  beforeAll(async () => {
    if (haveRegistry()) registry = await startRegistry();
  }, 30_000);
  afterAll(async () => {
    await registry?.stop();
  });

  for (const backend of ['shared directory', 'OCI registry'] as const) {
    it(`${backend}: the second runner's rollout of the example hits the remote cache with zero terraform and zero build processes`, async () => {
      if (backend === 'OCI registry' && !registry) throw new Error('docker-registry is required (installed by .ci/run)');
      const remote = backend === 'OCI registry' ? `oci://${registry!.host}/acme/atmos-cache-example` : temp('atmos-pipe-shared-');
      const bare = bareOf(exampleGitRepo());
      const first = runner(bare, 'runner-1');
      const second = runner(bare, 'runner-2');
      const rollout = ['rollout', 'payment-service', '--target', 'dev', '--cache-remote', remote, '--events', 'ndjson'];

      const r1 = await first.run(rollout);
      expect(r1.code, r1.stderr).toBe(0);
      expect(first.tools.count().terraform).toBeGreaterThan(0);
      expect(first.tools.count().npm).toBeGreaterThan(0);

      shareState(first, second);
      const r2 = await second.run(rollout);
      expect(r2.code, r2.stderr).toBe(0);
      const st = statuses(r2.stdout);
      expect(Object.keys(st).length).toBeGreaterThanOrEqual(8);
      expect(Object.values(st).every((s) => s === 'cached')).toBe(true);
      expect(second.tools.count()).toEqual({ terraform: 0, npm: 0 });
      // The same release (the same image digest, bound into the same Terraform inputs).
      const releases = (r: Runner) => git(r.dir, 'tag', '--list', 'atmos/releases/payment-service/*');
      expect(releases(second)).toBe(releases(first));
      expect(releases(second)).not.toBe('');

      // Its statistics: every cacheable step served by the remote, and what the remote moved.
      const stats = JSON.parse((await second.run(['cache', 'stats', '--format', 'json'])).stdout) as { hits_remote: number; misses: number; hit_rate: number; remote_fetched_objects: number };
      expect(stats.hits_remote).toBeGreaterThanOrEqual(8);
      expect(stats.misses).toBe(0);
      expect(stats.hit_rate).toBe(1);
      const remoteStats = JSON.parse((await second.run(['cache', 'stats', '--remote', '--cache-remote', remote, '--format', 'json'])).stdout) as {
        entries: number;
        namespaces: { namespace: string }[];
      };
      expect(remoteStats.entries).toBeGreaterThanOrEqual(8);
      expect(remoteStats.namespaces.map((n) => n.namespace)).toEqual(['main']);

      // Pruning: a dry run counts, removes nothing; then everything older than now goes.
      const dry = JSON.parse((await second.run(['cache', 'prune', '--remote', '--cache-remote', remote, '--older-than', '0s', '--dry-run', '--format', 'json'])).stdout) as {
        entries: number;
        removed: boolean;
      };
      expect(dry).toMatchObject({ entries: remoteStats.entries, removed: false });
      const pruned = JSON.parse((await second.run(['cache', 'prune', '--remote', '--cache-remote', remote, '--older-than', '0s', '--format', 'json'])).stdout) as { entries: number };
      expect(pruned.entries).toBe(remoteStats.entries);
      expect((JSON.parse((await second.run(['cache', 'stats', '--remote', '--cache-remote', remote, '--format', 'json'])).stdout) as { entries: number }).entries).toBe(0);
    }, 240_000);
  }

  it('a forged or edited remote entry is a miss: the step runs (and -v says why)', async () => {
    const shared = temp('atmos-pipe-shared-');
    const bare = bareOf(smallRepo());
    const first = runner(bare, 'runner-1');
    expect((await first.run([...PLAN, '--cache-remote', shared])).code).toBe(0);
    const [ns] = dirNamespaces(shared);
    const files = readdirSync(path.join(shared, 'entries', ns)).map((f) => path.join(shared, 'entries', ns, f));
    // Edited: every entry's exit code and values changed, its mac kept.
    for (const f of files) {
      const e = JSON.parse(readFileSync(f, 'utf8')) as { entry: { values: Record<string, unknown>; durationMs: number } };
      e.entry.durationMs += 1;
      writeFileSync(f, JSON.stringify(e));
    }
    const second = runner(bare, 'runner-2');
    const r = await second.run([...PLAN, '--cache-remote', shared, '-v']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(statuses(r.stdout)).every((s) => s === 'done')).toBe(true);
    expect(second.tools.count().terraform).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/failed authentication/);

    // Forged: entries written by a runner with another key are misses for this one.
    const forger = runner(bare, 'forger', { ATMOS_PIPE_CACHE_KEY: 'not-the-ci-secret' });
    const forgedDir = temp('atmos-pipe-shared-');
    expect((await forger.run([...PLAN, '--cache-remote', forgedDir])).code).toBe(0);
    const third = runner(bare, 'runner-3');
    const r3 = await third.run([...PLAN, '--cache-remote', forgedDir]);
    expect(r3.code, r3.stderr).toBe(0);
    expect(Object.values(statuses(r3.stdout)).every((s) => s === 'done')).toBe(true);
    // Without -v, no per-entry notice.
    expect(r3.stdout).not.toMatch(/failed authentication/);

    // Local pruning: a dry run counts and keeps; then entries and objects older than now go, and the next run misses.
    const stats = async () => JSON.parse((await third.run(['cache', 'stats', '--format', 'json'])).stdout) as { entries: number; objects: number; misses: number };
    const held = await stats();
    expect(held.entries).toBeGreaterThan(0);
    const dry = JSON.parse((await third.run(['cache', 'prune', '--older-than', '0s', '--dry-run', '--format', 'json'])).stdout) as { entries: number; removed: boolean };
    expect(dry).toMatchObject({ entries: held.entries, removed: false });
    expect((await stats()).entries).toBe(held.entries);
    const pruned = JSON.parse((await third.run(['cache', 'prune', '--older-than', '0s', '--format', 'json'])).stdout) as { entries: number; objects: number };
    expect(pruned.entries).toBe(held.entries);
    expect(pruned.objects).toBeGreaterThan(0);
    expect(await stats()).toMatchObject({ entries: 0, objects: 0 });
    const again = await third.run(PLAN);
    expect(again.code, again.stderr).toBe(0);
    expect(Object.values(statuses(again.stdout)).every((s) => s === 'done')).toBe(true);
  }, 120_000);

  it("an entry written from a feature branch's namespace is not used by a run on the default branch", async () => {
    const shared = temp('atmos-pipe-shared-');
    const bare = bareOf(smallRepo());
    const feature = runner(bare, 'feature');
    git(feature.dir, 'checkout', '-q', '-b', 'feature/x');
    const rf = await feature.run([...PLAN, '--cache-remote', shared]);
    expect(rf.code, rf.stderr).toBe(0);
    expect(dirNamespaces(shared).every((d) => d.startsWith('feature_x.'))).toBe(true);

    const main = runner(bare, 'main');
    const rm = await main.run([...PLAN, '--cache-remote', shared]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(Object.values(statuses(rm.stdout)).every((s) => s === 'done')).toBe(true);
    expect(main.tools.count().terraform).toBeGreaterThan(0);

    // The other way round is allowed: a feature branch reads the default branch's entries.
    const other = runner(bare, 'other');
    git(other.dir, 'checkout', '-q', '-b', 'feature/y');
    const ro = await other.run([...PLAN, '--cache-remote', shared]);
    expect(ro.code, ro.stderr).toBe(0);
    expect(Object.values(statuses(ro.stdout)).every((s) => s === 'cached')).toBe(true);
    expect(other.tools.count().terraform).toBe(0);
  }, 120_000);

  it('a pull-request run reads the trusted namespace but writes nothing to it', async () => {
    const shared = temp('atmos-pipe-shared-');
    const dir = smallRepo();
    const bare = bareOf(dir);
    const main = runner(bare, 'main');
    expect((await main.run([...PLAN, '--cache-remote', shared])).code).toBe(0);
    const before = readdirSync(path.join(shared, 'entries', dirNamespaces(shared)[0])).sort();

    // The pull request changes app's input and runs on a branch named like the default one (a fork's main).
    const pr = runner(bare, 'pr');
    writeFileSync(path.join(pr.dir, 'components/terraform/db/main.tf'), `${readFileSync(path.join(pr.dir, 'components/terraform/db/main.tf'), 'utf8')}output "pr" { value = 1 }\n`);
    git(pr.dir, 'commit', '-qam', 'pr change');
    const r = await pr.run([...PLAN, '--cache-remote', shared], { GITHUB_ACTIONS: 'true', GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/7/merge', GITHUB_HEAD_REF: 'main' });
    expect(r.code, r.stderr).toBe(0);
    const st = statuses(r.stdout);
    expect(st['plan:terraform/queue:plan']).toBe('cached'); // read from the trusted namespace
    expect(st['plan:terraform/db:plan']).toBe('done');
    const mainNs = dirNamespaces(shared).find((d) => d.startsWith('main.'))!;
    expect(readdirSync(path.join(shared, 'entries', mainNs)).sort()).toEqual(before);
    // What it made went under its own namespace, which the default branch never reads.
    expect(dirNamespaces(shared).some((d) => d.startsWith('pr_7.'))).toBe(true);
  }, 120_000);

  it('the registry stopped mid-run: one warning, the run succeeds on the local cache', async () => {
    if (!registry) throw new Error('docker-registry is required (installed by .ci/run)');
    const bare = bareOf(smallRepo());
    const first = runner(bare, 'runner-1');
    const remote = (host: string) => `oci://${host}/acme/atmos-cache-dies`;
    expect((await first.run([...PLAN, '--cache-remote', remote(registry.host)])).code).toBe(0);

    // A proxy in front of the registry that dies (closes, refuses connections) after a few requests.
    // Four requests: the entries (manifest, then config blob) of the two init steps, which run first.
    const proxy = await dyingProxy(registry.port, 4);
    const second = runner(bare, 'runner-2');
    const r = await second.run([...PLAN, '--cache-remote', remote(proxy.host)]);
    await proxy.stop();
    expect(r.code, r.stderr).toBe(0);
    const all = finished(r.stdout).map(([, status]) => status);
    expect(all).toContain('cached'); // before it died
    expect(all).toContain('done'); // after: run here (and what needed an object the remote could no longer give)
    const warnings = r.stdout.split('\n').filter((l) => /remote cache .* is unavailable/.test(l));
    expect(warnings).toHaveLength(1);
    expect(proxy.served()).toBe(4);
  }, 120_000);
});

/** The CLI as a separate process, without blocking the event loop (a proxy of the test answers meanwhile). */
function runCli(cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** An HTTP proxy to 127.0.0.1:`port` that serves `limit` requests, then stops listening and drops every connection. */
async function dyingProxy(port: number, limit: number): Promise<{ host: string; served: () => number; stop: () => Promise<void> }> {
  let served = 0;
  let dead = false;
  const server = http.createServer((req, res) => {
    if (dead || served >= limit) {
      if (!dead) {
        dead = true;
        server.close();
      }
      req.socket.destroy();
      server.closeAllConnections();
      return;
    }
    served++;
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  const p = await freePort();
  await new Promise<void>((resolve) => server.listen(p, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${p}`,
    served: () => served,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
