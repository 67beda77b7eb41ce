import {
  BookSync,
  CONSECUTIVE_RULES,
  RateLimiter,
  TimerSet,
  TradeIdGuard,
  TradeIdVerdict,
  WsConnection,
  httpJson,
  instrumentScales,
  type Clock,
  type Instrument,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
  type TradeEvent,
} from '@cwts/core';
import { instrumentsFromProducts } from './instruments.js';
import type { CoinbaseOptions } from './options.js';
import { CoinbaseFrameParser, Frame, type ProductCtx } from './parse.js';

export interface CoinbaseEndpoints {
  /** Advanced Trade market-data WebSocket, e.g. wss://advanced-trade-ws.coinbase.com */
  wsUrl: string;
  /** REST root, e.g. https://api.coinbase.com */
  restRoot: string;
}

/** Default endpoints; `api_url` / `rest_url` from the config override them (a test server). */
export function coinbaseEndpoints(cfg: { api_url?: string; rest_url?: string }): CoinbaseEndpoints {
  return {
    wsUrl: (cfg.api_url ?? 'wss://advanced-trade-ws.coinbase.com').replace(/\/+$/, ''),
    restRoot: (cfg.rest_url ?? 'https://api.coinbase.com').replace(/\/+$/, '').replace(/\/api\/v3(\/brokerage)?$/, ''),
  };
}

interface ProductState extends ProductCtx {
  sync: BookSync;
  trades: TradeIdGuard;
  trade: TradeEvent;
  /** sequence_num of this product's last level2 message on this connection (-1: none yet). */
  lastL2Seq: number;
  /** The session's first market_trades snapshot (history from before we started) was seen. */
  tradesBaselined: boolean;
}

/** Signs the `jwt` field of subscribe messages; absent without credentials. */
export type WsJwtSource = () => string;

export interface CoinbaseMarketDataDeps {
  exchange: string;
  endpoints: CoinbaseEndpoints;
  options: CoinbaseOptions;
  clock: Clock;
  logger?: Logger;
  limiter?: RateLimiter;
  random?: () => number;
  jwt?: WsJwtSource;
}

/**
 * Advanced Trade market data on one connection: `heartbeats`, `level2` and `market_trades`
 * subscribed at once on open (Coinbase drops a connection without a subscribe after 5 s);
 * `sequence_num` checked across all channels (a gap resyncs every book by resubscribing level2,
 * and resubscribes market_trades so its snapshot backfills missed trades, deduplicated by id);
 * a level2 snapshot after every (re)connect; a silent stall (no heartbeat) reconnects.
 */
export class CoinbaseMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private readonly limiter: RateLimiter;
  private instruments = new Map<string, Instrument>();
  private products: ProductState[] = [];
  private parser: CoinbaseFrameParser | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private stopped = false;
  private lastSeq = -1;
  /** Products whose book asked for a snapshot: resubscribed level2 together. */
  private readonly pendingL2 = new Set<string>();
  private opening = false;
  private flushQueued = false;
  private readonly component: string;
  readonly stats = { frames: 0, l2: 0, trades: 0, duplicateTrades: 0, errors: 0, gaps: 0, heartbeats: 0, subscribes: 0 };

  constructor(private readonly deps: CoinbaseMarketDataDeps) {
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
    this.limiter = deps.limiter ?? new RateLimiter([{ name: 'ip', limit: deps.options.rest_requests_per_second, intervalMs: 1000 }], () => deps.clock.now(), this.timers);
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    await this.limiter.acquire({ ip: 1 });
    const q = symbols.map((s) => `product_ids=${encodeURIComponent(s)}`).join('&');
    const res = await httpJson(`${this.deps.endpoints.restRoot}/api/v3/brokerage/market/products?${q}`, { timeoutMs: this.deps.options.rest_timeout_ms });
    if (res.status !== 200) throw new Error(`${this.exchange}: products request failed: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    const list = instrumentsFromProducts(this.exchange, res.body, symbols);
    for (const i of list) this.instruments.set(i.symbol, i);
    return list;
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const missing = symbols.filter((s) => !this.instruments.has(s));
    if (missing.length > 0) await this.loadInstruments(missing);
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    this.products = symbols.map((s) => {
      const st: ProductState = {
        symbol: s,
        scales: instrumentScales(this.instruments.get(s)!),
        trades: new TradeIdGuard(),
        trade: { type: 'trade', exchange: this.exchange, symbol: s, ts: 0, recvTs: 0, tradeId: '', price: 0, qty: 0, side: 'buy' },
        sync: undefined as unknown as BookSync,
        lastL2Seq: -1,
        tradesBaselined: false,
      };
      st.sync = new BookSync({
        exchange: this.exchange,
        symbol: s,
        // Each update covers the connection's sequence numbers since this product's previous
        // level2 message (firstSeq = that + 1): the connection-wide check proved none of them
        // was lost, so the per-book rule is plain continuity, as for any sequenced venue.
        rules: CONSECUTIVE_RULES,
        sink: () => (this.stopped ? undefined : this.sink),
        requestSnapshot: () => this.requestSnapshot(st),
        snapshotWhen: 'venue',
        now: () => this.deps.clock.now(),
      });
      return st;
    });
    this.parser = new CoinbaseFrameParser(this.products);
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.endpoints.wsUrl,
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => this.onFrame(text),
      onDown: (reason) => this.onDown(reason),
      onError: (msg) => this.error(msg),
      pingIntervalMs: o.ping_interval_ms,
      pongTimeoutMs: o.pong_timeout_ms,
      staleAfterMs: o.stale_after_ms,
      backoff: { initialMs: o.reconnect_initial_ms, maxMs: o.reconnect_max_ms, random: this.deps.random },
      timers: this.timers,
      now: () => this.deps.clock.now(),
    });
    this.conn = conn;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      t = this.timers.timeout(() => {
        this.deps.logger?.warn({ exchange: this.exchange }, `${this.exchange}: not connected after ${o.start_timeout_ms} ms; still trying in the background`);
        resolve();
      }, o.start_timeout_ms);
    });
    await Promise.race([conn.start().catch(() => {}), timeout]);
    this.timers.clear(t);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.products) p.sync.suspend();
    await this.conn?.close();
    this.conn = undefined;
    this.timers.close();
    this.sink = undefined;
  }

  instrument(symbol: string): Instrument | undefined {
    return this.instruments.get(symbol);
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  syncOf(symbol: string): BookSync | undefined {
    return this.products.find((p) => p.symbol === symbol)?.sync;
  }

  private subscribe(c: WsConnection, type: 'subscribe' | 'unsubscribe', channel: string, productIds: string[]): void {
    const msg: Record<string, unknown> = { type, channel };
    if (productIds.length > 0) msg.product_ids = productIds;
    if (this.deps.jwt) msg.jwt = this.deps.jwt();
    if (type === 'subscribe') this.stats.subscribes++;
    c.send(JSON.stringify(msg));
  }

  private onOpen(c: WsConnection, info: { reconnect: boolean; reason: string }): void {
    // sequence_num starts again on every connection
    this.lastSeq = -1;
    for (const p of this.products) p.lastL2Seq = -1;
    this.pendingL2.clear();
    // heartbeats first: it keeps every other channel open through quiet periods
    this.subscribe(c, 'subscribe', 'heartbeats', []);
    this.opening = true;
    for (const p of this.products) p.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
    this.opening = false;
    this.flushL2(false);
    this.subscribe(c, 'subscribe', 'market_trades', this.products.map((p) => p.symbol));
    if (info.reconnect) this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: reconnected (${info.reason}); resyncing books`);
  }

  private onDown(reason: string): void {
    for (const p of this.products) p.sync.suspend();
    this.pendingL2.clear();
    if (!this.stopped) this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}; reconnecting`, ts: this.deps.clock.now() });
  }

  /** A book wants a snapshot: the venue sends one when level2 is (re)subscribed. */
  private requestSnapshot(p: ProductState): void {
    this.pendingL2.add(p.symbol);
    if (this.opening || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flushL2(true);
    });
  }

  private flushL2(resubscribe: boolean): void {
    const c = this.conn;
    if (this.pendingL2.size === 0 || !c?.isOpen || this.stopped) return;
    const ids = [...this.pendingL2];
    this.pendingL2.clear();
    if (resubscribe) this.subscribe(c, 'unsubscribe', 'level2', ids);
    this.subscribe(c, 'subscribe', 'level2', ids);
  }

  /** sequence_num is per connection and counts every message of every channel. */
  private checkSequence(seq: number): void {
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (last < 0 || seq === last + 1) return;
    this.stats.gaps++;
    const why = `sequence gap: expected sequence_num ${last + 1}, got ${seq}`;
    this.error(why);
    for (const p of this.products) p.sync.resync(why);
    // the lost messages may have been trades: the market_trades snapshot backfills them
    const c = this.conn;
    if (c?.isOpen) {
      const ids = this.products.map((p) => p.symbol);
      this.subscribe(c, 'unsubscribe', 'market_trades', ids);
      this.subscribe(c, 'subscribe', 'market_trades', ids);
    }
  }

  /** Hot path: one ws text frame. */
  private onFrame(text: string): void {
    if (this.stopped) return;
    this.stats.frames++;
    const p = this.parser!;
    const code = p.parse(text);
    if (p.seqNum >= 0) this.checkSequence(p.seqNum);
    const now = this.deps.clock.now();
    switch (code) {
      case Frame.L2:
        for (const e of p.l2) {
          const st = e.ctx as ProductState;
          this.stats.l2++;
          const seq = p.seqNum;
          const firstSeq = st.lastL2Seq + 1;
          st.lastL2Seq = seq;
          if (e.snapshot) {
            // zero-size levels carry nothing; anything else (negative sizes too) is BookSync's to judge
            // (fresh level objects: the parser reuses its own for the next frame)
            const bids = e.bids.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => b.price - a.price);
            const asks = e.asks.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => a.price - b.price);
            st.sync.onSnapshot({ seq, bids, asks, ts: e.ts });
          } else st.sync.onDelta({ type: 'book_delta', exchange: this.exchange, symbol: st.symbol, ts: e.ts, recvTs: now, firstSeq, seq, bids: e.bids, asks: e.asks });
        }
        return;
      case Frame.TRADES:
        this.onTrades(p, now);
        return;
      case Frame.HEARTBEAT:
        this.stats.heartbeats++;
        return;
      case Frame.SUBSCRIPTIONS:
        return;
      case Frame.INVALID: {
        this.error(`invalid data dropped: ${p.problem}`);
        // a book update we cannot apply means the book would be wrong: resync that product
        const st = p.ctx as ProductState | undefined;
        if (st && text.includes('l2_data')) st.sync.resync(`invalid depth update (${p.problem})`);
        return;
      }
      default:
        this.error(code === Frame.MALFORMED ? `malformed frame dropped: ${p.problem}` : code === Frame.ERROR ? p.problem : `unknown message dropped: ${p.problem}`);
    }
  }

  private onTrades(p: CoinbaseFrameParser, now: number): void {
    // a snapshot lists recent trades, newest first: emit in id order
    const rows = p.trades.length > 1 ? [...p.trades].sort((a, b) => a.tradeId - b.tradeId) : p.trades;
    // The first snapshot of a session is history from before we started: it only sets the id
    // baseline. Later snapshots (after a reconnect or a gap) backfill what we missed.
    const history = p.tradesSnapshot ? new Set(this.products.filter((x) => !x.tradesBaselined)) : undefined;
    if (history) for (const x of history) x.tradesBaselined = true;
    for (const r of rows) {
      const st = r.ctx as ProductState;
      const v = st.trades.check(r.tradeId);
      if (v === TradeIdVerdict.DUPLICATE) {
        this.stats.duplicateTrades++;
        continue;
      }
      if (v === TradeIdVerdict.JUMP) {
        st.sync.reporter.reject(st.symbol, 'trade_id_jump', `trade id ${r.tradeId} is implausibly far ahead of ${st.trades.last}`);
        continue;
      }
      if (history?.has(st)) continue;
      const t = st.trade;
      t.ts = r.ts;
      t.recvTs = now;
      t.tradeId = String(r.tradeId);
      t.price = r.price;
      t.qty = r.qty;
      t.side = r.side;
      this.stats.trades++;
      this.sink?.onMarketEvent(t);
    }
  }

  private error(message: string): void {
    this.stats.errors++;
    if (!this.stopped) this.sink?.onFeedError(this.component, `${this.exchange}: ${message}`);
  }
}
