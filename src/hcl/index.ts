/**
 * Terraform module introspection with a real HCL parser (`@cdktf/hcl2json`, HashiCorp's
 * HCL parser compiled to WebAssembly). The parser's start-up costs ~100 ms, so results are
 * memoised per process and kept in a content-addressed cache (`<cacheDir>/cache/hcl/
 * <sha256 of the file>.json`): a cached entry can never be stale, because its key is the
 * file's content.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { ensureCacheDir } from '../cache/dir.js';

export interface ModuleVariable {
  name: string;
  /** Repository-relative file the variable is declared in. */
  file: string;
  hasDefault: boolean;
  type?: string;
  description?: string;
}

export interface ModuleInfo {
  dir: string;
  variables: Map<string, ModuleVariable>;
  outputs: string[];
  /** `module` calls: name -> {source, version}. */
  moduleCalls: { name: string; source?: string; version?: string }[];
}

interface FileSummary {
  variables: { name: string; hasDefault: boolean; type?: string; description?: string }[];
  outputs: string[];
  moduleCalls: { name: string; source?: string; version?: string }[];
}

type Hcl2Json = (filename: string, contents: string) => Promise<Record<string, unknown>>;
let parser: Promise<Hcl2Json> | undefined;
function hclParser(): Promise<Hcl2Json> {
  parser ??= import('@cdktf/hcl2json').then((m) => m.parse as Hcl2Json);
  return parser;
}

function summarize(doc: Record<string, unknown>): FileSummary {
  const out: FileSummary = { variables: [], outputs: [], moduleCalls: [] };
  const vars = (doc.variable ?? {}) as Record<string, unknown>;
  for (const [name, blocks] of Object.entries(vars)) {
    const b = (Array.isArray(blocks) ? blocks[0] : blocks) as Record<string, unknown> | undefined;
    const type = typeof b?.type === 'string' ? (b.type as string).replace(/^\$\{(.*)\}$/s, '$1') : undefined;
    out.variables.push({
      name,
      hasDefault: b ? 'default' in b : false,
      ...(type ? { type } : {}),
      ...(typeof b?.description === 'string' ? { description: b.description as string } : {}),
    });
  }
  out.outputs = Object.keys((doc.output ?? {}) as Record<string, unknown>);
  const mods = (doc.module ?? {}) as Record<string, unknown>;
  for (const [name, blocks] of Object.entries(mods)) {
    const b = (Array.isArray(blocks) ? blocks[0] : blocks) as Record<string, unknown> | undefined;
    out.moduleCalls.push({
      name,
      ...(typeof b?.source === 'string' ? { source: b.source as string } : {}),
      ...(typeof b?.version === 'string' ? { version: b.version as string } : {}),
    });
  }
  return out;
}

const memo = new Map<string, FileSummary>();
/** Cache entries parsed in this process, written only by {@link commitModuleCache}. */
const pending = new Map<string, FileSummary>();
/** Parse-cache directories written to (`<cache_dir>/cache`): their cache dir ignores itself in Git. */
const pendingDirs = new Set<string>();

/**
 * Persist parse results gathered so far. Called once a command has succeeded, so that a
 * command that fails on bad input writes nothing.
 */
export function commitModuleCache(): void {
  try {
    if (pending.size) for (const d of pendingDirs) ensureCacheDir(path.dirname(d));
  } catch {
    // read-only checkout: nothing is written below
  }
  pendingDirs.clear();
  for (const [file, summary] of pending) {
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(summary));
      renameSync(tmp, file);
    } catch {
      // The cache is an optimisation; a read-only checkout still works.
    }
  }
  pending.clear();
}

export interface ReadModuleOptions {
  /** Directory for the content-addressed parse cache; none: parse every time. */
  cacheDir?: string;
  /** Path shown in locations (repository-relative file names). */
  displayRoot?: string;
}

/** Parse every `*.tf` and `*.tf.json` file of a root module directory. */
export async function readModule(dir: string, opts: ReadModuleOptions = {}): Promise<ModuleInfo> {
  const info: ModuleInfo = { dir, variables: new Map(), outputs: [], moduleCalls: [] };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.tf') || n.endsWith('.tf.json'))
      .sort();
  } catch {
    return info;
  }
  const hclDir = opts.cacheDir ? path.join(opts.cacheDir, 'hcl') : undefined;
  if (opts.cacheDir) pendingDirs.add(opts.cacheDir);
  for (const n of names) {
    const abs = path.join(dir, n);
    const text = readFileSync(abs, 'utf8');
    const digest = createHash('sha256')
      .update(n.endsWith('.json') ? 'json\0' : 'hcl\0')
      .update(text)
      .digest('hex');
    let summary = memo.get(digest);
    if (!summary && hclDir) {
      try {
        summary = JSON.parse(readFileSync(path.join(hclDir, `${digest}.json`), 'utf8')) as FileSummary;
      } catch {
        summary = undefined;
      }
    }
    const shown = opts.displayRoot ? path.relative(opts.displayRoot, abs).split(path.sep).join('/') : abs;
    if (!summary) {
      let doc: Record<string, unknown>;
      try {
        doc = n.endsWith('.json') ? (JSON.parse(text) as Record<string, unknown>) : await (await hclParser())(n, text);
      } catch (e) {
        const msg = String((e as Error)?.message ?? e).split('\n')[0];
        const m = /:(\d+),(\d+)/.exec(msg);
        throw new DiagnosticError(
          error('terraform/parse', `cannot parse Terraform file: ${msg}`, { file: shown, line: m ? Number(m[1]) : 1, col: m ? Number(m[2]) : 1 }, 'run `terraform validate` in the module for details'),
        );
      }
      summary = summarize(doc);
      if (hclDir) pending.set(path.join(hclDir, `${digest}.json`), summary);
    }
    memo.set(digest, summary);
    for (const v of summary.variables) info.variables.set(v.name, { ...v, file: shown });
    info.outputs.push(...summary.outputs);
    info.moduleCalls.push(...summary.moduleCalls);
  }
  return info;
}

/** A `.tfvars`/`.hcl` file's attributes as plain values: what `!include` of such a file gives (src/stacks/include.ts). */
export async function parseHclFile(abs: string): Promise<Record<string, unknown>> {
  const parse = await hclParser();
  return parse(path.basename(abs), readFileSync(abs, 'utf8'));
}
