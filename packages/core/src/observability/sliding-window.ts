/**
 * Fixed-capacity samples with timestamps, computed at scrape time over a time window. Recording is
 * O(1) and allocation-free; the percentile is computed only when Prometheus asks. It holds the
 * last `capacity` samples only: above `capacity / window` samples per second it covers less than
 * its window and `rate()` reads at most `capacity / window`. The engine's gauges
 * (`cwts_latency_p99`, `cwts_orders_per_second`) use the time-sliced windows of time-windows.ts,
 * which cover their window at any rate.
 */
export class SlidingWindow {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private count = 0;

  constructor(
    capacity: number,
    private readonly windowMs: number,
  ) {
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  record(value: number, nowMs: number): void {
    this.values[this.next] = value;
    this.times[this.next] = nowMs;
    this.next = (this.next + 1) % this.values.length;
    if (this.count < this.values.length) this.count++;
  }

  private recent(nowMs: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (nowMs - this.times[i]! <= this.windowMs) out.push(this.values[i]!);
    return out;
  }

  /** Nearest-rank percentile of the samples inside the window; 0 when there are none. */
  percentile(p: number, nowMs: number): number {
    const xs = this.recent(nowMs).sort((a, b) => a - b);
    if (xs.length === 0) return 0;
    return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
  }

  /** Samples per second over the window. */
  rate(nowMs: number): number {
    return this.recent(nowMs).length / (this.windowMs / 1000);
  }
}
