/**
 * `atmos-pipe ui` as a real process for the dashboard's tests: started on a free port, its
 * printed URL read from stdout, stopped with SIGTERM (and its exit code checked by the tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, GIT_ENV } from '../helpers.js';

export interface Served {
  url: string;
  /** Port the server listens on. */
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  /** SIGTERM (or the given signal), then the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function serveUi(repo: string, extra: string[] = []): Promise<Served> {
  const proc = spawn(process.execPath, [CLI, '--chdir', repo, 'ui', '--port', '0', ...extra], { env: { ...process.env, ...GIT_ENV, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += String(d);
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        const port = Number(new URL(line).port);
        resolve({
          url: line,
          port,
          proc,
          stderr: () => err,
          stop: async (signal = 'SIGTERM') => {
            proc.kill(signal);
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`ui exited with ${code} before printing its URL: ${err}`)));
  });
}
