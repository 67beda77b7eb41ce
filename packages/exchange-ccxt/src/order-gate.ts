import { RateLimitExceededError, type RateLimiter, type TimerSet } from '@cwts/core/adapter-kit';

const ONE_ORDER = { orders: 1 } as const;

/**
 * The order budget (the limiter's `orders` bucket: our own window, and the venue's rate-limit
 * pause that a 429 to a create or cancel sets through blockUntil), drawn from by creates and
 * cancels alike: a cancel sent past a 429 is as much "sending into the limit" as a create (Binance
 * bans the IP), and the adapter kit's cancels count against their order budget too.
 *
 * Cancels go first. Each kind waits in its own line, oldest first; a create does not take a slot
 * while any cancel is waiting, so a HALT's mass cancel is not sent after every create queued
 * before it (those would only be cancelled in turn). A stream of cancels that keeps the budget
 * spent holds creates back; nothing holds cancels but the budget itself.
 *
 * A wait is bounded: one longer than `maxWaitMs` (a long venue pause, a budget window past it)
 * is refused at once, and a stop (the timers closed) ends every wait; both reject with
 * RateLimitExceededError, which the caller reports as RATE_LIMITED, never holding the order or
 * cancel for ever.
 */
export class OrderGate {
  private cancelsWaiting = 0;
  private cancelLine: Promise<void> = Promise.resolve();
  private createLine: Promise<void> = Promise.resolve();
  /** Creates held back while cancels wait: woken when the last of those has its slot (or gives up). */
  private heldCreates: (() => void)[] = [];

  constructor(
    private readonly limiter: RateLimiter,
    private readonly timers: TimerSet,
    /** As long as the limiter's own acquire waits by default. */
    private readonly maxWaitMs = 30_000,
  ) {}

  /** Resolves when a create may be sent (its slot spent); rejects (RateLimitExceededError) when it may not. */
  create(): Promise<void> {
    const run = (): Promise<void> => this.slot(false);
    const p = this.createLine.then(run, run);
    this.createLine = p.catch(() => {});
    return p;
  }

  /** Resolves when a cancel may be sent (its slot spent), ahead of any waiting create; rejects as create does. */
  cancel(): Promise<void> {
    this.cancelsWaiting++;
    const run = async (): Promise<void> => {
      try {
        await this.slot(true);
      } finally {
        if (--this.cancelsWaiting === 0) this.releaseCreates();
      }
    };
    const p = this.cancelLine.then(run, run);
    this.cancelLine = p.catch(() => {});
    return p;
  }

  private releaseCreates(): void {
    const held = this.heldCreates;
    this.heldCreates = [];
    for (const wake of held) wake();
  }

  private async slot(cancel: boolean): Promise<void> {
    for (;;) {
      if (this.timers.isClosed) throw new RateLimitExceededError('rate limiter closed', 'closed');
      if (!cancel && this.cancelsWaiting > 0) {
        await new Promise<void>((wake) => this.heldCreates.push(wake));
        continue;
      }
      const w = this.limiter.waitTime(ONE_ORDER);
      if (w === 0 && this.limiter.tryAcquire(ONE_ORDER)) return;
      if (w > this.maxWaitMs) throw new RateLimitExceededError(`rate limit: would wait ${w} ms (limit ${this.maxWaitMs} ms)`, 'wait');
      await this.timers.sleep(w);
    }
  }
}
