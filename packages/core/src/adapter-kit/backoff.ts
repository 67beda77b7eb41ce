/**
 * Reconnect delays: exponential growth from `initialMs` by `factor` up to `maxMs`, with jitter
 * so a fleet of clients does not reconnect in lockstep after a venue outage.
 *
 * Jitter "equal" (default): half the delay fixed, half uniform random, i.e. [d/2, d).
 * Jitter "full": uniform in [0, d). Jitter "none": exactly d (tests).
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  jitter?: 'equal' | 'full' | 'none';
  /** Uniform [0, 1) source; Math.random by default, a seeded one in tests. */
  random?: () => number;
}

export class ExponentialBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: 'equal' | 'full' | 'none';
  private readonly random: () => number;
  private attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 250;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 'equal';
    this.random = opts.random ?? Math.random;
    if (!(this.initialMs >= 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError(`invalid backoff: initialMs ${this.initialMs}, maxMs ${this.maxMs}, factor ${this.factor}`);
    }
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The un-jittered ceiling for attempt n (0-based). */
  ceiling(n: number): number {
    return Math.min(this.maxMs, this.initialMs * this.factor ** n);
  }

  /** Delay before the next attempt; advances the attempt counter. */
  next(): number {
    const d = this.ceiling(this.attempt++);
    switch (this.jitter) {
      case 'none':
        return d;
      case 'full':
        return Math.floor(this.random() * d);
      default:
        return Math.floor(d / 2 + this.random() * (d / 2));
    }
  }

  reset(): void {
    this.attempt = 0;
  }
}
