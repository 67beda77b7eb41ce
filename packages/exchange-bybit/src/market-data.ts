import {
  type Clock,
  type Instrument,
  type IntakeWorkerSpec,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
} from '@cwts/core';
import { TimerSet, TradingStatusMarketData, WsConnection, httpJson, type BookSync } from '@cwts/core/adapter-kit';
import { compiledModuleUrl } from '@cwts/core/intake';
import { BYBIT_STATUS, instrumentsFromInstrumentsInfo, type BybitCategory } from './instruments.js';
import type { BybitOptions } from './options.js';
import { BybitFeed, type SymbolState } from './feed.js';

export interface BybitEndpoints {
  /** Full public stream URL, e.g. wss://stream.bybit.com/v5/public/spot */
  wsUrl: string;
  /** REST root, e.g. https://api.bybit.com */
  restRoot: string;
  category: BybitCategory;
}

/**
 * Default endpoints; `api_url` / `rest_url` from the config override them (a test server).
 * An `api_url` without a path (`wss://host`) gets `/v5/public/<category>` appended. The venue
 * table's `market` uses the core vocabulary: "spot", or "usdm" (USD-margined perpetuals and
 * futures), which is Bybit's "linear" category; "linear" itself is accepted too.
 */
export function bybitEndpoints(cfg: { api_url?: string; rest_url?: string; testnet?: boolean; market?: string }): BybitEndpoints {
  const category: BybitCategory = cfg.market === 'linear' || cfg.market === 'usdm' ? 'linear' : 'spot';
  const wsHost = cfg.testnet ? 'wss://stream-testnet.bybit.com' : 'wss://stream.bybit.com';
  const defRest = cfg.testnet ? 'https://api-testnet.bybit.com' : 'https://api.bybit.com';
  let wsUrl = (cfg.api_url ?? wsHost).replace(/\/+$/, '');
  if (!/\/v5\/public\/[a-z]+$/.test(wsUrl)) wsUrl = `${wsUrl}/v5/public/${category}`;
  const restRoot = (cfg.rest_url ?? defRest).replace(/\/+$/, '').replace(/\/v5$/, '');
  return { wsUrl, restRoot, category };
}

export function isKnownMarket(market: unknown): boolean {
  return market === undefined || market === 'spot' || market === 'usdm' || market === 'linear';
}

export { BYBIT_BOOK_RULES } from './book-rules.js';

export interface BybitMarketDataDeps {
  exchange: string;
  endpoints: BybitEndpoints;
  options: BybitOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
  /** Instruments already loaded (an intake worker gets them from the engine thread's client). */
  instruments?: readonly Instrument[];
}

/** What `[performance] intake = "worker"` sends to the worker (intake-worker.ts createBybitIntake). */
export interface BybitIntakeArgs {
  exchange: string;
  /** The stream URL, REST root and category (spot or linear) as on this thread. */
  endpoints: BybitEndpoints;
  options: BybitOptions;
  instruments: Instrument[];
}

/** The statuses instruments-info must be asked for by name (it lists only Trading ones by default). */
const NOT_TRADING = Object.keys(BYBIT_STATUS).filter((w) => w !== 'Trading');

/** Bybit accepts at most 10 topics per subscribe request on spot; the same cap is used everywhere. */
const TOPICS_PER_REQUEST = 10;

/**
 * Bybit v5 public market data (spot or linear, one connection): `orderbook.<depth>.<symbol>`
 * snapshot + deltas kept in sequence by `u` (a snapshot mid-stream resets the book; `u = 1`
 * marks a service restart), `publicTrade.<symbol>` (each trade once), `allLiquidation.<symbol>`
 * on linear, an application-level `{"op":"ping"}` every 20 s with a pong deadline, silent-stall
 * detection, and a fresh snapshot (resubscribe) after every reconnect or sequence gap.
 */
export class BybitMarketData extends TradingStatusMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private instruments = new Map<string, Instrument>();
  private symbols: SymbolState[] = [];
  private feed: BybitFeed | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private reqId = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Connection-level counters; the frame counters live in the feed (see `stats`). */
  private readonly connStats = { pings: 0, resubscribes: 0, errors: 0 };

  constructor(private readonly deps: BybitMarketDataDeps) {
    super({ exchange: deps.exchange, logger: deps.logger, now: () => deps.clock.now(), isKnownStatus: (w) => Object.hasOwn(BYBIT_STATUS, w) });
    this.exchange = deps.exchange;
    for (const i of deps.instruments ?? []) this.instruments.set(i.symbol, i);
  }

  /** Counters for tests and the benchmark (a copy). */
  get stats() {
    const f = this.feed?.stats ?? { frames: 0, deltas: 0, snapshots: 0, midStreamSnapshots: 0, resentSnapshots: 0, trades: 0, duplicateTrades: 0, liquidations: 0, pongs: 0, errors: 0, deltasBeforeSnapshot: 0 };
    return { ...f, pings: this.connStats.pings, resubscribes: this.connStats.resubscribes, errors: f.errors + this.connStats.errors };
  }

  get category(): BybitCategory {
    return this.deps.endpoints.category;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const list = await this.fetchInstruments(symbols);
    for (const i of list) this.instruments.set(i.symbol, i);
    this.trading.note(list);
    return list;
  }

  protected reloadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    return this.rereadInstruments(symbols);
  }

  protected get instrumentRefreshMs(): number {
    return this.deps.options.instrument_refresh_ms;
  }

  /**
   * The same client on an intake worker (core's intake/): socket, `{"op":"ping"}` heartbeat,
   * parsing and book resubscribes there, on the same category's stream (spot or linear, with
   * liquidations on linear). The trading status stays here (keepTradingStatusFresh), so the
   * worker's copy does not re-read it.
   */
  intakeWorker(): IntakeWorkerSpec {
    const args: BybitIntakeArgs = { exchange: this.exchange, endpoints: this.deps.endpoints, options: { ...this.deps.options, instrument_refresh_ms: 0 }, instruments: [...this.instruments.values()] };
    return { module: compiledModuleUrl('./intake-worker.js', import.meta.url), factory: 'createBybitIntake', args };
  }

  private async fetchInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const out: Instrument[] = [];
    const missing: string[] = [];
    // one symbol at a time: linear's unfiltered list is paginated, and deployments name few symbols
    for (const sym of symbols) {
      const i = await this.fetchInstrument(sym);
      if (i) out.push(i);
      else missing.push(sym);
    }
    if (missing.length > 0) throw new Error(`${this.exchange}: unknown ${this.category} symbol(s) ${missing.join(', ')} (not in instruments-info under any status)`);
    return out;
  }

  /**
   * The status re-read. A pair the venue lists under no status any more (delisted) is closed,
   * on the grid it was loaded with. A pair whose read fails keeps its last known status without
   * holding back the others' (only when every read fails is the re-read a failure).
   */
  private async rereadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const out: Instrument[] = [];
    const failed: string[] = [];
    let lastError: unknown;
    for (const sym of symbols) {
      let i: Instrument | undefined;
      try {
        i = await this.fetchInstrument(sym);
      } catch (err) {
        failed.push(sym);
        lastError = err;
        continue;
      }
      const loaded = this.instruments.get(sym);
      if (i) out.push(i);
      else if (loaded) {
        const { venueStatus: _gone, ...grid } = loaded;
        out.push({ ...grid, trading: 'closed' });
      }
    }
    if (failed.length > 0 && out.length === 0) throw lastError;
    if (failed.length > 0) this.deps.logger?.warn({ exchange: this.exchange, symbols: failed }, `${this.exchange}: re-reading the trading status of ${failed.join(', ')} failed (${lastError instanceof Error ? lastError.message : String(lastError)}); keeping their last known status`);
    return out;
  }

  /**
   * One symbol's instrument, whatever its status: instruments-info lists only `Trading` symbols
   * unless asked for another status (docs v5/market/instrument, `status`), so a symbol it leaves
   * out is asked for under each status we know that is not Trading. Undefined: listed under none.
   */
  private async fetchInstrument(sym: string): Promise<Instrument | undefined> {
    const trading = await this.readInstrumentsInfo(sym, undefined);
    if (trading) return trading;
    for (const status of NOT_TRADING) {
      let i: Instrument | undefined;
      try {
        i = await this.readInstrumentsInfo(sym, status);
      } catch {
        // a status the venue refuses as a filter (or a failed ask) finds nothing under it: the
        // default ask just answered, so the venue is there, and not listed means not tradable
        continue;
      }
      if (i) return i;
    }
    return undefined;
  }

  private async readInstrumentsInfo(sym: string, status: string | undefined): Promise<Instrument | undefined> {
    const url = `${this.deps.endpoints.restRoot}/v5/market/instruments-info?category=${this.category}&symbol=${encodeURIComponent(sym)}${status !== undefined ? `&status=${status}` : ''}`;
    const res = await httpJson(url, { timeoutMs: this.deps.options.rest_timeout_ms });
    if (res.status !== 200) throw new Error(`${this.exchange}: instruments-info failed: HTTP ${res.status} ${res.text.slice(0, 200)}`);
    return instrumentsFromInstrumentsInfo(this.exchange, this.category, res.body, [sym], { skipMissing: true })[0];
  }

  /**
   * The engine's own book of `symbol` found what this feed let through (core API 1.10; an older
   * core never calls it): the symbol's orderbook sync (a resubscribe) starts over, as after a gap of its own.
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
    this.feed = new BybitFeed({
      exchange: this.exchange,
      instruments: symbols.map((s) => this.instruments.get(s)!),
      depth: o.depth,
      tradeIdMemory: o.trade_id_memory,
      sink: () => (this.stopped ? undefined : this.sink),
      now: () => this.deps.clock.now(),
      random: this.deps.random,
      requestSnapshot: (st, why) => this.requestSnapshot(st, why),
      onSnapshotArrived: (st) => this.clearSnapshotTimer(st),
      onPong: () => {
        this.timers.clear(this.pongTimer);
        this.pongTimer = undefined;
      },
    });
    this.symbols = this.feed.symbols;
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.endpoints.wsUrl,
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => {
        if (!this.stopped) this.feed!.onFrame(text);
      },
      onBinary: (bytes) => {
        if (!this.stopped) this.feed!.onBinaryFrame(bytes);
      },
      onDown: (reason) => this.onDown(reason),
      onError: (msg) => this.error(msg),
      // Bybit wants its own {"op":"ping"} (below), not ws protocol pings
      pingIntervalMs: 0,
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
    this.stopHeartbeat();
    for (const s of this.symbols) {
      this.clearSnapshotTimer(s);
      s.sync.suspend();
    }
    await this.conn?.close();
    this.conn = undefined;
    this.timers.close();
    this.sink = undefined;
  }

  instrument(symbol: string): Instrument | undefined {
    return this.instruments.get(symbol);
  }

  /** Symbols whose instruments are loaded. */
  symbolsLoaded(): string[] {
    return [...this.instruments.keys()];
  }

  /** Timers held now (the conformance suite checks 0 after stop). */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** The sync machine of a symbol (tests, diagnostics). */
  syncOf(symbol: string): BookSync | undefined {
    return this.symbols.find((s) => s.symbol === symbol)?.sync;
  }

  /** Rejections counted by reason (tests, diagnostics). */
  get rejections(): Readonly<Record<string, number>> {
    return this.feed?.rejections ?? {};
  }

  private topicsOf(s: SymbolState): string[] {
    const t = [s.bookTopic, s.tradeTopic];
    if (this.category === 'linear' && this.deps.options.liquidations) t.push(s.liquidationTopic);
    return t;
  }

  private send(op: 'subscribe' | 'unsubscribe', topics: string[]): void {
    for (let i = 0; i < topics.length; i += TOPICS_PER_REQUEST) {
      this.conn?.send(JSON.stringify({ req_id: `${op}-${++this.reqId}`, op, args: topics.slice(i, i + TOPICS_PER_REQUEST) }));
    }
  }

  private onOpen(_c: WsConnection, info: { reconnect: boolean; reason: string }): void {
    for (const s of this.symbols) {
      this.clearSnapshotTimer(s);
      s.awaitingSnapshot = true;
      s.snapshotBackoff.reset();
    }
    this.send('subscribe', this.symbols.flatMap((s) => this.topicsOf(s)));
    this.startHeartbeat();
    // every (re)connect starts from the snapshot the subscription brings
    for (const s of this.symbols) s.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
    if (info.reconnect) this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: reconnected (${info.reason}); resyncing books`);
  }

  private onDown(reason: string): void {
    this.stopHeartbeat();
    for (const s of this.symbols) {
      this.clearSnapshotTimer(s);
      s.awaitingSnapshot = false;
      s.sync.suspend();
    }
    if (!this.stopped) this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}; reconnecting`, ts: this.deps.clock.now() });
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const o = this.deps.options;
    this.pingTimer = this.timers.interval(() => {
      if (!this.conn?.send(JSON.stringify({ req_id: `ping-${++this.reqId}`, op: 'ping' }))) return;
      this.connStats.pings++;
      if (this.pongTimer === undefined) {
        this.pongTimer = this.timers.timeout(() => {
          this.pongTimer = undefined;
          this.error(`no pong within ${o.pong_timeout_ms} ms; reconnecting`);
          this.conn?.reconnect('pong timeout');
        }, o.pong_timeout_ms);
      }
    }, o.ping_interval_ms);
  }

  private stopHeartbeat(): void {
    this.timers.clear(this.pingTimer);
    this.timers.clear(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }

  private clearSnapshotTimer(s: SymbolState): void {
    this.timers.clear(s.snapshotTimer);
    s.snapshotTimer = undefined;
  }

  /**
   * BookSync asks for a snapshot. Bybit sends one after every subscribe, so: nothing to do when
   * a subscribe is in flight or a snapshot is in hand; otherwise unsubscribe + subscribe the
   * book topic. Either way a deadline resubscribes if the snapshot never comes.
   */
  private requestSnapshot(s: SymbolState, why: string): void {
    if (this.stopped) return; // the feed never asks while applying an in-band snapshot
    if (!this.conn?.isOpen) return; // onOpen subscribes and begins again
    if (s.awaitingSnapshot) {
      this.armSnapshotDeadline(s, why);
      return;
    }
    // the first request goes out at once; repeats before the book syncs again (a crossed or
    // invalid snapshot, no snapshot at all) back off, so a venue sending bad snapshots is not
    // answered with a tight unsubscribe/subscribe loop
    const first = s.snapshotBackoff.attempts === 0;
    const delay = s.snapshotBackoff.next();
    this.clearSnapshotTimer(s);
    if (first) this.resubscribe(s, why);
    else
      s.snapshotTimer = this.timers.timeout(() => {
        s.snapshotTimer = undefined;
        if (s.sync.state === 'buffering' && !s.awaitingSnapshot && this.conn?.isOpen) this.resubscribe(s, why);
      }, delay);
  }

  private resubscribe(s: SymbolState, why: string): void {
    this.connStats.resubscribes++;
    this.send('unsubscribe', [s.bookTopic]);
    this.send('subscribe', [s.bookTopic]);
    s.awaitingSnapshot = true;
    this.armSnapshotDeadline(s, why);
  }

  private armSnapshotDeadline(s: SymbolState, why: string): void {
    this.clearSnapshotTimer(s);
    s.snapshotTimer = this.timers.timeout(() => {
      s.snapshotTimer = undefined;
      if (s.sync.state !== 'buffering') return;
      this.error(`${s.symbol}: no book snapshot within ${this.deps.options.snapshot_timeout_ms} ms of asking (${why}); resubscribing`);
      s.awaitingSnapshot = false;
      s.sync.requestAgain(why);
    }, this.deps.options.snapshot_timeout_ms);
  }

  private error(message: string): void {
    this.connStats.errors++;
    if (!this.stopped) this.sink?.onFeedError(`${this.exchange}:market-data`, `${this.exchange}: ${message}`);
  }
}
