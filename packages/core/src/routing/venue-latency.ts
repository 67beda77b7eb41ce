/**
 * Per venue: the ack latency the router measures (an exponentially weighted mean of the time from
 * sending a child to its first execution report, on the engine's clock) and the child orders sent
 * in the last second (the rate-limit headroom left for the next decision).
 */
import type { RoutingConfig } from '../config/routing-schema.js';

const WINDOW_MS = 1000;
/** Without max_orders_per_second a venue has this much headroom (never the binding constraint). */
const UNLIMITED = 1_000_000;

interface VenueState {
  ewmaMs: number;
  samples: number;
  /** Send times of the last `cap` child orders, a ring. */
  sends: Float64Array;
  head: number;
  cap: number;
}

export class VenueLatency {
  private readonly venues = new Map<string, VenueState>();

  constructor(venues: readonly string[], cfg: RoutingConfig['venue'], private readonly alpha: number) {
    for (const v of venues) {
      const cap = cfg[v]?.max_orders_per_second ?? 0;
      this.venues.set(v, { ewmaMs: 0, samples: 0, sends: new Float64Array(cap).fill(-Infinity), head: 0, cap });
    }
  }

  observeAck(venue: string, ms: number): void {
    const s = this.venues.get(venue);
    if (!s || !Number.isFinite(ms) || ms < 0) return;
    s.ewmaMs = s.samples === 0 ? ms : s.ewmaMs + this.alpha * (ms - s.ewmaMs);
    s.samples++;
  }

  /** Mean ack latency in ms, undefined before the first ack. */
  estimateMs(venue: string): number | undefined {
    const s = this.venues.get(venue);
    return s && s.samples > 0 ? s.ewmaMs : undefined;
  }

  /** The measured penalty in millionths of notional: estimate x bpsPerMs, rounded up. */
  penaltyRate(venue: string, bpsPerMs: number): number {
    if (bpsPerMs === 0) return 0;
    const ms = this.estimateMs(venue);
    return ms === undefined ? 0 : Math.ceil(ms * bpsPerMs * 100);
  }

  recordSend(venue: string, now: number): void {
    const s = this.venues.get(venue);
    if (!s || s.cap === 0) return;
    s.sends[s.head] = now;
    s.head = (s.head + 1) % s.cap;
  }

  /** Child orders the venue may still take in the current second. */
  headroom(venue: string, now: number): number {
    const s = this.venues.get(venue);
    if (!s) return 0;
    if (s.cap === 0) return UNLIMITED;
    let used = 0;
    for (let i = 0; i < s.cap; i++) if (now - s.sends[i]! < WINDOW_MS) used++;
    return s.cap - used;
  }
}
