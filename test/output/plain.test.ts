import { describe, expect, it } from 'vitest';
import { PlainView } from '../../src/output/plain.js';
import { makeColors } from '../../src/render/index.js';
import { Capture, ESCAPE, LOG_PATH, rolloutEvents } from './events.js';

function run(opts: ConstructorParameters<typeof PlainView>[1] = {}) {
  const out = new Capture(false);
  const view = new PlainView(out, { utc: true, ...opts });
  for (const e of rolloutEvents()) view.onEvent(e);
  view.close();
  return out;
}

describe('plain view', () => {
  it('writes exactly one line per event, no escape sequences, no output lines by default', () => {
    const out = run();
    const events = rolloutEvents().filter((e) => e.type !== 'step.output');
    expect(out.chunks).toHaveLength(events.length);
    for (const chunk of out.chunks) {
      expect(chunk.endsWith('\n')).toBe(true);
      expect(chunk.slice(0, -1)).not.toContain('\n');
      expect(chunk).not.toMatch(ESCAPE);
      expect(chunk).not.toContain('\r');
      expect(chunk).toMatch(/^\[\d\d:\d\d:\d\d\] /);
    }
    expect(out.text).not.toContain('Initializing');
  });

  it('names every step and says what happened to it', () => {
    const lines = run().text.trimEnd().split('\n');
    expect(lines[0]).toBe('[12:00:00] run     rollout payment-service → dev: 9 components, engine local, parallelism 4, run run-1');
    expect(lines[1]).toBe('[12:00:00] note: bubblewrap (bwrap) not found: steps run unsandboxed');
    expect(lines).toContain('[12:00:00] cached  nixpack/api:build');
    expect(lines).toContain('[12:00:00] start   terraform/ecr/api:init');
    expect(lines).toContain('[12:00:01] done    terraform/ecr/api:init (1.2s)');
    expect(lines).toContain(`[12:00:05] FAILED  terraform/ecs/service-api:apply exit 1 after 3.4s (log: ${LOG_PATH})`);
    expect(lines).toContain('[12:00:05] skipped terraform/dns/api:* (needs terraform/ecs/service-api, which failed)');
    expect(lines.at(-1)).toBe('[12:00:06] run     FAILED in 6.0s: 4 done, 2 cached, 1 failed, 2 skipped');
  });

  it('with verbose, prints output lines prefixed by their step id, escapes stripped', () => {
    const out = run({ verbose: true });
    expect(out.chunks).toHaveLength(rolloutEvents().length);
    expect(out.text).not.toMatch(ESCAPE);
    const lines = out.text.split('\n');
    expect(lines).toContain('[12:00:00] output  terraform/vpc/main:init | Initializing the backend...');
    expect(lines).toContain('[12:00:00] output  terraform/ecr/api:init | Initializing provider plugins...');
    expect(lines).toContain('[12:00:00] output  terraform/vpc/main:init | Terraform has been successfully initialized!');
  });

  it('keeps one line per event even for multi-line or control-character text', () => {
    const out = new Capture(false);
    const view = new PlainView(out, { utc: true, verbose: true });
    view.onEvent({ type: 'notice', time: '2024-05-01T12:00:00Z', message: 'first\nsecond\r\nthird' });
    view.onEvent({ type: 'step.output', time: '2024-05-01T12:00:00Z', id: 'a:b', line: 'progress 10%\rprogress 90%\u0007\u001b]0;title\u0007' });
    expect(out.chunks).toEqual(['[12:00:00] note: first ⏎ second ⏎ third\n', '[12:00:00] output  a:b | progress 90%\n']);
  });

  it('colours only when asked', () => {
    expect(run({ colors: makeColors(true) }).text).toMatch(ESCAPE);
    expect(run({ colors: makeColors(false) }).text).not.toMatch(ESCAPE);
  });
});
