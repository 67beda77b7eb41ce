import {
  type Clock,
  type Instrument,
  type IntakeWorkerSpec,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
} from '@cwts/core';
import { compiledModuleUrl } from '@cwts/core/intake';
import {
  BookSync,
  ExponentialBackoff,
  RateLimiter,
  TimerSet,
  TradingStatusMarketData,
  WsConnection,
  httpJson,
} from '@cwts/core/adapter-kit';
import { BinanceFeed, type FeedSymbol } from './feed.js';
import { capBanEnd, holdReconnect } from './ip-ban.js';
import { BINANCE_STATUS, instrumentsFromExchangeInfo } from './instruments.js';
import type { BinanceOptions } from './options.js';

export interface BinanceEndpoints {
  /** ws root without /ws or /stream, e.g. wss://stream.binance.com:9443 */
  wsRoot: string;
  /** REST root, e.g. https://api.binance.com */
  restRoot: string;
  market: 'spot' | 'usdm';
}

/** Default endpoints; `api_url` / `rest_url` from the config override them (a test server). */
export function binanceEndpoints(cfg: { api_url?: string; rest_url?: string; testnet?: boolean; market?: string }): BinanceEndpoints {
  const market = cfg.market === 'usdm' ? 'usdm' : 'spot';
  const defWs = market === 'usdm' ? (cfg.testnet ? 'wss://stream.binancefuture.com' : 'wss://fstream.binance.com') : cfg.testnet ? 'wss://stream.testnet.binance.vision' : 'wss://stream.binance.com:9443';
  const defRest = market === 'usdm' ? (cfg.testnet ? 'https://testnet.binancefuture.com' : 'https://fapi.binance.com') : cfg.testnet ? 'https://testnet.binance.vision' : 'https://api.binance.com';
  const wsRoot = (cfg.api_url ?? defWs).replace(/\/+$/, '').replace(/\/(ws|stream)$/, '');
  const restRoot = (cfg.rest_url ?? defRest).replace(/\/+$/, '').replace(/\/api\/v3$|\/fapi\/v1$/, '');
  return { wsRoot, restRoot, market };
}

export { BINANCE_USDM_RULES } from './feed.js';

export { BINANCE_MAX_BAN_MS, capBanEnd } from './ip-ban.js';


interface SymbolState {
  feed: FeedSymbol;
  snapshotGen: number;
  snapshotBackoff: ExponentialBackoff;
  snapshotRetry: NodeJS.Timeout | undefined;
}

export interface BinanceMarketDataDeps {
  exchange: string;
  endpoints: BinanceEndpoints;
  options: BinanceOptions;
  clock: Clock;
  logger?: Logger;
  /** Shared with execution: per-IP request weight. */
  limiter?: RateLimiter;
  random?: () => number;
  /** Instruments already loaded (an intake worker gets them from the engine thread's client). */
  instruments?: readonly Instrument[];
  /**
   * Binance refuses our requests until then (ms on `clock`; 0 or absent: it does not): a worker
   * replacing one that was banned starts with its limiter blocked, instead of sending into the
   * ban (Binance extends repeated bans, from 2 minutes up to 3 days).
   */
  blockedUntilMs?: number;
  /** Binance answered 429/418 (Retry-After): the limiter is blocked until `untilMs` (an intake worker tells the engine thread). */
  onVenueBlocked?: (untilMs: number) => void;
  /** Timers of the client and its stream connection (tests move them by hand); default: a set of its own. */
  timers?: TimerSet;
}

/** What `[performance] intake = "worker"` sends to the worker (intake-worker.ts createBinanceIntake). */
export interface BinanceIntakeArgs {
  exchange: string;
  endpoints: BinanceEndpoints;
  options: BinanceMarketDataDeps['options'];
  instruments: Instrument[];
  /** The engine thread's limiter may send nothing before then (a ban it was told of, its window used up); 0: now. */
  blockedUntilMs: number;
}

/**
 * Spot (and USD-M) market data: `<symbol>@trade` or `@aggTrade`, `<symbol>@depth@100ms` with
 * Binance's documented local-book procedure (buffer diffs, REST snapshot, drop stale events,
 * first-event rule, then U == previous u + 1, else resync), raw or combined streams, ping/pong,
 * a planned reconnect before the 24-hour disconnect, and `serverShutdown` handling.
 */
export class BinanceMarketData extends TradingStatusMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers: TimerSet;
  private readonly limiter: RateLimiter;
  /** Ban ends past the longest Binance gives (BINANCE_MAX_BAN_MS), held to it instead. */
  cappedBans = 0;
  private instruments = new Map<string, Instrument>();
  private symbols: SymbolState[] = [];
  private feed: BinanceFeed | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private subscribeId = 0;
  private stopped = false;
  private readonly component: string;
  /** Connection-level problems (connect failures, snapshot fetch failures) for tests. */
  private connErrors = 0;

  constructor(private readonly deps: BinanceMarketDataDeps) {
    super({ exchange: deps.exchange, logger: deps.logger, now: () => deps.clock.now(), isKnownStatus: (w) => Object.hasOwn(BINANCE_STATUS, w) });
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
    this.timers = deps.timers ?? new TimerSet();
    for (const i of deps.instruments ?? []) this.instruments.set(i.symbol, i);
    this.limiter = deps.limiter ?? new RateLimiter([{ name: 'ip', limit: deps.options.request_weight_per_minute, intervalMs: 60_000 }], () => deps.clock.now(), this.timers);
    if (deps.blockedUntilMs !== undefined && deps.blockedUntilMs > 0) this.recordBan(deps.blockedUntilMs, 'a ban the engine thread knew of');
  }

  private get futures(): boolean {
    return this.deps.endpoints.market === 'usdm';
  }
  private get apiPrefix(): string {
    return this.futures ? '/fapi/v1' : '/api/v3';
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

  private async fetchInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const q = symbols.length === 1 || this.futures ? (this.futures ? '' : `?symbol=${encodeURIComponent(symbols[0]!)}`) : `?symbols=${encodeURIComponent(JSON.stringify(symbols))}`;
    await this.limiter.acquire({ ip: 20 });
    const res = await httpJson(`${this.deps.endpoints.restRoot}${this.apiPrefix}/exchangeInfo${q}`, { timeoutMs: this.deps.options.rest_timeout_ms });
    if (res.status !== 200) throw new Error(`${this.exchange}: exchangeInfo failed: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return instrumentsFromExchangeInfo(this.exchange, res.body, symbols);
  }

  /**
   * The same client on an intake worker (core's intake/): socket, parsing and book sync there;
   * its REST snapshots count against a limiter of its own on that thread, which starts blocked
   * while this thread's limiter is (a ban the execution client or an earlier worker was given:
   * called again for every worker, a replacement included). The pairs' trading status stays here
   * (keepTradingStatusFresh), so the worker's copy does not re-read it.
   */
  intakeWorker(): IntakeWorkerSpec {
    const now = this.deps.clock.now();
    const wait = this.limiter.waitTime({ ip: 0 });
    const args: BinanceIntakeArgs = {
      exchange: this.exchange, endpoints: this.deps.endpoints, options: { ...this.deps.options, instrument_refresh_ms: 0 }, instruments: [...this.instruments.values()],
      blockedUntilMs: wait > 0 && Number.isFinite(wait) ? now + wait : 0,
    };
    return { module: compiledModuleUrl('./intake-worker.js', import.meta.url), factory: 'createBinanceIntake', args };
  }

  /**
   * An intake worker was banned (429/418; MarketDataClient.intakeVenueBlocked, core API 1.13, which
   * core 1.12 already called by name): this thread's limiter, shared with the execution client,
   * waits too (the ban covers every request from the IP, cancels included), and so does the next
   * worker (intakeWorker()).
   */
  intakeVenueBlocked(untilMs: number): void {
    this.recordBan(untilMs, 'the intake worker was answered rate limited or banned');
  }

  /**
   * Binance refuses this IP until `untilMs` (on `clock`; held to the longest ban it gives): no
   * request is sent (the per-IP limiter, shared with execution, waits) nor a stream connection
   * opened before then. Returns the end recorded.
   */
  private recordBan(untilMs: number, reason: string): number {
    const c = capBanEnd(untilMs, this.deps.clock.now());
    if (c.capped) {
      this.cappedBans++;
      this.deps.logger?.warn({ exchange: this.exchange }, `${this.exchange}: ${reason}, with a ban ending at ${untilMs} ms, past the longest Binance gives (3 days): held back for 3 days instead`);
    }
    this.limiter.blockUntil(c.untilMs);
    this.holdStream(`IP rate limited or banned: ${reason}`);
    return c.untilMs;
  }

  /**
   * While the per-IP limiter waits (a ban or 429 this client, the execution client or an intake
   * worker was given), the stream opens no connection: a ban covers the IP, stream hosts
   * included, each connection attempt counts against the IP's connection limit, and attempts into
   * a ban are what Binance lengthens bans for. A live connection stays. Returns the wait's end
   * (on `clock`), 0 when there is none.
   */
  private holdStream(reason: string): number {
    const until = this.limiterBlockedUntil();
    if (until > 0 && this.conn) holdReconnect(this.conn, until, reason);
    return until;
  }

  /** When the per-IP limiter lets a request through again (on `clock`), 0 when now. */
  private limiterBlockedUntil(): number {
    const w = this.limiter.waitTime({ ip: 0 });
    return w > 0 && Number.isFinite(w) ? this.deps.clock.now() + w : 0;
  }

  /** `[binance.options] max_sequence_jump`: the engine's books take the same bound (core API 1.10). */
  get maxSequenceJump(): number {
    return this.deps.options.max_sequence_jump;
  }

  /**
   * The engine's own book of `symbol` found what this feed let through (core API 1.10; an older
   * core never calls it): the symbol's depth sync (a REST snapshot) starts over, as after a gap of its own.
   */
  requestResync(symbol: string, reason: string): void {
    if (this.stopped) return;
    this.feed?.symbol(symbol)?.sync.resync(`engine asked for a snapshot: ${reason}`);
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const missing = symbols.filter((s) => !this.instruments.has(s));
    if (missing.length > 0) await this.loadInstruments(missing);
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    const states = new Map<string, SymbolState>();
    const feed = new BinanceFeed({
      exchange: this.exchange,
      instruments: symbols.map((s) => this.instruments.get(s)!),
      futures: this.futures,
      sink: () => (this.stopped ? undefined : this.sink),
      now: () => this.deps.clock.now(),
      requestSnapshot: (fs, why) => this.requestSnapshot(states.get(fs.symbol)!, why),
      onShutdown: () => {
        this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: serverShutdown received; reconnecting`);
        this.conn?.reconnect('server shutdown notice');
      },
      maxSeqJump: o.max_sequence_jump,
      maxTradeIdJump: o.max_trade_id_jump,
    });
    this.feed = feed;
    this.symbols = feed.symbols.map((fs) => {
      const st: SymbolState = { feed: fs, snapshotGen: 0, snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: this.deps.random }), snapshotRetry: undefined };
      states.set(fs.symbol, st);
      return st;
    });
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.streamUrl(),
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => {
        if (!this.stopped) feed.onFrame(text);
      },
      onBinary: (bytes) => {
        if (!this.stopped) feed.onBinaryFrame(bytes);
      },
      onDown: (reason) => this.onDown(reason),
      onError: (msg) => this.error(msg),
      pingIntervalMs: o.ping_interval_ms,
      pongTimeoutMs: o.pong_timeout_ms,
      staleAfterMs: o.stale_after_ms,
      maxLifetimeMs: o.max_connection_lifetime_ms,
      backoff: { initialMs: o.reconnect_initial_ms, maxMs: o.reconnect_max_ms, random: this.deps.random },
      timers: this.timers,
      now: () => this.deps.clock.now(),
      // core API 1.13 reads it right before every socket it opens: a ban the execution client
      // records on the shared limiter while a reconnect is scheduled reaches no callback here.
      // An older core ignores the option (holdStream's holds still apply).
      blockedUntil: () => this.limiterBlockedUntil(),
    });
    this.conn = conn;
    // started during a ban (a restart, a ban the execution client was given): first connect after it
    this.holdStream('IP rate limited or banned');
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
    for (const s of this.symbols) {
      s.snapshotGen++;
      s.feed.sync.suspend();
    }
    await this.conn?.close();
    this.conn = undefined;
    this.timers.close();
    this.sink = undefined;
  }

  instrument(symbol: string): Instrument | undefined {
    return this.instruments.get(symbol);
  }

  /** Timers held now (the conformance suite checks 0 after stop). */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** The sync machine of a symbol (tests, diagnostics). */
  syncOf(symbol: string): BookSync | undefined {
    return this.feed?.symbol(symbol)?.sync;
  }

  /** Counters for tests and the benchmark: frames, depth, trades, duplicates, rejected, snapshots. */
  get stats(): { frames: number; depth: number; trades: number; duplicateTrades: number; snapshots: number; rejected: number; errors: number } {
    const f = this.feed;
    const z = { frames: 0, depth: 0, trades: 0, duplicateTrades: 0, snapshots: 0 };
    return { ...(f?.stats ?? z), rejected: f?.rejected ?? 0, errors: (f?.rejected ?? 0) + this.connErrors };
  }

  private streams(): string[] {
    const o = this.deps.options;
    const out: string[] = [];
    for (const { feed: s } of this.symbols) {
      out.push(`${s.lower}@${o.trade_stream}`);
      out.push(o.depth_speed === '100ms' ? `${s.lower}@depth@100ms` : `${s.lower}@depth`);
      if (this.futures && o.liquidations) out.push(`${s.lower}@forceOrder`);
    }
    return out;
  }

  private streamUrl(): string {
    const root = this.deps.endpoints.wsRoot;
    return this.deps.options.combined ? `${root}/stream?streams=${this.streams().join('/')}` : `${root}/ws`;
  }

  private onOpen(c: WsConnection, info: { reconnect: boolean; reason: string }): void {
    if (!this.deps.options.combined) c.send(JSON.stringify({ method: 'SUBSCRIBE', params: this.streams(), id: ++this.subscribeId }));
    for (const s of this.symbols) {
      this.timers.clear(s.snapshotRetry);
      s.snapshotRetry = undefined;
      s.snapshotBackoff.reset();
      s.feed.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
    }
    if (info.reconnect) this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: reconnected (${info.reason}); resyncing books`);
  }

  private onDown(reason: string): void {
    for (const s of this.symbols) {
      s.snapshotGen++;
      s.feed.sync.suspend();
    }
    // called before the connection schedules its reconnect: a ban known now holds it
    const heldUntil = this.stopped ? 0 : this.holdStream('IP rate limited or banned');
    const next = heldUntil > 0 ? `reconnecting after the IP's ban or rate limit ends (in ${Math.ceil((heldUntil - this.deps.clock.now()) / 1000)} s)` : 'reconnecting';
    if (!this.stopped) this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}; ${next}`, ts: this.deps.clock.now() });
  }

  private error(message: string): void {
    this.connErrors++;
    if (!this.stopped) this.sink?.onFeedError(this.component, `${this.exchange}: ${message}`);
  }

  private requestSnapshot(s: SymbolState, why: string): void {
    const gen = ++s.snapshotGen;
    const attempt = s.snapshotBackoff.attempts;
    const delay = attempt === 0 ? 0 : s.snapshotBackoff.next();
    if (attempt === 0) s.snapshotBackoff.next();
    const run = () => {
      s.snapshotRetry = undefined;
      void this.fetchSnapshot(s, gen, why);
    };
    if (delay === 0) run();
    else s.snapshotRetry = this.timers.timeout(run, delay);
  }

  private async fetchSnapshot(s: SymbolState, gen: number, why: string): Promise<void> {
    const limit = this.deps.options.snapshot_limit;
    const weight = this.futures ? (limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20) : limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    try {
      await this.limiter.acquire({ ip: weight });
      if (gen !== s.snapshotGen || this.stopped) return;
      const res = await httpJson(`${this.deps.endpoints.restRoot}${this.apiPrefix}/depth?symbol=${s.feed.symbol}&limit=${limit}`, { timeoutMs: this.deps.options.rest_timeout_ms });
      if (gen !== s.snapshotGen || this.stopped) return;
      const used = res.headers['x-mbx-used-weight-1m'];
      if (typeof used === 'string') this.limiter.noteUsed('ip', Number(used));
      if (res.status === 429 || res.status === 418) {
        // a Retry-After that is no number of seconds blocks as a missing one does (not at all would retry into the ban)
        const given = Number(res.headers['retry-after'] ?? 1);
        const retry = Number.isFinite(given) && given > 0 ? given : 1;
        const until = this.recordBan(this.deps.clock.now() + retry * 1000, `depth snapshot answered HTTP ${res.status}`);
        this.deps.onVenueBlocked?.(until);
        throw new Error(`depth snapshot rate limited (HTTP ${res.status}, retry after ${retry} s)`);
      }
      if (res.status !== 200) throw new Error(`depth snapshot failed: HTTP ${res.status} ${res.text.slice(0, 160)}`);
      // validated (counted in cwts_feed_errors_total when bad) by the feed; a bad one is retried
      const r = this.feed!.onSnapshotBody(s.feed, res.body);
      if (!r.ok) return this.retrySnapshot(s, why);
      if (s.feed.sync.state === 'synced' || s.feed.sync.awaitingConfirmation) s.snapshotBackoff.reset();
    } catch (err) {
      if (gen !== s.snapshotGen || this.stopped) return;
      this.error(`${s.feed.symbol}: ${(err as Error).message}; retrying`);
      this.retrySnapshot(s, why);
    }
  }

  private retrySnapshot(s: SymbolState, why: string): void {
    s.feed.sync.snapshotFailed();
    s.snapshotRetry = this.timers.timeout(() => {
      s.snapshotRetry = undefined;
      s.feed.sync.requestAgain(why);
    }, s.snapshotBackoff.next());
  }
}
