/**
 * Go modules: go.mod (module path, `require`, `replace`) and go.sum (`h1:` hashes).
 * Since Go 1.17 go.mod lists every module of the build list, so those are the packages;
 * go.sum adds their hashes (kept as properties: `h1:` is a hash of the module's file
 * hashes, not of an artifact). Without requirements in go.mod, every module go.sum has a
 * content hash for is listed. Go records no module graph in either file, so the modules
 * hang flat under the application (those marked `// indirect` say so in a property).
 */
import { warning } from '../../diagnostics/index.js';
import { newPackage, type SbomPackage } from '../model.js';
import { golangPurl } from '../purl.js';
import type { LockGraph, LockInput } from './types.js';

export interface GoMod {
  module?: string;
  go?: string;
  require: { path: string; version: string; indirect: boolean; line: number }[];
  replace: { from: string; fromVersion?: string; to: string; toVersion?: string }[];
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.startsWith('"') && t.endsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return t.slice(1, -1);
    }
  }
  if (t.startsWith('`') && t.endsWith('`')) return t.slice(1, -1);
  return t;
}

export function parseGoMod(text: string): GoMod {
  const out: GoMod = { require: [], replace: [] };
  let block: string | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const comment = raw.indexOf('//');
    const indirect = comment >= 0 && /\/\/\s*indirect\b/.test(raw.slice(comment));
    const line = (comment >= 0 ? raw.slice(0, comment) : raw).trim();
    if (!line) return;
    if (block) {
      if (line === ')') {
        block = undefined;
        return;
      }
      directive(block, line, indirect, i + 1);
      return;
    }
    const m = /^(\w+)\s*(.*)$/.exec(line);
    if (!m) return;
    const [, verb, rest] = m;
    if (rest === '(') block = verb;
    else directive(verb, rest, indirect, i + 1);
  });
  return out;

  function directive(verb: string, rest: string, indirect: boolean, line: number) {
    const f = rest.trim().split(/\s+/).map(unquote);
    if (verb === 'module') out.module = f[0];
    else if (verb === 'go') out.go = f[0];
    else if (verb === 'require' && f.length >= 2) out.require.push({ path: f[0], version: f[1], indirect, line });
    else if (verb === 'replace') {
      const arrow = f.indexOf('=>');
      if (arrow < 0) return;
      const left = f.slice(0, arrow);
      const right = f.slice(arrow + 1);
      out.replace.push({ from: left[0], ...(left[1] ? { fromVersion: left[1] } : {}), to: right[0], ...(right[1] ? { toVersion: right[1] } : {}) });
    }
  }
}

/** go.sum: `module version[/go.mod] h1:hash` -> `module@version` -> { h1, goModH1 }. */
function parseGoSum(text: string): Map<string, { path: string; version: string; h1?: string; goModH1?: string }> {
  const out = new Map<string, { path: string; version: string; h1?: string; goModH1?: string }>();
  for (const raw of text.split(/\r?\n/)) {
    const f = raw.trim().split(/\s+/);
    if (f.length < 3) continue;
    const [path, ver, hash] = f;
    const goMod = ver.endsWith('/go.mod');
    const version = goMod ? ver.slice(0, -'/go.mod'.length) : ver;
    const key = `${path}@${version}`;
    const e = out.get(key) ?? { path, version };
    if (goMod) e.goModH1 = hash;
    else e.h1 = hash;
    out.set(key, e);
  }
  return out;
}

export function parseGoModules(input: LockInput, goModText: string | undefined): LockGraph & { module?: string } {
  const mod = goModText !== undefined ? parseGoMod(goModText) : { require: [], replace: [] as GoMod['replace'] };
  const sums = parseGoSum(input.text);
  const out: LockGraph & { module?: string } = { file: input.file, packages: [], edges: new Map(), warnings: [], ...(mod.module ? { module: mod.module } : {}) };
  const byRef = new Map<string, SbomPackage>();
  const replaceOf = (path: string, version: string) => mod.replace.find((r) => r.from === path && (!r.fromVersion || r.fromVersion === version));

  const add = (path: string, version: string, indirect: boolean | undefined) => {
    const rep = replaceOf(path, version);
    let p: SbomPackage;
    if (rep && (rep.to.startsWith('./') || rep.to.startsWith('../') || rep.to.startsWith('/'))) {
      p = newPackage({ bomRef: `${input.localRef}/go/${path}`, type: 'library', name: path, properties: [['atmos:golang:replace', rep.to]] });
    } else {
      const realPath = rep ? rep.to : path;
      const realVersion = rep?.toVersion ?? version;
      const purl = golangPurl(realPath, realVersion);
      p = newPackage({ bomRef: purl, type: 'library', name: realPath, version: realVersion, purl });
      const s = sums.get(`${realPath}@${realVersion}`);
      if (s?.h1) p.properties.push(['atmos:golang:h1', s.h1]);
      if (s?.goModH1) p.properties.push(['atmos:golang:go.mod:h1', s.goModH1]);
      if (rep) p.properties.push(['atmos:golang:replaces', `${path}@${version}`]);
      if (!s?.h1 && sums.size > 0) {
        out.warnings.push(warning('sbom/go-sum-missing', `${input.file} has no hash for ${realPath}@${realVersion}`, { file: input.file, line: 1, col: 1 }, 'run `go mod tidy`'));
      }
    }
    if (indirect !== undefined) p.properties.push(['atmos:golang:indirect', String(indirect)]);
    if (!byRef.has(p.bomRef)) byRef.set(p.bomRef, p);
  };

  if (mod.require.length > 0) {
    for (const r of mod.require) add(r.path, r.version, r.indirect);
  } else {
    for (const s of [...sums.values()].sort((a, b) => (`${a.path}@${a.version}` < `${b.path}@${b.version}` ? -1 : 1))) {
      if (s.h1) add(s.path, s.version, undefined);
    }
  }
  out.packages = [...byRef.values()];
  // Flat: the application depends on every module of its build list.
  out.direct = out.packages.map((p) => p.bomRef).sort();
  return out;
}
