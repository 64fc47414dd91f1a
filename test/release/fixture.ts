/**
 * A real Git repository holding a copy of examples/payment-service (dev → staging → prod
 * [approval]) and fabricated deployment tracking state: history tags written with
 * formatDeploymentRecord, current-state refs moved with compare-and-swap (as a rollout does).
 */
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers.js';
import { GIT_ENV, git, tmp } from '../tracking/gitfixture.js';
import { GitRepo, deploymentRef, formatDeploymentRecord, historyTagName, type DeploymentRecord, type GitRunner } from '../../src/tracking/index.js';

export const D = 'payment-service';
export const TAGGER = 'Deployer <deployer@example.com> 1764460800 +0000';

export interface ExampleRepo {
  dir: string;
  /** initial */
  c1: string;
  /** changes stacks/orgs/acme/staging.yaml, adds components/terraform/ecr/extra.tf, changes services/api/src/app.js */
  c2: string;
  /** changes README.md only */
  c3: string;
}

function commitAll(dir: string, msg: string): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', msg);
  return git(dir, 'rev-parse', 'HEAD');
}

export function exampleRepo(): ExampleRepo {
  const dir = tmp('atmos-promo-');
  const src = path.join(ROOT, 'examples/payment-service');
  cpSync(src, dir, {
    recursive: true,
    filter: (p) => !['.atmos', 'releases', 'node_modules', 'dist'].includes(path.basename(p)),
  });
  git(dir, 'init', '-q', '-b', 'main');
  const c1 = commitAll(dir, 'initial import');
  const stagingStack = path.join(dir, 'stacks/orgs/acme/staging.yaml');
  writeFileSync(stagingStack, `${git(dir, 'show', 'HEAD:stacks/orgs/acme/staging.yaml')}\n# tuned for the load test\n`);
  writeFileSync(path.join(dir, 'components/terraform/ecr/extra.tf'), '# extra\n');
  writeFileSync(path.join(dir, 'services/api/src/app.js'), `${git(dir, 'show', 'HEAD:services/api/src/app.js')}\n// service change\n`);
  const c2 = commitAll(dir, 'Tune the staging stack');
  writeFileSync(path.join(dir, 'README.md'), 'docs only\n');
  const c3 = commitAll(dir, 'Docs: rewrite the README');
  return { dir, c1, c2, c3 };
}

export function openRepo(dir: string, runner?: GitRunner): GitRepo {
  return new GitRepo(dir, { env: GIT_ENV, runner });
}

/** ISO time `hours` ago (ms precision, as history tags use). */
export function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3600_000).toISOString();
}

/**
 * Records a deployment as a rollout does: the history tag, and (unless it failed) the
 * current-state ref moved to the commit.
 */
export async function recordDeployment(
  repo: GitRepo,
  r: Pick<DeploymentRecord, 'target' | 'component' | 'git_sha' | 'timestamp'> & Partial<DeploymentRecord>,
  opts: { moveRef?: boolean } = {},
): Promise<void> {
  const rec: DeploymentRecord = {
    deployment: D,
    release: null,
    images: {},
    deployed_by: 'alice@example.com',
    status: 'success',
    promoted_from: null,
    approved_by: [],
    rollback_of: null,
    annotations: {},
    ...r,
  };
  await repo.createAnnotatedTag(historyTagName(rec.deployment, rec.target, rec.component, rec.timestamp), rec.git_sha, formatDeploymentRecord(rec), { tagger: TAGGER });
  if (rec.status === 'failed' || opts.moveRef === false) return;
  const ref = deploymentRef(rec.deployment, rec.target, rec.component);
  const cur = await repo.resolveRef(ref);
  const res = await repo.updateRef(ref, rec.git_sha, cur);
  if (!res.ok) throw new Error(`lost a race on ${ref}`);
}

export const COMPONENTS = ['ecr/api', 'ecs/service-api'];

/**
 * The standard state: dev runs r-c3 (c3), staging runs r-c1 (c1; a newer rollout of c2 failed
 * for ecs/service-api), prod was never deployed.
 */
export async function standardState(repo: GitRepo, x: ExampleRepo): Promise<void> {
  for (const component of COMPONENTS) {
    await recordDeployment(repo, { target: 'dev', component, git_sha: x.c1, release: 'r-c1', timestamp: hoursAgo(50) });
    await recordDeployment(repo, { target: 'staging', component, git_sha: x.c1, release: 'r-c1', timestamp: hoursAgo(26), promoted_from: 'dev' });
    await recordDeployment(repo, { target: 'dev', component, git_sha: x.c3, release: 'r-c3', timestamp: hoursAgo(2) });
  }
  await recordDeployment(repo, { target: 'staging', component: 'ecs/service-api', git_sha: x.c2, release: 'r-c2', timestamp: hoursAgo(1), status: 'failed' });
}

/** `n` more history tags (old, successful, same commits) — to prove reads do not grow with them. */
export async function moreHistory(repo: GitRepo, x: ExampleRepo, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const target = ['dev', 'staging'][i % 2];
    await recordDeployment(repo, { target, component: COMPONENTS[i % 2], git_sha: x.c1, release: 'r-c1', timestamp: hoursAgo(500 + i) }, { moveRef: false });
  }
}
