import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleImage, createdFromEpoch, type BuiltOciImage } from '../../src/oci/image.js';
import { layerFromEntries } from '../../src/oci/layer.js';
import { readFromLayout, readIndex, resolveLayoutRef, writeToLayout } from '../../src/oci/layout.js';

const EPOCH = 1700000000;
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `atmos-pipe-oci-${prefix}-`));
  made.push(d);
  return d;
}

function skopeo(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', timeout: 60_000 });
}

async function image(text: string, extraLayer = true): Promise<BuiltOciImage> {
  const base = await layerFromEntries([{ path: 'app/shared.txt', type: 'file', mode: 0o644, content: Buffer.from('shared\n') }], { epoch: EPOCH });
  const own = await layerFromEntries([{ path: 'app/own.txt', type: 'file', mode: 0o644, content: Buffer.from(text) }], { epoch: EPOCH });
  return assembleImage({
    layers: extraLayer ? [base, own] : [base],
    created: createdFromEpoch(EPOCH),
    entrypoint: ['/bin/sh', '-c'],
    cmd: ['cat /app/own.txt'],
    env: { GREETING: text.trim() },
    labels: { 'atmos.tools/test': 'layout' },
    annotations: { 'org.opencontainers.image.revision': 'deadbeef' },
  });
}

const blobCount = (dir: string) => readdirSync(path.join(dir, 'blobs', 'sha256')).length;

describe('OCI layout', () => {
  it('writes oci-layout, index.json and deduplicated blobs; reads them back', async () => {
    const dir = path.join(tmp('layout'), 'store');
    const img = await image('one\n');
    writeToLayout(dir, img, 'web-1');
    expect(JSON.parse(readFileSync(path.join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(blobCount(dir)).toBe(4); // 2 layers + config + manifest
    const idx = readIndex(dir);
    expect(idx.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(idx.manifests).toEqual([
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: img.manifestDigest,
        size: img.manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': 'web-1' },
      },
    ]);
    // Idempotent.
    writeToLayout(dir, img, 'web-1');
    expect(readIndex(dir).manifests).toHaveLength(1);
    expect(blobCount(dir)).toBe(4);

    // A second image sharing the base layer adds only its own blobs.
    const img2 = await image('two\n');
    writeToLayout(dir, img2, 'web-2');
    expect(blobCount(dir)).toBe(7);
    expect(resolveLayoutRef(dir, 'web-2')).toBe(img2.manifestDigest);

    // No temp or lock files left behind.
    expect(readdirSync(dir).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);

    const back = readFromLayout(dir, img.manifestDigest)!;
    expect(back.manifest.equals(img.manifest)).toBe(true);
    expect(back.config.equals(img.config)).toBe(true);
    expect(back.configDigest).toBe(img.configDigest);
    expect(back.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType])).toEqual(img.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType]));
    expect(back.layers.every((l, i) => l.blob.equals(img.layers[i].blob))).toBe(true);
    expect(readFromLayout(dir, 'web-2')!.manifestDigest).toBe(img2.manifestDigest);
    expect(readFromLayout(dir, `sha256:${'0'.repeat(64)}`)).toBeUndefined();
    expect(readFromLayout(dir, 'nope')).toBeUndefined();
  });

  it('moves a ref name to the newest image and keeps unnamed entries unique', async () => {
    const dir = tmp('refs');
    const a = await image('a\n');
    const b = await image('b\n');
    writeToLayout(dir, a, 'latest');
    writeToLayout(dir, b, 'latest');
    expect(readIndex(dir).manifests.map((m) => m.digest)).toEqual([b.manifestDigest]);
    writeToLayout(dir, a);
    writeToLayout(dir, a);
    expect(readIndex(dir).manifests.map((m) => [m.digest, m.annotations])).toEqual([
      [b.manifestDigest, { 'org.opencontainers.image.ref.name': 'latest' }],
      [a.manifestDigest, undefined],
    ]);
    // The old image's blobs are still there: it is readable by digest.
    expect(readFromLayout(dir, a.manifestDigest)?.manifestDigest).toBe(a.manifestDigest);
    expect(() => writeToLayout(dir, a, 'bad ref')).toThrow(/reference name/);
  });

  it('detects corrupt blobs', async () => {
    const dir = tmp('corrupt');
    const img = await image('c\n');
    writeToLayout(dir, img, 'c');
    const hex = img.layers[1].digest.slice('sha256:'.length);
    writeFileSync(path.join(dir, 'blobs', 'sha256', hex), 'garbage');
    expect(() => readFromLayout(dir, 'c')).toThrow(/corrupt/);
  });

  it('is read by skopeo (a third-party client)', async () => {
    const dir = tmp('skopeo');
    const img = await image('skopeo\n');
    writeToLayout(dir, img, 'app-1.0');

    const raw = skopeo(['inspect', '--raw', `oci:${dir}:app-1.0`]);
    expect(raw.status, raw.stderr).toBe(0);
    expect(raw.stdout).toBe(img.manifest.toString());

    const info = skopeo(['inspect', `oci:${dir}:app-1.0`]);
    expect(info.status, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout);
    expect(parsed.Digest).toBe(img.manifestDigest);
    expect(parsed.Env).toEqual(['GREETING=skopeo']);
    expect(parsed.Labels).toEqual({ 'atmos.tools/test': 'layout' });
    expect(parsed.Layers).toEqual(img.layers.map((l) => l.digest));
    expect(parsed.Architecture).toBe('amd64');
    expect(parsed.Os).toBe('linux');

    // skopeo copy to a dir: and to a new OCI layout written by skopeo, which we read back.
    const out = tmp('skopeo-out');
    const copy = skopeo(['copy', `oci:${dir}:app-1.0`, `dir:${path.join(out, 'dir')}`]);
    expect(copy.status, copy.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'dir', 'manifest.json')).equals(img.manifest)).toBe(true);
    for (const l of img.layers) {
      expect(readFileSync(path.join(out, 'dir', l.digest.slice(7))).equals(l.blob)).toBe(true);
    }
    const copy2 = skopeo(['copy', `oci:${dir}:app-1.0`, `oci:${path.join(out, 'oci')}:copied`]);
    expect(copy2.status, copy2.stderr).toBe(0);
    expect(existsSync(path.join(out, 'oci', 'index.json'))).toBe(true);
    const back = readFromLayout(path.join(out, 'oci'), 'copied');
    expect(back?.manifestDigest).toBe(img.manifestDigest);
    expect(back?.config.equals(img.config)).toBe(true);
  });
});
