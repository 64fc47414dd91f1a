import { describe, expect, it } from 'vitest';
import { NdjsonView } from '../../src/output/ndjson.js';
import { Capture, rolloutEvents } from './events.js';

describe('NDJSON events', () => {
  it('writes each event as one JSON line that parses back to the event', () => {
    const out = new Capture(false);
    const view = new NdjsonView(out);
    for (const e of rolloutEvents()) view.onEvent(e);
    view.close();
    const lines = out.text.trimEnd().split('\n');
    const expected = rolloutEvents().filter((e) => e.type !== 'step.output');
    expect(lines).toHaveLength(expected.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(expected);
    const failed = lines.map((l) => JSON.parse(l)).find((e) => e.status === 'failed');
    expect(failed).toMatchObject({ id: 'rollout:terraform/ecs/service-api:apply', durationMs: 3400, exitCode: 1 });
    expect(failed.fingerprint).toMatch(/^sha256:/);
  });

  it('includes step.output events with verbose, still one line each', () => {
    const out = new Capture(false);
    const view = new NdjsonView(out, { verbose: true });
    for (const e of rolloutEvents()) view.onEvent(e);
    view.onEvent({ type: 'step.output', time: '2024-05-01T12:00:00.000Z', id: 'x', line: 'a\nb' });
    const lines = out.text.trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([...rolloutEvents(), { type: 'step.output', time: '2024-05-01T12:00:00.000Z', id: 'x', line: 'a\nb' }]);
  });
});
