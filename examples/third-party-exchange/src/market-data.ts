import { defineInstrument, type Clock, type Instrument, type MarketDataClient, type MarketEventSink } from '@cwts/core';
import { TimerSet, WsConnection, httpJson } from '@cwts/core/adapter-kit';
import { TinyExFeed } from './feed.js';

export interface TinyExSettings {
  exchange: string;
  /** e.g. ws://127.0.0.1:8000 (the feed is at /v1/feed) */
  wsUrl: string;
  /** e.g. http://127.0.0.1:8000 */
  restUrl: string;
  clock: Clock;
  reconnectInitialMs?: number;
}

/**
 * Market data for TinyEx, built from the public adapter kit of @cwts/core: WsConnection for
 * the socket, TinyExFeed (BookSync with CONSECUTIVE_RULES and a checksum, the kit's value
 * rules) for the messages, TimerSet for clean shutdown.
 */
export class TinyExMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private readonly instruments = new Map<string, Instrument>();
  private feed: TinyExFeed | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;

  constructor(private readonly s: TinyExSettings) {
    this.exchange = s.exchange;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const res = await httpJson(`${this.s.restUrl}/v1/instruments`);
    if (res.status !== 200 || !Array.isArray(res.body)) throw new Error(`${this.exchange}: GET /v1/instruments failed (HTTP ${res.status})`);
    const all = res.body as { symbol: string; base: string; quote: string; tick: string; lot: string; min_notional: string }[];
    return symbols.map((sym) => {
      const x = all.find((i) => i.symbol === sym);
      if (!x) throw new Error(`${this.exchange}: unknown symbol ${sym}`);
      const i = defineInstrument({ exchange: this.exchange, symbol: sym, base: x.base, quote: x.quote, tickSize: x.tick, lotSize: x.lot, minNotional: x.min_notional });
      this.instruments.set(sym, i);
      return i;
    });
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    for (const s of symbols) if (!this.instruments.has(s)) await this.loadInstruments([s]);
    this.sink = sink;
    this.timers.reopen();
    const feed = new TinyExFeed({
      exchange: this.exchange,
      instruments: symbols.map((sym) => this.instruments.get(sym)!),
      sink: () => this.sink,
      now: () => this.s.clock.now(),
      requestSnapshot: (symbol) => void this.conn?.send(JSON.stringify({ op: 'snapshot', symbol })),
    });
    this.feed = feed;
    this.conn = new WsConnection({
      name: `${this.exchange} feed`,
      url: () => `${this.s.wsUrl}/v1/feed`,
      timers: this.timers,
      backoff: { initialMs: this.s.reconnectInitialMs ?? 250, maxMs: 5000 },
      pingIntervalMs: 15_000,
      staleAfterMs: 30_000,
      onOpen: (c, info) => {
        c.send(JSON.stringify({ op: 'subscribe', symbols: [...feed.syms.keys()] }));
        for (const s of feed.syms.values()) s.sync.begin(info.reconnect ? `reconnect after ${info.reason}` : 'initial');
      },
      onDown: (reason) => {
        for (const s of feed.syms.values()) s.sync.suspend();
        this.sink?.onFeedStatus({ type: 'feed_status', exchange: this.exchange, symbol: '', state: 'disconnected', reason: `disconnected: ${reason}`, ts: this.s.clock.now() });
      },
      onError: (m) => this.sink?.onFeedError(`${this.exchange}:feed`, m),
      onMessage: (text) => {
        if (this.sink) feed.onMessage(text);
      },
      onBinary: (bytes) => {
        if (this.sink) feed.onBinaryFrame(bytes);
      },
    });
    await this.conn.start();
  }

  /**
   * The engine's own book found a gap or a bad level this feed let through (optional, core API
   * 1.10; an older core never calls it, so the manifest's coreApi stays): start that book over.
   */
  requestResync(symbol: string, reason: string): void {
    this.feed?.syms.get(symbol)?.sync.resync(`engine asked for a snapshot: ${reason}`);
  }

  async stop(): Promise<void> {
    for (const s of this.feed?.syms.values() ?? []) s.sync.suspend();
    const sink = this.sink;
    this.sink = undefined;
    await this.conn?.close();
    this.timers.close();
    void sink;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
