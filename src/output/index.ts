/**
 * Run output views (SPEC 4.3, 10). Every view consumes the same `RunEvent`s:
 * - live (TTY): redrawn block of running steps, finished steps scrolling above;
 * - plain (not a TTY, CI): one line per event, no cursor control; in a CI whose log has
 *   collapsible sections, one section per component (grouped.ts);
 * - NDJSON (`--events ndjson`): the events themselves, one per line;
 * - summaries at the end: `renderSummary`, `renderMarkdownSummary`, `writeJobSummary`.
 */
import { logGroups } from '../ci/log.js';
import type { CiProviderId } from '../ci/provider.js';
import type { RunEvent } from '../engine/types.js';
import type { Colors } from '../render/index.js';
import type { OutputStream, RunView } from './format.js';
import { GroupedView } from './grouped.js';
import { LiveView } from './live.js';
import { NdjsonView } from './ndjson.js';
import { PlainView } from './plain.js';

export type { OutputStream, RunView } from './format.js';
export { visibleWidth } from './format.js';
export { LiveView } from './live.js';
export { PlainView } from './plain.js';
export { NdjsonView } from './ndjson.js';
export { renderFailures, renderSummary, writeJobSummary } from './summary.js';

export interface CreateViewOptions {
  stream: OutputStream;
  /** `auto`: live on a TTY, plain otherwise. `ndjson`: events as JSON lines. */
  format: 'auto' | 'ndjson';
  /** Show step output (plain, live) / include `step.output` events (ndjson). */
  verbose?: boolean;
  /** Colours for the live and plain views (default: none). */
  colors?: Colors;
  /** Overrides `stream.isTTY` (e.g. false under `--no-tty`, or in tests). */
  isTTY?: boolean;
  /** The CI the run is in (src/ci/provider.ts): the plain view uses its log sections. */
  ci?: CiProviderId;
}

export function createView(opts: CreateViewOptions): RunView {
  const verbose = opts.verbose ?? false;
  if (opts.format === 'ndjson') return new NdjsonView(opts.stream, { verbose });
  const tty = opts.isTTY ?? Boolean(opts.stream.isTTY);
  if (tty) return new LiveView(opts.stream, { verbose, colors: opts.colors });
  const groups = logGroups(opts.ci);
  if (groups) return new GroupedView(opts.stream, groups, { verbose, colors: opts.colors });
  return new PlainView(opts.stream, { verbose, colors: opts.colors });
}

/**
 * Keeps a run's events for the end-of-run summaries (without `step.output` lines, which the
 * logs already keep). Use it next to a display view: `for (const v of views) v.onEvent(e)`.
 */
export class EventRecorder implements RunView {
  readonly events: RunEvent[] = [];
  onEvent(e: RunEvent): void {
    if (e.type !== 'step.output') this.events.push(e);
  }
  close(): void {
    // holds the events in memory: nothing to flush or release
  }
}

/** One view that forwards every event to several (e.g. the live view and a recorder). */
export function teeViews(...views: RunView[]): RunView {
  return {
    onEvent: (e) => {
      for (const v of views) v.onEvent(e);
    },
    close: () => {
      for (const v of views) v.close();
    },
  };
}
