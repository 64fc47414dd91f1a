/**
 * The table view of `diff`: both targets' releases, the commits between them, the
 * configuration files that changed and each component's release on either side.
 */
import type { CommitDiff } from '../../promotion/diff-commits.js';
import type { FileChange, TargetDiff } from '../../promotion/diff.js';
import { formatAge } from '../../tracking/history.js';
import { safeText as esc, table, type Colors } from '../../render/index.js';

/** `d` as text; `now` (ms) dates the deployments ("deployed 3h ago"). */
export function renderTargetDiff(d: TargetDiff, c: Colors, now: number): string {
  // Release ids, user names, commit authors and subjects, paths: data, escaped on a terminal.
  const short = (s: string | null) => (s ? s.slice(0, 12) : '-');
  const side = (s: typeof d.from) =>
    s.deployed
      ? `${c.bold(s.target)}: ${esc(s.release ?? 'no release')} at ${short(s.commit)}${s.timestamp ? `, deployed ${formatAge(s.timestamp, now)} ago by ${esc(s.deployed_by ?? '')}` : ''}`
      : `${c.bold(s.target)}: ${c.yellow('never deployed')}`;
  const out: string[] = [`${d.deployment}: ${d.from.target} → ${d.to.target}`, `  ${side(d.from)}`, `  ${side(d.to)}`];
  if (!d.from.deployed || !d.to.deployed) {
    out.push(
      `  nothing to compare: ${[d.from, d.to]
        .filter((s) => !s.deployed)
        .map((s) => s.target)
        .join(' and ')} never deployed`,
    );
  } else if (d.commits_behind !== null) {
    out.push(
      d.commits_behind === 0 && d.commits_ahead === 0
        ? `  ${d.to.target} runs the same commit as ${d.from.target}`
        : `  ${d.to.target} is ${d.commits_behind} commit${d.commits_behind === 1 ? '' : 's'} behind ${d.from.target} (${d.commits_ahead} ahead)`,
    );
  } else out.push(`  commits behind: unknown (${d.warnings[0] ?? 'git failed'})`);
  out.push('');
  if (d.components.length === 0) out.push('no components deployed in either target', '');
  else {
    const cell = (s: (typeof d.components)[number]['from']) => (s ? `${s.release ?? '-'} ${short(s.commit)}` : c.dim('not deployed'));
    out.push(
      table(
        ['COMPONENT', d.from.target.toUpperCase(), d.to.target.toUpperCase(), 'CHANGED'],
        d.components.map((x) => [x.component, cell(x.from), cell(x.to), x.changed ? c.yellow('yes') : 'no']),
        c,
      ),
    );
  }
  if (d.commits !== null) {
    if (d.commits.length === 0) out.push('commits: none');
    else {
      out.push(`commits (${d.commits_truncated ? `newest ${d.commits.length} of ${d.commits_behind}` : d.commits.length}, newest first):`);
      for (const l of d.commits) out.push(`  ${c.cyan(l.sha.slice(0, 12))}  ${esc(l.date.slice(0, 10))}  ${esc(l.author)}  ${esc(l.subject)}`);
    }
    out.push('');
  }
  if (d.configuration_changes !== null) {
    if (d.configuration_changes.length === 0) out.push(`configuration changes: none (in ${d.configuration_paths.join(', ')})`);
    else {
      out.push(`configuration changes (${d.configuration_changes.length}, in ${d.configuration_paths.join(', ')}):`);
      for (const f of d.configuration_changes) out.push(`  ${f.status}  ${f.old_path ? `${esc(f.old_path)} → ${esc(f.path)}` : esc(f.path)}`);
    }
    out.push('');
  }
  if (d.files !== null) out.push(...fileLines('files changed', d.files), '');
  if (d.code !== null) {
    out.push(d.code.length === 0 ? `code changes: none (${d.from.target} vs ${d.to.target})` : `${d.deployment}: ${d.from.target} vs ${d.to.target} (code changes)`, '');
    for (const k of d.code) {
      out.push(`${c.bold(k.component)} (${k.paths.map((p) => esc(p)).join(', ')})`);
      for (const f of k.files) out.push(`  ${esc(f.path)}  ${f.added === null ? 'binary' : `${c.green(`+${f.added}`)} ${c.red(`-${f.deleted}`)}`}`);
      out.push('');
      for (const line of k.patch.replace(/\n$/, '').split('\n')) out.push(`    ${line.startsWith('+') ? c.green(esc(line)) : line.startsWith('-') ? c.red(esc(line)) : esc(line)}`);
      if (k.truncated) out.push('    … (patch cut; see --format json or git diff)');
      out.push('');
    }
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** `A  path` lines under a heading with their count, or `<heading>: none`. */
function fileLines(heading: string, files: FileChange[]): string[] {
  if (files.length === 0) return [`${heading}: none`];
  return [`${heading} (${files.length}):`, ...files.map((f) => `  ${f.status}  ${f.old_path ? `${esc(f.old_path)} → ${esc(f.path)}` : esc(f.path)}`)];
}

/** A value in a change line: JSON, `(absent)` when the path does not exist on that side. */
function valueText(v: unknown): string {
  return v === undefined ? '(absent)' : esc(JSON.stringify(v));
}

/** The table view of `diff --from-sha --to-sha`: the commits, then each target's component changes value by value. */
export function renderCommitDiff(d: CommitDiff, c: Colors): string {
  const out: string[] = [`${d.deployment}: ${d.from_sha.slice(0, 12)} → ${d.to_sha.slice(0, 12)}`];
  out.push(`  ${d.commits_ahead} commit${d.commits_ahead === 1 ? '' : 's'} ahead, ${d.commits_behind} behind`, '');
  for (const t of d.targets) {
    out.push(`${c.bold(t.target)}:`);
    if (t.error) out.push(`  ${c.yellow(esc(t.error))}`);
    const shown = t.components.filter((x) => x.change !== 'unchanged');
    if (t.components.length && !shown.length) out.push('  no configuration changes');
    for (const x of shown) {
      out.push(`  ${c.cyan(x.component)}  ${x.change === 'changed' ? c.yellow('changed') : x.change === 'added' ? c.green('added') : c.red('removed')}`);
      for (const v of x.values) out.push(`    ${esc(v.path)}: ${valueText(v.from)} → ${valueText(v.to)}`);
    }
    out.push('');
  }
  if (d.commits.length === 0) out.push('commits: none');
  else {
    out.push(`commits (${d.commits.length}, newest first):`);
    for (const l of d.commits) out.push(`  ${c.cyan(l.sha.slice(0, 12))}  ${esc(l.date.slice(0, 10))}  ${esc(l.author)}  ${esc(l.subject)}`);
  }
  out.push('', ...fileLines(`configuration changes (in ${d.configuration_paths.join(', ')})`, d.configuration_changes), '');
  if (d.files !== null) out.push(...fileLines('files changed', d.files), '');
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
