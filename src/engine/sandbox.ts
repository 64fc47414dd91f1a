/**
 * The local engine's sandbox (SPEC 4.2): bubblewrap arguments that hold when atmos-pipe runs
 * as root, the probe that proves it from inside, and the choice between `strict` (every step
 * sandboxed, or the run refuses) and `off` (unsandboxed, said once).
 *
 * A step runs in a new user namespace as uid/gid 1000 with no capabilities (so no remount,
 * no mount, no ptrace of the host), in new pid, ipc, uts and cgroup namespaces, in a new
 * session, dying with atmos-pipe, without the kernel keyring calls (seccomp). Its root is assembled: read-only /usr (and /bin, /sbin,
 * /lib* as the host has them), a few /etc files, the tool's own install directory when it
 * lives elsewhere, a fresh /proc and /dev, a private /tmp; writable are only the step's
 * workspace and its declared mounts. Nothing else of the host (/var, /run, /home, /root,
 * /tmp, /srv, /mnt, /opt, the repository, the cache) exists inside, so no host socket file
 * is reachable either; without `network: true` the step also has its own network namespace.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, openSync, readFileSync, readSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../cache/cas.js';
import { DiagnosticError, choicesHint, error } from '../diagnostics/index.js';

import type { SandboxMode } from '../config/atmos.js';

export type { SandboxMode };
export const SANDBOX_MODES: readonly SandboxMode[] = ['strict', 'off'];

/** The uid and gid a step runs as inside its user namespace. */
export const SANDBOX_UID = 1000;

/** What the local engine runs steps in; `notice` is said once per run. */
export type SandboxSetup = { mode: 'strict'; bwrap: string; version: string; uid: number; notice: string } | { mode: 'off'; notice: string };

/** Where the mode came from (for messages). */
export interface SandboxChoice {
  mode: SandboxMode;
  source: string;
}

/** `--sandbox`, else ATMOS_PIPE_SANDBOX, else atmos.yaml's deployments.sandbox, else strict. */
export function sandboxChoice(flag: string | undefined, env: NodeJS.ProcessEnv, config: SandboxMode | undefined): SandboxChoice {
  if (flag !== undefined) return { mode: checkMode(flag, '--sandbox'), source: `--sandbox ${flag}` };
  const fromEnv = env.ATMOS_PIPE_SANDBOX;
  if (fromEnv !== undefined && fromEnv !== '') return { mode: checkMode(fromEnv, 'ATMOS_PIPE_SANDBOX'), source: `ATMOS_PIPE_SANDBOX=${fromEnv}` };
  if (config) return { mode: config, source: `deployments.sandbox: ${config} in atmos.yaml` };
  return { mode: 'strict', source: 'default' };
}

function checkMode(v: string, where: string): SandboxMode {
  if ((SANDBOX_MODES as readonly string[]).includes(v)) return v as SandboxMode;
  throw new DiagnosticError(error('cli/sandbox', `${where}: unknown sandbox mode "${v}"`, undefined, choicesHint(v, [...SANDBOX_MODES])));
}

/** Directories of the host root a step gets (read-only); symlinked ones become the same symlinks. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** /etc entries tools need (name resolution, TLS roots, time zone, the dynamic linker, alternatives). */
const ETC_ENTRIES = [
  'resolv.conf',
  'hosts',
  'nsswitch.conf',
  'host.conf',
  'gai.conf',
  'services',
  'protocols',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'pki',
  'crypto-policies',
  'localtime',
  'timezone',
  'alternatives',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'os-release',
  'npmrc',
];

/** /proc entries a step's owner (the caller, root) could write without capabilities: bound read-only. */
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/fs', '/proc/irq', '/proc/bus', '/proc/acpi', '/proc/scsi'];

/** Host directories never bound as a whole (a tool living below one gets only its own install dir). */
const NEVER_WHOLE = new Set(['/', '/var', '/run', '/home', '/root', '/tmp', '/srv', '/mnt', '/opt', '/work', '/etc', '/usr/local', '/media', '/proc', '/sys', '/dev']);

/** The step's own passwd and group (the host's user list stays outside). */
export const SANDBOX_PASSWD = `root:x:0:0:root:/nonexistent:/bin/sh\nstep:x:${SANDBOX_UID}:${SANDBOX_UID}:atmos-pipe step:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
export const SANDBOX_GROUP = `root:x:0:\nstep:x:${SANDBOX_UID}:\nnogroup:x:65534:\n`;

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

function inSystemDirs(p: string): boolean {
  return SYSTEM_DIRS.some((d) => under(p, d));
}

/** After the step's own binds: the assembled root itself (a tmpfs holding the mount points) read-only. */
export const SEAL_ROOT = ['--remount-ro', '/'];

/** Namespaces, capabilities and the assembled root (everything but the step's own binds and {@link SEAL_ROOT}). */
export function isolationArgs(o: { network: boolean; version: string }): string[] {
  const a = ['--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID)];
  if (versionAtLeast(o.version, [0, 8, 0])) a.push('--disable-userns');
  a.push('--cap-drop', 'ALL', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try');
  if (!o.network) a.push('--unshare-net');
  a.push('--new-session', '--die-with-parent', '--hostname', 'atmos-pipe-step');
  for (const d of SYSTEM_DIRS) {
    let st: Stats;
    try {
      st = lstatSync(d);
    } catch {
      continue; // this host has none
    }
    if (st.isSymbolicLink()) a.push('--symlink', readlinkSync(d), d);
    else if (st.isDirectory()) a.push('--ro-bind', d, d);
  }
  for (const e of ETC_ENTRIES) {
    const p = path.join('/etc', e);
    if (existsSync(p)) a.push('--ro-bind', p, p);
  }
  a.push('--proc', '/proc');
  // The step's uid maps to the caller's: as root, kernel tunables under /proc/sys (e.g.
  // kernel.core_pattern) would be writable by their owner without any capability. Read-only.
  for (const d of PROC_READ_ONLY) a.push('--ro-bind-try', d, d);
  a.push('--dev', '/dev', '--tmpfs', '/tmp');
  return a;
}

/**
 * A seccomp filter (classic BPF, for `bwrap --seccomp FD`) that fails the kernel keyring calls
 * (add_key, request_key, keyctl) with EPERM: the step's uid maps to the caller's, so it would
 * otherwise share root's user keyring. Also refuses the x32 ABI and, on x86-64, the same calls
 * through the i386 entry. Undefined on other architectures (no filter).
 */
export function seccompFilter(arch: string = process.arch): Buffer | undefined {
  const native = arch === 'x64' ? { audit: 0xc000003e, calls: [248, 249, 250] } : arch === 'arm64' ? { audit: 0xc00000b7, calls: [217, 218, 219] } : undefined;
  if (!native) return undefined;
  type Ins = { code: number; k: number; jt?: string; jf?: string; label?: string };
  const LD = 0x20,
    JEQ = 0x15,
    JGE = 0x35,
    RET = 0x06;
  const prog: Ins[] = [{ code: LD, k: 4 }];
  if (arch === 'x64') prog.push({ code: JEQ, k: 0x40000003, jt: 'i386' }); // AUDIT_ARCH_I386
  prog.push({ code: JEQ, k: native.audit, jf: 'allow' }, { code: LD, k: 0 });
  if (arch === 'x64') prog.push({ code: JGE, k: 0x40000000, jt: 'deny' }); // x32 syscalls
  for (const nr of native.calls) prog.push({ code: JEQ, k: nr, jt: 'deny' });
  prog.push({ code: RET, k: 0x7fff0000, label: 'allow' }); // SECCOMP_RET_ALLOW
  if (arch === 'x64') {
    prog.push({ code: LD, k: 0, label: 'i386' });
    for (const nr of [286, 287, 288]) prog.push({ code: JEQ, k: nr, jt: 'deny' });
    prog.push({ code: RET, k: 0x7fff0000 });
  }
  prog.push({ code: RET, k: 0x00050001, label: 'deny' }); // SECCOMP_RET_ERRNO | EPERM
  const at = (label: string | undefined, i: number) => (label === undefined ? 0 : prog.findIndex((x) => x.label === label) - i - 1);
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((ins, i) => {
    buf.writeUInt16LE(ins.code, i * 8);
    buf.writeUInt8(at(ins.jt, i), i * 8 + 2);
    buf.writeUInt8(at(ins.jf, i), i * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return buf;
}

function versionAtLeast(v: string, want: [number, number, number]): boolean {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) return false;
  const got = [Number(m[1]), Number(m[2]), Number(m[3])];
  for (let i = 0; i < 3; i++) if (got[i] !== want[i]) return got[i] > want[i];
  return true;
}

/** The interpreter of a script (`#!/usr/bin/env node` -> node on PATH), to make visible too. */
function interpreterOf(file: string, envPath: string | undefined, which: (cmd: string, p?: string) => string | undefined): string | undefined {
  let head: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(256);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith('#!')) return undefined;
  const words = head.slice(2).split('\n')[0].trim().split(/\s+/);
  if (!words[0]) return undefined;
  if (path.basename(words[0]) === 'env') {
    const name = words.slice(1).find((w) => !w.startsWith('-'));
    return name ? which(name, envPath) : undefined;
  }
  return words[0];
}

/**
 * The host directories (or single files) that make `bin` runnable inside: its directory on
 * PATH, the directory of what it resolves to, and that directory's install prefix
 * (`/opt/node` for `/opt/node/bin/node`) unless the prefix is a broad one (`/opt`, a home
 * directory, `~/.local`...) or holds the workspace; then the same for a script's interpreter.
 * Nothing under the system directories (already there).
 */
export function toolBinds(bin: string, workspace: string, envPath: string | undefined, which: (cmd: string, p?: string) => string | undefined): string[] {
  const out = new Set<string>();
  const seen = new Set<string>();
  const holdsWorkspace = (d: string) => under(workspace, d);
  const broad = (d: string) => {
    if (NEVER_WHOLE.has(d) || path.dirname(d) === '/') return true; // a top-level directory
    const parent = path.dirname(d);
    if (parent === '/home') return true; // a home directory
    // A dot directory right inside a home (~/.local, ~/.cargo, ~/.config): more than the tool.
    return (parent === '/root' || path.dirname(parent) === '/home') && path.basename(d).startsWith('.');
  };
  const addDir = (d: string, file: string) => {
    if (inSystemDirs(d)) return;
    if (holdsWorkspace(d) || NEVER_WHOLE.has(d))
      out.add(file); // only the file itself
    else out.add(d);
  };
  const visit = (p: string | undefined, depth: number) => {
    if (!p || depth > 3 || seen.has(p)) return;
    seen.add(p);
    const abs = path.resolve(p);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return;
    }
    if (!inSystemDirs(abs)) addDir(path.dirname(abs), abs);
    if (!inSystemDirs(real)) {
      const dir = path.dirname(real);
      const prefix = path.basename(dir) === 'bin' || path.basename(dir) === 'sbin' ? path.dirname(dir) : dir;
      if (prefix !== dir && !broad(prefix) && !holdsWorkspace(prefix)) out.add(prefix);
      else addDir(dir, real);
    }
    visit(interpreterOf(real, envPath, which), depth + 1);
  };
  visit(bin, 0);
  // Drop what another entry already holds.
  const list = [...out].sort();
  return list.filter((p) => !list.some((q) => q !== p && under(p, q)));
}

// ---------------------------------------------------------------------------------------
// The probe: once per machine (remembered per user, keyed by bwrap and the kernel).

const PROBE_VERSION = 4;

/** Proves the isolation from inside: no capabilities, a user namespace, no remount, read-only /usr and /proc/sys, no host directories. */
export const PROBE_SCRIPT = [
  'while read k v; do case "$k" in CapEff:) echo "capeff=$v";; esac; done < /proc/self/status',
  'read a b c < /proc/self/uid_map; echo "uidmap=$a $b $c"',
  'if command -v mount >/dev/null 2>&1; then echo hasmount=1; fi',
  'if mount -o remount,rw / 2>/dev/null || mount -o remount,rw /usr 2>/dev/null; then echo remount=ok; else echo remount=refused; fi',
  'if ( : > /usr/.atmos-pipe-probe ) 2>/dev/null; then rm -f /usr/.atmos-pipe-probe; echo usrwrite=ok; else echo usrwrite=refused; fi',
  'if ( : > /.atmos-pipe-probe ) 2>/dev/null; then echo rootwrite=ok; else echo rootwrite=refused; fi',
  'if ( : > /proc/sys/vm/drop_caches ) 2>/dev/null; then echo sysctl=writable; else echo sysctl=refused; fi',
  'if [ -e /root ] || [ -e /var ] || [ -e /run ] || [ -e /home ]; then echo hostroot=visible; else echo hostroot=absent; fi',
].join('\n');

/** Why the probe's answer does not show a sandbox that holds (undefined: it holds). */
export function probeVerdict(stdout: string): string | undefined {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const cap = kv.get('capeff');
  if (cap === undefined) return 'the probe printed nothing';
  if (!/^0+$/.test(cap)) return `steps keep capabilities (CapEff ${cap})`;
  const map = (kv.get('uidmap') ?? '').split(' ');
  if (map.length !== 3 || map[2] === '4294967295') return 'steps do not run in a user namespace';
  if (kv.get('remount') !== 'refused') return 'a step could remount / read-write';
  if (kv.get('usrwrite') !== 'refused') return 'a step could write to /usr';
  if (kv.get('rootwrite') !== 'refused') return 'the sandbox root is writable';
  if (kv.get('sysctl') !== 'refused') return 'a step could write kernel settings (/proc/sys)';
  if (kv.get('hostroot') !== 'absent') return "the host's /root, /var, /run or /home is visible";
  return undefined;
}

interface ProbeRecord {
  key: string;
  bwrap: string;
  version: string;
  uid: number;
  probed_at: string;
}

/**
 * Where the probe result is remembered: `$XDG_CACHE_HOME/atmos-pipe/` (default
 * `~/.cache/atmos-pipe/`), i.e. once per user and machine, not per repository; never in the
 * shared, world-writable /tmp, where another user could plant a "holds" answer.
 */
function probeCacheFile(env: NodeJS.ProcessEnv): string | undefined {
  const base = env.XDG_CACHE_HOME || (env.HOME ? path.join(env.HOME, '.cache') : undefined) || path.join(os.homedir(), '.cache');
  return base ? path.join(base, 'atmos-pipe', 'sandbox-probe.json') : undefined;
}

function readSysctl(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '-';
  }
}

/** Identity of everything the answer depends on: bwrap (path, inode, size, mtime), the kernel, userns limits, who asks. */
function probeKey(bwrap: string): string {
  const st = statSync(bwrap);
  return [
    `v${PROBE_VERSION}`,
    bwrap,
    st.ino,
    st.size,
    Math.floor(st.mtimeMs),
    os.release(),
    process.getuid?.() ?? -1,
    readSysctl('/proc/sys/user/max_user_namespaces'),
    readSysctl('/proc/sys/kernel/unprivileged_userns_clone'),
    readSysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
  ].join('|');
}

function refuse(why: string, choice: SandboxChoice): never {
  throw new DiagnosticError(
    error(
      'engine/sandbox-unavailable',
      `the local engine cannot sandbox steps here: ${why} (sandbox mode strict, ${choice.source}); nothing was run`,
      undefined,
      'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) and allow user namespaces; or run the steps in containers with --engine dagger; or, knowing that steps then run with your privileges on the host, --sandbox off',
    ),
  );
}

const memo = new Map<string, SandboxSetup>();

/**
 * The sandbox steps will run in. strict: finds bubblewrap on `envPath`, probes it (once per
 * machine) and refuses with exit 2 when it cannot be had; off: says so. Remembered per process.
 */
export function setUpSandbox(choice: SandboxChoice, env: NodeJS.ProcessEnv, which: (cmd: string, p?: string) => string | undefined): SandboxSetup {
  if (choice.mode === 'off') {
    const uid = process.getuid?.();
    return {
      mode: 'off',
      notice: `sandbox: off (${choice.source}): steps run unsandboxed on the host, with the privileges of atmos-pipe${uid !== undefined ? ` (uid ${uid})` : ''}`,
    };
  }
  if (process.platform !== 'linux') refuse(`bubblewrap sandboxing is Linux-only (this is ${process.platform})`, choice);
  const bwrap = which('bwrap', env.PATH);
  if (!bwrap) refuse('bubblewrap (bwrap) is not on PATH', choice);
  const key = probeKey(bwrap);
  const hit = memo.get(key);
  if (hit) return hit;
  const file = probeCacheFile(env);
  let record: ProbeRecord | undefined;
  if (file) {
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as ProbeRecord;
      if (r.key === key) record = r;
    } catch {
      // not probed yet on this machine
    }
  }
  if (!record) {
    const v = spawnSync(bwrap, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const version = /(\d+\.\d+\.\d+)/.exec(`${v.stdout}`)?.[1] ?? 'unknown';
    // The same sandbox a step gets (its seccomp filter through stdin).
    const filter = seccompFilter();
    const probe = spawnSync(bwrap, [...isolationArgs({ network: false, version }), ...(filter ? ['--seccomp', '0'] : []), ...SEAL_ROOT, '--chdir', '/', '--', '/bin/sh', '-c', PROBE_SCRIPT], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' },
      ...(filter ? { input: filter } : {}),
    });
    if (probe.status !== 0) {
      const msg = `${probe.stderr ?? ''}`.trim().split('\n')[0] || (probe.error ? probe.error.message : `exit ${probe.status}`);
      refuse(`bubblewrap ${version} cannot create the sandbox (${msg})`, choice);
    }
    const bad = probeVerdict(probe.stdout);
    if (bad) refuse(`the bubblewrap ${version} sandbox does not hold: ${bad}`, choice);
    record = { key, bwrap, version, uid: SANDBOX_UID, probed_at: new Date().toISOString() };
    if (file) {
      try {
        writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
      } catch {
        // a read-only home: probe again next time
      }
    }
  }
  const setup: SandboxSetup = {
    mode: 'strict',
    bwrap,
    version: record.version,
    uid: record.uid,
    notice: `sandbox: bubblewrap ${record.version}, user namespace (uid ${record.uid}), no capabilities, assembled root, private /tmp, network per step`,
  };
  memo.set(key, setup);
  return setup;
}
