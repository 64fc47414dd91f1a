/**
 * YAML with positions. Files are parsed with the `yaml` library into its node tree and
 * converted to plain JavaScript values by hand, so that
 *  - every mapping and sequence remembers where it and each of its entries came from
 *    (kept in a side table, see {@link locOf}; merged values carry their origin along),
 *  - alias expansion and nesting are bounded (a "billion laughs" file is an error, not a
 *    hang), and
 *  - Atmos YAML functions (`!env`, `!terraform.output`, ...) become `"<tag> <value>"`
 *    strings, the way Atmos itself represents them before evaluation (./functions.ts); an
 *    unknown tag is an error.
 */
import { createRequire } from 'node:module';
import type { Alias, LineCounter as LineCounterT, Node as YNode, parseDocument as ParseDocumentT } from 'yaml';
import { error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { parseFast } from './fast.js';
import { ATMOS_TAGS, isAtmosTag, taggedString } from './functions.js';
import { LazyLocs, type ContainerLocs } from './lazy-locs.js';

/**
 * The `yaml` library is loaded only when the careful path runs (a file the fast path
 * declines): most commands never pay for loading it.
 */
type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;
const yamlRequire = createRequire(import.meta.url);
function lib(): YamlLib {
  return (yamlLib ??= yamlRequire('yaml') as YamlLib);
}
const isAlias = (n: unknown): n is Alias => lib().isAlias(n);
const isMap = (n: unknown) => lib().isMap(n);
const isScalar = (n: unknown) => lib().isScalar(n);
const isSeq = (n: unknown) => lib().isSeq(n);

const MAX_ALIAS_EXPANSIONS = 10_000;
const MAX_DEPTH = 200;

export type { ContainerLocs } from './lazy-locs.js';

/**
 * Positions live on the container itself, in a non-enumerable symbol property: invisible to
 * Object.keys, JSON and equality checks, and much cheaper for the garbage collector than a
 * WeakMap holding hundreds of thousands of entries.
 */
const LOCS = Symbol('atmos-pipe.locations');
type Located = { [LOCS]?: ContainerLocs };
function attach(container: object, locs: ContainerLocs): void {
  const c = container as Located;
  if (Object.hasOwn(c, LOCS)) c[LOCS] = locs;
  else Object.defineProperty(c, LOCS, { value: locs, writable: true, configurable: true, enumerable: false });
}

/** Locations of a container produced by {@link parseYaml} or carried along by a merge. */
export function locsOf(container: unknown): ContainerLocs | undefined {
  return container !== null && typeof container === 'object' ? (container as Located)[LOCS] : undefined;
}

/** Location of an entry's value (or of the container itself when no key is given). */
export function locOf(container: unknown, key?: string | number): Location | undefined {
  const l = locsOf(container);
  if (!l) return undefined;
  if (key === undefined) return l.self;
  return l.values.get(key) ?? l.keys.get(key) ?? undefined;
}

/** Location of an entry's key text (falls back to the container). */
export function keyLocOf(container: unknown, key: string | number): Location | undefined {
  const l = locsOf(container);
  if (!l) return undefined;
  return l.keys.get(key) ?? l.self;
}

/** Attach (or replace) the location table of a container. */
export function setLocs(container: object, locs: ContainerLocs): void {
  attach(container, locs);
}

/** Ensure a container has a location table and return it (creating an empty one). */
export function ensureLocs(container: object, self?: Location): ContainerLocs {
  let l = (container as Located)[LOCS];
  if (!l) {
    l = { self: self ?? { file: '<generated>', line: 1, col: 1 }, keys: new Map(), values: new Map() };
    attach(container, l);
  }
  return l;
}

/** Positions of a shallow copy: the source's, copied only when first read or written. */
class CopiedLocs extends LazyLocs {
  /** Entries set before anything was read (applied when the tables are built). */
  pending?: [string | number, Location][];
  constructor(private readonly src: ContainerLocs) {
    super();
  }
  get self(): Location {
    return this.src.self;
  }
  get isBuilt(): boolean {
    return this.built;
  }
  protected build() {
    const keys = new Map(this.src.keys);
    const values = new Map(this.src.values);
    for (const [key, loc] of this.pending ?? []) {
      values.set(key, loc);
      if (!keys.has(key)) keys.set(key, loc);
    }
    this.pending = undefined;
    return { keys, values };
  }
}

/**
 * Record that `container[key]` was set from `loc` (its key too, unless it had one), without
 * building position tables that nobody may ever read.
 */
export function setEntryLoc(container: object, key: string | number, loc: Location): void {
  const l = locsOf(container);
  if (l instanceof CopiedLocs && !l.isBuilt) {
    (l.pending ??= []).push([key, loc]);
    return;
  }
  const d = ensureLocs(container, loc);
  d.values.set(key, loc);
  if (!d.keys.has(key)) d.keys.set(key, loc);
}

/**
 * Give `to` (a shallow copy of `from`, possibly with fewer keys) the positions of `from`.
 * Lazy: nothing is built unless someone asks where a value came from.
 */
export function copyLocs(from: unknown, to: object): void {
  const l = locsOf(from);
  if (l) setLocs(to, new CopiedLocs(l));
}

/** Copy the origin of `from[fromKey]` to `to[toKey]`. */
export function copyEntryLoc(from: unknown, fromKey: string | number, to: object, toKey: string | number): void {
  const src = locsOf(from);
  if (!src) return;
  const k = src.keys.get(fromKey);
  const v = src.values.get(fromKey);
  if (!k && !v) return;
  const dst = ensureLocs(to, src.self);
  if (k) dst.keys.set(toKey, k);
  if (v) dst.values.set(toKey, v);
}

export interface ParsedYaml {
  /** The document as plain values (`null` for an empty file). */
  value: unknown;
  /** Parse errors (syntax, duplicate keys, limits); empty when the file is valid YAML. */
  diagnostics: Diagnostic[];
  /** Where Atmos YAML functions (custom tags) appear (evaluated later: src/stacks/include.ts, src/resolve/yaml-functions.ts). */
  yamlFunctions: Location[];
  /** Where Go templates (`{{ ... }}`) appear in string values. */
  goTemplates: Location[];
  /** Where values are written `!literal` (kept verbatim: never rendered as templates, src/resolve/go-templates.ts). */
  literals?: Location[];
}

interface Ctx {
  file: string;
  lc: LineCounterT;
  aliasExpansions: number;
  diagnostics: Diagnostic[];
  yamlFunctions: Location[];
  goTemplates: Location[];
  literals: Location[];
  doc: ReturnType<typeof ParseDocumentT>;
  detectGoTemplates: boolean;
  text: string;
}

class LimitError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
  }
}

function pos(ctx: Ctx, offset: number | undefined): Location {
  if (offset === undefined || offset < 0) return { file: ctx.file, line: 1, col: 1 };
  const p = ctx.lc.linePos(offset);
  return { file: ctx.file, line: p.line, col: p.col };
}

function nodeLoc(ctx: Ctx, node: unknown, fallback: Location): Location {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  if (!r) return fallback;
  // A function is located where its name is written (the node's range starts past its tag).
  const tag = (node as YNode).tag;
  if (tag?.startsWith('!') && !tag.startsWith('!!')) {
    const at = ctx.text.lastIndexOf(tag, r[0]);
    if (at >= 0 && /^(\s|&\S+|#[^\n]*)*$/.test(ctx.text.slice(at + tag.length, r[0]))) return pos(ctx, at);
  }
  return pos(ctx, r[0]);
}

function keyToString(ctx: Ctx, key: unknown, fallback: Location): string {
  if (key === null || key === undefined) return '';
  if (isScalar(key)) {
    const v = key.value;
    return v === null ? 'null' : String(v);
  }
  if (isAlias(key)) return keyToString(ctx, key.resolve(ctx.doc), fallback);
  throw new LimitError(error('yaml/complex-key', 'a mapping key must be a plain scalar', nodeLoc(ctx, key, fallback), 'quote the key or restructure the mapping'));
}

/** A custom tag Atmos does not know is an error where it is written (Atmos refuses the manifest too). */
function checkTag(ctx: Ctx, tag: string, self: Location): void {
  if (isAtmosTag(tag)) return;
  ctx.diagnostics.push(error('yaml/unknown-tag', `unknown YAML tag ${tag}: it is not an Atmos YAML function`, self, `Atmos YAML functions: ${ATMOS_TAGS.join(', ')}`));
}

function convert(ctx: Ctx, node: unknown, depth: number, self: Location): unknown {
  if (depth > MAX_DEPTH) {
    throw new LimitError(error('yaml/too-deep', `nesting deeper than ${MAX_DEPTH} levels`, self, 'flatten the structure; configuration is never this deep'));
  }
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    ctx.aliasExpansions++;
    if (ctx.aliasExpansions > MAX_ALIAS_EXPANSIONS) {
      throw new LimitError(error('yaml/alias-limit', `more than ${MAX_ALIAS_EXPANSIONS} alias expansions`, self, 'this looks like an alias bomb; expand fewer aliases or inline the values'));
    }
    const target = (node as Alias).resolve(ctx.doc);
    if (!target) {
      throw new LimitError(error('yaml/unknown-alias', `unknown alias *${(node as Alias).source}`, self, 'define the anchor (&name) before using it'));
    }
    return convert(ctx, target, depth + 1, self);
  }
  if (isScalar(node)) {
    const tag = (node as YNode).tag;
    const v = node.value;
    if (tag?.startsWith('!') && !tag.startsWith('!!') && tag !== '!') {
      // `!literal`: the value as written, never evaluated (Atmos clears the tag when loading).
      if (tag === '!literal') {
        ctx.literals.push(self);
        return v === undefined || v === null ? '' : String(v);
      }
      checkTag(ctx, tag, self);
      ctx.yamlFunctions.push(self);
      return taggedString(tag, v);
    }
    if (typeof v === 'string' && ctx.detectGoTemplates && v.includes('{{')) ctx.goTemplates.push(self);
    if (typeof v === 'bigint') return Number(v);
    return v === undefined ? null : v;
  }
  if (isMap(node)) {
    const tag = (node as YNode).tag;
    if (tag?.startsWith('!') && !tag.startsWith('!!')) {
      checkTag(ctx, tag, self);
      ctx.yamlFunctions.push(self);
    }
    const out: Record<string, unknown> = {};
    const locs: ContainerLocs = { self, keys: new Map(), values: new Map() };
    setLocs(out, locs);
    const merges: unknown[] = [];
    for (const pair of node.items) {
      const kLoc = nodeLoc(ctx, pair.key, self);
      const key = keyToString(ctx, pair.key, self);
      if (key === '<<' && isScalar(pair.key) && (pair.key as YNode).tag === undefined && pair.value && (isAlias(pair.value) || isMap(pair.value) || isSeq(pair.value))) {
        merges.push(pair.value);
        continue;
      }
      // An empty value (`key:` and nothing) is located at its key.
      const vr = (pair.value as { range?: [number, number, number] } | null)?.range;
      const vLoc = pair.value && !(vr && vr[0] === vr[1] && isScalar(pair.value) && pair.value.value === null) ? nodeLoc(ctx, pair.value, kLoc) : kLoc;
      out[key] = convert(ctx, pair.value, depth + 1, vLoc);
      locs.keys.set(key, kLoc);
      locs.values.set(key, vLoc);
    }
    // YAML merge keys (`<<: *base`): explicit keys win over merged ones; in a list of
    // merged maps, earlier maps win over later ones.
    for (const m of merges) {
      const sources = isSeq(m) ? m.items : [m];
      for (const s of sources) {
        const sLoc = nodeLoc(ctx, s, self);
        const v = convert(ctx, s, depth + 1, sLoc);
        if (v && typeof v === 'object' && !Array.isArray(v)) {
          for (const [k, val] of Object.entries(v)) {
            if (!(k in out)) {
              out[k] = val;
              copyEntryLoc(v, k, out, k);
            }
          }
        }
      }
    }
    return out;
  }
  if (isSeq(node)) {
    const seqTag = (node as YNode).tag;
    if (seqTag?.startsWith('!') && !seqTag.startsWith('!!')) {
      checkTag(ctx, seqTag, self);
      ctx.yamlFunctions.push(self);
    }
    const out: unknown[] = [];
    const locs: ContainerLocs = { self, keys: new Map(), values: new Map() };
    setLocs(out, locs);
    node.items.forEach((item, i) => {
      const l = nodeLoc(ctx, item, self);
      out.push(convert(ctx, item, depth + 1, l));
      locs.keys.set(i, l);
      locs.values.set(i, l);
    });
    return out;
  }
  return null;
}

export interface ParseOptions {
  /**
   * Record positions (default true). Without them parsing is about 3× faster; callers that
   * hit a problem parse again with positions to report it precisely.
   */
  positions?: boolean;
  /** Record Go templates (`{{`) found in strings (stack files). */
  detectGoTemplates?: boolean;
}

/** Parse one YAML file's text. `file` is the path used in locations. */
export function parseYaml(text: string, file: string, options: ParseOptions = {}): ParsedYaml {
  const fast = parseFast(text, file, setLocs, locsOf, {
    detectGoTemplates: options.detectGoTemplates ?? false,
    maxAliases: MAX_ALIAS_EXPANSIONS,
    maxDepth: MAX_DEPTH,
    positions: options.positions ?? true,
  });
  if (fast) return { value: fast.value, diagnostics: [], yamlFunctions: fast.yamlFunctions, goTemplates: fast.goTemplates, literals: fast.literals };
  return parseYamlCarefully(text, file, options);
}

/**
 * The careful path: the `yaml` library's document model, precise diagnostics for every
 * problem. Used for files the fast path declines.
 */
export function parseYamlCarefully(text: string, file: string, options: ParseOptions = {}): ParsedYaml {
  const { LineCounter, parseDocument } = lib();
  const lc = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  let doc: ReturnType<typeof ParseDocumentT>;
  try {
    doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, merge: false, prettyErrors: false, strict: true, keepSourceTokens: false });
  } catch (e) {
    if (e instanceof RangeError) {
      return {
        value: null,
        diagnostics: [error('yaml/too-deep', `nesting deeper than ${MAX_DEPTH} levels`, { file, line: 1, col: 1 }, 'flatten the structure')],
        yamlFunctions: [],
        goTemplates: [],
      };
    }
    throw e;
  }
  const ctx: Ctx = {
    file,
    lc,
    aliasExpansions: 0,
    diagnostics,
    yamlFunctions: [],
    goTemplates: [],
    literals: [],
    doc,
    detectGoTemplates: options.detectGoTemplates ?? false,
    text,
  };
  for (const e of doc.errors) {
    if (/call stack/i.test(e.message)) {
      diagnostics.push(error('yaml/too-deep', `nesting deeper than ${MAX_DEPTH} levels`, pos(ctx, e.pos?.[0]), 'flatten the structure; configuration is never this deep'));
      break;
    }
    const msg = e.code === 'DUPLICATE_KEY' ? 'duplicate key in mapping' : e.message.split('\n')[0];
    const hint =
      e.code === 'DUPLICATE_KEY'
        ? 'each key may appear once per mapping; remove or rename one of them'
        : e.code === 'MULTIPLE_DOCS'
          ? 'a configuration file holds exactly one YAML document'
          : 'fix the YAML syntax at this position';
    diagnostics.push(error(`yaml/${e.code.toLowerCase().replace(/_/g, '-')}`, msg, pos(ctx, e.pos?.[0]), hint));
  }
  if (diagnostics.length) return { value: null, diagnostics, yamlFunctions: [], goTemplates: [] };
  let value: unknown = null;
  try {
    value = convert(ctx, doc.contents, 0, nodeLoc(ctx, doc.contents, { file, line: 1, col: 1 }));
  } catch (e) {
    if (e instanceof LimitError) diagnostics.push(e.diagnostic);
    else if (e instanceof RangeError) {
      diagnostics.push(error('yaml/too-deep', `nesting deeper than ${MAX_DEPTH} levels`, { file, line: 1, col: 1 }, 'flatten the structure'));
    } else throw e;
    value = null;
  }
  return { value, diagnostics, yamlFunctions: ctx.yamlFunctions, goTemplates: ctx.goTemplates, literals: ctx.literals };
}

/** Type name for messages: "a mapping", "a list", "a string", ... */
export function describeType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'object':
      return 'a mapping';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return typeof v;
  }
}

export function isPlainMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
