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

      On a terminal it first lists what it would remove and asks for confirmation (the default is no: anything but \`y\` removes nothing); \`--force\` removes without asking. Without a terminal (CI, a pipe) or with \`CI\` set it asks nothing and removes, as with \`--force\`.
    `,
    examples: [
      ['Clean interactively: list what goes, then ask', '$0 vendor clean'],
      ['Forget what old-service pulled, without asking', '$0 vendor clean --deployment old-service --force'],
      ['Forget what payment-service pulled for dev', '$0 vendor clean --deployment payment-service --target dev'],
      ['Prune objects unused for 30 days', '$0 vendor clean --prune --older-than 30d'],
    ],
  });

  deployment = Option.String('-d,--deployment', { description: 'Only this deployment' });
  target = Option.String('-t,--target', { description: 'Only this target' });
  prune = Option.Boolean('--prune', false, { description: 'Remove objects no lock references' });
  force = Option.Boolean('--force', false, { description: 'Remove without asking (on a terminal it asks first)' });
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
    const opts = { deployment: this.deployment, target: this.target, prune: this.prune, olderThanMs };
    const interactive = !this.force && Boolean(process.stdin.isTTY) && Boolean((this.context.stderr as NodeJS.WriteStream).isTTY) && !process.env.CI;
    if (interactive) {
      const plan = vendorClean(repo.config.cacheDir, { ...opts, dryRun: true });
      const what = [
        ...plan.removed_targets.map((t) => `  links and lock of ${t}`),
        ...(plan.pruned_objects.length || plan.pruned_mirrors
          ? [
              `  ${plan.pruned_objects.length} unreferenced object${plan.pruned_objects.length === 1 ? '' : 's'} and ${plan.pruned_mirrors} git mirror${plan.pruned_mirrors === 1 ? '' : 's'} (${plan.freed_bytes} bytes)`,
            ]
          : []),
      ];
      if (what.length) {
        this.context.stderr.write(`vendor clean will remove:\n${what.join('\n')}\n`);
        if (!(await this.confirm('Remove them? [y/N] '))) {
          this.context.stderr.write('nothing removed\n');
          await this.print({ removed_targets: [], pruned_objects: [], pruned_mirrors: 0, freed_bytes: 0 }, () => '');
          return 0;
        }
      }
    }
    const r = vendorClean(repo.config.cacheDir, opts);
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
