import {
  BookSync,
  CONSECUTIVE_RULES,
  ExponentialBackoff,
  MirrorBook,
  TimerSet,
  TradeIdGuard,
  TradeIdVerdict,
  WsConnection,
  instrumentScales,
  tradeProblem,
  type BookLevel,
  type Clock,
  type Instrument,
  type Logger,
  type MarketDataClient,
  type MarketEventSink,
} from '@cwts/core';
import WebSocket from 'ws';
import { krakenChecksum } from './checksum.js';
import { InstrumentSnapshotSchema, instrumentsFromPairs, type KrakenInstrument } from './instruments.js';
import type { KrakenOptions } from './options.js';
import { Frame, KrakenFrameParser, makeSymbolCtx, type SymbolCtx } from './parse.js';

interface SymbolState extends SymbolCtx {
  sync: BookSync;
  /**
   * Kraken v2 book messages carry no sequence number (the checksum is the integrity check), so
   * each applied book message gets the next number of a local counter: the snapshot one, every
   * update the next. The kit's consecutive rules then drop anything buffered before the snapshot.
   */
  seq: number;
  tradeIds: TradeIdGuard;
  /** The book is subscribed on the current connection (a resync must unsubscribe first). */
  subscribed: boolean;
  /** A snapshot arrived unasked while synced: the resync it causes must not resubscribe. */
  snapshotInHand: boolean;
  snapshotTimer: NodeJS.Timeout | undefined;
  snapshotBackoff: ExponentialBackoff;
}

export interface KrakenMarketDataDeps {
  exchange: string;
  /** The v2 public endpoint, e.g. wss://ws.kraken.com/v2 (see krakenWsUrl). */
  wsUrl: string;
  options: KrakenOptions;
  clock: Clock;
  logger?: Logger;
  random?: () => number;
}

/**
 * Spot market data over Kraken WebSocket v2: the `book` channel (snapshot, then updates, each
 * with a CRC32 over the top 10 levels formatted with the pair's precision; truncation to the
 * subscribed depth; resync by unsubscribe + subscribe, which makes Kraken replay a snapshot),
 * the `trade` channel (no snapshot, ids deduplicated), the heartbeat channel as the liveness
 * signal for silent-stall detection, and instruments from the `instrument` channel.
 */
export class KrakenMarketData implements MarketDataClient {
  readonly exchange: string;
  private readonly timers = new TimerSet();
  private instruments = new Map<string, KrakenInstrument>();
  private symbols: SymbolState[] = [];
  private parser: KrakenFrameParser | undefined;
  private conn: WsConnection | undefined;
  private sink: MarketEventSink | undefined;
  private reqId = 0;
  private stopped = false;
  private readonly component: string;
  /** Counters for tests and the benchmark. */
  readonly stats = { frames: 0, book: 0, trades: 0, duplicateTrades: 0, errors: 0, snapshots: 0, checksumFailures: 0, heartbeats: 0, updatesBeforeSnapshot: 0 };

  constructor(private readonly deps: KrakenMarketDataDeps) {
    this.exchange = deps.exchange;
    this.component = `${deps.exchange}:market-data`;
  }

  /** Reads the `instrument` channel snapshot on a short-lived connection. */
  async loadInstruments(symbols: readonly string[]): Promise<Instrument[]> {
    const pairs = await this.instrumentPairs();
    const list = instrumentsFromPairs(this.exchange, pairs, symbols);
    for (const k of list) this.instruments.set(k.instrument.symbol, k);
    return list.map((k) => k.instrument);
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

  async start(symbols: readonly string[], sink: MarketEventSink): Promise<void> {
    const missing = symbols.filter((s) => !this.instruments.has(s));
    if (missing.length > 0) await this.loadInstruments(missing);
    this.sink = sink;
    this.stopped = false;
    this.timers.reopen();
    const o = this.deps.options;
    this.symbols = symbols.map((s) => {
      const k = this.instruments.get(s)!;
      const st: SymbolState = {
        ...makeSymbolCtx(this.exchange, instrumentScales(k.instrument), k.precision),
        seq: 0,
        tradeIds: new TradeIdGuard(),
        subscribed: false,
        snapshotInHand: false,
        snapshotTimer: undefined,
        snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: this.deps.random }),
        sync: undefined as unknown as BookSync,
      };
      st.sync = new BookSync({
        exchange: this.exchange,
        symbol: s,
        rules: CONSECUTIVE_RULES,
        sink: () => (this.stopped ? undefined : this.sink),
        requestSnapshot: () => this.requestSnapshot(st),
        snapshotWhen: 'venue',
        checksum: (book, expected) => {
          if (krakenChecksum(book, st.precision) === expected) return true;
          this.stats.checksumFailures++;
          return false;
        },
        now: () => this.deps.clock.now(),
      });
      return st;
    });
    this.parser = new KrakenFrameParser(this.exchange, this.symbols);
    const conn = new WsConnection({
      name: `${this.exchange} market data`,
      url: () => this.deps.wsUrl,
      onOpen: (_c, info) => this.onOpen(info),
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
      s.snapshotInHand = false;
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
    if (s.snapshotInHand) return;
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

  /** Hot path: one ws text frame. */
  private onFrame(text: string): void {
    if (this.stopped) return;
    this.stats.frames++;
    const p = this.parser!;
    const code = p.parse(text, this.deps.clock.now());
    switch (code) {
      case Frame.BOOK: {
        this.stats.book++;
        const s = p.ctx as SymbolState;
        if (p.bookType === 'update') this.onBookUpdate(s, p.checksum);
        else this.onBookSnapshot(s, p.checksum);
        return;
      }
      case Frame.TRADE:
        for (const { ctx, trade } of p.trades) {
          const bad = tradeProblem(trade.price, trade.qty);
          if (bad !== undefined) {
            (ctx as SymbolState).sync.reporter.reject(ctx.symbol, bad, `trade ${trade.tradeId} has a ${bad.replace(/_/g, ' ')}`);
            continue;
          }
          const v = (ctx as SymbolState).tradeIds.check(Number(trade.tradeId));
          if (v === TradeIdVerdict.NEW) {
            this.stats.trades++;
            this.sink?.onMarketEvent(trade);
          } else if (v === TradeIdVerdict.DUPLICATE) this.stats.duplicateTrades++;
          else (ctx as SymbolState).sync.reporter.reject(ctx.symbol, 'trade_id_jump', `trade id ${trade.tradeId} is implausibly far ahead of ${(ctx as SymbolState).tradeIds.last}`);
        }
        return;
      case Frame.HEARTBEAT:
        this.stats.heartbeats++;
        return;
      case Frame.REPLY:
        return;
      case Frame.STATUS: {
        const d = (p.reply?.data as { system?: unknown }[] | undefined)?.[0];
        if (d && typeof d.system === 'string' && d.system !== 'online') this.deps.logger?.warn({ exchange: this.exchange }, `${this.exchange}: venue status ${d.system}`);
        return;
      }
      case Frame.INVALID: {
        this.error(`invalid data dropped: ${p.problem}`);
        // a book update we cannot apply means the book would be wrong: resync that symbol
        const s = p.ctx as SymbolState | undefined;
        if (s && text.includes('"book"') && text.includes(s.symbol) && s.sync.state === 'synced') s.sync.resync(`invalid update rejected: ${p.problem}`);
        return;
      }
      default:
        this.error(code === Frame.MALFORMED ? `malformed frame dropped: ${p.problem}` : code === Frame.ERROR ? `venue error: ${p.problem}` : `unknown message dropped: ${p.problem}`);
        if (code === Frame.MALFORMED && text.includes('"book"')) this.lostBookFrame(text, p.problem);
    }
  }

  /**
   * A book frame we could not read is an update we lost: the next checksum would catch it only
   * if it touched the top 10, so the books it may belong to resync now (those named in the
   * text, or every synced book when the name itself was cut off).
   */
  private lostBookFrame(text: string, problem: string): void {
    const named = this.symbols.filter((s) => text.includes(`"${s.symbol}"`));
    for (const s of named.length > 0 ? named : this.symbols) {
      if (s.sync.state !== 'synced') continue;
      s.sync.reporter.reject(s.symbol, 'malformed', `unreadable book frame (${problem})`);
      s.sync.resync(`invalid update rejected (malformed): an unreadable book frame may have held an update`);
    }
  }

  private onBookSnapshot(s: SymbolState, checksum: number): void {
    const sync = s.sync;
    if (sync.state === 'idle') return;
    const depth = this.deps.options.book_depth;
    const bids: BookLevel[] = s.delta.bids.slice(0, depth).map((l) => ({ price: l.price, qty: l.qty }));
    const asks: BookLevel[] = s.delta.asks.slice(0, depth).map((l) => ({ price: l.price, qty: l.qty }));
    const check = new MirrorBook();
    check.apply(bids, asks);
    if (krakenChecksum(check, s.precision) !== checksum) {
      this.stats.checksumFailures++;
      sync.reporter.reject(s.symbol, 'bad_snapshot', `book snapshot checksum ${checksum} does not match its levels`);
      if (sync.state === 'buffering') {
        sync.snapshotFailed();
        sync.requestAgain('book snapshot checksum mismatch'); // backed off in requestSnapshot
      }
      return;
    }
    if (sync.state === 'synced') {
      // Kraken re-sent a snapshot we did not ask for: it replaces the book (counted as a resync)
      s.snapshotInHand = true;
      sync.resync('venue sent a new book snapshot');
      s.snapshotInHand = false;
    }
    this.clearSnapshotTimer(s);
    this.stats.snapshots++;
    sync.onSnapshot({ seq: ++s.seq, bids, asks, ts: s.delta.ts });
    if (sync.state === 'synced') s.snapshotBackoff.reset();
  }

  private onBookUpdate(s: SymbolState, checksum: number): void {
    const sync = s.sync;
    if (sync.state !== 'synced') {
      // before the snapshot of the current subscription: from the one just unsubscribed
      this.stats.updatesBeforeSnapshot++;
      return;
    }
    const d = s.delta;
    // Kraken sends no delete for a level pushed beyond the subscribed depth: apply to the
    // mirror now (BookSync applies again, which is idempotent) and add explicit deletes for
    // what fell out, so the engine's book is truncated exactly like ours.
    const m = sync.mirror;
    m.apply(d.bids, d.asks);
    const depth = this.deps.options.book_depth;
    for (let side = 0; side < 2; side++) {
      const book = side === 0 ? m.bids : m.asks;
      const out = side === 0 ? d.bids : d.asks;
      while (book.n > depth) {
        const price = book.priceAt(book.n - 1);
        book.set(price, 0);
        out.push({ price, qty: 0 });
      }
    }
    d.firstSeq = d.seq = ++s.seq;
    sync.onDelta(d, checksum);
  }

  private error(message: string): void {
    this.stats.errors++;
    if (!this.stopped) this.sink?.onFeedError(this.component, `${this.exchange}: ${message}`);
  }
}
