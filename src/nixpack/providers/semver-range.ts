/**
 * Just enough of npm's range grammar to answer "does this range allow any version of
 * major M?" — what nixpacks asks to pick a Node major from `engines.node` / `.nvmrc`.
 * Versions are integers (major·10⁸ + minor·10⁴ + patch); a range is a union of
 * half-open intervals [lo, hi). Prerelease tags are ignored.
 */

const MAX = Number.MAX_SAFE_INTEGER;
const v = (maj: number, min = 0, pat = 0): number => maj * 1e8 + min * 1e4 + pat;

export interface Interval {
  lo: number;
  hi: number;
}

type Part = number | undefined;

function parseVersion(s: string): [Part, Part, Part] | undefined {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.+-]*)?$/.exec(s);
  if (!m) return undefined;
  const parts: Part[] = [];
  let wild = false;
  for (const x of [m[1], m[2], m[3]]) {
    if (wild || x === undefined || /^[xX*]$/.test(x)) {
      wild = true;
      parts.push(undefined);
    } else parts.push(Number(x));
  }
  return parts as [Part, Part, Part];
}

/** The interval of one comparator, or undefined when it does not parse. */
function comparator(c: string): Interval | undefined {
  if (c === '' || c === '*' || c === 'x' || c === 'X') return { lo: 0, hi: MAX };
  const m = /^(>=|<=|>|<|=|\^|~>?)?(.*)$/.exec(c)!;
  const op = m[1] ?? '';
  const ver = parseVersion(m[2]);
  if (!ver) return undefined;
  const [M, mi, p] = ver;
  const any = { lo: 0, hi: MAX };
  const none = { lo: 0, hi: 0 };
  switch (op) {
    case '':
    case '=':
      if (M === undefined) return any;
      if (mi === undefined) return { lo: v(M), hi: v(M + 1) };
      if (p === undefined) return { lo: v(M, mi), hi: v(M, mi + 1) };
      return { lo: v(M, mi, p), hi: v(M, mi, p) + 1 };
    case '>=':
      return M === undefined ? any : { lo: v(M, mi ?? 0, p ?? 0), hi: MAX };
    case '>':
      if (M === undefined) return none;
      if (mi === undefined) return { lo: v(M + 1), hi: MAX };
      if (p === undefined) return { lo: v(M, mi + 1), hi: MAX };
      return { lo: v(M, mi, p) + 1, hi: MAX };
    case '<':
      return M === undefined ? none : { lo: 0, hi: v(M, mi ?? 0, p ?? 0) };
    case '<=':
      if (M === undefined) return any;
      if (mi === undefined) return { lo: 0, hi: v(M + 1) };
      if (p === undefined) return { lo: 0, hi: v(M, mi + 1) };
      return { lo: 0, hi: v(M, mi, p) + 1 };
    case '~':
    case '~>':
      if (M === undefined) return any;
      if (mi === undefined) return { lo: v(M), hi: v(M + 1) };
      return { lo: v(M, mi, p ?? 0), hi: v(M, mi + 1) };
    case '^':
      if (M === undefined) return any;
      if (M > 0 || mi === undefined) return { lo: v(M, mi ?? 0, p ?? 0), hi: v(M + 1) };
      if (mi > 0 || p === undefined) return { lo: v(0, mi, p ?? 0), hi: v(0, mi + 1) };
      return { lo: v(0, 0, p), hi: v(0, 0, p) + 1 };
    default:
      return undefined;
  }
}

function intersect(a: Interval, b: Interval): Interval {
  return { lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) };
}

/** The range as a union of intervals; undefined when it is not a valid range. */
export function parseRange(range: string): Interval[] | undefined {
  const out: Interval[] = [];
  for (const alt0 of range.split('||')) {
    const alt = alt0.trim();
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(alt);
    if (hyphen) {
      const a = parseVersion(hyphen[1]);
      const b = parseVersion(hyphen[2]);
      if (!a || !b) return undefined;
      const lo = a[0] === undefined ? 0 : v(a[0], a[1] ?? 0, a[2] ?? 0);
      let hi: number;
      if (b[0] === undefined) hi = MAX;
      else if (b[1] === undefined) hi = v(b[0] + 1);
      else if (b[2] === undefined) hi = v(b[0], b[1] + 1);
      else hi = v(b[0], b[1], b[2]) + 1;
      out.push({ lo, hi });
      continue;
    }
    let acc: Interval = { lo: 0, hi: MAX };
    const tokens = alt
      .replace(/(>=|<=|>|<|=|\^|~>?)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    for (const t of tokens) {
      const c = comparator(t);
      if (!c) return undefined;
      acc = intersect(acc, c);
    }
    out.push(acc);
  }
  return out;
}

/** Does the range allow some version with this major? */
export function allowsMajor(range: Interval[], major: number): boolean {
  const m: Interval = { lo: v(major), hi: v(major + 1) };
  return range.some((r) => {
    const i = intersect(r, m);
    return i.lo < i.hi;
  });
}
