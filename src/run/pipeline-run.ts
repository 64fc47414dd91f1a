/**
 * One pipeline request, whatever the pipeline records: what `run <pipeline>` and its
 * shorthands (`rollout`, `plan`, `build`, `test`) ask of the library. It picks the path —
 * a release record, a dry run, a plain run or a tracked rollout — runs it and returns the
 * result as data; the CLI renders it and chooses the exit code.
 */
import { bindPipeline, type ModuleRegistry, type PipelineDefinition } from '../module/index.js';
import type { ResolvedComponent, ResolvedDeployment } from '../resolve/index.js';
import type { DeploymentConfig } from '../config/deployment.js';
import { DiagnosticError, error, type Diagnostic } from '../diagnostics/index.js';
import type { EventSink, RunEvent } from '../engine/types.js';
import type { Repository } from '../repository.js';
import { resolve } from '../repository.js';
import { EventRecorder } from '../output/index.js';
import { junitXml } from '../output/junit.js';
import { dirtyTreeNotice } from '../release/dirty.js';
import { release, type ReleaseResult } from '../release/create.js';
import { planRollout, planRolloutRun, rollout, type RolloutPlan, type RolloutRequest, type RolloutSummary } from '../rollout/index.js';
import { planSetDir, storePlanSet } from '../rollout/stored-plans.js';
import { dryRunPipeline, openRunRemoteCache, runPipeline, sandboxFor, selectComponents, type DryRunSummary, type RunSummary } from './index.js';
import { ensureVendored } from '../vendoring/index.js';
import { attachTestResults } from './test-results.js';

/** A pipeline request: the run options, the tracking options of a rollout, and `dryRun`. */
export interface PipelineRunRequest extends RolloutRequest {
  /** Show the steps, their fingerprints and what is cached; run nothing. */
  dryRun?: boolean;
  /** Said before anything runs (e.g. a dirty tree that a rollout would refuse). */
  notice?: (diagnostics: Diagnostic[]) => void | Promise<void>;
  /**
   * `rollout --plan`: `pipeline` (the plan pipeline) runs for the release the rollout would
   * choose, after its promotion checks; the plans are stored for `rollout --from-plan`.
   */
  rolloutPlan?: boolean;
}

/** What a pipeline request did, by path. */
export type PipelineRunResult =
  /** A release pipeline: the release record (created or already there). */
  | { kind: 'release'; release: ReleaseResult }
  /** `--dry-run`: the planned steps; `rollout` when the run chose a release (promotion, rollback). */
  | { kind: 'dry-run'; plan: DryRunSummary; rollout?: RolloutPlan }
  /**
   * A run: its summary and events (without step output, which the logs keep); `tracked` for
   * a rollout recorded in Git; `testResults` for a test pipeline.
   */
  | { kind: 'run'; summary: RunSummary; events: RunEvent[]; tracked?: RolloutSummary; testResults?: { xml: string; warnings: Diagnostic[] } };

/** Whether the request rolls out a release chosen by promotion, id or commit (not the working tree). */
function choosesRelease(req: PipelineRunRequest): boolean {
  return req.pipeline.records === 'deployment' && Boolean(req.promoteFrom ?? req.release ?? req.gitSha);
}

/**
 * Runs `req.pipeline` over a deployment for one target: a release pipeline records a release;
 * `dryRun` plans; a pipeline that records deployments rolls out (release, promotion checks,
 * history); any other pipeline runs. Test results are attached to the commit as a Git note.
 */
export async function runPipelineRequest(repo: Repository, dep: DeploymentConfig, req: PipelineRunRequest): Promise<PipelineRunResult> {
  const { pipeline, target } = req;
  if (pipeline.records === 'release' && !req.dryRun) {
    return { kind: 'release', release: await release(repo, dep, { target, annotations: req.annotations, pushRemote: req.pushRemote, allowDirty: req.allowDirty, fetch: req.fetch }) };
  }
  // One resolution for the notice and the run.
  let resolved: ResolvedDeployment | undefined;
  if (pipeline.previews === 'rollout' || (req.dryRun && pipeline.records === 'deployment' && !choosesRelease(req))) {
    // Not refused (nothing is recorded), but said: the rollout of this tree would be.
    // A strict sandbox that cannot be had refuses before anything is fetched; then vendored
    // modules are pulled (just in time) before the one resolution reads them.
    if (!req.dryRun) await sandboxFor(repo, { engine: req.engine, sandbox: req.sandbox });
    if (dep.body.vendor) await ensureVendored(repo, dep, target, { emit: req.emit });
    resolved = await resolve(repo, dep, target);
    await req.notice?.(await dirtyTreeNotice(repo, dep, target, resolved));
  }
  if (req.dryRun) {
    // A plan takes no lock and runs nothing: only what chooses and fingerprints the steps.
    const plan = { pipeline, modules: req.modules, target, components: req.components, withDeps: req.withDeps, noCache: req.noCache, engine: req.engine, ...(resolved ? { resolved } : {}) };
    if (choosesRelease(req)) {
      const rp = await planRollout(repo, dep, { ...plan, promoteFrom: req.promoteFrom, release: req.release, gitSha: req.gitSha, skipPromotionCheck: req.skipPromotionCheck });
      return { kind: 'dry-run', plan: rp, rollout: rp };
    }
    return { kind: 'dry-run', plan: await dryRunPipeline(repo, dep, plan) };
  }
  // Before anything is fetched, written or run: a strict sandbox that cannot be had refuses.
  await sandboxFor(repo, { engine: req.engine, sandbox: req.sandbox });
  const recorder = new EventRecorder();
  const emit: EventSink = (e) => {
    recorder.onEvent(e);
    req.emit(e);
  };
  // One shared-cache session for every run of the request (a rollout's build and apply): one warning if it is down.
  const remoteCache = req.noCache ? undefined : (req.remoteCache ?? openRunRemoteCache(repo, req));
  if (req.rolloutPlan) {
    // Stored where `plan --out` would, then kept by content in the cache under the id printed.
    const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
    const path = await import('node:path');
    mkdirSync(path.join(repo.config.cacheDir, 'tmp'), { recursive: true });
    const planOut = mkdtempSync(path.join(repo.config.cacheDir, 'tmp', 'rollout-plan-'));
    try {
      const summary = await planRolloutRun(repo, dep, { ...req, planOut, emit, remoteCache });
      if (summary.status === 'success') {
        const id = storePlanSet(repo.config.cacheDir, planOut);
        emit({ type: 'notice', time: new Date().toISOString(), message: `nothing was applied; stored plans ${id}: apply exactly them with rollout --from-plan ${id}` });
      }
      return { kind: 'run', summary, events: recorder.events };
    } finally {
      rmSync(planOut, { recursive: true, force: true });
    }
  }
  if (pipeline.records === 'deployment') {
    const fromPlan = req.fromPlan ? { fromPlan: planSetDir(repo.config.cacheDir, req.fromPlan) } : {};
    const tracked = await rollout(repo, dep, { ...req, ...fromPlan, emit, remoteCache });
    return { kind: 'run', summary: tracked.run, events: recorder.events, tracked };
  }
  const summary = await runPipeline(repo, dep, { ...req, emit, remoteCache, ...(resolved ? { resolved } : {}) });
  if (req.planOut && summary.status === 'success') {
    const id = storePlanSet(repo.config.cacheDir, req.planOut);
    emit({ type: 'notice', time: new Date().toISOString(), message: `stored plans ${id}: apply them with rollout --from-plan ${id} (here) or --from-plan ${req.planOut}` });
  }
  if (pipeline.records !== 'test-results') return { kind: 'run', summary, events: recorder.events };
  const xml = junitXml(recorder.events, `${dep.name}/${target}`);
  const attached = await attachTestResults(repo.config.repoRoot, dep.name, xml);
  return { kind: 'run', summary, events: recorder.events, testResults: { xml, warnings: attached.warnings } };
}

/**
 * `build --plan`: what the build pipeline's modules would do for every selected nixpack
 * component (each module's `plan()`: nixpacks' plan JSON), by address — the plan itself when
 * there is one. Builds nothing.
 */
export async function buildPlans(repo: Repository, dep: DeploymentConfig, target: string, components: string[], build: PipelineDefinition, modules?: ModuleRegistry): Promise<unknown> {
  const pipeline = bindPipeline(build, modules);
  const resolved = await resolve(repo, dep, target);
  const picked = selectComponents(resolved, components, false);
  const nixpack = resolved.components.filter((c) => c.type === 'nixpack' && picked.has(c.address));
  if (nixpack.length === 0) throw new DiagnosticError(error('args/no-nixpack', `${dep.name} has no nixpack component${components.length ? ' among the selected ones' : ''}: there is nothing to plan`));
  const planOf = (c: ResolvedComponent): unknown => {
    const stage = pipeline.stages.find((s) => s.module.plan && (s.appliesTo ? s.appliesTo(c) : true));
    return stage?.module.plan?.({ component: c, repoRoot: repo.config.repoRoot, inputs: stage.module.inputs.parse(stage.inputs?.(c) ?? {}) });
  };
  const plans = Object.fromEntries(nixpack.map((c) => [c.address, planOf(c)]));
  return nixpack.length === 1 ? plans[nixpack[0].address] : plans;
}
