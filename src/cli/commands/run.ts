import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { parseDuration } from '../../output/format.js';
import { BaseCommand } from '../base.js';

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
}

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
  return out;
}

/** `--annotation k=v` (repeatable) -> map; exit 2 on a malformed one. */
export function parseAnnotations(list: string[], lib: typeof import('../../index.js')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    const k = i > 0 ? a.slice(0, i).trim() : '';
    if (!k || !/^[A-Za-z0-9][A-Za-z0-9_.\/-]*$/.test(k)) {
      throw new lib.DiagnosticError(lib.error('args/annotation', `--annotation "${a}" is not key=value`, undefined, 'e.g. --annotation ticket=OPS-123 (keys: letters, digits, . _ - /)'));
    }
    out[k] = a.slice(i + 1);
  }
  return out;
}

function renderTracking(t: import('../../rollout/index.js').RolloutSummary, c: import('../../render/index.js').Colors): string {
  if (!t.tracked || !t.release) return '';
  const lines: string[] = [];
  const d = t.decision;
  lines.push(`release ${c.bold(t.release.id)} (${t.release.created ? 'created' : 'existing'}) at commit ${t.release.record.git_sha.slice(0, 12)}${d?.promotedFrom ? `, promoted from ${d.promotedFrom}` : ''}${d?.rollbackOf ? `, rollback of ${d.rollbackOf}` : ''}${t.approvedBy.length ? `, approved by ${t.approvedBy.join(', ')}` : ''}`);
  for (const r of t.recorded) {
    const st = r.status === 'failed' ? c.red(r.status) : r.status === 'rollback' ? c.yellow(r.status) : c.green(r.status);
    lines.push(`  ${r.component}: ${st}${r.tag ? ` → tag ${r.tag}` : ' (unchanged, nothing recorded)'}${r.conflict ? c.yellow(` (ref ${r.conflict})`) : ''}`);
  }
  if (t.push) {
    const p = t.push;
    lines.push(p.ok ? `pushed to ${p.remote} (${p.pushed.length} refs${p.attempts > 1 ? `, after ${p.attempts} attempts` : ''})` : c.red(`push to ${p.remote} rejected: ${p.rejected.map((r) => `${r.ref} (${r.reason})`).join(', ')}`));
    for (const s of p.superseded) lines.push(c.yellow(`  ${s.ref}: the remote has a newer deployment${s.remoteTag ? ` (${s.remoteTag})` : ''}; left as is`));
  }
  return lines.join('\n') + '\n';
}

/** Options shared by `run <pipeline>` and its shorthands (`rollout`, `plan`). */
abstract class PipelineCommand extends BaseCommand {
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
  format = Option.String('-f,--format', 'table', { description: 'With --dry-run: table, json or yaml', validator: t.isEnum(['table', 'json', 'yaml']) });
  skipPush = Option.Boolean('--skip-push', false, { description: 'Keep built images in the local store (.atmos/images); push nothing' });
  junitXml = Option.String('--junit-xml', { description: 'test pipeline: write the results as JUnit XML to this file' });

  protected abstract pipelineName(): string;
  protected abstract deploymentArg(): string | undefined;
  /** `build --plan`: print the build plans, build nothing. */
  protected printPlan(): boolean {
    return false;
  }

  /** Release, promotion and tracking flags (rollout and `run`). */
  protected trackingFlags(): TrackingFlags | undefined {
    return undefined;
  }

  /** Exit 1 when a requested push stayed rejected. */
  protected pushExit(push: { ok: boolean; remote: string; rejected: { ref: string; reason: string }[] } | undefined): number {
    if (!push || push.ok) return 0;
    this.context.stderr.write(`push to ${push.remote} failed: ${push.rejected.map((r) => `${r.ref} (${r.reason})`).join(', ')}; the local records are intact, push again with --push\n`);
    return 1;
  }

  /** Asks yes/no on the terminal. */
  protected async confirm(question: string): Promise<boolean> {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: this.context.stderr as NodeJS.WritableStream });
    try {
      return /^y(es)?$/i.test((await rl.question(question)).trim());
    } finally {
      rl.close();
    }
  }

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const lockTimeoutSeconds = parseDuration(this.lockTimeout);
    if (lockTimeoutSeconds === undefined) {
      throw new lib.DiagnosticError(lib.error('args/lock-timeout', `--lock-timeout "${this.lockTimeout}" is not a duration`, undefined, 'e.g. 30s, 5m, 1h'));
    }
    const { pipelines } = await import('../../../pipelines/index.js');
    const name = this.pipelineName();
    const pipeline = (pipelines as Record<string, import('../../module/index.js').PipelineDefinition>)[name];
    if (!pipeline) {
      throw new lib.DiagnosticError(lib.error('args/pipeline', `unknown pipeline "${name}"`, undefined, lib.choicesHint(name, Object.keys(pipelines))));
    }
    const flags = this.trackingFlags();
    const annotations = parseAnnotations(flags?.annotation ?? [], lib);
    if (flags && !pipeline.records && usedTrackingFlags(flags).length) {
      throw new lib.DiagnosticError(lib.error('args/not-tracked', `${usedTrackingFlags(flags).join(', ')}: the ${pipeline.name} pipeline records nothing in Git`, undefined, 'these flags belong to rollout (and release for --annotation)'));
    }
    const { repo, dep, target } = await this.deploymentAndTarget(this.deploymentArg(), this.target);
    const pushRemote = flags?.push || flags?.remote ? (flags.remote ?? repo.config.trackingRemote ?? 'origin') : repo.config.trackingRemote;
    if (this.printPlan()) {
      const { planOf } = await import('../../../modules/nixpack/index.js');
      const { selectComponents } = await import('../../run/index.js');
      const resolved = await lib.resolve(repo, dep, target);
      const picked = selectComponents(resolved, this.component, false);
      const nixpack = resolved.components.filter((c) => c.type === 'nixpack' && picked.has(c.address));
      if (nixpack.length === 0) throw new lib.DiagnosticError(lib.error('args/no-nixpack', `${dep.name} has no nixpack component${this.component.length ? ' among the selected ones' : ''}: there is nothing to plan`));
      const ctxOf = (c: (typeof nixpack)[number]) => ({ component: c, repoRoot: repo.config.repoRoot }) as unknown as import('../../module/index.js').ModuleContext;
      const plans = Object.fromEntries(nixpack.map((c) => [c.address, planOf(ctxOf(c))]));
      const value = nixpack.length === 1 ? plans[nixpack[0].address] : plans;
      if (this.outputFormat() === 'yaml') await this.print(value, () => '');
      else this.write(JSON.stringify(value, null, 2) + '\n');
      return 0;
    }
    if (pipeline.records === 'release' && !this.dryRun) {
      const { release } = await import('../../release/create.js');
      const r = await release(repo, dep, { target, annotations, pushRemote, allowDirty: flags?.allowDirty });
      await this.warn(r.warnings);
      await this.print({ id: r.id, tag: r.tag, created: r.created, file: r.relativeFile, record: r.record, ...(r.push ? { push: r.push } : {}) }, () =>
        `release ${r.id} ${r.created ? 'created' : 'already existed (releases are idempotent)'}\n  tag:    ${r.tag}\n  commit: ${r.record.git_sha}\n  file:   ${r.relativeFile}\n`,
      );
      return this.pushExit(r.push);
    }
    if (pipeline.name === 'plan' || (this.dryRun && pipeline.records === 'deployment' && !(flags?.promoteFrom ?? flags?.release ?? flags?.gitSha))) {
      // Not refused (nothing is recorded), but said: the rollout of this tree would be.
      const { dirtyTreeNotice } = await import('../../release/dirty.js');
      await this.warn(await dirtyTreeNotice(repo, dep, target));
    }
    if (this.dryRun) {
      const { dryRunPipeline } = await import('../../run/index.js');
      const choosesRelease = pipeline.records === 'deployment' && Boolean(flags?.promoteFrom ?? flags?.release ?? flags?.gitSha);
      const plan = choosesRelease
        ? await (await import('../../rollout/index.js')).planRollout(repo, dep, {
            pipeline,
            target,
            components: this.component,
            withDeps: this.withDeps,
            noCache: this.noCache,
            engine: this.engine as 'auto' | 'local' | 'dagger' | undefined,
            promoteFrom: flags?.promoteFrom,
            release: flags?.release,
            gitSha: flags?.gitSha,
            skipPromotionCheck: flags?.skipPromotionCheck,
          })
        : await dryRunPipeline(repo, dep, {
        pipeline,
        target,
        components: this.component,
        withDeps: this.withDeps,
        noCache: this.noCache,
        engine: this.engine as 'auto' | 'local' | 'dagger' | undefined,
      });
      const { table } = await import('../../render/index.js');
      const rp = choosesRelease ? (plan as import('../../rollout/index.js').RolloutPlan) : undefined;
      const head = rp
        ? `would roll out ${rp.release ?? 'a new release'} (commit ${rp.commit.slice(0, 12)})${rp.promoted_from ? ` from ${rp.promoted_from}` : ''}${rp.rollback_of ? `, rolling back ${rp.rollback_of}` : ''}; approval: ${rp.approval}\n`
        : '';
      await this.print(plan, (c) =>
        head +
        table(
          ['STEP', 'STATUS', 'FINGERPRINT'],
          plan.steps.map((s) => [s.id, s.status === 'cached' ? c.green('cached') : s.status === 'run' ? c.yellow('would run') : c.dim(`after ${s.needs.join(', ') || 'dependencies'}`), s.fingerprint ? s.fingerprint.slice(0, 19) : '-']),
          c,
        ) + `${plan.steps.filter((s) => s.status === 'cached').length} cached, ${plan.steps.filter((s) => s.status !== 'cached').length} to run\n`,
      );
      return 0;
    }
    const { runPipeline, sandboxFor } = await import('../../run/index.js');
    // Before anything is fetched, written or run: a strict sandbox that cannot be had refuses (exit 2).
    await sandboxFor(repo, { engine: this.engine as 'auto' | 'local' | 'dagger' | undefined, sandbox: this.sandbox as 'strict' | 'off' | undefined });
    const { createView } = await import('../../output/index.js');
    const colors = await this.colors();
    const stdout = this.context.stdout as NodeJS.WriteStream;
    const view = createView({
      stream: this.events === 'ndjson' ? stdout : (this.context.stderr as NodeJS.WriteStream),
      format: this.events === 'ndjson' ? 'ndjson' : 'auto',
      verbose: this.verbose,
      colors,
      isTTY: Boolean((this.context.stderr as NodeJS.WriteStream).isTTY) && !process.env.CI,
    });
    const events: import('../../engine/types.js').RunEvent[] = [];
    let summary;
    let tracked: import('../../rollout/index.js').RolloutSummary | undefined;
    try {
      const request = {
        pipeline,
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
        skipPush: this.skipPush,
        emit: (e: import('../../engine/types.js').RunEvent) => {
          if (e.type !== 'step.output') events.push(e);
          view.onEvent(e);
        },
      };
      if (pipeline.records === 'deployment') {
        const { rollout } = await import('../../rollout/index.js');
        const interactive = Boolean((process.stdin as NodeJS.ReadStream).isTTY) && Boolean((this.context.stderr as NodeJS.WriteStream).isTTY) && !process.env.CI;
        tracked = await rollout(repo, dep, {
          ...request,
          build: (pipelines as Record<string, import('../../module/index.js').PipelineDefinition>).build,
          promoteFrom: flags?.promoteFrom,
          release: flags?.release,
          gitSha: flags?.gitSha,
          skipPromotionCheck: flags?.skipPromotionCheck,
          approve: flags?.approve,
          approver: flags?.approver,
          annotations,
          pushRemote,
          allowDirty: flags?.allowDirty,
          ...(interactive ? { confirm: (q: string) => this.confirm(q) } : {}),
        });
        summary = tracked.run;
      } else summary = await runPipeline(repo, dep, request);
    } finally {
      view.close();
    }
    if (tracked) await this.warn(tracked.warnings);
    if (this.events !== 'ndjson' && !this.quiet) {
      const { renderSummary, writeJobSummary } = await import('../../output/index.js');
      this.context.stderr.write(renderSummary(events, colors));
      writeJobSummary(events, process.env);
      if (pipeline.name === 'plan') {
        const { table } = await import('../../render/index.js');
        // A component whose upstream outputs are unknown is not planned: its counts are unknown too.
        const unknownOf = (o: Record<string, unknown>) => (Array.isArray(o.unknown) ? (o.unknown as { value: string; reason: string }[]) : []);
        const rows = Object.entries(summary.componentOutputs).map(([addr, o]) => (unknownOf(o).length ? [addr, '?', '?', '?'] : [addr, String(o.add ?? 0), String(o.change ?? 0), String(o.destroy ?? 0)]));
        if (rows.length) this.write(table(['COMPONENT', 'ADD', 'CHANGE', 'DESTROY'], rows, colors));
        for (const [addr, o] of Object.entries(summary.componentOutputs)) for (const u of unknownOf(o)) this.write(`${addr}: {{ ${u.value} }} is unknown (${u.reason}); not planned\n`);
      }
      if (this.keepWorkspace) {
        for (const r of summary.results) if (r.workspace) this.context.stderr.write(`workspace kept: ${r.workspace}\n`);
      }
      const built = Object.entries(summary.componentOutputs).filter(([addr, o]) => addr.startsWith('nixpack/') && typeof o.image === 'string');
      if (built.length && pipeline.name !== 'rollout') {
        const { table } = await import('../../render/index.js');
        this.write(table(['COMPONENT', 'IMAGE', 'PUSHED'], built.map(([addr, o]) => [addr, String(o.image), o.pushed ? 'yes' : 'no (local store .atmos/images)']), colors));
      }
    }
    if (pipeline.records === 'test-results') {
      const { junitXml } = await import('../../output/junit.js');
      const xml = junitXml(events, `${dep.name}/${target}`);
      if (this.junitXml) {
        const { writeOutputFile } = await import('../../output/file.js');
        const path = await import('node:path');
        writeOutputFile(path.resolve(this.chdir ?? process.cwd(), this.junitXml), xml);
      }
      const { attachTestResults } = await import('../../run/test-results.js');
      const attached = await attachTestResults(repo.config.repoRoot, dep.name, xml);
      await this.warn(attached.warnings);
    }
    if (tracked && this.events !== 'ndjson' && !this.quiet) this.context.stderr.write(renderTracking(tracked, colors));
    if (summary.status === 'success') return this.pushExit(tracked?.push);
    // A lock held by someone else (e.g. Terraform's state lock past --lock-timeout): exit 4.
    if (summary.results.some((r) => r.locked)) {
      this.context.stderr.write(`a lock is held by another process; waited ${this.lockTimeout} (--lock-timeout)\n`);
      return 4;
    }
    return 1;
  }
}

/** Release, promotion, approval and tracking flags: `rollout` and `run`. */
abstract class TrackedPipelineCommand extends PipelineCommand {
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

  protected override trackingFlags(): TrackingFlags {
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
    };
  }
}

export class RunCommand extends TrackedPipelineCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Run a pipeline over a deployment for one target',
    details: `
      Resolves the deployment, expands every component into content-addressed steps and runs them in dependency order with at most \`--parallelism\` at once. A step whose fingerprint is in the action cache is not run again (\`cached\`); \`--no-cache\` forces it. When a step fails, nothing that depends on it starts, running steps finish, and the run exits 1 listing every failed and skipped step.

      With the local engine every step runs in the bubblewrap sandbox (\`--sandbox strict\`, the default): a user namespace without capabilities, a read-only root assembled from /usr and a few /etc files, a private /tmp, writable only its workspace and declared mounts, no network unless the step needs it. Where that sandbox cannot be had the run refuses (exit 2) before any step; \`--sandbox off\` (or ATMOS_PIPE_SANDBOX=off, or deployments.sandbox: off in atmos.yaml) runs the steps unsandboxed on the host and says so.

      Built-in pipelines: \`rollout\` (release, promotion checks, terraform init + apply in dependency order, recorded in Git), \`plan\` (terraform plan; prints add/change/destroy per component, records nothing), \`build\` (nixpack components to OCI images), \`test\` (their tests) and \`release\` (a release record). Each also has a command of its own.
    `,
    examples: [
      ['Roll the example out to dev', '$0 run rollout payment-service --target dev'],
      ['Plan one component and its dependencies', '$0 run plan payment-service --target prod --component ecs/service-api --with-deps'],
      ['Machine-readable events for CI', '$0 run rollout payment-service --target dev --events ndjson'],
      ['On a host without bubblewrap, knowingly unsandboxed', '$0 run rollout payment-service --target dev --sandbox off'],
    ],
  });
  pipeline = Option.String({ name: 'pipeline' });
  deployment = Option.String({ required: false, name: 'deployment' });
  protected pipelineName(): string {
    return this.pipeline;
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}

export class RolloutCommand extends TrackedPipelineCommand {
  static override paths = [['rollout']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Roll a deployment out to a target (shorthand for `run rollout`)',
    details: `
      Chooses the release (the working tree's commit; \`--promote-from\` the source target's current release; \`--release\` / \`--git-sha\` an earlier one), checks the promotion path and approvals (a refusal exits 3 and writes nothing), pulls vendored modules and builds nixpack components (cached), creates the release, then runs \`terraform init\` and \`apply\` for every Terraform component in dependency order, each in its own isolated workspace. Nothing is written under components/. Each component's outcome is recorded in Git: a history tag, and on success the deployment ref moved by compare-and-swap (\`--push\` sends them to the tracking remote).

      Re-running an unchanged rollout is all cache hits and records nothing; a state changed elsewhere (drift) re-runs the apply. A second rollout of the same deployment and target waits for the first, or exits 4 after \`--lock-timeout\`.

      A new release is made only from committed inputs (deployment file, loaded stacks, modules, service sources, atmos.yaml): modified or untracked input files exit 3 with their list, unless \`--allow-dirty\` records a dirty release, which is never promoted. A component rolled out without its dependencies (\`--component\`) takes their outputs as recorded by the rollout that applied them to the target (the same release when promoting); when none are recorded it exits 2 naming the command that applies them.
    `,
    examples: [
      ['Roll out to dev', '$0 rollout payment-service --target dev'],
      ['Promote exactly what runs in staging', '$0 rollout payment-service --target prod --promote-from staging'],
      ['Approve while promoting, in CI', '$0 rollout payment-service --target prod --promote-from staging --approve --approver "$GITHUB_ACTOR"'],
      ['Roll prod back to an earlier release', '$0 rollout payment-service --target prod --release r-0123456789ab'],
      ['Only one component, with what it needs', '$0 rollout payment-service --target dev --component ecr/api --with-deps'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  protected pipelineName(): string {
    return 'rollout';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}

export class PlanCommand extends PipelineCommand {
  static override paths = [['plan']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Plan a deployment for a target (shorthand for `run plan`)',
    details: `
      Runs \`terraform plan\` for every Terraform component and prints, per component, how many resources would be added, changed and destroyed. Records nothing.
    `,
    examples: [['Plan prod', '$0 plan payment-service --target prod']],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  protected pipelineName(): string {
    return 'plan';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}

export class BuildCommand extends PipelineCommand {
  static override paths = [['build']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build the nixpack components into OCI images (shorthand for `run build`)',
    details: `
      Detects each component's provider (node, go, python, static) from its source, plans the build in the shape of a nixpacks plan (\`--plan\` prints it and builds nothing), runs the install (with network) and build (without) commands as sandboxed steps over a copy of the source, and assembles a bit-for-bit reproducible OCI image (sorted entries, SOURCE_DATE_EPOCH or the commit time, uid/gid 0). Images are kept in the local OCI layout \`.atmos/images/\` and pushed to \`image.registry\` unless \`--skip-push\` or \`settings.nixpack.publish: false\`; registry credentials come from the Docker config file. An unchanged service is not rebuilt.
    `,
    examples: [
      ['Build the example service', '$0 build payment-service --target dev'],
      ['Print the build plan', '$0 build payment-service --component api --plan'],
      ['Build without pushing', '$0 build payment-service --skip-push'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  plan = Option.Boolean('--plan', false, { description: 'Print the build plan (nixpacks plan JSON) and build nothing' });
  protected pipelineName(): string {
    return 'build';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
  protected override printPlan(): boolean {
    return this.plan;
  }
}

export class TestCommand extends PipelineCommand {
  static override paths = [['test']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Build (cached) and test the nixpack components (shorthand for `run test`)',
    details: `
      Runs each component's \`test_cmd\` (or the provider's default, e.g. \`npm test\`) against the built tree, in the sandbox and without network. A failing test fails the run (exit 1) with its output. Results are written as JUnit XML with \`--junit-xml\` and attached to the commit as a Git note (\`refs/notes/atmos/<d>/test-results\`).
    `,
    examples: [
      ['Test the example service', '$0 test payment-service --target dev'],
      ['With a JUnit report for CI', '$0 test payment-service --junit-xml reports/junit.xml'],
    ],
  });
  deployment = Option.String({ required: false, name: 'deployment' });
  protected pipelineName(): string {
    return 'test';
  }
  protected deploymentArg(): string | undefined {
    return this.deployment;
  }
}
