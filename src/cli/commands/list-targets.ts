import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class ListTargetsCommand extends TrackingReadCommand {
  static override paths = [['list', 'targets']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'List the targets of a deployment with their promotion rules and last deployment',
    details: `
      Per target: the targets it is promoted from (\`(entry point)\` when none), whether a rollout needs an approval, when a component was last deployed there and the status of the newest rollouts (\`failed\` when a component's newest rollout failed), read from Git (the tracking remote's records fetched first).
    `,
    examples: [
      ['Targets of payment-service', '$0 list targets payment-service'],
      ['As JSON', '$0 list targets payment-service --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, undefined, false);
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const { readStatus } = await import('../../tracking/history.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const status = await gitRead(async () => readStatus(await this.trackingStore(repo), [dep.name], undefined, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const { targetRows } = await import('../../describe/list.js');
    const rows = targetRows(dep, status);
    const { table } = await import('../../render/index.js');
    const { ageCell, statusCell } = await import('../render/list.js');
    const now = Date.now();
    const ages = rows.map((r) => ageCell(r.last_deploy, now));
    await this.print({ deployment: dep.name, targets: rows }, (c) => {
      return `${dep.name} targets\n\n${table(
        ['TARGET', 'PROMOTION FROM', 'REQUIRES APPROVAL', 'LAST DEPLOY', 'STATUS', 'DEPLOYED'],
        rows.map((r, i) => [
          r.target,
          r.promotion_from.length ? r.promotion_from.join(', ') : '(entry point)',
          r.requires_approval ? 'yes' : 'no',
          ages[i],
          statusCell(c, r.status, 'not deployed'),
          `${r.deployed}/${r.components}`,
        ]),
        c,
      )}`;
    });
    return 0;
  }
}
