/**
 * `--events ndjson` (SPEC 4.3): one JSON object per line, exactly the run events (ids,
 * fingerprints, durations), for machines. `step.output` events only with `verbose`.
 */
import type { RunEvent } from '../engine/types.js';
import type { OutputStream, RunView } from './format.js';

export interface NdjsonViewOptions {
  /** Include `step.output` events. */
  verbose?: boolean;
}

export class NdjsonView implements RunView {
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly opts: NdjsonViewOptions = {},
  ) {}

  onEvent(e: RunEvent): void {
    if (this.closed) return;
    if (e.type === 'step.output' && !this.opts.verbose) return;
    // JSON.stringify escapes newlines inside strings: one event is always one line.
    this.stream.write(`${JSON.stringify(e)}\n`);
  }

  close(): void {
    this.closed = true;
  }
}
