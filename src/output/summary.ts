/**
 * End-of-run summaries (SPEC 4.3, 10): the table people read in the terminal or CI log, the
 * Markdown job summary for GitHub Actions, and appending it to `$GITHUB_STEP_SUMMARY`.
 *
 * Every failed step gets its own block with its log tail and the path of its full log, so
 * which step failed and why is never a guess, however many steps ran in parallel.
 */
import { secrets } from '../secrets/mask.js';
import { appendFileSync } from 'node:fs';
import type { RunEvent } from '../engine/types.js';
import type { StepStatus } from '../steps/types.js';
import { table, type Colors } from '../render/index.js';
import {
  cacheText,
  displayId,
  emptyCounts,
  failureText,
  formatDuration,
  oneLine,
  runTitle,
  stepName,
  stripAnsi,
  type RunFinishedEvent,
  type RunStartedEvent,
  type StepFinishedEvent,
} from './format.js';

/** A step as the summary sees it: finished, or started and never finished (an interrupted run). */
export interface SummaryStep {
  id: string;
  component: string;
  module: string;
  status: StepStatus | 'unfinished';
  durationMs?: number;
  fingerprint?: string;
  /** The `step.finished` event, when there was one. */
  finished?: StepFinishedEvent;
}

/** A run as its events tell it (what the summaries render); not run/index.ts `RunSummary`, the library's run result. */
export interface EventSummary {
  started?: RunStartedEvent;
  finished?: RunFinishedEvent;
  /** Grouped by component (in order of first appearance), then in order of first appearance. */
  steps: SummaryStep[];
  counts: Record<StepStatus, number>;
  /** Steps that started and never finished. */
  unfinished: number;
  notices: string[];
  /** run.finished's duration, else the span of the events' times. */
  durationMs: number;
  status: 'success' | 'failed';
}

/** Fold a run's events into what the summaries show (`step.output` events are ignored). */
export function summarize(events: Iterable<RunEvent>): EventSummary {
  let started: RunStartedEvent | undefined;
  let finished: RunFinishedEvent | undefined;
  const steps = new Map<string, SummaryStep>();
  const notices: string[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const e of events) {
    const t = Date.parse(e.time);
    if (!Number.isNaN(t)) {
      first = Math.min(first, t);
      last = Math.max(last, t);
    }
    switch (e.type) {
      case 'run.started':
        started = e;
        break;
      case 'run.finished':
        finished = e;
        break;
      case 'notice':
        notices.push(e.message);
        break;
      case 'step.started':
        if (!steps.has(e.id)) steps.set(e.id, { id: e.id, component: e.component, module: e.module, status: 'unfinished', fingerprint: e.fingerprint });
        break;
      case 'step.finished': {
        const prev = steps.get(e.id);
        const s: SummaryStep = { id: e.id, component: e.component, module: e.module, status: e.status, durationMs: e.durationMs, fingerprint: e.fingerprint ?? prev?.fingerprint, finished: e };
        if (prev) Object.assign(prev, s);
        else steps.set(e.id, s);
        break;
      }
      case 'step.output':
        break;
    }
  }
  // Group by component, keeping the order in which components and steps first appeared.
  const order = new Map<string, number>();
  for (const s of steps.values()) if (!order.has(s.component)) order.set(s.component, order.size);
  const list = [...steps.values()]
    .map((s, i) => ({ s, i }))
    .sort((a, b) => order.get(a.s.component)! - order.get(b.s.component)! || a.i - b.i)
    .map((x) => x.s);
  const counts = emptyCounts();
  let unfinished = 0;
  for (const s of list) {
    if (s.status === 'unfinished') unfinished++;
    else counts[s.status]++;
  }
  const durationMs = finished?.durationMs ?? (Number.isFinite(first) ? last - first : 0);
  const status = finished?.status ?? (counts.failed > 0 || unfinished > 0 ? 'failed' : 'success');
  return { started, finished, steps: list, counts, unfinished, notices, durationMs, status };
}

/** `rollout payment-service → dev: 7 steps, 5 done, 2 cached, 0 failed, 0 skipped in 12.3s` */
export function summaryLine(s: EventSummary): string {
  const k = s.counts;
  const unfinished = s.unfinished ? `, ${s.unfinished} unfinished` : '';
  return `${runTitle(s.started)}: ${s.steps.length} steps, ${k.done} done, ${k.cached} cached, ${k.failed} failed, ${k.skipped} skipped${unfinished} in ${formatDuration(s.durationMs)}`;
}

function statusCell(st: SummaryStep['status'], c: Colors): string {
  switch (st) {
    case 'done':
      return c.green('done');
    case 'cached':
      return c.cyan('cached');
    case 'failed':
      return c.red(c.bold('FAILED'));
    case 'skipped':
      return c.yellow('skipped');
    case 'unfinished':
      return c.red('unfinished');
  }
}

/**
 * The end-of-run summary: a table (COMPONENT, STEP, STATUS, DURATION, CACHE), then (unless
 * `withFailures` is false: the CLI prints them on stderr with {@link renderFailures}) one block
 * per failed step (its reason, log tail and full log path), then the one-line totals.
 */
export function renderSummary(events: Iterable<RunEvent>, colors: Colors, withFailures = true): string {
  const list = [...events];
  const s = summarize(list);
  const c = colors;
  const pipeline = s.started?.pipeline;
  let out = '';
  if (s.steps.length > 0) {
    const rows = s.steps.map((st) => [
      st.component,
      stepName(st.id, st.component, pipeline),
      statusCell(st.status, c),
      st.status === 'skipped' || st.durationMs === undefined ? '-' : formatDuration(st.durationMs),
      st.finished ? cacheText(st.finished) : 'miss',
    ]);
    out += table(['COMPONENT', 'STEP', 'STATUS', 'DURATION', 'CACHE'], rows, c);
  }
  if (withFailures) out += renderFailures(list, c);
  const line = summaryLine(s);
  out += `\n${s.status === 'failed' ? c.red(c.bold(line)) : c.green(line)}\n`;
  return out;
}

/** One block per failed step (its reason, log tail, full log and workspace), and the steps that never finished. */
export function renderFailures(events: Iterable<RunEvent>, colors: Colors): string {
  const s = summarize(events);
  const c = colors;
  const pipeline = s.started?.pipeline;
  let out = '';
  for (const st of s.steps) {
    if (st.status !== 'failed' || !st.finished) continue;
    const f = st.finished;
    out += `\n${c.red(c.bold(`✗ FAILED ${displayId(st.id, pipeline)}`))}${c.red(` — ${failureText(f)}`)}${c.dim(` (${formatDuration(f.durationMs)})`)}\n`;
    const tail = (f.logTail ?? []).map(oneLine);
    while (tail.length > 0 && tail[tail.length - 1].trim() === '') tail.pop();
    if (tail.length > 0) {
      out += `${c.dim(`    last ${tail.length} line${tail.length === 1 ? '' : 's'} of the log:`)}\n`;
      for (const l of tail) out += `    ${c.dim('│')} ${l}\n`;
    }
    if (f.logPath) out += `    full log: ${f.logPath}\n`;
    if (f.workspace) out += `    workspace: ${f.workspace}\n`;
  }
  const unfinished = s.steps.filter((st) => st.status === 'unfinished');
  if (unfinished.length > 0) out += `\n${c.red(`${unfinished.length} step(s) started and never finished: ${unfinished.map((st) => displayId(st.id, pipeline)).join(', ')}`)}\n`;
  return out;
}

/** Text for a Markdown table cell: one line, pipes escaped. */
function mdCell(s: string): string {
  return oneLine(s).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that survives backticks in the text. */
function mdCode(s: string): string {
  const text = oneLine(s);
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const MD_STATUS: Record<SummaryStep['status'], string> = {
  done: '✅ done',
  cached: '♻️ cached',
  failed: '❌ **failed**',
  skipped: '⏭️ skipped',
  unfinished: '⚠️ unfinished',
};

/** The run as Markdown for `$GITHUB_STEP_SUMMARY`: title, totals, a table, failures in <details>. */
export function renderMarkdownSummary(events: Iterable<RunEvent>): string {
  const s = summarize(events);
  const pipeline = s.started?.pipeline;
  const lines: string[] = [];
  lines.push(`### ${s.status === 'success' ? '✅' : '❌'} atmos-pipe ${mdCell(runTitle(s.started))} ${s.status === 'success' ? 'succeeded' : 'failed'}`);
  lines.push('');
  const k = s.counts;
  const meta = s.started ? ` · engine \`${s.started.engine}\` · run \`${s.started.runId}\`` : '';
  lines.push(
    `**${s.steps.length} steps**: ${k.done} done, ${k.cached} cached, ${k.failed} failed, ${k.skipped} skipped${s.unfinished ? `, ${s.unfinished} unfinished` : ''} in ${formatDuration(s.durationMs)}${meta}`,
  );
  lines.push('');
  if (s.steps.length > 0) {
    lines.push('| Component | Step | Status | Duration | Cache |');
    lines.push('| --- | --- | --- | --- | --- |');
    for (const st of s.steps) {
      const dur = st.status === 'skipped' || st.durationMs === undefined ? '-' : formatDuration(st.durationMs);
      let status = MD_STATUS[st.status];
      if (st.status === 'failed' && st.finished) status += ` (${mdCell(failureText(st.finished))})`;
      if (st.status === 'skipped' && st.finished?.reason) status += ` (${mdCell(st.finished.reason)})`;
      lines.push(`| ${mdCode(st.component)} | ${mdCell(stepName(st.id, st.component, pipeline))} | ${status} | ${dur} | ${st.finished ? cacheText(st.finished) : 'miss'} |`);
    }
    lines.push('');
  }
  for (const st of s.steps) {
    if (st.status !== 'failed' || !st.finished) continue;
    const f = st.finished;
    lines.push('<details open>');
    lines.push(`<summary>❌ <code>${htmlEscape(displayId(st.id, pipeline))}</code> failed: ${htmlEscape(failureText(f))}</summary>`);
    lines.push('');
    const tail = (f.logTail ?? []).map((l) => stripAnsi(l).replace(/\r$/, ''));
    if (tail.length > 0) {
      const longest = Math.max(2, ...tail.flatMap((l) => (l.match(/`{3,}/g) ?? []).map((m) => m.length)));
      const fence = '`'.repeat(longest + 1);
      lines.push(`${fence}text`, ...tail, fence);
      lines.push('');
    }
    if (f.logPath) lines.push(`Full log: ${mdCode(f.logPath)}`, '');
    lines.push('</details>');
    lines.push('');
  }
  if (s.notices.length > 0) {
    lines.push('<details><summary>Notices</summary>', '');
    for (const n of s.notices) lines.push(`- ${mdCell(n)}`);
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}

export interface JobSummaryResult {
  /** True when the summary was appended. */
  written: boolean;
  /** The file it was (or would have been) appended to. */
  path?: string;
  /** Why it could not be written (the run's outcome does not depend on it). */
  error?: string;
}

/**
 * On GitHub Actions (`GITHUB_ACTIONS=true` and `GITHUB_STEP_SUMMARY` set), append the Markdown
 * summary to the job summary file. Elsewhere, does nothing. Never throws: a summary that
 * cannot be written must not change the run's result.
 */
export function writeJobSummary(events: Iterable<RunEvent>, env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): JobSummaryResult {
  const file = env.GITHUB_STEP_SUMMARY;
  if (env.GITHUB_ACTIONS !== 'true' || !file) return { written: false };
  try {
    appendFileSync(file, `${secrets.mask(renderMarkdownSummary(events))}\n`);
    return { written: true, path: file };
  } catch (e) {
    return { written: false, path: file, error: `could not write the job summary to ${file}: ${(e as Error).message}` };
  }
}
