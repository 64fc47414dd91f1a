/**
 * CI matrices (SPEC 10): `{"include":[{"component","wave","depends_on"}]}` for a GitHub
 * Actions matrix; with waves, one matrix per wave.
 */
import type { ResolvedDeployment } from '../resolve/index.js';

export interface MatrixEntry {
  component: string;
  wave: number;
  depends_on: string[];
}

export interface Matrix {
  include: MatrixEntry[];
}

/**
 * `only` (addresses, e.g. from `--components`) restricts the entries; each keeps its wave and
 * every dependency it has, also those outside the matrix (already rolled out, for a CI job).
 */
export function matrix(r: ResolvedDeployment, only?: ReadonlySet<string>): Matrix {
  return { include: r.components.filter((c) => !only || only.has(c.address)).map((c) => ({ component: c.address, wave: c.wave, depends_on: [...c.depends_on] })) };
}

/** One matrix per wave, in wave order (components are resolved in wave order); with `only`, the waves left empty are dropped. */
export function matrixByWave(r: ResolvedDeployment, only?: ReadonlySet<string>): { waves: (Matrix & { wave: number })[] } {
  const m = matrix(r, only);
  const count = r.components.reduce((n, c) => Math.max(n, c.wave + 1), 0);
  const waves = Array.from({ length: count }, (_w, i) => ({ wave: i, include: m.include.filter((e) => e.wave === i) }));
  return { waves: only ? waves.filter((w) => w.include.length > 0) : waves };
}
