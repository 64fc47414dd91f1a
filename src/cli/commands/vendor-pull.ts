import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class VendorPullCommand extends BaseCommand {
  static override paths = [['vendor', 'pull']];
  static override usage = Command.Usage({
    category: 'Vendoring',
    description: 'Fetch the vendored Terraform modules of a deployment into the store',
    details: `
      Pulls, for one target (\`--target\`) or every target, the Terraform root modules the deployment's \`vendor:\` section provides: inline \`vendor.components\`, then \`vendor.manifest\`, then the repository \`vendor.yaml\`, then auto-discovery. Entries are chosen per target by labels (\`labels: { environment: [prod] }\`), so prod can pin one version while dev uses another.

      Sources: local directories, Git (\`git::<url>//<subdir>?ref=<ref>\`, \`github.com/<org>/<repo>//<subdir>?ref=<ref>\`) and https tarballs (\`.tar.gz\`). Content lands in \`.atmos/cache/vendor/objects/sha256/<digest>/\`, hard-linked into \`.atmos/cache/vendor/deployments/<d>/<t>/<module>/\`, and \`.vendor-lock.yaml\` pins source, version, digest and pull time.

      A pull whose lock matches the configuration touches no Git repository and no network; \`--update\` fetches again (moving branches and re-published tarballs). \`rollout\`, \`plan\` and \`run\` pull just in time; \`describe\` and \`resolve\` only read the store.
    `,
    examples: [
      ['Every target of payment-service', '$0 vendor pull --deployment payment-service'],
      ['prod only', '$0 vendor pull --deployment payment-service --target prod'],
      ['Re-resolve refs and versions', '$0 vendor pull --deployment payment-service --update'],
    ],
  });

  deployment = Option.String('-d,--deployment', { description: 'Deployment (may be left out when the repository has only one)' });
  target = Option.String('-t,--target', { description: 'Only this target (default: every target)' });
  update = Option.Boolean('--update', false, { description: 'Fetch again even when the lock is satisfied' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { repo, dep } = await this.deploymentAndTarget(this.deployment, this.target, false);
    const { pullVendor } = await import('../../vendoring/index.js');
    const results = await pullVendor(repo, dep, { target: this.target, update: this.update });
    const rows = results.flatMap((r) => r.components);
    const removed = results.flatMap((r) => r.removed.map((m) => `${r.target}/${m}`));
    const { table } = await import('../../render/index.js');
    await this.print(results, (c) => {
      if (!dep.body.vendor && rows.length === 0) return `${dep.name} has no vendor: section; nothing to pull\n`;
      if (rows.length === 0) return `nothing to vendor for ${dep.name}${this.target ? ` (target ${this.target})` : ''}: no vendor entry applies to a module it uses\n`;
      const st = (s: string) => (s === 'cached' ? c.dim(s) : s === 'updated' ? c.yellow(s) : c.green(s));
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      return `${table(
        ['TARGET', 'COMPONENT', 'VERSION', 'DIGEST', 'STATUS', 'SOURCE'],
        rows.map((r) => [r.target, r.component, r.version ?? '-', r.digest.slice(7, 19), st(r.status), r.source]),
        c,
      )}${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}${removed.length ? `; removed ${removed.join(', ')}` : ''}\n`;
    });
    return 0;
  }
}
