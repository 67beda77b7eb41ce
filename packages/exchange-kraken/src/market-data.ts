import {
  type Clock,
  type Instrument,
  type IntakeWorkerSpec,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
} from '@cwts/core';
import { TimerSet, TradingStatusMarketData, WsConnection, type BookSync } from '@cwts/core/adapter-kit';
import { compiledModuleUrl } from '@cwts/core/intake';
import WebSocket from 'ws';
import { KrakenFeed, type FeedSymbol } from './feed.js';
import { InstrumentSnapshotSchema, KRAKEN_STATUS, instrumentsFromPairs, type KrakenInstrument } from './instruments.js';
import type { KrakenOptions } from './options.js';

type SymbolState = FeedSymbol;

export interface KrakenMarketDataDeps {
  exchange: string;
  /** The v2 public endpoint, e.g. wss://ws.kraken.com/v2 (see krakenWsUrl). */
  wsUrl: string;
  options: KrakenOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
  /** Instruments already loaded, with the precision the checksum formats with (an intake worker gets them from the engine thread's client). */
  instruments?: readonly KrakenInstrument[];
}

/** What `[performance] intake = "worker"` sends to the worker (intake-worker.ts createKrakenIntake). */
export interface KrakenIntakeArgs {
  exchange: string;
  wsUrl: string;
  options: KrakenOptions;
  instruments: KrakenInstrument[];
}

/**
 * Spot market data over Kraken WebSocket v2: the `book` channel (snapshot, then updates, each
 * with a CRC32 over the top 10 levels formatted with the pair's precision; truncation to the
 * subscribed depth; resync by unsubscribe + subscribe, which makes Kraken replay a snapshot),
 * the `trade` channel (no snapshot, ids deduplicated), the heartbeat channel as the liveness
 * signal for silent-stall detection, and instruments from the `instrument` channel.
 */
export class KrakenMarketData extends TradingStatusMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private instruments = new Map<string, KrakenInstrument>();
  private symbols: SymbolState[] = [];
  private feed: KrakenFeed | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private reqId = 0;
  private stopped = false;
  private readonly component: string;
  /** Connection-level errors (the feed counts its own rejections). */
  private connErrors = 0;

  constructor(private readonly deps: KrakenMarketDataDeps) {
    super({ exchange: deps.exchange, logger: deps.logger, now: () => deps.clock.now(), isKnownStatus: (w) => Object.hasOwn(KRAKEN_STATUS, w) });
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
    for (const k of deps.instruments ?? []) this.instruments.set(k.instrument.symbol, k);
  }

  /** Reads the `instrument` channel snapshot on a short-lived connection. */
  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const pairs = await this.instrumentPairs();
    const list = instrumentsFromPairs(this.exchange, pairs, symbols);
    for (const k of list) this.instruments.set(k.instrument.symbol, k);
    const instruments = list.map((k) => k.instrument);
    this.trading.note(instruments);
    return instruments;
  }

  /** A fresh instrument snapshot on a short-lived connection, as at load (the book connection stays as it is). */
  protected async reloadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    return instrumentsFromPairs(this.exchange, await this.instrumentPairs(), symbols).map((k) => k.instrument);
  }

  protected get instrumentRefreshMs(): number {
    return this.deps.options.instrument_refresh_ms;
  }

  /**
   * The same client on an intake worker (core's intake/): socket, parsing, checksums and book
   * resubscribes there, with each pair's precision for the CRC32. The trading status stays here
   * (keepTradingStatusFresh), so the worker's copy does not re-read it.
   */
  intakeWorker(): IntakeWorkerSpec {
    const args: KrakenIntakeArgs = { exchange: this.exchange, wsUrl: this.deps.wsUrl, options: { ...this.deps.options, instrument_refresh_ms: 0 }, instruments: [...this.instruments.values()] };
    return { module: compiledModuleUrl('./intake-worker.js', import.meta.url), factory: 'createKrakenIntake', args };
  }

  private instrumentPairs(): Promise<unknown[]> {
    const ms = this.deps.options.instrument_timeout_ms;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.deps.wsUrl, { perMessageDeflate: false });
      let done = false;
      const finish = (err: Error | undefined, pairs?: unknown[]) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        ws.removeAllListeners('message');
        ws.on('error', () => {});
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'instruments loaded');
        if (err) reject(err);
        else resolve(pairs!);
      };
      const t = setTimeout(() => finish(new Error(`${this.exchange}: no instrument snapshot from ${this.deps.wsUrl} within ${ms} ms`)), ms);
      ws.on('open', () => ws.send(JSON.stringify({ method: 'subscribe', params: { channel: 'instrument', snapshot: true }, req_id: ++this.reqId })));
      ws.on('error', (e) => finish(new Error(`${this.exchange}: instrument channel: ${e.message}`)));
      ws.on('close', () => finish(new Error(`${this.exchange}: instrument channel closed before its snapshot`)));
      ws.on('message', (data) => {
        let msg: unknown;
        try {
          msg = JSON.parse(data.toString());
        } catch {
          return;
        }
        const m = msg as { method?: unknown; success?: unknown; error?: unknown };
        if (m.method === 'subscribe' && m.success === false) {
          finish(new Error(`${this.exchange}: instrument subscribe failed: ${String(m.error)}`));
          return;
        }
        const r = InstrumentSnapshotSchema.safeParse(msg);
        if (r.success && r.data.type === 'snapshot') finish(undefined, r.data.data.pairs);
      });
    });
  }

  /**
   * The engine's own book of `symbol` found what this feed let through (core API 1.10; an older
   * core never calls it): the symbol's book sync (a resubscribe) starts over, as after a gap of its own.
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
    const feed = new KrakenFeed({
      exchange: this.exchange,
      instruments: symbols.map((s) => this.instruments.get(s)!),
      bookDepth: o.book_depth,
      sink: () => (this.stopped ? undefined : this.sink),
      now: () => this.deps.clock.now(),
      random: this.deps.random,
      requestSnapshot: (st) => this.requestSnapshot(st),
      onSnapshotTaken: (st) => this.clearSnapshotTimer(st),
      onVenueStatus: (system) => this.deps.logger?.warn({ exchange: this.exchange }, `${this.exchange}: venue status ${system}`),
    });
    this.feed = feed;
    this.symbols = feed.symbols;
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.wsUrl,
      onOpen: (_c, info) => this.onOpen(info),
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
    return this.instruments.get(symbol)?.instrument;
  }

  /** Symbols whose instruments are loaded (the execution half lists open orders per symbol). */
  symbolsLoaded(): string[] {
    return [...this.instruments.keys()];
  }

  /** Counters for tests and the benchmark (the feed's, plus connection-level errors). */
  get stats(): KrakenFeed['stats'] & { errors: number } {
    const f = this.feed;
    return { ...(f?.stats ?? { frames: 0, book: 0, trades: 0, duplicateTrades: 0, snapshots: 0, checksumFailures: 0, heartbeats: 0, updatesBeforeSnapshot: 0 }), errors: this.connErrors + (f?.rejected ?? 0) };
  }

  /** Timers held now (the conformance suite checks 0 after stop). */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** The sync machine of a symbol (tests, diagnostics). */
  syncOf(symbol: string): BookSync | undefined {
    return this.symbols.find((s) => s.symbol === symbol)?.sync;
  }

  private send(msg: unknown): void {
    this.conn?.send(JSON.stringify(msg));
  }

  private onOpen(info: { reconnect: boolean; reason: string }): void {
    for (const s of this.symbols) {
      s.subscribed = false;
      this.clearSnapshotTimer(s);
      s.snapshotBackoff.reset();
    }
    // trades first: no snapshot (the last 50 trades would be replayed as new after every reconnect)
    this.send({ method: 'subscribe', params: { channel: 'trade', symbol: this.symbols.map((s) => s.symbol), snapshot: false }, req_id: ++this.reqId });
    for (const s of this.symbols) s.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
    if (info.reconnect) this.deps.logger?.info({ exchange: this.exchange }, `${this.exchange}: reconnected (${info.reason}); resyncing books`);
  }

  private onDown(reason: string): void {
    for (const s of this.symbols) {
      s.subscribed = false;
      this.clearSnapshotTimer(s);
      s.sync.suspend();
    }
    if (!this.stopped) this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}; reconnecting`, ts: this.deps.clock.now() });
  }

  /**
   * Asks Kraken for a fresh book snapshot: on a connection where the book is already subscribed
   * that means unsubscribe + subscribe (Kraken has no "send me a snapshot" request); the
   * snapshot that follows the new subscription replaces the book.
   */
  private requestSnapshot(s: SymbolState): void {
    if (this.stopped || !this.conn?.isOpen) return; // onOpen asks again
    // the first request goes out at once; repeats before the book syncs again (a crossed or
    // invalid snapshot, no snapshot at all) back off, so a venue sending bad snapshots is not
    // answered with a tight unsubscribe/subscribe loop
    const first = s.snapshotBackoff.attempts === 0;
    const delay = s.snapshotBackoff.next();
    this.clearSnapshotTimer(s);
    if (first) this.resubscribe(s);
    else
      s.snapshotTimer = this.timers.timeout(() => {
        s.snapshotTimer = undefined;
        if (s.sync.state === 'buffering' && this.conn?.isOpen) this.resubscribe(s);
      }, delay);
  }

  private resubscribe(s: SymbolState): void {
    const params = { channel: 'book', symbol: [s.symbol], depth: this.deps.options.book_depth };
    if (s.subscribed) this.send({ method: 'unsubscribe', params, req_id: ++this.reqId });
    this.send({ method: 'subscribe', params: { ...params, snapshot: true }, req_id: ++this.reqId });
    s.subscribed = true;
    this.clearSnapshotTimer(s);
    s.snapshotTimer = this.timers.timeout(() => {
      s.snapshotTimer = undefined;
      if (s.sync.state !== 'buffering') return;
      this.error(`${s.symbol}: no book snapshot within ${this.deps.options.snapshot_timeout_ms} ms; resubscribing`);
      s.sync.snapshotFailed();
      s.sync.requestAgain('no book snapshot after subscribing');
    }, this.deps.options.snapshot_timeout_ms);
  }

  private clearSnapshotTimer(s: SymbolState): void {
    this.timers.clear(s.snapshotTimer);
    s.snapshotTimer = undefined;
  }

  private error(message: string): void {
    this.connErrors++;
    if (!this.stopped) this.sink?.onFeedError(this.component, `${this.exchange}: ${message}`);
  }
}
