/**
 * Environment failures: the machine, not the configuration and not a bug. A read-only or
 * full disk, a missing permission, an unreachable remote or registry, a damaged Git
 * repository. One classifier turns Node system errors (err.code), git failures and the
 * network errors of fetch into an {@link EnvironmentError}, which the CLI renders as
 *
 *     error: <what failed> (<path>): <cause>
 *       hint: <what to do>
 *
 * and exits 1 with (SPEC 4.3). Anything it does not recognise stays a bug.
 */
import { redactUrl } from '../secrets/mask.js';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { escapeControls } from '../output/format.js';

export class EnvironmentError extends Error {
  constructor(
    /** What failed, e.g. "writing a file", "pushing to remote origin". */
    readonly what: string,
    /** The path, remote or address concerned (credentials removed). */
    readonly where: string | undefined,
    /** The cause as the system reported it, e.g. "read-only file system (EROFS)". */
    readonly reason: string,
    /** What to do about it. */
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(`${what}${where ? ` (${where})` : ''}: ${reason}`, options);
    this.name = 'EnvironmentError';
  }

  /** `error: what (where): cause` and the hint line (control characters from git or a server escaped). */
  render(): string {
    return `error: ${escapeControls(this.message)}\n  hint: ${escapeControls(this.hint)}\n`;
  }
}

/** Credentials in every URL of a text (remotes, registries) printed as `***@` (one rule for every message: see redactUrl). */
export const withoutCredentials = redactUrl;

/** Cause and what to do, per system error code. */
const SYSTEM: Record<string, [cause: string, hint: string]> = {
  EROFS: ['read-only file system', 'this path is on a read-only file system; run from a writable checkout (or set deployments.cache_dir in atmos.yaml to a writable directory)'],
  ENOSPC: ['no space left on device', 'the disk is full; free space (old run logs are in .atmos/logs, unused vendored modules go with `atmos-pipe vendor clean --prune`) and run again'],
  EDQUOT: ['disk quota exceeded', 'your disk quota is used up; free space or ask for a larger quota, then run again'],
  EACCES: ['permission denied', 'check the owner and permissions of this path (and of its parent directories)'],
  EPERM: ['operation not permitted', 'check the owner, permissions and attributes (e.g. immutable) of this path'],
  EMFILE: ['too many open files', 'raise the open-file limit (ulimit -n) or lower deployments.parallelism'],
  ENFILE: ['too many open files in the system', 'close other programs or raise the system-wide file limit'],
  ENAMETOOLONG: ['file name too long', 'use shorter names (deployment, target, component) or a shorter deployments.cache_dir'],
  ENOTDIR: ['a part of the path is a file, not a directory', 'a file stands where a directory is expected; move it away'],
  EISDIR: ['is a directory', 'a directory stands where a file is expected; move it away'],
  ELOOP: ['too many levels of symbolic links', 'a symbolic link on this path loops; fix or remove it'],
  EIO: ['input/output error', 'the disk reported an I/O error; check it (dmesg) and run again'],
  EBUSY: ['device or resource busy', 'another process uses this path; retry when it is done'],
  ETXTBSY: ['text file busy', 'another process uses this file; retry when it is done'],
  ECONNREFUSED: ['connection refused', 'nothing listens at this address: check the URL and that the server runs'],
  ECONNRESET: ['connection reset by the peer', 'the server closed the connection; check it and retry'],
  ETIMEDOUT: ['timed out', 'the server did not answer in time; check the address and the network, or raise the timeout'],
  EHOSTUNREACH: ['host unreachable', 'check the address and the network'],
  ENETUNREACH: ['network unreachable', 'check the network connection'],
  ENOTFOUND: ['host name not found', 'check the host name'],
  EAI_AGAIN: ['host name lookup failed temporarily', 'check DNS and the network, then retry'],
  EPIPE: ['broken pipe', 'the other end closed the connection; check it and retry'],
};

const VERBS: Record<string, string> = {
  open: 'opening a file',
  write: 'writing a file',
  read: 'reading a file',
  close: 'writing a file',
  mkdir: 'creating a directory',
  mkdtemp: 'creating a directory',
  rename: 'moving a file into place',
  link: 'linking a file into place',
  symlink: 'creating a symbolic link',
  copyfile: 'copying a file',
  unlink: 'removing a file',
  rmdir: 'removing a directory',
  rm: 'removing',
  scandir: 'reading a directory',
  stat: 'reading file information',
  lstat: 'reading file information',
  utime: 'setting file times',
  chmod: 'setting file permissions',
  fsync: 'writing a file',
  ftruncate: 'writing a file',
  spawn: 'starting a program',
  connect: 'connecting',
  getaddrinfo: 'looking up a host',
};

interface SystemError {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message: string;
}

function systemError(e: unknown): SystemError | undefined {
  for (let c: unknown = e, depth = 0; c && typeof c === 'object' && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code) && (Object.hasOwn(SYSTEM, code) || code === 'ENOENT')) return c as SystemError;
  }
  return undefined;
}

/** The file a temporary file (`<file>.<pid>.<hex>.tmp`) was going to become. */
function shownPath(p: string): string {
  return p.replace(/\.\d+\.[0-9a-f]{8}\.tmp$/, '');
}

/**
 * `mkdir -p` reports ENOENT when the first missing ancestor cannot be created (EROFS,
 * EACCES): the real cause, probed on the nearest existing ancestor.
 */
function probeMissingParent(p: string): string | undefined {
  let dir = path.dirname(p);
  while (!existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && Object.hasOwn(SYSTEM, code) ? code : undefined;
  }
}

/** The environment failure behind `e`, or undefined when `e` is something else (a bug). */
export function classifyEnvironmentError(e: unknown): EnvironmentError | undefined {
  if (e instanceof EnvironmentError) return e;
  // Errors that know whether they are environmental (a failing git, an unreachable registry).
  const own = (e as { toEnvironmentError?: () => EnvironmentError | undefined } | null)?.toEnvironmentError;
  if (typeof own === 'function') return own.call(e);
  const s = systemError(e);
  if (!s) return undefined;
  let code = s.code;
  if (code === 'ENOENT') {
    // A missing file is usually a bug, except a directory that cannot be created.
    const probed = s.syscall === 'mkdir' && s.path ? probeMissingParent(s.path) : undefined;
    if (!probed) return undefined;
    code = probed;
  }
  const [cause, hint] = SYSTEM[code];
  // Opening a file fails with these only when it was to be written.
  const writing = s.syscall === 'open' && ['EROFS', 'ENOSPC', 'EDQUOT'].includes(code);
  const what = writing ? 'writing a file' : (VERBS[s.syscall ?? ''] ?? (s.syscall ? `${s.syscall}` : 'a system call'));
  const where = s.path ? shownPath(s.path) + (s.dest ? ` -> ${shownPath(s.dest)}` : '') : s.address ? `${s.address}${s.port ? `:${s.port}` : ''}` : s.hostname;
  return new EnvironmentError(what, where ? withoutCredentials(where) : undefined, `${cause} (${code})`, hint, { cause: e });
}
