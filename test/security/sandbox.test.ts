/**
 * Issue 10, items 1 and 2: the local engine's sandbox must hold when atmos-pipe runs as root.
 * Every attack is the user's own command on a fresh copy of the example, run by the real CLI
 * with the real bubblewrap: a nixpack `build_cmd` (a no-network step) or a Terraform
 * `local-exec` provisioner (inside `terraform apply`, a step with network). Each asserts what
 * the host sees afterwards (no marker, unchanged files, an untouched cache) and what the
 * command saw inside.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolationArgs, PROBE_SCRIPT, probeVerdict, SEAL_ROOT } from '../../src/engine/sandbox.js';
import { cli, freshExample, git } from './fixture.js';

const uniq = () => `atmos-sec-${process.pid}-${randomBytes(4).toString('hex')}`;
const cleanup: string[] = [];
afterAll(() => {
  for (const p of cleanup) rmSync(p, { recursive: true, force: true });
});

/**
 * The example with the payment API's build_cmd replaced by `script` (a shell snippet, the
 * user's own). `$REPO` in it becomes the repository's absolute path, as an attacker knows it.
 */
function withBuildCmd(script: string): string {
  return freshExample((dir) => {
    const f = path.join(dir, 'deployments/payment-service.yaml');
    const text = readFileSync(f, 'utf8');
    if (!text.includes('build_cmd: npm run build')) throw new Error('the example changed: no build_cmd to replace');
    writeFileSync(f, text.replace('build_cmd: npm run build', `build_cmd: ${JSON.stringify(script.replaceAll('$REPO', dir))}`));
  });
}

/** The example with a `local-exec` provisioner running `script` (`$REPO` as above) in the network module (platform-network). */
function withLocalExec(script: string): string {
  return freshExample((dir) => {
    writeFileSync(
      path.join(dir, 'components/terraform/network/attack.tf'),
      `resource "terraform_data" "attack" {\n  provisioner "local-exec" {\n    command = <<-EOT\n${script.replaceAll('$REPO', dir)}\nEOT\n  }\n}\n`,
    );
  });
}

interface Run {
  code: number;
  stderr: string;
  /** Lines the steps printed (step.output events). */
  output: string[];
  events: { type: string; message?: string; line?: string; id?: string; status?: string }[];
}

function run(dir: string, args: string[], env: Record<string, string> = {}): Run {
  const r = cli(dir, [...args, '--events', 'ndjson', '-v'], env);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Run['events'][number]);
  return { code: r.code, stderr: r.stderr, events, output: events.filter((e) => e.type === 'step.output').map((e) => e.line ?? '') };
}

const build = (dir: string, env: Record<string, string> = {}) => run(dir, ['build', 'payment-service', '--target', 'dev'], env);
const rolloutNetwork = (dir: string, extra: string[] = [], env: Record<string, string> = {}) => run(dir, ['rollout', 'platform-network', '--target', 'dev', ...extra], env);
const why = (r: Run) => `exit ${r.code}\n${r.stderr}\n${r.output.join('\n')}`;
const notices = (r: Run) => r.events.filter((e) => e.type === 'notice').map((e) => e.message ?? '');

/** A PATH with only node, git and terraform: no bubblewrap. */
function pathWithoutBwrap(): string {
  const bin = path.join(tmpdir(), `${uniq()}-bin`);
  mkdirSync(bin);
  cleanup.push(bin);
  for (const tool of ['node', 'git', 'terraform']) {
    const found = (process.env.PATH ?? '')
      .split(':')
      .map((d) => path.join(d, tool))
      .find((p) => existsSync(p));
    if (!found) throw new Error(`${tool} is not on PATH`);
    symlinkSync(found, path.join(bin, tool));
  }
  return bin;
}

describe('the local sandbox holds as root (bubblewrap, user namespace, no capabilities, assembled root)', () => {
  it('runs as root with bubblewrap (precondition of every attack below)', () => {
    expect(process.getuid?.()).toBe(0);
    expect(spawnSync('bwrap', ['--version'], { encoding: 'utf8' }).stdout).toMatch(/bubblewrap \d/);
  });

  it('the probe rejects what the old invocation gave a root caller (bwrap --ro-bind / /: full capabilities, remount allowed)', () => {
    const old = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-net', '--unshare-pid', '--die-with-parent', '--', '/bin/sh', '-c', PROBE_SCRIPT], {
      encoding: 'utf8',
    });
    expect(old.status).toBe(0);
    expect(probeVerdict(old.stdout)).toMatch(/capabilities/);
    const now = spawnSync('bwrap', [...isolationArgs({ network: false, version: '0.8.0' }), ...SEAL_ROOT, '--', '/bin/sh', '-c', PROBE_SCRIPT], { encoding: 'utf8' });
    expect(now.status, now.stderr).toBe(0);
    expect(probeVerdict(now.stdout), now.stdout).toBeUndefined();
  });

  it('a build_cmd that remounts / and /usr read-write (and mounts, and unshares a new user namespace) cannot, and leaves no marker on the host', () => {
    const m = uniq();
    cleanup.push(`/usr/${m}`);
    const dir = withBuildCmd(
      [
        `if mount -o remount,rw / 2>/dev/null; then echo REMOUNT-ROOT=ok; else echo REMOUNT-ROOT=refused; fi`,
        `if mount -o remount,rw /usr 2>/dev/null; then echo REMOUNT-USR=ok; else echo REMOUNT-USR=refused; fi`,
        `if mount -t tmpfs none /usr/local 2>/dev/null; then echo MOUNT=ok; else echo MOUNT=refused; fi`,
        `if unshare -Urm true 2>/dev/null; then echo USERNS=ok; else echo USERNS=refused; fi`,
        `if (echo pwned > /usr/${m}) 2>/dev/null; then echo USRWRITE=ok; else echo USRWRITE=refused; fi`,
        `if (echo 1 > /proc/sys/vm/drop_caches) 2>/dev/null; then echo SYSCTL=ok; else echo SYSCTL=refused; fi`,
        'npm run build',
      ].join('; '),
    );
    const r = build(dir);
    expect(r.code, why(r)).toBe(0);
    for (const k of ['REMOUNT-ROOT', 'REMOUNT-USR', 'MOUNT', 'USERNS', 'USRWRITE', 'SYSCTL']) expect(r.output, why(r)).toContain(`${k}=refused`);
    expect(existsSync(`/usr/${m}`)).toBe(false);
  }, 60_000);

  it('a Terraform local-exec that writes into the repository (components/terraform/*/main.tf, the repo root) and to /tmp, /root, /var/tmp leaves every host file as it was', () => {
    const m = uniq();
    const markers = [`/tmp/${m}`, `/root/${m}`, `/var/tmp/${m}`];
    cleanup.push(...markers);
    const dir = withLocalExec(
      [
        // What worked before: root in the old sandbox kept every capability.
        'mount -o remount,rw / 2>/dev/null && echo REMOUNTED',
        'echo "pwned" >> "$REPO/components/terraform/network/main.tf" 2>/dev/null || echo MAIN-TF=refused',
        `echo pwned > "$REPO/${m}" 2>/dev/null || echo REPO-ROOT=refused`,
        ...markers.map((p) => `echo pwned > ${p} 2>/dev/null && echo "WROTE ${p} (inside only)" || echo "${p}=refused"`),
        'echo ATTACK-DONE',
      ].join('\n'),
    );
    const mainBefore = readFileSync(path.join(dir, 'components/terraform/network/main.tf'), 'utf8');
    const r = rolloutNetwork(dir);
    expect(r.code, why(r)).toBe(0);
    expect(r.output.join('\n'), why(r)).toContain('ATTACK-DONE');
    expect(r.output.join('\n')).toContain('MAIN-TF=refused');
    expect(r.output).not.toContain('REMOUNTED');
    expect(readFileSync(path.join(dir, 'components/terraform/network/main.tf'), 'utf8')).toBe(mainBefore);
    expect(existsSync(path.join(dir, m))).toBe(false);
    for (const p of markers) expect(existsSync(p), `${p} exists on the host`).toBe(false);
  }, 60_000);

  it("a build_cmd that reads the host's /root, /home, /var, /run, /srv, /mnt, /opt, /work, /etc/shadow and the repository finds none of them", () => {
    const dir = withBuildCmd(
      'for p in /root /home /var /run /srv /mnt /opt /work /etc/shadow /etc/gshadow "$REPO/atmos.yaml" "$REPO/.git" "$REPO/.atmos/cache"; do if [ -e "$p" ]; then echo "VISIBLE $p"; else echo "ABSENT $p"; fi; done; npm run build',
    );
    const r = build(dir);
    expect(r.code, why(r)).toBe(0);
    const seen = r.output.filter((l) => l.startsWith('VISIBLE') || l.startsWith('ABSENT'));
    expect(seen.length, why(r)).toBe(13);
    expect(
      seen.filter((l) => l.startsWith('VISIBLE')),
      why(r),
    ).toEqual([]);
  }, 60_000);

  it('a no-network build_cmd cannot reach host Unix sockets (a path under /tmp and /run, and an abstract one)', async () => {
    const m = uniq();
    const paths = [path.join('/tmp', `${m}.sock`), path.join('/run', `${m}.sock`)];
    let accepted = 0;
    const servers = await Promise.all(
      [...paths, `\0${m}`].map(
        (p) =>
          new Promise<net.Server>((resolve, reject) => {
            const s = net.createServer((c) => {
              accepted++;
              c.end('HOST-SECRET\n');
            });
            s.on('error', reject);
            s.listen(p, () => resolve(s));
          }),
      ),
    );
    try {
      const probe = (p: string) =>
        `node -e 'const c=require("net").connect(${JSON.stringify(p)});c.on("connect",()=>{console.log("CONNECTED ${p.replace('\0', '@')}");c.destroy()});c.on("error",e=>console.log("UNREACHABLE ${p.replace('\0', '@')} "+e.code))'`;
      const dir = withBuildCmd([...paths.map(probe), probe(`\0${m}`), 'npm run build'].join('; ').replaceAll('\0', '\\u0000'));
      // The build step runs on a background process: let the servers accept meanwhile.
      const r = build(dir);
      // Let the servers take whatever connection reached them while the CLI ran.
      await new Promise((res) => setTimeout(res, 100));
      expect(r.code, why(r)).toBe(0);
      expect(r.output.filter((l) => l.startsWith('UNREACHABLE')).length, why(r)).toBe(3);
      expect(
        r.output.filter((l) => l.startsWith('CONNECTED')),
        why(r),
      ).toEqual([]);
      expect(accepted).toBe(0);
    } finally {
      for (const s of servers) s.close();
      for (const p of paths) rmSync(p, { force: true });
    }
  }, 60_000);

  it('inside terraform apply (a step with network) a local-exec has no capabilities, runs as uid 1000 in a user namespace and cannot reach a host socket file', async () => {
    const m = uniq();
    const sock = path.join('/run', `${m}.sock`);
    let accepted = 0;
    const server = await new Promise<net.Server>((resolve, reject) => {
      const s = net.createServer((c) => {
        accepted++;
        c.end();
      });
      s.on('error', reject);
      s.listen(sock, () => resolve(s));
    });
    try {
      const dir = withLocalExec(
        [
          'grep -E "^Cap(Eff|Prm|Bnd):" /proc/self/status',
          'echo "UID=$(id -u) GID=$(id -g)"',
          'echo "UIDMAP=$(cat /proc/self/uid_map | tr -s " ")"',
          `[ -e ${sock} ] && echo "SOCKET-VISIBLE" || echo "SOCKET-ABSENT"`,
        ].join('\n'),
      );
      const r = rolloutNetwork(dir);
      expect(r.code, why(r)).toBe(0);
      const text = r.output.join('\n');
      for (const cap of ['CapEff', 'CapPrm', 'CapBnd']) expect(text, why(r)).toMatch(new RegExp(`${cap}:\\s+0{16}`));
      expect(text).toContain('UID=1000 GID=1000');
      expect(text).not.toMatch(/UIDMAP= ?0 0 4294967295/);
      expect(text).toContain('SOCKET-ABSENT');
      expect(accepted).toBe(0);
    } finally {
      server.close();
      rmSync(sock, { force: true });
    }
  }, 60_000);

  it("a build_cmd cannot read root's kernel keyring (the step's uid maps to root's: keyctl is refused by seccomp)", () => {
    const desc = uniq();
    const nr = process.arch === 'arm64' ? { addKey: 217, keyctl: 219 } : { addKey: 248, keyctl: 250 };
    const py = (code: string) => spawnSync('/usr/bin/python3', ['-c', `import ctypes,os,sys\nlibc=ctypes.CDLL(None,use_errno=True)\n${code}`], { encoding: 'utf8' });
    // A secret in root's user keyring, as e.g. a credential helper would leave it.
    const added = py(`print(libc.syscall(${nr.addKey}, b"user", ${JSON.stringify(desc)}.encode(), b"KEYRING-SECRET", 14, ctypes.c_int(-4)))`);
    const serial = Number(added.stdout.trim());
    expect(serial, added.stderr).toBeGreaterThan(0);
    try {
      const read = [
        'import ctypes,os,sys',
        'libc=ctypes.CDLL(None,use_errno=True)',
        `s=libc.syscall(${nr.keyctl}, 10, ctypes.c_int(-4), b"user", ${JSON.stringify(desc)}.encode(), 0)`,
        'if s < 0: print("KEYCTL-REFUSED", os.strerror(ctypes.get_errno())); sys.exit(0)',
        `b=ctypes.create_string_buffer(64); n=libc.syscall(${nr.keyctl}, 11, s, b, 64); print("KEY=" + b.raw[:n].decode())`,
      ].join('\n');
      const dir = withBuildCmd(`/usr/bin/python3 -c '${read}'; npm run build`);
      const r = build(dir);
      expect(r.code, why(r)).toBe(0);
      expect(r.output.join('\n'), why(r)).toContain('KEYCTL-REFUSED Operation not permitted');
      expect(r.output.join('\n')).not.toContain('KEYRING-SECRET');
    } finally {
      py(`libc.syscall(${nr.keyctl}, 21, ${serial})`); // KEYCTL_INVALIDATE
    }
  }, 60_000);

  it("a build_cmd sees only the sandbox's processes (pid namespace): not atmos-pipe, not the test runner, not the host", () => {
    const dir = withBuildCmd('for p in /proc/[0-9]*; do echo "PROC $(basename $p) $(tr "\\0" " " < $p/cmdline 2>/dev/null)"; done; npm run build');
    const r = build(dir);
    expect(r.code, why(r)).toBe(0);
    const procs = r.output.filter((l) => l.startsWith('PROC '));
    expect(procs.length, why(r)).toBeGreaterThan(0);
    expect(procs.length, procs.join('\n')).toBeLessThan(10);
    expect(procs.join('\n')).not.toMatch(/cli\.mjs|vitest/);
    expect(procs.some((l) => l.startsWith(`PROC ${process.pid} `))).toBe(false);
  }, 60_000);

  it('a build_cmd cannot corrupt the cache: inputs are copies (no hard link into the CAS), the CAS is not visible inside, every blob still matches its digest', () => {
    const dir = withBuildCmd(
      'mount -o remount,rw / 2>/dev/null && echo REMOUNTED; for f in $(find . -type f -not -path "./node_modules/*"); do echo corrupted > "$f" || echo "RO $f"; done; if [ -e "$REPO/.atmos/cache/cas" ]; then echo CAS-VISIBLE; find "$REPO/.atmos/cache/cas" -type f -exec sh -c "echo corrupted > {}" \\; ; else echo CAS-ABSENT; fi',
    );
    const r = build(dir);
    expect(r.code, why(r)).toBe(0);
    expect(r.output, why(r)).toContain('CAS-ABSENT');
    expect(r.output).not.toContain('REMOUNTED');
    const cas = path.join(dir, '.atmos/cache/cas/sha256');
    const blobs = readdirSync(cas).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(blobs.length).toBeGreaterThan(5);
    for (const b of blobs) {
      const p = path.join(cas, b);
      expect(statSync(p).nlink, `${b} is hard-linked`).toBe(1);
      expect(createHash('sha256').update(readFileSync(p)).digest('hex'), `${b} was changed`).toBe(b);
    }
    // The source the build read is untouched too.
    expect(readFileSync(path.join(dir, 'services/api/package.json'), 'utf8')).toContain('"name": "payment-api"');
  }, 60_000);

  it('--sandbox strict (overriding deployments.sandbox: off) without bubblewrap refuses with exit 2 before anything runs, and writes no state, release or history', () => {
    const dir = freshExample((d) => {
      const f = path.join(d, 'atmos.yaml');
      const text = readFileSync(f, 'utf8');
      writeFileSync(f, /^deployments:/m.test(text) ? text.replace(/^deployments:\n/m, 'deployments:\n  sandbox: off\n') : `${text}\ndeployments:\n  sandbox: off\n`);
    });
    const r = run(dir, ['rollout', 'payment-service', '--target', 'dev', '--sandbox', 'strict'], { PATH: pathWithoutBwrap() });
    expect(r.code, why(r)).toBe(2);
    expect(r.stderr).toMatch(/cannot sandbox steps here: bubblewrap \(bwrap\) is not on PATH/);
    expect(r.stderr).toMatch(/install bubblewrap/);
    expect(r.stderr).toMatch(/--engine dagger/);
    expect(r.stderr).toMatch(/--sandbox off/);
    expect(r.stderr).not.toMatch(/internal error|this is a bug|\n\s+at /);
    expect(r.events.filter((e) => e.type === 'step.started')).toEqual([]);
    for (const d of ['state', 'workspaces', 'logs', 'images', 'runs']) expect(existsSync(path.join(dir, '.atmos', d)), `.atmos/${d} was written`).toBe(false);
    expect(existsSync(path.join(dir, 'releases'))).toBe(false);
    expect(git(dir, 'for-each-ref', 'refs/tags/atmos', 'refs/atmos', 'refs/notes')).toBe('');
    // The same refusal from ATMOS_PIPE_SANDBOX=strict, and from the default (no flag, no atmos.yaml key).
    const viaEnv = run(dir, ['rollout', 'platform-network', '--target', 'dev'], { PATH: pathWithoutBwrap(), ATMOS_PIPE_SANDBOX: 'strict' });
    expect(viaEnv.code, why(viaEnv)).toBe(2);
    expect(viaEnv.stderr).toMatch(/ATMOS_PIPE_SANDBOX=strict/);
  }, 60_000);

  it('--sandbox off runs the steps unsandboxed and says so once; without any flag the same host (bwrap hidden) refuses', () => {
    const dir = freshExample();
    const env = { PATH: pathWithoutBwrap() };
    expect(run(dir, ['rollout', 'platform-network', '--target', 'dev'], env).code).toBe(2);
    const r = run(dir, ['rollout', 'platform-network', '--target', 'dev', '--sandbox', 'off'], env);
    expect(r.code, why(r)).toBe(0);
    const said = notices(r).filter((n) => n.includes('unsandboxed'));
    expect(said).toEqual([`sandbox: off (--sandbox off): steps run unsandboxed on the host, with the privileges of atmos-pipe (uid 0)`]);
    expect(notices(r).some((n) => n.startsWith('sandbox: bubblewrap'))).toBe(false);
    const viaEnv = run(dir, ['rollout', 'platform-network', '--target', 'staging', '--promote-from', 'dev'], { ...env, ATMOS_PIPE_SANDBOX: 'off' });
    expect(viaEnv.code, why(viaEnv)).toBe(0);
    expect(notices(viaEnv).filter((n) => n.includes('unsandboxed'))).toEqual(['sandbox: off (ATMOS_PIPE_SANDBOX=off): steps run unsandboxed on the host, with the privileges of atmos-pipe (uid 0)']);
  }, 60_000);

  it('the isolation in force is said once per run, even when a rollout runs the build pipeline first (plain log and NDJSON)', () => {
    const dir = freshExample();
    const r = run(dir, ['rollout', 'payment-service', '--target', 'dev']);
    expect(r.code, why(r)).toBe(0);
    expect(r.events.filter((e) => e.type === 'run.started').length).toBe(2); // build, then rollout
    expect(notices(r).filter((n) => n.startsWith('sandbox:'))).toEqual([
      `sandbox: bubblewrap ${bwrapVersion()}, user namespace (uid 1000), no capabilities, assembled root, private /tmp, network per step`,
    ]);
    // -v: the notice is said every time (without it, once per machine: test/cli/manners).
    const plain = cli(dir, ['rollout', 'payment-service', '--target', 'dev', '--no-cache', '-v']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr.split('\n').filter((l) => l.includes('sandbox: bubblewrap')).length, plain.stderr).toBe(1);
  }, 90_000);

  it('the probe runs once per machine: remembered in the user cache, keyed by bwrap; a changed bwrap is probed again', () => {
    const dir = freshExample();
    const home = path.join(tmpdir(), `${uniq()}-cache`);
    const bin = path.join(tmpdir(), `${uniq()}-bin`);
    cleanup.push(home, bin);
    mkdirSync(bin);
    // A bwrap that logs how it was called, first on PATH.
    const log = path.join(bin, 'calls.log');
    const real = spawnSync('sh', ['-c', 'command -v bwrap'], { encoding: 'utf8' }).stdout.trim();
    const wrapper = (tag: string) => writeFileSync(path.join(bin, 'bwrap'), `#!/bin/sh\n# ${tag}\ncase "$*" in *CapEff*) echo probe >> ${log};; esac\nexec ${real} "$@"\n`, { mode: 0o755 });
    wrapper('one');
    const env = { PATH: `${bin}:${process.env.PATH}`, XDG_CACHE_HOME: home };
    const probes = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    expect(run(dir, ['rollout', 'platform-network', '--target', 'dev'], env).code).toBe(0);
    expect(probes()).toBe(1);
    const record = JSON.parse(readFileSync(path.join(home, 'atmos-pipe', 'sandbox-probe.json'), 'utf8')) as { bwrap: string; version: string; uid: number };
    expect(record).toMatchObject({ bwrap: path.join(bin, 'bwrap'), version: bwrapVersion(), uid: 1000 });
    expect(run(dir, ['rollout', 'platform-network', '--target', 'staging', '--promote-from', 'dev'], env).code).toBe(0);
    expect(probes()).toBe(1);
    wrapper('a different bwrap, longer than the first one');
    const again = run(dir, ['plan', 'platform-network', '--target', 'dev'], env);
    expect(again.code, why(again)).toBe(0);
    expect(probes()).toBe(2);
  }, 60_000);
});

function bwrapVersion(): string {
  return /(\d+\.\d+\.\d+)/.exec(spawnSync('bwrap', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
}
