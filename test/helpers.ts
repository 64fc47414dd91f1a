import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist/cli.mjs');

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Write a small repository (path -> content) into a fresh temp dir. */
export function makeRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-test-'));
  made.push(dir);
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a real process. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below dir (relative paths), to prove a command wrote nothing. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** A small valid repository used as the base of many tests. */
export function baseRepo(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'atmos.yaml': ['components:', '  terraform:', '    base_path: components/terraform', 'stacks:', '  base_path: stacks', ''].join('\n'),
    'stacks/catalog/app.yaml': [
      'terraform:',
      '  vars:',
      '    region: us-east-1',
      'components:',
      '  terraform:',
      '    app:',
      '      vars:',
      '        replicas: 1',
      '        cluster: main',
      '    db:',
      '      vars:',
      '        size: small',
      '',
    ].join('\n'),
    'components/terraform/app/main.tf': [
      'variable "region" { type = string }',
      'variable "replicas" { type = number }',
      'variable "cluster" { type = string }',
      'variable "cpu" { default = 256 }',
      'variable "image" { default = "" }',
      'variable "db_endpoint" { default = "" }',
      'output "url" { value = "http://${var.cluster}" }',
      '',
    ].join('\n'),
    'components/terraform/db/main.tf': ['variable "region" {}', 'variable "size" {}', 'output "endpoint" { value = "db.${var.size}" }', ''].join('\n'),
    'deployments/shop.yaml': [
      'deployment:',
      '  name: shop',
      '  stacks: [catalog/app]',
      '  components:',
      '    terraform:',
      '      db:',
      '        vars: { size: large }',
      '      app:',
      '        metadata: { depends_on: [db] }',
      '        vars:',
      '          db_endpoint: "{{ terraform.db.outputs.endpoint }}"',
      '  targets:',
      '    dev:',
      '      context: { cpu: 256 }',
      '    prod:',
      '      promotion: { from: dev, requires_approval: true }',
      '      context: { cpu: 1024, replicas: 3 }',
      '',
    ].join('\n'),
    ...overrides,
  };
}

/** A fixed Git identity and no user/system config: tests of Git tracking are reproducible. */
export const GIT_ENV: Record<string, string> = {
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.com',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  CI: '1',
};

/** Synchronous git with argv and {@link GIT_ENV} (test setup only); trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
}

/** The bundled example as a fresh Git repository (one commit); `edit` may change files first. */
export function exampleGitRepo(prefix = 'atmos-pipe-example-', edit?: (dir: string) => void): string {
  const base = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(base);
  const dir = path.join(base, 'repo');
  cpSync(path.join(ROOT, 'examples/payment-service'), dir, { recursive: true, filter: (s) => !/[/\\](\.atmos|node_modules|dist|releases)([/\\]|$)/.test(path.relative(ROOT, s)) });
  edit?.(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'initial');
  return dir;
}
