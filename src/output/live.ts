/**
 * The live TTY view (SPEC 4.3). Finished steps scroll up as permanent lines; below them a
 * block is redrawn in place (cursor up + clear line) on every event and on a 100 ms timer:
 * one line per running step (spinner, elapsed time, its latest output line), then the counts.
 *
 *   ✓ terraform/ecr/api:apply 2.1s
 *   ◆ nixpack/api:build cached
 *   ✗ terraform/ecs/service-api:apply failed (exit 1) 3.4s
 *       │ Error: creating ECS Service: InvalidParameterException
 *       └ full log: .atmos/cache/logs/…/service-api-apply.log
 *   - terraform/dns/api:* skipped (needs terraform/ecs/service-api, which failed)
 *   ⠹ terraform/rds/main:apply 12.0s  aws_db_instance.this: Still creating... [10s elapsed]
 *     1 running · 1 done · 1 cached · 1 failed · 1 skipped · 5/9 · 14.2s
 *
 * A failed step prints its last log lines and log path at once, so the failure is visible
 * while the other steps keep running. The block is cut to the terminal width, so it never
 * wraps (a wrapped line would break the redraw).
 */
import type { RunEvent } from '../engine/types.js';
import type { StepStatus } from '../steps/types.js';
import { makeColors, type Colors } from '../render/index.js';
import { displayId, emptyCounts, failureText, formatDuration, oneLine, runTitle, truncate, type OutputStream, type RunView } from './format.js';

export interface LiveViewOptions {
  colors?: Colors;
  /** Print every output line (prefixed by its step id) above the block. */
  verbose?: boolean;
  /** Redraw period (default 100 ms). */
  intervalMs?: number;
  /** Log-tail lines printed under a failed step (default 8; the summary shows the full tail). */
  tailLines?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const ESC = '\u001b[';
/** Move up one line and clear it. */
const UP_CLEAR = `${ESC}1A${ESC}2K`;

interface Running {
  id: string;
  since: number;
  last?: string;
}

export class LiveView implements RunView {
  private readonly c: Colors;
  private readonly running = new Map<string, Running>();
  private readonly counts: Record<StepStatus, number> = emptyCounts();
  private pipeline?: string;
  private total = 0;
  private startedAt?: number;
  private finishedMs?: number;
  private drawn = 0;
  private timer?: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly opts: LiveViewOptions = {},
  ) {
    this.c = opts.colors ?? makeColors(false);
  }

  onEvent(e: RunEvent): void {
    if (this.closed) return;
    this.startedAt ??= Date.now();
    const c = this.c;
    const id = (x: string) => displayId(x, this.pipeline);
    const lines: string[] = [];
    switch (e.type) {
      case 'run.started':
        this.pipeline = e.pipeline;
        this.total = 0; // components expand into steps just in time: no upfront step count
        lines.push(c.bold(runTitle(e)) + c.dim(` · ${e.components} component${e.components === 1 ? '' : 's'} · engine ${e.engine} · parallelism ${e.parallelism}`));
        break;
      case 'notice':
        lines.push(c.yellow('! ') + oneLine(e.message));
        break;
      case 'step.started':
        this.running.set(e.id, { id: e.id, since: Date.now() });
        break;
      case 'step.output': {
        const r = this.running.get(e.id);
        const text = oneLine(e.line).trim();
        if (r && text) r.last = text;
        if (this.opts.verbose) lines.push(c.dim(`  ${id(e.id)} │ `) + oneLine(e.line));
        else {
          // Output alone only changes the block: let the timer redraw it.
          this.ensureTimer();
          return;
        }
        break;
      }
      case 'step.finished':
        this.running.delete(e.id);
        this.counts[e.status]++;
        switch (e.status) {
          case 'done':
            lines.push(`${c.green('✓')} ${id(e.id)} ${c.dim(formatDuration(e.durationMs))}`);
            break;
          case 'cached':
            lines.push(`${c.cyan('◆')} ${id(e.id)} ${c.cyan('cached')}`);
            break;
          case 'failed': {
            lines.push(`${c.red(c.bold('✗'))} ${c.bold(id(e.id))} ${c.red(c.bold(`failed (${failureText(e)})`))} ${c.dim(formatDuration(e.durationMs))}`);
            const tail = (e.logTail ?? []).map(oneLine);
            while (tail.length > 0 && tail[tail.length - 1].trim() === '') tail.pop();
            for (const l of tail.slice(-(this.opts.tailLines ?? 8))) lines.push(`    ${c.red('│')} ${l}`);
            if (e.logPath) lines.push(`    ${c.red('└')} full log: ${e.logPath}`);
            break;
          }
          case 'skipped':
            lines.push(`${c.yellow('-')} ${id(e.id)} ${c.yellow('skipped')}${e.reason ? c.dim(` (${oneLine(e.reason)})`) : ''}`);
            break;
        }
        break;
      case 'run.finished':
        this.finishedMs = e.durationMs;
        this.stopTimer();
        break;
    }
    this.paint(lines);
    this.ensureTimer();
  }

  /** Stop redrawing and leave the final state (permanent lines + final counts) on screen. */
  close(): void {
    if (this.closed) return;
    this.stopTimer();
    this.closed = true;
    if (this.startedAt !== undefined) this.paint([]);
    this.drawn = 0;
  }

  private ensureTimer(): void {
    if (this.timer || this.closed || this.finishedMs !== undefined) return;
    this.timer = setInterval(() => this.paint([]), this.opts.intervalMs ?? 100);
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Erase the block, print permanent lines, draw the block again: one write, no flicker. */
  private paint(permanent: string[]): void {
    const block = this.block();
    let out = UP_CLEAR.repeat(this.drawn) + (this.drawn > 0 ? '\r' : '');
    for (const l of permanent) out += `${l}\n`;
    for (const l of block) out += `${l}\n`;
    this.drawn = block.length;
    this.stream.write(out);
  }

  private block(): string[] {
    const c = this.c;
    // A pty without a size (e.g. under `script`) reports 0 columns: assume 80.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const now = Date.now();
    const lines: string[] = [];
    const frame = SPINNER[Math.floor(now / 80) % SPINNER.length];
    const final = this.closed || this.finishedMs !== undefined;
    for (const r of this.running.values()) {
      const head = `${final ? c.yellow('…') : c.cyan(frame)} ${displayId(r.id, this.pipeline)} ${c.dim(formatDuration(now - r.since))}`;
      lines.push(truncate(r.last ? `${head}  ${c.dim(r.last)}` : head, width));
    }
    const k = this.counts;
    const finishedCount = k.done + k.cached + k.failed + k.skipped;
    const parts = [
      ...(this.running.size > 0 ? [`${this.running.size} running`] : []),
      c.green(`${k.done} done`),
      c.cyan(`${k.cached} cached`),
      k.failed > 0 ? c.red(c.bold(`${k.failed} failed`)) : `${k.failed} failed`,
      k.skipped > 0 ? c.yellow(`${k.skipped} skipped`) : `${k.skipped} skipped`,
      ...(this.total > 0 ? [`${finishedCount}/${Math.max(this.total, finishedCount)}`] : []),
      formatDuration(this.finishedMs ?? (this.startedAt === undefined ? 0 : now - this.startedAt)),
    ];
    lines.push(truncate(`  ${parts.join(c.dim(' · '))}`, width));
    return lines;
  }
}
