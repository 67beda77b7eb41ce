/**
 * Kraken's trading rate counter, kept here so an AddOrder or a CancelOrder goes out only when
 * it fits (docs.kraken.com, "Spot Trading Limits"). Kraken keeps one counter per pair for the
 * account (REST, WebSocket and FIX alike); every transaction adds to it and it decays at a rate
 * set by the account's tier; a transaction that reaches the threshold is refused with
 * `EOrder:Rate limit exceeded`. AddOrder adds 1. CancelOrder adds by the order's age: 8 under
 * 5 s, 6 under 10 s, 5 under 15 s, 4 under 45 s, 2 under 90 s, 1 under 300 s, nothing after.
 * Starter accounts: threshold 60, decaying 1 per second (Intermediate 125 and 2.34/s, Pro 180
 * and 3.75/s).
 *
 * A count of orders per window cannot stand in for it: 30 per 30 s on one pair, half of them
 * cancels of orders a few seconds old, adds 15 + 15 x 8 = 135, more than twice Starter's 60.
 *
 * An order's age is counted from when AddOrder's answer came back (no earlier than Kraken booked
 * it), so the age is never overstated and the cost never understated. An order placed before
 * this process started is aged from Kraken's own `opentm` as a read of it shows it, less
 * OPENTM_CLOCK_MARGIN_MS for a clock ahead of Kraken's; one never read nor placed here (or whose
 * answer was lost) is costed as the youngest (8). What this process cannot see (orders placed
 * by hand, another program on the same key) is not counted: a refusal from Kraken marks the
 * pair's counter full, so the next transaction waits for it to decay.
 */
import { RateLimitExceededError, type TimerSet } from '@cwts/core/adapter-kit';

/** [age below (ms), cost] of a cancel, youngest first; 0 from the last age on. */
const CANCEL_COST_BY_AGE: readonly (readonly [number, number])[] = [
  [5_000, 8],
  [10_000, 6],
  [15_000, 5],
  [45_000, 4],
  [90_000, 2],
  [300_000, 1],
];
/** Placing times kept (one per order; the oldest dropped first: a dropped one is costed as the youngest). */
const MAX_REMEMBERED = 10_000;
/** An `opentm` is taken as this much later than it says: our clock may run ahead of Kraken's. */
export const OPENTM_CLOCK_MARGIN_MS = 2_000;
/** What AddOrder adds. */
export const ADD_ORDER_COST = 1;

/** What cancelling an order of this age (ms; undefined: unknown) adds to its pair's counter. */
export function krakenCancelCost(ageMs: number | undefined): number {
  if (ageMs === undefined || !(ageMs >= 0)) return CANCEL_COST_BY_AGE[0]![1];
  for (const [below, cost] of CANCEL_COST_BY_AGE) if (ageMs < below) return cost;
  return 0;
}

export class KrakenTradingCounter {
  /** Each pair's counter as last computed, and when. */
  private readonly pairs = new Map<string, { value: number; at: number }>();
  /** When each order's AddOrder answer came back, by client id, oldest first (see placed()). */
  private readonly placedAt = new Map<string, number>();

  constructor(
    /** The threshold (the tier's maximum). A transaction is sent only when the counter stays below it. */
    private readonly max: number,
    private readonly decayPerS: number,
    private readonly now: () => number,
    private readonly timers: TimerSet,
  ) {}

  /** The pair's counter now (decayed since it was last computed). */
  value(pair: string): number {
    const c = this.pairs.get(pair);
    if (!c) return 0;
    return Math.max(0, c.value - ((this.now() - c.at) / 1000) * this.decayPerS);
  }

  /**
   * Waits until the cost fits on `pair` (the counter stays below the threshold: Kraken's docs say
   * a transaction that reaches it is refused), then adds it. Rejects with RateLimitExceededError
   * ('closed') when the driver closes meanwhile: nothing was sent.
   */
  async spend(pair: string, costOf: number | (() => number)): Promise<void> {
    for (;;) {
      if (this.timers.isClosed) throw new RateLimitExceededError('kraken trading counter: closed while waiting (nothing sent)', 'closed');
      // asked again after each wait: a cancel's cost falls as its order ages
      const cost = typeof costOf === 'number' ? costOf : costOf();
      const v = this.value(pair);
      // a cost of the whole threshold or more (never at Kraken's tiers) waits for an empty counter
      if (v + cost < this.max || v === 0) {
        this.pairs.set(pair, { value: v + cost, at: this.now() });
        return;
      }
      await this.timers.sleep(Math.max(1, Math.ceil(((v + Math.min(cost, this.max) - this.max) / this.decayPerS) * 1000) + 1));
    }
  }

  /** Kraken refused a transaction on `pair` for its rate: the counter is full there. */
  full(pair: string): void {
    this.pairs.set(pair, { value: Math.max(this.value(pair), this.max), at: this.now() });
  }

  /** The order's AddOrder answer came back now: its cancel is costed by the age from here. */
  placed(clientOrderId: string): void {
    this.remember(clientOrderId, this.now());
  }

  /** A read showed the order booked at `opentmMs` (Kraken's clock): kept unless known already. */
  seen(clientOrderId: string, opentmMs: number): void {
    if (this.placedAt.has(clientOrderId) || !Number.isFinite(opentmMs) || opentmMs <= 0) return;
    this.remember(clientOrderId, Math.min(this.now(), opentmMs + OPENTM_CLOCK_MARGIN_MS));
  }

  private remember(clientOrderId: string, at: number): void {
    this.placedAt.delete(clientOrderId);
    this.placedAt.set(clientOrderId, at);
    // Map keeps insertion order: the first entries are the longest kept
    for (const id of this.placedAt.keys()) {
      if (this.placedAt.size <= MAX_REMEMBERED) break;
      this.placedAt.delete(id);
    }
  }

  /** What cancelling this order adds now (the youngest cost when its placing is not known here). */
  cancelCost(clientOrderId: string): number {
    const at = this.placedAt.get(clientOrderId);
    return krakenCancelCost(at === undefined ? undefined : this.now() - at);
  }

  /** Orders whose placing time is kept (tests: bounded by MAX_REMEMBERED). */
  get remembered(): number {
    return this.placedAt.size;
  }
}
