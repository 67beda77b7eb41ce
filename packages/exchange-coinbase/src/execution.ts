/**
 * Coinbase Advanced Trade execution through ccxt's signed v3 endpoints. ccxt signs each request
 * with a fresh ES256 JWT from the CDP key (`kid` = key name, `uri` = "METHOD host/path"), exactly
 * as the Advanced Trade docs describe; the key never leaves ccxt. Fills are learned by polling
 * (the order, then its fills with commission and liquidity indicator), sped up by the `user`
 * WebSocket channel (user-stream.ts) when it runs. The shared order bookkeeping lives in the adapter kit.
 */
import { lotsToQty, ticksToPrice, type Clock, type Instrument, type Logger, type Order, type TimeInForce, type VenueBalance } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { RateLimiter, TimerSet, addDecimalStrings, isoTimeMs, venueTable, type OrderRef, type PolledOrderDriver, type VenueFill, type VenueOrderView } from '@cwts/core/adapter-kit';
import { coinbaseErrorMap, mapCoinbaseError } from './errors.js';
import { coinbasePrivateKey, coinbaseSec1Pem } from './jwt.js';
import type { CoinbaseOptions } from './options.js';

/** Pages of 250 read of one list (fills, open orders, accounts) before it counts as not ending. */
const MAX_LIST_PAGES = 100;
/**
 * A client-id search starts this long before the order's creation time (our clock): the venue
 * stamps created_time by its own clock, and ours may run ahead of it.
 */
const SEARCH_CLOCK_MARGIN_MS = 5 * 60_000;
/** Client-id searches cut short by order_search_pages are warned about at most once per this span. */
const CUT_SHORT_WARN_INTERVAL_MS = 60_000;

/** GET /api/v3/brokerage/orders/historical/{order_id} `order` (the fields we use). */
export interface CoinbaseOrderJson {
  order_id: string;
  product_id: string;
  side: 'BUY' | 'SELL';
  client_order_id?: string;
  status: string;
  time_in_force?: string;
  created_time?: string;
  filled_size?: string;
  order_type?: string;
  order_configuration?: Record<string, { base_size?: string; limit_price?: string; post_only?: boolean } | undefined>;
  reject_reason?: string;
  cancel_message?: string;
}
/** GET /api/v3/brokerage/orders/historical/fills entry. */
export interface CoinbaseFillJson {
  entry_id: string;
  trade_id: string;
  order_id: string;
  trade_time: string;
  price: string;
  size: string;
  commission: string;
  product_id: string;
  liquidity_indicator?: 'MAKER' | 'TAKER' | 'UNKNOWN_LIQUIDITY_INDICATOR';
  size_in_quote?: boolean;
  /** The order's side (BUY / SELL). */
  side?: string;
}
interface CoinbaseAccountJson {
  currency: string;
  available_balance?: { value: string };
  hold?: { value: string };
}

/** The part of ccxt's coinbase we use: its implicit v3 endpoints (ccxt is loaded lazily). */
interface CcxtCoinbase {
  urls: { api: Record<string, unknown> };
  v3PrivatePostBrokerageOrders(params: Record<string, unknown>): Promise<{ success: boolean; success_response?: { order_id: string }; order_id?: string }>;
  v3PrivatePostBrokerageOrdersBatchCancel(params: Record<string, unknown>): Promise<{ results?: { success: boolean; failure_reason?: string; order_id: string }[] }>;
  v3PrivateGetBrokerageOrdersHistoricalOrderId(params: Record<string, unknown>): Promise<{ order?: CoinbaseOrderJson }>;
  v3PrivateGetBrokerageOrdersHistoricalBatch(params: Record<string, unknown>): Promise<{ orders?: CoinbaseOrderJson[]; has_next?: boolean; cursor?: string }>;
  v3PrivateGetBrokerageOrdersHistoricalFills(params: Record<string, unknown>): Promise<{ fills?: CoinbaseFillJson[]; cursor?: string }>;
  v3PrivateGetBrokerageAccounts(params: Record<string, unknown>): Promise<{ accounts?: CoinbaseAccountJson[]; has_next?: boolean; cursor?: string }>;
}

export interface CoinbaseDriverDeps {
  exchange: string;
  restRoot: string;
  options: CoinbaseOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  instrument(symbol: string): Instrument | undefined;
}

const TIF = venueTable<TimeInForce>({ IMMEDIATE_OR_CANCEL: 'IOC', FILL_OR_KILL: 'FOK' });

/**
 * The venue's reject reason, or undefined when there is none. Coinbase writes `reject_reason` on
 * every order, with the enum's zero value `REJECT_REASON_UNSPECIFIED` on those never rejected
 * (OPEN, PENDING, FILLED, ...); that value, like an empty string, is no reason at all.
 */
function coinbaseRejectReason(reason: string | undefined): string | undefined {
  return reason && reason !== 'REJECT_REASON_UNSPECIFIED' ? reason : undefined;
}

/**
 * Coinbase order status -> our view; FAILED is a reject, QUEUED/PENDING not yet working unless
 * the venue names a real reject reason (`reject` is already cleaned by coinbaseRejectReason).
 */
function stateOf(status: string, reject: string | undefined): VenueOrderView['state'] {
  switch (status) {
    case 'FILLED':
      return 'filled';
    case 'CANCELLED':
      return 'cancelled';
    case 'EXPIRED':
      return 'expired';
    case 'FAILED':
      return 'rejected';
    case 'PENDING':
    case 'QUEUED':
      return reject ? 'rejected' : 'pending';
    default:
      return 'open'; // OPEN, CANCEL_QUEUED (still working until the venue says otherwise)
  }
}

export class CoinbaseOrderDriver implements PolledOrderDriver {
  private ccxt: CcxtCoinbase | undefined;
  private readonly errors;
  private readonly timers = new TimerSet();
  private readonly limiter: RateLimiter;
  /** Client-id searches that reached order_search_pages with the list still going (findByClientId). */
  private searchesCutShort = 0;
  private cutShortWarnedAt = -Infinity;

  constructor(private readonly deps: CoinbaseDriverDeps) {
    this.errors = coinbaseErrorMap(deps.exchange);
    this.limiter = new RateLimiter([{ name: 'private', limit: deps.options.private_requests_per_second, intervalMs: 1000 }], () => deps.clock.now(), this.timers);
  }

  get hasCredentials(): boolean {
    const k = this.deps.apiKey;
    const s = this.deps.apiSecret;
    return !!k && !k.isEmpty && !!s && !s.isEmpty;
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  async connect(): Promise<void> {
    this.timers.reopen();
    const mod = (await import('ccxt')) as unknown as { default?: { coinbase: new (c: object) => CcxtCoinbase }; coinbase?: new (c: object) => CcxtCoinbase };
    const Ctor = mod.coinbase ?? mod.default!.coinbase;
    const ex = new Ctor({
      apiKey: this.deps.apiKey!.reveal(),
      // any P-256 PEM the startup check accepts (escaped newlines, PKCS#8, SEC1 without its
      // public half), rewritten as the one form ccxt's signer reads
      secret: coinbaseSec1Pem(coinbasePrivateKey(this.deps.apiSecret!.reveal())),
      enableRateLimit: false,
      timeout: this.deps.options.rest_timeout_ms,
      options: { advanced: true },
    });
    // every endpoint is re-rooted at the configured REST URL: nothing reaches another host
    for (const k of Object.keys(ex.urls.api)) if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = this.deps.restRoot;
    this.ccxt = ex;
    // one signed request now: a refused key shows up at start
    await this.call(() => ex.v3PrivateGetBrokerageOrdersHistoricalBatch({ order_status: ['OPEN'], limit: 1 }));
  }

  close(): void {
    this.timers.close();
    this.ccxt = undefined;
  }

  mapError(err: unknown) {
    return mapCoinbaseError(this.errors, err);
  }

  unsupported(o: Readonly<Order>): string | undefined {
    if (o.type === 'market' && o.tif !== 'IOC' && o.tif !== 'GTC') return `market orders are immediate-or-cancel only (got ${o.tif})`;
    return undefined;
  }

  private call<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter.acquire({ private: 1 }).then(fn);
  }

  private get ex(): CcxtCoinbase {
    if (!this.ccxt) throw new Error(`${this.deps.exchange}: execution not started`);
    return this.ccxt;
  }

  async place(o: Readonly<Order>, i: Instrument): Promise<string> {
    const base_size = lotsToQty(i, o.qty);
    let configuration: Record<string, unknown>;
    if (o.type === 'market') configuration = { market_market_ioc: { base_size } };
    else {
      const limit_price = ticksToPrice(i, o.price!);
      if (o.tif === 'IOC') configuration = { sor_limit_ioc: { base_size, limit_price } };
      else if (o.tif === 'FOK') configuration = { limit_limit_fok: { base_size, limit_price } };
      else configuration = { limit_limit_gtc: { base_size, limit_price, post_only: o.tif === 'POST_ONLY' } };
    }
    const res = await this.call(() => this.ex.v3PrivatePostBrokerageOrders({ client_order_id: o.clientOrderId, product_id: o.symbol, side: o.side === 'buy' ? 'BUY' : 'SELL', order_configuration: configuration }));
    const id = res.success_response?.order_id ?? res.order_id;
    // ccxt throws on error_response; a success without an id is still not an ack
    if (!res.success || !id) throw new Error(`coinbase ${JSON.stringify(res)}`);
    return id;
  }

  async cancel(o: Readonly<Order>): Promise<void> {
    let id = o.venueOrderId;
    if (!id) id = (await this.findByClientId(o))?.venueOrderId;
    if (!id) throw new Error('coinbase {"failure_reason":"UNKNOWN_CANCEL_ORDER"}');
    const res = await this.call(() => this.ex.v3PrivatePostBrokerageOrdersBatchCancel({ order_ids: [id] }));
    const r = res.results?.find((x) => x.order_id === id) ?? res.results?.[0];
    // a refused cancel is an HTTP 200 with success: false per order
    if (!r || !r.success) throw new Error(`coinbase ${JSON.stringify(r ?? res)}`);
  }

  private view(j: CoinbaseOrderJson): VenueOrderView | undefined {
    const i = this.deps.instrument(j.product_id);
    if (!i) return undefined;
    const [cfgName, cfg] = Object.entries(j.order_configuration ?? {}).find(([, c]) => c !== undefined) ?? [];
    const rejectReason = coinbaseRejectReason(j.reject_reason);
    const state = stateOf(j.status, rejectReason);
    const v: VenueOrderView = {
      venueOrderId: j.order_id, symbol: j.product_id, side: j.side === 'SELL' ? 'sell' : 'buy', type: cfgName?.startsWith('market') || j.order_type === 'MARKET' ? 'market' : 'limit',
      qty: cfg?.base_size ?? '0', filledQty: j.filled_size || '0', state,
      tif: cfg?.post_only ? 'POST_ONLY' : (TIF[j.time_in_force ?? ''] ?? 'GTC'),
    };
    if (j.client_order_id) v.clientOrderId = j.client_order_id;
    if (cfg?.limit_price) v.price = cfg.limit_price;
    const created = isoTimeMs(j.created_time);
    if (created > 0) v.createdTs = created;
    if (state === 'rejected' && rejectReason) v.text = `${this.deps.exchange}: ${rejectReason}`;
    else if (j.cancel_message) v.text = `${this.deps.exchange}: ${j.cancel_message}`;
    return v;
  }

  /**
   * Our order by client id among the product's orders created from `createdTs` (less
   * SEARCH_CLOCK_MARGIN_MS) on, newest first: no venue filter exists for client_order_id.
   * Undefined only when the list was read to its end without it. A list still going after
   * `order_search_pages` pages throws (not answered; the kit asks again at its poll cadence):
   * taken as absent, an order working behind that many newer ones was reported rejected and
   * left unfollowed, or closed at a restart as never arrived.
   */
  private async findByClientId(ref: Readonly<OrderRef>): Promise<VenueOrderView | undefined> {
    const { symbol, clientOrderId } = ref;
    // an unknown time (0: journaled without one) searches the whole history
    const since = ref.createdTs !== undefined && Number.isFinite(ref.createdTs) && ref.createdTs > 0 ? Math.max(0, ref.createdTs - SEARCH_CLOCK_MARGIN_MS) : undefined;
    const start = since !== undefined ? { start_date: new Date(since).toISOString() } : {};
    const pages = this.deps.options.order_search_pages;
    let cursor: string | undefined;
    for (let page = 0; page < pages; page++) {
      const res = await this.call(() => this.ex.v3PrivateGetBrokerageOrdersHistoricalBatch({ product_ids: [symbol], limit: 250, ...start, ...(cursor ? { cursor } : {}) }));
      const hit = res.orders?.find((o) => o.client_order_id === clientOrderId);
      if (hit) return this.view(hit);
      if (!res.has_next) return undefined;
      // more to read and no way to read it: a failed read, not the end of the list (taken as the
      // end, an order further down was reported absent: rejected, or closed at a restart)
      if (!res.cursor) throw new Error(`${this.deps.exchange}: the order list of ${symbol} says it goes on (has_next) but gives no cursor; order ${clientOrderId} not proven absent, asked again later`);
      cursor = res.cursor;
    }
    this.searchesCutShort++;
    const text = `${this.deps.exchange}: order ${clientOrderId} not among the ${pages * 250} most recent orders of ${symbol}${since !== undefined ? ` since ${start.start_date}` : ''} and the list goes on (order_search_pages = ${pages}); not proven absent, asked again later`;
    const now = this.deps.clock.now();
    // the kit asks again at every poll: one warning a minute, with the running count
    if (now - this.cutShortWarnedAt >= CUT_SHORT_WARN_INTERVAL_MS) {
      this.deps.logger?.warn({ exchange: this.deps.exchange, clientOrderId, searchesCutShort: this.searchesCutShort }, text);
      this.cutShortWarnedAt = now;
    }
    throw new Error(text);
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    if (!ref.venueOrderId) return this.findByClientId(ref);
    try {
      const res = await this.call(() => this.ex.v3PrivateGetBrokerageOrdersHistoricalOrderId({ order_id: ref.venueOrderId }));
      return res.order ? this.view(res.order) : undefined;
    } catch (err) {
      if (this.mapError(err).reason === 'UNKNOWN_ORDER') return undefined;
      throw err;
    }
  }

  private fill(f: CoinbaseFillJson): VenueFill | undefined {
    const i = this.deps.instrument(f.product_id);
    const ts = isoTimeMs(f.trade_time);
    // sizes in quote are never used by our orders (base_size always): refuse to guess
    if (!i || ts === 0 || f.size_in_quote === true) return undefined;
    const out: VenueFill = { tradeId: f.trade_id, venueOrderId: f.order_id, symbol: f.product_id, price: f.price, qty: f.size, fee: f.commission, feeAsset: i.quote, ts };
    if (f.liquidity_indicator === 'MAKER') out.liquidity = 'maker';
    else if (f.liquidity_indicator === 'TAKER') out.liquidity = 'taker';
    // reconciliation reports a trade whose order can no longer be read by it (never guessed)
    if (f.side === 'BUY') out.side = 'buy';
    else if (f.side === 'SELL') out.side = 'sell';
    return out;
  }

  private async fills(params: Record<string, unknown>): Promise<VenueFill[]> {
    const out: VenueFill[] = [];
    // the fills list has no has_next: an empty cursor (or an empty page) ends it
    await this.readAllPages('the fills list', async (cursor) => {
      const res = await this.call(() => this.ex.v3PrivateGetBrokerageOrdersHistoricalFills({ ...params, limit: 250, ...(cursor ? { cursor } : {}) }));
      for (const f of res.fills ?? []) {
        const x = this.fill(f);
        if (x) out.push(x);
      }
      return (res.fills ?? []).length === 0 ? undefined : res.cursor;
    });
    // Coinbase lists newest first: oldest first here, so trades with one timestamp keep the
    // venue's order through the client's (stable) sort by time
    return out.reverse();
  }

  /**
   * Reads a paged list to its end: `page` reads one page (after `cursor`) and returns the cursor
   * of the next, or undefined (or '') when the list ended. A list that has not ended after
   * MAX_LIST_PAGES pages is a failed read (throws), never returned short as if complete: the fills
   * list comes newest first, so a cut would drop the oldest fills (those right after `since` in a
   * reconciliation), and a short open-orders or balances list would hide working orders or funds.
   * The caller's read fails and is retried like any failed read.
   */
  private async readAllPages(what: string, page: (cursor: string | undefined) => Promise<string | undefined>): Promise<void> {
    let cursor: string | undefined;
    for (let n = 0; n < MAX_LIST_PAGES; n++) {
      const next = await page(cursor);
      if (!next) return;
      cursor = next;
    }
    throw new Error(`${this.deps.exchange}: ${what} did not end after ${MAX_LIST_PAGES} pages of 250; not used incomplete`);
  }

  async fetchFills(view: VenueOrderView): Promise<VenueFill[]> {
    return (await this.fills({ order_ids: [view.venueOrderId] })).filter((f) => f.venueOrderId === view.venueOrderId);
  }

  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderView[]> {
    const out: VenueOrderView[] = [];
    await this.readAllPages('the open orders list', async (cursor) => {
      const res = await this.call(() => this.ex.v3PrivateGetBrokerageOrdersHistoricalBatch({ order_status: ['OPEN'], product_ids: [...symbols], limit: 250, ...(cursor ? { cursor } : {}) }));
      for (const j of res.orders ?? []) {
        const v = this.view(j);
        if (v && symbols.includes(v.symbol)) out.push(v);
      }
      return res.has_next ? res.cursor : undefined;
    });
    return out;
  }

  async fetchFillsSince(symbols: readonly string[], sinceTs: number): Promise<VenueFill[]> {
    const list = await this.fills({ product_ids: [...symbols], start_sequence_timestamp: new Date(sinceTs).toISOString() });
    return list.filter((f) => f.ts >= sinceTs && symbols.includes(f.symbol));
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    const totals = new Map<string, string>();
    await this.readAllPages('the accounts list', async (cursor) => {
      const res = await this.call(() => this.ex.v3PrivateGetBrokerageAccounts({ limit: 250, ...(cursor ? { cursor } : {}) }));
      for (const a of res.accounts ?? []) {
        // total = available + hold, summed exactly (several wallets of one currency add up)
        const t = addDecimalStrings(a.available_balance?.value ?? '0', a.hold?.value ?? '0');
        totals.set(a.currency, totals.has(a.currency) ? addDecimalStrings(totals.get(a.currency)!, t) : t);
      }
      return res.has_next ? res.cursor : undefined;
    });
    return [...totals].map(([asset, total]) => ({ asset, total }));
  }
}
