/**
 * Fetching a source into a temp directory of the store. Git sources go through a bare
 * mirror kept in the store (`git clone --mirror`, later `git fetch`), and the ref's
 * subdirectory is taken with `git archive <commit>:<subdir>` through the same safe
 * extractor as tarballs. HTTP(S) tarballs are streamed through gunzip into the extractor.
 * git always runs with an argv array (never a shell), no terminal prompts, and no `ext::`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { spawnGit } from '../tracking/runner.js';
import { extractTar, copyLocalTree } from './extract.js';
import { isLoopbackHost, type VendorSource } from './source.js';
import { tempDir, touch, type VendorPaths } from './store.js';

export class FetchError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

export interface Fetched {
  /** Directory holding the fetched tree (inside the store's tmp dir). */
  dir: string;
  /** Git: the commit the ref resolved to. */
  commit?: string;
}

const GIT_ENV = (): NodeJS.ProcessEnv => ({ ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: process.env.GIT_ASKPASS ?? '', GCM_INTERACTIVE: 'never' });
const GIT_SAFE = ['-c', 'protocol.ext.allow=never', '-c', 'core.hooksPath=/dev/null'];

async function git(args: string[], cwd: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return spawnGit([...GIT_SAFE, ...args], { cwd, env: GIT_ENV() });
}

function mirrorDir(paths: VendorPaths, url: string): string {
  return path.join(paths.git, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.git`);
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n').filter(Boolean);
  return lines.slice(-2).join(' / ') || 'no output';
}

async function resolveRef(mirror: string, ref: string | undefined): Promise<string | undefined> {
  const candidates = ref === undefined ? ['HEAD'] : /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref) ? [ref] : [`refs/tags/${ref}`, `refs/heads/${ref}`, ref];
  for (const c of candidates) {
    const r = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${c}^{commit}`], mirror);
    if (r.code === 0) return r.stdout.toString('utf8').trim();
  }
  return undefined;
}

/** Tags and a ref kind that never moves: no fetch is needed when it is present already. */
async function isImmutablePresent(mirror: string, ref: string | undefined): Promise<boolean> {
  if (ref === undefined) return false;
  if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref)) return (await resolveRef(mirror, ref)) !== undefined;
  const r = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/tags/${ref}^{commit}`], mirror);
  return r.code === 0;
}

async function fetchGit(paths: VendorPaths, src: Extract<VendorSource, { kind: 'git' }>, update: boolean): Promise<Fetched> {
  const mirror = mirrorDir(paths, src.url);
  if (!existsSync(path.join(mirror, 'HEAD'))) {
    const tmp = tempDir(paths, 'mirror');
    const r = await git(['clone', '--mirror', '--quiet', '--', src.url, path.join(tmp, 'm.git')], paths.root);
    if (r.code !== 0) {
      rmSync(tmp, { recursive: true, force: true });
      throw new FetchError(
        `git clone ${src.url} failed (exit ${r.code}): ${lastLine(r.stderr)}`,
        r.code === 127 ? 'install git' : 'check the URL and your access to it (credentials come from your git configuration)',
      );
    }
    mkdirSync(paths.git, { recursive: true });
    try {
      renameSync(path.join(tmp, 'm.git'), mirror);
    } catch (e) {
      // another pull may have created the mirror first
      if (!existsSync(path.join(mirror, 'HEAD'))) throw e;
    }
    rmSync(tmp, { recursive: true, force: true });
  } else if (update || !(await isImmutablePresent(mirror, src.ref))) {
    const r = await git(['fetch', '--quiet', '--prune', '--tags', '--force', 'origin', '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], mirror);
    if (r.code !== 0)
      throw new FetchError(`git fetch ${src.url} failed (exit ${r.code}): ${lastLine(r.stderr)}`, 'check the URL and your access to it; a pull whose lock is satisfied needs no network');
  }
  touch(mirror);
  const commit = await resolveRef(mirror, src.ref);
  if (!commit) {
    const tags = (await git(['tag', '--sort=-creatordate'], mirror)).stdout.toString('utf8').trim().split('\n').filter(Boolean).slice(0, 10);
    throw new FetchError(`${src.url}: ref "${src.ref ?? 'HEAD'}" not found`, tags.length ? `tags: ${tags.join(', ')}` : 'the repository has no tags; use a branch or a commit');
  }
  const treeish = src.subdir ? `${commit}:${src.subdir}` : `${commit}^{tree}`;
  const type = await git(['cat-file', '-t', '--end-of-options', treeish], mirror);
  if (type.code !== 0 || type.stdout.toString('utf8').trim() !== 'tree') {
    throw new FetchError(`${src.url}: "${src.subdir}" is not a directory at ${src.ref ?? 'HEAD'} (${commit.slice(0, 12)})`, 'check the //subdir part of the source');
  }
  const archive = await git(['archive', '--format=tar', '--end-of-options', treeish], mirror);
  if (archive.code !== 0) throw new FetchError(`git archive ${treeish} failed (exit ${archive.code}): ${lastLine(archive.stderr)}`);
  const work = tempDir(paths, 'git');
  try {
    await extractTar(Readable.from([archive.stdout]), path.join(work, 'tree'));
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  return { dir: path.join(work, 'tree'), commit };
}

async function get(url: string, redirects = 5): Promise<Response> {
  const u = new URL(url);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && isLoopbackHost(u.hostname))) {
    throw new FetchError(`refusing to fetch ${url}: only https (or http to a loopback host) is allowed`);
  }
  let res: Response;
  try {
    res = await fetch(u, { redirect: 'manual', signal: AbortSignal.timeout(300_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new FetchError(`GET ${url} failed: ${cause?.code ?? cause?.message ?? (e as Error).message}`, 'check the URL and the network; a pull whose lock is satisfied needs no network');
  }
  if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
    if (redirects === 0) throw new FetchError(`GET ${url}: too many redirects`);
    await res.body?.cancel();
    return get(new URL(res.headers.get('location')!, u).toString(), redirects - 1);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FetchError(`GET ${url}: ${res.status} ${res.statusText}`, res.status === 404 ? 'check the URL and the version it contains' : 'check the URL and your access to it');
  }
  return res;
}

async function fetchHttp(paths: VendorPaths, src: Extract<VendorSource, { kind: 'http' }>): Promise<Fetched> {
  const res = await get(src.url);
  if (!res.body) throw new FetchError(`GET ${src.url}: empty response`);
  const work = tempDir(paths, 'http');
  try {
    await extractTar(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), path.join(work, 'tree'), { gzip: true, subdir: src.subdir });
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'Z_DATA_ERROR') throw new FetchError(`${src.url} is not a gzipped tarball (${e.message})`, 'point the source at a .tar.gz file');
    throw e;
  }
  if (!existsSync(path.join(work, 'tree'))) {
    rmSync(work, { recursive: true, force: true });
    throw new FetchError(`${src.url}: nothing below "${src.subdir}" in the archive`, 'check the //subdir part of the source');
  }
  return { dir: path.join(work, 'tree') };
}

function fetchLocal(paths: VendorPaths, src: Extract<VendorSource, { kind: 'local' }>): Fetched {
  let st: Stats;
  try {
    st = statSync(src.path);
  } catch {
    throw new FetchError(`local source ${src.path} does not exist`, 'relative paths are resolved against the file that declares them (the base path for deployment files)');
  }
  if (!st.isDirectory()) throw new FetchError(`local source ${src.path} is not a directory`);
  const rel = path.relative(src.path, paths.root);
  if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
    throw new FetchError(`local source ${src.path} contains the vendor store (${paths.root})`, 'point the source at the module directory itself');
  }
  const work = tempDir(paths, 'local');
  try {
    copyLocalTree(src.path, path.join(work, 'tree'));
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
  return { dir: path.join(work, 'tree') };
}

/** Fetch a source into a fresh temp directory of the store. */
export async function fetchSource(paths: VendorPaths, src: VendorSource, opts: { update?: boolean } = {}): Promise<Fetched> {
  if (src.kind === 'git') return fetchGit(paths, src, opts.update ?? false);
  if (src.kind === 'http') return fetchHttp(paths, src);
  return fetchLocal(paths, src);
}
