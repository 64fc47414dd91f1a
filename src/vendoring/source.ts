/**
 * Vendor source strings (SPEC 7), a go-getter subset:
 *
 *   git::<url>//<subdir>?ref=<ref>          any URL git can clone (file://, https://, ssh://, scp-like, a path)
 *   github.com/<org>/<repo>//<subdir>?ref=  (also gitlab.com/, bitbucket.org/): Git over https
 *   https://host/x.tar.gz//<subdir>         a gzipped tarball (.tar.gz, .tgz or ?archive=tar.gz);
 *                                           http:// only for loopback hosts
 *   ./modules/vpc, /abs/dir, file:///dir    a local directory
 *
 * Templates: `{{ version }}` / `{{ .Version }}` and `{{ component }}` / `{{ .Component }}`
 * (Atmos style) are filled from the entry. A Git source without `?ref=` gets the entry's
 * version as its ref.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type VendorSource =
  | { kind: 'local' /** Absolute directory. */; path: string }
  | { kind: 'git' /** What `git clone` is given. */; url: string /** POSIX subdirectory, '' for the root. */; subdir: string; ref?: string }
  | { kind: 'http'; url: string; subdir: string };

export class SourceError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'SourceError';
  }
}

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Fill `{{ version }}`, `{{ .Version }}`, `{{ component }}`, `{{ .Component }}`. */
export function renderTemplate(text: string, vars: { version?: string; component: string }): string {
  return text.replace(TEMPLATE, (_m, expr: string) => {
    const key = expr.replace(/^\./, '').toLowerCase();
    if (key === 'version') {
      if (vars.version === undefined || vars.version === '') throw new SourceError(`"${text}" uses {{ ${expr} }} but the entry has no version`, 'add `version: <tag or version>` to the entry');
      return vars.version;
    }
    if (key === 'component') return vars.component;
    throw new SourceError(`"${text}": unknown template {{ ${expr} }}`, 'available: {{ version }} (or {{ .Version }}) and {{ component }} (or {{ .Component }})');
  });
}

/** True when the text contains a version placeholder. */
function usesVersion(text: string): boolean {
  for (const m of text.matchAll(TEMPLATE)) if (m[1].replace(/^\./, '').toLowerCase() === 'version') return true;
  return false;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A relative POSIX subdirectory without `..`, '' for the root. */
function cleanSubdir(sub: string, raw: string): string {
  const parts = sub.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new SourceError(`"${raw}": the subdirectory must not contain ".."`);
  return parts.join('/');
}

/** Split go-getter style `<url>//<subdir>?<query>`. */
function splitUrl(s: string, raw: string): { base: string; subdir: string; query: URLSearchParams } {
  let rest = s;
  let query = new URLSearchParams();
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = new URLSearchParams(rest.slice(q + 1));
    rest = rest.slice(0, q);
  }
  const scheme = rest.indexOf('://');
  const from = scheme >= 0 ? scheme + 3 : 0;
  // `file:///abs` keeps its leading slash: search after it.
  const searchFrom = scheme >= 0 && rest[from] === '/' ? from + 1 : from;
  const i = rest.indexOf('//', searchFrom);
  if (i < 0) return { base: rest, subdir: '', query };
  return { base: rest.slice(0, i), subdir: cleanSubdir(rest.slice(i + 2), raw), query };
}

function gitFrom(base: string, subdir: string, query: URLSearchParams, raw: string, baseDir: string): VendorSource {
  for (const k of query.keys()) {
    if (k !== 'ref' && k !== 'depth')
      throw new SourceError(`"${raw}": unsupported Git source parameter "${k}"`, 'supported: ref (tag, branch or commit) and depth (ignored: the store keeps a mirror)');
  }
  const ref = query.get('ref') ?? undefined;
  if (ref !== undefined && (ref === '' || ref.startsWith('-') || /[\s\0~^:?*[\\]/.test(ref) || ref.includes('..'))) {
    throw new SourceError(`"${raw}": "${ref}" is not a valid Git ref`, 'use a tag, a branch or a full commit id');
  }
  if (!base || base.startsWith('-')) throw new SourceError(`"${raw}": missing repository URL after git::`);
  let url = base;
  // A plain path after git:: is relative to the file that declares it.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(base) && !/^[^/\\]+@[^/\\:]+:/.test(base)) url = path.resolve(baseDir, base);
  if (/^ext::/i.test(base)) throw new SourceError(`"${raw}": the ext:: transport is not allowed`);
  return { kind: 'git', url, subdir, ...(ref !== undefined ? { ref } : {}) };
}

/**
 * Parse a rendered source string. Relative local paths (and `git::<relative path>`) are
 * resolved against `baseDir`. Throws a {@link SourceError} for unsupported or unsafe sources.
 */
export function parseSource(raw: string, baseDir: string): VendorSource {
  const s = raw.trim();
  if (!s) throw new SourceError('the source is empty');
  if (s.includes('\0')) throw new SourceError('the source contains a NUL character');
  const forced = /^([a-z0-9]+)::(.*)$/i.exec(s);
  if (forced) {
    const getter = forced[1].toLowerCase();
    if (getter !== 'git') {
      throw new SourceError(
        `"${raw}": the ${getter}:: getter is not supported`,
        'supported sources: git::<url>//<subdir>?ref=<ref>, github.com/<org>/<repo>//<subdir>?ref=<ref>, https://…/x.tar.gz, a local directory',
      );
    }
    const { base, subdir, query } = splitUrl(forced[2], raw);
    return gitFrom(base, subdir, query, raw, baseDir);
  }
  const host = /^(github\.com|gitlab\.com|bitbucket\.org)\/(.+)$/i.exec(s);
  if (host) {
    const { base, subdir, query } = splitUrl(host[2], raw);
    const parts = base.split('/').filter(Boolean);
    if (parts.length < 2) throw new SourceError(`"${raw}": expected ${host[1]}/<org>/<repo>`);
    const repo = parts[1].endsWith('.git') ? parts[1] : `${parts[1]}.git`;
    const extra = parts.slice(2).join('/');
    return gitFrom(`https://${host[1].toLowerCase()}/${parts[0]}/${repo}`, cleanSubdir([extra, subdir].filter(Boolean).join('/'), raw), query, raw, baseDir);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    const sc = scheme[1].toLowerCase();
    if (sc === 'file') {
      const { base, subdir } = splitUrl(s, raw);
      let p: string;
      try {
        p = fileURLToPath(base);
      } catch {
        throw new SourceError(`"${raw}" is not a valid file:// URL`);
      }
      return { kind: 'local', path: subdir ? path.join(p, ...subdir.split('/')) : p };
    }
    if (sc === 'http' || sc === 'https') {
      const { base, subdir, query } = splitUrl(s, raw);
      let u: URL;
      try {
        u = new URL(base);
      } catch {
        throw new SourceError(`"${raw}" is not a valid URL`);
      }
      if (sc === 'http' && !isLoopbackHost(u.hostname)) {
        throw new SourceError(`"${raw}": plain http is only allowed for loopback hosts`, 'use https://');
      }
      if (u.pathname.endsWith('.git')) return gitFrom(base, subdir, query, raw, baseDir);
      const archive = query.get('archive');
      const isTarGz = /\.(tar\.gz|tgz)$/i.test(u.pathname) || archive === 'tar.gz' || archive === 'tgz';
      if (!isTarGz) {
        throw new SourceError(`"${raw}": only gzipped tarballs (.tar.gz, .tgz) can be fetched over ${sc}`, 'point at a .tar.gz, add ?archive=tar.gz, or use git::https://…');
      }
      query.delete('archive');
      const qs = query.toString();
      u.search = qs ? `?${qs}` : '';
      return { kind: 'http', url: u.toString(), subdir };
    }
    if (sc === 'ssh' || sc === 'git') {
      const { base, subdir, query } = splitUrl(s, raw);
      return gitFrom(base, subdir, query, raw, baseDir);
    }
    throw new SourceError(
      `"${raw}": the ${sc}:// scheme is not supported`,
      'supported sources: git::<url>//<subdir>?ref=<ref>, github.com/<org>/<repo>//<subdir>?ref=<ref>, https://…/x.tar.gz, a local directory',
    );
  }
  if (/^[^/\\]+@[^/\\:]+:/.test(s)) {
    const { base, subdir, query } = splitUrl(s, raw);
    return gitFrom(base, subdir, query, raw, baseDir);
  }
  if (s.includes('?')) throw new SourceError(`"${raw}": a local path takes no query string`, 'for Git, write git::<url>?ref=<ref>');
  return { kind: 'local', path: path.resolve(baseDir, s) };
}

/**
 * The source string an entry resolves to: templates filled, and for Git sources without a
 * `ref=` the version appended as `?ref=<version>`.
 */
export function renderSource(source: string, version: string | undefined, component: string): string {
  let s = renderTemplate(source, { version, component });
  if (version !== undefined && version !== '' && !usesVersion(source)) {
    const isGit =
      /^git::/i.test(s) || /^(github\.com|gitlab\.com|bitbucket\.org)\//i.test(s) || /^(ssh|git):\/\//i.test(s) || /^[^/\\]+@[^/\\:]+:/.test(s) || /^https?:\/\/[^?]*\.git(\/\/|\?|$)/i.test(s);
    if (isGit && !/[?&]ref=/.test(s)) s += `${s.includes('?') ? '&' : '?'}ref=${version}`;
  }
  return s;
}
