/**
 * Honest errors (issue 10, item 8; SPEC 4.3): exit 4 only for a lock held by another run;
 * environment failures (read-only or full disk, unreachable remote or registry, a damaged
 * repository) exit 1 with what failed, where and what to do — never "this is a bug"; untrusted
 * parsers never overflow the stack. Every attack runs the real CLI on a real repository with
 * the real condition (a read-only bind mount, a tiny tmpfs, a TCP server that never answers).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, freshExample, git, GIT_ENV } from './fixture.js';

const ROLLOUT = ['rollout', 'payment-service', '--target', 'dev'];

/** No internal error, no stack trace. */
function honest(stderr: string): void {
  expect(stderr).not.toMatch(/internal error|this is a bug|\n\s+at .*\(.*:\d+:\d+\)/);
}

/**
 * Runs the CLI in a private mount namespace after `mount <5 arguments>` (e.g. `--bind -o ro
 * <dir> <dir>`, `-t tmpfs -o size=16k tmpfs <dir>`); every value travels as an argument, never
 * inside the shell script.
 */
function cliMounted(dir: string, mount: [string, string, string, string, string], args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('unshare', ['-m', '--', 'sh', '-c', 'mount "$1" "$2" "$3" "$4" "$5" && shift 5 && exec "$@"', 'sh', ...mount, process.execPath, CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('exit 4 means a lock held by another run, nothing else', () => {
  it('garbage in a local state file: exit 1 naming the corrupt state file and what to do, not 4', () => {
    const dir = freshExample();
    const state = path.join(dir, '.atmos/state/payment-service/dev/ecr/api.tfstate');
    mkdirSync(path.dirname(state), { recursive: true });
    writeFileSync(state, 'garbage{{{ not terraform state');
    const r = cli(dir, ROLLOUT);
    expect(r.code, r.stderr).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/lock is held/);
    expect(out).toContain(`the state file ${state} is corrupt`);
    expect(out).toMatch(/restore it from .*\.backup/);
    honest(r.stderr);
  });

  it('a state file name too long for the state lock file: exit 1 saying the name is too long, not 4', () => {
    // Component names are bounded at validate (100 bytes a segment); a backend path is the user's
    // own choice, so a too-long state file name reaches Terraform, which fails to write its lock info.
    const long = 'a'.repeat(250);
    const dir = freshExample((d) => {
      const f = path.join(d, 'stacks/catalog/ecr/api.yaml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8').replace(
          '      vars:\n        name: payment-api',
          `      backend_type: local\n      backend:\n        local:\n          path: .atmos/state/${long}.tfstate\n      vars:\n        name: payment-api`,
        ),
      );
    });
    const r = cli(dir, ROLLOUT);
    expect(r.code, r.stderr).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/lock is held/);
    expect(out).toMatch(/file name of the state of this component is too long/);
    honest(r.stderr);
  });
});

describe('environment failures: exit 1 with cause, path and what to do', () => {
  it('a read-only repository (EROFS): exit 1 naming the path and EROFS, not an internal error', () => {
    const dir = freshExample();
    const r = cliMounted(dir, ['--bind', '-o', 'ro', dir, dir], ROLLOUT);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`error: [a-z ]+ \\(${dir}/\\.atmos[^)]*\\): read-only file system \\(EROFS\\)`));
    expect(r.stderr).toMatch(/hint: .*writable/);
    honest(r.stderr);
  });

  it('a full disk (16 KiB tmpfs as the cache directory, ENOSPC): exit 1 naming the file and ENOSPC', () => {
    const dir = freshExample();
    const cache = path.join(dir, '.atmos');
    mkdirSync(cache);
    const r = cliMounted(dir, ['-t', 'tmpfs', '-osize=16k', 'tmpfs', cache], ROLLOUT);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`\\(${cache}/[^)]+\\): no space left on device \\(ENOSPC\\)`));
    expect(r.stdout + r.stderr).toMatch(/the disk is full; free space/);
    honest(r.stderr);
  });

  it('--push to a remote path that does not exist: exit 1 naming the remote and what to do; the rollout stays recorded', () => {
    const dir = freshExample();
    const r = cli(dir, [...ROLLOUT, '--push', '--remote', path.join(dir, 'no-such-remote.git')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`error: pushing to the tracking remote (${path.join(dir, 'no-such-remote.git')}): fatal:`);
    expect(r.stderr).toMatch(/hint: check that .* exists and is reachable .*run again with --push/);
    honest(r.stderr);
    expect(git(dir, 'for-each-ref', 'refs/atmos/')).toContain('refs/atmos/deployments/payment-service/dev/ecr/api');
  });

  it('--push to a refusing http remote with credentials in the URL: exit 1, the remote named without the password', () => {
    const dir = freshExample();
    const r = cli(dir, [...ROLLOUT, '--push', '--remote', 'http://deployer:s3cr3t-pw@127.0.0.1:1/repo.git']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('error: pushing to the tracking remote (http://***@127.0.0.1:1/repo.git)');
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-pw');
    honest(r.stderr);
  });

  it('a damaged repository (.git/refs missing): rollout and status exit 1 naming .git/refs, not a bug and not "not a repository"', () => {
    const dir = freshExample();
    rmSync(path.join(dir, '.git/refs'), { recursive: true });
    for (const args of [ROLLOUT, ['status', 'payment-service']]) {
      const r = cli(dir, args);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`error: reading the Git repository (${path.join(dir, '.git')}): git does not recognise it (missing: .git/refs)`);
      expect(r.stderr).toMatch(/hint: the repository is damaged/);
      honest(r.stderr);
    }
  });

  describe('a registry that accepts connections and never answers', () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on('data', () => undefined); // read, never answer
    });
    afterAll(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });

    /** Runs the rollout asynchronously (the never-answering server lives in this process). */
    async function rolloutAgainst(edit: (dir: string, port: number) => void, env: Record<string, string>): Promise<{ code: number | null; out: string; port: number }> {
      if (!server.listening) await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const port = (server.address() as net.AddressInfo).port;
      const dir = freshExample((d) => {
        const f = path.join(d, 'deployments/payment-service.yaml');
        writeFileSync(
          f,
          readFileSync(f, 'utf8')
            .replace(/^( {12})name: payment-api$/m, `$1registry: 127.0.0.1:${port}\n$1name: payment-api`)
            .replace('publish: false', 'publish: true'),
        );
        edit(d, port);
      });
      const child = spawn(process.execPath, [CLI, ...ROLLOUT], { cwd: dir, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      const code = await new Promise<number | null>((ok) => child.on('close', ok));
      return { code, out, port };
    }

    it('deployments.registry.timeout: 1s in atmos.yaml: the push gives up, exit 1 naming the registry and the timeout', async () => {
      const before = sockets.length;
      const { code, out, port } = await rolloutAgainst((d) => {
        const f = path.join(d, 'atmos.yaml');
        writeFileSync(f, readFileSync(f, 'utf8').replace(/^deployments:\n/m, 'deployments:\n  registry:\n    timeout: 1s\n'));
      }, {});
      expect(code, out).toBe(1);
      expect(sockets.length).toBeGreaterThan(before); // it really connected
      expect(out).toContain(`push of payment-api to 127.0.0.1:${port} failed`);
      expect(out).toMatch(/no answer within 1s \(ETIMEDOUT\)/);
      honest(out);
    });

    it('ATMOS_PIPE_REGISTRY_TIMEOUT=1s overrides the default: exit 1 with the timeout and how to raise it', async () => {
      const { code, out } = await rolloutAgainst(() => undefined, { ATMOS_PIPE_REGISTRY_TIMEOUT: '1s' });
      expect(code, out).toBe(1);
      expect(out).toMatch(/no answer within 1s \(ETIMEDOUT\)/);
      expect(out).toMatch(/raise deployments\.registry\.timeout in atmos\.yaml or ATMOS_PIPE_REGISTRY_TIMEOUT \(now 1s\)/);
      honest(out);
    });
  });
});

describe('untrusted parsers: no stack overflow, no prototype pollution', () => {
  const noOverflow = (r: { stdout: string; stderr: string }) => {
    expect(r.stdout + r.stderr).not.toMatch(/Maximum call stack|RangeError/);
    honest(r.stderr);
  };

  it('a 20,000-deep Cargo.lock in services/api: sbom and rollout exit 2 naming the file, line and column', () => {
    const n = 20_000;
    const dir = freshExample((d) => writeFileSync(path.join(d, 'services/api/Cargo.lock'), `version = 3\n\n[[package]]\nname = "x"\nversion = "1.0.0"\ndeep = ${'['.repeat(n)}${']'.repeat(n)}\n`));
    for (const args of [['sbom', 'payment-service', '--target', 'dev'], ROLLOUT]) {
      const r = cli(dir, args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('services/api/Cargo.lock:6:208: error: cannot parse services/api/Cargo.lock: arrays and inline tables nested deeper than 200 levels');
      noOverflow(r);
    }
    expect(git(dir, 'for-each-ref', 'refs/atmos/', 'refs/tags/', 'refs/notes/')).toBe('');
  });

  it('a Cargo.lock with a [__proto__] table cannot pollute Object.prototype: no invented checksum in the SBOM', () => {
    const planted = 'ab'.repeat(32);
    const dir = freshExample((d) =>
      writeFileSync(
        path.join(d, 'services/api/Cargo.lock'),
        `version = 3\n\n[__proto__]\nchecksum = "${planted}"\n\n[[package]]\nname = "serde"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n`,
      ),
    );
    const r = cli(dir, ['sbom', 'payment-service', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(0);
    const bom = JSON.parse(r.stdout) as { components: Array<{ name: string; hashes?: unknown[] }> };
    expect(bom.components.find((c) => c.name === 'serde')).toBeDefined();
    expect(r.stdout).not.toContain(planted);
  });

  it('a 20,000-deep lockfileVersion 1 package-lock.json: sbom exit 0 with a warning naming the file', () => {
    const dir = freshExample((d) => {
      let deps = '{}';
      for (let i = 19_999; i >= 0; i--) deps = `{"p${i}":{"version":"1.0.${i}","dependencies":${deps}}}`;
      writeFileSync(path.join(d, 'services/api/package-lock.json'), `{"name":"payment-api","version":"1.0.0","lockfileVersion":1,"dependencies":${deps}}`);
    });
    const r = cli(dir, ['sbom', 'payment-service', '--target', 'dev', '--summary']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('services/api/package-lock.json:1:1: warning: services/api/package-lock.json: dependencies nested deeper than 200 levels');
    expect(r.stdout).toMatch(/nixpack\/api\s+nixpack\s+payment-api@1\.0\.0\s+200\s/);
    noOverflow(r);
  });

  it('a 5,000-level metadata.inherits chain in a stack: exit 2 located at the component, not a stack overflow', () => {
    const dir = freshExample((d) => {
      const lines = ['components:', '  terraform:'];
      for (let i = 0; i < 5000; i++) lines.push(`    b${i}:`, `      metadata: { type: abstract${i ? `, inherits: [b${i - 1}]` : ''} }`);
      lines.push('    ecr/api:', '      metadata: { inherits: [b4999] }', '');
      const f = path.join(d, 'stacks/teams/payments.yaml');
      writeFileSync(f, readFileSync(f, 'utf8') + lines.join('\n'));
    });
    const r = cli(dir, ['describe', 'payment-service', '--target', 'dev']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^stacks\/teams\/payments\.yaml:\d+:\d+: error: terraform component "ecr\/api" inherits through more than 200 levels of bases/m);
    noOverflow(r);
  });
});
