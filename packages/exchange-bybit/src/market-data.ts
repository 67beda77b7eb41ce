import {
  BookSync,
  FeedErrorReporter,
  SeqVerdict,
  TimerSet,
  WsConnection,
  httpJson,
  instrumentScales,
  type Clock,
  type Instrument,
  type BookLevel,
  type Logger,
  type MarketDataClient,
  type MirrorBook,
  type MirrorSide,
  type SnapshotInput,
  type MarketEventSink,
  type SequenceRules,
} from '@cwts/core';
import { instrumentsFromInstrumentsInfo, type BybitCategory } from './instruments.js';
import type { BybitOptions } from './options.js';
import { BybitFrameParser, Frame, makeSymbolCtx, type SymbolCtx } from './parse.js';

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

/**
 * Bybit v5 orderbook rules: every book frame carries one update id `u`, one more than the
 * previous frame's on the same topic (firstSeq === seq === u). Snapshots arrive in-band, after
 * the deltas they supersede, so a snapshot is never "too old" for what was buffered before it:
 * those deltas are dropped (u <= snapshot u) or, after a service restart (snapshot u = 1), seen
 * as a gap, which resyncs once more instead of looping on a stale buffer.
 */
export const BYBIT_BOOK_RULES: SequenceRules = {
  name: 'bybit-v5',
  first(first, u, snap) {
    if (u <= snap) return SeqVerdict.DROP;
    return first <= snap + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  next(first, u, last) {
    if (u <= last) return SeqVerdict.DROP;
    return first === last + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  snapshotTooOld: () => false,
};

interface SymbolState extends SymbolCtx {
  sync: BookSync;
  /** A subscribe for the book topic is in flight: its snapshot will come by itself. */
  awaitingSnapshot: boolean;
  /** Set while an in-band snapshot is being applied through resync(): no resubscribe needed. */
  applyingInband: boolean;
  snapshotTimer: NodeJS.Timeout | undefined;
  recentTradeIds: Set<string>;
  tradeIdRing: string[];
  tradeIdNext: number;
}

export interface BybitMarketDataDeps {
  exchange: string;
  endpoints: BybitEndpoints;
  options: BybitOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
}

/** Bybit accepts at most 10 topics per subscribe request on spot; the same cap is used everywhere. */
const TOPICS_PER_REQUEST = 10;

/**
 * Bybit v5 public market data (spot or linear, one connection): `orderbook.<depth>.<symbol>`
 * snapshot + deltas kept in sequence by `u` (a snapshot mid-stream resets the book; `u = 1`
 * marks a service restart), `publicTrade.<symbol>` (each trade once), `allLiquidation.<symbol>`
 * on linear, an application-level `{"op":"ping"}` every 20 s with a pong deadline, silent-stall
 * detection, and a fresh snapshot (resubscribe) after every reconnect or sequence gap.
 */
export class BybitMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private instruments = new Map<string, Instrument>();
  private symbols: SymbolState[] = [];
  private parser: BybitFrameParser | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private reqId = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly reporter: FeedErrorReporter;
  /** Counters for tests and the benchmark. */
  readonly stats = { frames: 0, deltas: 0, snapshots: 0, midStreamSnapshots: 0, resentSnapshots: 0, trades: 0, duplicateTrades: 0, liquidations: 0, pings: 0, pongs: 0, errors: 0, resubscribes: 0, deltasBeforeSnapshot: 0 };

  constructor(private readonly deps: BybitMarketDataDeps) {
    this.exchange = deps.exchange;
    this.reporter = new FeedErrorReporter({ exchange: deps.exchange, component: `${deps.exchange}:market-data`, sink: () => (this.stopped ? undefined : this.sink), now: () => deps.clock.now() });
  }

  get category(): BybitCategory {
    return this.deps.endpoints.category;
  }

  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const out: Instrument[] = [];
    // one request per symbol: linear's unfiltered list is paginated, and deployments name few symbols
    for (const sym of symbols) {
      const url = `${this.deps.endpoints.restRoot}/v5/market/instruments-info?category=${this.category}&symbol=${encodeURIComponent(sym)}`;
      const res = await httpJson(url, { timeoutMs: this.deps.options.rest_timeout_ms });
      if (res.status !== 200) throw new Error(`${this.exchange}: instruments-info failed: HTTP ${res.status} ${res.text.slice(0, 200)}`);
      out.push(...instrumentsFromInstrumentsInfo(this.exchange, this.category, res.body, [sym]));
    }
    for (const i of out) this.instruments.set(i.symbol, i);
    return out;
  }

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const missing = symbols.filter((s) => !this.instruments.has(s));
    if (missing.length > 0) await this.loadInstruments(missing);
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    this.symbols = symbols.map((s) => {
      const st: SymbolState = {
        ...makeSymbolCtx(this.exchange, instrumentScales(this.instruments.get(s)!), o.depth),
        sync: undefined as unknown as BookSync,
        awaitingSnapshot: false,
        applyingInband: false,
        snapshotTimer: undefined,
        recentTradeIds: new Set(),
        tradeIdRing: [],
        tradeIdNext: 0,
      };
      st.sync = new BookSync({
        exchange: this.exchange,
        symbol: s,
        rules: BYBIT_BOOK_RULES,
        sink: () => (this.stopped ? undefined : this.sink),
        requestSnapshot: (_sync, why) => this.requestSnapshot(st, why),
        snapshotWhen: 'venue',
        now: () => this.deps.clock.now(),
      });
      return st;
    });
    this.parser = new BybitFrameParser(this.symbols);
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.endpoints.wsUrl,
      onOpen: (c, info) => this.onOpen(c, info),
      onMessage: (text) => this.onFrame(text),
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
    return this.reporter.counts;
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
      this.stats.pings++;
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
    if (s.applyingInband || this.stopped) return;
    if (!this.conn?.isOpen) return; // onOpen subscribes and begins again
    if (!s.awaitingSnapshot) {
      this.stats.resubscribes++;
      this.send('unsubscribe', [s.bookTopic]);
      this.send('subscribe', [s.bookTopic]);
      s.awaitingSnapshot = true;
    }
    this.clearSnapshotTimer(s);
    s.snapshotTimer = this.timers.timeout(() => {
      s.snapshotTimer = undefined;
      if (s.sync.state !== 'buffering') return;
      this.error(`${s.symbol}: no book snapshot within ${this.deps.options.snapshot_timeout_ms} ms of asking (${why}); resubscribing`);
      s.awaitingSnapshot = false;
      s.sync.requestAgain(why);
    }, this.deps.options.snapshot_timeout_ms);
  }

  /** Hot path: one ws text frame. */
  private onFrame(text: string): void {
    if (this.stopped) return;
    this.stats.frames++;
    const p = this.parser!;
    const code = p.parse(text, this.deps.clock.now());
    switch (code) {
      case Frame.BOOK_DELTA: {
        const s = p.ctx as SymbolState;
        // in-band snapshots: a delta before the awaited snapshot is superseded by it
        if (s.sync.state !== 'synced') {
          this.stats.deltasBeforeSnapshot++;
          return;
        }
        this.stats.deltas++;
        s.sync.onDelta(s.delta);
        return;
      }
      case Frame.BOOK_SNAPSHOT:
        this.onSnapshot(p.ctx as SymbolState);
        return;
      case Frame.TRADES: {
        const s = p.ctx as SymbolState;
        for (let k = 0; k < s.tradeCount; k++) {
          const t = s.trades[k]!;
          if (!this.rememberTrade(s, t.tradeId)) {
            this.stats.duplicateTrades++;
            continue;
          }
          this.stats.trades++;
          this.sink?.onMarketEvent(t);
        }
        return;
      }
      case Frame.LIQUIDATIONS: {
        const s = p.ctx as SymbolState;
        for (let k = 0; k < s.liquidationCount; k++) {
          this.stats.liquidations++;
          this.sink?.onMarketEvent(s.liquidations[k]!);
        }
        return;
      }
      case Frame.PONG:
        this.stats.pongs++;
        this.timers.clear(this.pongTimer);
        this.pongTimer = undefined;
        return;
      case Frame.REPLY:
        return;
      default: {
        this.stats.errors++;
        const s = p.ctx as SymbolState | undefined;
        this.reporter.reject(s?.symbol ?? '', p.reason, p.problem);
        // a book frame we could not apply leaves the book behind the venue: resync that symbol
        if (s && (code === Frame.INVALID || code === Frame.MALFORMED) && text.includes(s.bookTopic)) s.sync.resync(`invalid update rejected (${p.reason}): ${p.problem}`);
      }
    }
  }

  private onSnapshot(s: SymbolState): void {
    const snap = s.snapshot;
    s.awaitingSnapshot = false;
    this.clearSnapshotTimer(s);
    const sync = s.sync;
    if (sync.state === 'idle') return;
    this.stats.snapshots++;
    if (sync.state === 'synced') {
      // depth 1 re-sends its snapshot with the same u when the book has not changed for 3 s:
      // nothing to do when it matches the book we hold; a different book under the same u is
      // a reset like any other
      if (snap.seq === sync.lastSeq && sameBook(sync.mirror, snap)) {
        this.stats.resentSnapshots++;
        return;
      }
      // "if you receive a new snapshot message, you will have to reset your local orderbook"
      this.stats.midStreamSnapshots++;
      s.applyingInband = true;
      try {
        sync.resync(snap.seq === 1 ? 'venue service restart: snapshot with u=1 replaces the book' : `venue sent a new snapshot mid-stream at u=${snap.seq}; book replaced`);
      } finally {
        s.applyingInband = false;
      }
    }
    sync.onSnapshot(snap);
  }

  /** true when the id is new; remembers the last `trade_id_memory` ids per symbol. */
  private rememberTrade(s: SymbolState, id: string): boolean {
    if (s.recentTradeIds.has(id)) return false;
    const cap = this.deps.options.trade_id_memory;
    if (s.tradeIdRing.length < cap) s.tradeIdRing.push(id);
    else {
      s.recentTradeIds.delete(s.tradeIdRing[s.tradeIdNext]!);
      s.tradeIdRing[s.tradeIdNext] = id;
      s.tradeIdNext = (s.tradeIdNext + 1) % cap;
    }
    s.recentTradeIds.add(id);
    return true;
  }

  private error(message: string): void {
    this.stats.errors++;
    if (!this.stopped) this.sink?.onFeedError(`${this.exchange}:market-data`, `${this.exchange}: ${message}`);
  }
}

function sameSide(side: MirrorSide, levels: readonly BookLevel[]): boolean {
  if (side.n !== levels.length) return false;
  for (let i = 0; i < levels.length; i++) if (side.priceAt(i) !== levels[i]!.price || side.qtyAt(i) !== levels[i]!.qty) return false;
  return true;
}

/** The mirror holds exactly the snapshot's levels (a snapshot's levels come best first). */
function sameBook(m: MirrorBook, snap: SnapshotInput): boolean {
  return sameSide(m.bids, snap.bids) && sameSide(m.asks, snap.asks);
}
