/** What `atmos-pipe sync` took in from the tracking remote, as the table format prints it. */
import type { Colors } from '../../render/index.js';
import type { SyncReport } from '../../tracking/fetch.js';

const short = (sha: string | null) => (sha ? sha.slice(0, 12) : '(none)');

/** One line per change, grouped; "up to date" when the remote had nothing new. */
export function renderSync(r: SyncReport, c: Colors): string {
  const lines = [`fetched the deployment records of ${r.remote}${r.shallow ? ' (shallow clone: --depth=1)' : ''}`];
  for (const m of r.refs) lines.push(`  ${c.green(m.from ? 'moved' : 'new')}      ${m.ref} ${m.from ? `${short(m.from)} -> ` : ''}${short(m.to)}`);
  if (r.tags.length)
    lines.push(
      `  ${c.green('new tags')} ${r.tags.length} (${r.tags.filter((t) => t.startsWith('atmos/releases/')).length} releases, ${r.tags.filter((t) => t.startsWith('atmos/deployments/')).length} history)`,
    );
  for (const n of r.notes) lines.push(`  ${c.green('notes')}    ${n} merged`);
  for (const k of r.keptLocal) lines.push(`  ${c.yellow('kept')}     ${k.ref} ${short(k.local)}: a newer deployment than the remote's ${short(k.remote)}, not pushed yet`);
  for (const t of r.tagConflicts) lines.push(`  ${c.red('conflict')} ${t}: differs from the remote's tag (tags are immutable: the local one is kept)`);
  if (lines.length === 1) lines.push('  up to date');
  return `${lines.join('\n')}\n`;
}
