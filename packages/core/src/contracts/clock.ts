/** Time source. Replay swaps in a clock driven by recorded timestamps so runs are deterministic. */
export interface Clock {
  /** Wall time, epoch milliseconds. */
  now(): number;
  /** Monotonic nanoseconds, for latency measurement only. */
  monoNs(): bigint;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  monoNs(): bigint {
    return process.hrtime.bigint();
  }
}

/** A clock that only moves when told to; used by replay and tests. */
export class ManualClock implements Clock {
  private ms: number;
  constructor(startMs = 0) {
    this.ms = startMs;
  }
  now(): number {
    return this.ms;
  }
  monoNs(): bigint {
    return BigInt(Math.round(this.ms * 1e6));
  }
  set(ms: number): void {
    if (ms > this.ms) this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
