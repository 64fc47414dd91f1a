/**
 * The run lock of a deployment and target: `<cache>/locks/<d>/<t>.lock`, created with
 * O_EXCL and holding the owner's pid, host and run id. A second mutating run waits for it
 * (polling) and gives up with exit 4 after the lock timeout. A lock whose owner process is
 * gone (same host, pid not alive — e.g. after `kill -9`) is stale and taken over.
 */
import { hostname } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  private tryTake(info: LockInfo): boolean {
    mkdirSync(path.dirname(this.file), { recursive: true });
    try {
      writeFileSync(this.file, JSON.stringify(info), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = this.owner();
    if (owner && owner.host === hostname() && !alive(owner.pid)) {
      // Stale: its process is gone. Remove it only if it is still the same lock.
      const again = this.owner();
      if (again && again.pid === owner.pid && again.runId === owner.runId) rmSync(this.file, { force: true });
      return false; // retry on the next poll
    }
    return false;
  }

  owner(): LockInfo | undefined {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as LockInfo;
    } catch {
      return undefined;
    }
  }

  /** Take the lock, waiting up to `timeoutSeconds`; throws a DiagnosticError with exit code 4. */
  async acquire(runId: string, timeoutSeconds: number, onWait?: (owner: LockInfo | undefined) => void): Promise<void> {
    const info: LockInfo = { pid: process.pid, host: hostname(), runId, since: new Date().toISOString() };
    const deadline = Date.now() + timeoutSeconds * 1000;
    let told = false;
    for (;;) {
      if (this.tryTake(info)) {
        this.held = true;
        return;
      }
      if (Date.now() >= deadline) {
        const o = this.owner();
        throw new DiagnosticError(
          error(
            'run/locked',
            `another run holds the lock of this deployment and target${o ? ` (run ${o.runId}, pid ${o.pid} on ${o.host}, since ${o.since})` : ''}`,
            undefined,
            `wait for it to finish, or raise --lock-timeout (now ${timeoutSeconds}s); the lock file is ${this.file}`,
          ),
          4,
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
