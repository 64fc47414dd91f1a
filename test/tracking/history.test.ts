import { describe, expect, it } from 'vitest';
import {
  currentOfComponent,
  currentReleases,
  formatDeploymentRecord,
  historyFromRefs,
  LazyHistory,
  historyTagName,
  type DeploymentRecord,
  type DeploymentStatus,
  type RefInfo,
} from '../../src/tracking/index.js';

const rec = (over: Partial<DeploymentRecord>): DeploymentRecord => ({
  deployment: 'shop',
  target: 'dev',
  component: 'app',
  release: null,
  git_sha: 'e'.repeat(40),
  images: {},
  deployed_by: 'alice',
  timestamp: '2026-11-22T06:15:00.123Z',
  status: 'success',
  promoted_from: null,
  approved_by: [],
  rollback_of: null,
  annotations: {},
  ...over,
});
const tagRef = (r: DeploymentRecord, name = historyTagName(r.deployment, r.target, r.component, r.timestamp)): RefInfo => ({
  ref: `refs/tags/${name}`,
  sha: 'f'.repeat(40),
  type: 'tag',
  target: r.git_sha,
  targetType: 'commit',
  message: formatDeploymentRecord(r),
});

describe('LazyHistory', () => {
  it('finds what the fully parsed history finds, parsing only what decides it', () => {
    const refs: RefInfo[] = [];
    const statuses: DeploymentStatus[] = ['success', 'failed', 'success', 'rollback', 'failed', 'failed', 'success'];
    for (let i = 0; i < 300; i++) {
      const target = ['dev', 'staging', 'prod'][i % 3];
      const component = ['app', 'db', 'ecs/api'][Math.floor(i / 3) % 3];
      refs.push(
        tagRef(
          rec({
            target,
            component,
            release: `r-${i}`,
            git_sha: (i % 16).toString(16).repeat(40),
            timestamp: new Date(Date.UTC(2026, 0, 1) + i * 61_000 + (i % 7) * 3).toISOString(),
            status: statuses[i % statuses.length],
          }),
        ),
      );
    }
    // Shuffle: the order of for-each-ref (by name) is not chronological across targets.
    refs.sort((a, b) => (a.ref < b.ref ? -1 : 1));
    const full = historyFromRefs(refs, 'shop');
    const lazy = new LazyHistory(refs, 'shop');
    const want = currentReleases(full);
    const got = lazy.currentByTarget(['dev', 'staging', 'prod', 'qa']);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [t, e] of got) expect(e).toEqual(want.get(t)!.entry);
    for (const t of ['dev', 'staging', 'prod']) {
      for (const c of ['app', 'db', 'ecs/api']) {
        expect(lazy.current((x) => x.target === t && x.component === c)).toEqual(currentOfComponent(full, t, c));
      }
    }
    // Far fewer records parsed than there are tags.
    const parsed = (lazy as unknown as { parsed: Map<unknown, unknown> }).parsed.size;
    expect(parsed).toBeLessThan(60);
  });

  it('skips and reports tags that are not records, or not the record their name says', () => {
    const good = rec({ timestamp: '2026-11-01T00:00:00.000Z', release: 'r-good' });
    const refs: RefInfo[] = [
      tagRef(good),
      // Newer, but its record is for prod.
      tagRef(rec({ target: 'prod', timestamp: '2026-11-02T00:00:00.000Z', release: 'r-prod' }), historyTagName('shop', 'dev', 'app', '2026-11-02T00:00:00.000Z')),
      { ...tagRef(good, historyTagName('shop', 'dev', 'app', '2026-11-03T00:00:00.000Z')), message: 'garbage\n' },
      { ref: `refs/tags/${historyTagName('shop', 'dev', 'app', '2026-11-04T00:00:00.000Z')}`, sha: '1'.repeat(40), type: 'commit', target: '1'.repeat(40), targetType: 'commit' },
    ];
    const invalid: { tag: string; error: string }[] = [];
    const lazy = new LazyHistory(refs, 'shop', invalid);
    expect(lazy.current((t) => t.target === 'dev')?.release).toBe('r-good');
    expect(invalid.map((i) => i.error)).toEqual(['not an annotated tag', expect.stringMatching(/not a deployment record/), expect.stringMatching(/record is for shop\/prod\/app/)]);
    expect(lazy.current((t) => t.target === 'prod')).toBeUndefined();
    expect(invalid).toHaveLength(3); // each tag is parsed (and reported) once
  });
});
