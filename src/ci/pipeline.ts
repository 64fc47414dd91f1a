/**
 * What a generated CI pipeline does (SPEC 10 `ci generate`), before any CI's syntax: the jobs
 * validate → build → test → release, then one rollout job per target (or per wave of its
 * components) with `needs` from the promotion graph and the component DAG, the cache key
 * files, and which rollouts are approved in CI. github.ts and gitlab.ts write it out.
 *
 * Everything here comes from the deployment and the repository's files and is sorted, so an
 * unchanged deployment gives the same pipeline, byte for byte (`ci generate --check`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { promotionGraph } from '../promotion/graph.js';
import { matrixByWave } from './matrix.js';
import type { ResolvedDeployment } from '../resolve/types.js';

/** The lock files whose digests key the cache: a changed lock file starts a fresh cache. */
const LOCK_FILES = [
  '.terraform.lock.hcl',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'go.sum',
  'Cargo.lock',
  'poetry.lock',
  'uv.lock',
  'Gemfile.lock',
  'composer.lock',
];

/** One rollout job: a target, or one wave of a target's components. */
export interface CiRolloutJob {
  /** Job name: `rollout-<target>` or `rollout-<target>-wave-<n>`. */
  name: string;
  target: string;
  /** The job that must succeed first (release, the previous wave, the promotion source's last job). */
  needs: string;
  /** `--promote-from`: the target whose release this one takes; absent for an entry point. */
  promoteFrom?: string;
  /** The target requires an approval: the job approves, from the protected context. */
  approval: boolean;
  /** `--component` addresses (a wave); empty for the whole target. */
  components: string[];
}

export interface CiPipeline {
  deployment: string;
  /** How a job runs atmos-pipe (shell words), e.g. `npx --yes atmos-pipe@0.1.0`. */
  command: string;
  /** The branch whose pushes run the pipeline. */
  branch: string;
  /** Build and test jobs: only when the deployment has nixpack components to build. */
  builds: boolean;
  /** The target build, test and release run for: the first entry point. */
  releaseTarget: string;
  rollouts: CiRolloutJob[];
  /** Repository-relative directories kept between jobs and runs (never Terraform state). */
  cachePaths: string[];
  /** Repository-relative lock files that key the cache, sorted. */
  lockFiles: string[];
  /** sha256 of the lock files' paths and contents (GitLab's key; GitHub hashes them itself). */
  lockDigest: string;
  /** atmos.yaml's pinned Terraform version, when there is one and the deployment has Terraform. */
  terraformVersion?: string;
}

export interface CiPipelineOptions {
  /** Targets to roll out (default: all), in the deployment's order. */
  targets?: string[];
  /** How jobs run atmos-pipe. */
  command: string;
  branch: string;
  /** A rollout job per wave of components (from `matrix --waves`) instead of one per target. */
  waves: boolean;
}

/** The repository's layout, as the pipeline needs it. */
export interface CiRepositoryPaths {
  repoRoot: string;
  cacheDir: string;
  terraformVersion?: string;
}

const rel = (root: string, abs: string) => path.relative(root, abs).split(path.sep).join('/');

/**
 * The pipeline of a deployment. `resolved` has the resolution of every target rolled out
 * (for the waves and the lock files of their components).
 */
export function ciPipeline(dep: DeploymentConfig, resolved: Map<string, ResolvedDeployment>, repo: CiRepositoryPaths, opts: CiPipelineOptions): CiPipeline {
  const graph = promotionGraph(dep);
  const chosen = new Set(opts.targets?.length ? opts.targets : graph.targets.map((t) => t.name));
  // Promotion order: a target after its source, so `needs` always names an earlier job.
  const order: string[] = [];
  const visit = (name: string, seen: Set<string>) => {
    if (order.includes(name) || seen.has(name)) return;
    seen.add(name);
    for (const f of graph.targets.find((t) => t.name === name)?.from ?? []) visit(f, seen);
    order.push(name);
  };
  for (const t of graph.targets) visit(t.name, new Set());
  const targets = order.filter((n) => chosen.has(n));
  const entry = targets.find((n) => graph.targets.find((t) => t.name === n)?.entry_point);
  if (entry === undefined) {
    throw new DiagnosticError(
      error(
        'args/ci-no-entry-target',
        `--target: the pipeline releases for a target that accepts any commit, and ${targets.map((t) => `"${t}"`).join(', ')} all promote from another`,
        undefined,
        `add an entry point (a target without \`promotion:\`): ${graph.targets
          .filter((t) => t.entry_point)
          .map((t) => t.name)
          .join(', ')}`,
      ),
    );
  }
  const lastJob = new Map<string, string>();
  const rollouts: CiRolloutJob[] = [];
  for (const name of targets) {
    const t = graph.targets.find((x) => x.name === name)!;
    const promoteFrom = t.from.find((f) => chosen.has(f)) ?? t.from[0];
    let needs = (promoteFrom !== undefined && lastJob.get(promoteFrom)) || 'release';
    const waves = opts.waves ? wavesOf(resolved.get(name)) : [[]];
    waves.forEach((components, i) => {
      const job = {
        name: waves.length > 1 ? `rollout-${name}-wave-${i}` : `rollout-${name}`,
        target: name,
        needs,
        approval: t.requires_approval,
        components,
        ...(promoteFrom !== undefined ? { promoteFrom } : {}),
      };
      rollouts.push(job);
      needs = job.name;
    });
    lastJob.set(name, needs);
  }
  const lockFiles = lockFilesOf(resolved, repo.repoRoot);
  const hash = createHash('sha256');
  for (const f of lockFiles)
    hash
      .update(`${f}\0`)
      .update(readFileSync(path.join(repo.repoRoot, f)))
      .update('\0');
  const cacheRel = rel(repo.repoRoot, repo.cacheDir) || '.';
  const hasTerraform = Object.keys(dep.body.components?.terraform ?? {}).length > 0;
  return {
    deployment: dep.name,
    command: opts.command,
    branch: opts.branch,
    builds: Object.keys(dep.body.components?.nixpack ?? {}).length > 0,
    releaseTarget: entry,
    rollouts,
    // The cache (content-addressed store, action cache and its key) and the built images; never
    // `state/` (Terraform state restored from a cache would be stale state).
    cachePaths: ['cache', 'images'].map((d) => `${cacheRel}/${d}`),
    lockFiles,
    lockDigest: hash.digest('hex').slice(0, 16),
    ...(hasTerraform && repo.terraformVersion ? { terraformVersion: repo.terraformVersion } : {}),
  };
}

/** A target's components by wave (the `matrix --waves` matrices), or one empty wave (the whole target) without a resolution. */
function wavesOf(r: ResolvedDeployment | undefined): string[][] {
  if (!r || r.components.length === 0) return [[]];
  return matrixByWave(r).waves.map((w) => w.include.map((e) => e.component).sort());
}

/** The lock files of every module and source directory inside the repository, sorted. */
function lockFilesOf(resolved: Map<string, ResolvedDeployment>, root: string): string[] {
  const dirs = new Set<string>();
  for (const r of resolved.values()) for (const c of r.components) for (const d of [c.moduleDir, c.sourceDir]) if (d) dirs.add(d);
  const out = new Set<string>();
  for (const d of dirs) {
    const r = rel(root, d);
    if (r.startsWith('..') || path.isAbsolute(r)) continue; // vendored modules live in the store; their lock pins them
    for (const f of LOCK_FILES) if (existsSync(path.join(d, f))) out.add(r ? `${r}/${f}` : f);
  }
  return [...out].sort();
}

/** A word for a POSIX shell: as is when it is plain, else single-quoted. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** The atmos-pipe command line of a job (words quoted; `extra` is appended as is, e.g. `--approver "$GITHUB_ACTOR"`). */
export function commandLine(p: CiPipeline, args: string[], extra = ''): string {
  return `${p.command} ${args.map(shellWord).join(' ')}${extra ? ` ${extra}` : ''}`;
}

/** The atmos-pipe arguments of a rollout job (without the approver, which is the CI's variable). */
export function rolloutArgs(p: CiPipeline, j: CiRolloutJob): string[] {
  return [
    'rollout',
    p.deployment,
    '--target',
    j.target,
    ...(j.promoteFrom ? ['--promote-from', j.promoteFrom] : []),
    ...j.components.flatMap((c) => ['--component', c]),
    ...(j.approval ? ['--approve'] : []),
    '--push',
  ];
}
