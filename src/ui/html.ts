/**
 * The dashboard's pages, rendered on the server as plain semantic HTML (landmarks, table
 * headers, captions, text next to every colour) that works without JavaScript; the one small
 * script (./assets.ts) only swaps `<main>` when the server says the refs changed.
 */
import type { TargetDiff } from '../promotion/diff.js';
import type { PromotionEdgeStatus } from '../promotion/status.js';
import { formatAge, type HistoryEntry } from '../tracking/index.js';
import type { GridCell, GridRow, HistoryPage, ReleaseView, UiDeployment } from './data.js';
import type { RunStep, RunView } from './runs.js';
import { h } from './escape.js';
import { promotionSvg } from './svg.js';

const enc = encodeURIComponent;
const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '-');
const qs = (q: Record<string, string | number | undefined>) => {
  const p = Object.entries(q).filter(([, v]) => v !== undefined && v !== '');
  return p.length ? `?${p.map(([k, v]) => `${enc(k)}=${enc(String(v))}`).join('&')}` : '';
};
export const depUrl = (d: string, rest = '') => `/d/${enc(d)}${rest}`;
const releaseUrl = (d: string, id: string) => depUrl(d, `/releases/${enc(id)}`);

const STATUS_TEXT: Record<string, [string, string]> = {
  success: ['✓', 'success'],
  done: ['✓', 'done'],
  failed: ['✗', 'failed'],
  rollback: ['↺', 'rollback'],
  cached: ['⚡', 'cached'],
  skipped: ['–', 'skipped'],
  running: ['…', 'did not finish'],
  never: ['○', 'never deployed'],
  'up-to-date': ['✓', 'up to date'],
  pending: ['⇢', 'promotion pending'],
  'awaiting-approval': ['⚠', 'approval missing'],
  'nothing-to-promote': ['○', 'nothing to promote'],
  'dirty-source': ['!', 'dirty source'],
};

/** A status as icon + words + colour class (the colour is never the only sign). */
export function badge(status: string): string {
  const [icon, text] = STATUS_TEXT[status] ?? ['?', status];
  return `<span class="badge s-${h(status)}"><span aria-hidden="true">${icon}</span> ${h(text)}</span>`;
}

function time(iso: string | null, now: number): string {
  if (!iso) return '<span class="muted">-</span>';
  return `<time datetime="${h(iso)}" title="${h(iso)}">${h(formatAge(iso, now))} ago</time>`;
}

export interface Page {
  title: string;
  /** Which main navigation entry is the current page. */
  nav: 'grid' | 'runs' | 'deployment';
  deployment?: UiDeployment;
  /** Deployment sub-page (promotion, history, diff). */
  sub?: 'promotion' | 'history' | 'diff' | 'release';
  generation: number;
  body: string;
}

export function layout(p: Page, deployments: UiDeployment[]): string {
  const cur = (on: boolean) => (on ? ' aria-current="page"' : '');
  const depNav = p.deployment
    ? `<nav aria-label="${h(p.deployment.name)}" class="subnav"><ul>
  <li><a href="${depUrl(p.deployment.name)}"${cur(p.sub === 'promotion')}>Promotion graph</a></li>
  <li><a href="${depUrl(p.deployment.name, '/history')}"${cur(p.sub === 'history')}>History</a></li>
  <li><a href="${depUrl(p.deployment.name, '/diff')}"${cur(p.sub === 'diff')}>Diff</a></li>
</ul></nav>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${h(p.title)} · atmos-pipe</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body data-generation="${p.generation}">
<a class="skip" href="#main">Skip to content</a>
<header>
<p class="brand"><a href="/">atmos-pipe</a> <span class="muted">dashboard (read-only)</span></p>
<nav aria-label="Main"><ul>
  <li><a href="/"${cur(p.nav === 'grid')}>Grid</a></li>
  ${deployments.map((d) => `<li><a href="${depUrl(d.name)}"${cur(p.deployment?.name === d.name)}>${h(d.name)}</a></li>`).join('\n  ')}
  <li><a href="/runs"${cur(p.nav === 'runs')}>Runs</a></li>
</ul></nav>
</header>
<main id="main" tabindex="-1">
${depNav}
<h1>${h(p.title)}</h1>
${p.body}
</main>
<footer><p id="live" role="status" aria-live="polite" class="muted">Refreshes by itself when deployments change.</p></footer>
</body>
</html>
`;
}

const scroll = (label: string, table: string) => `<div class="scroll" role="region" aria-label="${h(label)}" tabindex="0">${table}</div>`;

// -------------------------------------------------------------------------- grid

function pendingMarks(edges: PromotionEdgeStatus[]): string {
  return edges
    .map((e) => {
      const rel = e.source?.release ?? short(e.source?.commit);
      if (e.state === 'awaiting-approval') return `<li class="mark approval">${badge('awaiting-approval')} for ${h(rel)} from ${h(e.from)}</li>`;
      if (e.state === 'dirty-source') return `<li class="mark">${badge('dirty-source')} ${h(e.from)}</li>`;
      return `<li class="mark pending">${badge('pending')} ${h(rel)} from ${h(e.from)}</li>`;
    })
    .join('');
}

function gridCell(c: GridCell, now: number): string {
  const attrs = `data-deployment="${h(c.deployment)}" data-target="${h(c.target)}" data-status="${h(c.status)}" data-release="${h(c.release ?? '')}" data-commit="${h(c.commit ?? '')}"`;
  if (c.status === 'never' && c.components.length === 0) {
    return `<td class="cell s-never" ${attrs}>${badge('never')}${c.incoming.length ? `<ul class="marks">${pendingMarks(c.incoming)}</ul>` : ''}</td>`;
  }
  const release = c.release && c.release !== 'mixed' ? `<a href="${releaseUrl(c.deployment, c.release)}" class="release">${h(c.release)}</a>` : h(c.release ?? 'no release');
  return `<td class="cell s-${h(c.status)}" ${attrs}>
${badge(c.status)}
<dl>
<dt>Release</dt><dd>${release}</dd>
<dt>Commit</dt><dd><code>${h(short(c.commit))}</code></dd>
<dt>Age</dt><dd>${time(c.timestamp, now)}</dd>
<dt>By</dt><dd>${h(c.deployed_by ?? '-')}</dd>
</dl>
${c.incoming.length ? `<ul class="marks">${pendingMarks(c.incoming)}</ul>` : ''}
<details><summary>${c.components.length} component${c.components.length === 1 ? '' : 's'}</summary><ul class="comps">${c.components
    .map((r) => `<li><code>${h(r.component)}</code> ${badge(r.status ?? 'never')} ${h(r.release ?? '')}</li>`)
    .join('')}</ul></details>
</td>`;
}

export function gridBody(grid: { targets: string[]; rows: GridRow[] }, labels: string[], label: string | undefined, now: number): string {
  const form = `<form method="get" action="/" class="filters" role="search" aria-label="Filter deployments">
<label for="label">Label</label>
<input id="label" name="label" list="labels" value="${h(label ?? '')}" placeholder="team=payments" pattern="[^=]+=.*">
<datalist id="labels">${labels.map((l) => `<option value="${h(l)}">`).join('')}</datalist>
<button type="submit">Filter</button>${label ? ' <a href="/">Clear</a>' : ''}
</form>`;
  if (grid.rows.length === 0) return `${form}<p>No deployment${label ? ` has the label <code>${h(label)}</code>` : ''}.</p>`;
  const head = `<thead><tr><th scope="col">Deployment</th>${grid.targets.map((t) => `<th scope="col">${h(t)}</th>`).join('')}</tr></thead>`;
  const rows = grid.rows
    .map((r) => {
      const d = r.deployment;
      const cells = grid.targets.map((t) => {
        const c = r.cells.get(t);
        return c ? gridCell(c, now) : '<td class="cell na"><span class="muted">not a target</span></td>';
      });
      return `<tr><th scope="row"><a href="${depUrl(d.name)}">${h(d.name)}</a>${d.description ? `<div class="muted small">${h(d.description)}</div>` : ''}
<div class="small"><a href="${depUrl(d.name, '/history')}">history</a> · <a href="${depUrl(d.name, '/diff')}">diff</a></div></th>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `${form}${scroll('Deployments by target', `<table class="grid"><caption>What runs where: release, commit, age, deployer and status of every deployment in every target</caption>${head}<tbody>${rows}</tbody></table>`)}`;
}

// -------------------------------------------------------------------- promotion

export function promotionBody(d: UiDeployment, cur: Map<string, HistoryEntry>, edges: PromotionEdgeStatus[], now: number): string {
  const behind = new Map<string, PromotionEdgeStatus[]>();
  for (const e of edges) if (e.pending) behind.set(e.to, [...(behind.get(e.to) ?? []), e]);
  const rows = d.graph.targets
    .map((t) => {
      const c = cur.get(t.name);
      const b = behind.get(t.name) ?? [];
      const state = b.length
        ? b.map((e) => `${badge(e.state)} behind ${h(e.from)}`).join('<br>')
        : !c
          ? badge('never')
          : t.entry_point
            ? '<span class="muted">entry point</span>'
            : badge('up-to-date');
      return `<tr data-target="${h(t.name)}"><th scope="row">${h(t.name)}</th><td>${t.from.length ? h(t.from.join(', ')) : '<span class="muted">any commit</span>'}</td><td>${t.requires_approval ? 'required' : 'no'}</td>
<td>${c?.release ? `<a href="${releaseUrl(d.name, c.release)}">${h(c.release)}</a>` : h(c ? 'no release' : '-')}</td><td><code>${h(short(c?.git_sha))}</code></td><td>${time(c?.timestamp ?? null, now)}</td><td>${state}</td></tr>`;
    })
    .join('\n');
  const next = edges.filter((e) => e.next_command);
  return `<figure class="graph">${promotionSvg(d, cur, behind)}<figcaption>Promotion paths of ${h(d.name)}: what each target runs and whether it is behind its source.</figcaption></figure>
${scroll('Targets', `<table><caption>Targets and their promotion rules</caption><thead><tr><th scope="col">Target</th><th scope="col">Promoted from</th><th scope="col">Approval</th><th scope="col">Release</th><th scope="col">Commit</th><th scope="col">Age</th><th scope="col">State</th></tr></thead><tbody>${rows}</tbody></table>`)}
${next.length ? `<h2>Next</h2><ul class="next">${next.map((e) => `<li><code>${h(e.next_command)}</code> <span class="muted">(${h(e.from)} → ${h(e.to)})</span></li>`).join('')}</ul>` : '<p>Nothing to promote.</p>'}`;
}

// ---------------------------------------------------------------------- history

function note(e: HistoryEntry): string {
  return [
    e.dirty ? 'dirty release' : '',
    e.promoted_from ? `from ${h(e.promoted_from)}` : '',
    e.rollback_of ? `rollback of <code>${h(e.rollback_of)}</code>` : '',
    e.approved_by.length ? `approved by ${h(e.approved_by.join(', '))}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

export function historyBody(d: UiDeployment, p: HistoryPage, filter: { target?: string; component?: string }, now: number): string {
  const opt = (v: string, sel: string | undefined) => `<option value="${h(v)}"${v === sel ? ' selected' : ''}>${h(v)}</option>`;
  const form = `<form method="get" class="filters" role="search" aria-label="Filter the history">
<label for="target">Target</label><select id="target" name="target"><option value="">all</option>${p.targets.map((t) => opt(t, filter.target)).join('')}</select>
<label for="component">Component</label><select id="component" name="component"><option value="">all</option>${p.components.map((c) => opt(c, filter.component)).join('')}</select>
<button type="submit">Filter</button>
</form>`;
  const pages = Math.max(1, Math.ceil(p.total / p.pageSize));
  const link = (page: number) => depUrl(d.name, `/history${qs({ target: filter.target, component: filter.component, page: page + 1 })}`);
  const pager = `<nav aria-label="Pages" class="pager"><span>Page ${p.page + 1} of ${pages} (${p.total} deployments)</span>
${p.page > 0 ? `<a href="${link(p.page - 1)}" rel="prev">← Newer</a>` : ''} ${p.page + 1 < pages ? `<a href="${link(p.page + 1)}" rel="next">Older →</a>` : ''}</nav>`;
  if (p.entries.length === 0) return `${form}<p>No deployments recorded${filter.target || filter.component ? ' for this filter' : ''}.</p>`;
  const rows = p.entries
    .map(
      (
        e,
      ) => `<tr class="s-${h(e.status)}" data-tag="${h(e.tag)}"><td><time datetime="${h(e.timestamp)}">${h(e.timestamp.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time><div class="muted small">${h(formatAge(e.timestamp, now))} ago</div></td>
<td>${h(e.target)}</td><td><code>${h(e.component)}</code></td><td>${badge(e.status)}</td>
<td>${e.release ? `<a href="${releaseUrl(d.name, e.release)}">${h(e.release)}</a>` : '-'}</td><td><code>${h(short(e.git_sha))}</code></td><td>${h(e.deployed_by)}</td><td>${note(e)}</td></tr>`,
    )
    .join('\n');
  return `${form}${pager}${scroll(
    'History',
    `<table class="history"><caption>Deployments of ${h(d.name)}, newest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Target</th><th scope="col">Component</th><th scope="col">Status</th><th scope="col">Release</th><th scope="col">Commit</th><th scope="col">Deployed by</th><th scope="col">Note</th></tr></thead><tbody>${rows}</tbody></table>`,
  )}${pager}`;
}

// ---------------------------------------------------------------------- release

const kv = (caption: string, head: [string, string], o: Record<string, string>) =>
  Object.keys(o).length === 0
    ? `<p><strong>${h(caption)}:</strong> <span class="muted">none</span></p>`
    : scroll(
        caption,
        `<table><caption>${h(caption)}</caption><thead><tr><th scope="col">${h(head[0])}</th><th scope="col">${h(head[1])}</th></tr></thead><tbody>${Object.entries(o)
          .map(([k, v]) => `<tr><th scope="row">${h(k)}</th><td><code>${h(v)}</code></td></tr>`)
          .join('')}</tbody></table>`,
      );

export function releaseBody(d: UiDeployment, v: ReleaseView): string {
  const r = v.entry.record;
  const sbom = v.sbom
    ? `<h2>SBOM</h2><p>${h(v.sbom.format)}, <code>${h(v.sbom.digest)}</code>: ${v.sbom.components.length} component${v.sbom.components.length === 1 ? '' : 's'}; licences: ${v.sbom.licenses.length ? h(v.sbom.licenses.join(', ')) : '<span class="muted">none declared</span>'}</p>
${
  v.sbom.components.length
    ? scroll(
        'SBOM components',
        `<table><caption>SBOM components (first 100)</caption><thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Type</th></tr></thead><tbody>${v.sbom.components
          .slice(0, 100)
          .map((c) => `<tr><td>${h(c.name)}</td><td>${h(c.version ?? '-')}</td><td>${h(c.type ?? '-')}</td></tr>`)
          .join('')}</tbody></table>`,
      )
    : ''
}`
    : '<h2>SBOM</h2><p class="muted">No SBOM note on this commit.</p>';
  return `<dl class="facts">
<dt>Tag</dt><dd><code>${h(v.entry.tag)}</code></dd>
<dt>Cut for</dt><dd>${h(r.target)}</dd>
<dt>Commit</dt><dd><code>${h(r.git_sha)}</code>${r.git_branch ? ` (${h(r.git_branch)})` : ''}</dd>
<dt>Created</dt><dd><time datetime="${h(r.created_at)}">${h(r.created_at)}</time> by ${h(r.created_by)}</dd>
${r.dirty ? `<dt>Dirty</dt><dd>${badge('dirty-source')} made with --allow-dirty: ${h((r.dirty_files ?? []).join(', '))}</dd>` : ''}
</dl>
<h2>Artifacts</h2>
${scroll(
  'Images',
  Object.keys(r.images).length
    ? `<table><caption>Images</caption><thead><tr><th scope="col">Component</th><th scope="col">Reference</th><th scope="col">Digest</th></tr></thead><tbody>${Object.entries(r.images)
        .map(([k, i]) => `<tr><th scope="row">${h(k)}</th><td><code>${h(i.ref)}</code></td><td><code>${h(i.digest)}</code></td></tr>`)
        .join('')}</tbody></table>`
    : '<p><strong>Images:</strong> <span class="muted">none</span></p>',
)}
${kv('SBOM digests', ['Of', 'Digest'], r.sboms)}
${kv('Vendored components', ['Component', 'Digest'], r.vendored)}
${kv('Tools', ['Tool', 'Version'], r.tools)}
${kv('Annotations', ['Key', 'Value'], r.annotations)}
${sbom}
<p><a href="${depUrl(d.name, '/history')}">History of ${h(d.name)}</a></p>`;
}

// --------------------------------------------------------------------- run timeline

const fmtMs = (ms: number) => (ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);

function bar(s: RunStep, total: number): string {
  const x = total > 0 ? (s.startMs / total) * 1000 : 0;
  const w = total > 0 ? Math.max(3, (s.durationMs / total) * 1000) : 3;
  return `<svg class="bar" viewBox="0 0 1000 12" preserveAspectRatio="none" aria-hidden="true" focusable="false"><rect class="track" x="0" y="0" width="1000" height="12"/><rect class="b-${h(s.status)}" x="${x.toFixed(1)}" y="1" width="${Math.min(w, 1000 - x).toFixed(1)}" height="10"/></svg>`;
}

function runSection(r: RunView): string {
  const title = `<h2 id="run-${h(r.runId)}">${h(r.deployment)} → ${h(r.target)} <span class="muted">${h(r.pipeline)}</span> ${badge(r.status === 'success' ? 'success' : r.status === 'failed' ? 'failed' : r.status)}</h2>`;
  if (r.error) return `<section aria-labelledby="run-${h(r.runId)}" class="run">${title}<p>Run record <code>${h(r.file)}</code> cannot be read: ${h(r.error)}</p></section>`;
  const counts = r.steps.reduce<Record<string, number>>((a, s) => {
    a[s.status] = (a[s.status] ?? 0) + 1;
    return a;
  }, {});
  const waves = [...new Set(r.steps.map((s) => s.wave))];
  const body = waves
    .map((w) => {
      const steps = r.steps.filter((s) => s.wave === w);
      return `<tbody><tr class="wave"><th scope="rowgroup" colspan="5">${w === null ? 'Steps' : `Wave ${w}`}</th></tr>${steps
        .map(
          (s) =>
            `<tr class="s-${h(s.status)}" data-step="${h(s.id)}"><td><code>${h(s.component)}</code></td><td>${h(s.id.split(':').slice(2).join(':') || s.module)}</td><td>${badge(s.status)}${
              s.status === 'cached' ? ' <span class="small">cache hit</span>' : s.status === 'done' ? ' <span class="small muted">cache miss</span>' : ''
            }</td><td class="num">${h(fmtMs(s.durationMs))}</td><td class="timeline">${bar(s, r.durationMs)}</td></tr>${
              s.status === 'failed' && (s.reason || s.logTail?.length)
                ? `<tr class="log"><td colspan="5"><details open><summary>Why ${h(s.id)} failed${s.exitCode !== undefined ? ` (exit ${s.exitCode})` : ''}</summary>${s.reason ? `<p>${h(s.reason)}</p>` : ''}${s.logTail?.length ? `<pre>${h(s.logTail.join('\n'))}</pre>` : ''}</details></td></tr>`
                : ''
            }`,
        )
        .join('')}</tbody>`;
    })
    .join('');
  return `<section aria-labelledby="run-${h(r.runId)}" class="run" data-run="${h(r.runId)}">${title}
<p class="muted">Run <code>${h(r.runId)}</code>${r.started ? `, started <time datetime="${h(r.started)}">${h(r.started)}</time>` : ''}, ${h(fmtMs(r.durationMs))}, engine ${h(r.engine)}: ${Object.entries(
    counts,
  )
    .map(([k, n]) => `${n} ${h(k)}`)
    .join(', ')}</p>
${scroll(`Steps of run ${r.runId}`, `<table class="gantt"><caption>Steps of run ${h(r.runId)} by wave, with their timeline</caption><thead><tr><th scope="col">Component</th><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Timeline (0 – ${h(fmtMs(r.durationMs))})</th></tr></thead>${body}</table>`)}
</section>`;
}

export function runsBody(runs: RunView[], total: number, page: number, pageSize: number): string {
  if (runs.length === 0) return '<p>No run recorded yet (run records live in <code>.atmos/runs/</code>).</p>';
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const pager = `<nav aria-label="Pages" class="pager"><span>Page ${page + 1} of ${pages} (${total} runs)</span> ${page > 0 ? `<a href="/runs${qs({ page })}" rel="prev">← Newer</a>` : ''} ${page + 1 < pages ? `<a href="/runs${qs({ page: page + 2 })}" rel="next">Older →</a>` : ''}</nav>`;
  return `${pager}${runs.map(runSection).join('\n')}${pager}`;
}

// ------------------------------------------------------------------------- diff

export function diffBody(d: UiDeployment, from: string | undefined, to: string | undefined, diff: TargetDiff | undefined, now: number): string {
  const opt = (v: string, sel: string | undefined) => `<option value="${h(v)}"${v === sel ? ' selected' : ''}>${h(v)}</option>`;
  const form = `<form method="get" class="filters" aria-label="Targets to compare">
<label for="from">From</label><select id="from" name="from">${d.targets.map((t) => opt(t, from)).join('')}</select>
<label for="to">To</label><select id="to" name="to">${d.targets.map((t) => opt(t, to)).join('')}</select>
<button type="submit">Compare</button></form>`;
  if (!diff) return `${form}<p>Choose two targets.</p>`;
  const side = (s: TargetDiff['from']) =>
    s.deployed ? `${s.release ? `<a href="${releaseUrl(d.name, s.release)}">${h(s.release)}</a>` : 'no release'} at <code>${h(short(s.commit))}</code>, ${time(s.timestamp, now)}` : badge('never');
  const comp = (c: TargetDiff['components'][number]['from']) => (c ? `${h(c.release ?? '-')} <code>${h(short(c.commit))}</code>` : '<span class="muted">not deployed</span>');
  return `${form}
<dl class="facts"><dt>${h(diff.from.target)} runs</dt><dd data-side="from">${side(diff.from)}</dd><dt>${h(diff.to.target)} runs</dt><dd data-side="to">${side(diff.to)}</dd>
<dt>Commits behind</dt><dd data-behind="${h(diff.commits_behind ?? '')}">${diff.commits_behind ?? 'unknown'}${diff.commits_ahead ? ` (${diff.commits_ahead} ahead)` : ''}</dd></dl>
${diff.warnings.map((w) => `<p class="warning" role="note">${h(w)}</p>`).join('')}
${scroll(
  'Components',
  `<table><caption>Components in ${h(diff.from.target)} and ${h(diff.to.target)}</caption><thead><tr><th scope="col">Component</th><th scope="col">${h(diff.from.target)}</th><th scope="col">${h(diff.to.target)}</th><th scope="col">Changed</th></tr></thead><tbody>${diff.components
    .map(
      (c) =>
        `<tr data-component="${h(c.component)}"><th scope="row"><code>${h(c.component)}</code></th><td>${comp(c.from)}</td><td>${comp(c.to)}</td><td>${c.changed ? '<strong>changed</strong>' : 'same'}</td></tr>`,
    )
    .join('')}</tbody></table>`,
)}
<h2>Commits</h2>${
    diff.commits?.length
      ? `<ol class="log">${diff.commits.map((c) => `<li><code>${h(short(c.sha))}</code> ${h(c.subject)} <span class="muted">— ${h(c.author)}, ${h(c.date)}</span></li>`).join('')}</ol>${diff.commits_truncated ? `<p class="muted">First ${diff.log_limit} shown.</p>` : ''}`
      : '<p class="muted">None.</p>'
  }
<h2>Configuration changes</h2>${
    diff.configuration_changes?.length
      ? `<ul>${diff.configuration_changes.map((f) => `<li><code>${h(f.status)}</code> ${h(f.path)}${f.old_path ? ` (was ${h(f.old_path)})` : ''}</li>`).join('')}</ul>`
      : '<p class="muted">None.</p>'
  }`;
}

export function errorBody(message: string): string {
  return `<p role="alert">${h(message)}</p><p><a href="/">Back to the grid</a></p>`;
}
