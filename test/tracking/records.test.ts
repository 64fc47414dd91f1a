import { describe, expect, it } from 'vitest';
import {
  deploymentRef,
  formatDeploymentRecord,
  historyTagName,
  notesRef,
  parseDeploymentRecord,
  parseHistoryTag,
  releaseTagName,
  tagTimestamp,
  type DeploymentRecord,
} from '../../src/tracking/records.js';
import { isValidRefName } from '../../src/tracking/refname.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

const sample: DeploymentRecord = {
  deployment: 'payment-service',
  target: 'prod',
  component: 'ecs/api',
  release: 'r-1a2b3c4d',
  git_sha: SHA,
  images: { worker: 'registry.example.com/worker@sha256:bb', api: 'registry.example.com/api@sha256:aa' },
  deployed_by: 'ci@example.com',
  timestamp: '2026-11-22T06:15:00.123Z',
  status: 'success',
  promoted_from: 'staging',
  approved_by: ['alice@example.com', 'bob@example.com'],
  rollback_of: null,
  annotations: { pr: '#482', note: 'multi\nline' },
};

describe('deployment record format', () => {
  it('formats the exact SPEC 6 message', () => {
    expect(formatDeploymentRecord(sample)).toBe(
      [
        'atmos.tools/v1alpha1',
        'kind: Deployment',
        '---',
        'deployment: payment-service',
        'target: prod',
        'component: ecs/api',
        'release: r-1a2b3c4d',
        `git_sha: ${SHA}`,
        'images:',
        '  api: registry.example.com/api@sha256:aa',
        '  worker: registry.example.com/worker@sha256:bb',
        'deployed_by: ci@example.com',
        'timestamp: 2026-11-22T06:15:00.123Z',
        'status: success',
        'promoted_from: staging',
        'approved_by:',
        '  - alice@example.com',
        '  - bob@example.com',
        'rollback_of: null',
        'annotations:',
        '  note: |-',
        '    multi',
        '    line',
        '  pr: "#482"',
        '',
      ].join('\n'),
    );
  });

  it('formats empty collections and nulls', () => {
    const r: DeploymentRecord = { ...sample, release: null, images: {}, promoted_from: null, approved_by: [], annotations: {}, status: 'failed' };
    const text = formatDeploymentRecord(r);
    expect(text).toContain('\nrelease: null\n');
    expect(text).toContain('\nimages: {}\n');
    expect(text).toContain('\napproved_by: []\n');
    expect(text).toContain('\nannotations: {}\n');
    expect(parseDeploymentRecord(text)).toEqual(r);
  });

  it('parse(format(x)) == x, including tricky strings', () => {
    expect(parseDeploymentRecord(formatDeploymentRecord(sample))).toEqual(sample);
    const tricky: DeploymentRecord = {
      ...sample,
      git_sha: '1234567890123456789012345678901234567890',
      status: 'rollback',
      rollback_of: 'atmos/deployments/payment-service/prod/ecs/api/20261121T000000.000Z',
      annotations: { yes: 'no', n: 'null', num: '0x10', colon: 'a: b', '---': '---' },
    };
    expect(parseDeploymentRecord(formatDeploymentRecord(tricky))).toEqual(tricky);
  });

  it('rejects wrong headers and invalid fields', () => {
    expect(() => parseDeploymentRecord('kind: Deployment\n---\n')).toThrow(/header/);
    const bad = formatDeploymentRecord(sample).replace('status: success', 'status: done');
    expect(() => parseDeploymentRecord(bad)).toThrow(/status/);
  });
});

describe('tracking names', () => {
  it('builds valid refs and tags', () => {
    expect(tagTimestamp('2026-11-22T06:15:00.123Z')).toBe('20261122T061500.123Z');
    expect(deploymentRef('payment-service', 'dev', 'ecs/api')).toBe('refs/atmos/deployments/payment-service/dev/ecs/api');
    const tag = historyTagName('payment-service', 'dev', 'ecs/api', new Date('2026-11-22T06:15:00.123Z'));
    expect(tag).toBe('atmos/deployments/payment-service/dev/ecs/api/20261122T061500.123Z');
    expect(isValidRefName(`refs/tags/${tag}`)).toBe(true);
    expect(parseHistoryTag(`refs/tags/${tag}`)).toEqual({
      deployment: 'payment-service',
      target: 'dev',
      component: 'ecs/api',
      timestamp: '2026-11-22T06:15:00.123Z',
    });
    expect(releaseTagName('payment-service', 'r-1a2b3c4d')).toBe('atmos/releases/payment-service/r-1a2b3c4d');
    expect(notesRef('payment-service', 'test-results')).toBe('refs/notes/atmos/payment-service/test-results');
  });

  it('refuses names git would refuse', () => {
    expect(() => deploymentRef('a/b', 'dev', 'x')).toThrow();
    expect(() => deploymentRef('d', 'dev', 'bad..name')).toThrow();
    expect(() => deploymentRef('d', 'dev', 'x.lock')).toThrow();
    expect(() => deploymentRef('d', 'dev', 'has space')).toThrow();
    expect(isValidRefName('refs/a/b:c')).toBe(false);
  });
});
