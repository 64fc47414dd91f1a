import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export class VendorCacheStatsCommand extends BaseCommand {
  static override paths = [['vendor', 'cache', 'stats']];
  static override usage = Command.Usage({
    category: 'Vendoring',
    description: 'Show the size of the vendor store and what hard links save',
    details: `
      \`size\`: bytes held by the objects of \`.atmos/cache/vendor/objects/\`; \`objects\`: distinct trees; \`references\`: (deployment, target, module) links recorded in lock files; \`deduplication savings\`: bytes the references would take as separate copies minus what the store holds for them (a link that had to be a copy saves nothing).
    `,
    examples: [
      ['Store statistics', '$0 vendor cache stats'],
      ['As JSON', '$0 vendor cache stats --format json'],
    ],
  });

  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const repo = await this.repo();
    const { vendorCacheStats } = await import('../../vendoring/index.js');
    const s = vendorCacheStats(repo.config.cacheDir);
    const { table } = await import('../../render/index.js');
    await this.print(s, (c) =>
      table(
        ['', ''],
        [
          ['size', `${bytes(s.size)} (${s.size} bytes)`],
          ['objects', `${s.objects}${s.unreferenced ? ` (${s.unreferenced} unreferenced)` : ''}`],
          ['references', s.references],
          ['logical size', `${bytes(s.logical_size)} (${s.logical_size} bytes)`],
          ['deduplication savings', `${bytes(s.deduplication_savings)} (${s.deduplication_savings} bytes)`],
          ...(s.copied_files ? [['copied files', `${s.copied_files} (hard links refused)`]] : []),
          ['git mirrors', `${s.git_mirrors} (${bytes(s.git_mirror_size)})`],
        ],
        c,
      ).replace(/^\s*\n/, ''),
    );
    return 0;
  }
}
