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

export function matrix(r: ResolvedDeployment): Matrix {
  return { include: r.components.map((c) => ({ component: c.address, wave: c.wave, depends_on: [...c.depends_on] })) };
}

/** One matrix per wave, in wave order (components are resolved in wave order). */
export function matrixByWave(r: ResolvedDeployment): { waves: (Matrix & { wave: number })[] } {
  const m = matrix(r);
  const count = r.components.reduce((n, c) => Math.max(n, c.wave + 1), 0);
  return {
    waves: Array.from({ length: count }, (_w, i) => ({ wave: i, include: m.include.filter((e) => e.wave === i) })),
  };
}
