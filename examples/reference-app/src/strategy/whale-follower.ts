import type { ExecutionReport, Logger, MarketEvent, Signal, Strategy, StrategyContext } from '@cwts/core';
import { notionalAtoms, notionalExponent } from '@cwts/core';
import { MAX_VENUE_LEAD_MS } from '@cwts/core/detectors';
import { quoteToAtoms } from '@cwts/core/risk';

export interface FollowerSettings {
  /** Quote currency per entry. */
  orderNotional: number;
  /** Minimum time between entries on one symbol (engine clock, ms). */
  cooldownMs: number;
  /** Flatten the position this long after the entry that opened it (later entries do not push it back). */
  holdMs: number;
  /** How far through the touch an IOC entry or exit may go, in basis points of the touch (under 10 000). */
  slippageBps: number;
  /**
   * Most a signal's time may trail the engine's clock and still be followed (`ctx.now -
   * signal.ts`, ms). An older one (a whale among the trades a venue backfills after a
   * reconnect, stamped with their own, past, times) is skipped: whatever it moved has moved.
   */
  maxSignalAgeMs: number;
}

export const DEFAULT_FOLLOWER_SETTINGS: FollowerSettings = { orderNotional: 1000, cooldownMs: 5000, holdMs: 20_000, slippageBps: 10, maxSignalAgeMs: 2000 };

/** At most one warning per this long about skipped stale signals (engine clock, ms); the rest are counted. */
const STALE_LOG_EVERY_MS = 10_000;

/**
 * At most one warning per this long about refused entries (engine clock, ms); the rest are
 * logged at info, as every one was, and counted. A warning, because an entry refused for good (a
 * limit under `order_notional`, a halt) spends the cooldown and looks like a strategy with
 * nothing to do: at info only, one never traded at all and said so nowhere an operator looks.
 * Not one per refusal: while a position is at max_position every whale is refused, and a
 * warning each would bury the rest of the log. One a minute, with the count held back, still
 * shows a strategy that never trades.
 */
const REFUSED_LOG_EVERY_MS = 60_000;

/**
 * Follows whale flow: on a whale signal it buys (or sells) a small fixed notional with an IOC
 * limit just through the touch, then flattens after `holdMs`. Every order goes through the
 * engine's risk checks (max position) like any strategy's would.
 *
 * An entry is `orderNotional` at the price the risk checks value it at (a buy at its limit, a
 * sell at the bid, over its limit), so `[risk] max_order_notional = order_notional` passes it:
 * sized at the touch, each entry was worth `slippageBps` more than that and refused. A refused
 * entry is counted (`entriesRefused`) and warned about at most once a minute.
 *
 * Its cooldown and exit run on the engine's clock (`ctx.now`), never on a signal's or a trade's
 * venue time: one trade stamped in microseconds (1.7e15 for 1.7e12) once set both clocks ~50 000
 * years ahead, so the position was never flattened and no entry passed the cooldown again, and
 * the journal kept both across restarts. A journaled time ahead of the clock (one written so, or
 * a host whose clock is behind) is pulled back once to the most it can mean: an entry now, an
 * exit `holdMs` from now.
 *
 * A signal older than `maxSignalAgeMs` on the engine's clock is not followed (counted in
 * `staleSignalsSkipped`, logged at most every 10 s): venues backfill the trades missed during a
 * disconnect with their own times, so a whale minutes old once bought at today's touch. Nor is
 * one whose time lies more than MAX_VENUE_LEAD_MS (the most a venue time may lead this host's
 * clock, as for the detectors) ahead of the clock: its age cannot be known (the clock stepped
 * back, or a glitched time), and taken as negative it let a backfilled whale through.
 *
 * The engine's clock is wall time, which can step back (NTP makestep, a resumed VM). Seen at
 * the next callback, a step moves every planned exit and last entry back with it, so each keeps
 * what was left of its hold or cooldown at the clock's last reading before the step (the real
 * time across the step is unknown and counted as none): a 1 h step mid-hold otherwise held the
 * position for the hour.
 *
 * An exit the risk checks refuse MIN_NOTIONAL (a dust position, below the instrument's minimum
 * notional, left by a partial fill) can never go out: it is given up with one warning, instead of
 * a refusal at every trade for ever. The dust stays; the next entry on that leg plans an exit
 * that flattens it with the rest.
 *
 * Exits are per leg: every (venue, symbol) an entry filled on is flattened `holdMs` after that
 * fill, with a reduce-only IOC on that venue at its next trade there. With `[routing]` on, the
 * router splits an entry over venues: keyed on the signal's venue alone, the legs filled
 * elsewhere were never flattened. The legs are learned from the entry's fills (execution
 * reports), not from the submit answer, so a leg is exited exactly where a position was built.
 */
export class WhaleFollower implements Strategy {
  readonly name = 'whale-follower';
  private readonly lastEntry = new Map<string, number>();
  /** Planned exit per leg, `exchange:symbol`, on the engine's clock. */
  private readonly exitAt = new Map<string, number>();
  /** Signals skipped because they were older than `maxSignalAgeMs`. */
  staleSignalsSkipped = 0;
  private staleLogNext = -Infinity;
  private staleLogHeld = 0;
  /** Entries the engine refused (risk checks, back-pressure, a venue that cannot trade). */
  entriesRefused = 0;
  private refusedLogNext = -Infinity;
  private refusedLogHeld = 0;
  /** The engine clock's last reading, to see it step back. */
  private lastNow = -Infinity;

  constructor(
    private readonly settings: FollowerSettings,
    private readonly logger: Logger,
  ) {}

  onSignal(signal: Signal, ctx: StrategyContext): void {
    if (signal.kind !== 'whale_trade' || signal.direction === 0) return;
    const now = ctx.now;
    this.observe(ctx);
    // Written so that a signal without a usable time (NaN) is skipped too.
    const age = now - signal.ts;
    if (!(age <= this.settings.maxSignalAgeMs && age >= -MAX_VENUE_LEAD_MS)) return this.skipStale(signal, age, now);
    const key = `${signal.exchange}:${signal.symbol}`;
    // After a restart the journal remembers the last entry: no re-entry inside the cooldown.
    const last = this.lastEntry.get(key) ?? this.restored(ctx, 'lastEntry', key, now, this.lastEntry);
    if (last !== undefined && now - last < this.settings.cooldownMs) return;
    const book = ctx.book(signal.exchange, signal.symbol);
    const instrument = ctx.instrument(signal.exchange, signal.symbol);
    if (!book || !instrument || !book.synced) return;
    const touch = signal.direction > 0 ? book.bestAsk() : book.bestBid();
    if (touch === undefined) return;
    const price = this.through(touch, signal.direction);
    // Sized at what the risk checks value the order at (max_order_notional, max_position:
    // docs/risk.md, a buy at its limit, a sell at its limit or the bid, the higher), in exact
    // atoms as they count: sized at the touch, an entry of order_notional sent through it was
    // worth more than order_notional, and with max_order_notional = order_notional each one was
    // refused. The sell's limit lies under its touch, the bid, so max(price, touch) is that rule.
    const unitAtoms = notionalAtoms(instrument, Math.max(price, touch), 1);
    const qty = Number(quoteToAtoms(this.settings.orderNotional, notionalExponent(instrument)) / unitAtoms);
    if (qty <= 0) return;
    const flat = ctx.positions.qty(signal.exchange, signal.symbol) === 0;
    const res = ctx.submit({
      exchange: signal.exchange,
      symbol: signal.symbol,
      side: signal.direction > 0 ? 'buy' : 'sell',
      type: 'limit',
      price,
      qty,
      tif: 'IOC',
      source: this.name,
      reason: signal.id,
    });
    this.lastEntry.set(key, now);
    ctx.persisted?.set(`strategy:${this.name}`, `lastEntry:${key}`, now);
    if (res.accepted) this.planExit(ctx, key, flat);
    else this.entryRefused(key, res.reason, res.message, now);
  }

  onMarketEvent(ev: MarketEvent, ctx: StrategyContext): void {
    if (ev.type !== 'trade') return;
    const key = `${ev.exchange}:${ev.symbol}`;
    // Each leg exits on its own venue's trades. A position restored after a restart still gets its planned exit.
    const now = ctx.now;
    this.observe(ctx);
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
      price: this.through(touch, pos > 0 ? -1 : 1),
      qty: Math.abs(pos),
      tif: 'IOC',
      reduceOnly: true,
      source: this.name,
      reason: 'hold time elapsed',
    });
    // Try again at the next trade if refused; stop once flat.
    if (res.accepted) this.exitAt.set(key, now + 1000);
    else if (res.reason === 'MIN_NOTIONAL') {
      // Dust: refused at every trade for ever otherwise. A later entry on the leg plans a new exit.
      this.exitAt.delete(key);
      ctx.persisted?.set(`strategy:${this.name}`, `exitAt:${key}`, null);
      this.logger.warn({ key, position: pos }, `whale-follower: position ${pos} lots on ${key} is below the minimum notional and cannot be exited; left as it is (${res.message ?? ''})`);
    }
  }

  /**
   * Moves every planned exit and last entry back by a step back of the engine's clock (seen as a
   * reading below the last one), in memory and in the journal, so the hold and cooldown left at
   * the last reading stay what they were. Runs first in each callback, before any plan is read.
   */
  private observe(ctx: StrategyContext): void {
    const now = ctx.now;
    if (!Number.isFinite(now)) return;
    const back = this.lastNow - now;
    this.lastNow = now;
    if (!(back > 0)) return;
    for (const [what, times] of [['exitAt', this.exitAt], ['lastEntry', this.lastEntry]] as const) {
      for (const [key, t] of times) {
        times.set(key, t - back);
        ctx.persisted?.set(`strategy:${this.name}`, `${what}:${key}`, t - back);
      }
    }
    if (Number.isFinite(this.staleLogNext)) this.staleLogNext -= back;
    if (Number.isFinite(this.refusedLogNext)) this.refusedLogNext -= back;
    if (this.exitAt.size + this.lastEntry.size > 0) {
      this.logger.warn({ stepMs: back, now }, `whale-follower: the clock stepped back ${back} ms; planned exits and cooldowns moved back with it`);
    }
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

  /**
   * A fill that grew a position (a buy leaving it long, a sell leaving it short: exits are
   * reduce-only and cannot) is an entry's, wherever the router sent it. One that opened the leg
   * (flat or the other way before it) plans the leg's exit `holdMs` from now; one that added to
   * it keeps the planned exit. The engine applied the fill to the positions before this call.
   */
  onExecution(r: ExecutionReport, ctx: StrategyContext): void {
    this.observe(ctx);
    if (r.kind !== 'fill' || !(r.lastQty > 0)) return;
    const pos = ctx.positions.qty(r.exchange, r.symbol);
    if (r.side === 'buy' ? pos <= 0 : pos >= 0) return;
    const before = r.side === 'buy' ? pos - r.lastQty : pos + r.lastQty;
    this.planExit(ctx, `${r.exchange}:${r.symbol}`, r.side === 'buy' ? before <= 0 : before >= 0);
  }

  /**
   * The leg's exit is `holdMs` after the entry that opened it, and is never pushed back by a
   * later one: moved to each new entry, with whales coming more often than `holdMs` the first
   * entry was never flattened and the position grew to max_position. The exit flattens the
   * whole leg, so an entry added while it is held is held for less than `holdMs`. `fresh` (the
   * leg was flat) replaces a plan left from an earlier position (an exit's one-second retry, an
   * IOC that did not fill). The plan may be one the journal kept across a restart.
   */
  private planExit(ctx: StrategyContext, leg: string, fresh: boolean): void {
    const due = ctx.now + this.settings.holdMs;
    const planned = fresh ? undefined : (this.exitAt.get(leg) ?? this.restored(ctx, 'exitAt', leg, due, this.exitAt));
    if (planned !== undefined || this.exitAt.get(leg) === due) return;
    this.exitAt.set(leg, due);
    ctx.persisted?.set(`strategy:${this.name}`, `exitAt:${leg}`, due);
  }

  private skipStale(signal: Signal, age: number, now: number): void {
    this.staleSignalsSkipped++;
    if (now < this.staleLogNext) {
      this.staleLogHeld++;
      return;
    }
    const more = this.staleLogHeld > 0 ? ` (and ${this.staleLogHeld} more since the last warning)` : '';
    this.staleLogNext = now + STALE_LOG_EVERY_MS;
    this.staleLogHeld = 0;
    const why =
      age < -MAX_VENUE_LEAD_MS ? `its time lies ${-age} ms ahead of the clock (at most ${MAX_VENUE_LEAD_MS}): its age is unknown (a clock stepped back, or a glitched time)`
      : `${age} ms old (max_signal_age_ms ${this.settings.maxSignalAgeMs})`;
    this.logger.warn(
      { signal: signal.id, ageMs: age, maxSignalAgeMs: this.settings.maxSignalAgeMs, skipped: this.staleSignalsSkipped },
      `whale-follower: signal ${signal.id} on ${signal.exchange}:${signal.symbol} not followed: ${why}${more}`,
    );
  }

  private entryRefused(key: string, reason: string | undefined, message: string | undefined, now: number): void {
    this.entriesRefused++;
    const line = `whale-follower: entry on ${key} refused: ${reason} ${message ?? ''}`.trim();
    if (now < this.refusedLogNext) {
      this.refusedLogHeld++;
      this.logger.info({ reason }, line);
      return;
    }
    const more = this.refusedLogHeld > 0 ? ` (and ${this.refusedLogHeld} more refused since the last warning)` : '';
    this.refusedLogNext = now + REFUSED_LOG_EVERY_MS;
    this.refusedLogHeld = 0;
    this.logger.warn({ reason, refused: this.entriesRefused }, `${line}${more}`);
  }

  /**
   * The IOC limit `slippage_bps` through `touch` (at least one tick; whole ticks, so it stays on
   * the instrument's grid), buying (`dir` 1) or selling (-1). A sell's never goes under one
   * tick: at a bid of one tick a price of 0 is no price.
   */
  private through(touchTicks: number, dir: number): number {
    const slip = Math.max(1, Math.floor((touchTicks * this.settings.slippageBps) / 10_000));
    return dir > 0 ? touchTicks + slip : Math.max(1, touchTicks - slip);
  }
}

export function parseFollowerSettings(raw: Readonly<Record<string, unknown>>): FollowerSettings {
  const out = { ...DEFAULT_FOLLOWER_SETTINGS };
  const keys: Record<string, keyof FollowerSettings> = { order_notional: 'orderNotional', cooldown_ms: 'cooldownMs', hold_ms: 'holdMs', slippage_bps: 'slippageBps', max_signal_age_ms: 'maxSignalAgeMs' };
  for (const [k, v] of Object.entries(raw)) {
    const field = keys[k];
    if (!field) throw new Error(`strategy.${k}: unknown key (known: ${Object.keys(keys).join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`strategy.${k}: expected a non-negative number`);
    // 0 would skip every signal: a venue's trade time trails the clock by the network path
    if (field === 'maxSignalAgeMs' && v === 0) throw new Error(`strategy.${k}: expected a positive number (ms), got 0`);
    // 0 sizes every entry at zero lots: each one would be skipped, silently, for good
    if (field === 'orderNotional' && v === 0) throw new Error(`strategy.${k}: expected a positive number (quote currency per entry), got 0`);
    // 10 000 bps is the whole touch: a sell limit at or under 0, an order that sells at any price
    if (field === 'slippageBps' && v >= 10_000) throw new Error(`strategy.${k}: expected basis points under 10000 (how far through the touch an IOC may go), got ${v}`);
    out[field] = v;
  }
  return out;
}
