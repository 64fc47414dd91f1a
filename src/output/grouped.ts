/**
 * The plain view in collapsible sections per component, for a CI log that has them (GitHub
 * `::group::`, GitLab `section_start`, Buildkite `---`, Azure `##[group]`: src/ci/log.ts).
 *
 * A CI's sections cannot interleave, and components run in parallel. So one section is open
 * at a time and streams live; lines of other components wait in their own buffer and become
 * the next section as soon as the open component has no step running. A component whose
 * steps are spread out over the run may get more than one section, each complete.
 */
import type { LogGroups } from '../ci/log.js';
import type { RunEvent } from '../engine/types.js';
import type { OutputStream, RunView } from './format.js';
import { PlainView, type PlainViewOptions } from './plain.js';

export class GroupedView implements RunView {
  private readonly plain: PlainView;
  /** The component whose section is open. */
  private open?: string;
  /** Steps started and not finished, per component. */
  private readonly running = new Map<string, number>();
  /** Lines waiting for their component's section, in order of first line. */
  private readonly waiting = new Map<string, string[]>();
  /** Step id → component, for `step.output` events (which carry only the step id). */
  private readonly componentOf = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly groups: LogGroups,
    opts: PlainViewOptions = {},
  ) {
    this.plain = new PlainView(stream, opts);
  }

  onEvent(e: RunEvent): void {
    if (this.closed) return;
    const line = this.plain.format(e);
    if (e.type === 'run.finished') {
      this.flushAll(new Date(e.time));
      if (line !== undefined) this.stream.write(`${line}\n`);
      return;
    }
    let component: string | undefined;
    if (e.type === 'step.started') {
      component = e.component;
      this.componentOf.set(e.id, e.component);
      this.running.set(component, (this.running.get(component) ?? 0) + 1);
    } else if (e.type === 'step.finished') {
      component = e.component;
    } else if (e.type === 'step.output') {
      component = this.componentOf.get(e.id);
    }
    if (line !== undefined) {
      if (component === undefined || component === this.open) this.stream.write(`${line}\n`);
      else if (this.open === undefined) this.openSection(component, [line], new Date(e.time));
      else this.waiting.set(component, [...(this.waiting.get(component) ?? []), line]);
    }
    if (e.type === 'step.finished') this.running.set(e.component, Math.max(0, (this.running.get(e.component) ?? 1) - 1));
    this.rotate(new Date(e.time));
  }

  close(): void {
    if (this.closed) return;
    this.flushAll(new Date());
    this.closed = true;
  }

  /** While the open component is idle and another has lines waiting, hand the log to the next. */
  private rotate(time: Date): void {
    while (this.open !== undefined && (this.running.get(this.open) ?? 0) === 0 && this.waiting.size > 0) {
      const [next, lines] = this.waiting.entries().next().value as [string, string[]];
      this.waiting.delete(next);
      this.closeSection(time);
      this.openSection(next, lines, time);
    }
  }

  private openSection(component: string, lines: string[], time: Date): void {
    this.open = component;
    this.stream.write(`${this.groups.start(component, time)}\n`);
    for (const l of lines) this.stream.write(`${l}\n`);
  }

  private closeSection(time: Date): void {
    if (this.open === undefined) return;
    const end = this.groups.end(this.open, time);
    if (end !== undefined) this.stream.write(`${end}\n`);
    this.open = undefined;
  }

  /** End of the run: the open section, then every waiting one. */
  private flushAll(time: Date): void {
    this.closeSection(time);
    for (const [component, lines] of this.waiting) {
      this.openSection(component, lines, time);
      this.closeSection(time);
    }
    this.waiting.clear();
  }
}
