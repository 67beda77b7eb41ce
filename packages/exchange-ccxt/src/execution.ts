/**
 * Orders through ccxt's unified methods (createOrder, cancelOrder, fetchOrder, fetchOpenOrders,
 * fetchMyTrades, fetchBalance) for any ccxt venue. Fills are learned by polling the orders we
 * placed (fetchOrder, then fetchMyTrades for the fills with their trade ids and fees): ccxt's
 * private WebSocket streams differ too much per venue to be used generically. Quantities and
 * prices leave as decimal strings made from our integer ticks/lots, and come back through the
 * same exact conversion; an off-grid value from the venue is reported, never rounded.
 */
import {
  copyOrder,
  decimalToUnits,
  lotsToQty,
  parseDecimal,
  qtyToLots,
  ticksToPrice,
  type Clock,
  type ExecutionClient,
  type ExecutionReport,
  type Instrument,
  type Logger,
  type Order,
  type OrderStatus,
  type OrderStatusReport,
  type RejectReason,
  type TradingAvailability,
  type VenuePosition,
} from '@cwts/core';
import { RateLimiter, TimerSet, claimPriorTrades, feeToQuoteAtoms, refusedByVenue } from '@cwts/core/adapter-kit';
import type { CcxtExchange, CcxtMyTrade, CcxtOrder } from './ccxt-exchange.js';
import { mapCcxtError } from './errors.js';
import type { CcxtOptions } from './options.js';

export interface CcxtExecutionDeps {
  exchange: string;
  ccxt: () => Promise<CcxtExchange>;
  options: CcxtOptions;
  clock: Clock;
  logger?: Logger;
  hasCredentials: boolean;
  instrument(symbol: string): Instrument | undefined;
  ccxtSymbol(symbol: string): string | undefined;
}

interface Tracked {
  order: Order;
  venueOrderId: string;
  /** Lots counted as filled: the trades reported here, and what had filled when followed from a listing (priorLots). */
  filled: number;
  tradeIds: Set<string>;
  /** Followed from the venue's open-order list (openOrders), not from an order placed or asked about here. */
  listed?: boolean;
  /**
   * An order followed from a listing: of the venue's filled quantity then, counted in `filled`
   * from the start, the lots whose trades are not identified yet. Those trades were made before
   * this process followed the order and are never reported: the listing also names orders the
   * engine leaves alone (placed outside this process), whose trades from before the journal
   * began are not ours to book. Each read of the order's trades marks the earliest ones, adding
   * up to this many lots, as booked (claimPriorTrades); once they do, it is dropped.
   */
  priorLots?: number;
  /** The venue accepted our cancel: an order it no longer lists has ended (cancelled). */
  cancelAccepted?: boolean;
}

/** An order as ccxt returned it, with the venue's id. */
const hasId = (x: CcxtOrder): boolean => x.id !== undefined && x.id !== null && String(x.id) !== '';

const TIF: Record<string, string | undefined> = { GTC: 'GTC', IOC: 'IOC', FOK: 'FOK', POST_ONLY: undefined };

export class CcxtExecution implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private readonly timers = new TimerSet();
  private readonly limiter: RateLimiter;
  private ex: CcxtExchange | undefined;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private polling = false;
  private stopped = false;
  /** Listed trades refused (off the grid, not a positive price and quantity): never applied. */
  private refusedFills = 0;

  /** Refused venue input, running totals (ExecutionClient.inputRejections). */
  *inputRejections(): Generator<readonly [string, number]> {
    if (this.refusedFills > 0) yield ['fill', this.refusedFills] as const;
  }

  constructor(private readonly deps: CcxtExecutionDeps) {
    this.exchange = deps.exchange;
    this.limiter = new RateLimiter([{ name: 'orders', limit: deps.options.orders_per_interval, intervalMs: deps.options.order_limit_interval_ms }], () => deps.clock.now(), this.timers);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  availability(): TradingAvailability {
    if (!this.deps.hasCredentials) return { canTrade: false, reason: `${this.exchange}: no api_key/api_secret` };
    if (!this.ex || this.stopped) return { canTrade: false, reason: `${this.exchange}: execution not started` };
    return { canTrade: true };
  }

  async start(onReport: (report: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
    this.stopped = false;
    this.timers.reopen();
    if (!this.deps.hasCredentials) return;
    this.ex = await this.deps.ccxt();
    this.timers.interval(() => void this.poll(), this.deps.options.poll_interval_ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.close();
    this.onReport = undefined;
  }

  submit(order: Readonly<Order>): void {
    void this.place(copyOrder(order));
  }

  cancel(order: Readonly<Order>): void {
    void this.cancelNow(copyOrder(order));
  }

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    // the venue id first, then r (which may carry its own), without a spread mid-literal (V8's slow path)
    const report: ExecutionReport = {
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0, leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(),
      kind: r.kind,
    };
    if (o.venueOrderId) report.venueOrderId = o.venueOrderId;
    this.onReport?.(Object.assign(report, r));
  }

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    const sym = this.deps.ccxtSymbol(o.symbol);
    if (!this.ex || !i || !sym) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: this.ex ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.ex ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.limiter.acquire({ orders: 1 });
    } catch (err) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: 'RATE_LIMITED', text: (err as Error).message, leavesQty: 0 });
      return;
    }
    const params: Record<string, unknown> = { clientOrderId: o.clientOrderId };
    if (o.type === 'limit') {
      if (o.tif === 'POST_ONLY') params.postOnly = true;
      else params.timeInForce = TIF[o.tif];
    }
    if (o.reduceOnly) params.reduceOnly = true;
    let res: CcxtOrder | undefined;
    let failure: unknown;
    try {
      res = await this.ex.createOrder(sym, o.type, o.side, lotsToQty(i, o.qty), o.type === 'limit' ? ticksToPrice(i, o.price!) : undefined, params);
    } catch (err) {
      failure = err;
    }
    if (res && hasId(res)) {
      this.follow(o, String(res.id));
      return;
    }
    const m = failure === undefined ? { reason: 'VENUE_ERROR' as const, text: `${this.exchange}: the order's answer carried no order id`, retryable: false } : mapCcxtError(this.exchange, failure);
    // Anything but the venue's refusal (a network failure, an answer ccxt failed to read, one
    // without an order id) leaves the order's fate unknown: it is looked up by client id, never
    // assumed rejected.
    if (failure !== undefined && refusedByVenue(failure, undefined)) {
      this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: m.reason, text: m.text, leavesQty: 0 });
      return;
    }
    this.deps.logger?.warn({ clientOrderId: o.clientOrderId }, `order submit outcome unknown (${m.text}); looking it up by client id`);
    await this.resolveUnknown(o, sym, m.reason, m.text);
  }

  /** Acked, and followed from now on (polled for fills and venue-side ends). */
  private follow(o: Order, venueOrderId: string): void {
    o.venueOrderId = venueOrderId;
    o.status = 'open';
    this.report(o, { kind: 'ack', venueOrderId, leavesQty: o.qty });
    this.tracked.set(o.clientOrderId, { order: o, venueOrderId, filled: 0, tradeIds: new Set() });
  }

  /**
   * Asks by client id every `poll_interval_ms` until the order is found (then acked and followed)
   * or `unknown_order_grace_ms` has passed (then reported rejected: it never reached the venue).
   */
  private async resolveUnknown(o: Order, sym: string, reason: RejectReason, text: string): Promise<void> {
    const since = this.deps.clock.now();
    for (;;) {
      const known = await this.orderByClientId(sym, o.clientOrderId, o.createdTs).catch(() => undefined);
      if (this.stopped) return;
      if (known && hasId(known)) {
        this.follow(o, String(known.id));
        return;
      }
      if (this.deps.clock.now() - since >= this.deps.options.unknown_order_grace_ms) break;
      await this.timers.sleep(this.deps.options.poll_interval_ms);
    }
    this.report(o, { kind: 'rejected', rejects: 'order', rejectReason: reason, text: `${text}; not found by client id within ${this.deps.options.unknown_order_grace_ms} ms: never reached the venue`, leavesQty: 0 });
  }

  /** Our order by client id among the venue's open orders, then (where ccxt can list them) its closed ones: a market order may have filled at once. */
  private async orderByClientId(sym: string, clientOrderId: string, createdTs: number): Promise<CcxtOrder | undefined> {
    const open = (await this.ex!.fetchOpenOrders(sym)).find((x) => x.clientOrderId === clientOrderId);
    if (open || !this.ex!.has.fetchClosedOrders || !this.ex!.fetchClosedOrders) return open;
    return (await this.ex!.fetchClosedOrders(sym, createdTs - 60_000)).find((x) => x.clientOrderId === clientOrderId);
  }

  private async cancelNow(o: Order): Promise<void> {
    const sym = this.deps.ccxtSymbol(o.symbol);
    if (!this.ex || !sym || !o.venueOrderId) {
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: !this.ex ? 'NO_CREDENTIALS' : 'UNKNOWN_ORDER', text: !this.ex ? 'execution not started' : `no venue order id for ${o.clientOrderId}` });
      return;
    }
    const t = this.tracked.get(o.clientOrderId);
    try {
      await this.ex.cancelOrder(o.venueOrderId, sym);
    } catch (err) {
      const m = mapCcxtError(this.exchange, err);
      this.report(o, { kind: 'rejected', rejects: 'request', rejectReason: m.reason, text: m.text });
      return;
    }
    if (!t) {
      this.report(o, { kind: 'cancelled', leavesQty: 0 });
      return;
    }
    // accepted: the fills made before it (not polled yet) and the end come from the order itself;
    // a read that fails or shows it still open is left to the next poll
    t.cancelAccepted = true;
    await this.readAndSync(t, sym);
  }

  /**
   * Reads one followed order and brings it up to the venue's view (sync). A failed read is read
   * again at the next poll, except an order whose cancel the venue accepted and which it no
   * longer knows (many venues drop a cancelled order without fills): that one has ended, so its
   * trades are read once more and it is reported cancelled with what they booked. Otherwise it
   * would stay pending_cancel, and be read at every poll, for ever.
   */
  private async readAndSync(t: Tracked, sym: string): Promise<void> {
    let v: CcxtOrder;
    try {
      v = await this.ex!.fetchOrder(t.venueOrderId, sym);
    } catch (err) {
      if (t.cancelAccepted && mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') await this.endUnlisted(t, sym).catch(() => {});
      return;
    }
    await this.sync(t, v).catch(() => {});
  }

  private async endUnlisted(t: Tracked, sym: string): Promise<void> {
    const i = this.deps.instrument(t.order.symbol);
    if (!i || this.tracked.get(t.order.clientOrderId) !== t) return;
    await this.emitFills(t, i, sym);
    if (this.tracked.get(t.order.clientOrderId) !== t) return;
    this.tracked.delete(t.order.clientOrderId);
    this.report(t.order, { kind: 'cancelled', leavesQty: 0, cumQty: t.filled, text: `${this.exchange}: cancel accepted; the venue no longer lists the order` });
  }

  /** Polls each order we placed for fills and venue-side ends (cancel, expiry). */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped || !this.ex || this.tracked.size === 0) return;
    this.polling = true;
    try {
      for (const t of [...this.tracked.values()]) {
        if (this.stopped) return;
        const sym = this.deps.ccxtSymbol(t.order.symbol);
        if (!sym) continue;
        // a failed read (the order's or its trades') is read again at the next poll
        await this.readAndSync(t, sym);
      }
    } finally {
      this.polling = false;
    }
  }

  /**
   * Brings one followed order up to the venue's view of it: its trades first, then its end
   * (filled, cancelled, expired, rejected), which waits until the trades add up to what the
   * venue counts as filled (its trade list can lag its order state). Throws when the trades
   * cannot be read: nothing is ended on a read that failed.
   */
  private async sync(t: Tracked, v: CcxtOrder): Promise<void> {
    const sym = this.deps.ccxtSymbol(t.order.symbol);
    const i = this.deps.instrument(t.order.symbol);
    if (!sym || !i || this.tracked.get(t.order.clientOrderId) !== t) return;
    const status = statusOf(v.status);
    const final = status === 'filled' || status === 'cancelled' || status === 'rejected';
    const filled = this.venueFilled(i, t.order, v.filled);
    // without a usable `filled` only the trades say what was filled; a final order's are read
    // once more so that nothing counted before its end is missed
    if (filled === undefined || filled > t.filled || final) await this.emitFills(t, i, sym);
    if (!final || this.tracked.get(t.order.clientOrderId) !== t) return;
    if (t.filled < (filled ?? (status === 'filled' ? t.order.qty : 0))) return;
    this.tracked.delete(t.order.clientOrderId);
    if (status === 'filled') {
      // a venue may close an order it filled in part (the rest of an IOC): the rest is not working
      if (t.filled < t.order.qty) this.report(t.order, { kind: 'expired', leavesQty: 0, cumQty: t.filled, text: `${this.exchange}: closed by the venue with ${t.filled} of ${t.order.qty} lots filled` });
      return;
    }
    if (status === 'rejected') {
      this.report(t.order, { kind: 'rejected', rejects: 'order', rejectReason: 'VENUE_ERROR', text: `${this.exchange}: rejected by the venue after its ack`, leavesQty: 0, cumQty: t.filled });
      return;
    }
    this.report(t.order, { kind: v.status === 'expired' ? 'expired' : 'cancelled', leavesQty: 0, cumQty: t.filled });
  }

  /**
   * The venue's filled quantity in lots; undefined when it does not say (ccxt leaves `filled`
   * undefined or null where the venue's answer lacks it) or says something that is no quantity
   * of this order (off the grid, negative, more than the order).
   */
  private venueFilled(i: Instrument, o: Order, filled: number | null | undefined): number | undefined {
    const lots = this.lots(i, filled ?? undefined);
    return lots === undefined || lots < 0 || lots > o.qty ? undefined : lots;
  }

  private async emitFills(t: Tracked, i: Instrument, sym: string): Promise<void> {
    const trades = [...(await this.ex!.fetchMyTrades(sym, t.order.createdTs - 60_000))].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    this.claimPriorTrades(t, i, trades);
    for (const tr of trades) {
      if (String(tr.order) !== t.venueOrderId || t.tradeIds.has(String(tr.id))) continue;
      const r = this.fillReport(t.order, i, tr, t.filled);
      if (!r) continue;
      t.tradeIds.add(String(tr.id));
      t.filled = r.cumQty;
      t.order.filledQty = r.cumQty;
      this.onReport?.(r);
    }
  }

  /** An order followed from a listing: its earliest trades, up to priorLots, are in its count already (claimPriorTrades of the kit). */
  private claimPriorTrades(t: Tracked, i: Instrument, trades: readonly CcxtMyTrade[]): void {
    if (t.priorLots === undefined) return;
    const own = trades.filter((tr) => String(tr.order) === t.venueOrderId);
    const lotsOf = (tr: CcxtMyTrade): number | undefined => {
      const price = this.ticks(i, tr.price);
      return price === undefined || price <= 0 ? undefined : this.lots(i, tr.amount);
    };
    if (claimPriorTrades(own, t.priorLots, lotsOf, (tr) => t.tradeIds.add(String(tr.id)))) delete t.priorLots;
  }

  /** One venue fill as our report; undefined (and a warning) when it is off the instrument's grid. */
  private fillReport(o: Order, i: Instrument, tr: CcxtMyTrade, cumBefore: number): ExecutionReport | undefined {
    const price = this.ticks(i, tr.price);
    const qty = this.lots(i, tr.amount);
    if (price === undefined || qty === undefined || price <= 0 || qty <= 0) {
      this.refusedFills++;
      this.deps.logger?.warn({ exchange: this.exchange, tradeId: tr.id }, 'fill off the instrument grid, or not a positive price and quantity; not applied');
      return undefined;
    }
    const cum = cumBefore + qty;
    const fee = this.feeAtoms(i, tr.fee, price);
    const r: ExecutionReport = {
      kind: 'fill', exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: String(tr.order), side: o.side,
      lastPrice: price, lastQty: qty, leavesQty: Math.max(0, o.qty - cum), cumQty: cum, feeAtoms: fee.atoms,
      tradeId: String(tr.id), ts: tr.timestamp ?? this.deps.clock.now(),
    };
    // set after the literal, not spread into it (V8's slow path: docs/writing-an-exchange-plugin.md)
    if (fee.asset) r.feeAsset = fee.asset;
    if (tr.takerOrMaker === 'maker' || tr.takerOrMaker === 'taker') r.liquidity = tr.takerOrMaker;
    return r;
  }

  /**
   * The trade's commission as quote atoms through the adapter kit's rule (rounded toward
   * +infinity): a quote-asset fee converts exactly, a base-asset fee is valued at this fill's
   * price. A third asset (BNB, a venue token) has no price here: 0 atoms plus its asset name,
   * so the engine reports the fee by asset instead of booking a guess.
   */
  private feeAtoms(i: Instrument, fee: CcxtMyTrade['fee'], priceTicks: number): { atoms: bigint; asset?: string } {
    if (!fee || fee.cost === undefined || !Number.isFinite(fee.cost)) return { atoms: 0n };
    const atoms = feeToQuoteAtoms(i, this.ex!.numberToString(fee.cost), fee.currency, priceTicks);
    if (atoms === undefined) return { atoms: 0n, asset: fee.currency };
    return { atoms };
  }

  private ticks(i: Instrument, v: number | undefined): number | undefined {
    if (v === undefined || !Number.isFinite(v)) return undefined;
    try {
      return decimalToUnits(this.ex!.numberToString(v), i.priceScale);
    } catch {
      return undefined;
    }
  }

  private lots(i: Instrument, v: number | undefined): number | undefined {
    if (v === undefined || !Number.isFinite(v)) return undefined;
    try {
      return qtyToLots(i, this.ex!.numberToString(v));
    } catch {
      return undefined;
    }
  }

  async openOrders(): Promise<Order[]> {
    if (!this.ex) return [];
    const list = await this.ex.fetchOpenOrders();
    const out: Order[] = [];
    for (const v of list) {
      const symbol = this.ourSymbol(v.symbol);
      const i = symbol ? this.deps.instrument(symbol) : undefined;
      if (!i || !symbol) continue;
      const qty = this.lots(i, v.amount) ?? 0;
      const venueFilled = this.lots(i, v.filled);
      const filled = venueFilled ?? 0;
      const price = this.ticks(i, v.price);
      const o: Order = {
        exchange: this.exchange, symbol, side: v.side === 'sell' ? 'sell' : 'buy', type: price === undefined ? 'market' : 'limit', ...(price !== undefined ? { price } : {}), qty, tif: 'GTC', source: 'venue',
        clientOrderId: v.clientOrderId ?? `venue-${v.id}`, venueOrderId: String(v.id), status: filled > 0 ? 'partially_filled' : 'open', filledQty: filled, filledNotionalTicksLots: 0n, feeAtoms: 0n,
        createdTs: v.timestamp ?? 0, updatedTs: v.timestamp ?? 0,
      };
      out.push(o);
      // Followed from now on, from the venue's filled quantity: only trades made from now on are
      // reported (priorLots). This listing names every working order of the account, also one
      // the engine leaves alone (an id it does not issue); followed from nothing booked, such an
      // order's trades from before the journal began were reported and booked onto the order
      // the engine adopted from one of its later trades: the position moved by the account's
      // history. An order the engine adopts it asks about next (queryOrder), which follows it
      // from the trades it hands over instead: its earlier trades are booked once each, by id.
      // An order without a client id is none of ours and is not polled; nor is one whose filled
      // quantity the venue does not say (its earlier trades could not be told from new ones):
      // adopted, queryOrder follows it.
      if (v.clientOrderId && hasId(v) && venueFilled !== undefined && venueFilled >= 0 && venueFilled <= qty && !this.tracked.has(o.clientOrderId)) {
        const tracked: Tracked = { order: copyOrder(o), venueOrderId: String(v.id), filled, tradeIds: new Set(), listed: true };
        if (filled > 0) tracked.priorLots = filled;
        this.tracked.set(o.clientOrderId, tracked);
      }
    }
    return out;
  }

  async queryOrder(order: Readonly<Order>): Promise<OrderStatusReport | undefined> {
    const sym = this.deps.ccxtSymbol(order.symbol);
    const i = this.deps.instrument(order.symbol);
    if (!this.ex || !sym || !i) return undefined;
    let v: CcxtOrder;
    try {
      v = await this.ex.fetchOrder(order.venueOrderId ?? '', sym, order.venueOrderId ? {} : { clientOrderId: order.clientOrderId });
    } catch (err) {
      if (mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') return undefined;
      throw err;
    }
    const trades = (await this.ex.fetchMyTrades(sym, order.createdTs - 60_000)).filter((t) => String(t.order) === String(v.id));
    const fills: ExecutionReport[] = [];
    let cum = 0;
    const withId = copyOrder(order);
    withId.venueOrderId = String(v.id);
    for (const t of trades) {
      const r = this.fillReport(withId, i, t, cum);
      if (r) {
        fills.push(r);
        cum = r.cumQty;
      }
    }
    const filledQty = this.lots(i, v.filled) ?? cum;
    const status = statusOf(v.status) ?? (filledQty > 0 ? 'partially_filled' : 'open');
    // An order still working is followed from now on, from the fills handed over here (their
    // trade ids are used up; the engine books each once): also one followed from the venue's
    // listing, whose earlier trades that following would never report (priorLots). One this
    // client placed or asked about already keeps its own count.
    const followed = this.tracked.get(order.clientOrderId);
    if (followed?.listed && followed.venueOrderId === String(v.id)) this.tracked.delete(order.clientOrderId);
    if ((status === 'open' || status === 'partially_filled') && !this.tracked.has(order.clientOrderId)) {
      withId.filledQty = cum;
      this.tracked.set(order.clientOrderId, { order: withId, venueOrderId: String(v.id), filled: cum, tradeIds: new Set(fills.map((f) => f.tradeId!)) });
    }
    return { clientOrderId: order.clientOrderId, venueOrderId: String(v.id), status: status === 'open' && filledQty > 0 ? 'partially_filled' : status, filledQty, fills };
  }

  async tradesSince(symbols: readonly string[], sinceTs: number): Promise<ExecutionReport[]> {
    if (!this.ex) return [];
    const out: ExecutionReport[] = [];
    for (const s of symbols) {
      const sym = this.deps.ccxtSymbol(s);
      const i = this.deps.instrument(s);
      if (!sym || !i) continue;
      // a trade names its venue order only; the client id (what the journal keys on) comes from
      // the order, read once per order. Unknown (a venue order without one, or one the venue no
      // longer knows), it is left out rather than made up: the trade is then one of an order
      // the journal never saw.
      const clientIds = new Map<string, string | undefined>();
      for (const t of await this.ex.fetchMyTrades(sym, sinceTs)) {
        const venueOrderId = t.order === undefined || t.order === null ? '' : String(t.order);
        if (venueOrderId !== '' && !clientIds.has(venueOrderId)) clientIds.set(venueOrderId, await this.clientIdOf(venueOrderId, sym));
        const o = { exchange: this.exchange, symbol: s, side: t.side === 'sell' ? 'sell' : 'buy', clientOrderId: clientIds.get(venueOrderId), qty: 0, filledQty: 0 } as unknown as Order;
        const r = this.fillReport(o, i, t, 0);
        if (r) out.push({ ...r, leavesQty: 0 });
      }
    }
    return out.sort((a, b) => a.ts - b.ts);
  }

  /** The client id of a venue order: the one we follow under it, else the venue's (fetchOrder); undefined when neither says. */
  private async clientIdOf(venueOrderId: string, sym: string): Promise<string | undefined> {
    for (const t of this.tracked.values()) if (t.venueOrderId === venueOrderId) return t.order.clientOrderId;
    let v: CcxtOrder;
    try {
      v = await this.ex!.fetchOrder(venueOrderId, sym);
    } catch (err) {
      if (mapCcxtError(this.exchange, err).reason === 'UNKNOWN_ORDER') return undefined;
      // a failed read fails the reconciliation: a trade of our own must not be booked as a stranger's
      throw err;
    }
    return v.clientOrderId ? v.clientOrderId : undefined;
  }

  /** Spot: the base asset's total balance, in lots (fetchBalance). */
  async positions(symbols: readonly string[]): Promise<VenuePosition[]> {
    if (!this.ex) return [];
    const bal = await this.ex.fetchBalance();
    const out: VenuePosition[] = [];
    for (const s of symbols) {
      const i = this.deps.instrument(s);
      if (!i) continue;
      const total = bal.total?.[i.base];
      const qty = total === undefined ? 0 : this.lotsFloor(i, total);
      out.push({ symbol: s, qty });
    }
    return out;
  }

  /** A balance need not sit on the lot grid (dust); it is floored to whole lots, exactly. */
  private lotsFloor(i: Instrument, v: number): number {
    const { mantissa, exponent } = parseDecimal(this.ex!.numberToString(v));
    const unit = i.qtyScale;
    // lots = floor(v / (unit.mantissa * 10^-unit.exponent)) with v = mantissa * 10^-exponent
    const num = mantissa * 10n ** BigInt(Math.max(0, unit.exponent - exponent));
    const den = unit.mantissa * 10n ** BigInt(Math.max(0, exponent - unit.exponent));
    return Number(num / den);
  }

  private ourSymbol(ccxtSymbol: string): string | undefined {
    const m = this.ex?.markets_by_id;
    if (!m) return undefined;
    for (const [id, list] of Object.entries(m)) if (list.some((x) => x.symbol === ccxtSymbol) && this.deps.instrument(id)) return id;
    return undefined;
  }
}

function statusOf(s: string | undefined): OrderStatus | undefined {
  switch (s) {
    case 'open':
      return 'open';
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'cancelled':
    case 'expired':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    default:
      return undefined;
  }
}

