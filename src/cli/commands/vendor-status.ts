import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import type { DeploymentConfig } from '../../config/deployment.js';
import type { Repository } from '../../index.js';
import { BaseCommand, FORMATS } from '../base.js';

export class VendorStatusCommand extends BaseCommand {
  static override paths = [['vendor', 'status']];
  static override usage = Command.Usage({
    category: 'Vendoring',
    description: 'Show the vendored modules per deployment, target and component',
    details: `
      For every vendored module: the configured source and version, the digest and time the lock recorded, and its state: \`ok\` (pulled as configured, its files match the locked digest), \`missing\` (never pulled, or no longer in the store), \`stale\` (the lock differs from the configuration, or the module is no longer vendored) or \`modified\` (the linked files differ from the locked digest: each modified, missing and extra file is listed; the next run re-links it from the store, or evicts the store copy and pulls it again). Reads the lock files and the store only; fetches nothing.

      Exit status: 1 when a module is \`modified\`, else 0 (\`missing\` and \`stale\` are fixed by \`vendor pull\` and do not fail).
    `,
    examples: [
      ['Every deployment', '$0 vendor status'],
      ['One deployment, as JSON', '$0 vendor status --deployment payment-service --format json'],
    ],
  });

  deployment = Option.String('-d,--deployment', { description: 'Only this deployment (default: every deployment)' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    let repo: Repository;
    let deps: DeploymentConfig[];
    if (this.deployment !== undefined) {
      const r = await this.deploymentAndTarget(this.deployment, this.target, false);
      repo = r.repo;
      deps = [r.dep];
    } else {
      const lib = await import('../../index.js');
      repo = await this.repoWithModules();
      const r = repo;
      deps = lib.listDeploymentFiles(r.config).map((f) => lib.loadDeploymentAt(r, f.abs));
      if (this.target !== undefined && !deps.some((d) => Object.keys(d.body.targets).includes(this.target!))) {
        const all = [...new Set(deps.flatMap((d) => Object.keys(d.body.targets)))].sort();
        throw new lib.DiagnosticError(lib.error('args/unknown-target', `--target ${this.target}: no deployment has this target`, undefined, `valid values: ${all.join(', ')}`));
      }
    }
    const { vendorStatus } = await import('../../vendoring/index.js');
    const rows = await vendorStatus(repo, deps, { target: this.target });
    const { safeText, table } = await import('../../render/index.js');
    await this.print(rows, (c) => {
      if (rows.length === 0) return 'nothing is vendored (no deployment has a vendor entry for a module it uses)\n';
      const st = (s: string) => (s === 'ok' ? c.green(s) : s === 'stale' ? c.yellow(s) : c.red(s));
      const modified = rows.filter((r) => r.files);
      const details = modified.map((r) => {
        const f = r.files!;
        const lines = [...f.modified.map((p) => `  modified: ${p}`), ...f.missing.map((p) => `  missing:  ${p}`), ...f.extra.map((p) => `  extra:    ${p}`)];
        return `\n${r.deployment}/${r.target} ${r.component}:\n${lines.map(safeText).join('\n')}\n`;
      });
      return (
        table(
          ['DEPLOYMENT', 'TARGET', 'COMPONENT', 'VERSION', 'DIGEST', 'PULLED', 'STATE', 'SOURCE'],
          rows.map((r) => [
            r.deployment,
            r.target,
            r.component,
            r.version ?? '-',
            r.digest ? r.digest.slice(7, 19) : '-',
            r.pulled_at ?? '-',
            st(r.state) + (r.reason ? c.dim(` (${r.reason})`) : ''),
            r.source,
          ]),
          c,
        ) + details.join('')
      );
    });
    // A modified vendored module fails the check (CI gates on it).
    const { exitCode } = await import('../exit.js');
    return exitCode(rows.some((r) => r.state === 'modified') ? 'failed' : 'success');
  }
}
