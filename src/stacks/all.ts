/**
 * Every top-level stack (like `atmos describe stacks`): the files matched by
 * `stacks.included_paths` (default `**\/*`) minus `stacks.excluded_paths`, each resolved as
 * its own stack with all its deployable (non-abstract, enabled) terraform components.
 * Parsed files, import results and merged contents are shared between stacks.
 */
import path from 'node:path';
import { globSync } from 'tinyglobby';
import { YamlFileCache, displayPath } from '../config/files.js';
import { DiagnosticError } from '../diagnostics/index.js';
import { byteCompare, hasStackExtension } from './imports.js';
import { loadStack, loaderFor } from './load.js';
import { resolveComponent } from './components.js';
import type { LoadedStack, ResolvedStackComponent, StackLoadOptions } from './types.js';

export interface AllStacksOptions extends StackLoadOptions {
  /** Globs relative to the stacks base path (default `**\/*`). */
  included?: string[];
  /** Globs relative to the stacks base path (default none). */
  excluded?: string[];
}

export interface AllStacks {
  stacks: { file: string; components: Record<string, ResolvedStackComponent> }[];
  /** Number of component instances (stack × component). */
  instances: number;
}

export function listStackFiles(opts: AllStacksOptions): string[] {
  const included = opts.included?.length ? opts.included : ['**/*'];
  const found = globSync(included, {
    cwd: opts.stacksBasePath,
    ignore: opts.excluded ?? [],
    onlyFiles: true,
    dot: true,
    absolute: true,
    followSymbolicLinks: true,
  });
  return found
    .map((f) => path.resolve(f))
    .filter(hasStackExtension)
    .sort((a, b) => byteCompare(displayPath(opts.repoRoot, a), displayPath(opts.repoRoot, b)));
}

/**
 * How one component of a loaded stack is resolved: by default as `resolveComponent` does
 * (inheritance and merge); src/resolve passes one that also evaluates its Go templates, as it
 * does for a deployment's components.
 */
export type ComponentResolver = (stack: LoadedStack, name: string, files: YamlFileCache) => ResolvedStackComponent;

const byInheritance: ComponentResolver = (stack, name) => resolveComponent(stack, 'terraform', name);

/**
 * Without a cache of its own, the load runs without positions (about 3× faster parsing);
 * should anything be wrong it runs again with positions, so the error is located exactly.
 */
export function loadAllStacks(opts: AllStacksOptions, files?: YamlFileCache, resolve: ComponentResolver = byInheritance): AllStacks {
  if (files) return loadAll(opts, files, resolve);
  try {
    return loadAll(opts, new YamlFileCache(opts.repoRoot, false), resolve);
  } catch (e) {
    if (!(e instanceof DiagnosticError)) throw e;
    return loadAll(opts, new YamlFileCache(opts.repoRoot, true), resolve);
  }
}

function loadAll(opts: AllStacksOptions, cache: YamlFileCache, resolve: ComponentResolver): AllStacks {
  const loader = loaderFor(opts, cache);
  const stacks: AllStacks['stacks'] = [];
  let instances = 0;
  for (const abs of listStackFiles(opts)) {
    const file = displayPath(opts.repoRoot, abs);
    const rel = path.relative(loader.stacksBasePath, abs).split(path.sep).join('/');
    const stack = loadStack([{ path: rel, location: { file, line: 1, col: 1 } }], opts, cache);
    const components: Record<string, ResolvedStackComponent> = {};
    for (const name of stack.componentNames.terraform) {
      const c = resolve(stack, name, cache);
      if (c.abstract || !c.enabled) continue;
      components[name] = c;
      instances++;
    }
    stacks.push({ file, components });
  }
  return { stacks, instances };
}
