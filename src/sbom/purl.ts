/**
 * Package URLs (https://github.com/package-url/purl-spec): `pkg:type/namespace/name@version
 * ?qualifiers#subpath`. Every segment is percent-encoded except `:` (never encoded, as the
 * spec allows) and, in qualifier values, `/`; qualifiers are sorted by key.
 */

function enc(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':');
}

export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
  subpath?: string;
}

export function purl(p: PurlParts): string {
  let out = `pkg:${p.type.toLowerCase()}/`;
  if (p.namespace) {
    out += `${p.namespace
      .split('/')
      .filter((s) => s !== '')
      .map(enc)
      .join('/')}/`;
  }
  out += enc(p.name);
  if (p.version) out += `@${enc(p.version)}`;
  const q = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (q.length) out += `?${q.map(([k, v]) => `${k}=${enc(v).replace(/%2F/gi, '/')}`).join('&')}`;
  if (p.subpath) {
    const segs = p.subpath.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
    if (segs.length) out += `#${segs.map(enc).join('/')}`;
  }
  return out;
}

/** npm: `pkg:npm/%40scope/name@1.2.3` (scoped) or `pkg:npm/name@1.2.3`. */
export function npmPurl(name: string, version?: string, qualifiers?: Record<string, string | undefined>): string {
  const { group, name: bare } = splitNpmName(name);
  return purl({ type: 'npm', ...(group ? { namespace: group } : {}), name: bare, ...(version ? { version } : {}), ...(qualifiers ? { qualifiers } : {}) });
}

export function splitNpmName(name: string): { group?: string; name: string } {
  const m = /^(@[^/]+)\/(.+)$/.exec(name);
  return m ? { group: m[1], name: m[2] } : { name };
}

/** Go modules: `pkg:golang/github.com/google/uuid@v1.6.0`. */
export function golangPurl(modulePath: string, version?: string): string {
  const i = modulePath.lastIndexOf('/');
  return purl({ type: 'golang', ...(i > 0 ? { namespace: modulePath.slice(0, i) } : {}), name: modulePath.slice(i + 1), ...(version ? { version } : {}) });
}

/** PEP 503 normalised name (how pip and poetry compare names): lower case, runs of `-_.` -> `-`. */
export function normalisePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** PyPI: the purl spec lower-cases the name and replaces `_` with `-` (`.` is kept). */
export function pypiPurl(name: string, version?: string, qualifiers?: Record<string, string | undefined>): string {
  return purl({ type: 'pypi', name: name.toLowerCase().replace(/_/g, '-'), ...(version ? { version } : {}), ...(qualifiers ? { qualifiers } : {}) });
}

export function cargoPurl(name: string, version?: string, qualifiers?: Record<string, string | undefined>): string {
  return purl({ type: 'cargo', name, ...(version ? { version } : {}), ...(qualifiers ? { qualifiers } : {}) });
}
