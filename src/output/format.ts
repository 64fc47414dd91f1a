/**
 * Small helpers shared by the run views (live, plain, NDJSON, summaries): the stream and view
 * contracts, durations, step labels, and making arbitrary text safe for one terminal line.
 */
import type { RunEvent } from '../engine/types.js';
import type { StepStatus } from '../steps/types.js';

/** Where a view writes: `process.stdout`/`process.stderr` or anything with `write`. */
export interface OutputStream {
  write(s: string): unknown;
  isTTY?: boolean;
  /** Terminal width (TTY only). */
  columns?: number;
}

/** A consumer of run events. `close()` flushes and releases timers; it is idempotent. */
export interface RunView {
  onEvent(e: RunEvent): void;
  close(): void;
}

export type RunStartedEvent = Extract<RunEvent, { type: 'run.started' }>;
export type StepFinishedEvent = Extract<RunEvent, { type: 'step.finished' }>;
export type RunFinishedEvent = Extract<RunEvent, { type: 'run.finished' }>;

export function emptyCounts(): Record<StepStatus, number> {
  return { done: 0, cached: 0, failed: 0, skipped: 0 };
}

/** `312ms`, `2.1s`, `1m05s`, `1h02m`. */
/** Seconds of a duration such as `30`, `30s`, `5m`, `1h` (also `1.5m`); undefined when it is none. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `HH:MM:SS` of an ISO time (local time unless `utc`); the current time when unparsable. */
export function formatClock(iso: string, utc = false): string {
  let d = new Date(iso);
  if (Number.isNaN(d.getTime())) d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return utc ? `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}` : `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The id people read: the full step id without the run's pipeline prefix
 * (`rollout:terraform/ecr/api:apply` → `terraform/ecr/api:apply` in a rollout run).
 */
export function displayId(id: string, pipeline?: string): string {
  return pipeline && id.startsWith(`${pipeline}:`) ? id.slice(pipeline.length + 1) : id;
}

/** The step part of an id, for the STEP column (`apply`); `(all steps)` for a skipped component. */
export function stepName(id: string, component: string, pipeline?: string): string {
  const short = displayId(id, pipeline);
  let name = short;
  if (short.startsWith(`${component}:`)) name = short.slice(component.length + 1);
  else {
    const at = short.indexOf(`:${component}:`);
    if (at >= 0) name = `${short.slice(0, at)}:${short.slice(at + component.length + 2)}`;
  }
  return name === '*' || name === '' ? '(all steps)' : name;
}

/** `rollout payment-service → dev` (or `run` without a run.started event). */
export function runTitle(started?: RunStartedEvent): string {
  if (!started) return 'run';
  return `${started.pipeline} ${started.deployment} → ${started.target}`;
}

// CSI (incl. private modes), OSC (BEL or ST terminated), and two-byte escapes.
const ANSI_SOURCE = '\\u001b\\[[0-?]*[ -/]*[@-~]|\\u001b\\][^\\u0007\\u001b]*(?:\\u0007|\\u001b\\\\)|\\u001b[@-Z\\\\-_]|\\u009b[0-?]*[ -/]*[@-~]';
const ANSI_GLOBAL = new RegExp(ANSI_SOURCE, 'g');

export function stripAnsi(s: string): string {
  return s.replace(ANSI_GLOBAL, '');
}

/**
 * Arbitrary text (a command's output line, a notice, a reason) made safe for one line of a
 * log or terminal: escape sequences removed, carriage-return progress collapsed to its last
 * state, newlines shown as ` ⏎ `, other control characters dropped.
 */
export function oneLine(s: string): string {
  return stripAnsi(s)
    .split(/\r?\n/)
    .map((l) => {
      const parts = l.split('\r');
      // `progress 10%\rprogress 20%` shows as the terminal would: the last non-empty state.
      for (let i = parts.length - 1; i >= 0; i--) if (parts[i] !== '') return parts[i];
      return '';
    })
    .join(' ⏎ ')
    .replace(/\t/g, '  ')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

// C0 and C1 controls, DEL, and the Unicode bidi controls (embeddings, overrides, isolates, marks).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const CONTROL_OR_BACKSLASH = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\x1b', '\\': '\\\\' };

/**
 * A user-controlled string (a user name, an annotation, a commit subject, a name read from a
 * tag) made inert for one cell or line of a terminal: every control character is shown
 * escaped (`\n`, `\r`, `\t`, `\x1b`, `\x07`, `\u202e`), so it can neither start a new row
 * nor colour, move or rewrite the terminal. A string with none is returned as is; in one with
 * some, backslashes are doubled so the escapes are unambiguous. JSON and YAML output keep the
 * exact value.
 */
export function escapeControls(s: string): string {
  if (!CONTROL.test(s)) return s;
  return s.replace(CONTROL_OR_BACKSLASH, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** Number of terminal columns a string takes (escape sequences excluded). */
export function visibleWidth(s: string): number {
  let n = 0;
  for (const _ of stripAnsi(s)) n++;
  return n;
}

/** Cut a (possibly coloured) string to `width` columns, ending with `…` when cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return '';
  if (visibleWidth(s) <= width) return s;
  const sticky = new RegExp(ANSI_SOURCE, 'y');
  let out = '';
  let n = 0;
  let coloured = false;
  let i = 0;
  while (i < s.length) {
    sticky.lastIndex = i;
    const m = sticky.exec(s);
    if (m) {
      out += m[0];
      i += m[0].length;
      coloured = true;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    if (n >= width - 1) break;
    out += ch;
    n++;
    i += ch.length;
  }
  return `${out + (coloured ? '\u001b[0m' : '')}…`;
}

/** What a finished step's failure was: `exit 1`, or the scheduler's reason. */
export function failureText(e: StepFinishedEvent): string {
  const exit = e.exitCode !== undefined ? `exit ${e.exitCode}` : undefined;
  const reason = e.reason ? oneLine(e.reason) : undefined;
  if (reason && exit && reason !== exit) return `${exit}: ${reason}`;
  return reason ?? exit ?? 'failed';
}

/** Which cache column value a finished step gets: hit, miss (it ran), or `-`. */
export function cacheText(e: StepFinishedEvent): 'hit' | 'miss' | '-' {
  if (e.status === 'cached') return 'hit';
  if ((e.status === 'done' || e.status === 'failed') && e.fingerprint) return 'miss';
  return '-';
}
