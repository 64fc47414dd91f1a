/**
 * The dashboard's only assets, shipped inside the package (bundled into dist/ with the CLI):
 * a stylesheet (responsive, high-contrast, visible focus) and a small script that listens to
 * the server's events and swaps `<main>` when deployments change. No framework, no CDN.
 */

export const CSS = `
:root { --fg: #1b1b1b; --bg: #ffffff; --muted: #555; --line: #c8c8c8; --link: #0b57b0; --focus: #ff9e00;
  --ok-bg: #e3f4e6; --ok-fg: #0f5132; --bad-bg: #fde2e1; --bad-fg: #8a1111; --warn-bg: #fff1cc; --warn-fg: #5c4200;
  --info-bg: #e1ecfb; --info-fg: #0b3d7a; --none-bg: #f0f0f0; --none-fg: #444; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible, [tabindex]:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5em; }
.skip:focus { left: .5em; z-index: 10; }
header { display: flex; flex-wrap: wrap; gap: .5em 1.5em; align-items: center; padding: .6em 1em; border-bottom: 1px solid var(--line); }
header .brand { margin: 0; font-weight: 600; }
header .brand a { color: var(--fg); text-decoration: none; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: .3em 1em; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; color: var(--fg); text-decoration: underline 3px; }
.subnav { margin: .2em 0 .6em; }
main { padding: .5em 1em 2em; max-width: 1400px; }
main:focus { outline: none; }
h1 { font-size: 1.5em; margin: .3em 0 .6em; }
h2 { font-size: 1.15em; margin: 1.2em 0 .4em; }
footer { padding: .5em 1em; border-top: 1px solid var(--line); }
.muted { color: var(--muted); }
.small { font-size: .85em; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .92em; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .4em 0 1em; min-width: 100%; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border: 1px solid var(--line); padding: .4em .55em; text-align: left; vertical-align: top; }
thead th { background: #f4f4f4; }
td.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .45em; border-radius: .8em; font-size: .88em; font-weight: 600; white-space: nowrap; border: 1px solid currentColor; }
.s-success, .s-done, .s-up-to-date { --b: var(--ok-bg); --f: var(--ok-fg); }
.s-failed, .s-awaiting-approval, .s-dirty-source { --b: var(--bad-bg); --f: var(--bad-fg); }
.s-rollback, .s-pending, .s-running { --b: var(--warn-bg); --f: var(--warn-fg); }
.s-cached { --b: var(--info-bg); --f: var(--info-fg); }
.s-never, .s-skipped, .s-nothing-to-promote { --b: var(--none-bg); --f: var(--none-fg); }
.badge { background: var(--b, var(--none-bg)); color: var(--f, var(--none-fg)); }
td.cell { min-width: 13em; border-left: 6px solid var(--f, var(--line)); }
td.cell.na { background: repeating-linear-gradient(45deg, #fafafa, #fafafa 6px, #f0f0f0 6px, #f0f0f0 12px); }
td.cell dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .6em; margin: .4em 0; }
td.cell dt { color: var(--muted); font-size: .85em; }
td.cell dd { margin: 0; }
ul.marks, ul.comps { list-style: none; padding: 0; margin: .3em 0; }
ul.marks li { margin: .15em 0; }
tr.s-failed td:first-child, tr.s-rollback td:first-child { box-shadow: inset 5px 0 0 var(--f); }
.filters { display: flex; flex-wrap: wrap; gap: .4em .6em; align-items: center; margin: .2em 0 .8em; }
input, select, button { font: inherit; padding: .25em .45em; border: 1px solid #767676; border-radius: 4px; background: #fff; color: var(--fg); }
button { background: #0b57b0; color: #fff; border-color: #0b57b0; cursor: pointer; }
.pager { display: flex; flex-wrap: wrap; gap: .3em 1em; margin: .5em 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.warning { background: var(--warn-bg); color: var(--warn-fg); padding: .4em .6em; border-left: 4px solid var(--warn-fg); }
figure.graph { margin: 0 0 1em; overflow-x: auto; }
svg.promotion { max-width: 100%; height: auto; font: 13px system-ui, sans-serif; }
svg.promotion rect { fill: #fff; stroke: #767676; stroke-width: 1.5; }
svg.promotion .n-ok rect { fill: var(--ok-bg); stroke: var(--ok-fg); }
svg.promotion .n-behind rect { fill: var(--warn-bg); stroke: var(--warn-fg); stroke-width: 2.5; stroke-dasharray: 6 3; }
svg.promotion .n-rollback rect { fill: var(--warn-bg); stroke: var(--warn-fg); }
svg.promotion .n-never rect { fill: var(--none-bg); stroke: #767676; }
svg.promotion text { fill: var(--fg); }
svg.promotion text.name { font-weight: 700; font-size: 15px; }
svg.promotion .edge { fill: none; stroke: #444; stroke-width: 2; }
svg.promotion .arrow { fill: #444; }
svg.promotion .edge-label { fill: var(--bad-fg); font-size: 12px; }
table.gantt td.timeline { width: 45%; min-width: 160px; }
svg.bar { width: 100%; height: 14px; display: block; }
svg.bar .track { fill: #f1f1f1; }
svg.bar .b-done { fill: #1f7a3a; }
svg.bar .b-cached { fill: #3b74c4; }
svg.bar .b-failed { fill: #b3261e; }
svg.bar .b-skipped { fill: #9a9a9a; }
svg.bar .b-running { fill: #b07900; }
tr.wave th { background: #eef2f7; }
tr.log pre { white-space: pre-wrap; background: #1e1e1e; color: #f0f0f0; padding: .5em; margin: .3em 0; max-height: 18em; overflow: auto; }
section.run { margin-bottom: 1.5em; }
@media (max-width: 640px) {
  body { font-size: 14px; }
  main { padding: .4em .5em 2em; }
  table.grid, table.grid tbody, table.grid tr, table.grid th, table.grid td { display: block; min-width: 0; width: 100%; }
  table.grid caption { display: block; }
  table.grid thead { position: absolute; left: -9999px; }
  table.grid tr { margin-bottom: 1em; border: 1px solid var(--line); }
  table.grid td.cell::before { content: attr(data-target); display: block; font-weight: 700; }
  table.grid td.cell.na { display: none; }
  dl.facts { grid-template-columns: 1fr; }
}
`;

export const JS = `
'use strict';
(function () {
  var live = document.getElementById('live');
  if (!window.EventSource || !live) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var next = doc.querySelector('main'), cur = document.querySelector('main');
        if (!next || !cur) return;
        var focusId = document.activeElement && document.activeElement.id;
        var open = Array.prototype.map.call(cur.querySelectorAll('details[open][id]'), function (d) { return d.id; });
        cur.replaceWith(next);
        open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
        if (focusId) { var f = document.getElementById(focusId); if (f) f.focus(); }
        document.body.setAttribute('data-generation', doc.body.getAttribute('data-generation') || '');
        live.textContent = 'Updated at ' + new Date().toLocaleTimeString() + '.';
      })
      .catch(function (e) { live.textContent = 'Could not refresh: ' + e.message; })
      .then(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var es = new EventSource('/events');
  es.addEventListener('change', function (ev) {
    var g = JSON.parse(ev.data || '{}').generation;
    if (String(g) !== document.body.getAttribute('data-generation')) refresh();
  });
  es.onerror = function () { live.textContent = 'Live updates paused: reconnecting…'; };
  es.onopen = function () { live.textContent = 'Live: refreshes by itself when deployments change.'; };
})();
`;
