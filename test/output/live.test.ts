import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/engine/types.js';
import { createView, EventRecorder, LiveView, NdjsonView, PlainView, teeViews, visibleWidth } from '../../src/output/index.js';
import { Capture, LOG_PATH, rolloutEvents } from './events.js';

/** A tiny terminal: enough of VT100 to replay what the live view wrote (text, \r, \n, cursor up, clear line). */
function screen(text: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const re = /\u001b\[(\d*)([A-Za-z])|\r|\n|[^\u001b\r\n]+/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const t = m[0];
    if (t === '\r') col = 0;
    else if (t === '\n') {
      row++;
      col = 0;
      if (rows.length <= row) rows.push('');
    } else if (m[2] === 'A') row = Math.max(0, row - Number(m[1] || 1));
    else if (m[2] === 'K') rows[row] = '';
    else if (m[2]) throw new Error(`unexpected escape ${JSON.stringify(t)}`);
    else {
      const chars = [...rows[row]];
      const add = [...t];
      chars.splice(col, add.length, ...add);
      rows[row] = chars.join('');
      col += add.length;
    }
  }
  expect(re.lastIndex === 0 || re.lastIndex === text.length).toBe(true);
  while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
  return rows;
}

/** Feed events at their own pace (the clock advances by the gap between event times). */
function feed(view: { onEvent(e: RunEvent): void }, events: RunEvent[]): void {
  let last = Date.parse(events[0].time);
  for (const e of events) {
    const t = Date.parse(e.time);
    vi.advanceTimersByTime(t - last);
    last = t;
    view.onEvent(e);
  }
}

describe('live TTY view', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2024-05-01T12:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('redraws a block with cursor control, scrolls finished steps above it, leaves the final state and no timer', () => {
    const out = new Capture(true, 100);
    const view = new LiveView(out);
    feed(view, rolloutEvents());
    view.close();
    expect(out.text).toContain('\u001b[1A\u001b[2K');
    expect(vi.getTimerCount()).toBe(0);
    const final = screen(out.text);
    expect(final).toEqual([
      'rollout payment-service → dev · 9 components · engine local · parallelism 4',
      '! bubblewrap (bwrap) not found: steps run unsandboxed',
      '◆ nixpack/api:build cached',
      '✓ terraform/ecr/api:init 1.2s',
      '✓ terraform/vpc/main:init 1.2s',
      '◆ terraform/vpc/main:apply cached',
      '✓ terraform/ecs/service-api:init 1.1s',
      '✓ terraform/ecr/api:apply 2.1s',
      '✗ terraform/ecs/service-api:apply failed (exit 1) 3.4s',
      '    │ aws_ecs_service.this: Creating...',
      '    │ ╷',
      '    │ │ Error: creating ECS Service (api): InvalidParameterException: The target group does not have an associated load balancer.',
      '    │ │',
      '    │ │   with aws_ecs_service.this,',
      '    │ │   on main.tf line 12, in resource "aws_ecs_service" "this":',
      '    │ ╵',
      `    └ full log: ${LOG_PATH}`,
      '- terraform/dns/api:* skipped (needs terraform/ecs/service-api, which failed)',
      '- terraform/monitoring/api:* skipped (needs terraform/dns/api, which was skipped)',
      '  4 done · 2 cached · 1 failed · 2 skipped · 6.0s',
    ]);
    // Closing twice, or events after close, write nothing more.
    const n = out.chunks.length;
    view.close();
    view.onEvent(rolloutEvents()[1]);
    expect(out.chunks.length).toBe(n);
  });

  it('shows running steps with a spinner, elapsed time and latest output, redrawn on a timer', () => {
    const out = new Capture(true, 100);
    const view = new LiveView(out);
    const events = rolloutEvents();
    const upTo = events.findIndex((e) => e.type === 'step.output' && e.line.startsWith('aws_ecr_repository'));
    feed(view, events.slice(0, upTo + 1));
    const before = out.chunks.length;
    vi.advanceTimersByTime(1000);
    expect(out.chunks.length).toBeGreaterThanOrEqual(before + 9);
    const now = screen(out.text);
    const block = now.slice(-3);
    expect(block[0]).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] terraform\/ecr\/api:apply 1\.0s {2}aws_ecr_repository\.this: Creating\.\.\.$/);
    expect(block[1]).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] terraform\/ecs\/service-api:init 1\.0s$/);
    expect(block[2]).toBe('  2 running · 2 done · 2 cached · 0 failed · 0 skipped · 2.4s');
    expect(now.filter((l) => l.includes('terraform/ecr/api:apply'))).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1);
    view.close();
    expect(vi.getTimerCount()).toBe(0);
    const after = out.chunks.length;
    vi.advanceTimersByTime(1000);
    expect(out.chunks.length).toBe(after);
    // Steps still running at close stay visible, marked as not finished.
    const final = screen(out.text);
    expect(final.at(-3)).toMatch(/^… terraform\/ecr\/api:apply 1\.0s/);
  });

  it('never draws block lines wider than the terminal', () => {
    const out = new Capture(true, 40);
    const view = new LiveView(out);
    view.onEvent({ type: 'step.started', time: '2024-05-01T12:00:00Z', id: 'rollout:terraform/ecs/a-very-long-component-name-indeed:apply', component: 'x', module: 'm', fingerprint: 'sha256:0' });
    view.onEvent({ type: 'step.output', time: '2024-05-01T12:00:00Z', id: 'rollout:terraform/ecs/a-very-long-component-name-indeed:apply', line: 'x'.repeat(300) });
    vi.advanceTimersByTime(150);
    const rows = screen(out.text);
    expect(rows.length).toBe(2);
    for (const r of rows) expect(visibleWidth(r)).toBeLessThanOrEqual(39);
    expect(rows[0].endsWith('…')).toBe(true);
    view.close();
  });

  it('in verbose mode prints output lines above the block, prefixed by the step id', () => {
    const out = new Capture(true, 100);
    const view = new LiveView(out, { verbose: true });
    feed(view, rolloutEvents());
    view.close();
    const rows = screen(out.text);
    expect(rows).toContain('  terraform/vpc/main:init │ Initializing the backend...');
    expect(rows).toContain('  terraform/ecr/api:init │ Initializing provider plugins...');
  });
});

describe('createView', () => {
  it('picks live on a TTY, plain otherwise, NDJSON when asked', () => {
    expect(createView({ stream: new Capture(true), format: 'auto' })).toBeInstanceOf(LiveView);
    expect(createView({ stream: new Capture(false), format: 'auto' })).toBeInstanceOf(PlainView);
    expect(createView({ stream: new Capture(true), format: 'auto', isTTY: false })).toBeInstanceOf(PlainView);
    expect(createView({ stream: new Capture(true), format: 'ndjson' })).toBeInstanceOf(NdjsonView);
    // process.stdout satisfies the stream type.
    expect(createView({ stream: process.stdout, format: 'auto', isTTY: false })).toBeInstanceOf(PlainView);
  });

  it('tees to a recorder that keeps the events for the summary, without output lines', () => {
    const rec = new EventRecorder();
    const out = new Capture(false);
    const view = teeViews(createView({ stream: out, format: 'ndjson' }), rec);
    for (const e of rolloutEvents()) view.onEvent(e);
    view.close();
    expect(rec.events).toEqual(rolloutEvents().filter((e) => e.type !== 'step.output'));
    expect(out.text.trimEnd().split('\n')).toHaveLength(rec.events.length);
  });
});
