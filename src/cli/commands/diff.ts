import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class DiffCommand extends TrackingReadCommand {
  static override paths = [['diff']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Compare what runs in two targets of a deployment, read from Git',
    details: `
      For every component: the commit and release running in \`--from-target\` and in \`--to-target\`, and whether they differ. Then how many commits the destination's commit is behind (and ahead of) the source's, the commit log between them (newest first, at most \`--limit\` entries), and the configuration files changed between the two commits (the deployment file, \`atmos.yaml\`, the stacks and the components directories).

      A target's commit is the one of its newest deployment that did not fail. A target that was never deployed is reported as such (null in JSON); the command still exits 0. \`--from-target\` defaults to the promotion source of \`--to-target\` when it has exactly one.

      Reads Git with a constant number of processes whatever the number of tags: one \`git for-each-ref\`, then \`git rev-list --count\`, \`git log\` and \`git diff --name-status\`.
    `,
    examples: [
      ['What staging has that prod does not', '$0 diff payment-service --from-target staging --to-target prod'],
      ['The promotion source of staging against staging', '$0 diff payment-service --to-target staging'],
      ['As JSON, with at most 10 commits', '$0 diff payment-service --from-target dev --to-target staging --limit 10 --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  fromTarget = Option.String('--from-target', { description: 'The source target (default: the promotion source of --to-target)' });
  toTarget = Option.String('--to-target', { required: true, description: 'The destination target' });
  limit = Option.String('-n,--limit', { description: 'At most this many commits in the log (default 50)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const { checkKebabName } = await import('../../config/names.js');
    // Bad names on the command line are rejected before any file is read.
    for (const [flag, v] of [
      ['--from-target', this.fromTarget],
      ['--to-target', this.toTarget],
    ] as const) {
      const p = v === undefined ? undefined : checkKebabName(v);
      if (p) throw new lib.DiagnosticError(lib.error('args/target-name', `invalid ${flag} "${v}": ${p}`, undefined, 'targets look like dev, staging, prod'));
    }
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const checkTarget = (flag: string, v: string) => {
      try {
        lib.checkTargetArg(dep, v);
      } catch (e) {
        if (!(e instanceof lib.DiagnosticError)) throw e;
        throw new lib.DiagnosticError(
          e.diagnostics.map((d) => ({ ...d, message: d.message.replace(/^--target /, `${flag} `) })),
          e.kind,
        );
      }
    };
    checkTarget('--to-target', this.toTarget);
    let from = this.fromTarget;
    if (from === undefined) {
      const sources = lib.promotionGraph(dep).targets.find((x) => x.name === this.toTarget)?.from ?? [];
      if (sources.length !== 1) {
        throw new lib.DiagnosticError(
          lib.error(
            'args/from-target-required',
            `--from-target is required: target "${this.toTarget}" of deployment "${dep.name}" has ${sources.length === 0 ? 'no promotion source' : `${sources.length} promotion sources`}`,
            undefined,
            `valid values: ${Object.keys(dep.body.targets).join(', ')}`,
          ),
        );
      }
      from = sources[0];
    } else checkTarget('--from-target', from);

    const path = await import('node:path');
    const root = repo.config.repoRoot;
    const rel = (abs: string) => path.relative(root, abs).split(path.sep).join('/') || '.';
    const configPaths = [...new Set([dep.abs, ...(repo.config.configFile ? [repo.config.configFile] : []), repo.config.stacksBasePath, repo.config.terraformBasePath].map(rel))];

    const { diffTargets } = await import('../../promotion/diff.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const d = await gitRead(async () => diffTargets(await this.trackingStore(repo), dep.name, from!, this.toTarget, { configPaths, logLimit: this.limit ?? 50, invalid }));
    await this.warn(invalidTagWarnings(invalid));
    if (d.warnings.length && d.from.deployed && d.to.deployed) {
      await this.warn(d.warnings.map((w) => lib.warning('tracking/diff', w)));
    }
    const { renderTargetDiff } = await import('../render/diff.js');
    await this.print(d, (c) => renderTargetDiff(d, c, Date.now()));
    return 0;
  }
}
