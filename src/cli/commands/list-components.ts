import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class ListComponentsCommand extends TrackingReadCommand {
  static override paths = [['list', 'components']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'List the components of a deployment with what is deployed of each in a target',
    details: `
      Per component of the deployment file (every type): its type, the deployed commit and release, when and by whom it was deployed and the status of its newest rollout, read from Git (the tracking remote's records fetched first). A rollout records Terraform components; a built component (nixpack, zip) shows \`in the release\` (see \`releases\`). The PRD's HEALTH column is not shown: atmos-pipe reads Git, not the running service.
    `,
    examples: [
      ['Components of payment-service in prod', '$0 list components payment-service --target prod'],
      ['As JSON', '$0 list components payment-service --target dev --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Target (default: context.default_target, or the only target)' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { repo, dep, target } = await this.deploymentAndTarget(this.deployment, this.target);
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const { readStatus, formatAge } = await import('../../tracking/history.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const status = await gitRead(async () => readStatus(await this.trackingStore(repo), [dep.name], target, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const { componentRows } = await import('../../describe/list.js');
    const rows = componentRows(dep, target, status);
    const { table } = await import('../../render/index.js');
    const { statusCell } = await import('../render/list.js');
    const now = Date.now();
    await this.print({ deployment: dep.name, target, components: rows }, (c) => {
      // Rollouts record Terraform components; a built component (nixpack, zip) is recorded in the release.
      return `${dep.name} → ${target} components\n\n${table(
        ['COMPONENT', 'TYPE', 'COMMIT', 'RELEASE', 'DEPLOYED', 'STATUS', 'DEPLOYED BY'],
        rows.map((r) => [
          r.component.slice(r.component.indexOf('/') + 1),
          r.type,
          r.commit ? r.commit.slice(0, 7) : '-',
          r.release ?? '-',
          r.deployed ? `${formatAge(r.deployed, now)} ago` : '-',
          statusCell(c, r.status, r.type === 'terraform' ? 'not deployed' : 'in the release'),
          r.deployed_by ?? '-',
        ]),
        c,
      )}`;
    });
    return 0;
  }
}
