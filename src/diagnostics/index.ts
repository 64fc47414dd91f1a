/**
 * Errors are data. Every configuration problem is a {@link Diagnostic}: where it is
 * (file:line:col, 1-based, file relative to the repository root), what was expected,
 * and a hint. Diagnostics are collected and rendered once by the CLI; exceptions are
 * reserved for bugs and for failures of the machine (a full disk, an unreachable remote),
 * which `environment.ts` turns into exit 1 with the cause and what to do.
 */

export type Severity = 'error' | 'warning';

export interface Location {
  /** Path relative to the repository root (or absolute when outside it). */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
}

export interface Diagnostic {
  severity: Severity;
  /** Stable machine-readable code, e.g. `deployment/unknown-key`. */
  code: string;
  /** What is wrong and what was expected. */
  message: string;
  /** Where; absent only for problems that have no file (e.g. a command-line argument). */
  location?: Location;
  /** How to fix it. */
  hint?: string;
}

/**
 * What kind of failure an error is. The library says what happened; only the CLI
 * (`src/cli/exit.ts`) turns a kind into a process exit code (SPEC 4.3).
 * - `invalid`: a usage or configuration error (the input has to change)
 * - `refused`: a policy refused the request (promotion path, approval, a dirty tree)
 * - `locked`: another run holds a lock this one needed
 * - `failed`: the work itself failed (a step, a download)
 */
export type ErrorKind = 'invalid' | 'refused' | 'locked' | 'failed';

/** Thrown to abort with one or more diagnostics; the CLI renders them and exits by `kind`. */
export class DiagnosticError extends Error {
  readonly diagnostics: Diagnostic[];
  /** What kind of failure this is (default: a usage or configuration error). */
  readonly kind: ErrorKind;
  constructor(diagnostics: Diagnostic[] | Diagnostic, kind: ErrorKind = 'invalid') {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map(formatDiagnostic).join('\n'));
    this.name = 'DiagnosticError';
    this.diagnostics = list;
    this.kind = kind;
  }
}

export function error(code: string, message: string, location?: Location, hint?: string): Diagnostic {
  return { severity: 'error', code, message, ...(location ? { location } : {}), ...(hint ? { hint } : {}) };
}

export function warning(code: string, message: string, location?: Location, hint?: string): Diagnostic {
  return { severity: 'warning', code, message, ...(location ? { location } : {}), ...(hint ? { hint } : {}) };
}

export function fail(code: string, message: string, location?: Location, hint?: string): never {
  throw new DiagnosticError(error(code, message, location, hint));
}

export function formatLocation(loc: Location | undefined): string {
  if (!loc) return '';
  return `${loc.file}:${loc.line}:${loc.col}`;
}

/** `file:line:col: error: message` followed by an indented hint line. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.location ? `${formatLocation(d.location)}: ` : '';
  let out = `${where}${d.severity}: ${d.message}`;
  if (d.hint) out += `\n  hint: ${d.hint}`;
  return out;
}

/** Collects diagnostics; `throwIfErrors` aborts when any error was collected. */
export class DiagnosticBag {
  readonly items: Diagnostic[] = [];
  add(d: Diagnostic): void {
    this.items.push(d);
  }
  error(code: string, message: string, location?: Location, hint?: string): void {
    this.items.push(error(code, message, location, hint));
  }
  warn(code: string, message: string, location?: Location, hint?: string): void {
    this.items.push(warning(code, message, location, hint));
  }
  get errors(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'error');
  }
  get warnings(): Diagnostic[] {
    return this.items.filter((d) => d.severity === 'warning');
  }
  throwIfErrors(): void {
    const errs = this.errors;
    if (errs.length) throw new DiagnosticError(errs);
  }
}

/** Damerau-free Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/** The closest candidate within a sensible distance, or undefined. */
export function didYouMean(input: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of list) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (bestD <= Math.max(2, Math.floor(input.length / 3))) return best;
  // A long shared prefix ("stage" / "staging") is a strong hint too.
  let bestP = 0;
  let byPrefix: string | undefined;
  for (const c of list) {
    const cl = c.toLowerCase();
    let p = 0;
    while (p < cl.length && p < lower.length && cl[p] === lower[p]) p++;
    if (p > bestP) {
      bestP = p;
      byPrefix = c;
    }
  }
  return lower.length >= 3 && bestP >= Math.max(3, Math.ceil(lower.length * 0.6)) ? byPrefix : undefined;
}

/** A hint listing the valid values, with a suggestion when one is close. */
export function choicesHint(input: string, candidates: string[]): string {
  const guess = didYouMean(input, candidates);
  const list = candidates.length ? `valid values: ${candidates.join(', ')}` : 'there are no valid values';
  return guess ? `did you mean "${guess}"? (${list})` : list;
}
