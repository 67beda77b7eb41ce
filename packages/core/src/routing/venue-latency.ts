/**
 * Per venue: the ack latency the router measures (an exponentially weighted mean of the time from
 * sending a child to its first execution report) and the child orders sent in the last second
 * (the rate-limit headroom left for the next decision). Every time given here is on one clock
 * that does not go back: the router's IntervalTime (the engine clock's monoNs(), or its wall
 * time with steps back taken out), not the wall clock itself.
 *
 * The estimate is built so that one bad ack cannot take a venue out for good (docs/routing.md,
 * "Latency"): a sample is winsorized (at most WINSOR_RATIO x the estimate, at least
 * WINSOR_FLOOR_MS, and never past the latency that prices a venue out), and with no new sample
 * the estimate decays toward the prior, 0 ("not measured"), with a half-life of
 * DECAY_HALF_LIFE_MS. A venue priced out gets no child, so no new sample:
 * without the decay, one slow ack (a reconnect, a venue hiccup) was its estimate for the life
 * of the process. The other way round, a venue that never answers gives no sample at all: the
 * router prices it by how long its oldest unanswered child has waited (penaltyRate's
 * `unansweredMs`) whenever that is longer than the estimate.
 */
import type { RoutingConfig } from '../config/routing-schema.js';

const WINDOW_MS = 1000;
/** Without max_orders_per_second a venue has this much headroom (never the binding constraint). */
const UNLIMITED = 1_000_000;

/**
 * Most a measured latency penalty can be, millionths of notional (1000 bp = 10%, the most a fixed
 * `latency_penalty_bps` may be). A venue at it is priced out: the router sends it nothing but a
 * parent's own venue (docs/routing.md). Uncapped, one 10 s ack at 1 bp/ms made a penalty of 100%,
 * which the decision refuses as invalid input, and every parent then went unsplit to its own venue.
 */
export const MAX_LATENCY_PENALTY_RATE = 100_000;
/** With no new sample, the estimate halves toward 0 this often (engine clock, ms). */
export const DECAY_HALF_LIFE_MS = 60_000;
/** A sample counts as at most this many times the current estimate ... */
export const WINSOR_RATIO = 4;
/** ... but never less than this (ms): a venue whose estimate decayed near 0 still shows a real latency in a few samples. */
export const WINSOR_FLOOR_MS = 50;

interface VenueState {
  /** The estimate at `at`, ms. */
  ewmaMs: number;
  /** Clock time of the last sample. */
  at: number;
  samples: number;
  /** Send times of the last `cap` child orders, a ring. */
  sends: Float64Array;
  head: number;
  cap: number;
}

export class VenueLatency {
  private readonly venues = new Map<string, VenueState>();
  /** Latency (ms) at which the measured penalty reaches MAX_LATENCY_PENALTY_RATE: longer tells nothing more. */
  private readonly maxSampleMs: number;

  /** `bpsPerMs`: `[routing] latency_bps_per_ms`, which bounds the samples worth keeping (0: no bound but the ratio). */
  constructor(venues: readonly string[], cfg: RoutingConfig['venue'], private readonly alpha: number, bpsPerMs = 0) {
    this.maxSampleMs = bpsPerMs > 0 ? MAX_LATENCY_PENALTY_RATE / (bpsPerMs * 100) : Infinity;
    for (const v of venues) {
      const cap = cfg[v]?.max_orders_per_second ?? 0;
      this.venues.set(v, { ewmaMs: 0, at: 0, samples: 0, sends: new Float64Array(cap).fill(-Infinity), head: 0, cap });
    }
  }

  /** One ack after `ms`, observed at clock time `now` (default: the last sample's time, no decay). */
  observeAck(venue: string, ms: number, now?: number): void {
    const s = this.venues.get(venue);
    if (!s || !Number.isFinite(ms) || ms < 0) return;
    const t = now ?? s.at;
    let x = ms < this.maxSampleMs ? ms : this.maxSampleMs;
    if (s.samples === 0) {
      s.ewmaMs = x;
    } else {
      const est = decayed(s, t);
      const bound = Math.max(WINSOR_RATIO * est, WINSOR_FLOOR_MS);
      if (x > bound) x = bound;
      s.ewmaMs = est + this.alpha * (x - est);
    }
    if (t > s.at || s.samples === 0) s.at = t;
    s.samples++;
  }

  /** Ack latency estimate in ms at clock time `now` (default: as of the last sample), undefined before the first ack. */
  estimateMs(venue: string, now?: number): number | undefined {
    const s = this.venues.get(venue);
    if (!s || s.samples === 0) return undefined;
    return now === undefined ? s.ewmaMs : decayed(s, now);
  }

  /**
   * The measured penalty in millionths of notional at `now`: the latency x bpsPerMs, rounded up,
   * at most MAX_LATENCY_PENALTY_RATE. The latency is the estimate, or `unansweredMs` when longer:
   * how long the venue's oldest child still unanswered has waited (the router's), a lower bound
   * on its latency that needs no ack, so a venue that stops answering is priced out as it waits.
   */
  penaltyRate(venue: string, bpsPerMs: number, now?: number, unansweredMs = 0): number {
    if (bpsPerMs === 0) return 0;
    const est = this.estimateMs(venue, now);
    const ms = est === undefined || est < unansweredMs ? unansweredMs : est;
    if (!(ms > 0)) return 0;
    const rate = Math.ceil(ms * bpsPerMs * 100);
    return rate < MAX_LATENCY_PENALTY_RATE ? rate : MAX_LATENCY_PENALTY_RATE;
  }

  recordSend(venue: string, now: number): void {
    const s = this.venues.get(venue);
    if (!s || s.cap === 0) return;
    s.sends[s.head] = now;
    s.head = (s.head + 1) % s.cap;
  }

  /**
   * Child orders the venue may still take in the current second. A send stamped after `now` (a
   * caller on a wall clock that stepped back) is taken as sent at `now`: it counts for one more
   * window, not for as long as the step.
   */
  headroom(venue: string, now: number): number {
    const s = this.venues.get(venue);
    if (!s) return 0;
    if (s.cap === 0) return UNLIMITED;
    let used = 0;
    for (let i = 0; i < s.cap; i++) {
      if (s.sends[i]! > now) s.sends[i] = now;
      if (now - s.sends[i]! < WINDOW_MS) used++;
    }
    return s.cap - used;
  }
}

/** The estimate decayed toward 0 over the time since the last sample (none for a clock that went back). */
function decayed(s: VenueState, now: number): number {
  const dt = now - s.at;
  return dt > 0 ? s.ewmaMs * 2 ** (-dt / DECAY_HALF_LIFE_MS) : s.ewmaMs;
}
