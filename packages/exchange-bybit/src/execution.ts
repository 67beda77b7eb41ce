import {
  lotsToQty,
  priceToTicks,
  qtyToLots,
  ticksToPrice,
  type Clock,
  type ExecutionClient,
  type ExecutionReport,
  type Instrument,
  type Logger,
  type Order,
  type TradingAvailability,
} from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import {
  RateLimiter,
  TimerSet,
  feeToQuoteAtoms,
  redactCredentials,
  type VenueErrorMap,
} from '@cwts/core/adapter-kit';
import { bybitErrorMap, mapBybitError } from './errors.js';
import type { BybitEndpoints } from './market-data.js';
import type { BybitOptions } from './options.js';

/** Bybit v5 answers: `{"retCode":0,"retMsg":"OK","result":{...}}` (ccxt throws on retCode != 0). */
interface V5<T> {
  retCode: number;
  retMsg?: string;
  result: T;
}
/** GET /v5/order/realtime list entry (the fields we use). */
interface BybitOrderJson {
  orderId: string;
  orderLinkId: string;
  symbol: string;
  side: 'Buy' | 'Sell';
  orderType: 'Limit' | 'Market';
  price: string;
  qty: string;
  timeInForce?: string;
  orderStatus: string;
  cumExecQty: string;
  createdTime?: string;
}
/** GET /v5/execution/list entry. */
interface BybitExecJson {
  symbol: string;
  orderId: string;
  execId: string;
  execPrice: string;
  execQty: string;
  execFee: string;
  /** Spot only: the asset the fee was charged in; linear fees are in the settle coin (the quote). */
  feeCurrency?: string;
  execType?: string;
  execTime: string;
  isMaker?: boolean;
}

/** The part of a ccxt exchange we use: its implicit, signed v5 endpoints (ccxt is loaded lazily: it is large). */
interface CcxtBybit {
  urls: { api: Record<string, unknown> };
  privatePostV5OrderCreate(params: Record<string, unknown>): Promise<V5<{ orderId: string; orderLinkId: string }>>;
  privatePostV5OrderCancel(params: Record<string, unknown>): Promise<V5<{ orderId: string; orderLinkId: string }>>;
  privateGetV5OrderRealtime(params: Record<string, unknown>): Promise<V5<{ list: BybitOrderJson[] }>>;
  privateGetV5ExecutionList(params: Record<string, unknown>): Promise<V5<{ list: BybitExecJson[] }>>;
}

export interface BybitExecutionDeps {
  exchange: string;
  endpoints: BybitEndpoints;
  options: BybitOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  /** Instruments the market-data half loaded (shared). */
  instrument: (symbol: string) => Instrument | undefined;
  /** Symbols with loaded instruments (open orders are listed per symbol: linear requires one). */
  symbols: () => string[];
}

interface Tracked {
  order: Order;
  acked: boolean;
  cumLots: number;
  /** Submit outcome unknown (timeout, connection lost): asked by orderLinkId until known. */
  unknownSince?: number;
}

/** Errors after which the order may or may not have reached the venue. */
const UNKNOWN_OUTCOME = /RequestTimeout|NetworkError|ExchangeNotAvailable|ECONNRESET|ETIMEDOUT|socket hang up|timed out/i;
/** Final order states (v5 enums: orderStatus). */
const TERMINAL = new Set(['Filled', 'Cancelled', 'PartiallyFilledCanceled', 'Rejected', 'Deactivated']);
const APPLIED_WINDOW = 65_536;

const TIF: Record<Order['tif'], string> = { GTC: 'GTC', IOC: 'IOC', FOK: 'FOK', POST_ONLY: 'PostOnly' };

/**
 * Live Bybit execution through ccxt's signed v5 endpoints (ccxt signs: X-BAPI-API-KEY,
 * -TIMESTAMP, -RECV-WINDOW, -SIGN); prices and quantities are formatted from our integer ticks
 * and lots with the instrument's precision, so ccxt's market loading is not needed. Fills and
 * final states are learned by polling working orders (order/realtime, then execution/list for
 * the trades with their real fee and maker flag); each execution is applied once (key: symbol +
 * execId). A submit whose outcome is unknown is asked for by orderLinkId until known, never
 * assumed rejected. Credentials stay inside ccxt; nothing here logs or returns them.
 */
export class BybitExecution implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private ccxt: CcxtBybit | undefined;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly timers = new TimerSet();
  private readonly errors: VenueErrorMap;
  private readonly orderLimiter: RateLimiter;
  private readonly tracked = new Map<string, Tracked>();
  private readonly applied = new Set<string>();
  private readonly finished = new Set<string>();
  private stopped = false;
  private polling = false;

  constructor(private readonly deps: BybitExecutionDeps) {
    this.exchange = deps.exchange;
    this.errors = bybitErrorMap(deps.exchange);
    // The configured window is enforced exactly, on the injected clock. Headroom for transit
    // jitter (Bybit counts at arrival) comes from the configured limit sitting below the venue's,
    // and a venue 10006 still pauses the limiter for a second (see reject/cancel).
    this.orderLimiter = new RateLimiter([{ name: 'orders', limit: deps.options.orders_per_interval, intervalMs: deps.options.order_limit_interval_ms }], () => deps.clock.now(), this.timers);
  }

  private get category(): string {
    return this.deps.endpoints.category;
  }

  availability(): TradingAvailability {
    const k = this.deps.apiKey;
    const s = this.deps.apiSecret;
    if (!k || k.isEmpty || !s || s.isEmpty) return { canTrade: false, reason: 'no api_key/api_secret configured; market data only' };
    if (this.stopped) return { canTrade: false, reason: 'stopped' };
    return { canTrade: true };
  }

  async start(onReport: (r: ExecutionReport) => void): Promise<void> {
    this.onReport = onReport;
    this.stopped = false;
    this.timers.reopen();
    if (!this.availability().canTrade) return;
    const mod = (await import('ccxt')) as unknown as { default?: { bybit: new (c: object) => CcxtBybit }; bybit?: new (c: object) => CcxtBybit };
    const Ctor = mod.bybit ?? mod.default!.bybit;
    const ex = new Ctor({
      apiKey: this.deps.apiKey!.reveal(),
      secret: this.deps.apiSecret!.reveal(),
      enableRateLimit: false, // our limiter decides; ccxt's would double-throttle
      timeout: this.deps.options.rest_timeout_ms,
      options: { recvWindow: this.deps.options.recv_window_ms, adjustForTimeDifference: false },
    });
    // Every ccxt endpoint is re-rooted at the configured REST URL (the testnet or a test server):
    // nothing can reach a host other than the configured one.
    for (const k of Object.keys(ex.urls.api)) if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = this.deps.endpoints.restRoot;
    this.ccxt = ex;
    // One signed request now: a refused key shows up at start instead of at the first order, and
    // ccxt's one-time setup of its HTTP path is not paid by (and does not bunch up) the first orders.
    const probe = this.deps.symbols()[0];
    if (probe !== undefined) {
      try {
        await ex.privateGetV5OrderRealtime({ category: this.category, symbol: probe, limit: 1 });
      } catch (err) {
        const m = mapBybitError(this.errors, err);
        this.deps.logger?.warn({ exchange: this.exchange, reason: m.reason }, redactCredentials(`signed request check failed at start: ${m.text}`));
      }
    }
    this.timers.interval(() => void this.pollTracked(), this.deps.options.poll_interval_ms);
  }

  submit(order: Readonly<Order>): void {
    void this.place({ ...order });
  }

  cancel(order: Readonly<Order>): void {
    void this.cancelOne({ ...order });
  }

  async openOrders(): Promise<Order[]> {
    if (!this.ccxt) return [];
    const out: Order[] = [];
    for (const symbol of this.deps.symbols()) {
      // without orderId/orderLinkId, order/realtime lists the working orders only
      const res = await this.ccxt.privateGetV5OrderRealtime({ category: this.category, symbol });
      for (const j of res.result?.list ?? []) {
        const order = this.orderFromJson(j);
        if (!order) continue;
        out.push(order);
        // restored orders are followed from now on
        if (!this.tracked.has(order.clientOrderId)) this.tracked.set(order.clientOrderId, { order: { ...order }, acked: true, cumLots: order.filledQty });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.close();
    this.ccxt = undefined;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  // ---- reports ----------------------------------------------------------------------------

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    if (this.stopped && r.kind !== 'cancelled') return;
    this.onReport?.({
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0,
      leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(), ...r,
    });
  }

  private reject(o: Order, err: unknown): void {
    const m = mapBybitError(this.errors, err);
    if (m.reason === 'RATE_LIMITED') this.orderLimiter.blockUntil(this.deps.clock.now() + 1000);
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(m.text));
    this.tracked.delete(o.clientOrderId);
    this.report(o, { kind: 'rejected', rejectReason: m.reason, text: m.text, leavesQty: 0 });
  }

  private ack(tr: Tracked, venueOrderId: string): void {
    tr.order.venueOrderId = venueOrderId;
    tr.unknownSince = undefined;
    if (tr.acked) return;
    tr.acked = true;
    this.report(tr.order, { kind: 'ack', venueOrderId, leavesQty: tr.order.qty - tr.cumLots });
  }

  private untrack(cid: string): void {
    if (!this.tracked.delete(cid)) return;
    this.finished.add(cid);
    if (this.finished.size > APPLIED_WINDOW) this.finished.delete(this.finished.values().next().value as string);
  }

  private applyExec(tr: Tracked, x: BybitExecJson): void {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i || (x.execType !== undefined && x.execType !== 'Trade')) return;
    const key = `${o.symbol}|${x.execId}`;
    if (this.applied.has(key)) return;
    this.applied.add(key);
    if (this.applied.size > APPLIED_WINDOW) this.applied.delete(this.applied.values().next().value as string);
    const lastPrice = priceToTicks(i, x.execPrice);
    const lastQty = qtyToLots(i, x.execQty);
    tr.cumLots += lastQty;
    o.filledQty = tr.cumLots;
    // linear fees are charged in the settle coin, which is the quote of a USDT/USDC contract
    const feeAsset = x.feeCurrency || i.quote;
    const fee = feeToQuoteAtoms(i, x.execFee, feeAsset, lastPrice);
    const r: ExecutionReport = {
      kind: 'fill', exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, venueOrderId: o.venueOrderId, side: o.side,
      lastPrice, lastQty, cumQty: tr.cumLots, leavesQty: Math.max(0, o.qty - tr.cumLots), feeAtoms: fee ?? 0n, feeAsset, tradeId: x.execId, ts: Number(x.execTime) || this.deps.clock.now(),
    };
    if (x.isMaker !== undefined) r.liquidity = x.isMaker ? 'maker' : 'taker';
    if (fee === undefined) r.text = `fee ${x.execFee} ${feeAsset}`;
    this.report(o, r);
  }

  private applyStatus(tr: Tracked, status: string, text?: string): void {
    if (!TERMINAL.has(status)) return;
    if (this.tracked.get(tr.order.clientOrderId) !== tr) return; // already final
    this.untrack(tr.order.clientOrderId);
    const o = tr.order;
    if (status === 'Filled') return;
    if (status === 'Rejected') this.report(o, { kind: 'rejected', rejectReason: 'VENUE_ERROR', text: text ?? `${this.exchange}: rejected by the venue`, leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId });
    else this.report(o, { kind: status === 'Deactivated' ? 'expired' : 'cancelled', leavesQty: 0, cumQty: tr.cumLots, venueOrderId: o.venueOrderId });
  }

  // ---- orders -----------------------------------------------------------------------------

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    if (!this.ccxt || !i) {
      this.report(o, { kind: 'rejected', rejectReason: this.ccxt ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.ccxt ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.orderLimiter.acquire({ orders: 1 });
    } catch (err) {
      this.report(o, { kind: 'rejected', rejectReason: 'RATE_LIMITED', text: `${this.exchange}: ${(err as Error).message}`, leavesQty: 0 });
      return;
    }
    if (!this.ccxt) return; // stopped while waiting
    const tr: Tracked = { order: o, acked: false, cumLots: 0 };
    this.tracked.set(o.clientOrderId, tr);
    const sentAt = this.deps.clock.now();
    const params: Record<string, unknown> = {
      category: this.category, symbol: o.symbol, side: o.side === 'buy' ? 'Buy' : 'Sell', orderType: o.type === 'market' ? 'Market' : 'Limit',
      qty: lotsToQty(i, o.qty), orderLinkId: o.clientOrderId,
    };
    if (o.type === 'limit') {
      params.price = ticksToPrice(i, o.price!);
      params.timeInForce = TIF[o.tif];
    }
    try {
      const res = await this.ccxt.privatePostV5OrderCreate(params);
      this.ack(tr, String(res.result.orderId));
    } catch (err) {
      const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)}`;
      if (UNKNOWN_OUTCOME.test(text) && !/"retCode"\s*:\s*\d+/.test(text)) {
        tr.unknownSince = sentAt;
        this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId }, redactCredentials(`order submit outcome unknown (${text.trim()}); asking the venue by orderLinkId`));
        void this.resolveUnknown(tr);
      } else this.reject(o, err);
    }
  }

  /** Asks by orderLinkId until known; "does not exist" is final once the request's recv window has passed. */
  private async resolveUnknown(tr: Tracked): Promise<void> {
    const o = tr.order;
    while (!this.stopped && tr.unknownSince !== undefined && this.tracked.get(o.clientOrderId) === tr) {
      try {
        const json = await this.fetchOrder(o.symbol, { orderLinkId: o.clientOrderId });
        if (json) {
          this.ack(tr, json.orderId);
          await this.syncOrder(tr, json);
          return;
        }
        if (this.deps.clock.now() > tr.unknownSince + this.deps.options.recv_window_ms + 1000) {
          this.tracked.delete(o.clientOrderId);
          this.report(o, { kind: 'rejected', rejectReason: 'VENUE_ERROR', text: `${this.exchange}: the order never reached the venue (submit failed; unknown by orderLinkId after the ${this.deps.options.recv_window_ms} ms recv window)`, leavesQty: 0 });
          return;
        }
      } catch (err) {
        this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order query by orderLinkId failed: ${(err as Error).message}`));
      }
      await this.timers.sleep(Math.min(1000, Math.max(50, this.deps.options.poll_interval_ms)));
    }
  }

  private async cancelOne(o: Order): Promise<void> {
    if (!this.ccxt) {
      this.report(o, { kind: 'rejected', rejectReason: 'NO_CREDENTIALS', text: 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.orderLimiter.acquire({ orders: 1 });
      await this.ccxt.privatePostV5OrderCancel({ category: this.category, symbol: o.symbol, ...(o.venueOrderId ? { orderId: o.venueOrderId } : { orderLinkId: o.clientOrderId }) });
      // the cancel is accepted; its fills before it and the final state come from the order itself
      const tr = this.tracked.get(o.clientOrderId);
      if (tr) await this.syncOrder(tr);
    } catch (err) {
      const m = mapBybitError(this.errors, err);
      if (m.reason === 'RATE_LIMITED') this.orderLimiter.blockUntil(this.deps.clock.now() + 1000);
      this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(`cancel refused: ${m.text}`));
      // a refused cancel leaves the order as it was (it may have filled meanwhile): keep following
      // it and learn its real state from the venue
      this.report(o, { kind: 'rejected', rejectReason: m.reason, text: m.text });
      const tr = this.tracked.get(o.clientOrderId);
      if (tr) await this.syncOrder(tr).catch(() => {});
    }
  }

  // ---- REST -------------------------------------------------------------------------------

  private async fetchOrder(symbol: string, by: { orderId: string } | { orderLinkId: string }): Promise<BybitOrderJson | undefined> {
    const res = await this.ccxt!.privateGetV5OrderRealtime({ category: this.category, symbol, ...by });
    return res.result?.list?.[0];
  }

  /** Brings one tracked order up to the venue's state: its executions (with fees) and its status. */
  private async syncOrder(tr: Tracked, known?: BybitOrderJson): Promise<void> {
    const o = tr.order;
    const i = this.deps.instrument(o.symbol);
    if (!i || !this.ccxt) return;
    const json = known ?? (await this.fetchOrder(o.symbol, o.venueOrderId ? { orderId: o.venueOrderId } : { orderLinkId: o.clientOrderId }));
    if (!json) return;
    if (qtyToLots(i, json.cumExecQty) > tr.cumLots) {
      const res = await this.ccxt.privateGetV5ExecutionList({ category: this.category, symbol: o.symbol, orderId: json.orderId });
      const list = [...(res.result?.list ?? [])].sort((a, b) => Number(a.execTime) - Number(b.execTime));
      for (const x of list) this.applyExec(tr, x);
    }
    this.applyStatus(tr, json.orderStatus);
  }

  private async pollTracked(): Promise<void> {
    if (this.polling || !this.ccxt || this.tracked.size === 0) return;
    this.polling = true;
    try {
      for (const tr of [...this.tracked.values()]) {
        if (this.stopped) return;
        if (!tr.acked) continue; // its submit is still in flight, or being resolved by orderLinkId
        try {
          await this.syncOrder(tr);
        } catch (err) {
          this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order poll failed: ${(err as Error).message}`));
        }
      }
    } finally {
      this.polling = false;
    }
  }

  private statusOf(st: string, filled: number): Order['status'] {
    if (st === 'Filled') return 'filled';
    if (st === 'Cancelled' || st === 'PartiallyFilledCanceled' || st === 'Deactivated') return 'cancelled';
    if (st === 'Rejected') return 'rejected';
    return filled > 0 ? 'partially_filled' : 'open';
  }

  private orderFromJson(j: BybitOrderJson): Order | undefined {
    const i = this.deps.instrument(String(j.symbol));
    if (!i) return undefined;
    const now = this.deps.clock.now();
    const filledQty = qtyToLots(i, j.cumExecQty || '0');
    const tif = j.timeInForce === 'IOC' ? 'IOC' : j.timeInForce === 'FOK' ? 'FOK' : j.timeInForce === 'PostOnly' ? 'POST_ONLY' : 'GTC';
    return {
      exchange: this.exchange, symbol: i.symbol, side: j.side === 'Sell' ? 'sell' : 'buy', type: j.orderType === 'Market' ? 'market' : 'limit',
      price: j.price && Number(j.price) > 0 ? priceToTicks(i, j.price) : undefined, qty: qtyToLots(i, j.qty), tif, source: 'venue',
      clientOrderId: j.orderLinkId || j.orderId, venueOrderId: j.orderId, status: this.statusOf(j.orderStatus, filledQty), filledQty,
      filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: Number(j.createdTime) || now, updatedTs: now,
    };
  }
}
