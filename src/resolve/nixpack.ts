/**
 * Nixpack components (SPEC 3 "Resolution", SPEC 9): the deployment's vars with templates
 * evaluated, the image tag evaluated once, and the source directory checked — inside the
 * repository, out of the modules, the cache and `.git`, no symlink out of it, and shipping at
 * least one file (a build copies what Git would ship).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { DiagnosticBag, Location } from '../diagnostics/index.js';
import type { AtmosConfig } from '../config/atmos.js';
import type { DeclaredComponentConfig, DeclaredComponentType, NixpackComponentConfig } from '../config/deployment.js';
import type { YamlFileCache } from '../config/files.js';
import { containmentProblem, symlinkProblem, walkTree, type BadSymlink } from '../config/paths.js';
import { buildContext } from '../nixpack/context.js';
import { isPlainMap, locOf } from '../yaml/index.js';
import type { ProtectedDir } from './backend.js';
import type { GitInfo } from './git.js';
import type { ComponentNames } from './references.js';
import { evaluate, type FoundRef, type TemplateScope } from './templates.js';
import type { DeferredValue } from './types.js';
import { deferredOf } from './vars.js';

/** Per command (file cache): a source's build context is listed once, whatever the number of targets. */
const SOURCE_CONTEXTS = new WeakMap<YamlFileCache, Map<string, { bad?: BadSymlink; empty: boolean } | undefined>>();

/** A nixpack source's build context, judged: its first bad symlink, and whether it ships nothing. */
function sourceContext(repoRoot: string, dir: string, files: YamlFileCache): { bad?: BadSymlink; empty: boolean } | undefined {
  let byDir = SOURCE_CONTEXTS.get(files);
  if (!byDir) SOURCE_CONTEXTS.set(files, (byDir = new Map()));
  if (!byDir.has(dir)) {
    const walked = existsSync(dir) ? walkTree(dir, { ...buildContext(dir, repoRoot), within: repoRoot }) : undefined;
    byDir.set(dir, walked && { ...(walked.bad ? { bad: walked.bad } : {}), empty: !walked.bad && !walked.entries.some((e) => e.type === 'file') });
  }
  return byDir.get(dir);
}

/** A component's source directory (`vars[key]`, relative to the base path) if it is inside the repository and out of the protected directories; else reported. */
function containedSource(
  cfg: AtmosConfig,
  what: string,
  vars: Record<string, unknown>,
  key: string,
  location: Location,
  forbidden: ProtectedDir[],
  bag: DiagnosticBag,
  hint: string,
): string | undefined {
  const value = String(vars[key]);
  const problem = containmentProblem(cfg.repoRoot, path.resolve(cfg.basePath, value), {
    what: `${what}: ${key}`,
    value,
    location: locOf(vars, key) ?? location,
    forbidden,
    hint,
  });
  if (problem) bag.add(problem);
  return problem ? undefined : path.resolve(cfg.basePath, value);
}

/**
 * The source directory of a component of a declared type whose module names one (`source`):
 * inside the repository and a directory (located, exit 2); undefined when the type names none
 * or a problem was reported.
 */
export function declaredSource(
  cfg: AtmosConfig,
  type: DeclaredComponentType,
  address: string,
  vars: Record<string, unknown>,
  location: Location,
  forbidden: ProtectedDir[],
  bag: DiagnosticBag,
): string | undefined {
  if (!type.source || typeof vars[type.source] !== 'string') return undefined;
  const dir = containedSource(
    cfg,
    address,
    vars,
    type.source,
    location,
    forbidden,
    bag,
    `vars.${type.source} names the directory ${address} is built from, inside the repository (not a module, the cache or .git)`,
  );
  if (dir === undefined || (existsSync(dir) && statSync(dir).isDirectory())) return dir;
  bag.error(
    'component/source',
    `${address}: vars.${type.source} "${String(vars[type.source])}" is not a directory`,
    locOf(vars, type.source) ?? location,
    `it names a directory of the repository, relative to ${path.relative(cfg.repoRoot, cfg.basePath) || 'its root'}`,
  );
  return undefined;
}

/** The source directory of a nixpack component, or undefined when a problem was reported. */
export function nixpackSource(cfg: AtmosConfig, n: string, c: NixpackComponentConfig, location: Location, forbidden: ProtectedDir[], files: YamlFileCache, bag: DiagnosticBag): string | undefined {
  const sourceDir = containedSource(
    cfg,
    `nixpack component "${n}"`,
    c.vars,
    'source',
    location,
    forbidden,
    bag,
    'vars.source names the application directory inside the repository (not a module, the cache or .git), e.g. ./services/api',
  );
  if (sourceDir === undefined) return undefined;
  const context = sourceContext(cfg.repoRoot, sourceDir, files);
  if (context?.bad) {
    bag.add(symlinkProblem(cfg.repoRoot, `nixpack component "${n}": build context ${c.vars.source}`, context.bad, locOf(c.vars, 'source') ?? location));
    return undefined;
  }
  if (context?.empty) {
    bag.error(
      'nixpack/empty-context',
      `nixpack component "${n}": source "${c.vars.source}" ships no file: everything in it is ignored by Git (or .dockerignore)`,
      locOf(c.vars, 'source') ?? location,
      'a build copies what Git would ship: commit the sources, or stop ignoring them',
    );
    return undefined;
  }
  return sourceDir;
}

/**
 * The tag of an image whose `tag` is not written: the short commit SHA, as
 * `{{ git.short_sha }}` gives it — never `latest`, a mutable tag (issue 13 item 7). Empty
 * outside a Git repository: the image is then known by its digest only.
 */
export function derivedImageTag(git: GitInfo): string {
  return git.short_sha ?? '';
}

/** The vars and settings of a nixpack component, and those that depend on other components' products. */
export function nixpackSections(
  n: string,
  c: NixpackComponentConfig,
  refs: FoundRef[],
  location: Location,
  scope: TemplateScope,
  names: ComponentNames,
  bag: DiagnosticBag,
): { vars: Record<string, unknown>; settings: Record<string, unknown>; deferred: DeferredValue[] } {
  const sections = declaredSections(c, refs, location, scope, names, bag);
  // The image tag is evaluated once (it is also what nixpack.<c>.tag returns); with none
  // written and none derivable (no Git repository) vars show none.
  if (isPlainMap(sections.vars.image) && scope.nixpack[n].tag !== '') (sections.vars.image as Record<string, unknown>).tag = scope.nixpack[n].tag;
  const deferred = sections.deferred.filter((d) => !(d.section === 'vars' && d.path.length === 2 && d.path[0] === 'image' && d.path[1] === 'tag'));
  return { ...sections, deferred };
}

/**
 * The vars and settings of a component of a type a module declares (SPEC 8), evaluated as a
 * nixpack component's are, and those that depend on other components' products.
 */
export function declaredSections(
  c: DeclaredComponentConfig,
  refs: FoundRef[],
  location: Location,
  scope: TemplateScope,
  names: ComponentNames,
  bag: DiagnosticBag,
): { vars: Record<string, unknown>; settings: Record<string, unknown>; deferred: DeferredValue[] } {
  const raw = { vars: (c.vars ?? {}) as Record<string, unknown>, settings: c.settings ?? {} };
  const vars = evaluate(raw.vars, scope, names, bag, location) as Record<string, unknown>;
  const settings = evaluate(raw.settings, scope, names, bag, location) as Record<string, unknown>;
  const deferred = deferredOf(
    refs,
    { vars: { stack: undefined, raw: raw.vars, evaluated: vars }, settings: { stack: undefined, raw: raw.settings, evaluated: settings } },
    { vars, settings, env: {} },
    location,
    'replace',
  );
  return { vars, settings, deferred };
}
