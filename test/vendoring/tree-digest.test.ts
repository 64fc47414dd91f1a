/**
 * A vendored tree is named by the same digest the step CAS gives the same directory (the
 * `atmos-pipe/tree@1` format, built by src/cache/tree.ts alone): releases pin that digest,
 * so the store, `vendor status` and a step input must never disagree about it. The format is
 * spelled out here too, so that a change to it shows as a failing test, not as moved pins.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRepo } from '../helpers.js';
import { Cas } from '../../src/cache/cas.js';
import { objectDir, treeDigest, vendoredDigests, vendorPaths } from '../../src/vendoring/index.js';
import { commitObject, linkDir, linkObject, writeLock } from '../../src/vendoring/store.js';

/** A fresh temp dir, removed after the file's tests (store objects are read-only files in writable directories). */
const temp = () => makeRepo({});

const MAIN = 'variable "cidr" { default = "10.0.0.0/16" }\n';
const RUN = '#!/bin/sh\necho run\n';
const NESTED = 'output "id" { value = "x" }\n';
const sha = (data: string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A module with a plain file, an executable, a nested file, an empty directory and two symlinks. */
function moduleTree(): string {
  const dir = path.join(temp(), 'vpc');
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  mkdirSync(path.join(dir, 'modules', 'subnet'), { recursive: true });
  mkdirSync(path.join(dir, 'empty'), { recursive: true });
  writeFileSync(path.join(dir, 'main.tf'), MAIN);
  writeFileSync(path.join(dir, 'bin', 'run.sh'), RUN, { mode: 0o755 });
  writeFileSync(path.join(dir, 'modules', 'subnet', 'outputs.tf'), NESTED);
  symlinkSync('main.tf', path.join(dir, 'link.tf'));
  symlinkSync('modules/subnet', path.join(dir, 'subnet'));
  return dir;
}

/** The tree@1 manifest of {@link moduleTree}, written out by hand: sorted paths, normalised modes. */
const EXPECTED_MANIFEST = {
  kind: 'atmos-pipe/tree@1',
  entries: [
    { path: 'bin/run.sh', type: 'file', mode: 0o755, digest: sha(RUN), size: RUN.length },
    { path: 'empty', type: 'dir', mode: 0o755 },
    { path: 'link.tf', type: 'symlink', mode: 0o777, target: 'main.tf' },
    { path: 'main.tf', type: 'file', mode: 0o644, digest: sha(MAIN), size: MAIN.length },
    { path: 'modules/subnet/outputs.tf', type: 'file', mode: 0o644, digest: sha(NESTED), size: NESTED.length },
    { path: 'subnet', type: 'symlink', mode: 0o777, target: 'modules/subnet' },
  ],
};

describe('tree digests', () => {
  it('the vendor store and the CAS give a directory the same digest: modes, symlinks and empty directories included', () => {
    const dir = moduleTree();
    const cas = new Cas(path.join(temp(), 'cache'));
    const casDigest = cas.putDir(dir);
    const vendorDigest = treeDigest(vendorPaths(temp()), dir);
    expect(vendorDigest).toBe(casDigest);
    expect(cas.manifest(casDigest)).toEqual(EXPECTED_MANIFEST);
    expect(casDigest).toBe(sha(JSON.stringify(EXPECTED_MANIFEST)));
  });

  it('a published object keeps the digest of the tree it came from (read-only files hash as their normalised modes)', () => {
    const dir = moduleTree();
    const cacheDir = temp();
    const paths = vendorPaths(cacheDir);
    const casDigest = new Cas(path.join(temp(), 'cache')).putDir(dir);
    mkdirSync(paths.tmp, { recursive: true });
    const staged = path.join(paths.tmp, 'staged');
    cpSync(dir, staged, { recursive: true, verbatimSymlinks: true });
    const { digest, created } = commitObject(paths, staged);
    expect(created).toBe(true);
    expect(digest).toBe(casDigest);
    const object = objectDir(paths, digest);
    expect(statSync(path.join(object, 'main.tf')).mode & 0o777).toBe(0o444);
    expect(new Cas(path.join(temp(), 'cache')).putDir(object)).toBe(casDigest);
    // What a release pins for the linked (hard-linked) module is the same digest.
    linkObject(paths, digest, linkDir(paths, 'net', 'dev', 'vpc'));
    writeLock(paths, { deployment: 'net', target: 'dev', components: { vpc: { source: './vpc', version: null, digest, pulled_at: '' } } });
    expect(vendoredDigests(cacheDir, 'net', 'dev')).toEqual({ vpc: casDigest });
  });

  it('a mode change or a retargeted link changes the digest the same way in both', () => {
    const dir = moduleTree();
    const before = new Cas(path.join(temp(), 'cache')).putDir(dir);
    chmodSync(path.join(dir, 'main.tf'), 0o755);
    const exec = new Cas(path.join(temp(), 'cache')).putDir(dir);
    expect(exec).not.toBe(before);
    expect(treeDigest(vendorPaths(temp()), dir)).toBe(exec);
    rmSync(path.join(dir, 'link.tf'));
    symlinkSync('bin/run.sh', path.join(dir, 'link.tf'));
    const relinked = new Cas(path.join(temp(), 'cache')).putDir(dir);
    expect(relinked).not.toBe(exec);
    expect(treeDigest(vendorPaths(temp()), dir)).toBe(relinked);
  });
});
