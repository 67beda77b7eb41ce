import { expect } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskCheck, Strategy, StrategyContext, SubmitResult } from '../contracts/trading.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import type { Journal } from '../journal/journal.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager, type RiskManagerOptions } from '../risk/manager.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

/**
 * The engine set-up the risk suites share: one scripted venue 'v' trading BTCUSDT, a manual
 * clock, a RiskManager on RISK with 1000 of capital (no timers) and an Engine wired to it,
 * started, with an opening book at 50000.00 / 50001.00. Test-only: it imports vitest.
 */

export const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

/** `[risk]` as the suites wrote it: only these keys, the table's defaults not filled in (hence the cast). */
export const RISK = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 } satisfies Partial<RiskConfig> as RiskConfig;

/** A one-level BTCUSDT snapshot on venue 'v', 1000 lots a side. */
export function snapshot(bid: number, ask: number, seq: number): BookSnapshotEvent {
  return { type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq, reason: 'initial', bids: [{ price: bid, qty: 1000 }], asks: [{ price: ask, qty: 1000 }] };
}

/** A strategy that does nothing by itself: the tests submit through the engine. */
export class DirectStrategy implements Strategy {
  readonly name = 'direct';
  ctx!: StrategyContext;
  onSignal(): void {}
}

export interface RiskTestEngineOptions<J extends Journal = Journal> {
  /** Attached to the engine (default none). */
  journal?: J;
  /** The engine's strategy (default a new DirectStrategy); null: none. */
  strategy?: Strategy | null;
  /** The venue (default a new ScriptedVenue('v', [BTC])). */
  venue?: ScriptedVenue;
  /** The engine's riskChecks (default risk.checks). */
  riskChecks?: (risk: RiskManager) => RiskCheck[];
}

/**
 * Builds and starts the engine (see above); `over` is spread over the RiskManager's options
 * ({ risk: RISK, metrics, initialEquity: 1000, timers: false }).
 */
export async function riskTestEngine<J extends Journal = Journal>(over: Partial<RiskManagerOptions> = {}, opts: RiskTestEngineOptions<J> = {}) {
  const venue = opts.venue ?? new ScriptedVenue('v', [BTC]);
  const clock = new ManualClock(1_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false, ...over });
  const strategy = opts.strategy === undefined ? new DirectStrategy() : (opts.strategy ?? undefined);
  const journal = opts.journal;
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, strategy, watchdog: false, risk, riskChecks: opts.riskChecks ? opts.riskChecks(risk) : risk.checks, journal,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  let seq = 10;
  /** A new snapshot, one second of the engine clock after the last. */
  const book = (bid: number, ask: number) => {
    clock.advance(1000);
    venue.sink!.onMarketEvent(snapshot(bid, ask, seq++));
  };
  book(5_000_000, 5_000_100);
  /** A GTC limit on BTCUSDT, by default at the touch (a buy at the ask, a sell at the bid). */
  const submit = (i: Partial<OrderIntent> & Pick<OrderIntent, 'side' | 'qty'>): SubmitResult =>
    engine.submit({ exchange: 'v', symbol: 'BTCUSDT', type: 'limit', price: i.side === 'buy' ? 5_000_100 : 5_000_000, tif: 'GTC', source: 'test', ...i });
  /** Submits and fills completely at the order's price. */
  const trade = (side: 'buy' | 'sell', qty: number, price?: number) => {
    const r = submit({ side, qty, ...(price ? { price } : {}) });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: qty, cumQty: qty, leavesQty: 0, tradeId: `t${o.clientOrderId}` });
  };
  /** A resting order the venue acknowledged: its client id and the order the venue got. */
  const restOrder = (side: 'buy' | 'sell', qty: number, price: number): { id: string; order: Order } => {
    const r = submit({ side, qty, price });
    expect(r.accepted, r.message).toBe(true);
    const order = venue.submitted.at(-1)!;
    venue.report(order, { kind: 'ack', leavesQty: qty });
    return { id: r.clientOrderId!, order };
  };
  /** A resting order the venue acknowledged; its client id. */
  const rest = (side: 'buy' | 'sell', qty: number, price: number): string => restOrder(side, qty, price).id;
  /** A resting bid (5 lots at 49900.00) the venue acknowledged. */
  const resting = () => restOrder('buy', 5, 4_990_000);
  /** What a Binance or ccxt adapter reports for a cancel answered 429 or timed out. */
  const refuseCancel = (order: Order) => venue.report(order, { kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED', text: 'too many requests' });
  const drawdown = () => (risk.status() as { drawdownRatio: number }).drawdownRatio;
  return { venue, clock, metrics, risk, strategy, journal, engine, book, submit, trade, rest, resting, refuseCancel, drawdown };
}

export type RiskTestEngine = Awaited<ReturnType<typeof riskTestEngine>>;

/**
 * The fail-safe HALT of a failed valuation, reached the natural way: `mark = "last"`, one lot
 * bought and filled, then a trade price off the tick grid (a plugin without the kit's guard).
 * Nothing can be valued from then on; the engine is HALTED with "risk evaluation failed".
 */
export async function unvaluableRiskTestEngine(): Promise<RiskTestEngine> {
  const t = await riskTestEngine({ mark: 'last' });
  const { venue, submit, clock } = t;
  expect(submit({ side: 'buy', qty: 1 }).accepted).toBe(true);
  const taker = venue.submitted.at(-1)!;
  venue.report(taker, { kind: 'fill', lastPrice: taker.price!, lastQty: 1, cumQty: 1, leavesQty: 0, tradeId: 't1' });
  clock.advance(1000);
  venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, tradeId: 'x', price: 5_000_000.25, qty: 1, side: 'buy' });
  expect(t.engine.riskState.state).toBe('HALTED');
  expect(t.engine.riskState.reason).toMatch(/risk evaluation failed/);
  return t;
}
