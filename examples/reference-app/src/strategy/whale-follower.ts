import type { ExecutionReport, Logger, MarketEvent, Signal, Strategy, StrategyContext } from '@cwts/core';
import { notionalApprox } from '@cwts/core';

export interface FollowerSettings {
  /** Quote currency per entry. */
  orderNotional: number;
  /** Minimum time between entries on one symbol (engine clock, ms). */
  cooldownMs: number;
  /** Close the position this long after the entry. */
  holdMs: number;
  /** How far through the touch an IOC entry or exit may go, in basis points of the touch. */
  slippageBps: number;
}

export const DEFAULT_FOLLOWER_SETTINGS: FollowerSettings = { orderNotional: 1000, cooldownMs: 5000, holdMs: 20_000, slippageBps: 10 };

/**
 * Follows whale flow: on a whale signal it buys (or sells) a small fixed notional with an IOC
 * limit just through the touch, then flattens after `holdMs`. Every order goes through the
 * engine's risk checks (max position) like any strategy's would.
 *
 * Its cooldown and exit run on the engine's clock (`ctx.now`), never on a signal's or a trade's
 * venue time: one trade stamped in microseconds (1.7e15 for 1.7e12) once set both clocks ~50 000
 * years ahead, so the position was never flattened and no entry passed the cooldown again, and
 * the journal kept both across restarts. A journaled time ahead of the clock (one written so, or
 * a host whose clock is behind) is pulled back once to the most it can mean: an entry now, an
 * exit `holdMs` from now.
 */
export class WhaleFollower implements Strategy {
  readonly name = 'whale-follower';
  private readonly lastEntry = new Map<string, number>();
  private readonly exitAt = new Map<string, number>();

  constructor(
    private readonly settings: FollowerSettings,
    private readonly logger: Logger,
  ) {}

  onSignal(signal: Signal, ctx: StrategyContext): void {
    if (signal.kind !== 'whale_trade' || signal.direction === 0) return;
    const key = `${signal.exchange}:${signal.symbol}`;
    // After a restart the journal remembers the last entry: no re-entry inside the cooldown.
    const now = ctx.now;
    const last = this.lastEntry.get(key) ?? this.restored(ctx, 'lastEntry', key, now, this.lastEntry);
    if (last !== undefined && now - last < this.settings.cooldownMs) return;
    const book = ctx.book(signal.exchange, signal.symbol);
    const instrument = ctx.instrument(signal.exchange, signal.symbol);
    if (!book || !instrument || !book.synced) return;
    const touch = signal.direction > 0 ? book.bestAsk() : book.bestBid();
    if (touch === undefined) return;
    const unitNotional = notionalApprox(instrument, touch, 1);
    const qty = Math.floor(this.settings.orderNotional / unitNotional);
    if (qty <= 0) return;
    const res = ctx.submit({
      exchange: signal.exchange,
      symbol: signal.symbol,
      side: signal.direction > 0 ? 'buy' : 'sell',
      type: 'limit',
      price: touch + signal.direction * this.slippage(touch),
      qty,
      tif: 'IOC',
      source: this.name,
      reason: signal.id,
    });
    this.lastEntry.set(key, now);
    ctx.persisted?.set(`strategy:${this.name}`, `lastEntry:${key}`, now);
    if (res.accepted) {
      this.exitAt.set(key, now + this.settings.holdMs);
      ctx.persisted?.set(`strategy:${this.name}`, `exitAt:${key}`, now + this.settings.holdMs);
    }
    else this.logger.info({ reason: res.reason }, `whale-follower: entry on ${key} refused: ${res.reason} ${res.message ?? ''}`.trim());
  }

  onMarketEvent(ev: MarketEvent, ctx: StrategyContext): void {
    if (ev.type !== 'trade') return;
    const key = `${ev.exchange}:${ev.symbol}`;
    // A position restored after a restart still gets its planned exit.
    const now = ctx.now;
    const due = this.exitAt.get(key) ?? this.restored(ctx, 'exitAt', key, now + this.settings.holdMs, this.exitAt);
    if (due == null || now < due) return;
    const pos = ctx.positions.qty(ev.exchange, ev.symbol);
    if (pos === 0 || ctx.openOrders(ev.exchange, ev.symbol).length > 0) {
      if (pos === 0) {
        this.exitAt.delete(key);
        ctx.persisted?.set(`strategy:${this.name}`, `exitAt:${key}`, null);
      }
      return;
    }
    const book = ctx.book(ev.exchange, ev.symbol);
    const touch = pos > 0 ? book?.bestBid() : book?.bestAsk();
    if (touch === undefined || !book?.synced) return;
    const res = ctx.submit({
      exchange: ev.exchange,
      symbol: ev.symbol,
      side: pos > 0 ? 'sell' : 'buy',
      type: 'limit',
      price: touch + (pos > 0 ? -1 : 1) * this.slippage(touch),
      qty: Math.abs(pos),
      tif: 'IOC',
      reduceOnly: true,
      source: this.name,
      reason: 'hold time elapsed',
    });
    // Try again at the next trade if refused; stop once flat.
    if (res.accepted) this.exitAt.set(key, now + 1000);
  }

  /**
   * A time the journal kept (`lastEntry`, `exitAt`), at most `latest`: one further ahead was
   * written from a bad clock and would block for as long as it lies ahead; it is pulled back to
   * `latest` and kept so (in memory and in the journal), so it does not slide with the clock.
   */
  private restored(ctx: StrategyContext, what: 'lastEntry' | 'exitAt', key: string, latest: number, into: Map<string, number>): number | undefined {
    const v = ctx.persisted?.get<number | null>(`strategy:${this.name}`, `${what}:${key}`);
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    if (v <= latest) return v;
    this.logger.warn({ key, [what]: v, now: ctx.now }, `whale-follower: journaled ${what} of ${key} (${v}) lies ahead of the clock (${ctx.now}); taken as ${latest}`);
    into.set(key, latest);
    ctx.persisted?.set(`strategy:${this.name}`, `${what}:${key}`, latest);
    return latest;
  }

  onExecution(_r: ExecutionReport): void {}

  /** Whole ticks: the order price stays on the instrument's grid. */
  private slippage(touchTicks: number): number {
    return Math.max(1, Math.floor((touchTicks * this.settings.slippageBps) / 10_000));
  }
}

export function parseFollowerSettings(raw: Readonly<Record<string, unknown>>): FollowerSettings {
  const out = { ...DEFAULT_FOLLOWER_SETTINGS };
  const keys: Record<string, keyof FollowerSettings> = { order_notional: 'orderNotional', cooldown_ms: 'cooldownMs', hold_ms: 'holdMs', slippage_bps: 'slippageBps' };
  for (const [k, v] of Object.entries(raw)) {
    const field = keys[k];
    if (!field) throw new Error(`strategy.${k}: unknown key (known: ${Object.keys(keys).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`strategy.${k}: expected a non-negative number`);
    out[field] = v;
  }
  return out;
}
