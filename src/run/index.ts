/**
 * Running a pipeline (SPEC 4, 5.4): resolve (once, or the caller's resolution) → component
 * graph → steps (just in time, per component, with upstream images and outputs substituted
 * into the resolved component) → engine → record. The CLI's `run`, `rollout` and `plan` are
 * thin layers over {@link runPipeline}.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../cache/cas.js';
import path from 'node:path';
import { bindPipeline, withComponentTypes, type BoundStage, type ModuleContext, type ModuleRegistry, type PipelineDefinition, type Stage } from '../module/index.js';
import { stampModuleDigest } from '../module/digest.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, didYouMean, error, formatLocation } from '../diagnostics/index.js';
import type { Engine, EngineName, EventSink, RunEvent } from '../engine/types.js';
import { LocalEngine, which } from '../engine/local.js';
import { sandboxChoice, setUpSandbox, type SandboxMode, type SandboxSetup } from '../engine/sandbox.js';
import { Scheduler, newRunId, type ComponentNode, type PlannedStep, type RunOutcome } from '../engine/scheduler.js';
import { buildComponentGraph, withDependencies, type ComponentGraph } from '../graph/index.js';
import type { Repository } from '../repository.js';
import type { GitInfo } from '../resolve/git.js';
import { resolveWithImageStore, scopeWith, substitute, withImages, type BuiltImage, type ResolvedComponent, type ResolvedDeployment } from '../resolve/index.js';
import type { Step, StepResult } from '../steps/types.js';
import { RunLock } from './lock.js';
import { acquireLease, RemoteLease } from './lease.js';
import { GitRepo } from '../tracking/git.js';
import { checkHooks, hookInputs, hookModule, hookScope } from '../hooks/index.js';
import { willCreate } from '../cache/provisional.js';
import { ensureCacheDir } from '../cache/dir.js';
import { secretKey } from '../cache/actions.js';
import { openRemoteCache, type RemoteCache } from '../cache/remote/session.js';
import { MIN_MASKED_LENGTH, envValues, loadSecrets, secrets } from '../secrets/index.js';
import { upstreamOfRun, type UpstreamOutputs } from './upstream.js';

export interface RunRequest {
  pipeline: PipelineDefinition;
  /**
   * The modules a pipeline's `useModule(name)` stages are bound to (the built-in ones, and the
   * repository's own); a pipeline whose stages hold module definitions needs none.
   */
  modules?: ModuleRegistry;
  target: string;
  /** `--component`: addresses or unambiguous bare names. */
  components?: string[];
  withDeps?: boolean;
  parallelism?: number;
  noCache?: boolean;
  keepGoing?: boolean;
  keepWorkspace?: boolean;
  allowToolDrift?: boolean;
  engine?: 'auto' | EngineName;
  /** `--sandbox`: the local engine's sandbox mode (default: ATMOS_PIPE_SANDBOX, deployments.sandbox, strict). */
  sandbox?: SandboxMode;
  lockTimeoutSeconds?: number;
  emit: EventSink;
  /** Inject an engine (tests, embedding); otherwise chosen from `engine`. */
  engineInstance?: Engine;
  /** Environment for engine auto-detection and secrets (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Plan the steps and report fingerprints and cache status; run nothing, take no lock. */
  dryRun?: boolean;
  /** Git facts for templates (a release's commit when rolling out an earlier release). */
  git?: GitInfo;
  /** Images to bind (a release's pinned images); default: the local image store. */
  images?: Record<string, BuiltImage>;
  /** The caller already holds the run lock of this deployment and target (a tracked rollout). */
  lockHeld?: boolean;
  /**
   * The tracking remote where a mutating run also takes the lease of its deployment and
   * target (lease.ts), so runs on other machines wait for it; none: the local lock only.
   */
  leaseRemote?: string;
  /** Run id to use (default: a new one). */
  runId?: string;
  /**
   * Called once every check passed (configuration, images, tools) and before anything runs:
   * where a tracked rollout writes its release, so a refused run writes nothing.
   */
  beforeRun?: () => Promise<void>;
  /** `--skip-push`: images stay in the local store. */
  skipPush?: boolean;
  /** `plan --out`: store each component's plan in this directory (modules/terraform/stored-plan.ts). */
  planOut?: string;
  /** `test --command`: the shell command every test step runs instead of its component's. */
  testCommand?: string;
  /** `build --tag`: further tags of each built image. */
  extraTags?: string[];
  /** `rollout --from-plan`: apply the plans stored in this directory (an id is resolved to one by src/run/pipeline-run.ts). */
  fromPlan?: string;
  /** Called when the run finished, still under the run lock: where a rollout records it. */
  afterRun?: (summary: RunSummary) => Promise<void>;
  /**
   * Leave the run record (`<cache>/runs/<id>.json`) to the caller, who writes it with
   * `summary.saveRecord()` — a rollout's build, recorded only once the rollout passed its
   * policy checks (or the build failed), so a refused rollout writes nothing.
   */
  deferRecord?: boolean;
  /**
   * Recorded outputs of the components this run does not apply (a tracked rollout passes
   * what it read from the history, with the release they must run when promoting); absent:
   * read from the target's history in Git.
   */
  upstream?: UpstreamOutputs;
  /**
   * `--cache-remote`: the shared cache (`oci://<registry>/<repository>`, a directory, or `off`),
   * instead of atmos.yaml's `deployments.cache.remote`.
   */
  cacheRemote?: string;
  /** The shared cache session to use (a command's runs share one: one warning when it is down); default: opened from `cacheRemote` or atmos.yaml. */
  remoteCache?: RemoteCache;
  /** `-v`: also the shared cache's per-entry notices (entries that failed authentication). */
  verbose?: boolean;
  /**
   * The caller's resolution of this deployment and target with these Git facts (a rollout
   * resolved it to check upstream outputs and inputs): used instead of resolving again, with
   * `images` (when given) substituted into it.
   */
  resolved?: ResolvedDeployment;
}

export interface DryRunSummary {
  deployment: string;
  target: string;
  pipeline: string;
  steps: PlannedStep[];
}

export interface RunSummary extends RunOutcome {
  runId: string;
  deployment: string;
  target: string;
  pipeline: string;
  engine: EngineName;
  resolved: ResolvedDeployment;
  /** With {@link RunRequest.deferRecord}: writes the run record (idempotent). */
  saveRecord?: () => void;
  /** Outputs each component allows to be recorded in Git (non-sensitive), by address. */
  recordable: Record<string, Record<string, unknown>>;
}

/**
 * Resolve `--component` arguments to addresses (exit 2 with the valid values otherwise).
 * With dependencies: those the graph gives (default: each component's resolved dependencies).
 */
export function selectComponents(resolved: ResolvedDeployment, wanted: string[] | undefined, withDeps: boolean, graph?: ComponentGraph, flag = '--component'): Set<string> {
  const all = resolved.components.map((c) => c.address);
  if (!wanted || wanted.length === 0) return new Set(all);
  const picked = new Set<string>();
  for (const w of wanted) {
    const exact = all.find((a) => a === w);
    const bare = all.filter((a) => a.slice(a.indexOf('/') + 1) === w);
    if (exact) picked.add(exact);
    else if (bare.length === 1) picked.add(bare[0]);
    else if (bare.length > 1) throw new DiagnosticError(error('args/component', `${flag} ${w} is ambiguous: ${bare.join(', ')}`, undefined, 'write the full address'));
    else {
      const guess =
        didYouMean(w, all) ??
        all.find(
          (a) =>
            a.slice(a.indexOf('/') + 1) ===
            didYouMean(
              w,
              all.map((x) => x.slice(x.indexOf('/') + 1)),
            ),
        );
      throw new DiagnosticError(
        error(
          'args/component',
          `${flag} ${w}: no such component in ${resolved.deployment} (target ${resolved.target})`,
          undefined,
          `${guess ? `did you mean "${guess}"? ` : ''}(valid values: ${all.join(', ')})`,
        ),
      );
    }
  }
  return withDeps ? withDependencies(graph ?? { dependencies: new Map(resolved.components.map((c) => [c.address, c.depends_on])) }, [...picked]) : picked;
}

/**
 * The sandbox the local engine will run steps in, when the run uses the local engine
 * (undefined for Dagger). Strict and unavailable: a DiagnosticError (exit 2) before anything
 * runs or is written. The CLI asks this first; runPipeline asks again (remembered).
 */
export async function sandboxFor(repo: Repository, req: Pick<RunRequest, 'engine' | 'sandbox' | 'env'>): Promise<SandboxSetup | undefined> {
  const env = req.env ?? process.env;
  const { selectEngine } = await import('../engine/select.js');
  if (selectEngine(req.engine ?? repo.config.engine, env).engine !== 'local') return undefined;
  return setUpSandbox(sandboxChoice(req.sandbox, env, repo.config.sandbox), env, which);
}

/** Event streams that were already told which isolation is in force (a rollout runs two pipelines). */
const toldIsolation = new WeakSet<EventSink>();
function stagesOf<S extends Stage>(pipeline: { stages: S[] }, c: ResolvedComponent): S[] {
  return pipeline.stages.filter((s) => (s.appliesTo ? s.appliesTo(c) : true));
}

/**
 * The components a run expands: those selected (`--component`, `--with-deps`) that a stage of
 * the pipeline applies to, and the components of declared types they bind (an artifact is
 * deterministic and cached: a run of one Terraform component, e.g. a CI matrix job, builds
 * what it binds rather than needing another run).
 */
export function runMembers(resolved: ResolvedDeployment, pipeline: PipelineDefinition, components: string[] | undefined, withDeps: boolean, graph?: ComponentGraph): ResolvedComponent[] {
  const selected = selectComponents(resolved, components, withDeps, graph);
  for (const c of resolved.components) if (selected.has(c.address)) for (const r of c.references) if (r.ref.kind === 'component') selected.add(`${r.ref.type}/${r.ref.component}`);
  return resolved.components.filter((c) => selected.has(c.address) && stagesOf(pipeline, c).length > 0);
}

async function chooseEngine(req: RunRequest, repo: Repository): Promise<{ engine: Engine; notices: string[] }> {
  if (req.engineInstance) return { engine: req.engineInstance, notices: [] };
  const { selectEngine } = await import('../engine/select.js');
  const choice = req.engine ?? repo.config.engine;
  const env = req.env ?? process.env;
  const sel = selectEngine(choice, env);
  const notices = sel.notice ? [sel.notice] : [];
  if (sel.engine === 'dagger') {
    const { DaggerEngine } = await import('../engine/dagger/index.js');
    return { engine: new DaggerEngine({ env }), notices };
  }
  // A dry run runs nothing: the sandbox is not needed (nor probed).
  if (req.dryRun) return { engine: new LocalEngine({ sandbox: sandboxChoice(req.sandbox, env, repo.config.sandbox).mode }), notices };
  const setup = (await sandboxFor(repo, req))!;
  if (!toldIsolation.has(req.emit)) {
    toldIsolation.add(req.emit);
    notices.push(setup.notice);
  }
  return { engine: new LocalEngine({ sandbox: setup }), notices };
}

/**
 * Remove what runs left behind in `<cache>/workspaces/`: empty run directories, and those
 * untouched for a day (a killed run's; kept ones are for people to look at, not forever).
 */
/** The shared cache of a run: `--cache-remote`, else atmos.yaml's `deployments.cache.remote`; none when neither is set. */
export function openRunRemoteCache(repo: Repository, req: Pick<RunRequest, 'cacheRemote' | 'env'>): RemoteCache | undefined {
  const c = repo.config;
  return openRemoteCache(
    {
      flag: req.cacheRemote,
      configured: c.cache.remote,
      trustedRefs: c.cache.trustedRefs,
      repoRoot: c.repoRoot,
      cacheDir: c.cacheDir,
      env: req.env,
      registryTimeoutSeconds: c.registryTimeoutSeconds,
    },
    () => {
      // Created on the way to the run: taken back if the command ends refused (exit 2/3).
      const keyFile = path.join(c.cacheDir, 'cache', 'secret.key');
      if (!existsSync(keyFile)) willCreate(keyFile);
      return secretKey(path.join(c.cacheDir, 'cache'));
    },
  );
}

export function pruneWorkspaces(cacheDir: string, keep: string): void {
  // Temp files of records a killed run was writing.
  const runs = path.join(cacheDir, 'runs');
  if (existsSync(runs)) {
    for (const n of readdirSync(runs)) {
      if (!n.endsWith('.tmp')) continue;
      try {
        if (Date.now() - statSync(path.join(runs, n)).mtimeMs > 60_000) rmSync(path.join(runs, n), { force: true });
      } catch {
        // gone already
      }
    }
  }
  const dir = path.join(cacheDir, 'workspaces');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name === keep) continue;
    const p = path.join(dir, name);
    try {
      const old = Date.now() - statSync(p).mtimeMs > 24 * 3600 * 1000;
      if (old || readdirSync(p).length === 0) rmSync(p, { recursive: true, force: true });
    } catch {
      // another run is cleaning up too
    }
  }
}

/**
 * SOURCE_DATE_EPOCH (reproducible builds), else the commit time of the commit being built,
 * else 0. The commit time is asked of git once per commit and remembered in the cache.
 */
export function sourceDateEpochOf(env: NodeJS.ProcessEnv, repoRoot: string, git: { sha?: string } | undefined, cacheDir?: string): number {
  const v = env.SOURCE_DATE_EPOCH;
  if (v !== undefined && /^\d+$/.test(v.trim())) return Number(v.trim());
  const memo = cacheDir && git?.sha ? path.join(cacheDir, 'cache', 'commit-times', git.sha) : undefined;
  if (memo && existsSync(memo)) {
    const t = readFileSync(memo, 'utf8').trim();
    if (/^\d+$/.test(t)) return Number(t);
  }
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%ct', git?.sha ?? 'HEAD', '--'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d+$/.test(out)) {
      if (memo) writeFileAtomic(memo, `${out}\n`);
      return Number(out);
    }
  } catch {
    // not a Git repository
  }
  return 0;
}

/** Takes the run lock of a deployment and target, telling the user while it waits. */
export async function acquireRunLock(lock: RunLock, runId: string, timeoutSeconds: number, deployment: string, target: string, emit: EventSink): Promise<void> {
  await lock.acquire(runId, timeoutSeconds, (o) =>
    emit({ type: 'notice', time: new Date().toISOString(), message: `waiting for the lock of ${deployment}/${target}${o ? ` (held by run ${o.runId}, pid ${o.pid})` : ''}` }),
  );
}

/** Steps of one stage with no dependents inside the stage: what the next stage waits for. */
function lastSteps(steps: Step[]): string[] {
  const needed = new Set(steps.flatMap((s) => s.needs));
  return steps.filter((s) => !needed.has(s.id)).map((s) => s.id);
}

/** What a run would do: steps, fingerprints, cache status. Runs nothing, takes no lock. */
export async function dryRunPipeline(repo: Repository, dep: DeploymentConfig, req: Omit<RunRequest, 'emit'>): Promise<DryRunSummary> {
  let planned: DryRunSummary | undefined;
  await runPipeline(repo, dep, { ...req, emit: () => undefined, dryRun: true }, (p) => (planned = p));
  return planned!;
}

export async function runPipeline(repo: Repository, dep: DeploymentConfig, req: RunRequest, onDryRun?: (p: DryRunSummary) => void): Promise<RunSummary> {
  // Modules named by the pipeline are bound first: an unknown one refuses the run before anything else.
  // A pipeline that builds artifacts expands the components of declared types first (withComponentTypes).
  const pipeline = withComponentTypes(bindPipeline(req.pipeline, req.modules), req.modules);
  // The engine (and for the local engine its sandbox) first: a strict sandbox that cannot be
  // had refuses the run before anything is fetched, written or run.
  const engineSel = await chooseEngine(req, repo);
  // Just-in-time vendoring (SPEC 7): fetch only what the target's vendor lock does not pin yet.
  if (dep.body.vendor) await (await import('../vendoring/index.js')).ensureVendored(repo, dep, req.target, { emit: req.emit });
  // One resolution: the caller's (with the images it pins bound), else made here.
  const resolved = req.resolved
    ? withImages(req.resolved, req.images ?? req.resolved.images)
    : await resolveWithImageStore(repo.config, dep, req.target, { files: repo.files, ...(req.images ? { images: req.images } : {}), ...(req.git ? { git: req.git } : {}) });
  const images = resolved.images;
  // Step hooks of every component (not only this pipeline's): a bad one refuses any run of the deployment, as validate does.
  const hookProblems = checkHooks(resolved, req.modules);
  if (hookProblems.length) throw new DiagnosticError(hookProblems);
  const graph = buildComponentGraph(resolved);
  const stagesFor = (c: ResolvedComponent): BoundStage[] => stagesOf(pipeline, c);
  const members = runMembers(resolved, pipeline, req.components, req.withDeps ?? false, graph);

  // Images bound into Terraform vars must exist before anything runs.
  for (const c of members) {
    for (const b of c.bindings) {
      if (images[b.nixpack]) continue;
      if (members.some((m) => m.address === `nixpack/${b.nixpack}`)) continue; // built in this run
      throw new DiagnosticError(
        error(
          'run/unbuilt-image',
          `${c.address} receives the image of nixpack/${b.nixpack} (${b.kind} binding${b.var !== '(template)' ? `, var ${b.var}` : ''}), which has never been built`,
          c.location,
          `build it first: atmos-pipe build ${dep.name} --target ${req.target}; or leave ${c.address} out of this run (--component)`,
        ),
      );
    }
  }

  // Components of declared types a member binds (`{{ zip.fn.digest }}`) are built in the same run
  // (cached): never taken from an earlier build, whose file may have left the content store since.
  for (const c of members) {
    for (const r of c.references) {
      if (r.ref.kind !== 'component') continue;
      const address = `${r.ref.type}/${r.ref.component}`;
      if (members.some((m) => m.address === address)) continue;
      throw new DiagnosticError(
        error(
          'run/unbuilt-artifact',
          `${c.address} binds {{ ${r.expr} }}, but the ${pipeline.name} pipeline does not build ${address}`,
          r.location,
          'a pipeline that runs the components binding an artifact builds it first: definePipeline({ …, buildsArtifacts: true }) (build, plan and rollout do)',
        ),
      );
    }
  }

  const memberAddresses = new Set(members.map((c) => c.address));
  const { outputs: upstreamOutputs, unknown: unknownUpstream } = await upstreamOfRun(repo, dep, resolved, members, pipeline, req.upstream);

  // Host tools must exist before anything is written (versions are checked when a step runs).
  // A component's own `command` (set in the stacks) is refused where it is set.
  if (engineSel.engine.name === 'local') {
    for (const c of members) {
      if (c.type !== 'terraform') continue;
      const cmd = c.command ?? repo.config.tools.terraform.command;
      if (which(cmd)) continue;
      throw new DiagnosticError(
        error(
          'engine/tool-missing',
          c.commandLocation ? `"${cmd}" (the command of ${c.address}) is not on PATH` : `"${cmd}" is not on PATH; the ${pipeline.name} pipeline runs Terraform`,
          c.commandLocation,
          c.commandLocation
            ? `install ${cmd}, remove the component's command to use atmos.yaml's (${repo.config.tools.terraform.command}), or run the steps in containers with --engine dagger`
            : 'install Terraform >= 1.5 or OpenTofu (deployments.tools.terraform.command: tofu in atmos.yaml), or run the steps in containers with --engine dagger',
        ),
      );
    }
  }

  // Declared secrets are read before anything runs: a missing one is exit 2, nothing written.
  const runnerEnv = req.env ?? process.env;
  const unmasked = loadSecrets(
    members.map((c) => ({ component: c.address, secrets: c.credentials.secrets })),
    runnerEnv,
    secrets,
  );

  const sourceDateEpoch = members.some((m) => m.type === 'nixpack') ? sourceDateEpochOf(req.env ?? process.env, repo.config.repoRoot, req.git ?? resolved.git, repo.config.cacheDir) : undefined;
  const runId = req.runId ?? newRunId();
  const cacheDir = repo.config.cacheDir;
  const lockTimeoutSeconds = req.lockTimeoutSeconds ?? 300;
  const lock = pipeline.mutates && !req.dryRun && !req.lockHeld ? RunLock.for(cacheDir, dep.name, req.target) : undefined;
  const events: RunEvent[] = [];
  // Every event (notices, reasons, log tails) through the one masker; output lines were
  // masked at their source (the scheduler), line by line.
  const emit: EventSink = (event) => {
    const e = event.type === 'step.output' ? event : secrets.maskDeep(event);
    if (e.type !== 'step.output') events.push(e);
    req.emit(e);
  };
  const parallelism = req.parallelism ?? repo.config.parallelism ?? (await import('node:os')).availableParallelism();
  if (!req.dryRun) ensureCacheDir(cacheDir);
  if (lock) await acquireRunLock(lock, runId, lockTimeoutSeconds, dep.name, req.target, emit);
  const lease = lock && req.leaseRemote ? new RemoteLease(new GitRepo(repo.config.repoRoot), req.leaseRemote, dep.name, req.target, runnerEnv) : undefined;
  try {
    if (lease) await acquireLease(lease, runId, lockTimeoutSeconds, (message) => emit({ type: 'notice', time: new Date().toISOString(), message }));
    const remote = req.noCache ? undefined : (req.remoteCache ?? openRunRemoteCache(repo, req));
    remote?.attach((message, verbose) => {
      if (!verbose || req.verbose) emit({ type: 'notice', time: new Date().toISOString(), message });
    });
    const scheduler = new Scheduler({
      cacheDir,
      remote,
      runId,
      engine: engineSel.engine,
      parallelism,
      keepGoing: req.keepGoing ?? false,
      noCache: req.noCache ?? false,
      keepWorkspace: req.keepWorkspace ?? false,
      allowToolDrift: req.allowToolDrift ?? false,
      emit,
      secretEnv: req.env,
    });

    const outputsByAddress: Record<string, Record<string, unknown>> = {};
    const recordable: Record<string, Record<string, unknown>> = {};
    /** Images known now: the resolution's, and those built in this run. */
    const imagesNow = (): Record<string, BuiltImage> => {
      const withBuilt: Record<string, BuiltImage> = { ...images };
      for (const [addr, o] of Object.entries(outputsByAddress))
        if (addr.startsWith('nixpack/') && typeof o.image === 'string') withBuilt[addr.slice('nixpack/'.length)] = { ref: o.image, digest: o.digest as string };
      return withBuilt;
    };
    /** Terraform outputs known now: recorded ones of what this run does not apply; then what it applied (a plan applies nothing). */
    const upstreamTerraformOutputs = (): Record<string, Record<string, unknown>> => {
      const terraformOutputs: Record<string, Record<string, unknown>> = { ...upstreamOutputs };
      if (pipeline.mutates) for (const [addr, outs] of Object.entries(outputsByAddress)) if (addr.startsWith('terraform/')) terraformOutputs[addr.slice('terraform/'.length)] = outs;
      return terraformOutputs;
    };
    /** Outputs of components of declared types built in this run (an artifact's digest and file), by type and name. */
    const declaredOutputsNow = (): Record<string, Record<string, Record<string, unknown>>> => {
      const declaredOutputs: Record<string, Record<string, Record<string, unknown>>> = {};
      for (const m of members) if (m.type !== 'terraform' && m.type !== 'nixpack' && outputsByAddress[m.address]) (declaredOutputs[m.type] ??= {})[m.name] = outputsByAddress[m.address];
      return declaredOutputs;
    };
    /** What a module (a stage's, or a hook's) receives for one component. */
    const contextFor = (component: ResolvedComponent, inputs: unknown, stepId: (name: string) => string): ModuleContext => ({
      inputs,
      deployment: dep.name,
      target: req.target,
      pipeline: pipeline.name,
      runId,
      component,
      outputsOf: (address) => outputsByAddress[address],
      cas: scheduler.store,
      repoRoot: repo.config.repoRoot,
      cacheDir,
      tools: { terraform: repo.config.tools.terraform },
      options: {
        lockTimeoutSeconds,
        noCache: req.noCache ?? false,
        dryRun: req.dryRun ?? false,
        skipPush: req.skipPush ?? false,
        sourceDateEpoch,
        revision: (req.git ?? resolved.git)?.sha,
        registryTimeoutSeconds: repo.config.registryTimeoutSeconds,
        ...(req.planOut ? { planOut: req.planOut } : {}),
        ...(req.fromPlan ? { fromPlan: req.fromPlan } : {}),
        ...(req.testCommand !== undefined ? { testCommand: req.testCommand } : {}),
        ...(req.extraTags?.length ? { extraTags: req.extraTags } : {}),
      },
      stepId,
      notice: (message) => emit({ type: 'notice', time: new Date().toISOString(), message }),
    });
    // Each stage module's own check of its component as it stands, before the release is
    // written or anything runs (a stored plan that no longer matches refuses the run here).
    if (!req.dryRun) {
      for (const c of members) {
        const checked = stagesFor(c).filter((stage) => stage.module.verify);
        if (checked.length === 0 || unknownUpstream.some((u) => u.component === c.address)) continue;
        const component =
          c.deferred.length > 0 ? substitute(c, scopeWith(resolved.scope, { images: imagesNow(), terraformOutputs: upstreamTerraformOutputs(), declaredOutputs: declaredOutputsNow() })) : c;
        for (const stage of checked) {
          const ctx = contextFor(component, stage.module.inputs.parse(stage.inputs?.(component) ?? {}), (name) => `${pipeline.name}:${c.address}:${stage.name}.${name}`);
          await stage.module.verify?.(ctx);
        }
      }
    }
    if (req.beforeRun && !req.dryRun) await req.beforeRun();
    if (!req.dryRun) {
      emit({
        type: 'run.started',
        time: new Date().toISOString(),
        runId,
        deployment: dep.name,
        target: req.target,
        pipeline: pipeline.name,
        engine: engineSel.engine.name,
        components: members.length,
        parallelism,
      });
      for (const n of engineSel.notices) emit({ type: 'notice', time: new Date().toISOString(), message: n });
      for (const n of unmasked)
        emit({ type: 'notice', time: new Date().toISOString(), message: `secret ${n} is shorter than ${MIN_MASKED_LENGTH} characters: it is passed to steps but not masked in their output` });
    }

    const nodes: ComponentNode[] = members.map((c) => {
      const stages = stagesFor(c);
      const stageResults: { stage: BoundStage; ctx: ModuleContext; steps: Step[] }[] = [];
      // What expand() made, for the second phase (the last stage's after_ hooks).
      let expanded: ResolvedComponent | undefined;
      let lastStage: { name: string; last: string[] } | undefined;
      /**
       * The steps of the component's hooks of one stage (`before`/`after`), in order (each
       * hook's first steps wait for the previous hook's last), the first waiting for `needs`.
       * `outputs`: the component's own, for `{{ self.outputs.* }}` once its steps finished.
       */
      const hookSteps = async (
        component: ResolvedComponent,
        when: 'before' | 'after',
        stage: string,
        needs: string[],
        outputs?: Record<string, unknown>,
      ): Promise<{ steps: Step[]; last: string[] }> => {
        const hooks = (component.hooks ?? []).filter((h) => h.when === when && h.stage === stage);
        if (hooks.length === 0) return { steps: [], last: needs };
        const terraformOutputs = upstreamTerraformOutputs();
        if (outputs && component.type === 'terraform') terraformOutputs[component.name] = outputs;
        const scope = hookScope(scopeWith(resolved.scope, { images: imagesNow(), terraformOutputs, declaredOutputs: declaredOutputsNow() }), component, outputs);
        const all: Step[] = [];
        let previous = needs;
        for (const [n, hook] of hooks.entries()) {
          const m = hookModule(hook, req.modules);
          if (!('inputs' in m)) throw new DiagnosticError(m);
          const { inputs, diagnostics } = hookInputs(hook, m, scope);
          if (diagnostics.length) throw new Error(diagnostics.map((d) => `${d.location ? `${formatLocation(d.location)}: ` : ''}${d.message}${d.hint ? ` (${d.hint})` : ''}`).join('; '));
          const steps = await m.steps(contextFor(component, inputs, (name) => `${pipeline.name}:${component.address}:${hook.key}.${n + 1}.${name}`));
          stampModuleDigest(m, steps);
          for (const s of steps) if (s.needs.length === 0 && previous.length) s.needs = [...previous];
          all.push(...steps);
          if (steps.length) previous = lastSteps(steps);
        }
        return { steps: all, last: previous };
      };
      return {
        address: c.address,
        deps: graph.dependencies.get(c.address)?.filter((d) => memberAddresses.has(d)) ?? [],
        async expand() {
          const unknown = unknownUpstream.filter((u) => u.component === c.address);
          if (unknown.length) {
            emit({
              type: 'notice',
              time: new Date().toISOString(),
              message: `${c.address}: not planned, its inputs are unknown: ${unknown.map((u) => `{{ ${u.expr} }} (${u.dependency} ${u.reason})`).join('; ')}`,
            });
            return [];
          }
          // Values from upstream (images built in this run, Terraform outputs): substituted
          // into the resolved component where resolution recorded them, never resolved again.
          let component = c;
          const builtHere = Object.keys(outputsByAddress).some((addr) => addr.startsWith('nixpack/') && typeof outputsByAddress[addr].image === 'string');
          if (c.deferred.length > 0 && (builtHere || c.references.some((r) => r.ref.kind === 'terraform' || r.ref.kind === 'component'))) {
            component = substitute(c, scopeWith(resolved.scope, { images: imagesNow(), terraformOutputs: upstreamTerraformOutputs(), declaredOutputs: declaredOutputsNow() }));
          }
          // Declared plain env (values from the runner for pass-throughs); the component's own env wins.
          const declared = envValues(component.credentials.env, runnerEnv);
          if (Object.keys(declared).length) component = { ...component, env: { ...declared, ...component.env } };
          expanded = component;
          const all: Step[] = [];
          let previous: string[] = [];
          for (const [i, stage] of stages.entries()) {
            const stepId = (name: string) => `${pipeline.name}:${component.address}:${stages.length > 1 ? `${stage.name}.` : ''}${name}`;
            const ctx = contextFor(component, stage.module.inputs.parse(stage.inputs?.(component) ?? {}), stepId);
            // Stages run in order within a component, each between its before_ and after_ hooks.
            const before = await hookSteps(component, 'before', stage.name, previous);
            all.push(...before.steps);
            previous = before.last;
            const steps = await stage.module.steps(ctx);
            stampModuleDigest(stage.module, steps);
            for (const s of steps) if (s.needs.length === 0 && previous.length) s.needs = [...previous];
            stageResults.push({ stage, ctx, steps });
            all.push(...steps);
            previous = lastSteps(steps);
            // The last stage's after_ hooks wait for the component's outputs (expandAfter).
            if (i === stages.length - 1) break;
            const after = await hookSteps(component, 'after', stage.name, previous);
            all.push(...after.steps);
            previous = after.last;
          }
          lastStage = { name: stages[stages.length - 1].name, last: previous };
          return all;
        },
        async expandAfter(outputs) {
          if (!expanded || !lastStage) return [];
          return (await hookSteps(expanded, 'after', lastStage.name, lastStage.last, outputs)).steps;
        },
        async outputs(results: StepResult[]) {
          const out: Record<string, unknown> = {};
          const unknown = unknownUpstream.filter((u) => u.component === c.address);
          if (unknown.length) out.unknown = unknown.map((u) => ({ value: u.expr, reason: `${u.dependency} ${u.reason}` }));
          const rec: Record<string, unknown> = {};
          for (const { stage, ctx, steps } of stageResults) {
            const mine = results.filter((r) => steps.some((s) => s.id === r.id));
            Object.assign(out, (await stage.module.outputs?.(mine, ctx)) ?? {});
            Object.assign(rec, (await stage.module.recordOutputs?.(mine, ctx)) ?? {});
          }
          if (stageResults.some((r) => r.stage.module.recordOutputs)) recordable[c.address] = rec;
          outputsByAddress[c.address] = out;
          return out;
        },
      };
    });

    if (req.dryRun) {
      const steps = await scheduler.dryRun(nodes);
      onDryRun?.({ deployment: dep.name, target: req.target, pipeline: pipeline.name, steps });
      return {
        status: 'success',
        results: [],
        componentOutputs: {},
        fingerprints: {},
        durationMs: 0,
        runId,
        deployment: dep.name,
        target: req.target,
        pipeline: pipeline.name,
        engine: engineSel.engine.name,
        resolved,
        recordable,
      };
    }
    pruneWorkspaces(cacheDir, runId);
    const outcome = await scheduler.run(nodes);
    pruneWorkspaces(cacheDir, req.keepWorkspace ? runId : '');
    const counts = { done: 0, cached: 0, failed: 0, skipped: 0 };
    for (const r of outcome.results) counts[r.status]++;
    emit({ type: 'run.finished', time: new Date().toISOString(), runId, status: outcome.status, durationMs: outcome.durationMs, counts });
    // The run record (read by `ui` and by people): what ran, with which fingerprints.
    const record = path.join(cacheDir, 'runs', `${runId}.json`);
    const saveRecord = () =>
      writeFileAtomic(
        record,
        `${JSON.stringify({ runId, deployment: dep.name, target: req.target, pipeline: pipeline.name, engine: engineSel.engine.name, status: outcome.status, waves: Object.fromEntries(members.map((m) => [m.address, m.wave])), events }, null, 2)}\n`,
      );
    if (!req.deferRecord) saveRecord();
    const summary: RunSummary = {
      ...outcome,
      runId,
      deployment: dep.name,
      target: req.target,
      pipeline: pipeline.name,
      engine: engineSel.engine.name,
      resolved,
      recordable,
      ...(req.deferRecord ? { saveRecord } : {}),
    };
    if (req.afterRun) await req.afterRun(summary);
    return summary;
  } finally {
    await lease?.release();
    lock?.release();
  }
}
