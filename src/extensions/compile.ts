/**
 * A repository's TypeScript or JavaScript, imported without a build step. A directory of
 * scripts (a module's `modules/<name>/`, the `pipelines/` folder, a fetched remote module) is
 * one unit: its files are read and hashed; the digest names a directory of their transformed
 * JavaScript under `<cacheDir>/cache/modules/<hex>/`, written once (TypeScript → JavaScript
 * with sucrase, which only strips types) and imported from there. A warm load reads and hashes
 * the files and imports: nothing is transformed again.
 *
 * Import specifiers are rewritten while transforming, so the cached files need no
 * node_modules of their own: `atmos-pipe/module` and `zod` lead to the running CLI's own
 * instances (through two small files that re-export them, see {@link sharedSpecifiers}), so a
 * user's `defineModule`, `DiagnosticError` and zod schemas are the CLI's; relative imports
 * lead to the transformed sibling (`./util.js` finds `util.ts`, as TypeScript does). Other
 * packages resolve from the repository's node_modules (the cache lives inside the repository).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zod from 'zod';
import { secretKey } from '../cache/actions.js';
import { writeFileAtomic } from '../cache/cas.js';
import { willCreate } from '../cache/provisional.js';
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';
import * as moduleApi from '../module/index.js';
import { sha256 } from '../steps/fingerprint.js';

/** Bump when the transformed output changes for the same files: every cached unit becomes a miss. */
const FORMAT = 1;

/** What a script file may be called. */
export const SCRIPT_FILE = /\.(ts|mts|js|mjs)$/;

/** A directory of scripts, read: its files (POSIX paths relative to `root`) and their digest. */
export interface ScriptUnit {
  root: string;
  /** How the unit's files are named in messages (`modules/smoke-test`, or a remote source). */
  display: string;
  files: Map<string, string>;
  /** sha256 of the files' paths and contents: the module's content digest. */
  digest: string;
}

function listScripts(root: string, rel = '', out: string[] = []): string[] {
  for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) listScripts(root, p, out);
    else if (e.isFile() && SCRIPT_FILE.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Read a unit's scripts and hash them (sorted by path, each path with its content). */
export function readUnit(root: string, display: string): ScriptUnit {
  const files = new Map<string, string>();
  for (const rel of listScripts(root).sort()) files.set(rel, readFileSync(path.join(root, rel), 'utf8'));
  const parts: string[] = [];
  for (const [rel, text] of files) parts.push(rel, String(Buffer.byteLength(text)), text);
  return { root, display, files, digest: sha256(parts.join('\0')) };
}

/** Where a unit's file is named in a message. */
function fileOf(unit: ScriptUnit, rel: string): string {
  return `${unit.display}/${rel}`;
}

/**
 * The text of a file that re-exports a namespace this process placed on `globalThis`, under
 * every name it has (string export names, so `enum` is fine).
 */
function reexport(key: string, ns: Record<string, unknown>): string {
  const names = Object.keys(ns).filter((n) => n !== 'default');
  const lines = [`const ns = globalThis[Symbol.for(${JSON.stringify(key)})];`];
  for (const [i, n] of names.entries()) lines.push(`const v${i} = ns[${JSON.stringify(n)}];`);
  lines.push(`export { ${names.map((n, i) => `v${i} as ${JSON.stringify(n)}`).join(', ')} };`);
  if ('default' in ns) lines.push('export default ns.default;');
  return `${lines.join('\n')}\n`;
}

interface Shared {
  /** Specifier → file name in the cache's modules directory. */
  files: Map<string, string>;
  /** Part of every unit's key: a CLI with other exports writes other files. */
  key: string;
  /** File name → text, written next to the units. */
  texts: Map<string, string>;
}

let shared: Shared | undefined;

/**
 * The specifiers that lead to the CLI's own instances, and the files that re-export them.
 * Names carry the digest of their text, so CLIs of different versions sharing a cache never
 * overwrite each other's.
 */
function sharedSpecifiers(): Shared {
  if (shared) return shared;
  const g = globalThis as Record<symbol, unknown>;
  g[Symbol.for('atmos-pipe.module')] = moduleApi;
  g[Symbol.for('atmos-pipe.zod')] = zod;
  const api = reexport('atmos-pipe.module', moduleApi);
  const z = reexport('atmos-pipe.zod', zod);
  const apiFile = `atmos-pipe-module-${sha256(api).slice(7, 19)}.mjs`;
  const zodFile = `zod-${sha256(z).slice(7, 19)}.mjs`;
  shared = {
    texts: new Map([
      [apiFile, api],
      [zodFile, z],
    ]),
    files: new Map([
      ['atmos-pipe/module', apiFile],
      ['zod', zodFile],
      ['zod/v4', zodFile],
    ]),
    key: `${apiFile} ${zodFile}`,
  };
  return shared;
}

/** `./x.js` → the unit's file it names: as written, `.js` → `.ts`, `.mjs` → `.mts`, or with an extension or `/index` added. */
function resolveRelative(unit: ScriptUnit, from: string, spec: string, location: Location): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  if (base === '..' || base.startsWith('../')) {
    throw new DiagnosticError(
      error(
        'module/import-outside',
        `${fileOf(unit, from)} imports "${spec}", which is outside ${unit.display}/`,
        location,
        "a module's files live in its own directory; share code through an npm package or copy it",
      ),
    );
  }
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts')];
  for (const ext of ['.ts', '.mts', '.js', '.mjs']) candidates.push(`${base}${ext}`, `${base}/index${ext}`);
  const found = candidates.find((c) => unit.files.has(c));
  if (found) return found;
  throw new DiagnosticError(error('module/import-missing', `${fileOf(unit, from)} imports "${spec}": no such file in ${unit.display}/`, location, 'check the path (relative to the importing file)'));
}

/** 1-based line and column of an offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** One file as JavaScript with its specifiers rewritten (see the file's comment). */
async function compileFile(unit: ScriptUnit, rel: string, text: string, shared: Shared): Promise<string> {
  let code = text;
  if (/\.m?ts$/.test(rel)) {
    // A CommonJS package: its exports are the default export both in Node and in the bundle.
    const { transform } = (await import('sucrase')).default;
    try {
      code = transform(text, { transforms: ['typescript'], disableESTransforms: true, filePath: rel }).code;
    } catch (e) {
      // Sucrase reports `Unexpected token (3:14)`: where, in the source file.
      const m = /\((\d+):(\d+)\)\s*$/.exec((e as Error).message);
      const location = { file: fileOf(unit, rel), line: m ? Number(m[1]) : 1, col: m ? Number(m[2]) + 1 : 1 };
      throw new DiagnosticError(error('module/syntax', `${fileOf(unit, rel)}: ${(e as Error).message}`, location, 'fix the syntax error; the file is loaded as TypeScript'));
    }
  }
  const lexer = await import('es-module-lexer');
  await lexer.init;
  let imports: readonly import('es-module-lexer').Import[];
  try {
    [imports] = lexer.parse(code);
  } catch (e) {
    const offset = (e as { idx?: number }).idx ?? 0;
    throw new DiagnosticError(error('module/syntax', `${fileOf(unit, rel)}: not a valid ES module (${(e as Error).message})`, { file: fileOf(unit, rel), ...lineCol(code, offset) }));
  }
  const up = '../'.repeat(rel.split('/').length);
  // From the end, so earlier offsets stay valid.
  for (const imp of [...imports].reverse()) {
    const spec = imp.specifier;
    if (typeof spec !== 'string' || (imp.type === 'dynamic' && imp.glob)) continue;
    let to: string | undefined;
    const sharedFile = shared.files.get(spec);
    if (sharedFile) to = `${up}${sharedFile}`;
    else if (spec.startsWith('./') || spec.startsWith('../')) {
      const target = resolveRelative(unit, rel, spec, { file: fileOf(unit, rel), ...lineCol(code, imp.start) });
      const r = path.posix.relative(path.posix.dirname(rel), `${target}.mjs`);
      to = r.startsWith('.') ? r : `./${r}`;
    }
    if (to === undefined) continue;
    // A static import's range is the specifier's text; a dynamic one's is the string literal.
    code = code.slice(0, imp.start) + (imp.type === 'dynamic' ? JSON.stringify(to) : to) + code.slice(imp.end);
  }
  return code;
}

/** The cache directory of transformed units. */
function modulesCache(cacheDir: string): string {
  return path.join(cacheDir, 'cache', 'modules');
}

/** HMAC of a transformed unit's files (in the unit's file order), with the action cache's key. */
function unitMac(key: Buffer, dir: string, unit: ScriptUnit): string {
  const h = createHmac('sha256', key);
  for (const rel of unit.files.keys()) {
    const file = path.join(dir, `${rel}.mjs`);
    h.update(`${rel}\0`);
    h.update(existsSync(file) ? readFileSync(file) : Buffer.from('(missing)'));
    h.update('\0');
  }
  return h.digest('hex');
}

/** The MAC recorded beside a transformed unit ('' when there is none). */
function readMac(dir: string): string {
  try {
    return readFileSync(`${dir}.mac`, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The unit's directory of transformed files in the cache, written when it is not there yet
 * (in a temp directory renamed into place, so a half-written unit is never imported).
 */
async function compiledUnit(unit: ScriptUnit, cacheDir: string): Promise<string> {
  const sh = sharedSpecifiers();
  const dir = modulesCache(cacheDir);
  const key = sha256(`${FORMAT}\0${sh.key}\0${unit.digest}`).slice(7);
  const out = path.join(dir, key);
  // The re-exporting files first, also for a cached unit: they may have been cleaned away.
  for (const [name, text] of sh.texts) {
    if (existsSync(path.join(dir, name))) continue;
    willCreate(path.join(dir, name));
    writeFileAtomic(path.join(dir, name), text);
  }
  const macKeyFile = path.join(cacheDir, 'cache', 'secret.key');
  if (!existsSync(macKeyFile)) willCreate(macKeyFile);
  const macKey = secretKey(path.join(cacheDir, 'cache'));
  // A cached unit is code this process will run: used only when its MAC (the action cache's
  // key) still matches; an edited or damaged copy is transformed again.
  if (existsSync(out)) {
    if (unitMac(macKey, out, unit) === readMac(out)) return out;
    rmSync(out, { recursive: true, force: true });
    rmSync(`${out}.mac`, { force: true });
  }
  willCreate(out);
  willCreate(`${out}.mac`);
  const tmp = path.join(dir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    for (const [rel, text] of unit.files) {
      const file = path.join(tmp, `${rel}.mjs`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, await compileFile(unit, rel, text, sh));
    }
    try {
      renameSync(tmp, out);
    } catch (e) {
      // Another process wrote the same unit first.
      if (!existsSync(out)) throw e;
    }
    writeFileAtomic(`${out}.mac`, unitMac(macKey, out, unit));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/**
 * Import one file of a unit (transformed and cached on first use). A file that throws while
 * it is imported is a configuration error naming the file and the cause, without a stack.
 */
export async function importScript(unit: ScriptUnit, rel: string, cacheDir: string): Promise<Record<string, unknown>> {
  const dir = await compiledUnit(unit, cacheDir);
  try {
    return (await import(pathToFileURL(path.join(dir, `${rel}.mjs`)).href)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    // Messages name the cached copy; the user knows the source.
    const message = String((e as Error)?.message ?? e)
      .split(`${dir}${path.sep}`)
      .join(`${unit.display}/`)
      .replace(/\.(m?[tj]s)\.mjs\b/g, '.$1');
    throw new DiagnosticError(
      error('module/import-failed', `${fileOf(unit, rel)} failed to load: ${message}`, { file: fileOf(unit, rel), line: 1, col: 1 }, 'module code runs when it is loaded: fix the error it throws'),
    );
  }
}
