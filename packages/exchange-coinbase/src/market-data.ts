import { type Clock, type Instrument, type IntakeWorkerSpec, type Logger, type MarketDataClient, type MarketEventSink } from '@cwts/core';
import { RateLimiter, TimerSet, TradingStatusMarketData, WsConnection, httpJson, type BookSync } from '@cwts/core/adapter-kit';
import { compiledModuleUrl } from '@cwts/core/intake';
import { CoinbaseFeed, type CoinbaseFeedOptions, type FeedProduct } from './feed.js';
import { instrumentsFromProducts, isKnownCoinbaseStatus } from './instruments.js';
import { coinbaseWsJwt, type CoinbaseWsCredentials } from './jwt.js';
import type { CoinbaseOptions } from './options.js';

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

export interface CoinbaseMarketDataDeps {
  exchange: string;
  endpoints: CoinbaseEndpoints;
  options: CoinbaseOptions;
  clock: Clock;
  logger?: Logger;
  limiter?: RateLimiter;
  random?: () => number;
  /** The CDP key: every subscribe carries a fresh JWT signed with it; absent without credentials. */
  credentials?: CoinbaseWsCredentials;
  /** Instruments already loaded (an intake worker gets them from the engine thread's client). */
  instruments?: readonly Instrument[];
  /** The trades the engine took from the intake worker this one replaces (CoinbaseFeedOptions.resumeTrades). */
  resumeTrades?: CoinbaseFeedOptions['resumeTrades'];
}

/** What `[performance] intake = "worker"` sends to the worker (intake-worker.ts createCoinbaseIntake). */
export interface CoinbaseIntakeArgs {
  exchange: string;
  endpoints: CoinbaseEndpoints;
  options: CoinbaseOptions;
  instruments: Instrument[];
  credentials?: CoinbaseWsCredentials;
}

/**
 * Advanced Trade market data on one connection: `heartbeats`, `level2` and `market_trades`
 * subscribed at once on open (Coinbase drops a connection without a subscribe after 5 s);
 * `sequence_num` checked across all channels (a gap resyncs every book by resubscribing level2,
 * and resubscribes market_trades so its snapshot backfills missed trades, deduplicated by id);
 * a level2 snapshot after every (re)connect; a silent stall (no heartbeat) reconnects.
 */
export class CoinbaseMarketData extends TradingStatusMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private readonly limiter: RateLimiter;
  private instruments = new Map<string, Instrument>();
  private feed: CoinbaseFeed | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private stopped = false;
  /** The engine's sink attached by worker intake (attachEngineSink). */
  private engineSink: MarketEventSink | undefined;
  /** Products whose book asked for a snapshot: resubscribed level2 together. */
  private readonly pendingL2 = new Set<string>();
  private opening = false;
  private flushQueued = false;
  private readonly component: string;
  private subscribes = 0;
  private readonly jwt: (() => string) | undefined;

  constructor(private readonly deps: CoinbaseMarketDataDeps) {
    super({ exchange: deps.exchange, logger: deps.logger, now: () => deps.clock.now(), isKnownStatus: isKnownCoinbaseStatus });
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
    this.jwt = deps.credentials ? coinbaseWsJwt(deps.credentials, () => deps.clock.now(), deps.options.jwt_ttl_s) : undefined;
    for (const i of deps.instruments ?? []) this.instruments.set(i.symbol, i);
    this.limiter = deps.limiter ?? new RateLimiter([{ name: 'ip', limit: deps.options.rest_requests_per_second, intervalMs: 1000 }], () => deps.clock.now(), this.timers);
  }

  /** Counters of the current session's feed, and subscribe messages sent. */
  get stats(): CoinbaseFeed['stats'] & { subscribes: number } {
    const f = this.feed?.stats ?? { frames: 0, l2: 0, trades: 0, duplicateTrades: 0, errors: 0, gaps: 0, heartbeats: 0 };
    return { ...f, subscribes: this.subscribes };
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const list = await this.fetchInstruments(symbols);
    for (const i of list) this.instruments.set(i.symbol, i);
    this.trading.note(list);
    return list;
  }

  protected reloadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    return this.fetchInstruments(symbols);
  }

  protected get instrumentRefreshMs(): number {
    return this.deps.options.instrument_refresh_ms;
  }

  /**
   * The same client on an intake worker (core's intake/): socket, parsing, sequence checks and
   * book sync there, subscribes signed there with the same key; its products' REST reads count
   * against a limiter of its own on that thread (it makes none: it has the instruments). The
   * trading status stays here (keepTradingStatusFresh), so the worker's copy does not re-read it.
   */
  intakeWorker(): IntakeWorkerSpec {
    const args: CoinbaseIntakeArgs = {
      exchange: this.exchange, endpoints: this.deps.endpoints, options: { ...this.deps.options, instrument_refresh_ms: 0 }, instruments: [...this.instruments.values()],
      ...(this.deps.credentials ? { credentials: this.deps.credentials } : {}),
    };
    return { module: compiledModuleUrl('./intake-worker.js', import.meta.url), factory: 'createCoinbaseIntake', args };
  }

  private async fetchInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    await this.limiter.acquire({ ip: 1 });
    const q = symbols.map((s) => `product_ids=${encodeURIComponent(s)}`).join('&');
    const res = await httpJson(`${this.deps.endpoints.restRoot}/api/v3/brokerage/market/products?${q}`, { timeoutMs: this.deps.options.rest_timeout_ms });
    if (res.status !== 200) throw new Error(`${this.exchange}: products request failed: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return instrumentsFromProducts(this.exchange, res.body, symbols);
  }

  /**
   * The engine's own book of `symbol` found what this feed let through (core API 1.10; an older
   * core never calls it): the symbol's level2 sync (a resubscribe) starts over, as after a gap of its own.
   */
  requestResync(symbol: string, reason: string): void {
    if (this.stopped) return;
    this.feed?.product(symbol)?.sync.resync(`engine asked for a snapshot: ${reason}`);
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const missing = symbols.filter((s) => !this.instruments.has(s));
    if (missing.length > 0) await this.loadInstruments(missing);
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    this.feed = new CoinbaseFeed({
      exchange: this.exchange,
      instruments: symbols.map((s) => this.instruments.get(s)!),
      sink: () => (this.stopped ? undefined : this.sink),
      now: () => this.deps.clock.now(),
      requestSnapshot: (p) => this.requestSnapshot(p),
      onSnapshotTaken: (p) => this.clearSnapshotTimer(p),
      random: this.deps.random,
      onSequenceGap: () => this.resubscribeTrades(),
      resumeTrades: this.deps.resumeTrades,
    });
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.endpoints.wsUrl,
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => {
        if (!this.stopped) this.feed?.onFrame(text);
      },
      onBinary: (bytes) => {
        if (!this.stopped) this.feed?.onBinaryFrame(bytes);
      },
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
    this.startTradingStatusRefresh(this.timers, symbols);
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
    for (const p of this.products) {
      this.clearSnapshotTimer(p);
      p.sync.suspend();
    }
    await this.conn?.close();
    this.conn = undefined;
    this.timers.close();
    this.sink = undefined;
  }

  instrument(symbol: string): Instrument | undefined {
    return this.instruments.get(symbol);
  }

  /**
   * The engine's sink while market data runs here, or the one worker intake attached (the feed
   * then runs on the worker and this instance never starts): the user channel counts its
   * rejections there too.
   */
  get feedSink(): MarketEventSink | undefined {
    if (this.engineSink) return this.engineSink;
    return this.stopped ? undefined : this.sink;
  }

  /** Worker intake hands over the engine's sink (core API 1.9; an older core never calls this). */
  attachEngineSink(sink: MarketEventSink): () => void {
    this.engineSink = sink;
    return () => {
      if (this.engineSink === sink) this.engineSink = undefined;
    };
  }

  /** Symbols whose instruments are loaded (the execution half lists open orders per symbol). */
  symbolsLoaded(): string[] {
    return [...this.instruments.keys()];
  }

  pendingTimers(): number {
    return this.timers.size;
  }

  syncOf(symbol: string): BookSync | undefined {
    return this.feed?.product(symbol)?.sync;
  }

  private get products(): readonly FeedProduct[] {
    return this.feed?.products ?? [];
  }

  private subscribe(c: WsConnection, type: 'subscribe' | 'unsubscribe', channel: string, productIds: string[]): void {
    const msg: Record<string, unknown> = { type, channel };
    if (productIds.length > 0) msg.product_ids = productIds;
    if (this.jwt) msg.jwt = this.jwt();
    if (type === 'subscribe') this.subscribes++;
    c.send(JSON.stringify(msg));
  }

  private onOpen(c: WsConnection, info: { reconnect: boolean; reason: string }): void {
    // sequence_num starts again on every connection
    this.feed?.connectionOpened();
    this.pendingL2.clear();
    for (const p of this.products) {
      this.clearSnapshotTimer(p);
      p.snapshotBackoff.reset();
    }
    // heartbeats first: it keeps every other channel open through quiet periods
    this.subscribe(c, 'subscribe', 'heartbeats', []);
    this.opening = true;
    for (const p of this.products) p.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
    this.opening = false;
    this.flushL2(false);
    this.subscribe(c, 'subscribe', 'market_trades', venueIds(this.products));
    if (info.reconnect) this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: reconnected (${info.reason}); resyncing books`);
  }

  private onDown(reason: string): void {
    for (const p of this.products) {
      this.clearSnapshotTimer(p);
      p.sync.suspend();
    }
    this.pendingL2.clear();
    if (!this.stopped) this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}; reconnecting`, ts: this.deps.clock.now() });
  }

  /**
   * A book wants a snapshot: the venue sends one when level2 is (re)subscribed. The first request
   * goes out at once; repeats before the book syncs again (a crossed or invalid snapshot, no
   * snapshot at all) back off, so a venue sending bad snapshots is not answered with a tight
   * unsubscribe/subscribe loop.
   */
  private requestSnapshot(p: FeedProduct): void {
    const first = p.snapshotBackoff.attempts === 0;
    const delay = p.snapshotBackoff.next();
    this.clearSnapshotTimer(p);
    if (first) this.queueL2(p);
    else
      p.snapshotTimer = this.timers.timeout(() => {
        p.snapshotTimer = undefined;
        if (p.sync.state === 'buffering') this.queueL2(p);
      }, delay);
  }

  /** Products asking in the same turn are resubscribed together. */
  private queueL2(p: FeedProduct): void {
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
    const asking = [...this.pendingL2].map((s) => this.feed?.product(s)).filter((p): p is FeedProduct => p !== undefined);
    this.pendingL2.clear();
    // A product sharing the venue id (BTC-USD beside BTC-USDC) gets the snapshot the resubscribe
    // brings too: a SYNCED book takes it as a replacement (CoinbaseFeed.takeSnapshot).
    const ids = venueIds(asking);
    if (ids.length === 0) return;
    if (resubscribe) this.subscribe(c, 'unsubscribe', 'level2', ids);
    this.subscribe(c, 'subscribe', 'level2', ids);
    for (const p of asking) this.armSnapshotDeadline(p);
  }

  /** A subscribe the venue lost or refused brings no snapshot, and heartbeats keep the connection up: ask again. */
  private armSnapshotDeadline(p: FeedProduct): void {
    this.clearSnapshotTimer(p);
    const ms = this.deps.options.snapshot_timeout_ms;
    p.snapshotTimer = this.timers.timeout(() => {
      p.snapshotTimer = undefined;
      if (p.sync.state !== 'buffering') return;
      this.error(`${p.symbol}: no level2 snapshot within ${ms} ms of subscribing; resubscribing`);
      p.sync.snapshotFailed();
      p.sync.requestAgain('no level2 snapshot after subscribing');
    }, ms);
  }

  private clearSnapshotTimer(p: FeedProduct): void {
    this.timers.clear(p.snapshotTimer);
    p.snapshotTimer = undefined;
  }

  /** After a sequence gap: the lost messages may have been trades, the market_trades snapshot backfills them. */
  private resubscribeTrades(): void {
    const c = this.conn;
    if (!c?.isOpen || this.stopped) return;
    const ids = venueIds(this.products);
    this.subscribe(c, 'unsubscribe', 'market_trades', ids);
    this.subscribe(c, 'subscribe', 'market_trades', ids);
  }

  private error(message: string): void {
    if (!this.stopped) this.sink?.onFeedError(this.component, `${this.exchange}: ${message}`);
  }
}

/**
 * The product ids to (un)subscribe on the public channels, once each: Coinbase answers a `-USDC`
 * product there with the `-USD` product's frames, so that is what is asked for.
 */
function venueIds(products: readonly FeedProduct[]): string[] {
  return [...new Set(products.map((p) => p.venueId))];
}
