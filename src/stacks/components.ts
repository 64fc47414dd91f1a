/**
 * `atmos describe component <c> -s <stack>` for a loaded stack (SPEC 3.1), following
 * Atmos's component processor:
 *
 *  - globals: root `vars`/`settings`/`env` merged with the `terraform:` (or `helmfile:`)
 *    section's; `providers`, `backend_type`, `backend` from the `terraform:` section;
 *  - bases: the top-level `component:` chain first, then `metadata.inherits` in order; each
 *    base first resolves its own bases (its `component:` unless it is abstract, then its
 *    `metadata.inherits`), then adds its own sections. Bases accumulate left to right into
 *    one base configuration (later wins), merged with the global list strategy;
 *  - result: merge(globals, bases, component, component `overrides`) with the component's
 *    list merge strategy (the last `settings.list_merge_strategy` among globals, bases,
 *    component and overrides settings, else atmos.yaml's);
 *  - metadata: the bases' (without `inherits` and `type`) under the component's own;
 *  - the module directory: own `metadata.component`, else the deepest stack-defined base of
 *    the top-level `component:` chain, else the component's name — never a base's
 *    `metadata.component`;
 *  - `backend_type`: terraform section, then the last base processed, then the component;
 *    `backend` = merge(terraform.backend, bases, component)[backend_type] plus Atmos's
 *    defaults (s3 `workspace_key_prefix`, gcs `prefix`, azurerm `key`).
 */
import { choicesHint, didYouMean, fail, type Location } from '../diagnostics/index.js';
import { copyEntryLoc, copyLocs, describeType, ensureLocs, isPlainMap, keyLocOf, locOf, locsOf, setEntryLoc } from '../yaml/index.js';
import { LIST_MERGE_STRATEGIES, type ListMergeStrategy } from './merge.js';
import { atmosMergeShared } from './amerge.js';
import { mapAt, type StackComponentType, type Section } from './fileinfo.js';
import { internalOf, type StackInternal } from './load.js';
import type { LoadedStack, ResolvedStackComponent } from './types.js';

interface Globals {
  vars: Section;
  settings: Section;
  env: Section;
  providers: Section;
  backendType: string;
  backend: Section;
  /** Root `dependencies` under the `terraform:` section's (Atmos's scopes 1 and 2). */
  dependencies: Section;
  /** The `terraform:` section (where its `command` is set). */
  typeSection: Section;
  components: Section;
}

/** The accumulated configuration of a sequence of bases (Atmos `BaseComponentConfig`). */
interface BaseAccum {
  vars: Section;
  settings: Section;
  env: Section;
  providers: Section;
  backend: Section;
  metadata: Section;
  dependencies: Section;
  backendType: string;
  /** The last base setting a `command` (EMPTY when none does). */
  commandIn: Section;
}

const EMPTY: Section = Object.freeze({}) as Section;

function sec(m: unknown, key: string): Section {
  return mapAt(m, key) ?? EMPTY;
}

function globalsOf(st: StackInternal, type: StackComponentType): Globals {
  const key = `globals:${type}`;
  const hit = st.memo.get(key) as Globals | undefined;
  if (hit) return hit;
  const root = st.content;
  const typeSec = sec(root, type);
  const s = st.loader.strategy;
  const g: Globals = {
    vars: atmosMergeShared([root.vars, typeSec.vars], s),
    settings: atmosMergeShared([root.settings, typeSec.settings], s),
    env: atmosMergeShared([root.env, typeSec.env], s),
    providers: type === 'terraform' ? sec(typeSec, 'providers') : EMPTY,
    backendType: type === 'terraform' && typeof typeSec.backend_type === 'string' ? typeSec.backend_type : '',
    backend: type === 'terraform' ? sec(typeSec, 'backend') : EMPTY,
    dependencies: atmosMergeShared([root.dependencies, typeSec.dependencies], s),
    typeSection: typeSec,
    components: sec(sec(root, 'components'), type),
  };
  st.memo.set(key, g);
  return g;
}

function isAbstract(c: Section): boolean {
  return sec(c, 'metadata').type === 'abstract';
}

function inheritsOf(c: Section): unknown[] {
  const v = sec(c, 'metadata').inherits;
  return Array.isArray(v) ? v : [];
}

/** Without `inherits` and `type` (not inherited from bases), keeping positions. */
function inheritableMetadata(st: StackInternal, meta: Section): Section {
  if (!('inherits' in meta) && !('type' in meta)) return meta;
  const key = `meta:${st.loader.id(meta)}`;
  const hit = st.loader.memo.get(key) as Section | undefined;
  if (hit) return hit;
  const out: Section = {};
  copyLocs(meta, out);
  for (const k of Object.keys(meta)) {
    if (k === 'inherits' || k === 'type') continue;
    out[k] = meta[k];
  }
  st.loader.memo.set(key, out);
  return out;
}

interface Walk {
  all: Section;
  type: StackComponentType;
  root: string;
  /** Flattened bases in the order Atmos merges them (repeats allowed: diamonds). */
  seq: string[];
  /** Current DFS path (component names) and the declaration of each edge on it. */
  path: string[];
  edges: (Location | undefined)[];
  fallback?: Location;
}

function cycle(w: Walk, base: string, loc: Location | undefined): never {
  const i = w.path.indexOf(base);
  const names = [...w.path.slice(i), base];
  const first = i < w.edges.length ? w.edges[i] : loc;
  fail(
    'stacks/inheritance-cycle',
    `${w.type} component inheritance cycle: ${names.join(' → ')}`,
    first ?? loc ?? w.fallback,
    'a component must not inherit from itself, directly or through its bases; remove one of these metadata.inherits / component: entries',
  );
}

function unknownBase(w: Walk, from: string, base: string, loc: Location | undefined): never {
  const guess = didYouMean(base, Object.keys(w.all));
  fail(
    'stacks/unknown-base',
    `${w.type} component "${from}" inherits from "${base}", which no loaded stack file defines`,
    loc ?? w.fallback,
    guess ? `did you mean "${guess}"?` : `define components.${w.type}.${base} in a stack file this deployment loads, or fix the name`,
  );
}

/** Longest chain of bases (`component:` and `metadata.inherits`), like YAML nesting (SPEC 3). */
const MAX_INHERITANCE_DEPTH = 200;

/**
 * Expand one base (Atmos `processBaseComponentConfigInternal`): its own bases first, then
 * itself. `viaComponent` marks the top-level `component:` attribute, which may name a
 * module directory that no stack defines and may name the component itself.
 */
function expand(w: Walk, current: string, base: string, loc: Location | undefined, viaComponent: boolean): void {
  if (viaComponent && base === current) return;
  if (w.path.includes(base)) cycle(w, base, loc);
  if (w.path.length >= MAX_INHERITANCE_DEPTH) {
    fail(
      'stacks/inherit-depth',
      `${w.type} component "${w.path[0] ?? current}" inherits through more than ${MAX_INHERITANCE_DEPTH} levels of bases`,
      loc ?? w.fallback,
      'flatten the inheritance chain; configuration is never this deep (SPEC: nesting deeper than 200 levels is an error)',
    );
  }
  if (!Object.hasOwn(w.all, base)) {
    if (viaComponent) return;
    unknownBase(w, current, base, loc);
  }
  const bm = isPlainMap(w.all[base]) ? (w.all[base] as Section) : EMPTY;
  w.edges.push(loc);
  w.path.push(base);
  if (!isAbstract(bm) && typeof bm.component === 'string') expand(w, base, bm.component, locOf(bm, 'component'), true);
  const inh = inheritsOf(bm);
  inh.forEach((b, i) => {
    if (typeof b === 'string') expand(w, base, b, locOf(inh, i), false);
  });
  w.path.pop();
  w.edges.pop();
  w.seq.push(base);
}

/**
 * The bases folded in order (deepest first), each level merged with its own
 * `settings.list_merge_strategy`, else the component's own (settings or overrides
 * settings), else atmos.yaml's — Atmos `processBaseComponentConfigInternal` with the
 * `initialMergeConfig` of `processMetadataInheritance` (Atmos issue #2396; asserted in
 * internal/exec/stack_processor_merge_test.go, `my_list == [from_a, from_b]`).
 */
function accumulate(st: StackInternal, all: Section, seq: string[], initial: ListMergeStrategy): BaseAccum {
  if (!seq.length) return NO_BASES;
  // Keyed by the identity of the base sections: shared by every stack whose merged bases
  // are the same objects (a catalog file imported by many stacks).
  const bases = seq.map((b) => (isPlainMap(all[b]) ? (all[b] as Section) : EMPTY));
  const key = `bases:${initial}:${bases.map((b) => st.loader.id(b)).join(',')}`;
  const hit = st.loader.memo.get(key) as BaseAccum | undefined;
  if (hit) return hit;
  const acc: BaseAccum = { ...NO_BASES };
  for (const b of bases) {
    const settings = sec(b, 'settings');
    const s = effectiveStrategy([settings], initial, () => locOf(b));
    acc.vars = atmosMergeShared([acc.vars, b.vars], s);
    acc.settings = atmosMergeShared([acc.settings, settings], s);
    acc.env = atmosMergeShared([acc.env, b.env], s);
    acc.providers = atmosMergeShared([acc.providers, b.providers], s);
    acc.backend = atmosMergeShared([acc.backend, b.backend], s);
    acc.metadata = atmosMergeShared([acc.metadata, inheritableMetadata(st, sec(b, 'metadata'))], s);
    acc.dependencies = atmosMergeShared([acc.dependencies, b.dependencies], s);
    if (typeof b.command === 'string' && b.command !== '') acc.commandIn = b;
    // Atmos assigns (not merges) each base's backend_type in turn: the last base decides,
    // even when it sets none.
    acc.backendType = typeof b.backend_type === 'string' ? b.backend_type : '';
  }
  st.loader.memo.set(key, acc);
  return acc;
}

const NO_BASES: BaseAccum = { vars: EMPTY, settings: EMPTY, env: EMPTY, providers: EMPTY, backend: EMPTY, metadata: EMPTY, dependencies: EMPTY, backendType: '', commandIn: EMPTY };

/** The component's list merge strategy: the last one set in settings, else atmos.yaml's. */
function effectiveStrategy(layers: Section[], global: ListMergeStrategy, fallback: () => Location | undefined): ListMergeStrategy {
  let s: ListMergeStrategy = global;
  for (const l of layers) {
    const v = l.list_merge_strategy;
    if (typeof v !== 'string' || v === '') continue;
    if (!(LIST_MERGE_STRATEGIES as readonly string[]).includes(v)) {
      fail(
        'stacks/list-merge-strategy',
        `settings.list_merge_strategy must be replace, append or merge, got "${v}"`,
        locOf(l, 'list_merge_strategy') ?? fallback(),
        choicesHint(v, [...LIST_MERGE_STRATEGIES]),
      );
    }
    s = v as ListMergeStrategy;
  }
  return s;
}

function withEntry(m: Section, key: string, value: unknown, loc?: Location): Section {
  const out: Section = { ...m };
  copyLocs(m, out);
  out[key] = value;
  if (loc) setEntryLoc(out, key, loc);
  return out;
}

/**
 * atmos.yaml `integrations.github` under the component's `settings.integrations.github`
 * (the component's wins), as Atmos's `processSettingsIntegrationsGithub` does after the
 * settings merge, with the component's list merge strategy. Golden:
 * tests/snapshots/TestCLICommands_describe_component_with_component_name_(backward_compatibility).stdout.golden.
 */
function withGithubIntegration(st: StackInternal, settings: Section, github: Section, strategy: ListMergeStrategy): Section {
  const key = `integrations:${strategy}:${st.loader.id(github)}:${st.loader.id(settings)}`;
  const hit = st.loader.memo.get(key) as Section | undefined;
  if (hit) return hit;
  const integrations = sec(settings, 'integrations');
  const merged = atmosMergeShared([github, sec(integrations, 'github')], strategy);
  const out = withEntry(settings, 'integrations', withEntry(integrations, 'github', merged, locOf(integrations, 'github')), locOf(settings, 'integrations'));
  st.loader.memo.set(key, out);
  return out;
}

/** Atmos's backend defaults (`setS3BackendDefaults`, `setGCSBackendDefaults`, `setAzureBackendKey`). */
function backendDefaults(type: string, backend: Section, moduleDir: string, metadata: Section, globalBackend: Section, ownBackend: Section): Section {
  const prefix = (typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : moduleDir).replace(/\//g, '-');
  if (type === 's3') {
    const p = backend.workspace_key_prefix;
    return typeof p === 'string' && p !== '' ? backend : withEntry(backend, 'workspace_key_prefix', prefix);
  }
  if (type === 'gcs') {
    const p = backend.prefix;
    return typeof p === 'string' && p !== '' ? backend : withEntry(backend, 'prefix', prefix);
  }
  if (type === 'azurerm') {
    if (typeof sec(ownBackend, 'azurerm').key === 'string') return backend;
    const globalKey = sec(globalBackend, 'azurerm').key;
    const existing = backend.key;
    if (typeof existing === 'string' && existing !== '' && (typeof globalKey !== 'string' || globalKey !== existing)) return backend;
    const parts = typeof globalKey === 'string' ? [globalKey] : [];
    parts.push(`${prefix}.terraform.tfstate`);
    return withEntry(backend, 'key', parts.join('/'));
  }
  return backend;
}

/** Per component name: the files that define it themselves, in merge order. */
function sourcesOf(st: StackInternal, type: StackComponentType): Map<string, string[]> {
  const key = `sources:${type}`;
  let m = st.memo.get(key) as Map<string, string[]> | undefined;
  if (m) return m;
  m = new Map();
  for (const f of st.absFiles) {
    const info = st.loader.info(f);
    for (const n of info.ownComponents[type]) {
      let l = m.get(n);
      if (!l) m.set(n, (l = []));
      l.push(info.file);
    }
  }
  st.memo.set(key, m);
  return m;
}

export interface ResolveComponentOptions {
  /**
   * Replaces the component's own `metadata.inherits` (a deployment file may declare
   * inherits resolved against the stacks). Positions of a parsed YAML list are used in
   * errors.
   */
  inherits?: string[];
  /** Where `inherits` was written (for errors when the list carries no positions). */
  location?: Location;
}

/**
 * The `describe component` result. A component that no loaded stack defines still gets
 * the root and `terraform:` sections (`defined: false`).
 */
export function resolveComponent(stack: LoadedStack, type: StackComponentType, name: string, options: ResolveComponentOptions = {}): ResolvedStackComponent {
  const st = internalOf(stack);
  const g = globalsOf(st, type);
  const all = g.components;
  const defined = Object.hasOwn(all, name);
  const own: Section = defined && isPlainMap(all[name]) ? (all[name] as Section) : EMPTY;
  // Where the component is declared: worked out only when an error or a caller needs it.
  let locMemo: Location | undefined | null = null;
  const where = (): Location | undefined => (locMemo === null ? (locMemo = defined ? keyLocOf(all, name) : undefined) : locMemo);
  const ownMeta = sec(own, 'metadata');

  let inherits: unknown[] = inheritsOf(own);
  let inheritsSource: unknown = ownMeta.inherits;
  if (options.inherits !== undefined) {
    if (!Array.isArray(options.inherits) || options.inherits.some((x) => typeof x !== 'string' || x === '')) {
      fail(
        'stacks/inherits-type',
        Array.isArray(options.inherits)
          ? `metadata.inherits of ${type} component "${name}" must list component names, got ${describeType(options.inherits.find((x) => typeof x !== 'string' || x === ''))}`
          : `metadata.inherits of ${type} component "${name}" must be a list of component names, got ${describeType(options.inherits)}`,
        locOf(options.inherits) ?? options.location ?? where(),
        'e.g. inherits: [vpc/defaults]',
      );
    }
    inherits = options.inherits;
    inheritsSource = options.inherits;
  }

  const w: Walk = {
    all,
    type,
    root: name,
    seq: [],
    path: [name],
    edges: [],
    get fallback() {
      return options.location ?? where();
    },
  };
  let topLevelModule: string | undefined;
  if (typeof own.component === 'string') {
    expand(w, name, own.component, locOf(own, 'component'), true);
    // Atmos (FinalBaseComponentName): the deepest base of the `component:` chain that a
    // stack defines names the module directory; a `component:` that no stack defines (a
    // bare directory) leaves the component's own name.
    if (w.seq.length) topLevelModule = w.seq[0];
  }
  inherits.forEach((b, i) => {
    if (typeof b !== 'string') return;
    const loc = locOf(inheritsSource, i) ?? (inheritsSource === ownMeta.inherits ? locOf(ownMeta, 'inherits') : options.location) ?? where();
    expand(w, name, b, loc, false);
  });

  const ov = sec(own, 'overrides');
  const ovSettings = sec(ov, 'settings');
  const base = accumulate(st, all, w.seq, effectiveStrategy([sec(own, 'settings'), ovSettings], st.loader.strategy, where));
  const inheritance: string[] = [];
  for (const b of w.seq) {
    const i = inheritance.indexOf(b);
    if (i >= 0) inheritance.splice(i, 1);
    inheritance.unshift(b);
  }

  const strategy = effectiveStrategy([g.settings, base.settings, sec(own, 'settings'), ovSettings], st.loader.strategy, where);

  // Results are shared where nothing needs merging: treat them as immutable.
  const vars = atmosMergeShared([g.vars, base.vars, own.vars, ov.vars], strategy);
  let settings = atmosMergeShared([g.settings, base.settings, own.settings, ovSettings], strategy);
  // Atmos drops settings.spacelift.workspace_enabled from abstract components.
  const abstract = ownMeta.type === 'abstract';
  const spacelift = settings.spacelift;
  if (abstract && type === 'terraform' && isPlainMap(spacelift) && 'workspace_enabled' in spacelift) {
    const { workspace_enabled: _dropped, ...rest } = spacelift;
    const sl: Section = {};
    for (const k of Object.keys(rest)) {
      sl[k] = rest[k];
      copyEntryLoc(spacelift, k, sl, k);
    }
    const self = locOf(spacelift);
    if (self && !locsOf(sl)) ensureLocs(sl, self);
    settings = withEntry(settings, 'spacelift', sl, locOf(settings, 'spacelift'));
  }
  if (st.integrationsGithub) settings = withGithubIntegration(st, settings, st.integrationsGithub, strategy);
  const env = atmosMergeShared([g.env, base.env, own.env, ov.env], strategy);
  // Atmos stack_processor_merge.go: dependencies = merge(global, bases, component) with the
  // component's strategy; command = the last set of terraform.command, bases, component, overrides.
  const dependencies = atmosMergeShared([g.dependencies, base.dependencies, own.dependencies], strategy);
  const commandIn = [g.typeSection, base.commandIn, own, ov].reduce<Section | undefined>((c, x) => (typeof x.command === 'string' && x.command !== '' ? x : c), undefined);

  let ownMetaOut: Section = ownMeta;
  if (options.inherits !== undefined) ownMetaOut = withEntry(ownMeta, 'inherits', options.inherits, locOf(options.inherits) ?? options.location);
  const metadata = atmosMergeShared([base.metadata, ownMetaOut], strategy);

  const moduleDir = typeof ownMeta.component === 'string' && ownMeta.component !== '' ? ownMeta.component : (topLevelModule ?? name);

  let backendType: string | null = null;
  let backend: Section = EMPTY;
  let providers: Section = EMPTY;
  if (type === 'terraform') {
    providers = atmosMergeShared([g.providers, base.providers, own.providers, ov.providers], strategy);
    let bt = g.backendType;
    if (base.backendType) bt = base.backendType;
    if (typeof own.backend_type === 'string' && own.backend_type !== '') bt = own.backend_type;
    const ownBackend = sec(own, 'backend');
    const merged = atmosMergeShared([g.backend, base.backend, ownBackend], st.loader.strategy);
    if (bt) {
      backendType = bt;
      const b = merged[bt];
      if (b !== undefined && b !== null && !isPlainMap(b)) {
        fail(
          'stacks/type',
          `backend.${bt} of terraform component "${name}" must be a mapping, got ${describeType(b)}`,
          locOf(merged, bt) ?? where(),
          `write the ${bt} backend settings as "key: value" pairs`,
        );
      }
      backend = isPlainMap(b) ? b : EMPTY;
      const key = `backend:${bt}:${st.loader.id(backend)}:${st.loader.id(g.backend)}:${st.loader.id(ownBackend)}:${typeof metadata.name === 'string' ? metadata.name : ''}:${moduleDir}`;
      let withDefaults = st.loader.memo.get(key) as Section | undefined;
      if (!withDefaults) {
        withDefaults = backendDefaults(bt, backend, moduleDir, metadata, g.backend, ownBackend);
        st.loader.memo.set(key, withDefaults);
      }
      backend = withDefaults;
    }
  }

  const sources = sourcesOf(st, type).get(name) ?? [];

  const result: ResolvedStackComponent = {
    name,
    component: moduleDir,
    vars,
    settings,
    env,
    metadata,
    backend_type: backendType,
    backend,
    providers,
    dependencies,
    ...(commandIn ? { command: commandIn.command as string, commandLocation: locOf(commandIn, 'command') ?? where() } : {}),
    inheritance,
    abstract,
    enabled: metadata.enabled !== false,
    defined,
    sources: [...sources],
  };
  if (defined) Object.defineProperty(result, 'location', { get: where, enumerable: false, configurable: true });
  return result;
}
