/**
 * `--context k=v` (PRD cli-integration.md: `build --context cpu=512`): values that override a
 * target's `context` for one command. They change what runs (Terraform vars of the modules
 * that declare the key, `{{ target.context.k }}` templates), so they enter the steps'
 * fingerprints through those values, and a release made with them records them (its
 * `context`, part of its id): rolling that release out again applies the same overrides.
 *
 * A value is typed like a YAML scalar: an integer or decimal number, `true`/`false`, `null`;
 * `[...]` / `{...}` is a YAML flow list or map; `"..."` a JSON string; anything else the
 * string as written. Keys are top-level context keys (letters, digits, `_`, `-`).
 */
import type { DeploymentConfig } from './deployment.js';
import { DiagnosticError, error } from '../diagnostics/index.js';
import { copyLocs, parseYaml } from '../yaml/index.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function typedValue(raw: string, arg: string): unknown {
  const v = raw.trim();
  if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === 'null') return null;
  try {
    if (v.startsWith('"')) return JSON.parse(v) as unknown;
    if (v.startsWith('[') || v.startsWith('{')) {
      // The project's YAML parser: its limits on aliases and depth hold for arguments too.
      const parsed = parseYaml(v, `--context ${arg.slice(0, arg.indexOf('='))}`, { positions: false });
      if (parsed.diagnostics.some((d) => d.severity === 'error')) throw new DiagnosticError(parsed.diagnostics.filter((d) => d.severity === 'error'));
      return parsed.value;
    }
  } catch (e) {
    if (e instanceof DiagnosticError) throw e;
    throw new DiagnosticError(
      error(
        'args/context',
        `--context ${arg}: the value is not valid ${v.startsWith('"') ? 'JSON string' : 'YAML flow'}: ${(e as Error).message.split('\n')[0]}`,
        undefined,
        "e.g. --context cpu=512, --context 'azs=[a, b]', --context 'tags={team: x}'",
      ),
    );
  }
  return raw;
}

/** `--context k=v` (repeatable) → the overrides; a malformed or repeated one is a usage error (exit 2). */
export function parseContextOverrides(list: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of list) {
    const i = arg.indexOf('=');
    const key = i > 0 ? arg.slice(0, i).trim() : '';
    if (!key || !KEY.test(key)) {
      throw new DiagnosticError(
        error(
          'args/context',
          `--context "${arg}" is not key=value`,
          undefined,
          key.includes('.') ? "a key names a top-level context key; give a map value instead: --context 'tags={team: x}'" : 'e.g. --context cpu=512 (keys: letters, digits, _ and -)',
        ),
      );
    }
    if (Object.hasOwn(out, key)) throw new DiagnosticError(error('args/context', `--context ${key} is given twice`, undefined, 'give each key once'));
    out[key] = typedValue(arg.slice(i + 1), arg);
  }
  return out;
}

/** `k=v` for each override (what notices and messages show). */
export function formatContextOverrides(overrides: Record<string, unknown>): string {
  return Object.entries(overrides)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

/**
 * The deployment with `overrides` over `targets.<target>.context` (the file's other values and
 * their locations kept), remembering them in `contextOverrides`. No overrides: `dep` itself.
 */
export function withContextOverrides(dep: DeploymentConfig, target: string, overrides: Record<string, unknown>): DeploymentConfig {
  if (Object.keys(overrides).length === 0) return dep;
  const targets = dep.body.targets;
  const t = targets[target];
  if (!t) return dep;
  const context = { ...(t.context ?? {}), ...overrides };
  if (t.context) copyLocs(t.context, context);
  const newTarget = { ...t, context };
  copyLocs(t, newTarget);
  const newTargets = { ...targets, [target]: newTarget };
  copyLocs(targets, newTargets);
  const body = { ...dep.body, targets: newTargets };
  copyLocs(dep.body, body);
  return { ...dep, body, contextOverrides: { ...(dep.contextOverrides ?? {}), ...overrides } };
}
