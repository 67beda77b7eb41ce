/**
 * Bybit v5 execution through ccxt's signed endpoints (ccxt signs: X-BAPI-API-KEY, -TIMESTAMP,
 * -RECV-WINDOW, -SIGN over timestamp + key + recv window + body or query). Orders carry our
 * client id as `orderLinkId`; prices and quantities are formatted from our integer ticks and
 * lots with the instrument's precision, so ccxt's market loading is not needed. Fills are
 * learned by polling (order/realtime, then execution/list for the trades with their real fee
 * and maker flag); the private WebSocket is not used yet. The shared order bookkeeping (rate
 * limit, reports, each trade once, unknown submits, refused cancels, reconciliation) lives in
 * the adapter kit (PolledExecutionClient); this file is the Bybit half.
 */
import { lotsToQty, parseDecimal, ticksToPrice, type Clock, type Instrument, type Logger, type Order, type TimeInForce, type VenueBalance } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { LogThrottle } from '@cwts/core/observability';
import { PolledExecutionClient, RateLimiter, TimerSet, venueTable, type OrderRef, type PolledOrderDriver, type VenueFill, type VenueOrderView, type VenuePositionView } from '@cwts/core/adapter-kit';
import { bybitErrorMap, mapBybitError } from './errors.js';
import type { BybitEndpoints } from './market-data.js';
import type { BybitOptions } from './options.js';

/** Bybit v5 answers: `{"retCode":0,"retMsg":"OK","result":{...}}` (ccxt throws on retCode != 0). */
interface V5<T> {
  retCode: number;
  retMsg?: string;
  result: T;
}
/** A page of a v5 list endpoint; an empty `nextPageCursor` is the last page. */
interface V5Page<T> {
  list?: T[];
  nextPageCursor?: string;
}
/** order/realtime and order/history list entry (the fields we use). */
export interface BybitOrderJson {
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
  /** "EC_NoError" unless the venue rejected or cancelled it for a reason (e.g. EC_PostOnlyWillTakeLiquidity). */
  rejectReason?: string;
}
/** execution/list entry. */
export interface BybitExecJson {
  symbol: string;
  orderId: string;
  execId: string;
  execPrice: string;
  execQty: string;
  execFee: string;
  /** Spot only: the asset the fee was charged in; linear fees are in the settle coin (the quote). */
  feeCurrency?: string;
  /** Trade, or Funding / AdlTrade / BustTrade / Settle (not fills of our orders). */
  execType?: string;
  execTime: string;
  side?: 'Buy' | 'Sell';
  isMaker?: boolean;
}
interface BybitCoinJson {
  coin: string;
  /** The coin's whole balance, locked (in orders) included. */
  walletBalance: string;
}
interface BybitPositionJson {
  symbol: string;
  /** "Buy" long, "Sell" short, "" flat. */
  side: string;
  /** Absolute base quantity. */
  size: string;
}

type Params = Record<string, unknown>;

/** The part of a ccxt exchange we use: its implicit, signed v5 endpoints (ccxt is loaded lazily: it is large). */
interface CcxtBybit {
  urls: { api: Record<string, unknown> };
  privatePostV5OrderCreate(params: Params): Promise<V5<{ orderId: string; orderLinkId: string }>>;
  privatePostV5OrderCancel(params: Params): Promise<V5<{ orderId: string; orderLinkId: string }>>;
  privateGetV5OrderRealtime(params: Params): Promise<V5<V5Page<BybitOrderJson>>>;
  privateGetV5OrderHistory(params: Params): Promise<V5<V5Page<BybitOrderJson>>>;
  privateGetV5ExecutionList(params: Params): Promise<V5<V5Page<BybitExecJson>>>;
  privateGetV5AccountWalletBalance(params: Params): Promise<V5<{ list?: { accountType?: string; coin?: BybitCoinJson[] }[] }>>;
  privateGetV5PositionList(params: Params): Promise<V5<V5Page<BybitPositionJson>>>;
}

export interface BybitDriverDeps {
  exchange: string;
  endpoints: BybitEndpoints;
  options: BybitOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  /** Instruments the market-data half loaded (shared). */
  instrument(symbol: string): Instrument | undefined;
  /** Symbols with loaded instruments (open orders are listed per symbol: linear requires one). */
  symbols(): string[];
}

/** v5 orderStatus -> the kit's order state. */
const STATE = venueTable<VenueOrderView['state']>({
  Created: 'pending', New: 'open', PartiallyFilled: 'open', Untriggered: 'open', Triggered: 'open', Active: 'open',
  Filled: 'filled', Cancelled: 'cancelled', PartiallyFilledCanceled: 'cancelled', Rejected: 'rejected', Deactivated: 'expired',
});
const TIF_OUT: Record<TimeInForce, string> = { GTC: 'GTC', IOC: 'IOC', FOK: 'FOK', POST_ONLY: 'PostOnly' };
const TIF_IN = venueTable<TimeInForce>({ GTC: 'GTC', IOC: 'IOC', FOK: 'FOK', PostOnly: 'POST_ONLY' });

/** execution/list accepts at most 7 days between startTime and endTime. */
const EXEC_WINDOW_MS = 7 * 24 * 3600 * 1000;
/** Bybit keeps executions for two years: an older `since` starts there. */
const EXEC_RETENTION_MS = 730 * 24 * 3600 * 1000;
/**
 * How far before our own stamp of an order's creation its order/history window starts: the
 * venue stamps it on its clock, which may be behind ours.
 */
const HISTORY_CLOCK_SKEW_MS = 60_000;
/** How long a 10006 answer to a read holds every read back (Bybit's limits are per second). */
const READ_RATE_LIMIT_PAUSE_MS = 1000;
/** A cursor that never ends (a misbehaving venue) must not page forever. */
const MAX_PAGES = 200;

const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;
const isPlainDecimal = (x: unknown): x is string => typeof x === 'string' && PLAIN_DECIMAL.test(x);

/** a <=> b of two plain decimal strings, exactly. */
function compareDecimals(a: string, b: string): number {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const e = Math.max(x.exponent, y.exponent);
  const d = x.mantissa * 10n ** BigInt(e - x.exponent) - y.mantissa * 10n ** BigInt(e - y.exponent);
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

/**
 * Is `j` about the order `ref` asks for: its orderId where we know one, its orderLinkId (ours is
 * always sent) where we asked by it, and any orderLinkId it echoes ours, on the symbol asked. An
 * order the kit follows under its venue id (one with no client id of ours: clientOrderId is the
 * venue id, or empty for a trade's order) is judged by its orderId alone.
 */
function isAnswerFor(j: BybitOrderJson, ref: OrderRef): boolean {
  if (j.symbol !== ref.symbol) return false;
  if (ref.venueOrderId) {
    if (j.orderId !== ref.venueOrderId) return false;
    return !j.orderLinkId || !ref.clientOrderId || ref.clientOrderId === ref.venueOrderId || j.orderLinkId === ref.clientOrderId;
  }
  return j.orderLinkId === ref.clientOrderId;
}

export class BybitOrderDriver implements PolledOrderDriver {
  private ccxt: CcxtBybit | undefined;
  private readonly errors;
  /** Paces every read, single-order reads included (see `query_requests_per_second`); orders have the kit's own limiter. */
  private readonly queries: RateLimiter;
  /** The pacing's timers: closed by close() (a stop), reopened by connect() (a start after it). */
  private readonly queryTimers = new TimerSet();
  /** Linear only: spot has no positions, and without this the kit reads base-coin balances instead. */
  readonly fetchPositions?: (symbols: readonly string[]) => Promise<VenuePositionView[]>;
  /** Venue order reads refused (another order's answer, no side): shown as the `order_read` input rejection. */
  refusedOrderReads = 0;
  private readonly refusedLog: LogThrottle;

  constructor(private readonly deps: BybitDriverDeps) {
    this.errors = bybitErrorMap(deps.exchange);
    this.refusedLog = new LogThrottle(() => deps.clock.now());
    this.queries = new RateLimiter([{ name: 'query', limit: deps.options.query_requests_per_second, intervalMs: 1000 }], () => deps.clock.now(), this.queryTimers);
    if (deps.endpoints.category === 'linear') this.fetchPositions = (symbols) => this.linearPositions(symbols);
  }

  get hasCredentials(): boolean {
    const k = this.deps.apiKey;
    const s = this.deps.apiSecret;
    return !!k && !k.isEmpty && !!s && !s.isEmpty;
  }

  private get category(): string {
    return this.deps.endpoints.category;
  }

  private get ex(): CcxtBybit {
    if (!this.ccxt) throw new Error(`${this.deps.exchange}: execution not started`);
    return this.ccxt;
  }

  async connect(): Promise<void> {
    // first, before anything that can fail: the kit follows orders after a failed connect too
    this.queryTimers.reopen();
    const mod = (await import('ccxt')) as unknown as { default?: { bybit: new (c: object) => CcxtBybit }; bybit?: new (c: object) => CcxtBybit };
    const Ctor = mod.bybit ?? mod.default!.bybit;
    const ex = new Ctor({
      apiKey: this.deps.apiKey!.reveal(),
      secret: this.deps.apiSecret!.reveal(),
      enableRateLimit: false, // the kit's order limiter decides; ccxt's would double-throttle
      timeout: this.deps.options.rest_timeout_ms,
      options: { recvWindow: this.deps.options.recv_window_ms, adjustForTimeDifference: false },
    });
    // every endpoint is re-rooted at the configured REST URL (the testnet or a test server):
    // nothing can reach a host other than the configured one
    for (const k of Object.keys(ex.urls.api)) if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = this.deps.endpoints.restRoot;
    this.ccxt = ex;
    // one signed request now: a refused key shows up at start instead of at the first order, and
    // ccxt's one-time setup of its HTTP path is not paid by (and does not bunch up) the first orders
    const probe = this.deps.symbols()[0];
    if (probe !== undefined) await ex.privateGetV5OrderRealtime({ category: this.category, symbol: probe, limit: 1 });
  }

  close(): void {
    this.ccxt = undefined;
    this.queries.close();
  }

  mapError(err: unknown) {
    return mapBybitError(this.errors, err);
  }

  async place(o: Readonly<Order>, i: Instrument): Promise<string> {
    const params: Params = {
      category: this.category, symbol: o.symbol, side: o.side === 'buy' ? 'Buy' : 'Sell', orderType: o.type === 'market' ? 'Market' : 'Limit',
      qty: lotsToQty(i, o.qty), orderLinkId: o.clientOrderId,
    };
    // Linear only: Bybit spot has no such flag (docs v5/order/create-order), and spot exits rely on
    // core's reduce_only check (docs/risk.md). Unflagged, an exit checked against a position a
    // poll behind (after an ADL, a liquidation, a manual trade) could open or flip one, and in a
    // reduce-only window (110023, 110042, 110137) the venue refuses the exit itself.
    if (o.reduceOnly === true && this.category === 'linear') params.reduceOnly = true;
    if (o.type === 'limit') {
      params.price = ticksToPrice(i, o.price!);
      params.timeInForce = TIF_OUT[o.tif];
    } else if (this.category === 'spot') {
      // a spot market buy's qty is in the quote coin unless told otherwise; ours is in base lots
      params.marketUnit = 'baseCoin';
    }
    const res = await this.ex.privatePostV5OrderCreate(params);
    // an id that is no string ([] or {} from a garbled answer) would ack the order as "" or
    // "[object Object]", and every later read of it would ask for that
    const id: unknown = res.result?.orderId;
    if (typeof id !== 'string' || id === '') throw new Error(`${this.deps.exchange}: order/create answered without an orderId`);
    return id;
  }

  async cancel(o: Readonly<Order>): Promise<void> {
    await this.ex.privatePostV5OrderCancel({ category: this.category, symbol: o.symbol, ...(o.venueOrderId ? { orderId: o.venueOrderId } : { orderLinkId: o.clientOrderId }) });
  }

  /**
   * One read, paced at query_requests_per_second. A 10006 answer to it (the venue's limit for
   * that endpoint) holds every read back for a second; orders have their own budget at Bybit.
   */
  private async read<T>(call: () => Promise<T>): Promise<T> {
    await this.queries.acquire({ query: 1 }, 10 * 60_000);
    try {
      return await call();
    } catch (err) {
      if (this.mapError(err).reason === 'RATE_LIMITED') this.queries.blockUntil(this.deps.clock.now() + READ_RATE_LIMIT_PAUSE_MS);
      throw err;
    }
  }

  /** Every page of a v5 list endpoint, following `nextPageCursor`. */
  private async pages<T>(call: (p: Params) => Promise<V5<V5Page<T>>>, params: Params): Promise<T[]> {
    const out: T[] = [];
    let cursor = '';
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.read(() => call(cursor ? { ...params, cursor } : params));
      const list = this.v5List(res);
      out.push(...list);
      const next = res.result?.nextPageCursor ?? '';
      if (!next || next === cursor || list.length === 0) return out;
      cursor = next;
    }
    throw new Error(`${this.deps.exchange}: a v5 list did not end after ${MAX_PAGES} pages`);
  }

  /**
   * The entries of a v5 list answer. ccxt hands over a body it cannot parse as JSON as the raw
   * text, and one without `result.list` as it is: read as an empty list, such an answer made an
   * order we placed "unknown to the venue" (an unknown submit rejected while it worked, a
   * journaled order closed at a restart), and a reconciliation's trades or working orders none.
   * Anything but a list of objects is a failed read.
   */
  private v5List<T>(res: V5<V5Page<T>>): T[] {
    const list: unknown = (res as V5<V5Page<T>> | null | undefined)?.result?.list;
    if (!Array.isArray(list) || !list.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
      const shown = typeof res === 'string' ? JSON.stringify((res as string).slice(0, 120)) : Array.isArray(list) ? 'a list holding what is no object' : `result.list ${list === null ? 'null' : typeof list}`;
      throw new Error(`${this.deps.exchange}: a v5 list read answered without a list: ${shown}`);
    }
    return list as T[];
  }

  /**
   * An order of one of our symbols as the kit's view; undefined for another symbol, or (counted as
   * a refused order read) one without an id or a side: a side it did not give is no buy, and an
   * adopted order's fills booked as buys could be a sell's.
   */
  private view(j: BybitOrderJson): VenueOrderView | undefined {
    const i = this.deps.instrument(String(j.symbol));
    if (!i) return undefined;
    if (typeof j.orderId !== 'string' || j.orderId === '' || (j.side !== 'Buy' && j.side !== 'Sell') || (j.orderLinkId !== undefined && typeof j.orderLinkId !== 'string')) {
      this.refuseOrderRead(`order ${JSON.stringify(j.orderId)?.slice(0, 40)} answered with side ${JSON.stringify(j.side)?.slice(0, 20)}, orderLinkId ${JSON.stringify(j.orderLinkId)?.slice(0, 40)}`);
      return undefined;
    }
    // a listed order is taken by its quantities as they stand (openOrders): one of no size, or
    // filled past its size, is no order the engine can hold
    const cum = j.cumExecQty || '0';
    if (!isPlainDecimal(j.qty) || !isPlainDecimal(cum) || compareDecimals(j.qty, '0') <= 0 || compareDecimals(cum, j.qty) > 0) {
      this.refuseOrderRead(`order ${j.orderId.slice(0, 40)} answered with qty ${JSON.stringify(j.qty)?.slice(0, 30)}, filled ${JSON.stringify(cum)?.slice(0, 30)}`);
      return undefined;
    }
    const v: VenueOrderView = {
      venueOrderId: j.orderId, symbol: i.symbol, side: j.side === 'Sell' ? 'sell' : 'buy', type: j.orderType === 'Market' ? 'market' : 'limit',
      qty: j.qty, filledQty: cum, state: STATE[j.orderStatus] ?? 'open', tif: TIF_IN[j.timeInForce ?? ''] ?? 'GTC',
    };
    if (j.orderLinkId) v.clientOrderId = j.orderLinkId;
    if (j.orderType !== 'Market' && j.price) v.price = j.price;
    const created = Number(j.createdTime);
    if (created > 0) v.createdTs = created;
    if (j.rejectReason && j.rejectReason !== 'EC_NoError') v.text = `${this.deps.exchange}: ${j.rejectReason}`;
    return v;
  }

  /**
   * order/realtime first (working orders and the recent closed ones); a closed order it no longer
   * lists (after a venue restart, or past its last 500) is asked from order/history. Without a
   * range order/history answers the past 7 days only, and a range spans 7 days at most (docs
   * v5/order/order-list, startTime/endTime): an older order (a GTC order resting for weeks, then
   * filled while we were down) is searched in 7-day windows from its creation (`ref.createdTs`,
   * at most Bybit's 2-year retention back), the first of which holds it. Without a createdTs only
   * the past 7 days are searched. Every read is paced like the list reads: every poll of a
   * working order, every unknown submit and every order of a reconciliation makes them.
   */
  async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    const by = ref.venueOrderId ? { orderId: ref.venueOrderId } : { orderLinkId: ref.clientOrderId };
    const q = { category: this.category, symbol: ref.symbol, ...by };
    let foreign: BybitOrderJson | undefined;
    // The answer's entry about the order asked for: applied, another order's (a venue that
    // ignores the filter, a stale cache, a reused orderLinkId) acks ours under its id and books
    // its trades as our fills
    const ours = (res: V5<V5Page<BybitOrderJson>>): BybitOrderJson | undefined => {
      for (const j of this.v5List(res)) {
        if (isAnswerFor(j, ref)) return j;
        foreign ??= j;
      }
      return undefined;
    };
    const found = async (): Promise<BybitOrderJson | undefined> => {
      const live = ours(await this.read(() => this.ex.privateGetV5OrderRealtime(q)));
      if (live) return live;
      const recent = ours(await this.read(() => this.ex.privateGetV5OrderHistory(q)));
      if (recent) return recent;
      const now = this.deps.clock.now();
      const created = ref.createdTs;
      if (created === undefined || !(created > 0)) return undefined;
      // the past 7 days were just asked (without a range)
      for (let start = Math.max(created - HISTORY_CLOCK_SKEW_MS, now - EXEC_RETENTION_MS); start < now - EXEC_WINDOW_MS; start += EXEC_WINDOW_MS) {
        const j = ours(await this.read(() => this.ex.privateGetV5OrderHistory({ ...q, startTime: start, endTime: start + EXEC_WINDOW_MS - 1 })));
        if (j) return j;
      }
      return undefined;
    };
    const j = await found();
    if (foreign !== undefined) {
      this.refuseOrderRead(`asked for ${ref.venueOrderId ?? ref.clientOrderId} (${ref.symbol}), answered about order ${String(foreign.orderId).slice(0, 40)} (${String(foreign.orderLinkId).slice(0, 40)}, ${String(foreign.symbol).slice(0, 20)})`);
      // "not known" would let the kit declare an unknown submit never received while the venue,
      // whose answer was about something else, may hold it: the read fails and is made again
      if (j === undefined) throw new Error(`${this.deps.exchange}: the order read answered about another order; not applied`);
    }
    if (j === undefined) return undefined;
    const v = this.view(j);
    // ours but unreadable: not "unknown to the venue" either
    if (v === undefined) throw new Error(`${this.deps.exchange}: order ${ref.venueOrderId ?? ref.clientOrderId} was answered without a side or an id; not applied`);
    return v;
  }

  private refuseOrderRead(why: string): void {
    this.refusedOrderReads++;
    const more = this.refusedLog.take('order_read');
    if (more !== undefined) this.deps.logger?.warn({ exchange: this.deps.exchange }, `${this.deps.exchange}: an order read refused: ${why}`.slice(0, 500) + more);
  }

  private fill(x: BybitExecJson): VenueFill | undefined {
    if (x.execType !== undefined && x.execType !== 'Trade') return undefined;
    const i = this.deps.instrument(String(x.symbol));
    if (!i) return undefined;
    // linear fees are charged in the settle coin, which is the quote of a USDT/USDC contract
    const f: VenueFill = {
      tradeId: x.execId, venueOrderId: x.orderId, symbol: i.symbol, price: x.execPrice, qty: x.execQty, fee: x.execFee, feeAsset: x.feeCurrency || i.quote,
      ts: Number(x.execTime) || this.deps.clock.now(),
    };
    if (typeof x.isMaker === 'boolean') f.liquidity = x.isMaker ? 'maker' : 'taker';
    if (x.side === 'Buy' || x.side === 'Sell') f.side = x.side === 'Buy' ? 'buy' : 'sell';
    return f;
  }

  /**
   * Every trade of one order. execution/list without a time range answers the last 7 days only
   * (docs v5/order/execution, startTime), also asked by orderId: an order older than that (a
   * long-resting order, a journaled one after a restart) is read in 7-day windows from its
   * createdTime, each paged by cursor. The last window gives startTime alone (Bybit then answers
   * startTime + 7 days), so a trade stamped after our clock's now (clock skew) is not cut off.
   * Without a createdTime the read has no range, and only the last 7 days are found. Given an
   * orderId, execution/list may ignore the range (docs v5/order/execution: orderId and
   * orderLinkId take priority over the other parameters), so each window can answer the same
   * trades: each execId is kept once.
   */
  async fetchFills(view: VenueOrderView): Promise<VenueFill[]> {
    const base = { category: this.category, symbol: view.symbol, orderId: view.venueOrderId, limit: 100 };
    const list: BybitExecJson[] = [];
    const read = (p: Params) => this.pages((q) => this.ex.privateGetV5ExecutionList(q), p);
    const now = this.deps.clock.now();
    if (view.createdTs === undefined || !(view.createdTs > 0)) list.push(...(await read(base)));
    else {
      for (let start = Math.max(view.createdTs, now - EXEC_RETENTION_MS); ; start += EXEC_WINDOW_MS) {
        const last = start + EXEC_WINDOW_MS > now;
        list.push(...(await read(last ? { ...base, startTime: start } : { ...base, startTime: start, endTime: start + EXEC_WINDOW_MS - 1 })));
        if (last) break;
      }
    }
    const out: VenueFill[] = [];
    const seen = new Set<string>();
    for (const x of list) {
      const f = x.orderId === view.venueOrderId ? this.fill(x) : undefined;
      if (!f || seen.has(f.tradeId)) continue;
      seen.add(f.tradeId);
      out.push(f);
    }
    return out;
  }

  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderView[]> {
    const out: VenueOrderView[] = [];
    for (const symbol of symbols) {
      // without orderId/orderLinkId, order/realtime lists the working orders only
      for (const j of await this.pages((p) => this.ex.privateGetV5OrderRealtime(p), { category: this.category, symbol, limit: 50 })) {
        const v = this.view(j);
        if (v && v.symbol === symbol) out.push(v);
      }
    }
    return out;
  }

  /**
   * execution/list per symbol, in windows of 7 days (the most it accepts) from sinceTs to now,
   * each paged by cursor; an execId answered twice (a trade on a window's edge, a cursor that
   * pages back) is kept once. The last window gives startTime alone, as fetchFills' does: ended
   * at our clock's now, it cut off a trade just made that the venue's clock, ahead of ours,
   * stamped later.
   */
  async fetchFillsSince(symbols: readonly string[], sinceTs: number): Promise<VenueFill[]> {
    const now = this.deps.clock.now();
    const from = Math.max(sinceTs, now - EXEC_RETENTION_MS);
    const out: VenueFill[] = [];
    const seen = new Set<string>();
    for (const symbol of symbols) {
      for (let start = from; start <= now; start += EXEC_WINDOW_MS) {
        const base = { category: this.category, symbol, startTime: start, limit: 100 };
        const last = start + EXEC_WINDOW_MS > now;
        const list = await this.pages((p) => this.ex.privateGetV5ExecutionList(p), last ? base : { ...base, endTime: start + EXEC_WINDOW_MS - 1 });
        for (const x of list) {
          const f = this.fill(x);
          // the order names the client id the journal keys on: a trade of no order would be
          // booked under none (or under whatever the venue put there)
          if (f && (typeof f.venueOrderId !== 'string' || f.venueOrderId === '')) throw new Error(`${this.deps.exchange} ${symbol}: execution/list holds trade ${String(f.tradeId).slice(0, 40)} without its orderId; not read`);
          if (!f || f.symbol !== symbol || f.ts < sinceTs || seen.has(`${symbol}|${f.tradeId}`)) continue;
          seen.add(`${symbol}|${f.tradeId}`);
          out.push(f);
        }
      }
    }
    return out;
  }

  /** The unified account's coins (walletBalance includes what open orders lock). */
  async fetchBalances(): Promise<VenueBalance[]> {
    const res = await this.ex.privateGetV5AccountWalletBalance({ accountType: 'UNIFIED' });
    const out: VenueBalance[] = [];
    for (const a of res.result?.list ?? []) for (const c of a.coin ?? []) if (c.coin && c.walletBalance !== undefined && c.walletBalance !== '') out.push({ asset: c.coin, total: String(c.walletBalance) });
    return out;
  }

  /** position/list per symbol, a short as a negative size (hedge mode's two legs are netted by the kit). */
  private async linearPositions(symbols: readonly string[]): Promise<VenuePositionView[]> {
    const out: VenuePositionView[] = [];
    for (const symbol of symbols) {
      for (const p of await this.pages((q) => this.ex.privateGetV5PositionList(q), { category: this.category, symbol, limit: 200 })) {
        if (p.symbol !== symbol || !p.size || p.side === '' || p.side === 'None') continue;
        out.push({ symbol, qty: p.side === 'Sell' ? `-${p.size}` : p.size });
      }
    }
    return out;
  }
}

export type BybitExecutionDeps = BybitDriverDeps;

/** The Bybit ExecutionClient: the adapter kit's PolledExecutionClient driven by a BybitOrderDriver. */
export class BybitExecution extends PolledExecutionClient {
  private readonly driver: BybitOrderDriver;

  constructor(deps: BybitExecutionDeps) {
    const driver = new BybitOrderDriver(deps);
    super({
      exchange: deps.exchange, clock: deps.clock, logger: deps.logger, hasCredentials: driver.hasCredentials, driver,
      // the configured window is enforced exactly, on the injected clock; headroom for transit
      // jitter (Bybit counts at arrival) comes from the configured limit sitting below the venue's,
      // and a venue 10006 answered to a create or cancel still pauses the limiter for a second
      // (one answered to a read pauses the reads: Bybit limits each endpoint per UID)
      orderLimit: { limit: deps.options.orders_per_interval, intervalMs: deps.options.order_limit_interval_ms }, rateLimitPauseMs: 1000,
      pollIntervalMs: deps.options.poll_interval_ms,
      // past the request's recv window Bybit can no longer accept an order whose answer we lost
      unknownOrderGraceMs: deps.options.recv_window_ms + 1000,
      instrument: deps.instrument, symbols: deps.symbols,
    });
    this.driver = driver;
  }

  /** The kit's refusals, with the order reads the driver refused counted in `order_read` (one series per reason). */
  override *inputRejections(): Generator<readonly [string, number]> {
    let orderReads = this.driver.refusedOrderReads;
    for (const [reason, n] of super.inputRejections()) {
      if (reason === 'order_read') orderReads += n;
      else yield [reason, n] as const;
    }
    if (orderReads > 0) yield ['order_read', orderReads] as const;
  }
}
