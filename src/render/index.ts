/**
 * Output formats shared by every command: json (stable, 2-space), yaml, and aligned
 * tables for people (borderless, so they read well in CI logs too).
 */
import stringWidth from 'string-width';
import pc from 'picocolors';
import { createRequire } from 'node:module';
import { formatLocation, type Diagnostic } from '../diagnostics/index.js';
import { escapeControls } from '../output/format.js';

export type OutputFormat = 'table' | 'json' | 'yaml';

export interface Colors {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  cyan(s: string): string;
}

/**
 * Text styled by {@link makeColors}: its escape sequences are ours. Everything else that
 * reaches a table has its control characters escaped ({@link escapeControls}). Bounded: only
 * the styled cells of the tables being printed need to be remembered.
 */
const styled = new Set<string>();

/** Escapes `s` unless it is exactly a string our colours produced. */
export function safeText(s: string): string {
  return styled.has(s) ? s : escapeControls(s);
}

export function makeColors(enabled: boolean): Colors {
  const c = pc.createColors(enabled);
  // The text to colour is escaped first (unless it is itself our styling): a colour never
  // lets user data reach the terminal raw.
  const style = (f: (s: string) => string) => (s: string) => {
    const out = f(safeText(s));
    if (styled.size > 10_000) styled.clear();
    styled.add(out);
    return out;
  };
  return { bold: style(c.bold), dim: style(c.dim), red: style(c.red), yellow: style(c.yellow), green: style(c.green), cyan: style(c.cyan) };
}

export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
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
  // Cells are data (user names, annotations, names read from tags): control characters are
  // escaped, so a value can neither forge a row nor colour the terminal.
  const cells = [headers.map((h) => (colors ? colors.bold(h) : h)), ...rows.map((r) => r.map((x) => safeText(String(x))))];
  const widths: number[] = [];
  const measured = cells.map((r) =>
    r.map((c, i) => {
      const w = /^[\x20-\x7e]*$/.test(c) ? c.length : stringWidth(c);
      widths[i] = Math.max(widths[i] ?? 0, w);
      return w;
    }),
  );
  return `${cells
    .map((r, ri) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - measured[ri][i] + 2)))
        .join('')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** `file:line:col: error: message` + hint, coloured when asked. */
export function renderDiagnostic(d: Diagnostic, colors: Colors): string {
  const where = d.location ? `${colors.bold(formatLocation(d.location))}: ` : '';
  const sev = d.severity === 'error' ? colors.red('error') : colors.yellow('warning');
  // Messages quote user input (arguments, YAML values, names read from Git): line by line,
  // control characters escaped, so a value cannot colour or rewrite the terminal.
  const lines = (s: string) => s.split('\n').map(escapeControls);
  let out = `${where}${sev}: ${lines(d.message).join('\n')}`;
  if (d.hint)
    out += `\n${lines(d.hint)
      .map((l, i) => (i === 0 ? `  ${colors.cyan('hint')}: ${l}` : `        ${l}`))
      .join('\n')}`;
  return `${out}\n`;
}
