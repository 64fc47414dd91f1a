/**
 * The plain view (SPEC 4.3, not a TTY / CI): exactly one line per event, no cursor control, no
 * spinners, colour only when asked. Every line names the full step id, so parallel steps can
 * never be confused; command output is shown only with `verbose`, each line prefixed by its
 * step id.
 *
 *   [12:00:01] start   terraform/ecr/api:init
 *   [12:00:02] done    terraform/ecr/api:init (1.2s)
 *   [12:00:02] cached  nixpack/api:build
 *   [12:00:05] FAILED  terraform/ecs/service-api:apply exit 1 after 3.4s (log: .atmos/cache/logs/…)
 *   [12:00:05] skipped terraform/dns/api:* (needs terraform/ecs/service-api, which failed)
 */
import type { RunEvent } from '../engine/types.js';
import { makeColors, type Colors } from '../render/index.js';
import { displayId, failureText, formatClock, formatDuration, oneLine, runTitle, type OutputStream, type RunView } from './format.js';

export interface PlainViewOptions {
  /** Also print every `step.output` line, prefixed by its step id. */
  verbose?: boolean;
  /** Colours (default: none). */
  colors?: Colors;
  /** Timestamps in UTC instead of local time. */
  utc?: boolean;
}

export class PlainView implements RunView {
  private readonly c: Colors;
  private pipeline?: string;
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly opts: PlainViewOptions = {},
  ) {
    this.c = opts.colors ?? makeColors(false);
  }

  onEvent(e: RunEvent): void {
    if (this.closed) return;
    const line = this.format(e);
    if (line !== undefined) this.stream.write(`${line}\n`);
  }

  close(): void {
    this.closed = true;
  }

  /** The line for one event (without newline); undefined when the event is not shown. */
  format(e: RunEvent): string | undefined {
    const c = this.c;
    const id = (x: string) => c.bold(displayId(x, this.pipeline));
    const kw = (word: string) => word.padEnd(7);
    let body: string;
    switch (e.type) {
      case 'run.started':
        this.pipeline = e.pipeline;
        body = `${kw('run')} ${c.bold(runTitle(e))}: ${e.components} component${e.components === 1 ? '' : 's'}, engine ${e.engine}, parallelism ${e.parallelism}, run ${e.runId}`;
        break;
      case 'notice':
        body = `${c.yellow('note:')} ${oneLine(e.message)}`;
        break;
      case 'step.started':
        body = `${kw('start')} ${id(e.id)}`;
        break;
      case 'step.output':
        if (!this.opts.verbose) return undefined;
        body = `${c.dim(kw('output'))} ${c.dim(`${displayId(e.id, this.pipeline)} |`)} ${oneLine(e.line)}`;
        break;
      case 'step.finished':
        switch (e.status) {
          case 'done':
            body = `${c.green(kw('done'))} ${id(e.id)} (${formatDuration(e.durationMs)})`;
            break;
          case 'cached':
            body = `${c.cyan(kw('cached'))} ${id(e.id)}`;
            break;
          case 'failed':
            body = `${c.red(c.bold(kw('FAILED')))} ${id(e.id)} ${c.red(failureText(e))} after ${formatDuration(e.durationMs)}${e.logPath ? ` (log: ${e.logPath})` : ''}`;
            break;
          case 'skipped':
            body = `${c.yellow(kw('skipped'))} ${id(e.id)}${e.reason ? ` (${oneLine(e.reason)})` : ''}`;
            break;
        }
        break;
      case 'run.finished': {
        const k = e.counts;
        const status = e.status === 'success' ? c.green('succeeded') : c.red(c.bold('FAILED'));
        body = `${kw('run')} ${status} in ${formatDuration(e.durationMs)}: ${k.done} done, ${k.cached} cached, ${k.failed} failed, ${k.skipped} skipped`;
        break;
      }
    }
    return `${c.dim(`[${formatClock(e.time, this.opts.utc)}]`)} ${body}`;
  }
}
