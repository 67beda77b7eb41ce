/**
 * The router's time for intervals: the rate-limit window, a child's ack latency, how long an
 * unanswered child has waited, the latency estimate's decay. The engine's clock is wall time
 * (SystemClock: Date.now()), which NTP (chrony makestep) or a resumed VM can step back; measured
 * on it, every child sent before a step back of S seconds stayed "in the last second" for S
 * seconds, and a venue at max_orders_per_second got no child for that long (docs/routing.md).
 */
import type { Clock } from '../contracts/clock.js';
import { monoMs } from '../contracts/mono-ms.js';

/**
 * Milliseconds that never go back: the clock's monoNs() when given one (exact time across a
 * step), else the host's wall time with each step back taken out. Over wall time no time is
 * counted across a step back, since how much really passed is unknown: what was sent just before
 * it counts for at most one more window, never more venue orders than the limit in a real second.
 */
export class IntervalTime {
  private last = -Infinity;
  private offset = 0;
  constructor(private readonly mono?: Pick<Clock, 'monoNs'>) {}

  /** Now, from the monotonic clock, or from `wallMs` (the host's `now`) without one. */
  at(wallMs: number): number {
    const t = this.mono !== undefined ? monoMs(this.mono) : wallMs;
    if (!Number.isFinite(t)) return this.last + this.offset; // a bad reading moves nothing
    if (t < this.last) this.offset += this.last - t;
    this.last = t;
    return t + this.offset;
  }
}
