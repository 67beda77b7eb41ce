import { performance } from 'node:perf_hooks';

/**
 * Latency samples in nanoseconds, preallocated (recording allocates nothing), with exact
 * percentiles by sorting a copy at the end. Used by `cwts-ultra benchmark` and `pnpm bench e2e`;
 * the repo's other suites use HdrHistogram (a dev dependency that an installed core lacks).
 */
export class LatencySamples {
  private readonly v: Float64Array;
  private n = 0;
  /** Samples that did not fit (the run was longer than planned): counted, not kept. */
  dropped = 0;

  constructor(capacity: number) {
    this.v = new Float64Array(Math.max(1, capacity));
  }

  record(ns: number): void {
    if (this.n < this.v.length) this.v[this.n++] = ns;
    else this.dropped++;
  }

  get count(): number {
    return this.n;
  }

  summary(): LatencySummary {
    const s = this.v.slice(0, this.n).sort();
    const at = (q: number): number => (this.n === 0 ? NaN : s[Math.min(this.n - 1, Math.max(0, Math.ceil((q / 100) * this.n) - 1))]!);
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += s[i]!;
    return { count: this.n, p50: at(50), p99: at(99), p999: at(99.9), max: this.n === 0 ? NaN : s[this.n - 1]!, mean: this.n === 0 ? NaN : sum / this.n };
  }
}

export interface LatencySummary {
  count: number;
  /** Nanoseconds. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Median cost of an empty timed region (two performance.now() calls), ns: included in every per-call sample. */
export function timerFloorNs(n = 100_000): number {
  const s = new LatencySamples(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    s.record((performance.now() - t) * 1e6);
  }
  return s.summary().p50;
}

/** Median of numbers (repeats). */
export function medianOf(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
