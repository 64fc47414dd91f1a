import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export class ListCommand extends BaseCommand {
  static override paths = [['list'], ['ls']];
  static override usage = Command.Usage({
    category: 'Inspect',
    description: 'List the deployments of this repository',
    details: `
      Reads every file under \`deployments.base_path\` (default \`deployments/\`). \`--label k=v\` (repeatable) keeps deployments whose labels match all given pairs.
    `,
    examples: [
      ['List every deployment', '$0 list'],
      ['Deployments of the payments team, as JSON', '$0 list --label team=payments --format json'],
    ],
  });

  labels = Option.Array('-l,--label', [], { description: 'Filter by label (k=v), repeatable' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const lib = await import('../../index.js');
    const filters: [string, string][] = [];
    for (const l of this.labels) {
      const i = l.indexOf('=');
      if (i <= 0) throw new lib.DiagnosticError(lib.error('args/label', `--label "${l}" must look like key=value`, undefined, 'e.g. --label team=payments'));
      filters.push([l.slice(0, i), l.slice(i + 1)]);
    }
    const repo = await this.repoWithModules();
    const rows: { name: string; description: string; file: string; labels: Record<string, string>; targets: string[]; components: string[] }[] = [];
    for (const f of lib.listDeploymentFiles(repo.config)) {
      const dep = lib.loadDeploymentAt(repo, f.abs);
      const labels = (dep.body.labels ?? {}) as Record<string, string>;
      if (!filters.every(([k, v]) => labels[k] === v)) continue;
      const comps = dep.body.components ?? {};
      rows.push({
        name: dep.name,
        description: dep.body.description ?? '',
        file: dep.file,
        labels,
        targets: Object.keys(dep.body.targets),
        components: [...Object.keys(comps.nixpack ?? {}).map((n) => `nixpack/${n}`), ...Object.keys(comps.terraform ?? {}).map((n) => `terraform/${n}`)],
      });
    }
    const { table } = await import('../../render/index.js');
    await this.print({ deployments: rows }, (c) =>
      rows.length === 0
        ? 'no deployments match\n'
        : table(
            ['DEPLOYMENT', 'TARGETS', 'COMPONENTS', 'LABELS', 'DESCRIPTION'],
            rows.map((r) => [
              r.name,
              r.targets.join(', '),
              String(r.components.length),
              Object.entries(r.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              r.description,
            ]),
            c,
          ),
    );
    return 0;
  }
}
