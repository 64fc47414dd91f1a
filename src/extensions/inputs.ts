/**
 * A module's inputs as documentation (`atmos-pipe modules`), read from its zod schema: each
 * key of the object schema with its type, whether it may be left out, its default and its
 * `.describe()` text. The schema stays the one truth: nothing is declared twice.
 */
import type { z } from 'zod';

export interface InputDoc {
  key: string;
  /** `string`, `number`, `string[]`, `"a" | "b"`, … */
  type: string;
  optional: boolean;
  default?: unknown;
  description?: string;
}

/** The parts of a zod schema's definition this reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { def: Def }).def;
}

/** A short type name for a schema (wrappers unwrapped). */
function typeName(schema: z.ZodType): string {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
    case 'prefault':
    case 'readonly':
      return def.innerType ? typeName(def.innerType) : def.type;
    case 'array':
      return def.element ? `${typeName(def.element)}[]` : 'array';
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(' | ');
    case 'literal':
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(' | ');
    case 'union':
      return (def.options ?? []).map(typeName).join(' | ');
    case 'record':
      return 'map';
    default:
      return def.type;
  }
}

/** The first default among the wrappers of a schema. */
function defaultOf(schema: z.ZodType): unknown {
  const def = defOf(schema);
  if (def.type === 'default' || def.type === 'prefault') return def.defaultValue;
  return def.innerType && ['optional', 'nullable', 'readonly'].includes(def.type) ? defaultOf(def.innerType) : undefined;
}

/** The documented inputs of an object schema; any other schema is one row named `(inputs)`. */
export function describeInputs(schema: z.ZodType): InputDoc[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  const fields: [string, z.ZodType][] = defOf(schema).type === 'object' && shape ? Object.entries(shape) : [['(inputs)', schema]];
  return fields.map(([key, s]) => {
    const def = defaultOf(s);
    return {
      key,
      type: typeName(s),
      optional: s.safeParse(undefined).success,
      ...(def !== undefined ? { default: def } : {}),
      ...(s.description ? { description: s.description } : {}),
    };
  });
}
