/**
 * The built-in `zip` module: the reference component type (SPEC 8). A `zip` component packages
 * a directory (a function's code) into a bit-for-bit reproducible zip archive, stored in the
 * content store by its digest, whose outputs a Terraform component binds like an image:
 *
 *   components:
 *     zip:
 *       fn: { vars: { source: functions/hello } }
 *     terraform:
 *       lambda:
 *         vars: { package_hash: '{{ zip.fn.base64sha256 }}', package: '{{ zip.fn.path }}' }
 *
 * Reproducible: the files are those Git would ship (as a nixpack build context), filtered by
 * `include`/`exclude` globs, in sorted order, each with a fixed time (the DOS epoch, 1980-01-01
 * 00:00), a fixed mode (0644, or 0755 when executable), UTF-8 names and no extra fields; they
 * are stored, not deflated, because zlib's output may differ between builds of zlib (and CPU
 * features) while stored bytes cannot. Two clones of a commit, anywhere, at any time, give the
 * same bytes.
 *
 * No step: the engine runs commands, and an archive is not one. Like the nixpack module's OCI
 * image, it is assembled in process from content-addressed inputs (the source tree in the
 * store) in `outputs()`, keyed by them, so an unchanged source is a cache hit that starts no
 * process. The `path` output is a file output: bound into a Terraform component, the archive
 * is materialized in each of its step workspaces and the template gives the relative path
 * (`filebase64sha256(path)` equals `base64sha256`).
 *
 * Written against the public module API (`atmos-pipe/module`), as a user's module would be.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { DiagnosticError, buildContext, defineModule, error, sha256, writeFileAtomic, type FileOutput, type ModuleContext } from 'atmos-pipe/module';

/** A `zip` component's vars. */
const zipVars = z.strictObject({
  /** The directory to package, relative to the repository (atmos.yaml `base_path`). */
  source: z.string().min(1),
  /** Globs (relative to source) of the files to package; default: every file. */
  include: z.array(z.string()).optional(),
  /** Globs of files to leave out. */
  exclude: z.array(z.string()).optional(),
  /** The archive's file name; default `<component>.zip` (its last path segment). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a file name')
    .optional(),
});
type ZipVars = z.infer<typeof zipVars>;

/** One file of an archive. */
interface ZipEntry {
  name: string;
  mode: number;
  data: Buffer;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO-HDLC, as zip and zlib compute it). */
export function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** 1980-01-01 00:00, the first time a zip entry can hold: the same for every build. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** General purpose flag 11: names are UTF-8. */
const UTF8 = 0x0800;
/** Version 2.0 (what stored entries need); made by Unix (3), so the external attributes hold modes. */
const VERSION = 20;
const MADE_BY = (3 << 8) | VERSION;

/**
 * The bytes of a zip archive of `entries` (sorted by name here): stored entries, fixed time and
 * modes, no extra fields, no comment. No zip64: an entry or archive over 4 GiB is refused.
 */
export function zipArchive(entries: ZipEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of sorted) {
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(e.data);
    if (e.data.length > 0xfffffffe || offset > 0xfffffffe) throw new Error(`${e.name}: a zip archive over 4 GiB needs zip64, which the zip module does not write`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(UTF8, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28); // no extra field
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY, 4);
    central.writeUInt16LE(VERSION, 6);
    central.writeUInt16LE(UTF8, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra, comment, disk number, internal attributes: 0
    central.writeUInt32LE(((0o100000 | e.mode) << 16) >>> 0, 38); // a regular file with its mode
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += local.length + name.length + e.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(sorted.length, 8);
  end.writeUInt16LE(sorted.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function varsOf(ctx: { component: ModuleContext['component'] }): ZipVars {
  return zipVars.parse(ctx.component.vars);
}

/** The archive's file name. */
function fileName(ctx: { component: ModuleContext['component'] }): string {
  return varsOf(ctx).name ?? `${path.posix.basename(ctx.component.name)}.zip`;
}

/** The source directory: the one resolution checked (`componentType.source`), inside the repository. */
function sourceDir(ctx: ModuleContext<unknown>): string {
  const v = varsOf(ctx);
  const dir = ctx.component.sourceDir ?? path.resolve(ctx.repoRoot, v.source);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DiagnosticError(
      error('zip/source', `${ctx.component.address}: vars.source "${v.source}" is not a directory`, ctx.component.location, 'vars.source names a directory of the repository, relative to its root'),
    );
  }
  return dir;
}

/** What a `zip` component produces. */
interface ZipOutputs extends Record<string, unknown> {
  digest: string;
  base64sha256: string;
  size: number;
  files: number;
  path: FileOutput;
}

/** Assembles (or finds) the archive of the component's source and stores it by its digest. */
function archiveOf(ctx: ModuleContext<unknown>): ZipOutputs {
  const v = varsOf(ctx);
  const dir = sourceDir(ctx);
  const context = buildContext(dir, ctx.repoRoot);
  const tree = ctx.cas.putDir(dir, { files: context.files, exclude: context.exclude, within: ctx.repoRoot });
  const name = fileName(ctx);
  const key = sha256(JSON.stringify({ v: 1, tree, include: v.include ?? null, exclude: v.exclude ?? null }));
  const memo = path.join(ctx.cacheDir, 'cache', 'zip', `${key.slice('sha256:'.length)}.json`);
  let made: { digest: string; size: number; files: number } | undefined;
  if (existsSync(memo) && !ctx.options.noCache) {
    const m = JSON.parse(readFileSync(memo, 'utf8')) as { digest: string; size: number; files: number };
    if (ctx.cas.has(m.digest)) made = m;
  }
  if (!made) {
    const included = v.include?.length ? picomatch(v.include, { dot: true }) : () => true;
    const excluded = v.exclude?.length ? picomatch(v.exclude, { dot: true }) : () => false;
    const entries: ZipEntry[] = [];
    for (const e of ctx.cas.verifiedManifest(tree).entries) {
      if (e.type !== 'file' || !included(e.path) || excluded(e.path)) continue;
      entries.push({ name: e.path, mode: e.mode, data: readFileSync(ctx.cas.verifiedPath(e.digest!)) });
    }
    if (entries.length === 0) {
      throw new DiagnosticError(
        error('zip/empty', `${ctx.component.address}: nothing to package in ${v.source}`, ctx.component.location, 'the archive holds the files Git would ship, filtered by include/exclude'),
      );
    }
    const bytes = zipArchive(entries);
    made = { digest: ctx.cas.putBytes(bytes), size: bytes.length, files: entries.length };
    writeFileAtomic(memo, `${JSON.stringify(made)}\n`);
  }
  const hex = made.digest.slice('sha256:'.length);
  return { digest: made.digest, base64sha256: Buffer.from(hex, 'hex').toString('base64'), size: made.size, files: made.files, path: { kind: 'file', digest: made.digest, name } };
}

export const zip = defineModule({
  name: 'zip',
  description: 'Package a directory (a function) into a reproducible zip archive, stored by its digest',
  inputs: z.object({}).strict(),
  componentType: {
    name: 'zip',
    description: 'a reproducible zip archive of a directory (e.g. a Lambda function package)',
    vars: zipVars,
    source: 'source',
    outputs: {
      digest: 'sha256:<hex> of the archive',
      base64sha256: "the archive's sha256 in base64 (Terraform's filebase64sha256, a Lambda's source_code_hash)",
      size: 'size in bytes',
      files: 'number of files packaged',
      path: 'the archive, as a path the steps of the component that binds it can read',
    },
    // The archive, with its sha256 once built (a function of the commit: every build gives it).
    sbom: (ctx, built) => [
      {
        type: 'application',
        name: fileName(ctx),
        description: `zip archive of ${varsOf(ctx).source}`,
        hashes: typeof built?.digest === 'string' ? [{ alg: 'SHA-256', content: built.digest.slice('sha256:'.length) }] : [],
        licenses: [],
        externalRefs: [],
        properties: [['atmos-pipe:zip:source', varsOf(ctx).source]],
      },
    ],
  },
  steps: () => [],
  outputs: (_results, ctx) => archiveOf(ctx),
});
