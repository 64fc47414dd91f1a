/**
 * Load → resolve → plan → run → record, each once: a whole `rollout` through the library
 * (build + release + apply + SBOM, on a real Git repository) resolves the deployment exactly
 * once per target; the built image and the upstream Terraform output reach the apply through
 * substitution at expansion. A `build` and a `plan` resolve once too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules as modules } from '../../modules/index.js';
import pipelines from '../../pipelines/index.js';
import { loadDeployment, openRepository, resolutionCount } from '../../src/index.js';
import { rollout } from '../../src/rollout/index.js';
import { runPipeline } from '../../src/run/index.js';
import { GIT_ENV, exampleGitRepo, git, runCli } from '../helpers.js';

const D = 'payment-service';
const ENV: Record<string, string> = { ...GIT_ENV, ATMOS_PIPE_USER: 'dev@example.com' };
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  // The library's git processes (tags, notes) take the environment of this process.
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});
afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** How many resolutions `fn` made. */
async function resolutionsOf<T>(fn: () => Promise<T>): Promise<{ value: T; resolutions: number }> {
  const before = resolutionCount();
  const value = await fn();
  return { value, resolutions: resolutionCount() - before };
}

describe('one resolution per target', () => {
  it('a rollout (build + release + apply + SBOM) resolves once; a build and a plan resolve once', { timeout: 240_000 }, async () => {
    const dir = exampleGitRepo('atmos-pipe-resolve-once-');
    const repo = openRepository({ cwd: dir });
    const dep = loadDeployment(repo, D);
    const emit = () => undefined;

    const { value: summary, resolutions } = await resolutionsOf(() =>
      rollout(repo, dep, { pipeline: pipelines.rollout, build: pipelines.build, modules, target: 'dev', emit, env: { ...process.env, ...ENV } }),
    );
    expect(summary.run.status).toBe('success');
    expect(summary.release?.created).toBe(true);
    expect(resolutions).toBe(1);

    // What flowed through substitution: the image built by the build run reached Terraform by
    // its label binding, the upstream output reached the dependent component.
    const built = JSON.parse(readFileSync(path.join(dir, '.atmos/images/built.json'), 'utf8'))[D].api;
    const state = readFileSync(path.join(dir, '.atmos/state', D, 'dev', 'ecs/service-api.tfstate'), 'utf8');
    expect(state).toContain(built.ref);
    const ecr = JSON.parse(readFileSync(path.join(dir, '.atmos/state', D, 'dev', 'ecr/api.tfstate'), 'utf8'));
    expect(state).toContain(ecr.outputs.repository_url.value);
    // The release pins the image; its SBOM (a note on the commit) describes it.
    expect(summary.release?.record.images.api).toEqual({ ref: built.ref, digest: built.digest });
    const note = `${git(dir, 'notes', '--ref', `refs/notes/atmos/${D}/sbom`, 'show', 'HEAD')}\n`;
    expect(summary.release?.record.sboms.deployment).toBe(`sha256:${createHash('sha256').update(note).digest('hex')}`);
    expect(note).toContain(built.digest);

    const build = await resolutionsOf(() => runPipeline(repo, dep, { pipeline: pipelines.build, modules, target: 'dev', emit }));
    expect(build.value.status).toBe('success');
    expect(build.resolutions).toBe(1);
    const plan = await resolutionsOf(() => runPipeline(repo, dep, { pipeline: pipelines.plan, modules, target: 'dev', emit }));
    expect(plan.value.status).toBe('success');
    expect(plan.resolutions).toBe(1);

    // The commands that print the resolution and its graph still work on it.
    const graph = runCli(['graph', D, '--target', 'dev', '--format', 'json'], { cwd: dir, env: ENV });
    expect(graph.code, graph.stderr).toBe(0);
    expect(JSON.parse(graph.stdout).waves).toEqual([['nixpack/api', 'terraform/ecr/api'], ['terraform/ecs/service-api']]);
    const desc = runCli(['describe', D, '--target', 'dev', '--format', 'json'], { cwd: dir, env: ENV });
    expect(desc.code, desc.stderr).toBe(0);
    expect(JSON.parse(desc.stdout).components.find((c: { address: string }) => c.address === 'terraform/ecs/service-api').vars.image).toBe(built.ref);
  });
});
