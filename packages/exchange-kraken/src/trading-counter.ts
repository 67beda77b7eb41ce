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
 *
 * Waits are served per pair in turn: cancels first, in the order they were asked for, then
 * orders, in the order they were asked for. A waiting transaction holds back every later one on
 * its pair (a cancel every order), so a cancel is never overtaken: without the queue an order
 * (cost 1, fits below 59) went out whenever there was room for it while a young order's cancel
 * (cost 8, needs below 52) waited, and at one order a second (Starter's decay) the cancel never
 * went out. A cancel that adds nothing (its order is past 300 s) goes out at once when it fits:
 * it delays nobody.
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

const closedError = () => new RateLimitExceededError('kraken trading counter: closed while waiting (nothing sent)', 'closed');

/** What cancelling an order of this age (ms; undefined: unknown) adds to its pair's counter. */
export function krakenCancelCost(ageMs: number | undefined): number {
  if (ageMs === undefined || !(ageMs >= 0)) return CANCEL_COST_BY_AGE[0]![1];
  for (const [below, cost] of CANCEL_COST_BY_AGE) if (ageMs < below) return cost;
  return 0;
}

/** What waits for a pair's counter: an AddOrder or a CancelOrder. */
export type TradingCall = 'order' | 'cancel';

/** One transaction waiting for room on its pair's counter. */
interface Waiter {
  cost: () => number;
  resolve: () => void;
  reject: (err: Error) => void;
}
/** A pair's waiting transactions: cancels are served before orders, each in arrival order. */
interface PairQueue {
  cancels: Waiter[];
  orders: Waiter[];
  /** Whether a serve loop runs for the pair (one at a time). */
  serving: boolean;
  /** Ends the serve loop's current wait (a transaction arrived: it may go ahead, or need nothing). */
  wake?: () => void;
}

export class KrakenTradingCounter {
  /** Each pair's counter as last computed, and when. */
  private readonly pairs = new Map<string, { value: number; at: number }>();
  /** Each pair's waiting transactions (absent: none waits). */
  private readonly queues = new Map<string, PairQueue>();
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
   * a transaction that reaches it is refused) and it is this call's turn on the pair (cancels
   * first, then orders, each in arrival order), then adds it. Rejects with
   * RateLimitExceededError ('closed') when the driver closes meanwhile: nothing was sent.
   * `withdraw` aborted (an order cancelled while it waits) leaves the line at once, adding
   * nothing, and rejects with `withdrawn()`: the transactions behind it no longer wait for it.
   */
  spend(pair: string, costOf: number | (() => number), call: TradingCall = 'order', withdraw?: { signal: AbortSignal; withdrawn: () => Error }): Promise<void> {
    if (this.timers.isClosed) return Promise.reject(closedError());
    if (withdraw?.signal.aborted) return Promise.reject(withdraw.withdrawn());
    // asked again at each turn: a cancel's cost falls as its order ages
    const cost = typeof costOf === 'number' ? () => costOf : costOf;
    const q = this.queues.get(pair);
    const ahead = q === undefined ? 0 : call === 'cancel' ? q.cancels.length : q.cancels.length + q.orders.length;
    if (ahead === 0 || call === 'cancel') {
      const now = cost();
      // nothing ahead of it (or a cancel that adds nothing: it delays nobody): at once when it fits
      if ((ahead === 0 || now === 0) && this.fits(pair, now)) {
        this.add(pair, now);
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(pair);
      if (queue === undefined) this.queues.set(pair, (queue = { cancels: [], orders: [], serving: false }));
      const line = call === 'cancel' ? queue.cancels : queue.orders;
      const q = queue;
      const onWithdraw = (): void => {
        const at = line.indexOf(w);
        if (at < 0) return; // served or closed already
        line.splice(at, 1);
        w.reject(withdraw!.withdrawn());
        // the serve loop may be waiting for room for this one: the next in line is judged now
        q.wake?.();
      };
      const settled = (): void => withdraw?.signal.removeEventListener('abort', onWithdraw);
      const w: Waiter = {
        cost,
        resolve: () => (settled(), resolve()),
        reject: (err) => (settled(), reject(err)),
      };
      line.push(w);
      withdraw?.signal.addEventListener('abort', onWithdraw, { once: true });
      if (!queue.serving) void this.serve(pair, queue);
      else if (call === 'cancel') queue.wake?.();
    });
  }

  /** Serves a pair's waiting transactions in turn, each once it fits, until none waits. */
  private async serve(pair: string, q: PairQueue): Promise<void> {
    q.serving = true;
    try {
      for (;;) {
        if (this.timers.isClosed) {
          for (const w of [...q.cancels.splice(0), ...q.orders.splice(0)]) w.reject(closedError());
          return;
        }
        // a cancel that adds nothing (its order is past 300 s) delays nobody: out once it fits
        let freeWaiting = false;
        for (let k = 0; k < q.cancels.length; ) {
          const w = q.cancels[k]!;
          if (w.cost() !== 0) k++;
          else if (this.fits(pair, 0)) {
            q.cancels.splice(k, 1);
            w.resolve();
          } else {
            freeWaiting = true;
            k++;
          }
        }
        const head = q.cancels.find((w) => w.cost() !== 0) ?? q.orders[0];
        if (head === undefined && !freeWaiting) return;
        const cost = head === undefined ? 0 : head.cost();
        if (head !== undefined && this.fits(pair, cost)) {
          const from = q.cancels.includes(head) ? q.cancels : q.orders;
          from.splice(from.indexOf(head), 1);
          this.add(pair, cost);
          head.resolve();
          continue;
        }
        // until the head fits (or a free cancel does); a cancel arriving meanwhile ends the wait
        // (it may go ahead of an order at the head, or add nothing)
        const v = this.value(pair);
        const waitFor = freeWaiting ? 0 : cost;
        const ms = Math.max(1, Math.ceil(((v + Math.min(waitFor, this.max) - this.max) / this.decayPerS) * 1000) + 1);
        await new Promise<void>((resolve) => {
          q.wake = resolve;
          void this.timers.sleep(ms).then(resolve);
        });
        q.wake = undefined;
      }
    } finally {
      q.serving = false;
      if (q.cancels.length === 0 && q.orders.length === 0 && this.queues.get(pair) === q) this.queues.delete(pair);
    }
  }

  /** Whether `cost` fits on the pair now; a cost of the whole threshold or more (never at Kraken's tiers) waits for an empty counter. */
  private fits(pair: string, cost: number): boolean {
    const v = this.value(pair);
    return v + cost < this.max || v === 0;
  }

  private add(pair: string, cost: number): void {
    this.pairs.set(pair, { value: this.value(pair) + cost, at: this.now() });
  }

  /** Transactions waiting on `pair` (tests). */
  waiting(pair: string): number {
    const q = this.queues.get(pair);
    return q === undefined ? 0 : q.cancels.length + q.orders.length;
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
