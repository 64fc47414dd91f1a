/**
 * Option sets shared by the pipeline commands (`run <pipeline>`, `rollout`, `plan`, `build`,
 * `test`): the pipeline flags, and the release, promotion and tracking flags of the commands
 * that record a rollout. {@link PipelineCommand} turns them into one library request
 * (`runPipelineRequest`) and renders its result; the commands only name the pipeline.
 */
import { Option } from 'clipanion';
import * as t from 'typanion';
import type { DeploymentConfig } from '../config/deployment.js';
import type { RunEvent } from '../engine/types.js';
import type { Repository } from '../index.js';
import { parseDuration } from '../output/format.js';
import type { PipelineRunRequest, PipelineRunResult } from '../run/pipeline-run.js';
import { BaseCommand } from './base.js';
import type { PushReport } from './render/pipeline.js';
import { exitCode, outcomeOfRun } from './exit.js';

/** The release, promotion and tracking flags as given (`rollout` and `run`). */
export interface TrackingFlags {
  promoteFrom?: string;
  release?: string;
  gitSha?: string;
  skipPromotionCheck: boolean;
  approve: boolean;
  approver?: string;
  annotation: string[];
  push: boolean;
  remote?: string;
  allowDirty: boolean;
  fetch: boolean;
}

/** The tracking flags that were given, by name (refused for a pipeline that records nothing). */
function usedTrackingFlags(f: TrackingFlags): string[] {
  const out: string[] = [];
  if (f.promoteFrom !== undefined) out.push('--promote-from');
  if (f.release !== undefined) out.push('--release');
  if (f.gitSha !== undefined) out.push('--git-sha');
  if (f.skipPromotionCheck) out.push('--skip-promotion-check');
  if (f.approve) out.push('--approve');
  if (f.approver !== undefined) out.push('--approver');
  if (f.annotation.length) out.push('--annotation');
  if (f.push) out.push('--push');
  if (f.remote !== undefined) out.push('--remote');
  if (f.allowDirty) out.push('--allow-dirty');
  if (!f.fetch) out.push('--no-fetch');
  return out;
}

/** `--annotation k=v` (repeatable) -> map; a usage error on a malformed one. */
export function parseAnnotations(list: string[], lib: typeof import('../index.js')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    const k = i > 0 ? a.slice(0, i).trim() : '';
    if (!k || !/^[A-Za-z0-9][A-Za-z0-9_./-]*$/.test(k)) {
      throw new lib.DiagnosticError(lib.error('args/annotation', `--annotation "${a}" is not key=value`, undefined, 'e.g. --annotation ticket=OPS-123 (keys: letters, digits, . _ - /)'));
    }
    out[k] = a.slice(i + 1);
  }
  return out;
}

/**
 * `--context k=v` applied to the deployment, with a warning (and "did you mean") for each key
 * no module declares and no template reads — said before the run, whose own resolution stays
 * quiet. A deployment that does not resolve is left to the run to report.
 */
export async function applyContextOverrides(
  warn: (d: import('../diagnostics/index.js').Diagnostic[]) => Promise<void>,
  lib: typeof import('../index.js'),
  loaded: { repo: Repository; dep: DeploymentConfig; target: string },
  args: string[],
): Promise<DeploymentConfig> {
  const overrides = lib.parseContextOverrides(args);
  if (Object.keys(overrides).length === 0) return loaded.dep;
  const dep = lib.withContextOverrides(loaded.dep, loaded.target, overrides);
  try {
    const r = await lib.resolve(loaded.repo, dep, loaded.target);
    await warn(r.warnings.filter((w) => w.code === 'deployment/unused-context' && w.message.startsWith('--context ')));
  } catch {
    // the run reports it
  }
  return dep;
}

/** `--push` / `--remote`, else the configured tracking remote (which pushes without `--push`). */
export function pushRemoteOf(repo: Repository, push: boolean, remote: string | undefined): string | undefined {
  return push || remote ? (remote ?? repo.config.trackingRemote ?? 'origin') : repo.config.trackingRemote;
}

/** A pipeline request parsed from the flags, with the deployment and target it is for. */
export interface ParsedPipelineRequest {
  repo: Repository;
  dep: DeploymentConfig;
  target: string;
  request: Omit<PipelineRunRequest, 'emit'>;
}

/** `--skip-push`: for the commands that build images (build, test, run). */
export const skipPushOption = () => Option.Boolean('--skip-push', false, { description: 'Keep built images in the local store (.atmos/images); push nothing' });
/** `--junit-xml <file>`: for the commands that test (test, run). */
export const junitXmlOption = () => Option.String('--junit-xml', { description: 'test pipeline: write the results as JUnit XML to this file' });

/** The pipeline flags, shared by `run <pipeline>` and its shorthands. */
export abstract class PipelineCommand extends BaseCommand {
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  component = Option.Array('-c,--component', [], { description: 'Limit the run to this component (repeatable; address or bare name)' });
  withDeps = Option.Boolean('--with-deps', false, { description: 'With --component: include its dependencies' });
  parallelism = Option.String('-p,--parallelism', { description: 'Steps at once (default: number of CPUs)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  noCache = Option.Boolean('--no-cache', false, { description: 'Run every step even when its fingerprint is cached' });
  engine = Option.String('--engine', { description: 'auto, local or dagger (default: deployments.engine, else auto)', validator: t.isEnum(['auto', 'local', 'dagger']) });
  sandbox = Option.String('--sandbox', {
    description: 'Local engine: strict (default; every step in the bubblewrap sandbox, or the run refuses) or off (unsandboxed); default ATMOS_PIPE_SANDBOX, else deployments.sandbox',
    validator: t.isEnum(['strict', 'off']),
  });
  events = Option.String('--events', { description: 'ndjson: machine-readable events on stdout', validator: t.isEnum(['ndjson']) });
  keepGoing = Option.Boolean('--keep-going', false, { description: 'After a failure, keep starting independent steps' });
  keepWorkspace = Option.Boolean('--keep-workspace', false, { description: 'Keep step workspaces and print their paths' });
  lockTimeout = Option.String('--lock-timeout', '5m', { description: 'How long to wait for a held lock (e.g. 30s, 5m) before exiting 4' });
  allowToolDrift = Option.Boolean('--allow-tool-drift', false, { description: 'Warn instead of failing when a host tool differs from its pinned version' });
  dryRun = Option.Boolean('-n,--dry-run', false, { description: 'Show the steps, their fingerprints and what is cached; run nothing' });
  cacheRemote = Option.String('--cache-remote', {
    description: 'Shared cache: oci://<registry>/<repository>, a shared directory, or off (default: deployments.cache.remote)',
  });
  contextOverride = Option.Array('--context', [], { description: "k=v over the target's context (repeatable; 512, true, [a, b] are typed as in YAML); a release made with it records it" });
  format = Option.String('-f,--format', 'table', { description: 'The result on stdout: table, json or yaml (README: Machine-readable output)', validator: t.isEnum(['table', 'json', 'yaml']) });

  /** `--skip-push`, on the commands that declare it (`skipPush = skipPushOption()`: build, test, run). */
  protected skipPushFlag(): boolean {
    return (this as { skipPush?: boolean }).skipPush === true;
  }
  /** `--junit-xml <file>`, on the commands that declare it (`junitXml = junitXmlOption()`: test, run). */
  protected junitXmlFile(): string | undefined {
    return (this as { junitXml?: string }).junitXml;
  }

  /** The pipeline this command runs (`run <pipeline>`: its argument). */
  protected abstract pipelineName(): string;
  /** The deployment argument, when given. */
  protected abstract deploymentArg(): string | undefined;

  /** Release, promotion and tracking flags (rollout and `run`). */
  protected trackingFlags(): TrackingFlags | undefined {
    return undefined;
  }

  /** Stored plans: `plan --out` and `rollout --from-plan` (absolute directories). */
  protected storedPlans(): { planOut?: string; fromPlan?: string } {
    return {};
  }

  /** Checks the flags, loads the deployment and settles the target: the request to run. */
  protected async parseRequest(): Promise<ParsedPipelineRequest> {
    const lib = await import('../index.js');
    const lockTimeoutSeconds = parseDuration(this.lockTimeout);
    if (lockTimeoutSeconds === undefined) {
      throw new lib.DiagnosticError(lib.error('args/lock-timeout', `--lock-timeout "${this.lockTimeout}" is not a duration`, undefined, 'e.g. 30s, 5m, 1h'));
    }
    // The built-in pipelines and modules with the repository's own (and the remote modules they name).
    const { modules, pipelines } = await this.extensions();
    const name = this.pipelineName();
    const pipeline = pipelines[name];
    if (!pipeline) {
      throw new lib.DiagnosticError(lib.error('args/pipeline', `unknown pipeline "${name}"`, undefined, lib.choicesHint(name, Object.keys(pipelines))));
    }
    const flags = this.trackingFlags();
    const annotations = parseAnnotations(flags?.annotation ?? [], lib);
    if (flags && !pipeline.records && usedTrackingFlags(flags).length) {
      throw new lib.DiagnosticError(
        lib.error(
          'args/not-tracked',
          `${usedTrackingFlags(flags).join(', ')}: the ${pipeline.name} pipeline records nothing in Git`,
          undefined,
          'these flags belong to rollout (and release for --annotation)',
        ),
      );
    }
    lib.parseContextOverrides(this.contextOverride); // a malformed one: exit 2 before any file is read
    const loaded = await this.deploymentAndTarget(this.deploymentArg(), this.target);
    const { repo, target } = loaded;
    const dep = await applyContextOverrides((d) => this.warn(d), lib, loaded, this.contextOverride);
    const interactive = Boolean((process.stdin as NodeJS.ReadStream).isTTY) && Boolean((this.context.stderr as NodeJS.WriteStream).isTTY) && !process.env.CI;
    const request: Omit<PipelineRunRequest, 'emit'> = {
      pipeline,
      modules,
      target,
      components: this.component,
      withDeps: this.withDeps,
      parallelism: this.parallelism,
      noCache: this.noCache,
      keepGoing: this.keepGoing,
      keepWorkspace: this.keepWorkspace,
      allowToolDrift: this.allowToolDrift,
      engine: this.engine as 'auto' | 'local' | 'dagger' | undefined,
      sandbox: this.sandbox as 'strict' | 'off' | undefined,
      lockTimeoutSeconds,
      skipPush: this.skipPushFlag(),
      dryRun: this.dryRun,
      cacheRemote: this.cacheRemote,
      verbose: this.verbose,
      build: pipelines.build,
      promoteFrom: flags?.promoteFrom,
      release: flags?.release,
      gitSha: flags?.gitSha,
      skipPromotionCheck: flags?.skipPromotionCheck,
      approve: flags?.approve,
      approver: flags?.approver,
      annotations,
      pushRemote: pushRemoteOf(repo, flags?.push ?? false, flags?.remote),
      allowDirty: flags?.allowDirty,
      fetch: flags?.fetch,
      ...this.storedPlans(),
      ...(interactive ? { confirm: (q: string) => this.confirm(q) } : {}),
    };
    return { repo, dep, target, request };
  }

  async run(): Promise<number> {
    const { repo, dep, request } = await this.parseRequest();
    const { runPipelineRequest } = await import('../run/pipeline-run.js');
    const { createView } = await import('../output/index.js');
    const colors = await this.colors('stderr');
    const stdout = this.context.stdout as NodeJS.WriteStream;
    const ci = await this.ciProvider();
    const view = createView({
      stream: this.events === 'ndjson' ? stdout : (this.context.stderr as NodeJS.WriteStream),
      format: this.events === 'ndjson' ? 'ndjson' : 'auto',
      verbose: this.verbose,
      colors,
      isTTY: this.canRedraw(this.context.stderr) && !process.env.CI,
      ci,
    });
    let result: PipelineRunResult;
    try {
      // Machine notices once per machine (or under -v), none under -q; ndjson keeps every event.
      const { NoticeGate } = await import('./notices.js');
      const gate = new NoticeGate({ verbose: this.verbose, quiet: this.quiet, env: process.env });
      const emit = (e: RunEvent) => (this.events === 'ndjson' || e.type !== 'notice' || gate.show(e.message) ? view.onEvent(e) : undefined);
      result = await runPipelineRequest(repo, dep, { ...request, emit, notice: (d) => this.warn(d) });
    } finally {
      view.close();
    }
    const { reportRun } = await import('./render/ci.js');
    const reports = reportRun(ci, result, result.kind === 'run' ? result.events : undefined, await this.cwd());
    for (const w of reports.warnings) this.context.stderr.write(`${w}\n`);
    return this.render(result, request.pipeline.name);
  }

  /** Renders what the run returned and decides the exit code from it. */
  private async render(result: PipelineRunResult, pipeline: string): Promise<number> {
    const r = await import('./render/pipeline.js');
    const colors = await this.colors();
    if (result.kind === 'release') {
      const rel = result.release;
      await this.warn(rel.warnings);
      await this.print(r.releaseValue(rel), () => r.renderRelease(rel));
      return this.pushExit(rel.push);
    }
    if (result.kind === 'dry-run') {
      await this.print(result.plan, (c) => r.renderDryRun(result.plan, result.rollout, c));
      return exitCode('success');
    }
    const { summary, events, tracked, testResults } = result;
    if (tracked) await this.warn(tracked.warnings);
    if (testResults) {
      const junit = this.junitXmlFile();
      if (junit) {
        const { writeOutputFile } = await import('../output/file.js');
        const path = await import('node:path');
        writeOutputFile(path.resolve(this.chdir ?? process.cwd(), junit), testResults.xml);
      }
      await this.warn(testResults.warnings);
    }
    // The result on stdout (`> result.txt`, `| jq`); the live view and diagnostics went to stderr.
    if (this.events !== 'ndjson' && this.outputFormat() !== 'table') await this.print(r.runValue(summary, events, tracked), () => '');
    else if (this.events !== 'ndjson' && !this.quiet) {
      const { renderFailures, renderSummary } = await import('../output/index.js');
      // The table and totals are the result; why a step failed (its log tail) is a diagnostic.
      this.context.stderr.write(renderFailures(events, await this.colors('stderr')));
      this.write(renderSummary(events, colors, false));
      if (pipeline === 'plan') this.write(r.renderPlanCounts(summary, colors));
      if (this.keepWorkspace) {
        for (const s of summary.results) if (s.workspace) this.context.stderr.write(`workspace kept: ${s.workspace}\n`);
      }
      if (pipeline !== 'rollout') this.write(r.renderBuiltImages(summary, colors));
      if (tracked) this.write(r.renderTracking(tracked, colors));
    }
    if (this.events !== 'ndjson' && !this.quiet) (await import('../output/index.js')).writeJobSummary(events, process.env);
    const outcome = outcomeOfRun(summary);
    if (outcome === 'success') return this.pushExit(tracked?.push);
    // A lock held by someone else (e.g. Terraform's state lock past --lock-timeout).
    if (outcome === 'locked') this.context.stderr.write(`a lock is held by another process; waited ${this.lockTimeout} (--lock-timeout)\n`);
    return exitCode(outcome);
  }

  /** A requested push that stayed rejected fails the command; the local records are kept. */
  private async pushExit(push: PushReport): Promise<number> {
    const { pushFailed, renderPushFailure } = await import('./render/pipeline.js');
    if (!pushFailed(push)) return exitCode('success');
    this.context.stderr.write(renderPushFailure(push, '; the local records are intact, push again with --push'));
    return exitCode('failed');
  }
}

/** Release, promotion, approval and tracking flags: `rollout` and `run`. */
export abstract class TrackedPipelineCommand extends PipelineCommand {
  promoteFrom = Option.String('--promote-from', { description: 'Roll out exactly what runs in this target (same commit, same image digests)' });
  release = Option.String('--release', { description: 'Roll out an existing release by id (rollback, or a specific promotion)' });
  gitSha = Option.String('--git-sha', { description: 'Roll out the release made at this commit' });
  skipPromotionCheck = Option.Boolean('--skip-promotion-check', false, { description: 'Bypass the promotion path check (recorded in the history entry)' });
  approve = Option.Boolean('--approve', false, { description: 'Approve while rolling out (prompts on a terminal; in CI with --approver)' });
  approver = Option.String('--approver', { description: 'Who approves, with --approve (e.g. "$GITHUB_ACTOR")' });
  annotation = Option.Array('--annotation', [], { description: 'k=v recorded in the release and history (repeatable)' });
  push = Option.Boolean('--push', false, { description: 'Push refs, tags and notes to the tracking remote (default origin)' });
  remote = Option.String('--remote', { description: 'Tracking remote for --push (default: deployments.tracking.remote, else origin)' });
  allowDirty = Option.Boolean('--allow-dirty', false, { description: 'Roll out inputs with uncommitted changes anyway, recorded as a dirty release (never promoted)' });
  fetch = Option.Boolean('--fetch', true, { description: '--no-fetch: decide on the local records without fetching the tracking remote first (also ATMOS_PIPE_NO_FETCH=1)' });

  protected override trackingFlags(): TrackingFlags | undefined {
    return {
      promoteFrom: this.promoteFrom,
      release: this.release,
      gitSha: this.gitSha,
      skipPromotionCheck: this.skipPromotionCheck,
      approve: this.approve,
      approver: this.approver,
      annotation: this.annotation,
      push: this.push,
      remote: this.remote,
      allowDirty: this.allowDirty,
      fetch: this.fetch,
    };
  }
}
