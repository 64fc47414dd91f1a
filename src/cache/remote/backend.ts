/**
 * Where a shared cache keeps its objects (SPEC 4.1, README "Shared cache"): the seam between
 * the remote cache (./session.ts: authentication, scopes, laziness, degradation) and the place
 * the bytes live. Two backends implement it: an OCI registry (./oci.ts) and a plain shared
 * directory (./directory.ts). A backend stores bytes as it is told and trusts nothing it reads:
 * the session verifies every entry's MAC and every object's digest.
 *
 * Entries live per namespace (the Git ref that wrote them, see ./scope.ts) and fingerprint;
 * objects (the CAS blobs the entries name) are shared by every namespace, since a blob is
 * named by its digest and checked against it when it is read.
 */
import { createHash } from 'node:crypto';

/** One object an entry names: a CAS blob (a file, or a tree's manifest) and its size. */
export interface BlobRef {
  digest: string;
  size: number;
}

/** What a backend says about one stored entry (for `cache stats --remote` and `cache prune --remote`). */
export interface RemoteEntryInfo {
  namespace: string;
  fingerprint: string;
  /** When it was written (ISO time). */
  createdAt: string;
  /** Bytes of the entry and of the objects it names. */
  size: number;
  /** The objects it names (shared objects are counted once by whoever sums them). */
  blobs: BlobRef[];
  /** The backend's own handle of the entry (a file, a manifest digest). */
  handle: string;
}

export interface RemoteBackend {
  /** Where the cache is, for messages: never a credential. */
  readonly location: string;
  getEntry(namespace: string, fingerprint: string): Promise<Buffer | undefined>;
  hasEntry(namespace: string, fingerprint: string): Promise<boolean>;
  /** Store an entry; every object in `blobs` is already stored. */
  putEntry(namespace: string, fingerprint: string, bytes: Buffer, meta: { blobs: BlobRef[]; createdAt: string; step: string }): Promise<void>;
  getBlob(digest: string): Promise<Buffer | undefined>;
  hasBlob(digest: string): Promise<boolean>;
  putBlob(digest: string, data: Buffer): Promise<void>;
  /** Every entry of every namespace. */
  list(): Promise<RemoteEntryInfo[]>;
  /**
   * Remove entries (and, where the backend can, the objects no remaining entry names that are
   * older than `objectsBefore`): the number of objects removed and the bytes freed.
   */
  remove(entries: RemoteEntryInfo[], objectsBefore: Date): Promise<{ objects: number; bytes: number }>;
}

/**
 * A namespace as a name fit for a tag or a directory: its readable part (letters, digits,
 * `_ . -`; at most 40 characters) and 16 hex digits of its sha256, so two refs that read the
 * same (`feature/x`, `feature-x`) never share entries, and no branch can name itself into
 * another's namespace.
 */
export function namespaceId(namespace: string): string {
  const readable = namespace.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(namespace).digest('hex').slice(0, 16);
  return `${/^[A-Za-z0-9_]/.test(readable) ? '' : '_'}${readable}.${hash}`;
}
