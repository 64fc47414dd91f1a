/**
 * The functions a stack template may call: Go's builtins (text/template "Functions"; `and`
 * and `or` live in the executor because they short-circuit), and the Sprig
 * (https://masterminds.github.io/sprig) and Gomplate (https://docs.gomplate.ca) functions
 * Atmos repositories use. Anything else is "not defined" at parse time, so a template never
 * reaches a value half-evaluated.
 *
 * Which Sprig/Gomplate functions: every `{{ … }}` in cloudposse/atmos `examples/` and
 * `tests/fixtures/` (1,691 actions), counted by name: toJson 34, eq 27, default 24, printf 22,
 * env 20, quote 12, dict 8, has 8, len 7, upper 7, replace 7, regexReplaceAll 7, index 7,
 * fail 6, ne 6, list 4, strings.Quote 3, kindIs 3, splitList 3, and 3, strings.Title 2,
 * title 2, toString 2, lower 2, strings.TrimPrefix 2, strings.TrimSuffix 2, strings.Trunc 2,
 * hasKey 2, or 2, toJSON 2, trim 1, expandenv 1 — plus the common neighbours of those
 * (trimPrefix, contains, join, coalesce, ternary, toYaml, …) and Sprig's integer arithmetic
 * (`add`, used by Atmos's internal/exec/stack_processor_template_test.go). Not provided: `now` (a build
 * must not depend on the clock), datasources (`datasource`, `ds`, `atmos.GomplateDatasource`)
 * and `atmos.Store` (see ./index.ts for their messages); `atmos.Component` is the caller's
 * (src/resolve/go-templates.ts, in a component's configuration).
 */
import { stringify as toYamlText } from 'yaml';
import { isPlainMap } from '../yaml/index.js';
import type { TemplateFunc } from './exec.js';
import { truth } from './exec.js';
import { goQuote, goType, printValue, sprint, sprintf, sprintln } from './format.js';

type Funcs = Record<string, TemplateFunc>;

/** Sprig's `strval`: strings as they are, everything else as `%v`. */
function strval(v: unknown): string {
  return typeof v === 'string' ? v : printValue(v);
}

function str(v: unknown, fn: string): string {
  if (typeof v !== 'string') throw new Error(`${fn}: expected a string, got ${goType(v)}`);
  return v;
}

function num(v: unknown, fn: string): number {
  if (typeof v !== 'number') throw new Error(`${fn}: expected a number, got ${goType(v)}`);
  return v;
}

/** Go's comparison of basic values (text/template `eq`, `lt`, …). */
function basic(a: unknown, b: unknown, fn: string): void {
  const kind = (v: unknown): string => (v === null || v === undefined ? 'nil' : Array.isArray(v) || isPlainMap(v) ? 'complex' : typeof v);
  if (kind(a) === 'complex' || kind(b) === 'complex') throw new Error(`${fn}: non-comparable type ${goType(kind(a) === 'complex' ? a : b)}`);
  if (kind(a) !== kind(b) && kind(a) !== 'nil' && kind(b) !== 'nil') throw new Error('incompatible types for comparison');
}

function ordered(a: unknown, b: unknown, fn: string): [number | string, number | string] {
  basic(a, b, fn);
  if ((typeof a !== 'number' && typeof a !== 'string') || (typeof b !== 'number' && typeof b !== 'string')) throw new Error(`${fn}: invalid type for comparison`);
  return [a, b];
}

function indexInto(v: unknown, keys: unknown[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      const i = num(k, 'index');
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) throw new Error(`index out of range: ${i}`);
      cur = typeof cur === 'string' ? Buffer.from(cur)[i] : cur[i];
    } else if (isPlainMap(cur)) cur = Object.hasOwn(cur, strval(k)) ? cur[strval(k)] : undefined;
    else if (cur === undefined || cur === null) throw new Error('index of untyped nil');
    else throw new Error(`can't index item of type ${goType(cur)}`);
  }
  return cur;
}

/** JSON as Go's encoding/json writes it: sorted keys; `escapeHtml` as json.Marshal does. */
function toJson(v: unknown, escapeHtml: boolean, indent = ''): string {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sorted)
      : isPlainMap(x)
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sorted(x[k])]),
          )
        : x === undefined
          ? null
          : x;
  const s = JSON.stringify(sorted(v), null, indent) ?? 'null';
  return escapeHtml ? s.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026') : s;
}

/** Go reflect kinds, as Sprig's `kindOf`/`kindIs` name them. */
function kindOf(v: unknown): string {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (Array.isArray(v)) return 'slice';
  if (isPlainMap(v)) return 'map';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

const title = (s: string): string => s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_, pre: string, c: string) => pre + c.toUpperCase());

/** Go's strings.Trim cutset semantics (every character of `cutset`, from both ends). */
function trimCutset(s: string, cutset: string, left: boolean, right: boolean): string {
  let a = 0;
  let b = s.length;
  while (left && a < b && cutset.includes(s[a])) a++;
  while (right && b > a && cutset.includes(s[b - 1])) b--;
  return s.slice(a, b);
}

/** Go's regexp replacement syntax (`$1`, `${name}`) is close to JavaScript's; `$name` needs braces in JS. */
function goRegex(re: string): RegExp {
  return new RegExp(re.replace(/\(\?P</g, '(?<'), 'g');
}

/** Which function libraries are on (atmos.yaml `templates.settings.sprig.enabled` / `gomplate.enabled`). */
export interface FuncLibraries {
  sprig: boolean;
  gomplate: boolean;
}

/** The function map for one evaluation; `env` is the environment `env`/`expandenv` read. */
export function templateFuncs(env: Readonly<Record<string, string | undefined>>, libs: FuncLibraries): Funcs {
  const goBuiltins: Funcs = {
    not: (v) => !truth(v),
    len: (v) => {
      if (typeof v === 'string') return Buffer.byteLength(v);
      if (Array.isArray(v)) return v.length;
      if (isPlainMap(v)) return Object.keys(v).length;
      throw new Error(`len of type ${goType(v)}`);
    },
    index: (v, ...keys) => indexInto(v, keys),
    slice: (v, ...ix) => {
      if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`can't slice item of type ${goType(v)}`);
      const [i = 0, j = v.length] = ix.map((x) => num(x, 'slice'));
      if (i < 0 || j < i || j > v.length) throw new Error(`index out of range: ${j}`);
      return v.slice(i, j);
    },
    print: (...a) => sprint(a),
    printf: (f, ...a) => sprintf(str(f, 'printf'), a),
    println: (...a) => sprintln(a),
    eq: (a, ...bs) => {
      if (bs.length === 0) throw new Error('missing argument for comparison');
      return bs.some((b) => {
        basic(a, b, 'eq');
        return (a ?? null) === (b ?? null);
      });
    },
    ne: (a, b) => {
      basic(a, b, 'ne');
      return (a ?? null) !== (b ?? null);
    },
    lt: (a, b) => {
      const [x, y] = ordered(a, b, 'lt');
      return x < y;
    },
    le: (a, b) => {
      const [x, y] = ordered(a, b, 'le');
      return x <= y;
    },
    gt: (a, b) => {
      const [x, y] = ordered(a, b, 'gt');
      return x > y;
    },
    ge: (a, b) => {
      const [x, y] = ordered(a, b, 'ge');
      return x >= y;
    },
    html: (...a) => sprint(a).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;').replace(/"/g, '&#34;').replace(/\0/g, '\uFFFD'),
    js: (...a) => sprint(a).replace(/[\\'"<>&=]/g, (c) => (c === '\\' || c === "'" || c === '"' ? `\\${c}` : `\\u00${c.charCodeAt(0).toString(16).toUpperCase()}`)),
    urlquery: (...a) =>
      encodeURIComponent(sprint(a))
        .replace(/%20/g, '+')
        .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  };

  const sprig: Funcs = {
    default: (d, ...given) => (given.length === 0 || !truth(given[0]) ? d : given[0]),
    empty: (v) => !truth(v),
    coalesce: (...v) => v.find(truth) ?? null,
    ternary: (vt, vf, cond) => (cond === true ? vt : vf),
    fail: (msg) => {
      throw new Error(strval(msg));
    },
    upper: (s) => strval(s).toUpperCase(),
    lower: (s) => strval(s).toLowerCase(),
    title: (s) => title(strval(s)),
    trim: (s) => strval(s).trim(),
    trimAll: (cut, s) => trimCutset(strval(s), strval(cut), true, true),
    trimPrefix: (p, s) => (strval(s).startsWith(strval(p)) ? strval(s).slice(strval(p).length) : strval(s)),
    trimSuffix: (p, s) => (strval(p) !== '' && strval(s).endsWith(strval(p)) ? strval(s).slice(0, -strval(p).length) : strval(s)),
    trunc: (n, s) => (num(n, 'trunc') >= 0 ? strval(s).slice(0, num(n, 'trunc')) : strval(s).slice(num(n, 'trunc'))),
    replace: (o, n, s) => strval(s).split(strval(o)).join(strval(n)),
    contains: (sub, s) => strval(s).includes(strval(sub)),
    hasPrefix: (p, s) => strval(s).startsWith(strval(p)),
    hasSuffix: (p, s) => strval(s).endsWith(strval(p)),
    quote: (...a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => goQuote(strval(x)))
        .join(' '),
    squote: (...a) =>
      a
        .filter((x) => x !== null && x !== undefined)
        .map((x) => `'${strval(x)}'`)
        .join(' '),
    join: (sep, l) => (Array.isArray(l) ? l.map((x: unknown) => strval(x)) : [strval(l)]).join(strval(sep)),
    splitList: (sep, s) => strval(s).split(strval(sep)),
    split: (sep, s) =>
      Object.fromEntries(
        strval(s)
          .split(strval(sep))
          .map((p, i) => [`_${i}`, p]),
      ),
    toString: (v: unknown) => strval(v),
    list: (...a) => a,
    dict: (...a) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < a.length; i += 2) out[strval(a[i])] = a[i + 1] ?? '';
      return out;
    },
    get: (d, k) => (isPlainMap(d) && Object.hasOwn(d, strval(k)) ? d[strval(k)] : ''),
    hasKey: (d, k) => isPlainMap(d) && Object.hasOwn(d, strval(k)),
    has: (needle, l) => Array.isArray(l) && l.some((x) => x === needle),
    keys: (...ds) => ds.flatMap((d) => (isPlainMap(d) ? Object.keys(d) : [])).sort(),
    toJson: (v) => toJson(v, true),
    toRawJson: (v) => toJson(v, false),
    toPrettyJson: (v) => toJson(v, true, '  '),
    fromJson: (s) => {
      try {
        return JSON.parse(strval(s)) as unknown;
      } catch {
        return {};
      }
    },
    toYaml: (v) => toYamlText(v).replace(/\n$/, ''),
    kindOf: (v) => kindOf(v),
    kindIs: (k, v) => kindOf(v) === strval(k),
    typeOf: (v) => goType(v),
    env: (name) => env[strval(name)] ?? '',
    expandenv: (s) => strval(s).replace(/\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, __, a: string | undefined, b: string | undefined) => env[a ?? b ?? ''] ?? ''),
    regexReplaceAll: (re, s, repl) => strval(s).replace(goRegex(strval(re)), strval(repl)),
    regexReplaceAllLiteral: (re, s, repl) => strval(s).replace(goRegex(strval(re)), () => strval(repl)),
    regexMatch: (re, s) => new RegExp(strval(re)).test(strval(s)),
    add: (...a) => a.reduce((x: number, y) => x + num(y, 'add'), 0),
    add1: (a) => num(a, 'add1') + 1,
    sub: (a, b) => num(a, 'sub') - num(b, 'sub'),
    mul: (...a) => a.reduce((x: number, y) => x * num(y, 'mul'), 1),
    div: (a, b) => Math.trunc(num(a, 'div') / num(b, 'div')),
    mod: (a, b) => num(a, 'mod') % num(b, 'mod'),
  };

  const gomplate: Funcs = {
    'strings.Quote': (v) => goQuote(strval(v)),
    'strings.Title': (v) => title(strval(v)),
    'strings.ToUpper': (v) => strval(v).toUpperCase(),
    'strings.ToLower': (v) => strval(v).toLowerCase(),
    'strings.TrimPrefix': (p, s) => sprig.trimPrefix(p, s),
    'strings.TrimSuffix': (p, s) => sprig.trimSuffix(p, s),
    'strings.TrimSpace': (s) => strval(s).trim(),
    'strings.Trim': (cut, s) => trimCutset(strval(s), strval(cut), true, true),
    'strings.Trunc': (n, s) => strval(s).slice(0, Math.max(0, num(n, 'strings.Trunc'))),
    'strings.ReplaceAll': (o, n, s) => sprig.replace(o, n, s),
    'strings.Contains': (sub, s) => strval(s).includes(strval(sub)),
    'strings.HasPrefix': (p, s) => strval(s).startsWith(strval(p)),
    'strings.HasSuffix': (p, s) => strval(s).endsWith(strval(p)),
    'strings.Split': (sep, s) => strval(s).split(strval(sep)),
    'conv.ToString': (v) => strval(v),
    'conv.Default': (d, v) => (truth(v) ? v : d),
    toJSON: (v) => toJson(v, false),
    'data.ToJSON': (v) => toJson(v, false),
  };

  return { ...goBuiltins, ...(libs.sprig ? sprig : {}), ...(libs.gomplate ? gomplate : {}) };
}
