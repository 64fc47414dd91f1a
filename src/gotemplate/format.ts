/**
 * Go's `fmt` as templates see it: how a value prints (`%v`), `fmt.Sprint`/`Sprintln` spacing,
 * and the `printf` verbs stack manifests use (%s %d %v %q %t %f %g %e %x %X %o %b %c %%, with
 * flags, width and precision). Values are the YAML data model: `undefined` is Go's invalid
 * value (`<no value>`), `null` is nil (`<nil>`), integers print as Go ints.
 */
import { isPlainMap } from '../yaml/index.js';

/** Go's shortest `%g`/`%v` for a float64 (exponent outside [-4, 21)). */
function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) return goExp(n.toExponential());
  return String(n);
}

/** JS `1.5e-7` / `1e+21` → Go `1.5e-07` / `1e+21` (at least two exponent digits). */
function goExp(s: string): string {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** `%v` of a value. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatFloat(v);
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isPlainMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  if (v instanceof Error) return v.message;
  return String(v);
}

/** `fmt.Sprint`: a space between operands when neither is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

/** `fmt.Sprintln`: spaces between all operands and a newline. */
export function sprintln(args: unknown[]): string {
  return `${args.map(printValue).join(' ')}\n`;
}

/** Go's `%q` of a string (strconv.Quote): JSON escaping is the same for printable text. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, '\\x7f');
}

/** Go's type name of a value, as `%T` and `%!verb(type=value)` print it. */
export function goType(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (isPlainMap(v)) return 'map[string]interface {}';
  return typeof v;
}

function pad(s: string, width: number | undefined, flags: string): string {
  if (width === undefined || s.length >= width) return s;
  if (flags.includes('-')) return s + ' '.repeat(width - s.length);
  if (flags.includes('0')) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(width - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(width - s.length) + s;
}

function bad(verb: string, v: unknown): string {
  return `%!${verb}(${goType(v)}=${printValue(v)})`;
}

function integer(verb: string, v: unknown, flags: string, prec: number | undefined): string {
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad(verb, v);
  const base = verb === 'd' ? 10 : verb === 'o' ? 8 : verb === 'b' ? 2 : 16;
  let digits = Math.abs(v).toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  if (prec !== undefined) digits = digits.padStart(prec, '0');
  if (flags.includes('#') && (verb === 'x' || verb === 'X')) digits = `0${verb}${digits}`;
  const sign = v < 0 ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  return sign + digits;
}

function float(verb: string, v: unknown, flags: string, prec: number | undefined): string {
  if (typeof v !== 'number') return bad(verb, v);
  let s: string;
  if (verb === 'f' || verb === 'F') s = v.toFixed(prec ?? 6);
  else if (verb === 'e' || verb === 'E') s = goExp(v.toExponential(prec ?? 6));
  else s = prec === undefined ? formatFloat(v) : String(Number(v.toPrecision(prec)));
  if (verb === 'E') s = s.toUpperCase();
  return v >= 0 && flags.includes('+') ? `+${s}` : s;
}

function verbValue(verb: string, v: unknown, flags: string, prec: number | undefined): string {
  switch (verb) {
    case 'v':
      return flags.includes('#') && typeof v === 'string' ? goQuote(v) : printValue(v);
    case 's': {
      if (typeof v === 'number' || typeof v === 'boolean') return bad(verb, v);
      const s = printValue(v);
      return prec === undefined ? s : s.slice(0, prec);
    }
    case 'q':
      return typeof v === 'string' ? goQuote(v) : typeof v === 'number' && Number.isInteger(v) ? `'${String.fromCodePoint(v)}'` : bad(verb, v);
    case 't':
      return typeof v === 'boolean' ? String(v) : bad(verb, v);
    case 'd':
    case 'o':
    case 'b':
      return integer(verb, v, flags, prec);
    case 'x':
    case 'X':
      if (typeof v === 'string') {
        const hex = Buffer.from(v, 'utf8').toString('hex');
        return verb === 'X' ? hex.toUpperCase() : hex;
      }
      return integer(verb, v, flags, prec);
    case 'c':
      return typeof v === 'number' && Number.isInteger(v) ? String.fromCodePoint(v) : bad(verb, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      return float(verb, v, flags, prec);
    case 'T':
      return goType(v);
    default:
      return `%!${verb}(${goType(v)}=${printValue(v)})`;
  }
}

/** `fmt.Sprintf`. */
export function sprintf(format: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  const re = /%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, w, p, verb] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    const width = w === '*' ? Number(args[argi++]) : w === undefined ? undefined : Number(w);
    const hasPrec = m[0].includes('.');
    const prec = p === '*' ? Number(args[argi++]) : hasPrec ? Number(p ?? 0) : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += pad(verbValue(verb, args[argi++], flags, prec), width, flags);
  }
  out += format.slice(last);
  if (argi < args.length)
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${goType(a)}=${printValue(a)}`)
      .join(', ')})`;
  return out;
}
