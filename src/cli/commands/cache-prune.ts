import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';
import { bytes } from './vendor-cache-stats.js';
import { parseAge } from './vendor-clean.js';

export class CachePruneCommand extends BaseCommand {
  static override paths = [['cache', 'prune']];
  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Remove cache entries (and the objects only they need) older than an age',
    details: `
      Local: action entries no run used for \`--older-than\` (default 30d), then the objects no remaining entry names and nothing wrote for that long, and old run records. A step whose entry or objects were pruned simply runs again.

      \`--remote\`: entries of the shared cache written longer ago than \`--older-than\`, in every namespace. A shared directory also loses the objects no remaining entry names; a registry reclaims them in its own garbage collection (\`registry garbage-collect\`), once no manifest names them.

      \`--dry-run\` counts what would go and removes nothing.
    `,
    examples: [
      ['Entries unused for 30 days', '$0 cache prune'],
      ['What a week would remove from the shared cache', '$0 cache prune --remote --older-than 7d --dry-run'],
    ],
  });

  remote = Option.Boolean('--remote', false, { description: 'The shared cache instead of the local one' });
  cacheRemote = Option.String('--cache-remote', { description: 'With --remote: oci://<registry>/<repository> or a shared directory (default: deployments.cache.remote)' });
  olderThan = Option.String('--older-than', '30d', { description: 'Age (30d, 12h, 2w; a bare number is days)' });
  dryRun = Option.Boolean('-n,--dry-run', false, { description: 'Count what would be removed; remove nothing' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const { DiagnosticError, error } = await import('../../diagnostics/index.js');
    const ms = parseAge(this.olderThan);
    if (ms === undefined) throw new DiagnosticError(error('args/older-than', `--older-than "${this.olderThan}" is not a duration`, undefined, 'e.g. 30d, 12h, 90m, 2w (a bare number is days)'));
    const before = new Date(Date.now() - ms);
    const repo = await this.repo();
    const stats = await import('../../cache/stats.js');
    let r: Awaited<ReturnType<typeof stats.pruneRemoteCache>>;
    if (this.remote) {
      const { openRunRemoteCache } = await import('../../run/index.js');
      const remote = openRunRemoteCache(repo, { cacheRemote: this.cacheRemote });
      if (!remote) throw new DiagnosticError(error('cache/no-remote', 'no shared cache is configured', undefined, 'set deployments.cache.remote in atmos.yaml or pass --cache-remote'));
      r = await stats.pruneRemoteCache(remote, before, this.dryRun);
    } else r = stats.pruneLocalCache(repo.config.cacheDir, before, this.dryRun);
    await this.print(r, () => `${r.removed ? 'removed' : 'would remove'} ${r.entries} entries and ${r.objects} objects (${bytes(r.bytes)})\n`);
    return 0;
  }
}
