/**
 * zod issues -> located diagnostics. A zod path is walked through the parsed YAML value to
 * find the entry it names and that entry's origin (see src/yaml). Unknown keys get a
 * "did you mean" hint computed from the schema's own keys at that path.
 */
import type { z } from 'zod';
import { didYouMean, error, type Diagnostic, type Location } from '../diagnostics/index.js';
import { describeType, isPlainMap, keyLocOf, locOf } from '../yaml/index.js';

type Path = readonly PropertyKey[];

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  keys?: string[];
  values?: unknown[];
  errors?: ZodIssueLike[][];
  minimum?: number | bigint;
  maximum?: number | bigint;
  origin?: string;
  format?: string;
  pattern?: string;
}

/** The value at `path` and the container/key that hold it. */
function walk(root: unknown, path: Path): { container: unknown; key: string | number | undefined; value: unknown } {
  let container: unknown;
  let key: string | number | undefined;
  let value: unknown = root;
  for (const seg of path) {
    if (value === null || typeof value !== 'object') break;
    container = value;
    key = typeof seg === 'number' ? seg : String(seg);
    value = (value as Record<string | number, unknown>)[key as string];
  }
  return { container, key, value };
}

/** Best location for a path: the entry's value; for a missing key, the enclosing mapping. */
function locateAt(root: unknown, path: Path, fallback: Location, preferKey = false): Location {
  let container: unknown;
  let cur: unknown = root;
  let best: Location | undefined = locOf(root);
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') break;
    container = cur;
    const key = typeof seg === 'number' ? seg : String(seg);
    const has = Array.isArray(cur) ? (key as number) < cur.length : Object.hasOwn(cur, key);
    if (!has) break; // missing key: report the enclosing mapping
    best = (preferKey ? keyLocOf(container, key) : locOf(container, key)) ?? best;
    cur = (cur as Record<string | number, unknown>)[key as string];
  }
  return best ?? fallback;
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown; getter?: () => unknown } } | undefined;
  for (let i = 0; i < 20 && s?.def; i++) {
    const t = s.def.type;
    if (t === 'optional' || t === 'nullable' || t === 'default' || t === 'readonly' || t === 'catch' || t === 'nonoptional' || t === 'prefault') {
      s = s.def.innerType as typeof s;
    } else if (t === 'pipe') {
      s = s.def.in as typeof s;
    } else if (t === 'lazy') {
      s = s.def.getter!() as typeof s;
    } else break;
  }
  return s;
}

/** Keys the schema allows for the mapping at `path` (for "did you mean"). */
function knownKeysAt(schema: unknown, path: Path, root: unknown): string[] {
  let s = unwrap(schema) as { def?: Record<string, unknown>; shape?: Record<string, unknown> } | undefined;
  let value: unknown = root;
  for (const seg of path) {
    if (!s?.def) return [];
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[seg as string] : undefined;
    const t = s.def.type;
    if (t === 'object') s = unwrap(s.shape?.[seg as string]) as typeof s;
    else if (t === 'record') s = unwrap(s.def.valueType) as typeof s;
    else if (t === 'array') s = unwrap(s.def.element) as typeof s;
    else if (t === 'union') s = unwrap(pickUnionBranch(s.def.options as unknown[], value)) as typeof s;
    else return [];
  }
  if (s?.def?.type === 'union') s = unwrap(pickUnionBranch(s.def.options as unknown[], value)) as typeof s;
  return s?.def?.type === 'object' && s.shape ? Object.keys(s.shape) : [];
}

function pickUnionBranch(options: unknown[], value: unknown): unknown {
  for (const o of options) {
    const u = unwrap(o) as { def?: { type?: string } };
    if (isPlainMap(value) && u?.def?.type === 'object') return o;
  }
  return options[0];
}

function expectedWord(e: string | undefined): string {
  switch (e) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'a boolean';
    case 'record':
      return 'a mapping';
    default:
      return e ?? 'a different value';
  }
}

function pathText(path: Path): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '(top level)';
}

/**
 * Convert zod issues into located diagnostics.
 * @param what  noun for messages, e.g. "deployment"
 * @param prefix path prefix shown in messages (the schema may be applied below the root)
 */
export function zodIssuesToDiagnostics(issues: readonly unknown[], root: unknown, schema: unknown, fallback: Location, codePrefix: string, prefix: Path = []): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of issues) {
    const issue = raw as ZodIssueLike;
    const path = issue.path;
    const shown = pathText([...prefix, ...path]);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const { value } = walk(root, path);
        const known = knownKeysAt(schema, path, root);
        for (const k of issue.keys ?? []) {
          const guess = didYouMean(k, known);
          const loc = (isPlainMap(value) ? keyLocOf(value, k) : undefined) ?? locateAt(root, path, fallback);
          out.push(error(`${codePrefix}/unknown-key`, `unknown key "${k}" in ${shown}`, loc, guess ? `did you mean "${guess}"?` : known.length ? `allowed keys: ${known.join(', ')}` : 'remove it'));
        }
        break;
      }
      case 'invalid_type': {
        const { container, key, value } = walk(root, path);
        const missing = value === undefined && container !== undefined && key !== undefined && !(Array.isArray(container) ? false : Object.hasOwn(container as object, key));
        if (missing) {
          out.push(
            error(
              `${codePrefix}/missing-key`,
              `missing required key "${String(path[path.length - 1])}" in ${pathText([...prefix, ...path.slice(0, -1)])}`,
              locateAt(root, path, fallback),
              `add "${String(path[path.length - 1])}: ..."`,
            ),
          );
        } else {
          out.push(
            error(
              `${codePrefix}/type`,
              `${shown} must be ${expectedWord(issue.expected)}, got ${describeType(value)}`,
              locateAt(root, path, fallback),
              issue.expected === 'object' ? 'write a mapping of key: value entries' : issue.expected === 'array' ? 'write a list, e.g. [a, b] or "- a" lines' : undefined,
            ),
          );
        }
        break;
      }
      case 'invalid_union': {
        // Prefer the branch that matches the value's shape and report its issues.
        const { value } = walk(root, path);
        const branches = issue.errors ?? [];
        const shapeMatch = branches.find((b) => b.length > 0 && b.every((x) => x.path.length > 0));
        if (shapeMatch && isPlainMap(value)) {
          out.push(
            ...zodIssuesToDiagnostics(
              shapeMatch.map((x) => ({ ...x, path: [...path, ...x.path] })),
              root,
              schema,
              fallback,
              codePrefix,
              prefix,
            ),
          );
        } else {
          const expected = [...new Set(branches.flatMap((b) => b.filter((x) => x.path.length === 0 && x.expected).map((x) => expectedWord(x.expected))))];
          out.push(error(`${codePrefix}/type`, `${shown} must be ${expected.length ? expected.join(' or ') : 'a different value'}, got ${describeType(value)}`, locateAt(root, path, fallback)));
        }
        break;
      }
      case 'invalid_value': {
        const { value } = walk(root, path);
        const vals = (issue.values ?? []).map((v) => String(v));
        const guess = typeof value === 'string' ? didYouMean(value, vals) : undefined;
        out.push(
          error(
            `${codePrefix}/value`,
            `${shown} must be one of ${vals.join(', ')}, got ${JSON.stringify(value)}`,
            locateAt(root, path, fallback),
            guess ? `did you mean "${guess}"?` : `valid values: ${vals.join(', ')}`,
          ),
        );
        break;
      }
      default: {
        out.push(error(`${codePrefix}/invalid`, `${shown}: ${issue.message}`, locateAt(root, path, fallback)));
      }
    }
  }
  return out;
}

/**
 * Validate with a schema; return the ORIGINAL value (typed), which keeps its positions
 * (zod's parsed copy would lose them), or located diagnostics. Schemas used here must not
 * transform values.
 */
export function parseWithSchema<T extends z.ZodType>(
  schema: T,
  value: unknown,
  fallback: Location,
  codePrefix: string,
  prefix: Path = [],
): { ok: true; data: z.infer<T> } | { ok: false; diagnostics: Diagnostic[] } {
  const r = schema.safeParse(value);
  if (r.success) return { ok: true, data: value as z.infer<T> };
  return { ok: false, diagnostics: zodIssuesToDiagnostics(r.error.issues, value, schema, fallback, codePrefix, prefix) };
}
