import { TimerSet } from './timers.js';

/** One budget: at most `limit` weight in any `intervalMs` window. */
export interface BucketSpec {
  /** e.g. "ip:REQUEST_WEIGHT:1m", "account:ORDERS:10s". */
  name: string;
  limit: number;
  intervalMs: number;
}

/**
 * Sliding-window log: the weight spent in any window of `intervalMs` never exceeds `limit`
 * (so fixed-window venue counters, which reset on the minute, are never exceeded either).
 */
class Bucket {
  private times: number[] = [];
  private weights: number[] = [];
  private head = 0;
  used = 0;
  /** Extra weight the venue reports beyond what we logged (other processes on the same IP). */
  external = 0;
  externalUntil = 0;
  /** The venue says we are limited until then (Retry-After, a 429, a -1003). */
  blockedUntil = 0;
  constructor(readonly spec: BucketSpec) {}
  private expire(now: number): void {
    const from = now - this.spec.intervalMs;
    while (this.head < this.times.length && this.times[this.head]! <= from) {
      this.used -= this.weights[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.weights = this.weights.slice(this.head);
      this.head = 0;
    }
    if (now >= this.externalUntil) this.external = 0;
  }
  /** ms until `w` fits (0 = now). */
  waitFor(w: number, now: number): number {
    this.expire(now);
    if (w > this.spec.limit) return Number.POSITIVE_INFINITY;
    if (now < this.blockedUntil) return this.blockedUntil - now;
    let need = this.used + this.external + w - this.spec.limit;
    if (need <= 0) return 0;
    if (this.external > 0 && need > this.used) return Math.max(1, this.externalUntil - now);
    for (let i = this.head; i < this.times.length; i++) {
      need -= this.weights[i]!;
      if (need <= 0) return Math.max(1, this.times[i]! + this.spec.intervalMs - now + 1);
    }
    return Math.max(1, this.externalUntil - now);
  }
  spend(w: number, now: number): void {
    this.times.push(now);
    this.weights.push(w);
    this.used += w;
  }
}

/**
 * Our own limiter refused to wait, not the venue: `closed` (the limiter was closed: a stop),
 * `wait` (the wait would pass the caller's maxWaitMs), `weight` (one request weighs more than a
 * bucket holds, so it would never fit). Nothing was sent; a venue's rate-limit answer is
 * another error.
 */
export type LocalRateLimitRefusal = 'closed' | 'wait' | 'weight';

export class RateLimitExceededError extends Error {
  constructor(
    message: string,
    readonly refusal: LocalRateLimitRefusal = 'wait',
  ) {
    super(message);
    this.name = 'RateLimitExceededError';
  }
}

/** How acquire waits: `maxWaitMs` (default 30 000), and whether it goes first in line. */
export interface AcquireOptions {
  maxWaitMs?: number;
  /**
   * Served before every normal waiter, oldest priority waiter first (a cancel: risk-reducing
   * requests must not wait behind the creates queued before them). The budget and a venue pause
   * bind it as they bind anyone; it only jumps the line.
   */
  priority?: boolean;
}

/**
 * Weighted rate-limit buckets, several at once (per IP request weight, per account order count, ...).
 * A request names the buckets it draws from and its weight in each; it proceeds only when all
 * of them have room, so the venue's limits are never exceeded by us. The venue's own view
 * (used-weight headers, Retry-After) can tighten a bucket.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly timers: TimerSet;
  private queue: Promise<void> = Promise.resolve();
  private priorityQueue: Promise<void> = Promise.resolve();
  /** Priority acquires not yet settled (queued, sleeping or about to spend): normal waiters hold while any is. */
  private priorityWaiting = 0;
  /** The normal line's head, held while priority waiters are: woken when the last of them settles. */
  private held: (() => void)[] = [];

  constructor(
    specs: readonly BucketSpec[],
    private readonly now: () => number = Date.now,
    timers?: TimerSet,
  ) {
    for (const s of specs) {
      if (!(s.limit > 0) || !(s.intervalMs > 0)) throw new RangeError(`rate limit bucket ${s.name}: limit and intervalMs must be positive`);
      this.buckets.set(s.name, new Bucket(s));
    }
    this.timers = timers ?? new TimerSet();
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()];
  }

  /** ms to wait before `cost` can be spent (0: now). Infinity when a weight exceeds a bucket. */
  waitTime(cost: Readonly<Record<string, number>>): number {
    const now = this.now();
    let w = 0;
    for (const name in cost) {
      const b = this.buckets.get(name);
      if (!b) throw new Error(`unknown rate limit bucket ${name}`);
      w = Math.max(w, b.waitFor(cost[name]!, now));
    }
    return w;
  }

  /** Spends `cost` if every bucket has room now; false (nothing spent) otherwise. */
  tryAcquire(cost: Readonly<Record<string, number>>): boolean {
    if (this.waitTime(cost) !== 0) return false;
    const now = this.now();
    for (const name in cost) this.buckets.get(name)!.spend(cost[name]!, now);
    return true;
  }

  /**
   * Waits until `cost` fits, then spends it. Two lines, each FIFO: priority acquires
   * (`{ priority: true }`) go before every normal one; a normal acquire spends nothing while a
   * priority acquire is waiting, so a steady stream of priority acquires that keeps the budget
   * spent holds the normal line back (nothing holds the priority line but the budget itself).
   * Rejects with RateLimitExceededError when a budget wait (or a venue pause) would be longer
   * than maxWaitMs, when a weight exceeds its bucket (it would never fit), or when the limiter is
   * closed (close() also ends a wait under way, held ones included). Time spent in line is not
   * counted against maxWaitMs, in either line. `maxWaitMs = Infinity` waits as long as the
   * windows need: at most one window per bucket, unless the venue blocked it.
   */
  acquire(cost: Readonly<Record<string, number>>, wait: number | AcquireOptions = 30_000): Promise<void> {
    const opts = typeof wait === 'number' ? { maxWaitMs: wait } : wait;
    const maxWaitMs = opts.maxWaitMs ?? 30_000;
    if (opts.priority) {
      // counted now, not when its turn comes: a normal waiter whose turn comes in between must
      // already hold for it
      this.priorityWaiting++;
      const run = async (): Promise<void> => {
        try {
          await this.spendWhenFits(cost, maxWaitMs, true);
        } finally {
          if (--this.priorityWaiting === 0) this.releaseHeld();
        }
      };
      const p = this.priorityQueue.then(run, run);
      this.priorityQueue = p.catch(() => {});
      return p;
    }
    const run = (): Promise<void> => this.spendWhenFits(cost, maxWaitMs, false);
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const wake of held) wake();
  }

  private async spendWhenFits(cost: Readonly<Record<string, number>>, maxWaitMs: number, priority: boolean): Promise<void> {
    for (;;) {
      if (this.timers.isClosed) throw new RateLimitExceededError('rate limiter closed', 'closed');
      // checked again after every sleep: a priority waiter may have come while this one slept.
      // Every priority waiter settles (spends, or is refused; a close ends its sleep), and the
      // last one wakes this one, so a close never leaves it held.
      if (!priority && this.priorityWaiting > 0) {
        await new Promise<void>((wake) => this.held.push(wake));
        continue;
      }
      const w = this.waitTime(cost);
      if (w === 0) {
        const now = this.now();
        for (const name in cost) this.buckets.get(name)!.spend(cost[name]!, now);
        return;
      }
      // checked apart from maxWaitMs: with maxWaitMs = Infinity, a sleep of Infinity would be
      // a timer of 1 ms (Node clamps it), a busy loop
      if (w === Infinity) throw new RateLimitExceededError(`rate limit: a weight in ${JSON.stringify(cost)} exceeds its bucket, so it would wait forever`, 'weight');
      if (w > maxWaitMs) throw new RateLimitExceededError(`rate limit: would wait ${w} ms (limit ${maxWaitMs} ms)`, 'wait');
      await this.timers.sleep(w);
    }
  }

  /** The venue reports weight used in a bucket's window (e.g. X-MBX-USED-WEIGHT-1M). */
  noteUsed(name: string, used: number): void {
    const b = this.buckets.get(name);
    if (!b) return;
    const now = this.now();
    b.waitFor(0, now);
    const extra = used - b.used;
    if (extra > b.external) {
      b.external = extra;
      b.externalUntil = now + b.spec.intervalMs;
    }
  }

  /** The venue told us to stop (429/418 Retry-After, -1003): block the bucket(s) until then. */
  blockUntil(untilMs: number, names: readonly string[] = this.bucketNames()): void {
    for (const n of names) {
      const b = this.buckets.get(n);
      if (b && untilMs > b.blockedUntil) b.blockedUntil = untilMs;
    }
  }

  /** Tokens left in a bucket now (for tests and metrics). */
  available(name: string): number {
    const b = this.buckets.get(name);
    if (!b) return 0;
    b.waitFor(0, this.now());
    return b.spec.limit - b.used - b.external;
  }

  close(): void {
    this.timers.close();
  }
}
