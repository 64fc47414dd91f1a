/**
 * A repository's own modules and pipelines (SPEC 8), loaded beside the built-in ones:
 *
 *   modules/<name>/index.{ts,mts,js,mjs}   exporting defineModule(...) results (default or named)
 *   pipelines/<name>.{ts,mts,js,mjs}       exporting definePipeline(...) results
 *
 * (the directories are atmos.yaml `deployments.modules.paths` and `deployments.pipelines.paths`),
 * TypeScript included, without a build step (compile.ts), and the remote modules the
 * pipelines and the deployments' step hooks name by source
 * (`useModule('git::…//modules/x?ref=v1')`, `uses: git::…`; remote.ts, hook-sources.ts).
 * {@link loadExtensions} returns one registry of modules and one map of pipelines, with where
 * each came from: what a run binds its pipeline's modules in, and what `atmos-pipe modules`
 * lists.
 *
 * Trust: module code runs in the CLI process, like a build script; the steps it returns run in
 * the sandbox like every other step.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, error, type Location } from '../diagnostics/index.js';
import type { EventSink } from '../engine/types.js';
import type { AnyModule, ModuleRef, ModuleRegistry, PipelineDefinition } from '../module/index.js';
import { recordModuleDigest } from '../module/digest.js';
import type { Repository } from '../repository.js';
import { importScript, readUnit, SCRIPT_FILE, type ScriptUnit } from './compile.js';
import { exportedModules, exportedPipelines, isModuleName, moduleEntry, type ExtensionOrigin } from './exports.js';
import { hookSources } from './hook-sources.js';

export { isModuleName } from './exports.js';

/**
 * The module a `uses:` source names, fetched, pinned and verified (./remote.ts). The fetching
 * machinery (vendoring: Git, archives) is loaded only when a repository names a remote module.
 */
export async function resolveModuleRef(...args: Parameters<typeof import('./remote.js').resolveModuleRef>): ReturnType<typeof import('./remote.js').resolveModuleRef> {
  return (await import('./remote.js')).resolveModuleRef(...args);
}
export type { ExtensionOrigin } from './exports.js';

/** The modules and pipelines a run can use: the built-in ones and the repository's. */
export interface Extensions {
  /** By name; remote modules by their `uses:` source. */
  modules: ModuleRegistry;
  pipelines: Record<string, PipelineDefinition>;
  /** Where each module of {@link modules} comes from, by the same key. */
  origins: Map<string, ExtensionOrigin>;
  /** Where each pipeline comes from, by name. */
  pipelineOrigins: Map<string, ExtensionOrigin>;
}

export interface LoadExtensionsOptions {
  /** Refuse unpinned remote modules (default: the CI variable is set). */
  ci?: boolean;
  /** Notices (a remote module pinned or fetched again). */
  emit?: EventSink;
  /**
   * Also the module sources the deployments' step hooks name (`uses: git::…`, hook-sources.ts):
   * what the CLI loads, so `validate`, every run and `atmos-pipe modules` know them.
   */
  hooks?: boolean;
}

/** POSIX path relative to the repository root. */
function repoRelative(repo: Repository, p: string): string {
  return path.relative(repo.config.repoRoot, p).split(path.sep).join('/') || '.';
}

/** Where a definition's name is written in its file (the first quoted occurrence), else the file. */
function nameLocation(unit: ScriptUnit, rel: string, name: string): Location {
  const file = `${unit.display}/${rel}`;
  const text = unit.files.get(rel) ?? '';
  const m = new RegExp(`(['"\`])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1`).exec(text);
  if (!m) return { file, line: 1, col: 1 };
  const before = text.slice(0, m.index);
  return { file, line: before.split('\n').length, col: m.index - before.lastIndexOf('\n') };
}

/** Directories that exist among the configured ones. */
function existingDirs(dirs: string[]): string[] {
  return dirs.filter((d) => existsSync(d) && statSync(d).isDirectory());
}

/** The definitions a script exports; none is an error naming the file. */
function usable<T>(found: T[], unit: ScriptUnit, rel: string, what: string): T[] {
  if (found.length) return found;
  throw new DiagnosticError(
    error('module/nothing-exported', `${unit.display}/${rel} exports no ${what}(...) result`, { file: `${unit.display}/${rel}`, line: 1, col: 1 }, `export one: \`export default ${what}({ … })\``),
  );
}

/**
 * Adds the repository's definitions to `into` (a copy of the built-in ones), refusing a name
 * taken by a built-in one (unless the definition says `replaces: true`) or by another file.
 */
function merge<T extends { name: string; replaces?: boolean }>(
  kind: 'module' | 'pipeline',
  into: Map<string, T>,
  builtin: (name: string) => boolean,
  seen: Map<string, Location>,
  def: T,
  where: Location,
): void {
  const other = seen.get(def.name);
  if (other) {
    throw new DiagnosticError(
      error(`${kind}/duplicate-name`, `two ${kind}s are named "${def.name}": in ${other.file} and in ${where.file}`, where, `rename one of them (${kind} names are unique in a repository)`),
    );
  }
  if (builtin(def.name) && !def.replaces) {
    throw new DiagnosticError(
      error(
        `${kind}/shadows-builtin`,
        `${where.file}: a ${kind} named "${def.name}" is built in`,
        where,
        `rename it, or add \`replaces: true\` to its definition to use it instead of the built-in ${kind}`,
      ),
    );
  }
  if (def.replaces && !builtin(def.name)) {
    throw new DiagnosticError(error(`${kind}/replaces-nothing`, `${where.file}: ${kind} "${def.name}" says replaces: true, but no built-in ${kind} has that name`, where, 'remove `replaces: true`'));
  }
  seen.set(def.name, where);
  into.set(def.name, def);
}

/** Every `modules/<name>/` holding an index file: its modules, with their digests recorded. */
async function repositoryModules(repo: Repository, builtins: ModuleRegistry, into: Map<string, AnyModule>, origins: Map<string, ExtensionOrigin>): Promise<void> {
  const seen = new Map<string, Location>();
  for (const base of existingDirs(repo.config.modulesPaths)) {
    for (const name of readdirSync(base).sort()) {
      const root = path.join(base, name);
      if (name.startsWith('.') || !statSync(root).isDirectory() || !['index.ts', 'index.mts', 'index.js', 'index.mjs'].some((f) => existsSync(path.join(root, f)))) continue;
      const unit = readUnit(root, repoRelative(repo, root));
      const entry = moduleEntry(unit)!;
      for (const m of usable(exportedModules(await importScript(unit, entry, repo.config.cacheDir)), unit, entry, 'defineModule')) {
        const where = nameLocation(unit, entry, m.name);
        merge('module', into, (n) => builtins.has(n), seen, m, where);
        recordModuleDigest(m, unit.digest);
        origins.set(m.name, { kind: 'repository', file: `${unit.display}/${entry}`, digest: unit.digest });
      }
    }
  }
}

/** Every `pipelines/<name>.{ts,mts,js,mjs}`: its pipelines, with where each names its remote modules. */
async function repositoryPipelines(
  repo: Repository,
  builtins: Record<string, PipelineDefinition>,
  into: Map<string, PipelineDefinition>,
  origins: Map<string, ExtensionOrigin>,
): Promise<Map<string, Location>> {
  const seen = new Map<string, Location>();
  const remote = new Map<string, Location>();
  for (const base of existingDirs(repo.config.pipelinesPaths)) {
    const files = readdirSync(base, { withFileTypes: true }).filter((e) => e.isFile() && SCRIPT_FILE.test(e.name) && !e.name.endsWith('.d.ts'));
    if (files.length === 0) continue;
    // One unit for the folder: a pipeline may import a helper beside it.
    const unit = readUnit(base, repoRelative(repo, base));
    for (const f of files.map((e) => e.name).sort()) {
      for (const p of usable(exportedPipelines(await importScript(unit, f, repo.config.cacheDir)), unit, f, 'definePipeline')) {
        merge('pipeline', into, (n) => n in builtins, seen, p, nameLocation(unit, f, p.name));
        origins.set(p.name, { kind: 'repository', file: `${unit.display}/${f}`, digest: unit.digest });
        for (const s of p.stages) {
          const ref = s.module as Partial<ModuleRef>;
          if (ref.ref === 'module' && typeof ref.name === 'string' && !isModuleName(ref.name) && !remote.has(ref.name)) remote.set(ref.name, nameLocation(unit, f, ref.name));
          // A module defined in the pipeline's own files: their content is its code.
          if (ref.ref !== 'module') recordModuleDigest(s.module as AnyModule, unit.digest);
        }
      }
    }
  }
  return remote;
}

/**
 * The built-in modules and pipelines merged with the repository's own (see the file's
 * comment) and the remote modules its pipelines (and, with `hooks`, its deployments' step
 * hooks) name by source (fetched, pinned and verified), with the
 * origin of each. A name collision, a file that fails to load or exports nothing usable, and
 * an unpinned remote module in CI are configuration errors (exit 2) naming the file.
 */
export async function loadExtensions(repo: Repository, builtins: { modules: ModuleRegistry; pipelines: Record<string, PipelineDefinition> }, opts: LoadExtensionsOptions = {}): Promise<Extensions> {
  const builtin: ExtensionOrigin = { kind: 'builtin', digest: '' };
  const modules = new Map(builtins.modules);
  const pipelines = new Map(Object.entries(builtins.pipelines));
  const origins = new Map([...modules.keys()].map((n) => [n, builtin]));
  const pipelineOrigins = new Map([...pipelines.keys()].map((n) => [n, builtin]));
  await repositoryModules(repo, builtins.modules, modules, origins);
  const remote = await repositoryPipelines(repo, builtins.pipelines, pipelines, pipelineOrigins);
  if (opts.hooks) for (const [uses, location] of hookSources(repo)) if (!remote.has(uses)) remote.set(uses, location);
  for (const [uses, location] of remote) {
    const loaded = await resolveModuleRef(repo, uses, { ...opts, location });
    modules.set(uses, loaded.module);
    origins.set(uses, loaded.origin);
  }
  return { modules, pipelines: Object.fromEntries(pipelines), origins, pipelineOrigins };
}
