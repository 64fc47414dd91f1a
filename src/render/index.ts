/**
 * Output formats shared by every command: json (stable, 2-space), yaml, and aligned
 * tables for people (borderless, so they read well in CI logs too).
 */
import stringWidth from 'string-width';
import pc from 'picocolors';
import { createRequire } from 'node:module';
import { formatLocation, type Diagnostic } from '../diagnostics/index.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

export function makeColors(enabled: boolean): Colors {
  const c = pc.createColors(enabled);
  return { bold: c.bold, dim: c.dim, red: c.red, yellow: c.yellow, green: c.green, cyan: c.cyan };
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

export function toYaml(value: unknown): string {
  // Loaded on demand: only `--format yaml` needs a YAML writer.
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** A borderless, left-aligned table. */
export function table(headers: string[], rows: (string | number)[][], colors?: Colors): string {
  // Borderless columns, two spaces apart, padded to the widest cell as displayed (colour
  // codes take no room, wide characters take two columns).
  const cells = [headers.map((h) => (colors ? colors.bold(h) : h)), ...rows.map((r) => r.map((x) => String(x)))];
  const widths: number[] = [];
  const measured = cells.map((r) => r.map((c, i) => {
    const w = /^[\x20-\x7e]*$/.test(c) ? c.length : stringWidth(c);
    widths[i] = Math.max(widths[i] ?? 0, w);
    return w;
  }));
  return cells.map((r, ri) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - measured[ri][i] + 2))).join('').trimEnd()).join('\n') + '\n';
}

/** `file:line:col: error: message` + hint, coloured when asked. */
export function renderDiagnostic(d: Diagnostic, colors: Colors): string {
  const where = d.location ? colors.bold(formatLocation(d.location)) + ': ' : '';
  const sev = d.severity === 'error' ? colors.red('error') : colors.yellow('warning');
  let out = `${where}${sev}: ${d.message}`;
  if (d.hint) out += '\n' + d.hint.split('\n').map((l, i) => (i === 0 ? `  ${colors.cyan('hint')}: ${l}` : `        ${l}`)).join('\n');
  return out + '\n';
}

/** Render a value as a compact single-line string for tables. */
export function inline(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
