/**
 * Two machines sharing one tracking remote: a bare remote seeded with a small deployment
 * (`svc`: one Terraform component, targets dev and staging promoted from dev) whose
 * atmos.yaml names `origin` as the tracking remote, and clones of it (full or `--depth 1`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, GIT_ENV, git, makeRepo, runCli, type CliResult } from '../helpers.js';

/** main.tf of the component: `slow` sleeps that many seconds on every apply. */
export function componentTf(slow = 0): string {
  const lines = ['variable "v" {}', 'resource "terraform_data" "a" {', '  input = var.v'];
  if (slow) lines.push('  triggers_replace = [timestamp()]', `  provisioner "local-exec" { command = "sleep ${slow}" }`);
  return [...lines, '}', ''].join('\n');
}

/** The bare remote (a path) and a function making clones of it. */
export function sharedRemote(opts: { slow?: number } = {}): { remote: string; clone: (name: string, depth?: number) => string } {
  const seed = makeRepo({
    'atmos.yaml': 'components:\n  terraform:\n    base_path: components/terraform\ndeployments:\n  tracking:\n    remote: origin\n',
    'components/terraform/a/main.tf': componentTf(opts.slow),
    'deployments/svc.yaml': 'deployment:\n  name: svc\n  components:\n    terraform:\n      a: { vars: { v: one } }\n  targets:\n    dev: {}\n    staging:\n      promotion: { from: dev }\n',
  });
  git(seed, 'init', '-q', '-b', 'main');
  git(seed, 'add', '-A');
  git(seed, 'commit', '-qm', 'initial');
  const base = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-sync-'));
  const remote = path.join(base, 'remote.git');
  git(seed, 'init', '-q', '--bare', '-b', 'main', remote);
  git(seed, 'push', '-q', remote, 'main:refs/heads/main');
  const clone = (name: string, depth?: number) => {
    const dir = path.join(base, name);
    // --depth needs a file:// URL (a plain path is cloned locally, in full).
    git(base, 'clone', '-q', ...(depth ? ['--depth', String(depth), `file://${remote}`] : [remote]), dir);
    return dir;
  };
  return { remote, clone };
}

/** The CLI in a clone, as `user`. */
export function cli(dir: string, user: string, args: string[], env: Record<string, string> = {}): CliResult {
  return runCli(args, { cwd: dir, env: { ...GIT_ENV, ATMOS_PIPE_USER: user, ...env } });
}

/** The CLI started in the background, in its own process group (killed with its children by `-pid`), and its result. */
export function cliBackground(dir: string, user: string, args: string[], env: Record<string, string> = {}): { pid: number; done: Promise<CliResult> } {
  const p = spawn(process.execPath, [CLI, ...args], { cwd: dir, detached: true, env: { ...process.env, NO_COLOR: '1', ...GIT_ENV, ATMOS_PIPE_USER: user, ...env } });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr })));
  return { pid: p.pid!, done };
}
