/**
 * Python: requirements.txt (pins, `--hash`, `-r` includes, direct references; no graph:
 * flat under the application) and poetry.lock (`[[package]]` with files and their hashes,
 * `[package.dependencies]` as the graph; lock format 1.x and 2.x), with pyproject.toml
 * telling which packages the application uses directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { warning } from '../../diagnostics/index.js';
import { addEdge, newPackage, sha256Hash, type SbomExternalRef, type SbomHash, type SbomPackage } from '../model.js';
import { normalisePypiName, pypiPurl } from '../purl.js';
import { obj, parseTomlLocated, str, type LockGraph, type LockInput } from './types.js';

/** The name of a PEP 508 requirement string (`requests[socks]>=2; python_version>"3"` -> `requests`). */
function pep508Name(spec: string): string | undefined {
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec);
  return m ? m[1] : undefined;
}

interface Requirement {
  name: string;
  version?: string;
  /** The specifier when not an exact pin (`>=2.0`). */
  specifier?: string;
  hashes: string[];
  url?: string;
  editable: boolean;
  file: string;
  line: number;
}

/** requirements.txt, following `-r` includes (relative to the including file). */
function readRequirements(abs: string, file: string, text: string, seen = new Set<string>()): { reqs: Requirement[]; files: string[] } {
  seen.add(path.resolve(abs));
  const reqs: Requirement[] = [];
  const files = [file];
  // Join continuation lines, remembering where each logical line starts.
  const logical: { text: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    while (/(^|[^\\])\\$/.test(l) && i + 1 < lines.length) {
      l = `${l.slice(0, -1)} ${lines[++i]}`;
    }
    logical.push({ text: l, line: start + 1 });
  }
  for (const { text: rawLine, line } of logical) {
    const l = rawLine.replace(/(^|\s)#.*$/, '').trim();
    if (!l) continue;
    const opt = /^(-r|--requirement|-c|--constraint|-e|--editable)(?:\s+|=)(.+)$/.exec(l);
    if (opt) {
      const [, flag, value] = opt;
      if (flag === '-r' || flag === '--requirement') {
        const incAbs = path.resolve(path.dirname(abs), value.trim());
        const incFile = path.posix.join(path.posix.dirname(file), value.trim());
        if (seen.has(incAbs) || !existsSync(incAbs)) continue;
        const sub = readRequirements(incAbs, incFile, readFileSync(incAbs, 'utf8'), seen);
        reqs.push(...sub.reqs);
        files.push(...sub.files);
      } else if (flag === '-e' || flag === '--editable') {
        const r = directReference(value.trim(), file, line, true);
        if (r) reqs.push(r);
      }
      continue;
    }
    if (l.startsWith('-')) continue; // --index-url, --find-links, --pre, …
    // Per-requirement options: --hash=sha256:…
    const hashes = [...l.matchAll(/--hash[=\s]+(\S+)/g)].map((m) => m[1]);
    const spec = l
      .replace(/\s--\S+(?:[=\s]+\S+)?/g, ' ')
      .replace(/--hash[=\s]+\S+/g, '')
      .trim();
    const noMarker = spec.split(';')[0].trim();
    const at = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*@\s*(\S+)$/.exec(noMarker);
    if (at) {
      reqs.push({ name: at[1], url: at[3], hashes, editable: false, file, line });
      continue;
    }
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(noMarker);
    if (!m || /^[a-z+]+:\/\//i.test(noMarker) || noMarker.startsWith('.') || noMarker.startsWith('/')) {
      const r = directReference(noMarker, file, line, false);
      if (r) reqs.push({ ...r, hashes });
      continue;
    }
    const specifier = m[3].replace(/\s+/g, '');
    const pin = /^===?([^,*\s]+)$/.exec(specifier);
    reqs.push({ name: m[1], ...(pin ? { version: pin[1] } : specifier ? { specifier } : {}), hashes, editable: false, file, line });
  }
  return { reqs, files };
}

/** `git+https://…#egg=name`, `https://…/name-1.0-py3-none-any.whl`, `./local/pkg`. */
function directReference(ref: string, file: string, line: number, editable: boolean): Requirement | undefined {
  const egg = /[#&]egg=([A-Za-z0-9._-]+)/.exec(ref);
  const base = ref.split(/[?#]/)[0].replace(/\/+$/, '');
  const last = base.slice(base.lastIndexOf('/') + 1);
  const wheel = /^([A-Za-z0-9_.]+?)-(\d[^-]*)-.*\.whl$/.exec(last);
  const sdist = /^([A-Za-z0-9_.-]+?)-(\d[A-Za-z0-9.+!]*)\.(tar\.gz|zip|tar\.bz2)$/.exec(last);
  const name = egg?.[1] ?? wheel?.[1] ?? sdist?.[1] ?? (last || undefined);
  if (!name) return undefined;
  const version = wheel?.[2] ?? sdist?.[2];
  return { name, ...(version ? { version } : {}), url: ref, hashes: [], editable, file, line };
}

function referenceQualifiers(url: string | undefined): Record<string, string> | null {
  if (!url) return {};
  if (/^(git|hg|svn|bzr)\+/.test(url)) return { vcs_url: url.replace(/#.*$/, '') };
  if (/^https?:\/\//.test(url)) return { download_url: url.replace(/#.*$/, '') };
  return null; // a local path
}

export function parseRequirements(input: LockInput): LockGraph {
  const { reqs, files } = readRequirements(input.abs, input.file, input.text);
  const out: LockGraph & { files: string[] } = { file: input.file, packages: [], edges: new Map(), warnings: [], files };
  const byRef = new Map<string, SbomPackage>();
  for (const r of reqs) {
    const q = referenceQualifiers(r.url);
    const purl = q ? pypiPurl(r.name, r.version, q) : undefined;
    const bomRef = purl ?? `${input.localRef}/pypi/${normalisePypiName(r.name)}`;
    if (byRef.has(bomRef)) continue;
    const hashes = r.hashes.map((h) => sha256Hash(h)).filter((h): h is SbomHash => h !== undefined);
    const p = newPackage({ bomRef, type: 'library', name: r.name, ...(r.version ? { version: r.version } : {}), ...(purl ? { purl } : {}) });
    if (hashes.length === 1) p.hashes.push(hashes[0]);
    else for (const h of hashes) p.properties.push(['atmos:pypi:hash', `sha256:${h.content}`]);
    if (r.specifier) p.properties.push(['atmos:pypi:specifier', r.specifier]);
    if (r.url) p.externalRefs.push({ type: /^(git|hg|svn|bzr)\+/.test(r.url) ? 'vcs' : 'distribution', url: r.url });
    if (r.editable) p.properties.push(['atmos:pypi:editable', 'true']);
    if (!r.version && !r.url) {
      out.warnings.push(
        warning(
          'sbom/unpinned',
          `${r.file}: ${r.name} is not pinned to a version (${r.specifier ?? 'no specifier'}); the SBOM cannot say which version is installed`,
          { file: r.file, line: r.line, col: 1 },
          'pin it with == (e.g. `pip freeze > requirements.txt`) or use a lock file',
        ),
      );
    }
    byRef.set(bomRef, p);
  }
  out.packages = [...byRef.values()];
  // requirements.txt has no graph: everything hangs directly under the application.
  out.direct = out.packages.map((p) => p.bomRef).sort();
  return out;
}

/** Direct dependency names from pyproject.toml (poetry sections and PEP 621), normalised. */
function pyprojectDirect(pyproject: Record<string, unknown> | undefined): Set<string> | undefined {
  if (!pyproject) return undefined;
  const names = new Set<string>();
  const poetry = obj(obj(pyproject.tool)?.poetry);
  for (const n of Object.keys(obj(poetry?.dependencies) ?? {})) if (n.toLowerCase() !== 'python') names.add(normalisePypiName(n));
  for (const n of Object.keys(obj(poetry?.['dev-dependencies']) ?? {})) names.add(normalisePypiName(n));
  for (const g of Object.values(obj(poetry?.group) ?? {})) for (const n of Object.keys(obj(obj(g)?.dependencies) ?? {})) names.add(normalisePypiName(n));
  const project = obj(pyproject.project);
  const specs: unknown[] = [...(Array.isArray(project?.dependencies) ? project.dependencies : [])];
  for (const v of Object.values(obj(project?.['optional-dependencies']) ?? {})) if (Array.isArray(v)) specs.push(...v);
  for (const v of Object.values(obj(pyproject['dependency-groups']) ?? {})) if (Array.isArray(v)) specs.push(...v);
  for (const s of specs) {
    const n = typeof s === 'string' ? pep508Name(s) : undefined;
    if (n) names.add(normalisePypiName(n));
  }
  return names.size ? names : undefined;
}

function fileUrl(source: Record<string, unknown> | undefined, name: string, file: string): string {
  const base = source && str(source.type) === 'legacy' && str(source.url) ? (source.url as string).replace(/\/+$/, '') : 'https://pypi.org/simple';
  return `${base}/${normalisePypiName(name)}/#${encodeURIComponent(file)}`;
}

export function parsePoetryLock(input: LockInput, pyproject: Record<string, unknown> | undefined): LockGraph {
  const doc = parseTomlLocated(input.text, input.file);
  const out: LockGraph = { file: input.file, packages: [], edges: new Map(), warnings: [] };
  const list = Array.isArray(doc.package) ? (doc.package as unknown[]).map(obj).filter((p): p is Record<string, unknown> => p !== undefined) : [];
  const legacyFiles = obj(obj(doc.metadata)?.files) ?? {};
  const byName = new Map<string, string[]>();
  const refs: { pkg: Record<string, unknown>; ref: string }[] = [];
  const byRef = new Map<string, SbomPackage>();
  for (const pkg of list) {
    const name = str(pkg.name);
    if (!name) continue;
    const version = str(pkg.version);
    const source = obj(pkg.source);
    const type = str(source?.type);
    let q: Record<string, string> | null = {};
    if (type === 'git') q = { vcs_url: `git+${str(source?.url) ?? ''}${str(source?.resolved_reference) ? `@${source?.resolved_reference as string}` : ''}` };
    else if (type === 'url') q = { download_url: str(source?.url) ?? '' };
    else if (type === 'legacy' && str(source?.url)) q = { repository_url: source?.url as string };
    else if (type === 'directory' || type === 'file') q = null;
    const purl = q ? pypiPurl(name, version, q) : undefined;
    const bomRef = purl ?? `${input.localRef}/pypi/${normalisePypiName(name)}`;
    const files = (Array.isArray(pkg.files) ? pkg.files : Array.isArray(legacyFiles[name]) ? (legacyFiles[name] as unknown[]) : [])
      .map(obj)
      .filter((f): f is Record<string, unknown> => f !== undefined);
    const externalRefs: SbomExternalRef[] = [];
    let sdist: SbomHash | undefined;
    let only: SbomHash | undefined;
    for (const f of files) {
      const h = sha256Hash(str(f.hash));
      const fname = str(f.file);
      if (!h || !fname) continue;
      externalRefs.push({ type: 'distribution', url: fileUrl(source, name, fname), hashes: [h] });
      if (/\.(tar\.gz|zip|tar\.bz2)$/.test(fname)) sdist ??= h;
      only = files.length === 1 ? h : undefined;
    }
    if (type === 'git' && str(source?.url)) externalRefs.push({ type: 'vcs', url: source?.url as string });
    const main = sdist ?? only;
    const groups = Array.isArray(pkg.groups) ? (pkg.groups as unknown[]).map(String) : undefined;
    const dev = groups ? !groups.includes('main') : str(pkg.category) === 'dev';
    const p = newPackage({
      bomRef,
      type: 'library',
      name,
      ...(version ? { version } : {}),
      ...(purl ? { purl } : {}),
      ...(str(pkg.description) ? { description: pkg.description as string } : {}),
      scope: dev ? 'excluded' : pkg.optional === true ? 'optional' : 'required',
      // The package's hash: its source distribution's (or its only file's); every file's hash is on its distribution reference.
      hashes: main ? [main] : [],
      externalRefs,
    });
    if (groups) for (const g of groups) p.properties.push(['atmos:poetry:group', g]);
    if (!byRef.has(bomRef)) byRef.set(bomRef, p);
    refs.push({ pkg, ref: bomRef });
    const key = normalisePypiName(name);
    byName.set(key, [...(byName.get(key) ?? []), bomRef]);
  }
  for (const { pkg, ref } of refs) {
    for (const [dep, spec] of Object.entries(obj(pkg.dependencies) ?? {})) {
      const specs = Array.isArray(spec) ? spec : [spec];
      // Optional dependencies are installed only for an extra; the lock does not say which.
      if (specs.every((s) => obj(s)?.optional === true)) continue;
      for (const to of byName.get(normalisePypiName(dep)) ?? []) if (to !== ref) addEdge(out.edges, ref, to);
    }
  }
  out.packages = [...byRef.values()];
  const direct = pyprojectDirect(pyproject);
  if (direct) out.direct = [...direct].flatMap((n) => byName.get(n) ?? []).sort();
  return out;
}
