import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleImage, createdFromEpoch } from '../../src/oci/image.js';
import { gzipDeterministic, layerFromDirectory, layerFromEntries, type Layer } from '../../src/oci/layer.js';

const EPOCH = 1700000000; // 2023-11-14 22:13:20 UTC
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
function tmp(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `atmos-pipe-oci-${prefix}-`));
  made.push(d);
  return d;
}

const LONG = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}/file.txt`;
const FILES: [string, string, boolean][] = [
  ['index.js', 'console.log("hi");\n', false],
  ['bin/run.sh', '#!/bin/sh\necho run\n', true],
  ['lib/util/a.txt', 'a\n', false],
  ['lib/util/b.txt', 'b\n', false],
  ['Z-upper.txt', 'Z\n', false],
  ['a-b.txt', 'a-b\n', false],
  ['a/x.txt', 'x\n', false],
  [LONG, 'long\n', false],
  ['héllo.txt', 'unicode\n', false],
];
const SYMLINKS: [string, string][] = [
  ['current', 'lib/util'],
  ['bin/dangling', '../does-not-exist'],
];

/**
 * The same tree, written two ways: 'a' in order with 0644/0755 modes and current mtimes;
 * 'b' in reverse order with 0600/0700 modes (as under umask 077) and old mtimes.
 */
function makeTree(variant: 'a' | 'b'): string {
  const root = tmp(`tree-${variant}`);
  const files = variant === 'a' ? FILES : [...FILES].reverse();
  const dirs = new Set<string>();
  for (const [rel, content, exec] of files) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    chmodSync(abs, variant === 'a' ? (exec ? 0o755 : 0o644) : exec ? 0o700 : 0o600);
    for (let d = path.dirname(rel); d !== '.'; d = path.dirname(d)) dirs.add(d);
  }
  mkdirSync(path.join(root, 'empty-dir'));
  dirs.add('empty-dir');
  const links = variant === 'a' ? SYMLINKS : [...SYMLINKS].reverse();
  for (const [rel, target] of links) symlinkSync(target, path.join(root, rel));
  const when = variant === 'a' ? new Date() : new Date('2001-02-03T04:05:06Z');
  for (const [rel] of FILES) utimesSync(path.join(root, rel), when, when);
  for (const d of [...dirs].sort().reverse()) {
    utimesSync(path.join(root, d), when, when);
    chmodSync(path.join(root, d), variant === 'a' ? 0o755 : 0o700);
  }
  return root;
}

async function headers(tar: Buffer): Promise<Header[]> {
  const out: Header[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      out.push(h);
      stream.on('end', () => next());
      stream.resume();
    });
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return out;
}

const bytewise = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const strip = (n: string) => n.replace(/\/$/, '');

describe('layerFromDirectory', () => {
  let a: Layer;
  let b: Layer;

  it('gives byte-identical layers for the same tree written differently', async () => {
    const dirA = makeTree('a');
    const dirB = makeTree('b');
    a = await layerFromDirectory(dirA, { prefix: 'app/', epoch: EPOCH });
    b = await layerFromDirectory(dirB, { prefix: 'app', epoch: EPOCH });
    expect(b.tar.equals(a.tar)).toBe(true);
    expect(b.blob.equals(a.blob)).toBe(true);
    expect(b.diffId).toBe(a.diffId);
    expect(b.digest).toBe(a.digest);
    expect(a.size).toBe(a.blob.length);
    expect(a.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(a.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const spec = (layer: Layer, env: Record<string, string>) => assembleImage({ layers: [layer], created: createdFromEpoch(EPOCH), env, entrypoint: ['node', 'index.js'], labels: { x: '1' } });
    // Same content, env given in another key order: same digest.
    const imgA = spec(a, { NODE_ENV: 'production', PORT: '8080' });
    const imgB = spec(b, { PORT: '8080', NODE_ENV: 'production' });
    expect(imgB.manifestDigest).toBe(imgA.manifestDigest);
    expect(imgB.manifest.equals(imgA.manifest)).toBe(true);
  });

  it('writes sorted entries, parents, fixed mtime, uid/gid 0, normalised modes, symlinks', async () => {
    const hs = await headers(a.tar);
    const names = hs.map((h) => h.name);
    expect(names.map(strip)).toEqual([...names.map(strip)].sort(bytewise));
    expect(names).toEqual([
      'app/',
      'app/Z-upper.txt',
      'app/a/',
      'app/a-b.txt',
      'app/a/x.txt',
      'app/bin/',
      'app/bin/dangling',
      'app/bin/run.sh',
      'app/current',
      'app/deep/',
      `app/deep/${'d'.repeat(60)}/`,
      `app/deep/${'d'.repeat(60)}/${'e'.repeat(60)}/`,
      `app/${LONG}`,
      'app/empty-dir/',
      'app/héllo.txt',
      'app/index.js',
      'app/lib/',
      'app/lib/util/',
      'app/lib/util/a.txt',
      'app/lib/util/b.txt',
    ]);
    for (const h of hs) {
      expect(h.uid).toBe(0);
      expect(h.gid).toBe(0);
      expect(h.uname).toBe('');
      expect(h.gname).toBe('');
      expect(h.mtime.getTime()).toBe(EPOCH * 1000);
      const expected = h.type === 'directory' ? 0o755 : h.type === 'symlink' ? 0o777 : h.name.endsWith('run.sh') ? 0o755 : 0o644;
      expect([h.name, h.mode]).toEqual([h.name, expected]);
    }
    const byName = new Map(hs.map((h) => [h.name, h]));
    expect(byName.get('app/current')).toMatchObject({ type: 'symlink', linkname: 'lib/util' });
    expect(byName.get('app/bin/dangling')).toMatchObject({ type: 'symlink', linkname: '../does-not-exist' });
    expect(byName.get('app/index.js')).toMatchObject({ type: 'file', size: 'console.log("hi");\n'.length });
  });

  it('is listed by GNU tar with the fixed mtime and owner 0/0', () => {
    const dir = tmp('gnutar');
    writeFileSync(path.join(dir, 'layer.tar'), a.tar);
    writeFileSync(path.join(dir, 'layer.tar.gz'), a.blob);
    const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };
    const tv = spawnSync('tar', ['--numeric-owner', '--full-time', '--quoting-style=literal', '-tvf', 'layer.tar'], { cwd: dir, env, encoding: 'utf8' });
    expect(tv.status, tv.stderr).toBe(0);
    const lines = tv.stdout.trim().split('\n');
    expect(lines).toHaveLength(20);
    for (const line of lines) expect(line).toMatch(/^[-dl][rwx-]{9} 0\/0 +\d+ 2023-11-14 22:13:20 \S/);
    expect(lines).toContain('lrwxrwxrwx 0/0               0 2023-11-14 22:13:20 app/current -> lib/util');
    expect(lines.find((l) => l.endsWith(' app/bin/run.sh'))).toMatch(/^-rwxr-xr-x 0\/0 +19 /);
    expect(lines.find((l) => l.endsWith(' app/index.js'))).toMatch(/^-rw-r--r-- /);
    expect(lines.find((l) => l.endsWith(' app/empty-dir/'))).toMatch(/^drwxr-xr-x /);
    // The compressed blob is a valid gzip stream for GNU tar too, with the same listing.
    const tz = spawnSync('tar', ['--numeric-owner', '--full-time', '--quoting-style=literal', '-tzvf', 'layer.tar.gz'], { cwd: dir, env, encoding: 'utf8' });
    expect(tz.status, tz.stderr).toBe(0);
    expect(tz.stdout).toBe(tv.stdout);
    const names = spawnSync('tar', ['--quoting-style=literal', '-tf', 'layer.tar'], { cwd: dir, env, encoding: 'utf8' }).stdout.trim().split('\n');
    expect(names).toContain(`app/${LONG}`);
    expect(names).toContain('app/héllo.txt');
  });

  it('gzips with a fixed header (no name, mtime 0, OS unknown) that decompresses to the tar', () => {
    expect(a.blob.subarray(0, 10).toString('hex')).toBe('1f8b08000000000000ff');
    expect(gunzipSync(a.blob).equals(a.tar)).toBe(true);
    expect(gzipDeterministic(a.tar).equals(a.blob)).toBe(true);
  });

  it('honours exclude (paths relative to the directory, without prefix) and works without prefix', async () => {
    const dir = makeTree('a');
    const seen: string[] = [];
    const l = await layerFromDirectory(dir, {
      epoch: EPOCH,
      exclude: (rel) => {
        seen.push(rel);
        return rel === 'lib' || rel.endsWith('.sh');
      },
    });
    const names = (await headers(l.tar)).map((h) => h.name);
    expect(seen).toContain('lib');
    expect(seen).not.toContain('lib/util'); // not descended into
    expect(names).not.toContain('lib/');
    expect(names).not.toContain('bin/run.sh');
    expect(names[0]).toBe('Z-upper.txt');
    expect(names).toContain('bin/');
  });

  it('changes the layer when the epoch or content changes', async () => {
    const dir = makeTree('a');
    const l1 = await layerFromDirectory(dir, { epoch: EPOCH });
    const l2 = await layerFromDirectory(dir, { epoch: EPOCH + 1 });
    writeFileSync(path.join(dir, 'index.js'), 'changed\n');
    const l3 = await layerFromDirectory(dir, { epoch: EPOCH });
    expect(new Set([l1.diffId, l2.diffId, l3.diffId]).size).toBe(3);
  });
});

describe('layerFromEntries', () => {
  it('adds parent directories, sorts, reads content from buffers and absolute paths', async () => {
    const dir = tmp('entries');
    const file = path.join(dir, 'payload.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 3]));
    const l = await layerFromEntries(
      [
        { path: 'usr/local/bin/tool', type: 'file', mode: 0o755, content: file },
        { path: './etc/app.conf', type: 'file', mode: 0o640, content: Buffer.from('k=v\n') },
        { path: 'etc/empty', type: 'file', mode: 0o644 },
        { path: 'usr/bin/tool', type: 'symlink', mode: 0o755, linkname: '../local/bin/tool' },
        { path: 'var/lib/app/', type: 'dir', mode: 0o700 },
      ],
      { epoch: 0 },
    );
    const hs = await headers(l.tar);
    expect(hs.map((h) => [h.name, h.type, h.mode.toString(8), h.size])).toEqual([
      ['etc/', 'directory', '755', 0],
      ['etc/app.conf', 'file', '640', 4],
      ['etc/empty', 'file', '644', 0],
      ['usr/', 'directory', '755', 0],
      ['usr/bin/', 'directory', '755', 0],
      ['usr/bin/tool', 'symlink', '777', 0],
      ['usr/local/', 'directory', '755', 0],
      ['usr/local/bin/', 'directory', '755', 0],
      ['usr/local/bin/tool', 'file', '755', 4],
      ['var/', 'directory', '755', 0],
      ['var/lib/', 'directory', '755', 0],
      ['var/lib/app/', 'directory', '700', 0],
    ]);
    for (const h of hs) expect(h.mtime.getTime()).toBe(0);
  });

  it('is stable: a fixed entry list has a fixed diffID', async () => {
    const l = await layerFromEntries(
      [
        { path: 'hello.txt', type: 'file', mode: 0o644, content: Buffer.from('hello\n') },
        { path: 'bin/hello', type: 'symlink', mode: 0o777, linkname: '../hello.txt' },
      ],
      { epoch: 1700000000 },
    );
    // Golden value: any change to the tar format (header fields, ordering, padding) shows here.
    expect(l.diffId).toBe(GOLDEN_DIFF_ID);
    expect(l.tar.length % 512).toBe(0);
  });

  it('rejects bad paths, duplicates, files used as directories and bad epochs', async () => {
    const f = (p: string) => ({ path: p, type: 'file' as const, mode: 0o644, content: Buffer.from('') });
    await expect(layerFromEntries([f('/abs')], { epoch: 0 })).rejects.toThrow(/relative/);
    await expect(layerFromEntries([f('a/../b')], { epoch: 0 })).rejects.toThrow(/'\.\.'/);
    await expect(layerFromEntries([f('a'), f('./a')], { epoch: 0 })).rejects.toThrow(/duplicate/);
    await expect(layerFromEntries([f('a'), f('a/b')], { epoch: 0 })).rejects.toThrow(/below a, which is a file/);
    await expect(layerFromEntries([{ path: 'x', type: 'file', mode: 0o644, content: 'relative/path' }], { epoch: 0 })).rejects.toThrow(/absolute/);
    await expect(layerFromEntries([f('a')], { epoch: 1.5 })).rejects.toThrow(/epoch/);
    await expect(layerFromEntries([{ path: 'l', type: 'symlink', mode: 0o777 }], { epoch: 0 })).rejects.toThrow(/linkname/);
  });
});

const GOLDEN_DIFF_ID = 'sha256:43d3d4dc733ca04e0714f2346775808fa9495aaf8b9470d11cf7455070e6e20b';
