/**
 * The run records (`<cache_dir>/runs/<run id>.json`, written by src/run at the end of every
 * run: its events, and the wave of every component) turned into what the run timeline draws:
 * every step with its start offset, duration, status, wave, and the log tail of a failure.
 * A record that does not parse is shown as such, never fatal.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type StepState = 'done' | 'cached' | 'failed' | 'skipped' | 'running';

export interface RunStep {
  id: string;
  component: string;
  module: string;
  status: StepState;
  /** Milliseconds after the run started. */
  startMs: number;
  durationMs: number;
  /** The component's wave (dependency depth); null in records that do not say. */
  wave: number | null;
  reason?: string;
  exitCode?: number;
  logTail?: string[];
}

export interface RunView {
  file: string;
  runId: string;
  deployment: string;
  target: string;
  pipeline: string;
  engine: string;
  status: string;
  /** ISO-8601; null when the record has no start event. */
  started: string | null;
  durationMs: number;
  steps: RunStep[];
  /** Why the record could not be read (then nothing else is known). */
  error?: string;
}

const str = (v: unknown, dflt = '?'): string => (typeof v === 'string' ? v : dflt);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One run record, parsed defensively (the file is ours, but a disk or a person may have damaged it). */
export function runView(file: string, text: string): RunView {
  const empty = { file, runId: file.replace(/\.json$/, ''), deployment: '?', target: '?', pipeline: '?', engine: '?', status: 'unknown', started: null, durationMs: 0, steps: [] };
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the content.
    return { ...empty, error: 'not JSON' };
  }
  if (!rec || typeof rec !== 'object' || !Array.isArray((rec as { events?: unknown }).events)) return { ...empty, error: 'not a run record (no events)' };
  const r = rec as { runId?: unknown; deployment?: unknown; target?: unknown; pipeline?: unknown; engine?: unknown; status?: unknown; waves?: unknown; events: unknown[] };
  const waves = r.waves && typeof r.waves === 'object' ? (r.waves as Record<string, unknown>) : {};
  const events = r.events.filter((e): e is Record<string, unknown> => !!e && typeof e === 'object' && typeof (e as { type?: unknown }).type === 'string');
  const t = (e: Record<string, unknown>) => (typeof e.time === 'string' ? Date.parse(e.time) : Number.NaN);
  const startEvent = events.find((e) => e.type === 'run.started');
  const finished = events.find((e) => e.type === 'run.finished');
  const starts = new Map<string, number>();
  for (const e of events) if (e.type === 'step.started' && typeof e.id === 'string' && !Number.isNaN(t(e))) starts.set(e.id, t(e));
  const fins = events.filter((e) => e.type === 'step.finished' && typeof e.id === 'string');
  const startTimes = [...starts.values(), ...fins.map((e) => t(e) - (num(e.durationMs) ?? 0))].filter((x) => !Number.isNaN(x));
  const t0 = startEvent && !Number.isNaN(t(startEvent)) ? t(startEvent) : startTimes.length ? Math.min(...startTimes) : 0;
  const steps: RunStep[] = [];
  const seen = new Set<string>();
  for (const e of fins) {
    const id = e.id as string;
    seen.add(id);
    const durationMs = Math.max(0, num(e.durationMs) ?? 0);
    const end = t(e);
    const start = starts.get(id) ?? (Number.isNaN(end) ? t0 : end - durationMs);
    const component = str(e.component);
    const w = num(waves[component]);
    steps.push({
      id,
      component,
      module: str(e.module),
      status: (['done', 'cached', 'failed', 'skipped'].includes(e.status as string) ? e.status : 'failed') as StepState,
      startMs: Math.max(0, start - t0),
      durationMs,
      wave: w ?? null,
      ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
      ...(num(e.exitCode) !== undefined ? { exitCode: num(e.exitCode) } : {}),
      ...(Array.isArray(e.logTail) ? { logTail: e.logTail.map((l) => String(l)) } : {}),
    });
  }
  // Started, never finished (a killed run): shown as running up to the record's end.
  const lastTime = Math.max(t0, ...events.map(t).filter((x) => !Number.isNaN(x)));
  for (const [id, s] of starts) {
    if (seen.has(id)) continue;
    const e = events.find((x) => x.type === 'step.started' && x.id === id)!;
    const component = str(e.component);
    steps.push({ id, component, module: str(e.module), status: 'running', startMs: s - t0, durationMs: Math.max(0, lastTime - s), wave: num(waves[component]) ?? null });
  }
  steps.sort((a, b) => (a.wave ?? 0) - (b.wave ?? 0) || a.startMs - b.startMs || (a.id < b.id ? -1 : 1));
  const durationMs = num(finished?.durationMs) ?? Math.max(0, ...steps.map((s) => s.startMs + s.durationMs));
  return {
    file,
    runId: str(r.runId, empty.runId),
    deployment: str(r.deployment),
    target: str(r.target),
    pipeline: str(r.pipeline),
    engine: str(r.engine),
    status: str(r.status, finished ? str(finished.status) : 'unknown'),
    started: startEvent && typeof startEvent.time === 'string' ? startEvent.time : null,
    durationMs,
    steps,
  };
}

/** The newest run records, `pageSize` per page (file names sort by time: run ids start with it). Only the page's files are read. */
export function readRuns(dir: string, page: number, pageSize: number): { runs: RunView[]; total: number } {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return { runs: [], total: 0 };
  }
  names.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  const runs = names.slice(page * pageSize, (page + 1) * pageSize).map((n) => {
    const file = path.join(dir, n);
    try {
      // Only regular files: a link there is not a record of ours, and is not followed.
      if (!lstatSync(file).isFile()) return { ...runView(n, ''), error: 'not a regular file' };
      return runView(n, readFileSync(file, 'utf8'));
    } catch (e) {
      return { ...runView(n, ''), error: `unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
    }
  });
  return { runs, total: names.length };
}
