/**
 * Kraken spot execution through ccxt's signed REST endpoints (ccxt signs: API-Key and API-Sign,
 * HMAC-SHA512 over the path and SHA-256 of nonce + body). Orders carry our client id as
 * `cl_ord_id` and a `deadline`, so a submit whose answer was lost is resolved by asking for the
 * client id until the deadline has passed. Fills are polled here (QueryOrders with trade ids,
 * then QueryTrades for price, fee and maker flag), as single fills (consolidate_taker=false) so
 * they carry the ids and prices the private `executions` stream (executions-stream.ts) pushes;
 * a taker match from before this driver started is reported as one trade, as earlier versions
 * journaled it (taker-matches.ts).
 * Orders and cancels wait for Kraken's per-pair trading counter (trading-counter.ts). The shared
 * order bookkeeping lives in the adapter kit (PolledExecutionClient).
 */
import { lotsToQty, priceToTicks, qtyToLots, ticksToPrice, type Clock, type Instrument, type Logger, type Order, type VenueBalance } from '@cwts/core';
import { type Secret } from '@cwts/core/config';
import { RateLimiter, TimerSet, addDecimalStrings, httpJson, venueTable, type OrderRef, type PolledOrderDriver, type VenueFill, type VenueOrderView } from '@cwts/core/adapter-kit';
import { PAIRS_UNAVAILABLE, krakenErrorCode, krakenErrorMap, mapKrakenError } from './errors.js';
import type { KrakenOptions } from './options.js';
import { krakenApiSign } from './rest-sign.js';
import { ADD_ORDER_COST, KrakenTradingCounter } from './trading-counter.js';
import { decimalAbove, hasTakerMatchBefore, takerMatchesOf, type TakerMatch } from './taker-matches.js';
import { z } from 'zod';

/** GetWebSocketsToken's answer (docs: "Get Websockets Token"): the token and its lifetime in seconds. */
const WsTokenAnswer = z.object({
  error: z.array(z.string()).optional(),
  result: z.object({ token: z.string().min(1).max(512), expires: z.number().optional() }).optional(),
});
export interface KrakenWsToken {
  token: string;
  /** Seconds it stays valid unused (Kraken: 900); once a subscription uses it, it lives with the connection. */
  expiresS: number;
}

/** Kraken's REST envelope: `{"error":[],"result":...}` (ccxt throws when `error` is not empty). */
interface KrakenRes<T> {
  error: string[];
  result: T;
}
/** QueryOrders / OpenOrders / ClosedOrders entry (the fields we use). */
export interface KrakenOrderInfo {
  cl_ord_id?: string | null;
  status: 'pending' | 'open' | 'closed' | 'canceled' | 'expired';
  opentm: number;
  descr: { pair: string; type: 'buy' | 'sell'; ordertype: string; price: string };
  vol: string;
  vol_exec: string;
  oflags?: string;
  reason?: string | null;
  trades?: string[];
}
/** QueryTrades / TradesHistory entry. */
export interface KrakenTradeInfo {
  ordertxid: string;
  pair: string;
  time: number;
  type: 'buy' | 'sell';
  price: string;
  vol: string;
  fee: string;
  maker?: boolean;
}
interface KrakenAssetPair {
  altname: string;
  wsname?: string;
  base: string;
  quote: string;
}

/** The part of ccxt's kraken we use: its implicit endpoints (ccxt is loaded lazily: it is large). */
interface CcxtKraken {
  urls: { api: Record<string, unknown> };
  nonce: () => number;
  publicGetAssetPairs(params?: Record<string, unknown>): Promise<KrakenRes<Record<string, KrakenAssetPair>>>;
  privatePostAddOrder(params: Record<string, unknown>): Promise<KrakenRes<{ txid: string[] }>>;
  privatePostCancelOrder(params: Record<string, unknown>): Promise<KrakenRes<{ count: number }>>;
  privatePostQueryOrders(params: Record<string, unknown>): Promise<KrakenRes<Record<string, KrakenOrderInfo>>>;
  privatePostOpenOrders(params: Record<string, unknown>): Promise<KrakenRes<{ open: Record<string, KrakenOrderInfo> }>>;
  privatePostClosedOrders(params: Record<string, unknown>): Promise<KrakenRes<{ closed: Record<string, KrakenOrderInfo> }>>;
  privatePostQueryTrades(params: Record<string, unknown>): Promise<KrakenRes<Record<string, KrakenTradeInfo>>>;
  privatePostTradesHistory(params: Record<string, unknown>): Promise<KrakenRes<{ trades: Record<string, KrakenTradeInfo>; count: number }>>;
  privatePostBalance(params?: Record<string, unknown>): Promise<KrakenRes<Record<string, string>>>;
}

/** Kraken's legacy asset codes -> the common codes WebSocket v2 uses ("XBT/USD" -> "BTC/USD"). */
const LEGACY_ASSET = venueTable<string>({ XBT: 'BTC', XDG: 'DOGE' });

/**
 * Kraken's REST names with the legacy X (crypto) / Z (fiat) class prefix, as v2 codes. Only the
 * assets listed before Kraken stopped prefixing carry it (its Assets endpoint: XETH altname ETH,
 * but XTZ altname XTZ; the same 17 as ccxt's commonCurrencies for kraken). Newer assets that
 * merely begin with X or Z (ZETA, XAUT, XION, XTER, ZORA, ZEUS, ZRX) are their own names: stripped
 * by rule, ZETA read as ETA and a spot position on ZETA/USD as 0 (a reconcile mismatch).
 */
const PREFIXED_ASSET = venueTable<string>({
  XETC: 'ETC', XETH: 'ETH', XLTC: 'LTC', XMLN: 'MLN', XREP: 'REP', XXBT: 'BTC', XXDG: 'DOGE', XXLM: 'XLM', XXMR: 'XMR', XXRP: 'XRP', XZEC: 'ZEC',
  ZAUD: 'AUD', ZCAD: 'CAD', ZEUR: 'EUR', ZGBP: 'GBP', ZJPY: 'JPY', ZUSD: 'USD',
});

/** A REST asset name ("XXBT", "ZUSD", "USDT", "ZETA", "ETH2.S") as the v2 code ("BTC", "USD", "USDT", "ZETA", ...). */
export function krakenAssetCode(rest: string): string {
  return PREFIXED_ASSET[rest] ?? LEGACY_ASSET[rest] ?? rest;
}

/** The v2 symbol of a REST pair ("XBT/USD" wsname -> "BTC/USD"). */
export function krakenV2Symbol(p: KrakenAssetPair): string {
  if (p.wsname && p.wsname.includes('/')) {
    const [b, q] = p.wsname.split('/') as [string, string];
    return `${LEGACY_ASSET[b] ?? b}/${LEGACY_ASSET[q] ?? q}`;
  }
  return `${krakenAssetCode(p.base)}/${krakenAssetCode(p.quote)}`;
}

export interface KrakenDriverDeps {
  exchange: string;
  restRoot: string;
  options: KrakenOptions;
  clock: Clock;
  logger?: Logger;
  apiKey?: Secret;
  apiSecret?: Secret;
  instrument(symbol: string): Instrument | undefined;
  symbols(): string[];
}

/**
 * TradesHistory pages (50 trades each) one reconciliation reads at most: 10,000 trades since the
 * journal's last fill. Past it the read fails rather than coming back short.
 */
const MAX_TRADES_HISTORY_PAGES = 200;

/** An AddOrder waiting inside place(): `cancelled` aborted once a cancel stopped it. */
interface UnsentCreate {
  cancelled: AbortController;
}

/**
 * A create stopped before it was sent. The kit knows it by this name (core API 1.14's
 * CancelledBeforeSendError); not imported, so that this plugin still loads on the 1.12 core it
 * declares, whose kit never asks cancelUnsent (and so never sees this).
 */
class CancelledBeforeSend extends Error {
  override readonly name = 'CancelledBeforeSendError';
  constructor(clientOrderId: string) {
    super(`order ${clientOrderId} was cancelled before it was sent`);
  }
}

const chunks = <T>(a: T[], n: number): T[][] => Array.from({ length: Math.ceil(a.length / n) }, (_, k) => a.slice(k * n, k * n + n));

export class KrakenOrderDriver implements PolledOrderDriver {
  private ccxt: CcxtKraken | undefined;
  private readonly errors;
  private readonly timers = new TimerSet();
  /** Kraken's REST counter (queries, balances); orders draw from the kit's trading limiter. */
  private readonly restLimiter: RateLimiter;
  /** Kraken's per-pair trading counter (AddOrder, CancelOrder): see trading-counter.ts. */
  readonly tradingCounter: KrakenTradingCounter;
  /** REST pair key ("XXBTZUSD") by v2 symbol, and the v2 symbol by key and altname. */
  private readonly pairKey = new Map<string, string>();
  private readonly v2ByRest = new Map<string, string>();
  /** REST pair names absent from the last AssetPairs read that succeeded (see knowPairs). */
  private readonly notListed = new Set<string>();
  /** Private calls go one at a time: Kraken refuses a nonce lower than one it already saw. */
  private chain: Promise<unknown> = Promise.resolve();
  private lastNonce = 0;
  /** When this driver first connected (see singleFillsFrom). */
  private startedAt: number | undefined;
  /** AddOrders waiting inside place(), not sent yet, by client id (see cancelUnsent). */
  private readonly unsent = new Map<string, UnsentCreate>();

  constructor(private readonly deps: KrakenDriverDeps) {
    this.errors = krakenErrorMap(deps.exchange);
    this.restLimiter = new RateLimiter([{ name: 'rest', limit: deps.options.private_requests_per_interval, intervalMs: deps.options.private_interval_ms }], () => deps.clock.now(), this.timers);
    this.tradingCounter = new KrakenTradingCounter(deps.options.trading_counter_max, deps.options.trading_counter_decay_per_s, () => deps.clock.now(), this.timers);
  }

  /**
   * One trading call (AddOrder, CancelOrder), sent in nonce order once the pair's trading counter
   * had room for it (`call` runs when the request leaves the queue: AddOrder sets its deadline
   * there). Kraken's own rate refusal marks the pair's counter full: it holds what this process
   * cannot see (orders placed by hand or by another program on the key).
   */
  private async trading<T>(symbol: string, call: () => Promise<T>): Promise<T> {
    try {
      return await this.private(0, call);
    } catch (err) {
      if (krakenErrorCode(String((err as Error)?.message ?? err)) === 'EOrder:Rate limit exceeded') this.tradingCounter.full(symbol);
      throw err;
    }
  }

  /**
   * From when (epoch ms, Kraken's trade time) a taker match is reported as its single fills: when
   * this driver first connected (our clock against Kraken's trade times: a restart takes longer
   * than the two clocks differ). One before is reported as one trade, under the id Kraken's
   * consolidated view gives it, as versions before single fills journaled it (taker-matches.ts);
   * the executions stream leaves fills from before it to the REST reads. Undefined before connect.
   */
  get singleFillsFrom(): number | undefined {
    return this.startedAt;
  }

  get hasCredentials(): boolean {
    const k = this.deps.apiKey;
    const s = this.deps.apiSecret;
    return !!k && !k.isEmpty && !!s && !s.isEmpty;
  }

  /** Pending limiter timers (they must be 0 after stop). */
  pendingTimers(): number {
    return this.timers.size;
  }

  async connect(): Promise<void> {
    this.timers.reopen();
    // once per driver: a stop and start in one process keeps how it reported matches so far
    this.startedAt ??= this.deps.clock.now();
    const mod = (await import('ccxt')) as unknown as { default?: { kraken: new (c: object) => CcxtKraken }; kraken?: new (c: object) => CcxtKraken };
    const Ctor = mod.kraken ?? mod.default!.kraken;
    const ex = new Ctor({ apiKey: this.deps.apiKey!.reveal(), secret: this.deps.apiSecret!.reveal(), enableRateLimit: false, timeout: this.deps.options.rest_timeout_ms });
    // every endpoint is re-rooted at the configured REST URL: nothing reaches another host
    for (const k of Object.keys(ex.urls.api)) if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = this.deps.restRoot;
    // strictly increasing even for two requests in one millisecond
    ex.nonce = () => (this.lastNonce = Math.max(Date.now(), this.lastNonce + 1));
    this.ccxt = ex;
    await this.loadPairs();
    for (const s of this.deps.symbols()) if (!this.pairKey.has(s)) this.deps.logger?.warn({ exchange: this.deps.exchange, symbol: s }, `${s} is not in Kraken's AssetPairs: orders on it will be refused`);
    // one signed request now: a refused key shows up at start
    await this.private(1, () => ex.privatePostOpenOrders({}));
  }

  /** Public AssetPairs: the REST pair key and altname of each v2 symbol. */
  private async loadPairs(): Promise<void> {
    const pairs = await this.ex.publicGetAssetPairs();
    for (const [key, p] of Object.entries(pairs.result ?? {})) {
      const v2 = krakenV2Symbol(p);
      this.pairKey.set(v2, key);
      this.v2ByRest.set(key, v2);
      this.v2ByRest.set(p.altname, v2);
    }
    this.notListed.clear();
  }

  /**
   * Every REST pair name of an answer ("XXBTZUSD", "XBTUSD") mapped to its v2 symbol before the
   * answer is read. A name the map lacks (AssetPairs failed at start, or a pair listed since)
   * reloads AssetPairs once; when that read fails too, the answer is not used (throws: a failed
   * read). Read without the map, our own orders and trades would look like another account's:
   * a restart's reconciliation would take a working order for one Kraken never knew (and close
   * it), and miss its fills. A name still missing after a good read is no pair Kraken lists
   * (not ours); it is not asked about again until the next reload.
   */
  private async knowPairs(names: readonly (string | undefined)[]): Promise<void> {
    const missing = (n: string | undefined): n is string => n !== undefined && !this.v2ByRest.has(n) && !this.notListed.has(n);
    if (!names.some(missing)) return;
    try {
      await this.loadPairs();
    } catch (err) {
      throw new Error(`kraken {"error":["${PAIRS_UNAVAILABLE}"]} (AssetPairs failed: ${(err as Error)?.message ?? String(err)}; the answer names pairs it cannot map)`);
    }
    for (const n of names) if (missing(n)) this.notListed.add(n);
  }

  close(): void {
    this.timers.close();
    this.ccxt = undefined;
  }

  mapError(err: unknown) {
    return mapKrakenError(this.errors, err);
  }

  unsupported(o: Readonly<Order>): string | undefined {
    if (o.tif === 'FOK') return 'Kraken spot has no fill-or-kill time in force';
    return undefined;
  }

  /** One private call: after the REST counter when it draws from it, then sent in nonce order. */
  private async private<T>(weight: number, call: () => Promise<T>): Promise<T> {
    // Waited for outside the queue: a cancel or an order (weight 0: the trading counter meters
    // those) must not wait behind a query that waits for REST budget; only the sends need order.
    // A query waits as long as the counter needs (up to one private_interval_ms, 45 s by
    // default), never refused for waiting: a refusal would fail a restart's reconciliation
    // midway. close() ends the wait. A weight above the whole budget (QueryTrades costs 2 under
    // a budget of 1) spends the whole budget instead of never fitting.
    if (weight > 0) await this.restLimiter.acquire({ rest: Math.min(weight, this.deps.options.private_requests_per_interval) }, Number.POSITIVE_INFINITY);
    const p = this.chain.then(call, call);
    this.chain = p.catch(() => {});
    return p;
  }

  private get ex(): CcxtKraken {
    if (!this.ccxt) throw new Error(`${this.deps.exchange}: execution not started`);
    return this.ccxt;
  }

  /**
   * A WebSocket auth token from the private REST endpoint GetWebSocketsToken, signed here with
   * node:crypto (API-Sign as the docs define it). It goes through the same queue and nonce
   * sequence as ccxt's calls: Kraken refuses a nonce lower than one it already saw for the key.
   */
  async webSocketsToken(): Promise<KrakenWsToken> {
    if (!this.hasCredentials) throw new Error(`${this.deps.exchange}: no api_key/api_secret configured`);
    return this.private(1, async () => {
      const path = '/0/private/GetWebSocketsToken';
      const nonce = String((this.lastNonce = Math.max(Date.now(), this.lastNonce + 1)));
      const body = `nonce=${nonce}`;
      const res = await httpJson(`${this.deps.restRoot}${path}`, {
        method: 'POST',
        body,
        timeoutMs: this.deps.options.rest_timeout_ms,
        headers: { 'API-Key': this.deps.apiKey!.reveal(), 'API-Sign': krakenApiSign(path, nonce, body, this.deps.apiSecret!.reveal()) },
      });
      const parsed = WsTokenAnswer.safeParse(res.body);
      if (!parsed.success) throw new Error(`kraken GetWebSocketsToken: unreadable answer (HTTP ${res.status})`);
      const errors = parsed.data.error ?? [];
      // the same shape as ccxt's messages, so mapKrakenError reads the code
      if (errors.length > 0) throw new Error(`kraken ${JSON.stringify({ error: errors })}`);
      if (!parsed.data.result) throw new Error('kraken GetWebSocketsToken: answer without a token');
      return { token: parsed.data.result.token, expiresS: parsed.data.result.expires ?? 900 };
    });
  }

  /**
   * Whether o's AddOrder still waits here (an AssetPairs reload, the pair's trading counter, the
   * nonce queue), unsent; if so it never goes out (the kit's cancelUnsent). The counter serves
   * cancels first: without this, a cancel of such an order went out by cl_ord_id, Kraken refused
   * it as unknown, and the AddOrder followed (working after a HALT's mass cancel).
   */
  cancelUnsent(o: Readonly<Order>): boolean {
    const w = this.unsent.get(o.clientOrderId);
    if (w === undefined) return false;
    w.cancelled.abort();
    return true;
  }

  async place(o: Readonly<Order>, i: Instrument): Promise<string> {
    // registered before the first wait (this runs in the kit's turn that hands the order over)
    const waiting: UnsentCreate = { cancelled: new AbortController() };
    this.unsent.set(o.clientOrderId, waiting);
    try {
      return await this.placeWaiting(o, i, waiting);
    } catch (err) {
      // whatever ended the wait (the counter withdrawn, a close, a reload failing): nothing was sent
      if (waiting.cancelled.signal.aborted) throw new CancelledBeforeSend(o.clientOrderId);
      throw err;
    } finally {
      if (this.unsent.get(o.clientOrderId) === waiting) this.unsent.delete(o.clientOrderId);
    }
  }

  private async placeWaiting(o: Readonly<Order>, i: Instrument, waiting: UnsentCreate): Promise<string> {
    const notSent = (): void => {
      if (waiting.cancelled.signal.aborted) throw new CancelledBeforeSend(o.clientOrderId);
    };
    // AssetPairs may have failed at start (venue unreachable): asked again before giving up
    if (!this.pairKey.has(o.symbol)) {
      try {
        await this.loadPairs();
      } catch (err) {
        // nothing was sent: a definite refusal, not an unknown outcome (Kraken's own
        // EService:Unavailable would be one)
        throw new Error(`kraken {"error":["${PAIRS_UNAVAILABLE}"]} (AssetPairs failed: ${(err as Error).message})`);
      }
    }
    notSent();
    if (!this.pairKey.has(o.symbol)) throw new Error(`kraken {"error":["EQuery:Unknown asset pair"]} (${o.symbol} is not in AssetPairs)`);
    await this.tradingCounter.spend(o.symbol, ADD_ORDER_COST, 'order', { signal: waiting.cancelled.signal, withdrawn: () => new CancelledBeforeSend(o.clientOrderId) });
    const params: Record<string, unknown> = {
      pair: this.pairKey.get(o.symbol), type: o.side, ordertype: o.type, volume: lotsToQty(i, o.qty), cl_ord_id: o.clientOrderId,
    };
    // Kraken takes a sell's fee in the base currency unless told otherwise (AddOrder: fcib is "default
    // if selling"); trades do not say which, so the fee currency is pinned to the quote for every order
    params.oflags = 'fciq';
    if (o.type === 'limit') {
      params.price = ticksToPrice(i, o.price!);
      if (o.tif === 'IOC') params.timeinforce = 'IOC';
      if (o.tif === 'POST_ONLY') params.oflags = 'post,fciq';
    }
    // trading calls are metered by the trading counter (and the kit's order limiter), not the REST counter
    // The matching engine drops the request after `deadline`: an answer lost on the way is final
    // by then. Set when the request leaves the nonce queue, not before: a query ahead of it may
    // hold it up to rest_timeout_ms (as long as the whole deadline), and Kraken refuses a
    // deadline under now + 2 s.
    // The last wait (the nonce queue, behind a query) ends here: checked and left in one step, so
    // a cancel either stops it or finds it gone (and goes to Kraken, which then knows it).
    const res = await this.trading(o.symbol, () => {
      notSent();
      this.unsent.delete(o.clientOrderId);
      return this.ex.privatePostAddOrder({ ...params, deadline: new Date(this.deps.clock.now() + this.deps.options.order_deadline_ms).toISOString() });
    });
    const txid = res.result?.txid?.[0];
    if (!txid) throw new Error(`${this.deps.exchange}: AddOrder answered without a txid`);
    this.tradingCounter.placed(o.clientOrderId);
    return txid;
  }

  async cancel(o: Readonly<Order>): Promise<void> {
    // costed by the order's age when it goes out (a wait for the counter makes it older, and cheaper)
    // ahead of every order waiting on the pair, behind the cancels asked for before it
    await this.tradingCounter.spend(o.symbol, () => this.tradingCounter.cancelCost(o.clientOrderId), 'cancel');
    const res = await this.trading(o.symbol, () => this.ex.privatePostCancelOrder(o.venueOrderId ? { txid: o.venueOrderId } : { cl_ord_id: o.clientOrderId }));
    if (!res.result || !(res.result.count > 0)) throw new Error('kraken {"error":["EOrder:Unknown order"]}');
  }

  private view(txid: string, j: KrakenOrderInfo): VenueOrderView | undefined {
    const symbol = this.v2ByRest.get(j.descr?.pair) ?? j.descr?.pair;
    const i = this.deps.instrument(symbol);
    if (!i) return undefined;
    const filledAll = j.vol_exec !== undefined && Number(j.vol_exec) >= Number(j.vol) && Number(j.vol) > 0;
    const state: VenueOrderView['state'] =
      j.status === 'open' ? 'open' : j.status === 'pending' ? 'pending' : j.status === 'canceled' ? 'cancelled' : j.status === 'expired' ? 'expired' : filledAll ? 'filled' : 'expired';
    const v: VenueOrderView = {
      venueOrderId: txid, symbol, side: j.descr.type, type: j.descr.ordertype === 'market' ? 'market' : 'limit', qty: j.vol, filledQty: j.vol_exec || '0', state,
      tif: j.oflags?.split(',').includes('post') ? 'POST_ONLY' : 'GTC', createdTs: Math.round(Number(j.opentm) * 1000),
    };
    if (j.cl_ord_id) {
      v.clientOrderId = j.cl_ord_id;
      // an order placed before this process started: its cancel is costed from Kraken's booking time
      if (v.createdTs !== undefined) this.tradingCounter.seen(j.cl_ord_id, v.createdTs);
    }
    if (j.descr.ordertype !== 'market' && j.descr.price) v.price = j.descr.price;
    if (j.reason) v.text = `${this.deps.exchange}: ${j.reason}`;
    if (j.trades) v.tradeIds = j.trades;
    return v;
  }

  /**
   * An order we asked for by its id, found: its view, or a failed read (throws) when it cannot be
   * read as one of ours. Answered "unknown" instead, the order would be taken for one that never
   * reached Kraken while it works there.
   */
  private async ownView(txid: string, j: KrakenOrderInfo): Promise<VenueOrderView> {
    await this.knowPairs([j.descr?.pair]);
    const v = this.view(txid, j);
    if (!v) throw new Error(`${this.deps.exchange}: order ${txid} is on pair ${String(j.descr?.pair)}, which maps to no configured instrument`);
    return v;
  }

  async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    if (ref.venueOrderId) {
      let j: KrakenOrderInfo | undefined;
      try {
        // consolidate_taker=false: the order's trade ids are its single fills, as the executions stream names them
        const res = await this.private(1, () => this.ex.privatePostQueryOrders({ txid: ref.venueOrderId, trades: true, consolidate_taker: false }));
        j = res.result?.[ref.venueOrderId];
      } catch (err) {
        if (this.mapError(err).reason === 'UNKNOWN_ORDER') return undefined;
        throw err;
      }
      return j ? this.ownView(ref.venueOrderId, j) : undefined;
    }
    // An order that reached Kraken before OpenOrders was asked is in one answer or the other: open
    // then, or closed by the time ClosedOrders is asked. "Unknown" here says nothing about an
    // order that arrived after OpenOrders was asked (the caller judges by when it asked).
    // OpenOrders has no consolidate_taker (QueryOrders and ClosedOrders do): an order found open
    // is read again by its txid, and that one answer is the view, its vol_exec and its trade ids
    // from one moment. Its vol_exec from OpenOrders paired with trade ids read later (after a wait
    // for the REST counter, up to 45 s) did not add up when it filled in between: a `status`
    // mismatch at reconciliation, HALT under on_mismatch = "halt".
    const open = await this.private(1, () => this.ex.privatePostOpenOrders({ cl_ord_id: ref.clientOrderId }));
    for (const [txid, j] of Object.entries(open.result?.open ?? {})) {
      if (j.cl_ord_id !== ref.clientOrderId) continue;
      const now = await this.fetchOrder({ ...ref, venueOrderId: txid });
      // listed a moment ago: not finding it now is a failed read, never "unknown"
      if (!now) throw new Error(`${this.deps.exchange}: order ${txid} (${ref.clientOrderId}) was listed open, then QueryOrders did not find it`);
      return now;
    }
    const closed = await this.private(1, () => this.ex.privatePostClosedOrders({ cl_ord_id: ref.clientOrderId, trades: true, consolidate_taker: false }));
    for (const [txid, j] of Object.entries(closed.result?.closed ?? {})) if (j.cl_ord_id === ref.clientOrderId) return this.ownView(txid, j);
    return undefined;
  }

  private fill(tradeId: string, t: KrakenTradeInfo): VenueFill | undefined {
    const symbol = this.v2ByRest.get(t.pair) ?? t.pair;
    const i = this.deps.instrument(symbol);
    if (!i) return undefined;
    // in the quote currency: our orders pin it (oflags=fciq, see place); a trade of an order placed
    // elsewhere without fciq may have paid in the base currency, which QueryTrades does not say
    const f: VenueFill = { tradeId, venueOrderId: t.ordertxid, symbol, price: t.price, qty: t.vol, fee: t.fee, feeAsset: i.quote, ts: Math.round(Number(t.time) * 1000) };
    if (typeof t.maker === 'boolean') f.liquidity = t.maker ? 'maker' : 'taker';
    // reconciliation reports a trade whose order can no longer be read by it (never guessed)
    if (t.type === 'buy' || t.type === 'sell') f.side = t.type;
    return f;
  }

  async fetchFills(view: VenueOrderView): Promise<VenueFill[]> {
    // the trade ids and the vol_exec they add up to, from one answer
    const read = view.tradeIds ? view : await this.fetchOrder({ symbol: view.symbol, clientOrderId: view.clientOrderId ?? '', venueOrderId: view.venueOrderId });
    const ids = read?.tradeIds ?? [];
    const singles: [string, KrakenTradeInfo][] = [];
    for (const part of chunks(ids, 20)) {
      const res = await this.private(2, () => this.ex.privatePostQueryTrades({ txid: part.join(',') }));
      const entries = Object.entries(res.result ?? {}).filter(([, t]) => t.ordertxid === view.venueOrderId);
      await this.knowPairs(entries.map(([, t]) => t.pair));
      for (const [id, t] of entries) {
        // a trade of this order left out would never be booked: the read fails instead
        if (!this.fill(id, t)) throw new Error(`${this.deps.exchange}: trade ${id} of order ${view.venueOrderId} is on pair ${String(t.pair)}, which maps to no configured instrument`);
        singles.push([id, t]);
      }
    }
    const out = await this.asJournaled(new Map([[view.venueOrderId, { singles, singleIds: ids }]]));
    // What is reported of an order never adds up past its vol_exec: a read that did would book
    // more than Kraken filled (a match both as one trade and as its fills), so it is not used.
    if (read && decimalAbove(out.reduce((sum, f) => addDecimalStrings(sum, f.qty), '0'), read.filledQty || '0')) {
      throw new Error(`${this.deps.exchange}: the trades read for order ${view.venueOrderId} add up past its vol_exec ${read.filledQty}; not used`);
    }
    return out;
  }

  /**
   * Orders' single fills as this driver reports them: each taker match Kraken timed before
   * singleFillsFrom as one trade under its consolidated id (Kraken's default view, asked here
   * for those orders only), every other fill as itself. The same match comes out the same
   * (id, quantity, price, fee) from every read, so it is booked once, whichever read sees it.
   */
  private async asJournaled(orders: ReadonlyMap<string, { singles: [string, KrakenTradeInfo][]; singleIds?: readonly string[] }>): Promise<VenueFill[]> {
    const before = this.startedAt ?? Number.NEGATIVE_INFINITY;
    const candidates = [...orders].filter(([, o]) => hasTakerMatchBefore(o.singles, before)).map(([txid]) => txid);
    const listed = new Map<string, { consolidated: string[]; single: string[]; volExec: string | undefined }>();
    // QueryOrders takes up to 50 txids
    for (const part of chunks(candidates, 50)) {
      const consolidated = await this.private(1, () => this.ex.privatePostQueryOrders({ txid: part.join(','), trades: true, consolidate_taker: true }));
      // every single fill id of the order, also those outside a TradesHistory window
      const single = await this.private(1, () => this.ex.privatePostQueryOrders({ txid: part.join(','), trades: true, consolidate_taker: false }));
      for (const txid of part) {
        const c = consolidated.result?.[txid]?.trades;
        const s = single.result?.[txid]?.trades;
        if (!c || !s) throw new Error(`${this.deps.exchange}: QueryOrders did not list the trades of order ${txid}, whose taker match from before this start must be reported as one trade; not used`);
        // read after the trades were: it counts every one of them
        listed.set(txid, { consolidated: c, single: s, volExec: single.result?.[txid]?.vol_exec });
      }
    }
    const out: VenueFill[] = [];
    for (const [txid, o] of orders) {
      const ids = listed.get(txid);
      let matches: TakerMatch<KrakenTradeInfo>[] = [];
      if (ids) {
        try {
          matches = takerMatchesOf(o.singles, [...ids.single, ...(o.singleIds ?? [])], ids.consolidated, before);
        } catch (err) {
          throw new Error(`${this.deps.exchange}: order ${txid}: ${(err as Error).message}; not used`);
        }
      }
      const inMatch = new Set(matches.flatMap((m) => m.members.map(([id]) => id)));
      for (const [id, t] of o.singles) {
        if (inMatch.has(id)) continue;
        const f = this.fill(id, t);
        if (f) out.push(f);
      }
      const own: VenueFill[] = [];
      for (const m of matches) {
        const f = this.matchFill(txid, m);
        if (f) own.push(f);
      }
      // A match sums its fills: one counted twice (a trade read twice, a page shift) would book
      // more than Kraken filled. Its order's trades never add up past its vol_exec; a read that
      // does is not used.
      const volExec = ids?.volExec;
      if (volExec !== undefined && own.length > 0) {
        const sum = [...own, ...out.filter((f) => f.venueOrderId === txid)].reduce((acc, f) => addDecimalStrings(acc, f.qty), '0');
        if (decimalAbove(sum, volExec)) throw new Error(`${this.deps.exchange}: the trades read for order ${txid} add up past its vol_exec ${volExec}; not used`);
      }
      out.push(...own);
    }
    return out;
  }

  /**
   * A taker match as one trade: its quantity and fee summed exactly, its price the
   * volume-weighted average of its fills rounded half up to the tick (what Kraken's consolidated
   * view shows, to the pair's precision; booked only when no journal holds the match).
   */
  private matchFill(txid: string, m: TakerMatch<KrakenTradeInfo>): VenueFill | undefined {
    const first = m.members[0]![1];
    const symbol = this.v2ByRest.get(first.pair) ?? first.pair;
    const i = this.deps.instrument(symbol);
    if (!i) return undefined;
    let lots = 0n;
    let notional = 0n; // ticks x lots
    let fee = '0';
    for (const [, t] of m.members) {
      const q = BigInt(qtyToLots(i, t.vol));
      lots += q;
      notional += BigInt(priceToTicks(i, t.price)) * q;
      fee = addDecimalStrings(fee, t.fee);
    }
    const ticks = lots > 0n ? (2n * notional + lots) / (2n * lots) : 0n;
    return { tradeId: m.id, venueOrderId: txid, symbol, price: ticksToPrice(i, Number(ticks)), qty: lotsToQty(i, Number(lots)), fee, feeAsset: i.quote, ts: Math.round(m.time * 1000), liquidity: 'taker' };
  }

  async fetchOpenOrders(symbols: readonly string[]): Promise<VenueOrderView[]> {
    // without trade ids, as in fetchOrder
    const res = await this.private(1, () => this.ex.privatePostOpenOrders({}));
    const out: VenueOrderView[] = [];
    const open = res.result?.open ?? {};
    await this.knowPairs(Object.values(open).map((j) => j.descr?.pair));
    for (const [txid, j] of Object.entries(open)) {
      const v = this.view(txid, j);
      if (v && symbols.includes(v.symbol)) out.push(v);
    }
    return out;
  }

  async fetchFillsSince(symbols: readonly string[], sinceTs: number): Promise<VenueFill[]> {
    // single fills of our symbols by order, also those up to a second before sinceTs (`start`
    // below): a taker match is grouped from all its fills, then kept by its own time
    const byOrder = new Map<string, { singles: [string, KrakenTradeInfo][] }>();
    // Pages are cut by offset into a list newest first: a trade made while they are read pushes
    // every older one down a place, and the next page repeats the last trade of this one. Kept
    // twice, it would be summed twice into a taker match.
    const seen = new Set<string>();
    // `start` is exclusive, in seconds: one second earlier, then filtered here by ms
    const start = Math.floor(sinceTs / 1000) - 1;
    for (let ofs = 0, page = 0; page < MAX_TRADES_HISTORY_PAGES; page++) {
      const res = await this.private(2, () => this.ex.privatePostTradesHistory({ start, ofs, consolidate_taker: false }));
      const entries = Object.entries(res.result?.trades ?? {});
      await this.knowPairs(entries.map(([, t]) => t.pair));
      for (const [id, t] of entries) {
        if (seen.has(id)) continue;
        seen.add(id);
        const f = this.fill(id, t);
        if (!f || !symbols.includes(f.symbol)) continue;
        const o = byOrder.get(t.ordertxid);
        if (o) o.singles.push([id, t]);
        else byOrder.set(t.ordertxid, { singles: [[id, t]] });
      }
      ofs += entries.length;
      if (entries.length === 0 || ofs >= (res.result?.count ?? 0)) return (await this.asJournaled(byOrder)).filter((f) => f.ts >= sinceTs);
    }
    // Newest first: what is left are the oldest trades since the journal's last fill. Returned
    // without them, the reconciliation would look complete with those fills never booked.
    throw new Error(`${this.deps.exchange}: TradesHistory did not end after ${MAX_TRADES_HISTORY_PAGES} pages of 50; not used incomplete`);
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    const res = await this.private(1, () => this.ex.privatePostBalance());
    const out: VenueBalance[] = [];
    // "ETH2.S", "DOT.F" and the like are staking/earn balances, not tradable spot balances
    for (const [asset, total] of Object.entries(res.result ?? {})) if (!asset.includes('.')) out.push({ asset: krakenAssetCode(asset), total: String(total) });
    return out;
  }
}
