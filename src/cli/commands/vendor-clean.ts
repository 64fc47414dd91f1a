import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

/** `30d`, `12h`, `90m`, `2w`, `45s`; a bare number is days. Undefined when malformed. */
export function parseAge(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(w|d|h|m|s)?$/.exec(s.trim());
  if (!m) return undefined;
  const unit = { w: 7 * 86400_000, d: 86400_000, h: 3600_000, m: 60_000, s: 1000 }[(m[2] ?? 'd') as 'w' | 'd' | 'h' | 'm' | 's'];
  return Number(m[1]) * unit;
}

export class VendorCleanCommand extends BaseCommand {
  static override paths = [['vendor', 'clean']];
  static override usage = Command.Usage({
    category: 'Vendoring',
    description: 'Remove vendored links and locks; prune unreferenced objects',
    details: `
      Without options, removes the links and lock files of every deployment (the objects stay: the next pull relinks them without fetching). \`--deployment\` and \`--target\` limit that to one deployment or target.

      \`--prune\` removes the objects no lock file references (and Git mirrors), only those unused for at least \`--older-than\` (e.g. \`30d\`, \`12h\`; default 0). With \`--prune\` alone, no links or locks are removed.
    `,
    examples: [
      ['Forget what payment-service pulled for dev', '$0 vendor clean --deployment payment-service --target dev'],
      ['Prune objects unused for 30 days', '$0 vendor clean --prune --older-than 30d'],
    ],
  });

  deployment = Option.String('-d,--deployment', { description: 'Only this deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  prune = Option.Boolean('--prune', false, { description: 'Remove objects no lock references' });
  olderThan = Option.String('--older-than', { description: 'With --prune: only objects unused for this long (30d, 12h, ...)' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { DiagnosticError, error } = await import('../../diagnostics/index.js');
    const { checkKebabName } = await import('../../config/names.js');
    // Names only: a deployment whose file is gone can still be cleaned.
    for (const [flag, v] of [
      ['--deployment', this.deployment],
      ['--target', this.target],
    ] as const) {
      const p = v !== undefined ? checkKebabName(v) : undefined;
      if (p)
        throw new DiagnosticError(
          error(
            flag === '--deployment' ? 'args/deployment-name' : 'args/target-name',
            `invalid ${flag} "${v}": ${p}`,
            undefined,
            flag === '--deployment' ? 'deployment names look like "payment-service"' : 'targets look like dev, staging, prod',
          ),
        );
    }
    let olderThanMs = 0;
    if (this.olderThan !== undefined) {
      if (!this.prune) throw new DiagnosticError(error('args/older-than', '--older-than only applies with --prune', undefined, 'e.g. vendor clean --prune --older-than 30d'));
      const ms = parseAge(this.olderThan);
      if (ms === undefined) throw new DiagnosticError(error('args/older-than', `--older-than "${this.olderThan}" is not a duration`, undefined, 'e.g. 30d, 12h, 90m, 2w (a bare number is days)'));
      olderThanMs = ms;
    }
    const repo = await this.repo();
    const { vendorClean } = await import('../../vendoring/index.js');
    const r = vendorClean(repo.config.cacheDir, { deployment: this.deployment, target: this.target, prune: this.prune, olderThanMs });
    await this.print(r, () => {
      const lines: string[] = [];
      lines.push(
        r.removed_targets.length
          ? `removed links and locks of ${r.removed_targets.join(', ')}`
          : this.prune && this.deployment === undefined && this.target === undefined
            ? ''
            : 'no links or locks to remove',
      );
      if (this.prune)
        lines.push(
          `pruned ${r.pruned_objects.length} object${r.pruned_objects.length === 1 ? '' : 's'} and ${r.pruned_mirrors} git mirror${r.pruned_mirrors === 1 ? '' : 's'}, freed ${r.freed_bytes} bytes`,
        );
      return `${lines.filter(Boolean).join('\n')}\n`;
    });
    return 0;
  }
}
