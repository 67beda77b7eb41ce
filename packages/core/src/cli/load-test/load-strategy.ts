/**
 * The load test's strategy (`cwts-ultra load-test`): a plugin like any other, loaded by path
 * through the plugin loader from the config the load test writes. It turns market events into
 * orders at a fixed ratio so that the whole order path runs (risk chain, router, journal, venue,
 * acknowledgement) without building a position: every order is an IOC priced well outside the
 * touch (a buy below the best bid, a sell above the best ask), which the venue cancels unfilled.
 */
import { z } from 'zod';
import type { MarketEvent } from '../../domain/events.js';
import type { ExecutionReport, OrderIntent } from '../../domain/orders.js';
import { notionalApprox } from '../../domain/instrument.js';
import type { Signal } from '../../domain/signal.js';
import type { Strategy, StrategyContext } from '../../contracts/trading.js';
import { TOKENS } from '../../di/tokens.js';
import { checkOptions } from '../../config/zod-options.js';
import { CORE_API_VERSION, definePlugin } from '../../plugins/manifest.js';

export const loadStrategySettings = z.strictObject({
  /** One order every this many book updates and trades (1 = one order per event). */
  events_per_order: z.int().gte(1).lte(1_000_000).default(1),
  /** Size of each order in lots; the default is the venue's minimum notional over again. */
  qty_lots: z.int().gte(1).optional(),
  /**
   * How far outside the touch the IOC is priced, in basis points of the touch: far enough that
   * the book does not come to it during the venue's latency (a fill would build a position),
   * within the default 500 bps price band.
   */
  offset_bps: z.number().gt(0).lte(10_000).default(100),
  /**
   * Orders of ours at the venue at most (sent, not yet cancelled by it); events beyond it send
   * nothing. A real strategy bounds its working orders too, and the pre-trade checks look at
   * every open order of the symbol, so an unbounded backlog would measure that, not the path.
   */
  max_outstanding: z.int().gte(1).lte(1_000_000).default(256),
});
export type LoadStrategySettings = z.output<typeof loadStrategySettings>;

export class LoadStrategy implements Strategy {
  readonly name = 'load-test';
  private seen = 0;
  private buy = true;
  private readonly qtyBySymbol = new Map<string, number>();
  private readonly outstanding = new Set<string>();
  /** Events on which the outstanding bound held an order back. */
  heldBack = 0;

  constructor(private readonly settings: LoadStrategySettings) {}

  onSignal(_signal: Signal, _ctx: StrategyContext): void {
    // Orders come from market events at a fixed ratio: the load is the event rate, not the signals.
  }

  onMarketEvent(ev: MarketEvent, ctx: StrategyContext): void {
    if (ev.type !== 'book_delta' && ev.type !== 'trade' && ev.type !== 'book_snapshot') return;
    if (++this.seen < this.settings.events_per_order) return;
    this.seen = 0;
    if (this.outstanding.size >= this.settings.max_outstanding) {
      this.heldBack++;
      return;
    }
    const book = ctx.book(ev.exchange, ev.symbol);
    if (!book?.synced) return;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (bid === undefined || ask === undefined) return;
    const price = this.buy ? bid - Math.max(1, Math.floor((bid * this.settings.offset_bps) / 10_000)) : ask + Math.max(1, Math.ceil((ask * this.settings.offset_bps) / 10_000));
    if (price <= 0) return;
    // A fresh intent each time: a router may keep the object it is given (a parent order).
    const intent: OrderIntent = { exchange: ev.exchange, symbol: ev.symbol, side: this.buy ? 'buy' : 'sell', type: 'limit', price, qty: this.qty(ev.exchange, ev.symbol, price, ctx), tif: 'IOC', source: 'load-test' };
    this.buy = !this.buy;
    const r = ctx.submit(intent);
    if (r.accepted && r.clientOrderId !== undefined) this.outstanding.add(r.clientOrderId);
  }

  onExecution(report: ExecutionReport): void {
    if (report.kind === 'cancelled' || report.kind === 'rejected' || report.kind === 'expired' || (report.kind === 'fill' && report.leavesQty === 0)) {
      this.outstanding.delete(report.clientOrderId);
    }
  }

  /** Orders of ours the venue has not finished with. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** Lots for a notional of twice the venue minimum (at least one lot), once per symbol. */
  private qty(exchange: string, symbol: string, price: number, ctx: StrategyContext): number {
    if (this.settings.qty_lots !== undefined) return this.settings.qty_lots;
    const key = `${exchange}\u0000${symbol}`;
    let q = this.qtyBySymbol.get(key);
    if (q === undefined) {
      const inst = ctx.instrument(exchange, symbol);
      const perLot = inst ? notionalApprox(inst, price, 1) : 0;
      const min = inst ? Number(inst.minNotional) : 0;
      q = perLot > 0 && min > 0 ? Math.max(1, Math.ceil((2 * min) / perLot)) : 1;
      this.qtyBySymbol.set(key, q);
    }
    return q;
  }
}

export const plugin = definePlugin({
  name: '@cwts/core/load-test-strategy',
  kind: 'strategy',
  coreApi: CORE_API_VERSION,
  validateOptions: (options, path) => {
    const r = checkOptions(loadStrategySettings, options ?? {}, path);
    return r.ok ? [] : r.issues;
  },
  register({ registrar, config }) {
    const settings = loadStrategySettings.parse(config ?? {});
    registrar.factory(TOKENS.Strategy, () => new LoadStrategy(settings));
  },
});
