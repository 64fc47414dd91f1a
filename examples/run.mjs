#!/usr/bin/env node
// `npm run example`: the seeds' story on the bundled example. The example is copied to
// .example/payment-service and made a Git repository of its own (Git is where atmos-pipe
// records what runs where; this keeps those records out of atmos-pipe's own repository),
// then rolled out to dev, promoted to staging, refused in prod until approved, approved,
// promoted to prod; the payment API is built, tested and rolled out; a Lambda-shaped function
// is packaged by the zip component type and rolled out with its archive's hash and path,
// then checked by a step hook of the repository's own module (modules/smoke-test); the
// repository's own pipeline (pipelines/verify.ts) checks every Terraform component's vars;
// status and history show it all. Every command is the real CLI.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.mjs');
const work = path.join(root, '.example', 'payment-service');
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);

function git(...args) {
  const r = spawnSync('git', args, { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function step(title, args, expected = 0, env = {}) {
  process.stdout.write(`\n${bold(`# ${title}`)}\n$ atmos-pipe ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== expected) {
    process.stderr.write(`\nexample: expected exit ${expected}, got ${r.status}\n`);
    process.exit(r.status || 1);
  }
}

rmSync(path.join(root, '.example'), { recursive: true, force: true });
cpSync(path.join(root, 'examples', 'payment-service'), work, {
  recursive: true,
  filter: (src) => !/[/\\](\.atmos|releases|node_modules|dist)([/\\]|$)/.test(path.relative(root, src)),
});
git('init', '-q', '-b', 'main');
git('add', '-A');
git('-c', 'user.name=atmos-pipe example', '-c', 'user.email=example@atmos-pipe.invalid', 'commit', '-q', '-m', 'the bundled example');
process.stdout.write(`example repository: ${path.relative(process.cwd(), work) || '.'} (a fresh Git repository)\n`);

const deployer = { ATMOS_PIPE_USER: process.env.ATMOS_PIPE_USER ?? 'deployer@example.com' };
step('every deployment is valid', ['validate', '--all']);
step('dev accepts any commit', ['rollout', 'platform-network', '--target', 'dev'], 0, deployer);
step('staging takes exactly what runs in dev', ['rollout', 'platform-network', '--target', 'staging', '--promote-from', 'dev'], 0, deployer);
step('prod refuses without an approval (exit 3)', ['rollout', 'platform-network', '--target', 'prod', '--promote-from', 'staging'], 3, deployer);
step('a reviewer approves', ['approve', 'platform-network', '--target', 'prod', '--approver', 'reviewer@example.com']);
step('prod', ['rollout', 'platform-network', '--target', 'prod', '--promote-from', 'staging'], 0, deployer);
step('the payment API: its build plan (nixpacks-shaped, from package.json)', ['build', 'payment-service', '--component', 'api', '--plan']);
step('build it into a reproducible OCI image (local store .atmos/images)', ['build', 'payment-service'], 0, deployer);
step('test it against the built tree (JUnit XML, and a Git note on the commit)', ['test', 'payment-service', '--junit-xml', 'reports/junit.xml'], 0, deployer);
step('roll it out to dev: build (cached) → release → apply, the image digest bound into the ECS service', ['rollout', 'payment-service', '--target', 'dev'], 0, deployer);
step('promote exactly that image to staging (no rebuild)', ['rollout', 'payment-service', '--target', 'staging', '--promote-from', 'dev'], 0, deployer);
step('a Lambda-shaped function: a zip component (a module-declared type) bound into Terraform', ['describe', 'payment-webhooks', '--target', 'dev']);
step("the repository's own modules and pipeline (modules/, pipelines/: TypeScript, no build step)", ['modules']);
step(
  'roll it out: the archive is built (reproducible, stored by digest), applied with its hash and path, then smoke-tested (an after_apply hook)',
  ['rollout', 'payment-webhooks', '--target', 'dev'],
  0,
  deployer,
);
step('a user pipeline: every Terraform component has a region (nothing is applied)', ['run', 'verify', 'payment-service', '--target', 'dev'], 0, deployer);
step('the archive in the graph, before the function that deploys it', ['graph', 'payment-webhooks', '--target', 'dev']);
step('what runs where', ['status']);
step('who put it there, and when', ['history', 'platform-network']);
step('the promotion paths and what each target runs', ['promotion-graph', 'platform-network', '--show-status']);
