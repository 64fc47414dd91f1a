import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class HistoryCommand extends TrackingReadCommand {
  static override paths = [['history']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'Show the deployment history of a deployment, newest first',
    details: `
      Lists the history tags \`atmos/deployments/<d>/<t>/<component>/<timestamp>\` with their records: release, commit, who deployed, when, status (success, failed or rollback), promotion source and approvals.

      \`--since\` and \`--until\` take ISO-8601 dates or times and are inclusive. Reads Git with one \`git for-each-ref\`, whatever the number of tags.
    `,
    examples: [
      ['Last 10 deployments of payment-service', '$0 history payment-service --limit 10'],
      ['Deployments of one component to prod this month', '$0 history payment-service --target prod --component ecs/api --since 2026-11-01'],
      ['As JSON', '$0 history payment-service --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  component = Option.String('-c,--component', { description: 'Only this component' });
  limit = Option.String('-n,--limit', { description: 'At most this many entries', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]) });
  since = Option.String('--since', { description: 'Only entries at or after this ISO-8601 date/time' });
  until = Option.String('--until', { description: 'Only entries at or before this ISO-8601 date/time' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { gitRead, invalidTagWarnings, checkInstant } = await import('../tracking-read.js');
    const since = checkInstant('--since', this.since);
    const until = checkInstant('--until', this.until);
    const { repo, name } = await this.deploymentForReading(this.deployment, this.target);
    const dep = { name };
    const rel = await import('../../tracking/history.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const rows = await gitRead(async () => rel.readHistory(await this.trackingStore(repo), dep.name, { target: this.target, component: this.component, since, until, limit: this.limit }, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const { table } = await import('../../render/index.js');
    await this.print(rows, (c) => {
      if (rows.length === 0) return 'no deployments recorded\n';
      const statusCol = (s: string) => (s === 'success' ? c.green(s) : s === 'failed' ? c.red(s) : c.yellow(s));
      return table(
        ['TIMESTAMP', 'TARGET', 'COMPONENT', 'STATUS', 'RELEASE', 'COMMIT', 'DEPLOYED BY', 'NOTE'],
        rows.map((r) => [
          r.timestamp,
          r.target,
          r.component,
          statusCol(r.status),
          r.release ?? '-',
          r.git_sha.slice(0, 12),
          r.deployed_by,
          [
            r.dirty ? 'dirty release' : '',
            r.promoted_from ? `from ${r.promoted_from}` : '',
            r.rollback_of ? `rollback of ${r.rollback_of}` : '',
            r.approved_by.length ? `approved by ${r.approved_by.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; '),
        ]),
        c,
      );
    });
    return 0;
  }
}
