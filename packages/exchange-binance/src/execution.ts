import {
  RateLimiter,
  TimerSet,
  lotsToQty,
  qtyToLots,
  priceToTicks,
  ticksToPrice,
  decimalToUnits,
  redactCredentials,
  type Clock,
  type ExecutionClient,
  type ExecutionReport,
  type Instrument,
  type Logger,
  type Order,
  type Secret,
  type TradingAvailability,
  type VenueErrorMap,
} from '@cwts/core';
import { binanceErrorMap, mapBinanceError } from './errors.js';
import type { BinanceEndpoints } from './market-data.js';
import type { BinanceOptions } from './options.js';

/** The part of a ccxt exchange we use (ccxt is loaded lazily: it is large). */
interface CcxtBinance {
  urls: { api: Record<string, string> };
  options: Record<string, unknown>;
  markets_by_id?: Record<string, { symbol: string }[]>;
  setSandboxMode(on: boolean): void;
  loadMarkets(): Promise<unknown>;
  createOrder(symbol: string, type: string, side: string, amount: string, price?: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  cancelOrder(id: string | undefined, symbol: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  fetchOrder(id: string, symbol: string, params?: Record<string, unknown>): Promise<CcxtOrder>;
  fetchOpenOrders(symbol?: string): Promise<CcxtOrder[]>;
}
interface CcxtOrder {
  id?: string;
  clientOrderId?: string;
  status?: string;
  info: Record<string, unknown>;
}

export interface BinanceExecutionDeps {
  exchange: string;
  endpoints: BinanceEndpoints;
  options: BinanceOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  testnet: boolean;
  /** Instruments the market-data half loaded (shared). */
  instrument: (symbol: string) => Instrument | undefined;
  /** Shared per-IP weight limiter; the order bucket is ours. */
  limiter: RateLimiter;
}

interface Tracked {
  order: Order;
  ccxtSymbol: string;
  cumLots: number;
  cumQuote: string;
}

/**
 * Live execution through ccxt (signing, precision, error mapping), with every request's
 * path measured. Fills are learned by polling open orders (the user data stream is not
 * implemented yet). Credentials stay inside ccxt; nothing here logs or returns them.
 */
export class BinanceExecution implements ExecutionClient {
  readonly exchange: string;
  readonly simulated = false;
  private ccxt: CcxtBinance | undefined;
  private onReport: ((r: ExecutionReport) => void) | undefined;
  private readonly timers = new TimerSet();
  private readonly errors: VenueErrorMap;
  private readonly orderLimiter: RateLimiter;
  private readonly tracked = new Map<string, Tracked>();
  private poll: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Request path latencies in ns (submit -> venue answer), most recent last; capped. */
  readonly requestNs: number[] = [];

  constructor(private readonly deps: BinanceExecutionDeps) {
    this.exchange = deps.exchange;
    this.errors = binanceErrorMap(deps.exchange);
    this.orderLimiter = new RateLimiter([{ name: 'orders', limit: deps.options.orders_per_10s, intervalMs: deps.options.order_limit_interval_ms }], () => deps.clock.now(), this.timers);
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
    const mod = (await import('ccxt')) as unknown as { default?: { binance: new (c: object) => CcxtBinance }; binance?: new (c: object) => CcxtBinance };
    const Ctor = mod.binance ?? mod.default!.binance;
    const ex = new Ctor({
      apiKey: this.deps.apiKey!.reveal(),
      secret: this.deps.apiSecret!.reveal(),
      enableRateLimit: false, // our limiter decides; ccxt's would double-throttle
      timeout: this.deps.options.rest_timeout_ms,
      options: { fetchMarkets: { types: ['spot'] }, fetchMargins: false, fetchCurrencies: false, defaultType: 'spot', fetchOpenOrders: { warnWithoutSymbol: false }, recvWindow: this.deps.options.recv_window_ms, adjustForTimeDifference: false },
    });
    if (this.deps.testnet) ex.setSandboxMode(true);
    // rest_url (or the testnet default) replaces ccxt's endpoints: a test server works the same way
    // Every ccxt endpoint is re-rooted, so nothing can reach a host other than the configured one.
    const root = this.deps.endpoints.restRoot;
    for (const [k, u] of Object.entries(ex.urls.api)) {
      if (typeof u === 'string') ex.urls.api[k] = root + new URL(u).pathname;
    }
    this.ccxt = ex;
    await this.deps.limiter.acquire({ ip: 20 });
    await ex.loadMarkets();
    this.poll = this.timers.interval(() => void this.pollOpen(), this.deps.options.poll_interval_ms);
  }

  submit(order: Readonly<Order>): void {
    void this.place({ ...order });
  }

  cancel(order: Readonly<Order>): void {
    void this.cancelOne({ ...order });
  }

  async openOrders(): Promise<Order[]> {
    if (!this.ccxt) return [];
    // weight 80 without a symbol (rest-api.md "Current open orders")
    await this.deps.limiter.acquire({ ip: 80 });
    const list = await this.ccxt.fetchOpenOrders();
    const out: Order[] = [];
    for (const o of list) {
      const info = o.info as Record<string, string>;
      const i = this.deps.instrument(String(info.symbol));
      if (!i) continue;
      const now = this.deps.clock.now();
      out.push({
        exchange: this.exchange, symbol: i.symbol, side: info.side === 'SELL' ? 'sell' : 'buy', type: info.type === 'MARKET' ? 'market' : 'limit',
        price: info.price ? priceToTicks(i, info.price) : undefined, qty: qtyToLots(i, info.origQty!), tif: 'GTC', source: 'venue',
        clientOrderId: String(info.clientOrderId), venueOrderId: String(info.orderId), status: 'open', filledQty: qtyToLots(i, info.executedQty ?? '0'),
        filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now,
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.close();
    this.poll = undefined;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  /** Median request path (submit -> answer) in ns over the recorded requests. */
  medianRequestNs(): number | undefined {
    if (this.requestNs.length === 0) return undefined;
    const s = [...this.requestNs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  }

  private ccxtSymbol(symbol: string): string {
    const m = this.ccxt?.markets_by_id?.[symbol]?.[0];
    if (!m) throw new Error(`${symbol} is not a market of ${this.exchange}`);
    return m.symbol;
  }

  private report(o: Order, r: Partial<ExecutionReport> & Pick<ExecutionReport, 'kind'>): void {
    if (this.stopped && r.kind !== 'cancelled') return;
    this.onReport?.({
      exchange: this.exchange, symbol: o.symbol, clientOrderId: o.clientOrderId, side: o.side, lastPrice: 0, lastQty: 0,
      leavesQty: o.qty - o.filledQty, cumQty: o.filledQty, feeAtoms: 0n, ts: this.deps.clock.now(), ...r,
    });
  }

  private reject(o: Order, err: unknown): void {
    const m = mapBinanceError(this.errors, err);
    if (m.reason === 'RATE_LIMITED') {
      this.deps.limiter.blockUntil(this.deps.clock.now() + 1000);
      this.orderLimiter.blockUntil(this.deps.clock.now() + 1000);
    }
    this.deps.logger?.warn({ exchange: this.exchange, clientOrderId: o.clientOrderId, reason: m.reason }, redactCredentials(m.text));
    this.report(o, { kind: 'rejected', rejectReason: m.reason, text: m.text, leavesQty: 0 });
  }

  private async place(o: Order): Promise<void> {
    const i = this.deps.instrument(o.symbol);
    if (!this.ccxt || !i) {
      this.report(o, { kind: 'rejected', rejectReason: this.ccxt ? 'INVALID_ORDER' : 'NO_CREDENTIALS', text: this.ccxt ? `unknown instrument ${o.symbol}` : 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.orderLimiter.acquire({ orders: 1 });
      await this.deps.limiter.acquire({ ip: 1 });
    } catch (err) {
      this.report(o, { kind: 'rejected', rejectReason: 'RATE_LIMITED', text: `${this.exchange}: ${(err as Error).message}`, leavesQty: 0 });
      return;
    }
    const t0 = process.hrtime.bigint();
    try {
      const sym = this.ccxtSymbol(o.symbol);
      const params: Record<string, unknown> = { newClientOrderId: o.clientOrderId, newOrderRespType: 'FULL' };
      if (o.type === 'limit') params.timeInForce = o.tif === 'POST_ONLY' ? undefined : o.tif;
      const type = o.type === 'limit' && o.tif === 'POST_ONLY' ? 'LIMIT_MAKER' : o.type;
      if (type === 'LIMIT_MAKER') delete params.timeInForce;
      const res = await this.ccxt.createOrder(sym, type, o.side, lotsToQty(i, o.qty), o.type === 'limit' ? ticksToPrice(i, o.price!) : undefined, params);
      this.recordLatency(t0);
      const info = res.info as Record<string, unknown>;
      o.venueOrderId = String(info.orderId ?? res.id);
      const tr: Tracked = { order: o, ccxtSymbol: sym, cumLots: 0, cumQuote: '0' };
      this.report(o, { kind: 'ack', venueOrderId: o.venueOrderId, leavesQty: o.qty });
      this.applyState(tr, i, info);
      if (tr.order.filledQty < o.qty && !['CANCELED', 'EXPIRED', 'REJECTED', 'FILLED', 'EXPIRED_IN_MATCH'].includes(String(info.status))) this.tracked.set(o.clientOrderId, tr);
    } catch (err) {
      this.recordLatency(t0);
      this.reject(o, err);
    }
  }

  private async cancelOne(o: Order): Promise<void> {
    if (!this.ccxt) {
      this.report(o, { kind: 'rejected', rejectReason: 'NO_CREDENTIALS', text: 'execution not started', leavesQty: 0 });
      return;
    }
    try {
      await this.deps.limiter.acquire({ ip: 1 });
      const res = await this.ccxt.cancelOrder(o.venueOrderId, this.ccxtSymbol(o.symbol), o.venueOrderId ? {} : { origClientOrderId: o.clientOrderId });
      const info = res.info as Record<string, unknown>;
      this.tracked.delete(o.clientOrderId);
      const i = this.deps.instrument(o.symbol)!;
      const filled = typeof info.executedQty === 'string' ? qtyToLots(i, info.executedQty) : o.filledQty;
      this.report(o, { kind: 'cancelled', venueOrderId: o.venueOrderId, leavesQty: 0, cumQty: filled });
    } catch (err) {
      this.reject(o, err);
    }
  }

  private recordLatency(t0: bigint): void {
    this.requestNs.push(Number(process.hrtime.bigint() - t0));
    if (this.requestNs.length > 4096) this.requestNs.splice(0, 2048);
  }

  /** Turns a Binance order object (executedQty, cummulativeQuoteQty, status) into fill reports. */
  private applyState(tr: Tracked, i: Instrument, info: Record<string, unknown>): void {
    const o = tr.order;
    const exec = typeof info.executedQty === 'string' ? qtyToLots(i, info.executedQty) : tr.cumLots;
    const quote = typeof info.cummulativeQuoteQty === 'string' ? info.cummulativeQuoteQty : tr.cumQuote;
    if (exec > tr.cumLots) {
      const dLots = exec - tr.cumLots;
      // fill price = quote delta / quantity delta, in exact integer arithmetic (rounded to a
      // tick when several fills at different prices average off the grid)
      let price = o.price ?? 0;
      try {
        const e = i.priceScale.exponent + i.qtyScale.exponent;
        const atoms = (q: string) => BigInt(decimalToUnits(q, { mantissa: 1n, exponent: e }));
        const dq = atoms(quote) - atoms(tr.cumQuote);
        const den = BigInt(dLots) * i.priceScale.mantissa * i.qtyScale.mantissa;
        const ticks = Number((dq * 2n + den) / (2n * den));
        if (ticks > 0) price = ticks;
      } catch {
        /* keep the limit price */
      }
      tr.cumLots = exec;
      tr.cumQuote = quote;
      o.filledQty = exec;
      this.report(o, { kind: 'fill', lastPrice: price, lastQty: dLots, cumQty: exec, leavesQty: o.qty - exec, venueOrderId: o.venueOrderId, liquidity: 'taker' });
    }
    const st = String(info.status);
    if (st === 'CANCELED' || st === 'EXPIRED' || st === 'EXPIRED_IN_MATCH') {
      this.tracked.delete(o.clientOrderId);
      this.report(o, { kind: st === 'CANCELED' ? 'cancelled' : 'expired', leavesQty: 0, cumQty: exec, venueOrderId: o.venueOrderId });
    } else if (st === 'FILLED') this.tracked.delete(o.clientOrderId);
  }

  private polling = false;
  private async pollOpen(): Promise<void> {
    if (this.polling || !this.ccxt || this.tracked.size === 0) return;
    this.polling = true;
    try {
      for (const tr of [...this.tracked.values()]) {
        if (this.stopped) return;
        const i = this.deps.instrument(tr.order.symbol);
        if (!i) continue;
        try {
          await this.deps.limiter.acquire({ ip: 4 });
          const res = await this.ccxt.fetchOrder(tr.order.venueOrderId!, tr.ccxtSymbol);
          this.applyState(tr, i, res.info);
        } catch (err) {
          this.deps.logger?.debug({ exchange: this.exchange }, redactCredentials(`order poll failed: ${(err as Error).message}`));
        }
      }
    } finally {
      this.polling = false;
    }
  }
}
