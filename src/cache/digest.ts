/**
 * `sha256:<hex>` digests, the one way atmos-pipe names content: blobs and trees in the CAS,
 * vendored trees, OCI blobs and manifests. Every place that hashes a file or checks a digest's
 * shape uses these, so a digest computed in one place is the digest checked in another.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** `sha256:<hex>` of the bytes. */
export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

/** The hex part of a `sha256:<hex>` digest; throws on anything else. */
export function digestHex(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

/**
 * sha256 and size of a file, read in 1 MiB chunks (a large file is never held in memory);
 * with `copyTo`, the bytes are written there as they are read (one pass).
 */
export function hashFile(file: string, copyTo?: string): { digest: string; size: number } {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  let out: number | undefined;
  try {
    if (copyTo !== undefined) out = openSync(copyTo, 'w', 0o644);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      if (out !== undefined) for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
      size += n;
    }
  } finally {
    closeSync(fd);
    if (out !== undefined) closeSync(out);
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}
