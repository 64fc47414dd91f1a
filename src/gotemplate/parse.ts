/**
 * Parser for Go `text/template` (https://pkg.go.dev/text/template): text and actions between
 * delimiters, trim markers, comments, pipelines, variables, field chains, the control
 * structures (`if`, `range`, `with`, `define`, `template`, `block`) and literals.
 *
 * Written here rather than taken from npm: the packages that exist either only substitute
 * `{{ .x }}` (@ctrl/golang-template) or have a single release and no track record
 * (go-text-template), and Atmos fidelity needs Go's exact semantics.
 */
import { TemplateError } from './errors.js';

/** An argument or command operand. */
export type Operand =
  | { kind: 'field'; chain: string[]; pos: number } // `.` is chain []
  | { kind: 'var'; name: string; chain: string[]; pos: number }
  | { kind: 'func'; name: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; value: number; isFloat: boolean; pos: number }
  | { kind: 'bool'; value: boolean; pos: number }
  | { kind: 'nil'; pos: number }
  | { kind: 'pipe'; pipe: Pipeline; chain: string[]; pos: number };

export interface Command {
  args: Operand[];
  pos: number;
}

export interface Pipeline {
  decls: string[];
  /** `=` (assignment to existing variables) rather than `:=`. */
  assign: boolean;
  cmds: Command[];
  pos: number;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipe: Pipeline; list: Node[]; elseList: Node[] | undefined; pos: number }
  | { kind: 'template'; name: string; pipe: Pipeline | undefined; pos: number }
  | { kind: 'break' | 'continue'; pos: number };

export interface ParsedTemplate {
  root: Node[];
  defines: Map<string, Node[]>;
}

type Tok = { t: 'ident' | 'field' | 'var' | 'string' | 'number' | 'op'; v: string; pos: number; float?: boolean; spaceBefore: boolean } | { t: 'end'; v: ''; pos: number; spaceBefore: boolean };

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0' };

function unquote(body: string, pos: number): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    if (n === 'x' || n === 'u' || n === 'U') {
      const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new TemplateError(`invalid syntax in string escape \\${n}`, pos);
      out += String.fromCodePoint(Number.parseInt(hex, 16));
      i += len;
    } else if (n !== undefined && n in ESCAPES) out += ESCAPES[n];
    else throw new TemplateError(`invalid escape \\${n ?? ''} in quoted string`, pos);
  }
  return out;
}

/** Split the inside of one action into tokens. */
function lexAction(src: string, start: number, end: number): Tok[] {
  const out: Tok[] = [];
  let i = start;
  let space = true;
  const ident = /[A-Za-z0-9_]/;
  while (i < end) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      space = true;
      continue;
    }
    const pos = i;
    if (c === '"') {
      let j = i + 1;
      while (j < end && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= end) throw new TemplateError('unterminated quoted string', pos);
      out.push({ t: 'string', v: unquote(src.slice(i + 1, j), pos), pos, spaceBefore: space });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0 || j >= end) throw new TemplateError('unterminated raw quoted string', pos);
      out.push({ t: 'string', v: src.slice(i + 1, j), pos, spaceBefore: space });
      i = j + 1;
    } else if (c === '$') {
      let j = i + 1;
      while (j < end && ident.test(src[j])) j++;
      out.push({ t: 'var', v: src.slice(i, j), pos, spaceBefore: space });
      i = j;
    } else if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
      let j = i + 1;
      while (j < end && ident.test(src[j])) j++;
      out.push({ t: 'field', v: src.slice(i + 1, j), pos, spaceBefore: space });
      i = j;
    } else if (/[0-9]/.test(c) || (/[+\-.]/.test(c) && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|[0-9_]*\.?[0-9_]*([eE][+-]?[0-9]+)?)/.exec(src.slice(i, end));
      const text = m?.[0] ?? '';
      if (text === '' || text === '+' || text === '-') throw new TemplateError(`unexpected "${c}" in command`, pos);
      out.push({ t: 'number', v: text, float: /[.eE]/.test(text) && !/^[+-]?0[xX]/.test(text), pos, spaceBefore: space });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      // A gomplate/Atmos namespace call (`strings.Quote`, `atmos.Component`) is one name.
      let j = i + 1;
      while (
        j < end &&
        (ident.test(src[j]) ||
          (src[j] === '.' &&
            /[A-Za-z_]/.test(src[j + 1] ?? '') &&
            /^(strings|conv|atmos|data|math|coll|env|path|filepath|regexp|crypto|time|sockaddr|test|random|uuid|base64|semver|net|file|gcp|aws)$/.test(src.slice(i, j))))
      )
        j++;
      out.push({ t: 'ident', v: src.slice(i, j), pos, spaceBefore: space });
      i = j;
    } else if (c === ':' && src[i + 1] === '=') {
      out.push({ t: 'op', v: ':=', pos, spaceBefore: space });
      i += 2;
    } else if ('()|=,'.includes(c)) {
      out.push({ t: 'op', v: c, pos, spaceBefore: space });
      i++;
    } else if (c === "'") {
      const j = src.indexOf("'", i + 1);
      if (j < 0 || j >= end) throw new TemplateError('unterminated character constant', pos);
      const ch = unquote(src.slice(i + 1, j), pos);
      out.push({ t: 'number', v: String(ch.codePointAt(0) ?? 0), pos, spaceBefore: space });
      i = j + 1;
    } else throw new TemplateError(`unexpected "${c}" in command`, pos);
    space = false;
  }
  out.push({ t: 'end', v: '', pos: end, spaceBefore: space });
  return out;
}

interface RawAction {
  toks: Tok[];
  pos: number;
}

/** Parse a template. `isFunc` says whether a name is a known function (unknown ones fail at parse, as in Go). */
export function parseTemplate(src: string, delims: [string, string], isFunc: (name: string) => boolean): ParsedTemplate {
  const [left, right] = delims;
  const items: (string | RawAction)[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf(left, i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    if (open < 0) {
      if (text) items.push(text);
      break;
    }
    let a = open + left.length;
    const trimLeft = src[a] === '-' && /[ \t\r\n]/.test(src[a + 1] ?? '');
    if (trimLeft) {
      text = text.replace(/[ \t\r\n]+$/, '');
      a += 2;
    }
    if (text) items.push(text);
    // Find the closing delimiter outside quoted strings (and comments).
    let j = a;
    let close = -1;
    let trimRight = false;
    while (j < src.length) {
      while (/[ \t\r\n]/.test(src[j] ?? '') && j < src.length) j++;
      if (src.startsWith('/*', j)) {
        const endc = src.indexOf('*/', j + 2);
        if (endc < 0) throw new TemplateError('unclosed comment', j);
        j = endc + 2;
        continue;
      }
      const c = src[j];
      if (c === '"' || c === '`' || c === "'") {
        let k = j + 1;
        while (k < src.length && src[k] !== c) k += c !== '`' && src[k] === '\\' ? 2 : 1;
        j = k + 1;
        continue;
      }
      if (src.startsWith(`-${right}`, j) && /[ \t\r\n]/.test(src[j - 1] ?? '')) {
        close = j;
        trimRight = true;
        break;
      }
      if (src.startsWith(right, j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new TemplateError('unclosed action', open);
    const inner = src.slice(a, close);
    const isComment = /^\s*\/\*[\s\S]*\*\/\s*$/.test(inner);
    if (!isComment) items.push({ toks: lexAction(src, a, close), pos: open });
    i = close + (trimRight ? 1 : 0) + right.length;
    trimNext = trimRight;
    if (i > src.length) break;
  }
  return new Parser(items, isFunc).parseAll();
}

class Parser {
  private at = 0;
  private vars: string[][] = [['$']];
  readonly defines = new Map<string, Node[]>();
  constructor(
    private readonly items: (string | RawAction)[],
    private readonly isFunc: (name: string) => boolean,
  ) {}

  parseAll(): ParsedTemplate {
    const { list, stop } = this.list();
    if (stop) throw new TemplateError(`unexpected {{${stop.word}}}`, stop.pos);
    return { root: list, defines: this.defines };
  }

  /** Nodes up to `end`/`else` (returned as the stop word) or the end of input. */
  private list(): { list: Node[]; stop?: { word: 'end' | 'else'; toks: Tok[]; pos: number } } {
    const list: Node[] = [];
    while (this.at < this.items.length) {
      const it = this.items[this.at++];
      if (typeof it === 'string') {
        list.push({ kind: 'text', text: it });
        continue;
      }
      const first = it.toks[0];
      if (first.t === 'ident') {
        switch (first.v) {
          case 'end':
          case 'else':
            return { list, stop: { word: first.v, toks: it.toks.slice(1), pos: it.pos } };
          case 'if':
          case 'with':
          case 'range':
            list.push(this.control(first.v, it.toks.slice(1), it.pos));
            continue;
          case 'define':
          case 'block':
            list.push(...this.define(first.v, it.toks.slice(1), it.pos));
            continue;
          case 'template':
            list.push(this.templateCall(it.toks.slice(1), it.pos));
            continue;
          case 'break':
          case 'continue':
            list.push({ kind: first.v, pos: it.pos });
            continue;
        }
      }
      list.push({ kind: 'action', pipe: this.pipeline(it.toks, it.pos, true) });
    }
    return { list };
  }

  private control(kind: 'if' | 'with' | 'range', toks: Tok[], pos: number): Node {
    this.vars.push([]);
    const pipe = this.pipeline(toks, pos, true, kind === 'range');
    const { list, stop } = this.list();
    if (!stop) throw new TemplateError(`unexpected EOF: {{${kind}}} has no {{end}}`, pos);
    let elseList: Node[] | undefined;
    if (stop.word === 'else') {
      const next = stop.toks[0];
      if (next?.t === 'ident' && (next.v === 'if' || next.v === 'with') && kind !== 'range' && next.v === kind) {
        // `{{else if x}}` is `{{else}}{{if x}}…{{end}}{{end}}` sharing the outer {{end}}.
        elseList = [this.control(kind, stop.toks.slice(1), stop.pos)];
      } else {
        if (next && next.t !== 'end') throw new TemplateError('unexpected tokens after {{else}}', stop.pos);
        this.vars.push([]);
        const r = this.list();
        this.vars.pop();
        if (r.stop?.word !== 'end') throw new TemplateError(r.stop ? 'expected {{end}}, found {{else}}' : `unexpected EOF: {{${kind}}} has no {{end}}`, stop.pos);
        elseList = r.list;
      }
    }
    this.vars.pop();
    return { kind, pipe, list, elseList, pos };
  }

  private define(kind: 'define' | 'block', toks: Tok[], pos: number): Node[] {
    const name = toks[0];
    if (name?.t !== 'string') throw new TemplateError(`{{${kind}}} needs a quoted template name`, pos);
    const pipe = kind === 'block' ? this.pipeline(toks.slice(1), pos, false) : undefined;
    const saved = this.vars;
    this.vars = [['$']];
    const { list, stop } = this.list();
    this.vars = saved;
    if (stop?.word !== 'end') throw new TemplateError(`unexpected EOF: {{${kind}}} has no {{end}}`, pos);
    this.defines.set(name.v, list);
    return kind === 'block' ? [{ kind: 'template', name: name.v, pipe, pos }] : [];
  }

  private templateCall(toks: Tok[], pos: number): Node {
    const name = toks[0];
    if (name?.t !== 'string') throw new TemplateError('{{template}} needs a quoted template name', pos);
    const rest = toks.slice(1);
    return { kind: 'template', name: name.v, pipe: rest[0].t === 'end' ? undefined : this.pipeline(rest, pos, false), pos };
  }

  private declared(name: string, pos: number): void {
    if (!this.vars.some((scope) => scope.includes(name))) throw new TemplateError(`undefined variable "${name}"`, pos);
  }

  private pipeline(toks: Tok[], pos: number, allowDecl: boolean, range = false): Pipeline {
    let k = 0;
    const decls: string[] = [];
    let assign = false;
    if (allowDecl && toks[0]?.t === 'var') {
      // `$x :=`, `$x =`, `$i, $v :=` (two only in range)
      const two = range && toks[1]?.v === ',' && toks[2]?.t === 'var' && (toks[3]?.v === ':=' || toks[3]?.v === '=');
      if (two || toks[1]?.v === ':=' || toks[1]?.v === '=') {
        const names = two ? [toks[0].v, toks[2].v] : [toks[0].v];
        const op = two ? toks[3].v : toks[1].v;
        assign = op === '=';
        if (assign) for (const n of names) this.declared(n, toks[0].pos);
        else this.vars[this.vars.length - 1].push(...names);
        decls.push(...names);
        k = two ? 4 : 2;
      }
    }
    const cmds: Command[] = [];
    let cmd: Command = { args: [], pos: toks[k]?.pos ?? pos };
    const r = { k };
    while (toks[r.k].t !== 'end') {
      const t = toks[r.k];
      if (t.v === '|' && t.t === 'op') {
        if (cmd.args.length === 0) throw new TemplateError('missing command before "|"', t.pos);
        cmds.push(cmd);
        r.k++;
        cmd = { args: [], pos: toks[r.k].pos };
        continue;
      }
      if (t.t === 'op' && t.v === ')') throw new TemplateError('unexpected right paren', t.pos);
      if (cmd.args.length > 0 && !t.spaceBefore && !(t.t === 'op' && t.v === '(')) throw new TemplateError(`missing space before ${t.v}`, t.pos);
      cmd.args.push(this.operand(toks, r));
    }
    if (cmd.args.length === 0) {
      if (cmds.length > 0) throw new TemplateError('missing command after "|"', toks[r.k].pos);
      throw new TemplateError('missing value for command', pos);
    }
    cmds.push(cmd);
    return { decls, assign, cmds, pos };
  }

  /** One operand starting at toks[r.k]; a parenthesized pipeline may carry a field chain. */
  private operand(toks: Tok[], r: { k: number }): Operand {
    const t = toks[r.k++];
    switch (t.t) {
      case 'field':
        return { kind: 'field', chain: this.chainFrom(t.v === '' ? [] : [t.v], toks, r), pos: t.pos };
      case 'var':
        this.declared(t.v, t.pos);
        return { kind: 'var', name: t.v, chain: this.chainFrom([], toks, r), pos: t.pos };
      case 'string':
        return { kind: 'string', value: t.v, pos: t.pos };
      case 'number': {
        const clean = t.v.replace(/_/g, '');
        const value = /^[+-]?0[oO]/.test(clean) ? Number.parseInt(clean.replace(/0[oO]/, ''), 8) * (clean.startsWith('-') ? -1 : 1) : Number(clean);
        if (Number.isNaN(value)) throw new TemplateError(`bad number syntax: "${t.v}"`, t.pos);
        return { kind: 'number', value, isFloat: t.float === true, pos: t.pos };
      }
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { kind: 'bool', value: t.v === 'true', pos: t.pos };
        if (t.v === 'nil') return { kind: 'nil', pos: t.pos };
        if (!this.isFunc(t.v)) throw new TemplateError(`function "${t.v}" not defined`, t.pos);
        return { kind: 'func', name: t.v, pos: t.pos };
      case 'op': {
        if (t.v !== '(') throw new TemplateError(`unexpected "${t.v}" in operand`, t.pos);
        let depth = 1;
        const start = r.k;
        while (toks[r.k].t !== 'end') {
          const v = toks[r.k].t === 'op' ? toks[r.k].v : '';
          if (v === '(') depth++;
          if (v === ')' && --depth === 0) break;
          r.k++;
        }
        if (toks[r.k].t === 'end') throw new TemplateError('unclosed left paren', t.pos);
        const inner = [...toks.slice(start, r.k), { t: 'end', v: '', pos: toks[r.k].pos, spaceBefore: true } as Tok];
        r.k++;
        return { kind: 'pipe', pipe: this.pipeline(inner, t.pos, true), chain: this.chainFrom([], toks, r), pos: t.pos };
      }
      default:
        throw new TemplateError('unexpected end of action', t.pos);
    }
  }

  /** Field names directly following (no space), as in `$x.a.b` or `(f).a`. */
  private chainFrom(chain: string[], toks: Tok[], r: { k: number }): string[] {
    while (toks[r.k].t === 'field' && !toks[r.k].spaceBefore) {
      if (toks[r.k].v === '') throw new TemplateError('unexpected . after term', toks[r.k].pos);
      chain.push(toks[r.k++].v);
    }
    return chain;
  }
}
