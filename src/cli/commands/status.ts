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
    `,
    examples: [
      ['Everything deployed, everywhere', '$0 status'],
      ['payment-service in prod', '$0 status payment-service --target prod'],
      ['As JSON', '$0 status payment-service --format json'],
    ],
  });

  deployment = Option.String({ required: false, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const rel = await import('../../tracking/history.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    let names: string[];
    const repo = await this.repo();
    if (this.deployment !== undefined) {
      names = [(await this.deploymentForReading(this.deployment, this.target)).name];
    } else {
      const lib = await import('../../index.js');
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
}
