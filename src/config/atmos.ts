/**
 * atmos.yaml: the keys atmos-pipe reads (SPEC 2.1). A missing file means defaults;
 * unknown keys are ignored (Atmos owns the rest of the file); a known key with a wrong
 * type is a located error.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticBag, choicesHint, type Location } from '../diagnostics/index.js';
import { parseDuration } from '../output/format.js';
import { LIST_MERGE_STRATEGIES, type ListMergeStrategy } from '../stacks/merge.js';
import { describeType, isPlainMap, locOf } from '../yaml/index.js';
import { YamlFileCache } from './files.js';
import { envListSchema, secretListSchema, type CredentialLevel } from '../secrets/index.js';
import { parseWithSchema } from './zod-diagnostics.js';
import { containmentProblem } from './paths.js';

/** `deployments.engine` / `--engine`: `auto` picks Dagger when it is reachable (engine/select.ts). */
export type EngineChoice = 'auto' | 'local' | 'dagger';
export type SandboxMode = 'strict' | 'off';

export interface ToolPin {
  command: string;
  version?: string;
  image?: string;
}

/** atmos.yaml `stacks.name_pattern` / `stacks.name_template` (with where the template is written). */
export interface StackNaming {
  namePattern?: string;
  nameTemplate?: { text: string; location?: Location };
}

/** Resolved repository settings; every path is absolute. */
export interface AtmosConfig {
  /** Directory atmos.yaml lives in (or the working directory when there is none). */
  repoRoot: string;
  /** Path of atmos.yaml when one was read. */
  configFile?: string;
  basePath: string;
  terraformBasePath: string;
  /**
   * `components.nixpack.base_path` (default `services`): where a nixpack component named only
   * by its name in a deployment file (the short form, ./short-form.ts) has its source.
   * Absent in configurations built by hand: the default applies.
   */
  nixpackBasePath?: string;
  stacksBasePath: string;
  deploymentsBasePath: string;
  releasesPath: string;
  cacheDir: string;
  engine: EngineChoice;
  /** deployments.sandbox: the local engine's sandbox mode (unset: strict, unless --sandbox or ATMOS_PIPE_SANDBOX says otherwise). */
  sandbox?: SandboxMode;
  parallelism?: number;
  /**
   * `deployments.allow_exec`: whether the `!exec` YAML function may run its shell command
   * (Atmos has no such switch; atmos-pipe refuses `!exec` unless the repository opts in).
   */
  allowExec?: boolean;
  tools: { terraform: ToolPin };
  trackingRemote?: string;
  /** `deployments.env` / `deployments.secrets`: credentials every deployment's steps receive. */
  credentials: CredentialLevel;
  /**
   * `deployments.cache`: the shared cache (README "Shared cache"). `remote`: `oci://<registry>/<repository>`
   * or a shared directory (relative to the repository root); `trusted_refs`: the refs whose
   * namespaces every run reads and only their own runs write (default: the default branch).
   */
  cache: { remote?: string; trustedRefs?: string[] };
  /** `deployments.registry.timeout`: seconds a registry request may take (default: see pushImage). */
  registryTimeoutSeconds?: number;
  listMergeStrategy: ListMergeStrategy;
  /** atmos.yaml `integrations.github`, merged under each component's `settings.integrations.github`. */
  integrationsGithub?: Record<string, unknown>;
  /** atmos.yaml `stacks.name_pattern` / `stacks.name_template`: how a `stacks:` entry that is a stack name finds its file. */
  stackNaming: StackNaming;
  /** Atmos `stacks.included_paths` / `excluded_paths` (used when loading every stack). */
  stacksIncluded: string[];
  stacksExcluded: string[];
  /** Atmos `components.terraform.workspaces_enabled` (default true): false keeps every component in `default`. */
  workspacesEnabled: boolean;
  /** atmos.yaml `templates.settings`: how Go templates in stack manifests are evaluated. */
  templates: TemplateSettings;
  /**
   * `deployments.modules.paths` (default `[modules]`): directories holding the repository's
   * own step modules, one `<name>/index.{ts,mts,js,mjs}` each (SPEC 8).
   */
  modulesPaths: string[];
  /** `deployments.pipelines.paths` (default `[pipelines]`): directories holding `<name>.{ts,mts,js,mjs}` pipelines. */
  pipelinesPaths: string[];
}

/**
 * atmos.yaml `templates.settings` (https://atmos.tools/core-concepts/stacks/templates). Atmos
 * applies its built-in defaults (templates, Sprig and Gomplate on; pkg/config/default.go) only
 * when no atmos.yaml is found; with one, an absent `enabled` is Go's zero value, false
 * (pkg/config/load.go merges the defaults only "if no other configuration file was located").
 * Gomplate datasources are not read (a template using one is refused).
 */
export interface TemplateSettings {
  enabled: boolean;
  /** Number of passes: each pass renders the previous pass's output again (Atmos `evaluations`). */
  evaluations: number;
  delimiters: [string, string];
  sprig: boolean;
  gomplate: boolean;
  /** `templates.settings.env`: variables set while templates evaluate (`env "X"` reads them). */
  env: Record<string, string>;
}

export interface LoadAtmosOptions {
  /** Working directory (`--chdir`); defaults to process.cwd(). */
  cwd?: string;
  /** Explicit atmos.yaml (`--config`), relative to cwd. */
  configPath?: string;
  files?: YamlFileCache;
}

function str(bag: DiagnosticBag, m: Record<string, unknown>, key: string, file: string): string | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    bag.error('atmos/type', `atmos.yaml: "${key}" must be a string, got ${describeType(v)}`, locOf(m, key) ?? { file, line: 1, col: 1 });
    return undefined;
  }
  return v;
}

function map(m: unknown, key: string): Record<string, unknown> {
  if (!isPlainMap(m)) return {};
  const v = m[key];
  return isPlainMap(v) ? v : {};
}

function strList(bag: DiagnosticBag, m: Record<string, unknown>, key: string, file: string): string[] {
  const v = m[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    bag.error('atmos/type', `atmos.yaml: "${key}" must be a list of strings`, locOf(m, key) ?? { file, line: 1, col: 1 });
    return [];
  }
  return v as string[];
}

/** `components.terraform.workspaces_enabled`: a boolean, true when unset (as in Atmos). */
function workspacesEnabledOf(bag: DiagnosticBag, tf: Record<string, unknown>): boolean {
  const v = tf.workspaces_enabled;
  if (v === undefined || v === null) return true;
  if (typeof v === 'boolean') return v;
  bag.error('atmos/type', `atmos.yaml: components.terraform.workspaces_enabled must be true or false, got ${describeType(v)}`, locOf(tf, 'workspaces_enabled'));
  return true;
}

function bool(bag: DiagnosticBag, m: Record<string, unknown>, key: string, dotted: string, def: boolean): boolean {
  const v = m[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') {
    bag.error('atmos/type', `atmos.yaml: ${dotted} must be true or false, got ${describeType(v)}`, locOf(m, key), 'write true or false (unquoted)');
    return def;
  }
  return v;
}

/** `templates.settings`, checked and with Atmos's defaults. */
function templateSettings(bag: DiagnosticBag, root: Record<string, unknown>, found: boolean): TemplateSettings {
  const def = !found;
  const s = map(map(root, 'templates'), 'settings');
  const where = 'templates.settings';
  let evaluations = 1;
  if (s.evaluations !== undefined && s.evaluations !== null) {
    if (typeof s.evaluations === 'number' && Number.isInteger(s.evaluations) && s.evaluations >= 0) evaluations = Math.max(1, s.evaluations);
    else bag.error('atmos/type', `atmos.yaml: ${where}.evaluations must be a positive integer, got ${JSON.stringify(s.evaluations)}`, locOf(s, 'evaluations'));
  }
  let delimiters: [string, string] = ['{{', '}}'];
  const d = s.delimiters;
  if (d !== undefined && d !== null) {
    // Atmos: "'delimiters' must be an array with two string items: left and right delimiter" (internal/exec/template_utils.go)
    if (Array.isArray(d) && d.length === 2 && d.every((x) => typeof x === 'string' && x !== '')) delimiters = [d[0], d[1]];
    else
      bag.error(
        'atmos/template-delimiters',
        `atmos.yaml: ${where}.delimiters must be a list of two non-empty strings (left and right delimiter)`,
        locOf(s, 'delimiters'),
        'e.g. delimiters: ["{{", "}}"]',
      );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(map(s, 'env'))) env[k] = typeof v === 'string' ? v : String(v);
  return {
    enabled: bool(bag, s, 'enabled', `${where}.enabled`, def),
    evaluations,
    delimiters,
    sprig: bool(bag, map(s, 'sprig'), 'enabled', `${where}.sprig.enabled`, def),
    gomplate: bool(bag, map(s, 'gomplate'), 'enabled', `${where}.gomplate.enabled`, def),
    env,
  };
}

/** Find and read atmos.yaml; throws a DiagnosticError on invalid values. */
export function loadAtmosConfig(opts: LoadAtmosOptions = {}): AtmosConfig {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  let configFile: string | undefined;
  if (opts.configPath) {
    configFile = path.resolve(cwd, opts.configPath);
  } else {
    for (const name of ['atmos.yaml', '.atmos.yaml']) {
      const p = path.join(cwd, name);
      if (existsSync(p)) {
        configFile = p;
        break;
      }
    }
  }
  const repoRoot = configFile ? path.dirname(configFile) : cwd;
  const files = opts.files ?? new YamlFileCache(repoRoot);
  const bag = new DiagnosticBag();
  let root: Record<string, unknown> = {};
  let file = 'atmos.yaml';
  if (configFile) {
    const f = files.loadValid(configFile);
    file = f.file;
    if (f.value !== null && !isPlainMap(f.value)) {
      bag.error('atmos/type', `atmos.yaml must be a mapping, got ${describeType(f.value)}`, locOf(f.value) ?? { file, line: 1, col: 1 });
    } else root = (f.value as Record<string, unknown>) ?? {};
  }
  // Every configured path must stay inside the repository (located at the offending value).
  // Defaults are checked too: a committed `.atmos` symlink must not move the cache out of the repository.
  const dirKey = (m: Record<string, unknown>, key: string, dotted: string, from: string, def: string): string => {
    const raw = str(bag, m, key, file);
    const abs = path.resolve(from, raw ?? def);
    const location = locOf(m, key) ?? (configFile ? { file, line: 1, col: 1 } : undefined);
    // (A default below a refused base_path is not reported again.)
    if (raw === undefined && bag.errors.length) return abs;
    const d = containmentProblem(repoRoot, abs, { what: `atmos.yaml: ${dotted}${raw === undefined ? ' (default)' : ''}`, value: raw ?? def, location });
    if (d) bag.add(d);
    return abs;
  };
  const base = dirKey(root, 'base_path', 'base_path', repoRoot, '.');
  const components = map(root, 'components');
  const tf = map(components, 'terraform');
  const stacks = map(root, 'stacks');
  const dep = map(root, 'deployments');
  const settings = map(root, 'settings');
  const tools = map(dep, 'tools');
  const tfTool = map(tools, 'terraform');
  const tracking = map(dep, 'tracking');
  const registry = map(dep, 'registry');
  const cacheMap = map(dep, 'cache');
  const trustedRefs = strList(bag, cacheMap, 'trusted_refs', file);
  const cacheRemote = str(bag, cacheMap, 'remote', file);
  let registryTimeoutSeconds: number | undefined;
  if (registry.timeout !== undefined && registry.timeout !== null) {
    const t = registry.timeout;
    const secs = typeof t === 'number' ? t : typeof t === 'string' ? parseDuration(t) : undefined;
    if (secs !== undefined && secs > 0) registryTimeoutSeconds = secs;
    else bag.error('atmos/registry-timeout', `atmos.yaml: deployments.registry.timeout must be a positive duration, got ${JSON.stringify(t)}`, locOf(registry, 'timeout'), 'seconds, or e.g. 30s, 5m');
  }

  const engineRaw = str(bag, dep, 'engine', file) ?? 'auto';
  let engine: EngineChoice = 'auto';
  if (engineRaw === 'auto' || engineRaw === 'local' || engineRaw === 'dagger') engine = engineRaw;
  else bag.error('atmos/engine', `atmos.yaml: deployments.engine must be auto, local or dagger, got "${engineRaw}"`, locOf(dep, 'engine'), choicesHint(engineRaw, ['auto', 'local', 'dagger']));

  const sandboxRaw = str(bag, dep, 'sandbox', file);
  let sandbox: SandboxMode | undefined;
  if (sandboxRaw === undefined || sandboxRaw === 'strict' || sandboxRaw === 'off') sandbox = sandboxRaw;
  else bag.error('atmos/sandbox', `atmos.yaml: deployments.sandbox must be strict or off, got "${sandboxRaw}"`, locOf(dep, 'sandbox'), choicesHint(sandboxRaw, ['strict', 'off']));

  let parallelism: number | undefined;
  if (dep.parallelism !== undefined && dep.parallelism !== null) {
    if (typeof dep.parallelism === 'number' && Number.isInteger(dep.parallelism) && dep.parallelism > 0) parallelism = dep.parallelism;
    else bag.error('atmos/type', 'atmos.yaml: deployments.parallelism must be a positive integer', locOf(dep, 'parallelism'));
  }

  const allowExec = dep.allow_exec ?? false;
  if (typeof allowExec !== 'boolean') bag.error('atmos/type', 'atmos.yaml: deployments.allow_exec must be true or false', locOf(dep, 'allow_exec'));

  const lmsRaw = str(bag, settings, 'list_merge_strategy', file) ?? 'replace';
  let listMergeStrategy: ListMergeStrategy = 'replace';
  if ((LIST_MERGE_STRATEGIES as readonly string[]).includes(lmsRaw)) listMergeStrategy = lmsRaw as ListMergeStrategy;
  else
    bag.error(
      'atmos/list-merge-strategy',
      `atmos.yaml: settings.list_merge_strategy must be replace, append or merge, got "${lmsRaw}"`,
      locOf(settings, 'list_merge_strategy'),
      choicesHint(lmsRaw, [...LIST_MERGE_STRATEGIES]),
    );

  const namePattern = str(bag, stacks, 'name_pattern', file);
  const nameTemplate = str(bag, stacks, 'name_template', file);
  const stackNaming: StackNaming = {
    ...(namePattern ? { namePattern } : {}),
    ...(nameTemplate ? { nameTemplate: { text: nameTemplate, location: locOf(stacks, 'name_template') ?? { file, line: 1, col: 1 } } } : {}),
  };

  const integrations = map(root, 'integrations');
  const github = integrations.github;
  if (github !== undefined && github !== null && !isPlainMap(github)) {
    bag.error('atmos/type', `atmos.yaml: integrations.github must be a mapping, got ${describeType(github)}`, locOf(integrations, 'github') ?? { file, line: 1, col: 1 });
  }

  const credentials: CredentialLevel = {};
  for (const [key, schema] of [
    ['env', envListSchema],
    ['secrets', secretListSchema],
  ] as const) {
    if (dep[key] === undefined || dep[key] === null) continue;
    const r = parseWithSchema(schema, dep[key], locOf(dep, key) ?? { file, line: 1, col: 1 }, 'atmos', ['deployments', key]);
    if (!r.ok) for (const d of r.diagnostics) bag.add(d);
    else (credentials as Record<string, unknown>)[key] = r.data;
  }

  // Extension directories: each listed path stays inside the repository (located at the list).
  const dirList = (m: Record<string, unknown>, dotted: string, def: string): string[] => {
    const given = strList(bag, m, 'paths', file);
    const list = m.paths === undefined || m.paths === null ? [def] : given;
    return list.map((raw) => {
      const abs = path.resolve(base, raw);
      const d = containmentProblem(repoRoot, abs, { what: `atmos.yaml: ${dotted}`, value: raw, location: locOf(m, 'paths') ?? (configFile ? { file, line: 1, col: 1 } : undefined) });
      if (d) bag.add(d);
      return abs;
    });
  };

  const cfg: AtmosConfig = {
    repoRoot,
    configFile,
    basePath: base,
    terraformBasePath: dirKey(tf, 'base_path', 'components.terraform.base_path', base, 'components/terraform'),
    nixpackBasePath: dirKey(map(components, 'nixpack'), 'base_path', 'components.nixpack.base_path', base, 'services'),
    stacksBasePath: dirKey(stacks, 'base_path', 'stacks.base_path', base, 'stacks'),
    deploymentsBasePath: dirKey(dep, 'base_path', 'deployments.base_path', base, 'deployments'),
    releasesPath: dirKey(dep, 'releases_path', 'deployments.releases_path', base, 'releases'),
    cacheDir: dirKey(dep, 'cache_dir', 'deployments.cache_dir', base, '.atmos'),
    engine,
    ...(sandbox ? { sandbox } : {}),
    parallelism,
    ...(allowExec === true ? { allowExec } : {}),
    tools: {
      terraform: {
        // The deployments key wins when both are set: it is atmos-pipe's own, set on purpose
        // for the pipeline; Atmos's `components.terraform.command` (e.g. tofu) is the default.
        command: str(bag, tfTool, 'command', file) ?? str(bag, tf, 'command', file) ?? 'terraform',
        version: tfTool.version === undefined ? undefined : String(tfTool.version),
        image: str(bag, tfTool, 'image', file),
      },
    },
    trackingRemote: str(bag, tracking, 'remote', file),
    credentials,
    cache: {
      ...(cacheRemote !== undefined ? { remote: cacheRemote } : {}),
      ...(trustedRefs.length ? { trustedRefs } : {}),
    },
    registryTimeoutSeconds,
    listMergeStrategy,
    ...(isPlainMap(github) ? { integrationsGithub: github } : {}),
    stackNaming,
    stacksIncluded: strList(bag, stacks, 'included_paths', file),
    stacksExcluded: strList(bag, stacks, 'excluded_paths', file),
    workspacesEnabled: workspacesEnabledOf(bag, tf),
    templates: templateSettings(bag, root, configFile !== undefined),
    modulesPaths: dirList(map(dep, 'modules'), 'deployments.modules.paths', 'modules'),
    pipelinesPaths: dirList(map(dep, 'pipelines'), 'deployments.pipelines.paths', 'pipelines'),
  };
  bag.throwIfErrors();
  return cfg;
}
