/**
 * JUnit XML from a run's events (SPEC 5.2 `--junit-xml`): one <testsuite> per component, one
 * <testcase> per step; failed steps carry their log tail, skipped ones say why.
 */
import type { RunEvent } from '../engine/types.js';

const esc = (s: string) =>
  s
    // XML 1.0 forbids most control characters, even escaped.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function junitXml(events: RunEvent[], name = 'atmos-pipe'): string {
  const finished = events.filter((e): e is Extract<RunEvent, { type: 'step.finished' }> => e.type === 'step.finished');
  const byComponent = new Map<string, typeof finished>();
  for (const e of finished) byComponent.set(e.component, [...(byComponent.get(e.component) ?? []), e]);
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skipped = 0;
  let time = 0;
  for (const [component, steps] of [...byComponent].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const cases: string[] = [];
    let f = 0;
    let s = 0;
    let t = 0;
    for (const e of steps) {
      const secs = e.durationMs / 1000;
      t += secs;
      const stepName = e.id.startsWith(`${component}:`) ? e.id.slice(component.length + 1) : e.id.split(':').slice(2).join(':') || e.id;
      let body = '';
      if (e.status === 'failed') {
        f++;
        const msg = e.reason ?? `exit code ${e.exitCode ?? '?'}`;
        body = `<failure message="${esc(msg)}">${esc((e.logTail ?? []).join('\n'))}</failure>`;
      } else if (e.status === 'skipped') {
        s++;
        body = `<skipped message="${esc(e.reason ?? 'not run')}"/>`;
      } else if (e.status === 'cached') {
        body = '<system-out>cached: not run again (same inputs, same result)</system-out>';
      }
      cases.push(`    <testcase classname="${esc(component)}" name="${esc(stepName)}" time="${secs.toFixed(3)}">${body}</testcase>`);
    }
    tests += steps.length;
    failures += f;
    skipped += s;
    time += t;
    suites.push(`  <testsuite name="${esc(component)}" tests="${steps.length}" failures="${f}" errors="0" skipped="${s}" time="${t.toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="${esc(name)}" tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}">\n${suites.join('\n')}\n</testsuites>\n`;
}
