/**
 * A value with some of its strings replaced, positions kept: what evaluating YAML functions
 * needs (src/stacks/include.ts, src/resolve/yaml-functions.ts). Containers are copied only when
 * something inside them changed, so the values of a shared stack file are never modified.
 */
import type { Location } from '../diagnostics/index.js';
import { copyEntryLoc, ensureLocs, isPlainMap, locOf, locsOf } from './index.js';

/** Keys and list indexes from the root down to a value. */
export type ValuePath = (string | number)[];

/**
 * `value` with each string replaced by what `fn` returns for it (given its location and a
 * function giving its path, built only when asked; return the string itself to keep it).
 */
export function mapStrings(value: unknown, fallback: Location, fn: (s: string, location: Location, path: () => ValuePath) => unknown): unknown {
  const stack: ValuePath = [];
  const pathNow = () => [...stack];
  const visit = (v: unknown, loc: Location): unknown => {
    if (typeof v === 'string') return fn(v, loc, pathNow);
    if (!Array.isArray(v) && !isPlainMap(v)) return v;
    const list = Array.isArray(v);
    let out: Record<string | number, unknown> | undefined;
    for (const [k, x] of Object.entries(v)) {
      const key = list ? Number(k) : k;
      stack.push(key);
      const y = visit(x, locOf(v, key) ?? loc);
      stack.pop();
      if (y === x) continue;
      if (!out) {
        out = (list ? [...v] : { ...v }) as Record<string | number, unknown>;
        ensureLocs(out, locsOf(v)?.self);
        for (const kk of Object.keys(v)) copyEntryLoc(v, list ? Number(kk) : kk, out, list ? Number(kk) : kk);
      }
      // An own property whatever the key (`__proto__` included), never the prototype.
      Object.defineProperty(out, key, { value: y, writable: true, enumerable: true, configurable: true });
    }
    return out ?? v;
  };
  return visit(value, fallback);
}
