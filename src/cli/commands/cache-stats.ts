import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand, FORMATS } from '../base.js';
import { bytes } from './vendor-cache-stats.js';

export class CacheStatsCommand extends BaseCommand {
  static override paths = [['cache', 'stats']];
  static override usage = Command.Usage({
    category: 'Cache',
    description: 'Show the size, entries, hit rates and ages of the step cache',
    details: `
      Local (\`.atmos/cache\`): objects and bytes of the CAS, action entries with the oldest and newest last use, and the hit rate of cacheable steps over the recorded runs (local hits, remote hits, misses; each run records its own in \`.atmos/cache/stats/\`), with what the shared cache fetched.

      \`--remote\`: the shared cache (\`--cache-remote\`, else \`deployments.cache.remote\`): entries and bytes per namespace (each object counted once), with the oldest and newest entry.
    `,
    examples: [
      ['Local cache', '$0 cache stats'],
      ['The shared cache', '$0 cache stats --remote'],
      ['As JSON', '$0 cache stats --format json'],
    ],
  });

  remote = Option.Boolean('--remote', false, { description: 'The shared cache instead of the local one' });
  cacheRemote = Option.String('--cache-remote', { description: 'With --remote: oci://<registry>/<repository> or a shared directory (default: deployments.cache.remote)' });
  format = Option.String('-f,--format', 'table', { description: 'table, json or yaml', validator: t.isEnum(FORMATS) });

  async run(): Promise<number> {
    const repo = await this.repo();
    const stats = await import('../../cache/stats.js');
    const { table } = await import('../../render/index.js');
    if (this.remote) {
      const { openRunRemoteCache } = await import('../../run/index.js');
      const { DiagnosticError, error } = await import('../../diagnostics/index.js');
      const remote = openRunRemoteCache(repo, { cacheRemote: this.cacheRemote });
      if (!remote) throw new DiagnosticError(error('cache/no-remote', 'no shared cache is configured', undefined, 'set deployments.cache.remote in atmos.yaml or pass --cache-remote'));
      const s = await stats.remoteCacheStats(remote);
      await this.print(s, (c) =>
        [
          `${s.location}: ${s.entries} entries, ${s.objects} objects, ${bytes(s.bytes)}`,
          table(
            ['namespace', 'entries', 'size', 'oldest', 'newest'],
            s.namespaces.map((n) => [n.namespace, n.entries, bytes(n.bytes), n.oldest ?? '-', n.newest ?? '-']),
            c,
          ),
        ].join('\n'),
      );
      return 0;
    }
    const s = stats.localCacheStats(repo.config.cacheDir);
    const rate = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);
    await this.print(s, (c) =>
      table(
        ['', ''],
        [
          ['objects', `${s.objects} (${bytes(s.bytes)})`],
          ['entries', s.entries],
          ['oldest entry', s.oldest_entry ?? '-'],
          ['newest entry', s.newest_entry ?? '-'],
          ['runs recorded', s.runs],
          ['hit rate', `${rate(s.hit_rate)} (${s.hits_local} local, ${s.hits_remote} remote, ${s.misses} misses)`],
          ['fetched from remote', `${s.remote_fetched_objects} objects (${bytes(s.remote_fetched_bytes)})`],
          ['uploaded to remote', `${s.remote_uploaded_entries} entries`],
        ],
        c,
      ).replace(/^\s*\n/, ''),
    );
    return 0;
  }
}
