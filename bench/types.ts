/**
 * The shapes the benchmark groups share with the runner (bench/run.ts): a group receives a
 * context, measures commands and returns figures. Kept apart from the runner so that the
 * groups, which the runner imports, do not import the runner back.
 */
import type { GeneratedRepo } from './generate.js';

/** One row of the report. `pass` is undefined for informational figures. */
export interface Figure {
  figure: string;
  value: string;
  goal: string;
  pass?: boolean;
}

export interface Sample {
  wallMs: number;
  /** Peak resident set size in KiB, when it could be measured. */
  rssKb?: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Measurement {
  label: string;
  /** False when a run failed; `error` says why and the statistics are absent. */
  ok: boolean;
  error?: string;
  samples: Sample[];
  wallMedianMs: number;
  wallBestMs: number;
  rssMedianKb?: number;
  rssMaxKb?: number;
}

export interface MeasureOptions {
  /** Arguments after `node` (script and its arguments). */
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Returns an error message when a run's output is not what the command should print. */
  check?: (sample: Sample) => string | undefined;
}

export interface BenchContext {
  runs: number;
  /** The generated synthetic repository (generated on first use, shared by groups). */
  repo(): GeneratedRepo;
  measure(label: string, opts: MeasureOptions): Promise<Measurement>;
  /** Extra lines printed above the table. */
  note(line: string): void;
}

export interface BenchGroup {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
