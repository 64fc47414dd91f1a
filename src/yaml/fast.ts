/**
 * The fast path of {@link parseYaml}: js-yaml (about 8× faster than the `yaml` library on
 * stack files) with its node listener recording where every container and entry starts.
 * Positions are kept as offsets and turned into line:col only when someone asks (most
 * values of a large repository are never asked where they came from).
 *
 * It accepts only what it can represent exactly; anything unusual (a syntax error, a
 * duplicate key, an unknown tag, an alias bomb, extreme nesting) returns `undefined` and
 * the caller parses the file again with the `yaml` library, whose diagnostics are the
 * reference.
 */
import jsyaml from 'js-yaml';
import type { Location } from '../diagnostics/index.js';
import { ATMOS_TAGS, taggedString } from './functions.js';
import { LazyLocs, type ContainerLocs } from './lazy-locs.js';

/** Tagged nodes seen by the current parse (constructors run during `load`). */
let taggedNodes = 0;

let schema: jsyaml.Schema | undefined;
function getSchema(): jsyaml.Schema {
  if (schema) return schema;
  const types: jsyaml.Type[] = [];
  for (const tag of ATMOS_TAGS) {
    types.push(
      new jsyaml.Type(tag, {
        kind: 'scalar',
        resolve: () => true,
        construct: (d: unknown) => {
          // `!literal`: the value as written, never evaluated (Atmos clears the tag when loading).
          if (tag === '!literal') return d ?? '';
          taggedNodes++;
          return taggedString(tag, d);
        },
      }),
    );
    types.push(
      new jsyaml.Type(tag, {
        kind: 'sequence',
        resolve: () => true,
        construct: (d: unknown) => {
          taggedNodes++;
          // An empty node (`!repo-root` and nothing) is a scalar with no argument.
          return d ?? (tag === '!literal' ? '' : taggedString(tag, null));
        },
      }),
    );
    types.push(
      new jsyaml.Type(tag, {
        kind: 'mapping',
        resolve: () => true,
        construct: (d: unknown) => {
          taggedNodes++;
          // An empty node (`!repo-root` and nothing) is a scalar with no argument.
          return d ?? (tag === '!literal' ? '' : taggedString(tag, null));
        },
      }),
    );
  }
  schema = jsyaml.CORE_SCHEMA.extend({ implicit: [(jsyaml as unknown as { types: { merge: jsyaml.Type } }).types.merge], explicit: types });
  return schema;
}

/** Offsets -> line:col for one file, built on first use. */
class LineIndex {
  private starts?: number[];
  constructor(
    readonly file: string,
    private readonly text: string,
  ) {}
  at(offset: number): Location {
    if (!this.starts) {
      const s = [0];
      const t = this.text;
      for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) === 10) s.push(i + 1);
      this.starts = s;
    }
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - s[lo] + 1 };
  }
}

/** Container positions as offsets; Location objects are made on first access. */
class OffsetLocs extends LazyLocs {
  private s?: Location;
  constructor(
    private readonly index: LineIndex,
    private readonly selfOff: number,
    private entries: (string | number)[] | undefined,
    private keyOffs: number[] | undefined,
    private valOffs: number[] | undefined,
    /** Entries that came through a YAML merge key: their positions are those of the source. */
    private merged: { key: string; from: ContainerLocs }[] | undefined,
  ) {
    super();
  }
  get self(): Location {
    return (this.s ??= this.index.at(this.selfOff));
  }
  protected build() {
    const keys = new Map<string | number, Location>();
    const values = new Map<string | number, Location>();
    for (const m of this.merged ?? []) {
      const kl = m.from.keys.get(m.key);
      const vl = m.from.values.get(m.key);
      if (kl) keys.set(m.key, kl);
      if (vl) values.set(m.key, vl);
    }
    const e = this.entries ?? [];
    for (let i = 0; i < e.length; i++) {
      keys.set(e[i], this.index.at(this.keyOffs![i]));
      values.set(e[i], this.index.at(this.valOffs![i]));
    }
    this.entries = this.keyOffs = this.valOffs = undefined;
    this.merged = undefined;
    return { keys, values };
  }
}

interface Frame {
  start: number;
  end: number;
  result: unknown;
  kind: string | null;
  children: Frame[] | undefined;
  /** Nesting depth below this node, aliases expanded. */
  depth: number;
  /** Alias expansions inside this node when fully expanded. */
  aliases: number;
}

/** First offset at or after `p` that is not white space or a comment. */
function skipSpace(text: string, p: number): number {
  const n = text.length;
  while (p < n) {
    const c = text.charCodeAt(p);
    if (c === 32 || c === 9 || c === 10 || c === 13) p++;
    else if (c === 35 /* # */ && (p === 0 || /\s/.test(text[p - 1]))) {
      while (p < n && text.charCodeAt(p) !== 10) p++;
    } else break;
  }
  return p;
}

/**
 * Start of a node's content: past white space, comments and node properties (`&anchor`,
 * `!!tag`), but at an Atmos function's `!tag`: a function is located where its name is written.
 */
function contentStart(text: string, p: number): number {
  p = skipSpace(text, p);
  for (let guard = 0; guard < 2; guard++) {
    const c = text.charCodeAt(p);
    if (c !== 38 /* & */ && c !== 33 /* ! */) break;
    if (c === 33 && text.charCodeAt(p + 1) !== 33 && text.charCodeAt(p + 1) !== 60) break;
    if (c === 33 && text.charCodeAt(p + 1) === 60 /* !<verbatim> */) {
      while (p < text.length && text.charCodeAt(p) !== 62) p++;
      p++;
    } else {
      while (p < text.length && !/[\s,[\]{}]/.test(text[p])) p++;
    }
    p = skipSpace(text, p);
  }
  return p;
}

/** True when the text between a key and the next node holds the `:` of a mapping value. */
function colonBetween(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) return true;
    if (c === 44 /* , */) return false;
  }
  return false;
}

export interface FastResult {
  value: unknown;
  yamlFunctions: Location[];
  goTemplates: Location[];
  literals?: Location[];
}

export type SetLocs = (container: object, locs: ContainerLocs) => void;
export type GetLocs = (container: unknown) => ContainerLocs | undefined;

/**
 * Parse with js-yaml; `undefined` when the file needs the careful path.
 * `limits`: alias expansions and depth beyond which the careful path takes over.
 */
export function parseFast(
  text: string,
  file: string,
  setLocs: SetLocs,
  getLocs: GetLocs,
  opts: { detectGoTemplates: boolean; maxAliases: number; maxDepth: number; positions: boolean },
): FastResult | undefined {
  if (!opts.positions) return parseWithoutPositions(text, file, opts);
  const index = new LineIndex(file, text);
  const stack: Frame[] = [];
  let root: Frame | undefined;
  const yamlFunctions: number[] = [];
  const literals: number[] = [];
  const listener = (ev: string, st: { position: number; result: unknown; kind: string | null; tag: string | null }) => {
    if (ev === 'open') {
      stack.push({ start: st.position, end: -1, result: undefined, kind: null, children: undefined, depth: 0, aliases: 0 });
      return;
    }
    const node = stack.pop()!;
    node.end = st.position;
    node.result = st.result;
    node.kind = st.kind;
    const parent = stack[stack.length - 1];
    if (parent) (parent.children ??= []).push(node);
    else root ??= node;
    const tag = st.tag;
    if (tag === '!literal') literals.push(contentStart(text, node.start));
    else if (tag && tag.charCodeAt(0) === 33 /* ! */ && tag.charCodeAt(1) !== 33 && !tag.startsWith('tag:yaml.org')) yamlFunctions.push(contentStart(text, node.start));
    const r = st.result;
    if (r === null || typeof r !== 'object') return;
    if (text.charCodeAt(contentStart(text, node.start)) === 42 /* * */) {
      // An alias: it expands to its target (whose stats were recorded when it closed).
      const t = stats.get(r);
      node.depth = t ? t.depth : 0;
      node.aliases = 1 + (t ? t.aliases : 0);
      return;
    }
    let depth = 0;
    let aliases = 0;
    for (const c of node.children ?? []) {
      if (c.depth > depth) depth = c.depth;
      aliases += c.aliases;
    }
    node.depth = depth + 1;
    node.aliases = aliases;
    if (!stats.has(r)) stats.set(r, { depth: node.depth, aliases });
    if (node.kind === 'mapping') registerMap(node, r as Record<string, unknown>);
    else if (node.kind === 'sequence') registerSeq(node, r as unknown[]);
  };
  const stats = new Map<object, { depth: number; aliases: number }>();
  const templates: number[] = [];
  // A `!literal` value is never a template (the careful path does not note one either).
  const noteTemplate = (f: Frame) => {
    if (!opts.detectGoTemplates || typeof f.result !== 'string' || !f.result.includes('{{')) return;
    const at = contentStart(text, f.start);
    if (!literals.includes(at)) templates.push(at);
  };

  const registerMap = (node: Frame, obj: Record<string, unknown>) => {
    if (getLocs(obj)) return; // an anchored map seen again
    const ch = node.children ?? [];
    const entries: string[] = [];
    const keyOffs: number[] = [];
    const valOffs: number[] = [];
    let mergeSources: unknown[] | undefined;
    for (let i = 0; i < ch.length; ) {
      const k = ch[i];
      const kOff = skipSpace(text, k.start);
      let vOff = kOff;
      let valueNode: Frame | undefined;
      if (i + 1 < ch.length && colonBetween(text, k.end, ch[i + 1].start + 1)) {
        valueNode = ch[i + 1];
        const vStart = contentStart(text, valueNode.start);
        const empty = valueNode.result === null && vStart >= valueNode.end;
        noteTemplate(valueNode);
        if (!empty) vOff = vStart;
        i += 2;
      } else i += 1;
      const key = k.result === null ? 'null' : String(k.result);
      if (key === '<<' && valueNode && valueNode.result !== null && typeof valueNode.result === 'object') {
        (mergeSources ??= []).push(...(Array.isArray(valueNode.result) && valueNode.kind !== 'mapping' ? valueNode.result : [valueNode.result]));
        continue;
      }
      entries.push(key);
      keyOffs.push(kOff);
      valOffs.push(vOff);
    }
    let merged: { key: string; from: ContainerLocs }[] | undefined;
    if (mergeSources) {
      const explicit = new Set(entries);
      for (const key of Object.keys(obj)) {
        if (explicit.has(key)) continue;
        for (const s of mergeSources) {
          const l = getLocs(s);
          if (l && Object.hasOwn(s as object, key)) {
            (merged ??= []).push({ key, from: l });
            break;
          }
        }
      }
    }
    setLocs(obj, new OffsetLocs(index, contentStart(text, node.start), entries, keyOffs, valOffs, merged));
  };

  const registerSeq = (node: Frame, arr: unknown[]) => {
    if (getLocs(arr)) return;
    const ch = node.children ?? [];
    const idx: number[] = [];
    const offs: number[] = [];
    for (let i = 0; i < ch.length && i < arr.length; i++) {
      idx.push(i);
      offs.push(contentStart(text, ch[i].start));
      noteTemplate(ch[i]);
    }
    setLocs(arr, new OffsetLocs(index, contentStart(text, node.start), idx, offs, offs, undefined));
  };

  let value: unknown;
  try {
    value = jsyaml.load(text, { schema: getSchema(), json: false, listener } as unknown as jsyaml.LoadOptions);
  } catch {
    return undefined;
  }
  if (value === undefined) value = null;

  if (root && (root.depth > opts.maxDepth || root.aliases > opts.maxAliases)) return undefined;
  if (root && root.kind !== 'mapping' && root.kind !== 'sequence') noteTemplate(root);
  const goTemplates = [...new Set(templates)].sort((a, b) => a - b).map((o) => index.at(o));
  return { value, yamlFunctions: [...new Set(yamlFunctions)].map((o) => index.at(o)), goTemplates, literals: literals.map((o) => index.at(o)) };
}

/**
 * js-yaml alone, no listener: for bulk loads that only need values. Limits are checked in
 * one memoised walk (a container reached again is an alias; its expansion is counted as the
 * careful path counts it). Template and YAML-function findings are reported per file (line
 * 1), which is all a bulk load uses them for.
 */
function parseWithoutPositions(text: string, file: string, opts: { detectGoTemplates: boolean; maxAliases: number; maxDepth: number }): FastResult | undefined {
  taggedNodes = 0;
  let value: unknown;
  try {
    value = jsyaml.load(text, { schema: getSchema(), json: false });
  } catch {
    return undefined;
  }
  if (value === undefined) value = null;
  const tagged = taggedNodes;
  const memo = new Map<object, { depth: number; aliases: number }>();
  let templates = false;
  const stats = (v: unknown): { depth: number; aliases: number } => {
    if (typeof v === 'string') {
      if (!templates && opts.detectGoTemplates && v.includes('{{')) templates = true;
      return ZERO;
    }
    if (v === null || typeof v !== 'object') return ZERO;
    const hit = memo.get(v);
    if (hit) return { depth: hit.depth, aliases: hit.aliases + 1 };
    let depth = 0;
    let aliases = 0;
    const vals = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of vals) {
      const s = stats(c);
      if (s.depth > depth) depth = s.depth;
      aliases += s.aliases;
      if (aliases > opts.maxAliases || depth > opts.maxDepth) break;
    }
    const r = { depth: depth + 1, aliases };
    memo.set(v, r);
    return r;
  };
  const root = stats(value);
  if (root.depth > opts.maxDepth || root.aliases > opts.maxAliases) return undefined;
  const top: Location = { file, line: 1, col: 1 };
  return { value, yamlFunctions: tagged ? [top] : [], goTemplates: templates ? [top] : [] };
}
const ZERO = { depth: 0, aliases: 0 };
