import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { FORMATS } from '../base.js';
import { TrackingReadCommand } from '../read-command.js';

export class ReleasesCommand extends TrackingReadCommand {
  static override paths = [['releases']];
  static override usage = Command.Usage({
    category: 'Tracking',
    description: 'List the releases of a deployment, newest first',
    details: `
      Lists the release tags \`atmos/releases/<d>/<id>\`: the commit, branch, image digests, SBOM and vendored digests recorded for a target. Release ids are derived from the artifacts and the commit, so the same content always has the same id.

      Reads Git with one \`git for-each-ref\`, whatever the number of tags.
    `,
    examples: [
      ['Releases of payment-service', '$0 releases payment-service'],
      ['Releases cut for prod, as JSON', '$0 releases payment-service --target prod --format json'],
    ],
  });

  deployment = Option.String({ required: true, name: 'deployment' });
  target = Option.String('-t,--target', { description: 'Only releases cut for this target' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { repo, name } = await this.deploymentForReading(this.deployment, this.target);
    const dep = { name };
    const rel = await import('../../release/index.js');
    const { gitRead, invalidTagWarnings } = await import('../tracking-read.js');
    const invalid: import('../../tracking/history.js').InvalidTag[] = [];
    const all = await gitRead(async () => rel.listReleases(await this.trackingStore(repo), dep.name, invalid));
    await this.warn(invalidTagWarnings(invalid));
    const rows = all.filter((r) => this.target === undefined || r.record.target === this.target).map((r) => ({ id: r.id, tag: r.tag, ...r.record }));
    const { table } = await import('../../render/index.js');
    await this.print(rows, (c) => {
      if (rows.length === 0) return 'no releases recorded\n';
      return table(
        ['ID', 'TARGET', 'COMMIT', 'BRANCH', 'IMAGES', 'CREATED', 'BY'],
        rows.map((r) => [
          c.cyan(r.id),
          r.target,
          r.git_sha.slice(0, 12) + (r.dirty ? c.yellow(' (dirty)') : ''),
          r.git_branch ?? '-',
          Object.entries(r.images)
            .map(([k, i]) => `${k}=${i.digest.replace(/^sha256:/, '').slice(0, 12)}`)
            .join(', ') || '-',
          r.created_at,
          r.created_by,
        ]),
        c,
      );
    });
    return 0;
  }
}
