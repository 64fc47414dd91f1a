import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderMarkdownSummary, renderSummary, summarize, writeJobSummary } from '../../src/output/summary.js';
import { makeColors } from '../../src/render/index.js';
import { ESCAPE, LOG_PATH, rolloutEvents, successEvents } from './events.js';

const plain = makeColors(false);

describe('end-of-run summary', () => {
  it('renders the table, grouped by component, with status, duration and cache', () => {
    const text = renderSummary(rolloutEvents(), plain);
    expect(text).not.toMatch(ESCAPE);
    const lines = text.split('\n');
    const rows = lines.slice(0, lines.indexOf('')).map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['COMPONENT', 'STEP', 'STATUS', 'DURATION', 'CACHE'],
      ['nixpack/api', 'build', 'cached', '3ms', 'hit'],
      ['terraform/ecr/api', 'init', 'done', '1.2s', 'miss'],
      ['terraform/ecr/api', 'apply', 'done', '2.1s', 'miss'],
      ['terraform/vpc/main', 'init', 'done', '1.2s', 'miss'],
      ['terraform/vpc/main', 'apply', 'cached', '2ms', 'hit'],
      ['terraform/ecs/service-api', 'init', 'done', '1.1s', 'miss'],
      ['terraform/ecs/service-api', 'apply', 'FAILED', '3.4s', 'miss'],
      ['terraform/dns/api', '(all steps)', 'skipped', '-', '-'],
      ['terraform/monitoring/api', '(all steps)', 'skipped', '-', '-'],
    ]);
  });

  it('shows each failed step with its log tail (indented, escapes stripped) and full log path', () => {
    const text = renderSummary(rolloutEvents(), plain);
    expect(text).toContain('✗ FAILED terraform/ecs/service-api:apply — exit 1 (3.4s)\n');
    expect(text).toContain('    last 7 lines of the log:\n');
    expect(text).toContain('    │ │ Error: creating ECS Service (api): InvalidParameterException: The target group does not have an associated load balancer.\n');
    expect(text).toContain('    │ │   on main.tf line 12, in resource "aws_ecs_service" "this":\n');
    expect(text).toContain(`    full log: ${LOG_PATH}\n`);
    expect(text.trimEnd().split('\n').at(-1)).toBe('rollout payment-service → dev: 9 steps, 4 done, 2 cached, 1 failed, 2 skipped in 6.0s');
  });

  it('ends with the totals line of a successful run', () => {
    const text = renderSummary(successEvents(), plain);
    expect(text).not.toContain('FAILED');
    expect(text.trimEnd().split('\n').at(-1)).toBe('rollout payment-service → dev: 7 steps, 5 done, 2 cached, 0 failed, 0 skipped in 6.0s');
    expect(renderSummary(successEvents(), makeColors(true))).toMatch(ESCAPE);
  });

  it('reports steps that started and never finished (an interrupted run)', () => {
    const events = rolloutEvents().filter((e) => !(e.type === 'step.finished' && e.id === 'rollout:terraform/ecr/api:apply') && e.type !== 'run.finished');
    const s = summarize(events);
    expect(s.unfinished).toBe(1);
    expect(s.status).toBe('failed');
    expect(s.durationMs).toBe(5930);
    const text = renderSummary(events, plain);
    expect(text).toContain('1 step(s) started and never finished: terraform/ecr/api:apply');
    expect(text).toMatch(/terraform\/ecr\/api\s+apply\s+unfinished\s+-\s+miss/);
  });
});

describe('Markdown job summary', () => {
  it('has a title, totals, a table and each failure in <details> with its tail', () => {
    const md = renderMarkdownSummary(rolloutEvents());
    expect(md).not.toMatch(ESCAPE);
    expect(md).toContain('### ❌ atmos-pipe rollout payment-service → dev failed\n');
    expect(md).toContain('**9 steps**: 4 done, 2 cached, 1 failed, 2 skipped in 6.0s · engine `local` · run `run-1`');
    expect(md).toContain('| Component | Step | Status | Duration | Cache |\n| --- | --- | --- | --- | --- |\n');
    expect(md).toContain('| `nixpack/api` | build | ♻️ cached | 3ms | hit |');
    expect(md).toContain('| `terraform/ecs/service-api` | apply | ❌ **failed** (exit 1) | 3.4s | miss |');
    expect(md).toContain('| `terraform/dns/api` | (all steps) | ⏭️ skipped (needs terraform/ecs/service-api, which failed) | - | - |');
    expect(md).toContain('<details open>\n<summary>❌ <code>terraform/ecs/service-api:apply</code> failed: exit 1</summary>');
    expect(md).toContain('```text\naws_ecs_service.this: Creating...\n╷\n│ Error: creating ECS Service (api)');
    expect(md).toContain(`Full log: \`${LOG_PATH}\``);
    expect(md).toContain('- bubblewrap (bwrap) not found: steps run unsandboxed');
    // One table row per step.
    expect(md.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(9);
  });

  it('escapes pipes in cells and fences that appear in the log', () => {
    const events = rolloutEvents().map((e) =>
      e.type === 'step.finished' && e.status === 'failed'
        ? { ...e, reason: 'exit 1', logTail: ['```', 'a | b'] }
        : e.type === 'step.finished' && e.status === 'skipped'
          ? { ...e, reason: 'x | y' }
          : e,
    );
    const md = renderMarkdownSummary(events);
    expect(md).toContain('⏭️ skipped (x \\| y)');
    expect(md).toContain('````text\n```\na | b\n````');
  });

  it('says success when everything succeeded', () => {
    const md = renderMarkdownSummary(successEvents());
    expect(md).toContain('### ✅ atmos-pipe rollout payment-service → dev succeeded');
    expect(md).not.toContain('<details open>');
  });
});

describe('writeJobSummary', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-summary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appends the Markdown summary to $GITHUB_STEP_SUMMARY on GitHub Actions', () => {
    const file = path.join(dir, 'step_summary.md');
    writeFileSync(file, '# Earlier step\n\n');
    const r = writeJobSummary(rolloutEvents(), { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file });
    expect(r).toEqual({ written: true, path: file });
    const content = readFileSync(file, 'utf8');
    expect(content.startsWith('# Earlier step\n\n### ❌ atmos-pipe rollout payment-service → dev failed')).toBe(true);
    writeJobSummary(successEvents(), { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file });
    const again = readFileSync(file, 'utf8');
    expect(again.startsWith(content)).toBe(true);
    expect(again).toContain('### ✅ atmos-pipe rollout payment-service → dev succeeded');
  });

  it('does nothing outside GitHub Actions and never throws', () => {
    const file = path.join(dir, 'untouched.md');
    expect(writeJobSummary(rolloutEvents(), { GITHUB_STEP_SUMMARY: file })).toEqual({ written: false });
    expect(writeJobSummary(rolloutEvents(), { GITHUB_ACTIONS: 'true' })).toEqual({ written: false });
    const bad = writeJobSummary(rolloutEvents(), { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: path.join(dir, 'missing', 'dir', 'x.md') });
    expect(bad.written).toBe(false);
    expect(bad.error).toMatch(/could not write the job summary/);
  });
});
