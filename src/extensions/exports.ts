/**
 * What a repository's script file offers: the `defineModule(...)` and `definePipeline(...)`
 * results among its exports (default or named; one file may export several), and where each
 * loaded definition came from.
 */
import type { AnyModule, PipelineDefinition } from '../module/index.js';
import type { ScriptUnit } from './compile.js';

/** Where a module or pipeline comes from. */
export interface ExtensionOrigin {
  /** `builtin`: shipped with atmos-pipe; `repository`: the repository's own files; `vendored`: a pinned remote source. */
  kind: 'builtin' | 'repository' | 'vendored';
  /** The entry file (repository-relative), or the `uses:` source; absent for a built-in. */
  file?: string;
  /**
   * sha256 of the module's script files: part of every step fingerprint it produces. Empty
   * for a built-in (see src/module/digest.ts).
   */
  digest: string;
  /** Vendored: the pinned source. */
  source?: string;
  /** Vendored from Git: the commit it was pinned at. */
  commit?: string;
}

/** A module loaded from files, with where it came from. */
export interface LoadedModule {
  module: AnyModule;
  origin: ExtensionOrigin;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A `defineModule` result: a name, a zod schema for its inputs and a steps function. */
function isModule(v: unknown): v is AnyModule {
  return isObject(v) && typeof v.name === 'string' && typeof v.steps === 'function' && isObject(v.inputs) && typeof v.inputs.parse === 'function';
}

/** A `definePipeline` result: a name and its stages. */
function isPipeline(v: unknown): v is PipelineDefinition {
  return isObject(v) && typeof v.name === 'string' && Array.isArray(v.stages) && typeof v.mutates === 'boolean';
}

function exported<T>(ns: Record<string, unknown>, is: (v: unknown) => v is T): T[] {
  return [...new Set(Object.values(ns).filter(is))];
}

/** The modules a script exports (each once, also when exported under two names). */
export function exportedModules(ns: Record<string, unknown>): AnyModule[] {
  return exported(ns, isModule);
}

/** The pipelines a script exports. */
export function exportedPipelines(ns: Record<string, unknown>): PipelineDefinition[] {
  return exported(ns, isPipeline);
}

/** A module name (`smoke-test`, `terraform.apply`) as opposed to a source to fetch it from. */
export function isModuleName(uses: string): boolean {
  return /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/.test(uses);
}

/** The entry file of a module directory: `index.ts`, `index.mts`, `index.js` or `index.mjs`. */
export function moduleEntry(unit: ScriptUnit): string | undefined {
  return ['index.ts', 'index.mts', 'index.js', 'index.mjs'].find((f) => unit.files.has(f));
}
