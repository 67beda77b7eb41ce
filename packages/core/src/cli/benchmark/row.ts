import type { LatencySummary } from './samples.js';

/** How much work a row does: quick (the default), full (`--full`), or a fraction of quick (tests). */
export interface RowRun {
  full: boolean;
  /** Multiplies the quick counts (tests pass e.g. 0.01); 1 by default. */
  scale: number;
  /** Where adapter and backend packages are looked up (plugins' rule): the working directory. */
  baseDir: string;
  /** Progress within the row, 0..1. */
  progress(fraction: number): void;
}

/** The number of iterations for this run: `quick` or `full`, scaled, at least `min`. */
export function iterations(run: RowRun, quick: number, full: number, min = 50): number {
  return Math.max(min, Math.round((run.full ? full : quick) * run.scale));
}

/** One extra figure of a row (throughput, the backend used, ...), kept in the results file. */
export interface RowFigure {
  name: string;
  metric: string;
  unit: string;
  value: number;
  note?: string;
}

export interface RowMeasurement {
  /** The row's latency, ns. */
  latency: LatencySummary;
  /** What was timed, in one line. */
  what: string;
  figures?: RowFigure[];
}
