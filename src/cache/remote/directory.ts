/**
 * The shared-directory backend of the remote cache (a network file system every runner mounts,
 * or a directory CI restores and saves): `<root>/blobs/sha256/<hex>` holds objects and
 * `<root>/entries/<namespace id>/<fingerprint hex>.json` holds entries. Every write is atomic
 * (temp file + rename), so concurrent runners never see half an object. The root must exist:
 * a shared directory that is not there (an unmounted volume) is an unreachable cache, not one
 * to create on the local disk.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../cas.js';
import { digestHex } from '../digest.js';
import { namespaceId, type BlobRef, type RemoteBackend, type RemoteEntryInfo } from './backend.js';

async function readOrUndefined(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export class DirectoryBackend implements RemoteBackend {
  readonly location: string;
  constructor(private readonly root: string) {
    this.location = root;
  }

  /** The root must be there (see the file comment); throws ENOENT when it is not. */
  private checkRoot(): void {
    statSync(this.root);
  }

  private entryFile(namespace: string, fingerprint: string): string {
    return path.join(this.root, 'entries', namespaceId(namespace), `${digestHex(fingerprint)}.json`);
  }

  private blobFile(digest: string): string {
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async getEntry(namespace: string, fingerprint: string): Promise<Buffer | undefined> {
    this.checkRoot();
    return readOrUndefined(this.entryFile(namespace, fingerprint));
  }

  async hasEntry(namespace: string, fingerprint: string): Promise<boolean> {
    this.checkRoot();
    return exists(this.entryFile(namespace, fingerprint));
  }

  async putEntry(namespace: string, fingerprint: string, bytes: Buffer): Promise<void> {
    this.checkRoot();
    writeFileAtomic(this.entryFile(namespace, fingerprint), bytes);
  }

  async getBlob(digest: string): Promise<Buffer | undefined> {
    this.checkRoot();
    return readOrUndefined(this.blobFile(digest));
  }

  async hasBlob(digest: string): Promise<boolean> {
    this.checkRoot();
    return exists(this.blobFile(digest));
  }

  async putBlob(digest: string, data: Buffer): Promise<void> {
    this.checkRoot();
    writeFileAtomic(this.blobFile(digest), data, 0o444);
  }

  async list(): Promise<RemoteEntryInfo[]> {
    this.checkRoot();
    const out: RemoteEntryInfo[] = [];
    const dir = path.join(this.root, 'entries');
    if (!existsSync(dir)) return out;
    for (const ns of readdirSync(dir)) {
      for (const f of readdirSync(path.join(dir, ns))) {
        if (!f.endsWith('.json')) continue;
        const file = path.join(dir, ns, f);
        const info = entryInfo(readFileSync(file), file, statSync(file).size);
        if (info) out.push(info);
      }
    }
    return out;
  }

  async remove(entries: RemoteEntryInfo[], objectsBefore: Date): Promise<{ objects: number; bytes: number }> {
    for (const e of entries) rmSync(e.handle, { force: true });
    // Objects no remaining entry names, written before the cut (a runner uploading now writes
    // its objects before its entry: a new object is never taken from under it).
    const named = new Set((await this.list()).flatMap((e) => e.blobs.map((b) => b.digest)));
    const blobs = path.join(this.root, 'blobs', 'sha256');
    let objects = 0;
    let bytes = 0;
    if (!existsSync(blobs)) return { objects, bytes };
    for (const hex of readdirSync(blobs)) {
      if (!/^[0-9a-f]{64}$/.test(hex) || named.has(`sha256:${hex}`)) continue;
      const file = path.join(blobs, hex);
      const st = statSync(file);
      if (st.mtime >= objectsBefore) continue;
      rmSync(file, { force: true });
      objects++;
      bytes += st.size;
    }
    return { objects, bytes };
  }
}

/**
 * What the stats need of a stored entry, read without verifying it (a listing trusts nothing
 * either: it only counts); undefined when the bytes are not an entry.
 */
export function entryInfo(bytes: Buffer, handle: string, entrySize: number): RemoteEntryInfo | undefined {
  try {
    const e = JSON.parse(bytes.toString('utf8')) as { namespace?: unknown; entry?: { fingerprint?: unknown; createdAt?: unknown }; blobs?: BlobRef[] };
    if (typeof e.namespace !== 'string' || typeof e.entry?.fingerprint !== 'string' || !Array.isArray(e.blobs)) return undefined;
    const blobs = e.blobs.filter((b) => typeof b?.digest === 'string' && typeof b.size === 'number');
    return {
      namespace: e.namespace,
      fingerprint: e.entry.fingerprint,
      createdAt: typeof e.entry.createdAt === 'string' ? e.entry.createdAt : new Date(0).toISOString(),
      size: entrySize + blobs.reduce((n, b) => n + b.size, 0),
      blobs,
      handle,
    };
  } catch {
    return undefined;
  }
}
