/**
 * Executor for parsed Go templates: Go `text/template` execution semantics over the YAML data
 * model (maps, lists, strings, numbers, booleans, null). Truth, field access, the
 * `missingkey` option, variable scoping, `range` order (sorted map keys) and printing follow
 * https://pkg.go.dev/text/template.
 */
import { isPlainMap } from '../yaml/index.js';
import { TemplateError } from './errors.js';
import { goType, printValue } from './format.js';
import type { Command, Node, Operand, ParsedTemplate, Pipeline } from './parse.js';

/** A template function: evaluated arguments in, a value out; it throws an Error to fail. */
export type TemplateFunc = (...args: unknown[]) => unknown;

export interface ExecOptions {
  /** Go's `missingkey` option: `default` prints `<no value>`, `error` fails. */
  missingKey: 'default' | 'error';
  funcs: Readonly<Record<string, TemplateFunc>>;
  /** How a {@link LateValue} is printed (a placeholder the caller fills later); without it, printing one fails. */
  late?: (v: LateValue) => string;
}

/**
 * A value known only when the deployment runs (another component's Terraform outputs, from
 * `atmos.Component`): its fields can be selected and it can be printed (as the caller's
 * placeholder), or passed whole through the JSON encoders (the placeholder then stands for the
 * typed value); anything that would need the value itself (a condition, another function) fails.
 */
export class LateValue {
  constructor(
    /** What it is the value of, for messages and placeholders (a component name). */
    readonly source: string,
    /** The fields selected under it. */
    readonly path: readonly string[],
  ) {}

  field(name: string): LateValue {
    return new LateValue(this.source, [...this.path, name]);
  }

  /** `atmos.Component "vpc" ...).outputs.vpc_id`, for messages. */
  describe(): string {
    return `(atmos.Component "${this.source}" ...).outputs${this.path.map((p) => `.${p}`).join('')}`;
  }
}

/** Functions a {@link LateValue} passes through unchanged: the placeholder stands for the encoded value. */
const LATE_PASS_THROUGH = new Set(['toJson', 'toRawJson', 'toJSON', 'data.ToJSON']);

function lateError(v: LateValue, use: string, pos: number): TemplateError {
  return new TemplateError(`${v.describe()} is known only when the deployment runs: it can be printed or passed to toJson, not ${use}`, pos);
}

/** No piped value (distinct from a piped `undefined`). */
const NONE = Symbol('none');
class Break {}
class Continue {}

/** Go's `truth`: the zero value of its type, and empty collections, are false. */
export function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPlainMap(v)) return Object.keys(v).length > 0;
  return true;
}

export function execute(t: ParsedTemplate, data: unknown, opts: ExecOptions): string {
  const ex = new Executor(t, opts);
  ex.vars.push({ name: '$', value: data });
  ex.list(t.root, data);
  return ex.out;
}

class Executor {
  out = '';
  vars: { name: string; value: unknown }[] = [];
  private depth = 0;
  constructor(
    private readonly t: ParsedTemplate,
    private readonly opts: ExecOptions,
  ) {}

  list(nodes: Node[], dot: unknown): void {
    for (const n of nodes) this.node(n, dot);
  }

  private scoped(fn: () => void): void {
    const mark = this.vars.length;
    try {
      fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private node(n: Node, dot: unknown): void {
    switch (n.kind) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = this.pipeline(n.pipe, dot);
        if (n.pipe.decls.length > 0) return;
        if (v instanceof LateValue) {
          if (!this.opts.late) throw lateError(v, 'printed here', n.pipe.pos);
          this.out += this.opts.late(v);
        } else this.out += printValue(v);
        return;
      }
      case 'if':
      case 'with':
        this.scoped(() => {
          const v = this.pipeline(n.pipe, dot);
          if (v instanceof LateValue) throw lateError(v, `tested by ${n.kind}`, n.pos);
          if (truth(v)) this.list(n.list, n.kind === 'with' ? v : dot);
          else if (n.elseList) this.list(n.elseList, dot);
        });
        return;
      case 'range':
        this.scoped(() => this.range(n, dot));
        return;
      case 'template': {
        const body = this.t.defines.get(n.name);
        if (!body) throw new TemplateError(`no such template "${n.name}"`, n.pos);
        if (++this.depth > 1000) throw new TemplateError('exceeded maximum template depth (1000)', n.pos);
        const arg = n.pipe ? this.pipeline(n.pipe, dot) : undefined;
        const saved = this.vars;
        this.vars = [{ name: '$', value: arg }];
        try {
          this.list(body, arg);
        } finally {
          this.vars = saved;
          this.depth--;
        }
        return;
      }
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
    }
  }

  private range(n: Extract<Node, { pipe: Pipeline; list: Node[] }>, dot: unknown): void {
    const pipe: Pipeline = { ...n.pipe, decls: [] };
    const v = this.pipeline(pipe, dot);
    if (v instanceof LateValue) throw lateError(v, 'ranged over', n.pos);
    let entries: [unknown, unknown][];
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (isPlainMap(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (v === undefined || v === null) entries = [];
    else throw new TemplateError(`range can't iterate over ${printValue(v)}`, n.pos);
    if (entries.length === 0) {
      if (n.elseList) this.list(n.elseList, dot);
      return;
    }
    const mark = this.vars.length;
    for (const [k, x] of entries) {
      this.vars.length = mark;
      const d = n.pipe.decls;
      if (d.length === 1) this.setVar(d[0], x, n.pipe.assign);
      if (d.length === 2) {
        this.setVar(d[0], k, n.pipe.assign);
        this.setVar(d[1], x, n.pipe.assign);
      }
      try {
        this.list(n.list, x);
      } catch (e) {
        if (e instanceof Break) break;
        if (!(e instanceof Continue)) throw e;
      }
    }
  }

  private setVar(name: string, value: unknown, assign: boolean): void {
    if (!assign) {
      this.vars.push({ name, value });
      return;
    }
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
  }

  private pipeline(p: Pipeline, dot: unknown): unknown {
    let v: unknown = NONE;
    for (const c of p.cmds) v = this.command(c, dot, v);
    for (const d of p.decls) this.setVar(d, v, p.assign);
    return v;
  }

  private command(c: Command, dot: unknown, final: unknown): unknown {
    const [first, ...rest] = c.args;
    if (first.kind === 'func') return this.call(first.name, rest, dot, final, first.pos);
    if (rest.length > 0 || final !== NONE) {
      const what = first.kind === 'field' || first.kind === 'var' ? `${first.kind === 'var' ? first.name : ''}.${first.chain.join('.')}` : printValue(this.operand(first, dot));
      throw new TemplateError(`can't give argument to non-function ${what}`, first.pos);
    }
    return this.operand(first, dot);
  }

  private call(name: string, args: Operand[], dot: unknown, final: unknown, pos: number): unknown {
    // `and` and `or` evaluate their arguments only as far as needed (Go 1.18).
    if (name === 'and' || name === 'or') {
      if (args.length + (final === NONE ? 0 : 1) === 0) throw new TemplateError(`wrong number of args for ${name}: want at least 1 got 0`, pos);
      let v: unknown;
      for (const a of args) {
        v = this.operand(a, dot);
        if (v instanceof LateValue) throw lateError(v, `tested by ${name}`, pos);
        if (truth(v) !== (name === 'and')) return v;
      }
      return final === NONE ? v : final;
    }
    const fn = this.opts.funcs[name];
    if (!fn) throw new TemplateError(`function "${name}" not defined`, pos);
    const values = args.map((a) => this.operand(a, dot));
    if (final !== NONE) values.push(final);
    const late = values.find((v) => v instanceof LateValue);
    if (late) {
      if (LATE_PASS_THROUGH.has(name) && values.length === 1) return late;
      throw lateError(late, `passed to ${name}`, pos);
    }
    try {
      return fn(...values);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw new TemplateError(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`, pos);
    }
  }

  private operand(o: Operand, dot: unknown): unknown {
    switch (o.kind) {
      case 'field':
        return this.chain(dot, o.chain, o.pos);
      case 'var': {
        const found = this.vars.findLast((x) => x.name === o.name);
        if (!found) throw new TemplateError(`undefined variable: ${o.name}`, o.pos);
        return this.chain(found.value, o.chain, o.pos);
      }
      case 'pipe':
        return this.chain(this.pipeline(o.pipe, dot), o.chain, o.pos);
      case 'func':
        return this.call(o.name, [], dot, NONE, o.pos);
      case 'string':
      case 'number':
      case 'bool':
        return o.value;
      case 'nil':
        throw new TemplateError('nil is not a command', o.pos);
    }
  }

  private chain(v: unknown, chain: string[], pos: number): unknown {
    let cur = v;
    for (const name of chain) {
      if (cur instanceof LateValue) {
        cur = cur.field(name);
        continue;
      }
      if (cur === undefined) {
        if (this.opts.missingKey === 'error') throw new TemplateError(`nil data; no entry for key "${name}"`, pos);
        return undefined;
      }
      if (cur === null) throw new TemplateError(`nil pointer evaluating interface {}.${name}`, pos);
      if (!isPlainMap(cur)) throw new TemplateError(`can't evaluate field ${name} in type ${goType(cur)}`, pos);
      if (Object.hasOwn(cur, name)) cur = cur[name];
      else if (this.opts.missingKey === 'error') throw new TemplateError(`map has no entry for key "${name}"`, pos);
      else cur = undefined;
    }
    return cur;
  }
}
