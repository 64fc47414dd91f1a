/**
 * The one place that starts git. Every git invocation of src/tracking goes through a
 * `GitRunner`, always with an argv array (never a shell string), so tests can inject a
 * counting runner and prove that reads use a constant number of processes.
 */
import { spawn } from 'node:child_process';

export interface GitRunOptions {
  cwd: string;
  /** Written to git's stdin, then stdin is closed. */
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

export interface GitRunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export type GitRunner = (args: readonly string[], opts: GitRunOptions) => Promise<GitRunResult>;

/** Runs `git <args>` with spawn (no shell). Never rejects for a non-zero exit code. */
export const spawnGit: GitRunner = (args, opts) =>
  new Promise((resolve, reject) => {
    const child = spawn('git', [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // git may exit before reading all of its input (e.g. on a usage error): ignore EPIPE.
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      // git is not installed: an exit code like a shell's, so callers see a GitError.
      if (e.code === 'ENOENT') resolve({ code: 127, stdout: Buffer.alloc(0), stderr: 'git: command not found (git is not on PATH)' });
      else reject(e);
    });
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });

export interface CountingRunner extends GitRunner {
  /** argv of every git process started, in order. */
  readonly calls: string[][];
  reset(): void;
}

/** Wraps a runner and records every call (used by tests to count git processes). */
export function countingRunner(inner: GitRunner = spawnGit): CountingRunner {
  const calls: string[][] = [];
  const run = ((args: readonly string[], opts: GitRunOptions) => {
    calls.push([...args]);
    return inner(args, opts);
  }) as CountingRunner;
  Object.defineProperty(run, 'calls', { value: calls });
  run.reset = () => {
    calls.length = 0;
  };
  return run;
}
