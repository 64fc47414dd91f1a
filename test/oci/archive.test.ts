/**
 * readOciArchive on OCI layout tarballs written by third-party tools: skopeo's `oci-archive:`
 * transport (the same format Dagger's Container.export writes) and GNU tar over a layout.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MEDIA_TYPE_INDEX,
  MEDIA_TYPE_MANIFEST,
  assembleImage,
  blobPath,
  createdFromEpoch,
  layerFromEntries,
  readFromLayout,
  readOciArchive,
  sha256Digest,
  writeToLayout,
  type BuiltOciImage,
} from '../../src/oci/index.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'atmos-pipe-ociarchive-'));
  temps.push(d);
  return d;
}

const skopeo = (...args: string[]) => execFileSync('skopeo', ['--insecure-policy', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

async function twoLayerImage(): Promise<BuiltOciImage> {
  const base = await layerFromEntries(
    [
      { path: 'etc/os-release', type: 'file', mode: 0o644, content: Buffer.from('ID=test\n') },
      { path: 'bin/hello', type: 'file', mode: 0o755, content: Buffer.from('#!/bin/sh\necho hello\n') },
    ],
    { epoch: 1_700_000_000 },
  );
  const app = await layerFromEntries(
    [
      { path: 'app/server.js', type: 'file', mode: 0o644, content: Buffer.from('console.log("hi")\n') },
      { path: 'app/current', type: 'symlink', mode: 0o777, linkname: 'server.js' },
    ],
    { epoch: 1_700_000_000 },
  );
  return assembleImage({
    layers: [base, app],
    cmd: ['node', '/app/server.js'],
    env: { NODE_ENV: 'production' },
    workingDir: '/app',
    labels: { 'org.opencontainers.image.title': 'demo' },
    annotations: { 'org.opencontainers.image.revision': 'abc123' },
    created: createdFromEpoch(1_700_000_000),
  });
}

/** Our image, written to a layout by our code, then archived by skopeo. */
async function skopeoArchive(): Promise<{ image: BuiltOciImage; archive: string }> {
  const dir = tmp();
  const image = await twoLayerImage();
  writeToLayout(path.join(dir, 'layout'), image, 'demo:1.0');
  const archive = path.join(dir, 'demo.oci.tar');
  skopeo('copy', `oci:${path.join(dir, 'layout')}:demo:1.0`, `oci-archive:${archive}`);
  return { image, archive };
}

function tarOf(entries: { name: string; data?: Buffer; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
  for (const e of entries) {
    if (e.type === 'directory' || e.type === 'symlink') p.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else p.entry({ name: e.name, size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0));
  }
  p.finalize();
  return done;
}

describe('readOciArchive', () => {
  it('reads an archive skopeo made from a layout we wrote: same manifest digest, config and layers', async () => {
    const { image, archive } = await skopeoArchive();
    const listing = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' });
    expect(listing).toContain('oci-layout');
    expect(listing).toContain('index.json');

    const got = await readOciArchive(readFileSync(archive));
    expect(got.manifestDigest).toBe(image.manifestDigest);
    expect(got.manifest.equals(image.manifest)).toBe(true);
    expect(got.mediaType).toBe(MEDIA_TYPE_MANIFEST);
    expect(got.configDigest).toBe(image.configDigest);
    expect(got.config.equals(image.config)).toBe(true);
    expect(got.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType])).toEqual(image.layers.map((l) => [l.digest, l.diffId, l.size, l.mediaType]));
    got.layers.forEach((l, i) => {
      expect(l.blob.equals(image.layers[i].blob)).toBe(true);
      expect(l.tar.length).toBe(0);
    });

    // What we read can be stored again, and a third-party client reads that store.
    const again = path.join(tmp(), 'layout');
    writeToLayout(again, got, 'demo:again');
    expect(readFromLayout(again, 'demo:again')?.manifestDigest).toBe(image.manifestDigest);
    const inspect = JSON.parse(skopeo('inspect', `oci:${again}:demo:again`)) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(image.manifestDigest);
    expect(inspect.Layers).toEqual(image.layers.map((l) => l.digest));
  });

  it('follows a nested image index to its linux/amd64 manifest (archive made with GNU tar)', async () => {
    const dir = tmp();
    const layout = path.join(dir, 'layout');
    const amd = await twoLayerImage();
    const arm = assembleImage({ layers: [amd.layers[0]], architecture: 'arm64', created: createdFromEpoch(0) });
    writeToLayout(layout, amd);
    writeToLayout(layout, arm);
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE_INDEX,
        manifests: [
          { mediaType: MEDIA_TYPE_MANIFEST, digest: arm.manifestDigest, size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: MEDIA_TYPE_MANIFEST, digest: amd.manifestDigest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const nestedDigest = sha256Digest(nested);
    writeFileSync(blobPath(layout, nestedDigest), nested);
    writeFileSync(
      path.join(layout, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [{ mediaType: MEDIA_TYPE_INDEX, digest: nestedDigest, size: nested.length }] }),
    );
    const archive = path.join(dir, 'multi.tar');
    execFileSync('tar', ['-cf', archive, '-C', layout, 'oci-layout', 'index.json', 'blobs']);
    const got = await readOciArchive(readFileSync(archive));
    expect(got.manifestDigest).toBe(amd.manifestDigest);
    expect(got.layers).toHaveLength(2);
  });

  it('rejects a tampered blob', async () => {
    const { image, archive } = await skopeoArchive();
    const buf = readFileSync(archive);
    // The config blob is stored verbatim in the tar: change one byte of it.
    const at = buf.indexOf(image.config);
    expect(at).toBeGreaterThan(0);
    const needle = buf.indexOf(Buffer.from('production'), at);
    expect(needle).toBeGreaterThan(at);
    buf[needle] = 'P'.charCodeAt(0);
    await expect(readOciArchive(buf)).rejects.toThrow(`OCI archive: blob ${image.configDigest} is corrupt (its content does not match its digest)`);

    // A layer blob swapped for another blob's bytes is caught the same way.
    const dir = tmp();
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    cpSync(blobPath(dir, image.layers[0].digest), blobPath(dir, image.layers[1].digest));
    const swapped = path.join(dir, 'swapped.tar');
    execFileSync('tar', ['-cf', swapped, '-C', dir, 'oci-layout', 'index.json', 'blobs']);
    await expect(readOciArchive(readFileSync(swapped))).rejects.toThrow(/blob sha256:[0-9a-f]{64} is corrupt/);
  });

  it('rejects path traversal, absolute names and links', async () => {
    const { archive } = await skopeoArchive();
    const dir = tmp();
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const good = ['oci-layout', 'index.json'].map((n) => ({ name: n, data: readFileSync(path.join(dir, n)) }));

    const traversal = await tarOf([...good, { name: '../escape', data: Buffer.from('x') }]);
    await expect(readOciArchive(traversal)).rejects.toThrow('OCI archive: entry "../escape" has a ".." segment (path traversal)');
    const deep = await tarOf([...good, { name: 'blobs/sha256/../../../etc/passwd', data: Buffer.from('x') }]);
    await expect(readOciArchive(deep)).rejects.toThrow(/path traversal/);
    const absolute = await tarOf([...good, { name: '/etc/passwd', data: Buffer.from('x') }]);
    await expect(readOciArchive(absolute)).rejects.toThrow('OCI archive: entry "/etc/passwd" is an absolute path');
    const link = await tarOf([...good, { name: 'blobs/sha256/x', type: 'symlink', linkname: '/etc/passwd' }]);
    await expect(readOciArchive(link)).rejects.toThrow(/is a symlink entry/);
  });

  it('says what is wrong with archives that are not OCI image layouts', async () => {
    await expect(readOciArchive(await tarOf([{ name: 'index.json', data: Buffer.from('{}') }]))).rejects.toThrow('no oci-layout file');
    const layout = { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') };
    await expect(readOciArchive(await tarOf([layout, { name: 'index.json', data: Buffer.from('{"schemaVersion":2,"manifests":[]}') }]))).rejects.toThrow('lists no manifest');
    const missing = { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPE_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 10 }] };
    await expect(readOciArchive(await tarOf([layout, { name: 'index.json', data: Buffer.from(JSON.stringify(missing)) }]))).rejects.toThrow(`the manifest blob sha256:${'a'.repeat(64)} is missing`);
    const docker = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: `sha256:${'b'.repeat(64)}`, size: 10 }] };
    await expect(readOciArchive(await tarOf([layout, { name: 'index.json', data: Buffer.from(JSON.stringify(docker)) }]))).rejects.toThrow(/Docker media types/);
  });
});
