import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Digest } from '../../src/oci/digest.js';
import { assembleImage, createdFromEpoch, type ImageSpec } from '../../src/oci/image.js';
import { layerFromEntries } from '../../src/oci/layer.js';

const EPOCH = 1700000000;

async function spec(overrides: Partial<ImageSpec> = {}): Promise<ImageSpec> {
  const layer = await layerFromEntries([{ path: 'app/index.js', type: 'file', mode: 0o644, content: Buffer.from('1\n') }], { epoch: EPOCH });
  return {
    layers: [layer],
    created: createdFromEpoch(EPOCH),
    entrypoint: ['node'],
    cmd: ['app/index.js'],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', NODE_ENV: 'production' },
    workingDir: '/app',
    user: '1000:1000',
    labels: { 'org.opencontainers.image.title': 'web', 'atmos.tools/component': 'web' },
    exposedPorts: ['8080', '53/udp'],
    annotations: { 'org.opencontainers.image.revision': 'abc123', 'org.opencontainers.image.source': 'https://example.com/repo' },
    ...overrides,
  };
}

describe('assembleImage', () => {
  it('writes an OCI config and manifest as canonical JSON', async () => {
    const s = await spec();
    const img = assembleImage(s);
    const config = JSON.parse(img.config.toString());
    expect(config).toEqual({
      architecture: 'amd64',
      os: 'linux',
      created: '2023-11-14T22:13:20Z',
      config: {
        Entrypoint: ['node'],
        Cmd: ['app/index.js'],
        Env: ['NODE_ENV=production', 'PATH=/usr/local/bin:/usr/bin:/bin'],
        WorkingDir: '/app',
        User: '1000:1000',
        Labels: { 'atmos.tools/component': 'web', 'org.opencontainers.image.title': 'web' },
        ExposedPorts: { '53/udp': {}, '8080/tcp': {} },
      },
      rootfs: { type: 'layers', diff_ids: [s.layers[0].diffId] },
      history: [{ created: '2023-11-14T22:13:20Z', created_by: 'atmos-pipe' }],
    });
    expect(img.config.toString()).toBe(canonicalJson(config));
    expect(img.configDigest).toBe(sha256Digest(img.config));
    const manifest = JSON.parse(img.manifest.toString());
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.configDigest, size: img.config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: s.layers[0].digest, size: s.layers[0].size }],
      annotations: s.annotations,
    });
    expect(img.manifest.toString()).toBe(canonicalJson(manifest));
    expect(img.manifestDigest).toBe(sha256Digest(img.manifest));
    expect(img.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(img.layers).toBe(s.layers);
  });

  it('gives the same digest for the same input in any key order, another for other input', async () => {
    const s = await spec();
    const a = assembleImage(s);
    const b = assembleImage({
      ...s,
      env: { NODE_ENV: 'production', PATH: '/usr/local/bin:/usr/bin:/bin' },
      labels: { 'atmos.tools/component': 'web', 'org.opencontainers.image.title': 'web' },
      annotations: { 'org.opencontainers.image.source': 'https://example.com/repo', 'org.opencontainers.image.revision': 'abc123' },
      exposedPorts: ['53/udp', '8080/tcp', '8080'],
    });
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(assembleImage({ ...s, architecture: 'arm64' }).manifestDigest).not.toBe(a.manifestDigest);
    expect(assembleImage({ ...s, annotations: undefined }).manifest.toString()).not.toContain('annotations');
  });

  it('omits empty fields and validates input', async () => {
    const s = await spec();
    const min = assembleImage({ layers: s.layers, created: s.created });
    expect(JSON.parse(min.config.toString()).config).toEqual({});
    expect(() => assembleImage({ ...s, created: 'yesterday' })).toThrow(/ISO/);
    expect(() => assembleImage({ ...s, exposedPorts: ['http'] })).toThrow(/port/);
    expect(() => assembleImage({ ...s, env: { 'A=B': 'x' } })).toThrow(/environment/);
    expect(createdFromEpoch(0)).toBe('1970-01-01T00:00:00Z');
  });
});
