/**
 * The plain view in CI log sections (src/output/grouped.ts) over a realistic rollout with
 * parallel components and their output lines: every line once, in its own component's
 * section, sections never nested, and each CI's markers.
 */
import { describe, expect, it } from 'vitest';
import { logGroups } from '../../src/ci/log.js';
import { GroupedView } from '../../src/output/grouped.js';
import { PlainView } from '../../src/output/plain.js';
import { Capture, rolloutEvents } from './events.js';

function run(ci: 'github' | 'gitlab' | 'buildkite' | 'azure') {
  const out = new Capture(false);
  const view = new GroupedView(out, logGroups(ci)!, { utc: true, verbose: true });
  for (const e of rolloutEvents()) view.onEvent(e);
  view.close();
  return out.text.trimEnd().split('\n');
}

describe('log sections per component', () => {
  it('GitHub: every plain line exactly once, inside the section of its component, never nested', () => {
    const lines = run('github');
    const plain = new PlainView(new Capture(false), { utc: true, verbose: true });
    const expected = rolloutEvents()
      .map((e) => plain.format(e))
      .filter((l): l is string => l !== undefined);
    expect(lines.filter((l) => !l.startsWith('::')).sort()).toEqual([...expected].sort());
    let open: string | undefined;
    const sections: string[] = [];
    for (const l of lines) {
      if (l.startsWith('::group::')) {
        expect(open).toBeUndefined();
        open = l.slice('::group::'.length);
        sections.push(open);
      } else if (l === '::endgroup::') {
        expect(open).toBeDefined();
        open = undefined;
      } else {
        const m = /\] (?:start|done|cached|FAILED|skipped|output) +(\S+?):/.exec(l);
        if (m) expect(m[1]).toBe(open);
      }
    }
    expect(open).toBeUndefined();
    // The run's first and last lines stay outside every section.
    expect(lines[0]).toMatch(/run +rollout payment-service/);
    expect(lines.at(-1)).toMatch(/run +FAILED/);
    expect(new Set(sections)).toEqual(new Set(['nixpack/api', 'terraform/ecr/api', 'terraform/vpc/main', 'terraform/ecs/service-api', 'terraform/dns/api', 'terraform/monitoring/api']));
  });

  it('GitLab: collapsed sections named for GitLab, closed with the same name', () => {
    const lines = run('gitlab');
    const starts = lines.filter((l) => l.includes('section_start:'));
    const ends = lines.filter((l) => l.includes('section_end:'));
    expect(starts.length).toBe(ends.length);
    expect(starts[0]).toMatch(/^\u001b\[0Ksection_start:1714564800:nixpack_api\[collapsed=true\]\r\u001b\[0Knixpack\/api$/);
    const name = (l: string) => /section_(?:start|end):\d+:([A-Za-z0-9_.-]+)/.exec(l)![1];
    expect(ends.map(name)).toEqual(starts.map(name));
  });

  it('Buildkite opens a group per section and closes none; Azure uses ##[group]', () => {
    const bk = run('buildkite');
    expect(bk.filter((l) => l.startsWith('--- '))).toContain('--- terraform/ecr/api');
    expect(bk.some((l) => l.startsWith('+++') || l.includes('endgroup'))).toBe(false);
    const az = run('azure');
    expect(az.filter((l) => l.startsWith('##[group]')).length).toBe(az.filter((l) => l === '##[endgroup]').length);
  });

  it('CIs without sections get no markers', () => {
    for (const ci of ['circleci', 'jenkins', 'bitbucket', 'generic', undefined] as const) expect(logGroups(ci)).toBeUndefined();
  });
});
