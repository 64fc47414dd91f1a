/**
 * Plain YAML for small machine-written documents (history and release records): parsed with
 * js-yaml's core schema (no timestamps, no custom types, no positions — fast enough to read
 * thousands of tags), written with the `yaml` library (loaded only when writing).
 */
import { createRequire } from 'node:module';
import jsYaml from 'js-yaml';

export function loadPlain(text: string): unknown {
  return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
}

let yamlLib: typeof import('yaml') | undefined;

/** Block-style YAML, no line folding, `null` for nulls. */
export function dumpPlain(value: unknown): string {
  yamlLib ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlLib.stringify(value, { lineWidth: 0, nullStr: 'null' });
}
