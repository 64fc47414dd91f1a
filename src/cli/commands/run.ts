import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.js';

/** `30`, `30s`, `5m`, `1h` -> seconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

/** Options shared by `run <pipeline>` and its shorthands (`rollout`, `plan`). */
abstract class PipelineCommand extends BaseCommand {
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  component = Option.Array('-c,--component', [], { description: 'Limit the run to this component (repeatable; address or bare name)' });
  withDeps = Option.Boolean('--with-deps', false, { description: 'With --component: include its dependencies' });
  parallelism = Option.String('-p,--parallelism', { description: 'Steps at once (default: number of CPUs)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  noCache = Option.Boolean('--no-cache', false, { description: 'Run every step even when its fingerprint is cached' });
  engine = Option.String('--engine', { description: 'auto, local or dagger (default: deployments.engine, else auto)', validator: t.isEnum(['auto', 'local', 'dagger']) });
  events = Option.String('--events', { description: 'ndjson: machine-readable events on stdout', validator: t.isEnum(['ndjson']) });
  keepGoing = Option.Boolean('--keep-going', false, { description: 'After a failure, keep starting independent steps' });
  keepWorkspace = Option.Boolean('--keep-workspace', false, { description: 'Keep step workspaces and print their paths' });
  lockTimeout = Option.String('--lock-timeout', '5m', { description: 'How long to wait for a held lock (e.g. 30s, 5m) before exiting 4' });
  allowToolDrift = Option.Boolean('--allow-tool-drift', false, { description: 'Warn instead of failing when a host tool differs from its pinned version' });
  dryRun = Option.Boolean('-n,--dry-run', false, { description: 'Show the steps, their fingerprints and what is cached; run nothing' });
  format = Option.String('-f,--format', 'table', { description: 'With --dry-run: table, json or yaml', validator: t.isEnum(['table', 'json', 'yaml']) });

  protected abstract pipelineName(): string;
  protected abstract deploymentArg(): string | undefined;

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const lockTimeoutSeconds = parseDuration(this.lockTimeout);
    if (lockTimeoutSeconds === undefined) {
      throw new lib.DiagnosticError(lib.error('args/lock-timeout', `--lock-timeout "${this.lockTimeout}" is not a duration`, undefined, 'e.g. 30s, 5m, 1h'));
    }
    const { pipelines } = await import('../../../pipelines/index.js');
    const name = this.pipelineName();
    const pipeline = (pipelines as Record<string, import('../../api/index.js').PipelineDefinition>)[name];
    if (!pipeline) {
      throw new lib.DiagnosticError(lib.error('args/pipeline', `unknown pipeline "${name}"`, undefined, lib.choicesHint(name, Object.keys(pipelines))));
    }
    const { repo, dep, target } = await this.deploymentAndTarget(this.deploymentArg(), this.target);
    if (this.dryRun) {
      const { dryRunPipeline } = await import('../../run/index.js');
      const plan = await dryRunPipeline(repo, dep, {
        pipeline,
        target,
        components: this.component,
        withDeps: this.withDeps,
        noCache: this.noCache,
        engine: this.engine as 'auto' | 'local' | 'dagger' | undefined,
      });
      const { table } = await import('../../render/index.js');
      await this.print(plan, (c) =>
        table(
          ['STEP', 'STATUS', 'FINGERPRINT'],
          plan.steps.map((s) => [s.id, s.status === 'cached' ? c.green('cached') : s.status === 'run' ? c.yellow('would run') : c.dim(`after ${s.needs.join(', ') || 'dependencies'}`), s.fingerprint ? s.fingerprint.slice(0, 19) : '-']),
          c,
        ) + `${plan.steps.filter((s) => s.status === 'cached').length} cached, ${plan.steps.filter((s) => s.status !== 'cached').length} to run\n`,
      );
      return 0;
    }
    const { createView } = await import('../../output/index.js');
    const { runPipeline } = await import('../../run/index.js');
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
    try {
      summary = await runPipeline(repo, dep, {
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
        lockTimeoutSeconds,
        emit: (e) => {
          if (e.type !== 'step.output') events.push(e);
          view.onEvent(e);
        },
      });
    } finally {
      view.close();
    }
    if (this.events !== 'ndjson' && !this.quiet) {
      const { renderSummary, writeJobSummary } = await import('../../output/index.js');
      this.context.stderr.write(renderSummary(events, colors));
      writeJobSummary(events, process.env);
      if (pipeline.name === 'plan') {
        const { table } = await import('../../render/index.js');
        const rows = Object.entries(summary.componentOutputs).map(([addr, o]) => [addr, String(o.add ?? 0), String(o.change ?? 0), String(o.destroy ?? 0)]);
        if (rows.length) this.write(table(['COMPONENT', 'ADD', 'CHANGE', 'DESTROY'], rows, colors));
      }
      if (this.keepWorkspace) {
        for (const r of summary.results) if (r.workspace) this.context.stderr.write(`workspace kept: ${r.workspace}\n`);
      }
    }
    if (summary.status === 'success') return 0;
    // A lock held by someone else (e.g. Terraform's state lock past --lock-timeout): exit 4.
    if (summary.results.some((r) => r.locked)) {
      this.context.stderr.write(`a lock is held by another process; waited ${this.lockTimeout} (--lock-timeout)\n`);
      return 4;
    }
    return 1;
  }
}

export class RunCommand extends PipelineCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Run a pipeline over a deployment for one target',
    details: `
      Resolves the deployment, expands every component into content-addressed steps and runs them in dependency order with at most \`--parallelism\` at once. A step whose fingerprint is in the action cache is not run again (\`cached\`); \`--no-cache\` forces it. When a step fails, nothing that depends on it starts, running steps finish, and the run exits 1 listing every failed and skipped step.

      Built-in pipelines: \`rollout\` (terraform init + apply in dependency order, recorded in local state) and \`plan\` (terraform plan; prints add/change/destroy per component, records nothing).
    `,
    examples: [
      ['Roll the example out to dev', '$0 run rollout payment-service --target dev'],
      ['Plan one component and its dependencies', '$0 run plan payment-service --target prod --component ecs/service-api --with-deps'],
      ['Machine-readable events for CI', '$0 run rollout payment-service --target dev --events ndjson'],
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

export class RolloutCommand extends PipelineCommand {
  static override paths = [['rollout']];
  static override usage = Command.Usage({
    category: 'Run',
    description: 'Roll a deployment out to a target (shorthand for `run rollout`)',
    details: `
      Runs \`terraform init\` and \`apply\` for every Terraform component in dependency order, each in its own isolated workspace with generated backend, provider override and tfvars files. Nothing is written under components/. Re-running an unchanged rollout is all cache hits; a state changed elsewhere (drift) re-runs the apply. A second rollout of the same deployment and target waits for the first, or exits 4 after \`--lock-timeout\`.
    `,
    examples: [
      ['Roll out to dev', '$0 rollout payment-service --target dev'],
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
