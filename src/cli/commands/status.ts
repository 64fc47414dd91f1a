import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class StatusCommand extends TrackingReadCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Show what is deployed where, read from Git',
    details: `
      For every target and component: the deployed commit (\`refs/atmos/deployments/<d>/<t>/<component>\`) joined with the newest history tag (release, who deployed it, when, and whether it succeeded). A component whose last rollout failed keeps its previous commit and shows \`failed\`.

      Without a deployment name every deployment of the repository is shown. Reads Git with one \`git for-each-ref\`, whatever the number of tags.

      \`--check-drift\` also plans every Terraform component of the target (\`terraform plan -detailed-exitcode\` in the sandbox, through the step engine) and adds a DRIFT column: \`none\`, \`detected\` (with the plan's add/change/destroy counts), \`not deployed\` (Git records no deployment of it: its plan is a first rollout, not drift), \`unknown\` (an upstream output was never recorded: not planned) or \`error\` (the plan failed). What is planned is the working tree's configuration against each component's current state; a component deployed from another commit is named, since its change may be one not yet rolled out. A plan is cached by its inputs and the digest of the state it reads: an unchanged state and configuration re-use it (\`cached\`); \`--no-cache\` plans again, which a change made outside Terraform that the local state does not show needs. Records nothing. Exit codes: 0 no drift; 5 drift detected; 1 a plan failed or a component could not be planned; 2 usage or configuration error.
    `,
    examples: [
      ['Everything deployed, everywhere', '$0 status'],
      ['payment-service in prod', '$0 status payment-service --target prod'],
      ['As JSON', '$0 status payment-service --format json'],
      ['Plan prod and report drift per component (exit 5 when there is drift)', '$0 status payment-service --target prod --check-drift'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });
  checkDrift = Option.Boolean('--check-drift', false, { description: 'Plan every Terraform component of the target and report drift (exit 5 when found)' });
  noCache = Option.Boolean('--no-cache', false, { description: 'With --check-drift: plan again even when the state and configuration are unchanged' });
  engine = Option.String('--engine', { description: 'With --check-drift: auto, local or dagger (default: deployments.engine, else auto)', validator: t.isEnum(['auto', 'local', 'dagger']) });
  sandbox = Option.String('--sandbox', { description: 'With --check-drift, local engine: strict (default) or off', validator: t.isEnum(['strict', 'off']) });

  async run(): Promise<number> {
    if (this.checkDrift) return this.drift();
    const lib = await import('../../index.js');
    for (const [flag, used] of [
      ['--no-cache', this.noCache],
      ['--engine', this.engine !== undefined],
      ['--sandbox', this.sandbox !== undefined],
    ] as const) {
      if (used) throw new lib.DiagnosticError(lib.error('args/check-drift-only', `${flag} needs --check-drift: status alone plans nothing`));
    }
    const rel = await import('../../tracking/history.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    let names: string[];
    const repo = await this.repo();
    if (this.deployment !== undefined) {
      names = [(await this.deploymentForReading(this.deployment, this.target)).name];
    } else {
      const withModules = await this.repoWithModules();
      const deps = lib.listDeploymentFiles(repo.config).map((f) => lib.loadDeploymentAt(withModules, f.abs));
      if (this.target !== undefined) {
        const withTarget = deps.filter((d) => Object.keys(d.body.targets).includes(this.target!));
        if (withTarget.length === 0) {
          if (deps.length === 1) lib.checkTargetArg(deps[0], this.target);
          const all = [...new Set(deps.flatMap((d) => Object.keys(d.body.targets)))].sort();
          throw new lib.DiagnosticError(lib.error('args/unknown-target', `--target ${this.target}: no deployment has this target`, undefined, `valid values: ${all.join(', ')}`));
        }
        names = withTarget.map((d) => d.name);
      } else names = deps.map((d) => d.name);
    }
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const rows = await gitRead(async () => rel.readStatus(await this.trackingStore(repo), names, this.target, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const now = Date.now();
    const { table } = await import('../../render/index.js');
    await this.print(rows, (c) => {
      if (rows.length === 0) return `nothing deployed yet${this.target ? ` to ${this.target}` : ''} (no refs under refs/atmos/deployments/)\n`;
      const statusCol = (s: string | null) => (s === 'success' ? c.green(s) : s === 'failed' ? c.red(s) : s === 'rollback' ? c.yellow(s) : '-');
      const multi = names.length > 1;
      const head = [...(multi ? ['DEPLOYMENT'] : []), 'TARGET', 'COMPONENT', 'COMMIT', 'RELEASE', 'STATUS', 'DEPLOYED BY', 'AGE'];
      return table(
        head,
        rows.map((r) => [
          ...(multi ? [r.deployment] : []),
          r.target,
          r.component,
          r.commit ? r.commit.slice(0, 12) : '-',
          r.release ?? '-',
          statusCol(r.status),
          r.deployed_by ?? '-',
          rel.formatAge(r.timestamp, now),
        ]),
        c,
      );
    });
    return 0;
  }

  /** `--check-drift`: the drift pipeline over the target, joined with what Git records there. */
  private async drift(): Promise<number> {
    const { repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const rel = await import('../../tracking/history.js');
    const { headOf } = await import('../../tracking/head.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const store = await this.trackingStore(repo);
    const status = await gitRead(async () => rel.readStatus(store, [dep.name], target, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const head = await headOf(store);
    const { modules } = await this.extensions();
    const { drift: pipeline } = await import('../../../pipelines/index.js');
    const { runPipelineRequest } = await import('../../run/pipeline-run.js');
    const { createView } = await import('../../output/index.js');
    const stderr = this.context.stderr as NodeJS.WriteStream;
    const view = createView({ stream: stderr, format: 'auto', verbose: this.verbose, colors: await this.colors(), isTTY: Boolean(stderr.isTTY) && !process.env.CI, ci: await this.ciProvider() });
    let result: import('../../run/pipeline-run.js').PipelineRunResult;
    try {
      result = await runPipelineRequest(repo, dep, {
        pipeline,
        modules,
        target,
        noCache: this.noCache,
        engine: this.engine as 'auto' | 'local' | 'dagger' | undefined,
        sandbox: this.sandbox as 'strict' | 'off' | undefined,
        lockTimeoutSeconds: 300,
        emit: (e) => (this.quiet ? undefined : view.onEvent(e)),
        notice: (d) => this.warn(d),
      });
    } finally {
      view.close();
    }
    if (result.kind !== 'run') throw new Error(`the drift pipeline returned ${result.kind}`);
    const { driftReport } = await import('../../run/drift.js');
    const report = driftReport(result.summary, status, head?.sha ?? null);
    const { table } = await import('../../render/index.js');
    await this.print(report, (c) => {
      if (report.components.length === 0) return `${dep.name} has no Terraform component in ${target}: nothing to check for drift\n`;
      const col = (e: (typeof report.components)[number]) =>
        e.drift === 'none'
          ? c.green('none')
          : e.drift === 'detected'
            ? c.red(`detected (+${e.add} ~${e.change} -${e.destroy})`)
            : e.drift === 'not-deployed'
              ? c.yellow(`not deployed (+${e.add} ~${e.change} -${e.destroy})`)
              : e.drift === 'unknown'
                ? c.yellow('unknown')
                : c.red('error');
      const rows = report.components.map((e) => [
        e.component,
        e.deployed_commit ? e.deployed_commit.slice(0, 12) : '-',
        e.release ?? '-',
        col(e),
        e.drift === 'unknown' ? 'not planned' : e.drift === 'error' ? 'failed' : e.cached ? 'cached' : 'planned',
      ]);
      let out = `${dep.name} → ${target} (the working tree${report.compared_commit ? ` at ${report.compared_commit.slice(0, 12)}` : ''} against each component's state)\n\n`;
      out += table(['COMPONENT', 'COMMIT', 'RELEASE', 'DRIFT', 'PLAN'], rows, c);
      for (const e of report.components) if (e.reason) out += `${e.component}: ${e.reason}\n`;
      for (const n of report.notes) out += `note: ${n}\n`;
      out += report.drift ? `drift detected in ${report.components.filter((e) => e.drift === 'detected').length} component(s)\n` : '';
      return out;
    });
    const { exitCode } = await import('../exit.js');
    if (report.components.some((e) => e.drift === 'error' || e.drift === 'unknown')) return exitCode('failed');
    return exitCode(report.drift ? 'drifted' : 'success');
  }
}
