/**
 * The run lock of a deployment and target: `<cache>/locks/<d>/<t>.lock`, created with
 * O_EXCL and holding the owner's pid, host and run id. A second mutating run waits for it
 * (polling) and gives up with exit 4 after the lock timeout. A lock whose owner process is
 * gone (same host, pid not alive — e.g. after `kill -9`) is stale and taken over.
 */
import { hostname } from 'node:os';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createExclusive } from '../cache/cas.js';
import path from 'node:path';
import { DiagnosticError, error } from '../diagnostics/index.js';

export interface LockInfo {
  pid: number;
  host: string;
  runId: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunLock {
  private held = false;
  constructor(readonly file: string) {}

  static for(cacheDir: string, deployment: string, target: string): RunLock {
    return new RunLock(path.join(cacheDir, 'locks', deployment, `${target}.lock`));
  }

  /** 'taken', 'stale' (a dead owner's lock was removed: try again at once) or 'held'. */
  private tryTake(info: LockInfo): 'taken' | 'stale' | 'held' {
    // Created with its content in one step (temp file + link): never seen empty.
    if (createExclusive(this.file, JSON.stringify(info))) return 'taken';
    const owner = this.owner();
    if (owner && owner.host === hostname() && !alive(owner.pid)) {
      // Stale: its process is gone. Remove it only if it is still the same lock.
      const again = this.owner();
      if (again && again.pid === owner.pid && again.runId === owner.runId) rmSync(this.file, { force: true });
      return 'stale';
    }
    if (!owner) {
      // Unreadable (e.g. written by an older version and cut short): stale after a minute.
      try {
        if (Date.now() - statSync(this.file).mtimeMs > 60_000) {
          rmSync(this.file, { force: true });
          return 'stale';
        }
      } catch {
        return 'stale'; // it vanished meanwhile
      }
    }
    return 'held';
  }

  owner(): LockInfo | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }

  /** Take the lock, waiting up to `timeoutSeconds`; throws a DiagnosticError of kind `locked` (exit 4). */
  async acquire(runId: string, timeoutSeconds: number, onWait?: (owner: LockInfo | undefined) => void): Promise<void> {
    const info: LockInfo = { pid: process.pid, host: hostname(), runId, since: new Date().toISOString() };
    const deadline = Date.now() + timeoutSeconds * 1000;
    let told = false;
    for (;;) {
      const r = this.tryTake(info);
      if (r === 'taken') {
        this.held = true;
        return;
      }
      if (r === 'stale') continue;
      if (Date.now() >= deadline) {
        const o = this.owner();
        throw new DiagnosticError(
          error(
            'run/locked',
            `another run holds the lock of this deployment and target${o ? ` (run ${o.runId}, pid ${o.pid} on ${o.host}, since ${o.since})` : ''}`,
            undefined,
            `wait for it to finish, or raise --lock-timeout (now ${timeoutSeconds}s); the lock file is ${this.file}`,
          ),
          'locked',
        );
      }
      if (!told) {
        onWait?.(this.owner());
        told = true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  release(): void {
    if (!this.held) return;
    const o = this.owner();
    if (o && o.pid === process.pid) rmSync(this.file, { force: true });
    this.held = false;
  }
}
