import { type BookDeltaEvent, type BookLevel, type FeedRejectReason, type Instrument, type MarketEventSink, type TradeEvent } from '@cwts/core';
import {
  BookSync,
  CONSECUTIVE_RULES,
  ExponentialBackoff,
  FeedErrorReporter,
  TradeIdGuard,
  TradeIdVerdict,
  instrumentScales,
} from '@cwts/core/adapter-kit';
import { CoinbaseFrameParser, Frame, type L2Event, type ProductCtx } from './parse.js';

export interface FeedProduct extends ProductCtx {
  sync: BookSync;
  trades: TradeIdGuard;
  trade: TradeEvent;
  /** sequence_num of this product's last level2 message on this connection (-1: none yet). */
  lastL2Seq: number;
  /** The frame (CoinbaseFeed.stats.frames) whose level2 events of this product were last applied. */
  l2Frame: number;
  /** The session's first market_trades snapshot (history from before we started) was seen. */
  tradesBaselined: boolean;
  /** The reused level2 update event (BookSync copies what it buffers; sinks copy what they keep). */
  delta: BookDeltaEvent;
  /** The level2 snapshot deadline, or the backed-off wait before asking again. */
  snapshotTimer: NodeJS.Timeout | undefined;
  /** Level2 resubscribes before the book syncs again are backed off (reset when SYNCED and on a new connection). */
  snapshotBackoff: ExponentialBackoff;
}

export interface CoinbaseFeedOptions {
  exchange: string;
  instruments: readonly Instrument[];
  sink: () => MarketEventSink | undefined;
  now: () => number;
  /** A book wants a snapshot: the venue sends one when level2 is (re)subscribed. */
  requestSnapshot: (p: FeedProduct) => void;
  /** A level2 snapshot of this product arrived (the client stops its snapshot deadline). */
  onSnapshotTaken?: (p: FeedProduct) => void;
  /** Jitter of the resubscribe backoff (default Math.random). */
  random?: () => number;
  /** A connection-wide sequence gap: the lost messages may have been trades (resubscribe market_trades). */
  onSequenceGap: () => void;
  maxTradeIdJump?: number;
  maxSeqJump?: number;
  logEveryMs?: number;
  /**
   * Per product, the last trades the engine took before this feed (an intake worker replacing
   * one that failed: core's IntakeResume.trades, oldest first). Such a product is no new session:
   * its first market_trades snapshot backfills what printed since, deduplicated by id, as after a
   * reconnect.
   */
  resumeTrades?: Readonly<Record<string, readonly { tradeId: string; ts: number }[]>>;
}

/**
 * Coinbase Advanced Trade market data without I/O: ws frames in, validated integer events out,
 * book sync per product. `CoinbaseMarketData` feeds it from the socket; the conformance suite's
 * frame harness feeds it directly (`createCoinbaseFrameHarness`), so what it tests is exactly
 * the adapter's path.
 *
 * `sequence_num` is per connection and counts every message of every channel: a gap resyncs
 * every book, and the frame that revealed it is not applied (its level2 content may be a
 * snapshot, but the resubscribe brings a fresh one; its trades come back in the market_trades
 * snapshot the gap asks for, deduplicated by id; so nothing is lost by dropping it).
 * Every rejection goes through one FeedErrorReporter (cwts_feed_errors_total + rate-limited warn).
 */
export class CoinbaseFeed {
  readonly products: FeedProduct[];
  readonly reporter: FeedErrorReporter;
  readonly stats = { frames: 0, l2: 0, trades: 0, duplicateTrades: 0, errors: 0, gaps: 0, heartbeats: 0 };
  private readonly parser: CoinbaseFrameParser;
  private readonly component: string;
  private lastSeq = -1;

  constructor(private readonly opts: CoinbaseFeedOptions) {
    this.component = `${opts.exchange}:market-data`;
    this.reporter = new FeedErrorReporter({ exchange: opts.exchange, component: this.component, sink: opts.sink, now: opts.now, logEveryMs: opts.logEveryMs });
    this.products = opts.instruments.map((i) => {
      const st: FeedProduct = {
        symbol: i.symbol,
        scales: instrumentScales(i),
        trades: new TradeIdGuard(opts.maxTradeIdJump),
        trade: { type: 'trade', exchange: opts.exchange, symbol: i.symbol, ts: 0, recvTs: 0, tradeId: '', price: 0, qty: 0, side: 'buy' },
        sync: undefined as unknown as BookSync,
        lastL2Seq: -1,
        l2Frame: 0,
        tradesBaselined: false,
        delta: { type: 'book_delta', exchange: opts.exchange, symbol: i.symbol, ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids: [], asks: [] },
        snapshotTimer: undefined,
        snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: opts.random }),
      };
      st.sync = new BookSync({
        exchange: opts.exchange,
        symbol: i.symbol,
        // Each frame's update of this product (its update events merged, see applyL2) covers the
        // connection's sequence numbers since the product's previous level2 message
        // (firstSeq = that + 1): the connection-wide check proved none of them
        // was lost, so the per-book rule is plain continuity, as for any sequenced venue.
        rules: CONSECUTIVE_RULES,
        sink: opts.sink,
        requestSnapshot: () => opts.requestSnapshot(st),
        snapshotWhen: 'venue',
        maxSeqJump: opts.maxSeqJump,
        reporter: this.reporter,
        now: opts.now,
      });
      resumeTrades(st, opts.resumeTrades?.[i.symbol]);
      return st;
    });
    this.parser = new CoinbaseFrameParser(this.products);
  }

  product(symbol: string): FeedProduct | undefined {
    return this.products.find((p) => p.symbol === symbol);
  }

  /** Inputs rejected so far, all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  /** A new connection: sequence_num starts again. */
  connectionOpened(): void {
    this.lastSeq = -1;
    for (const p of this.products) p.lastL2Seq = -1;
  }

  /** A binary frame on a text-only stream. */
  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  /** Hot path: one ws text frame. Never throws for anything the venue can send. */
  onFrame(text: string): void {
    this.stats.frames++;
    const p = this.parser;
    const code = p.parse(text);
    const gap = p.seqNum >= 0 && !this.checkSequence(p.seqNum);
    const now = this.opts.now();
    switch (code) {
      case Frame.L2:
      case Frame.TRADES:
        // A frame behind a gap (or with a bogus sequence_num) is not applied: the books resync
        // and the market_trades resubscribe backfills its trades, deduplicated by id.
        if (gap) return;
        if (code === Frame.TRADES) {
          this.onTrades(p, now);
          return;
        }
        for (let i = 0; i < p.l2.length; i++) {
          const st = p.l2[i]!.ctx as FeedProduct;
          this.stats.l2++;
          // a product's later events of this frame were applied with its first one (applyL2)
          if (st.l2Frame !== this.stats.frames) this.applyL2(st, p.l2, i, p.seqNum, now);
        }
        return;
      case Frame.HEARTBEAT:
        this.stats.heartbeats++;
        return;
      case Frame.SUBSCRIPTIONS:
        return;
      case Frame.INVALID: {
        const st = p.ctx as FeedProduct | undefined;
        this.reject(p.reason === 'unknown_symbol' ? '' : (st?.symbol ?? ''), p.reason, p.problem);
        // a book update we cannot apply means the book would be wrong: resync the books the frame
        // named (a gap already resynced them all). The parser reports INVALID only after reading
        // the whole envelope, so the frame's sequence_num was checked above and no false gap
        // follows; a frame whose sequence_num is unreadable is MALFORMED instead (below: the
        // next frame shows the gap and every book resyncs)
        if (p.seqNum >= 0 && !gap) this.lostL2(text, p.reason, p.problem);
        return;
      }
      case Frame.ERROR:
        this.reject('', 'venue_error', p.problem);
        return;
      case Frame.UNKNOWN:
        this.reject('', 'unknown_message', p.problem);
        return;
      default:
        this.reject('', p.reason, p.problem);
        // an unreadable frame's sequence_num is unknown (-1): if it was a real message, the next
        // frame's sequence_num shows the gap and every book resyncs then
        if (p.seqNum >= 0 && !gap) this.lostL2(text, p.reason, p.problem);
    }
  }

  /**
   * All level2 events of product `st` in this frame, from index `from` on. Every event of a frame
   * shares the frame's sequence_num, so they are one message to the book: the per-book sequence
   * check runs once per frame and product, never per event (a second event would otherwise look
   * like a repeat of the first and resync the book).
   *
   * One event (the usual frame) goes through as it is. Several become: one delta of every update
   * event's levels in frame order (later levels of a price win, as they would applied one by
   * one), then, if the frame has a snapshot of the product, its last snapshot with the update
   * events after it folded in. A SYNCED book applies the delta (its levels are validated and
   * counted like any update's) and is then replaced by the snapshot (takeSnapshot: the venue's
   * book, counted as a resync); a book awaiting its snapshot validates the delta but keeps none of
   * it (a pushed snapshot supersedes every update before it), and syncs on the snapshot, which
   * already holds the updates that followed it.
   */
  private applyL2(st: FeedProduct, events: readonly L2Event[], from: number, seq: number, now: number): void {
    const firstSeq = st.lastL2Seq + 1;
    st.lastL2Seq = seq;
    st.l2Frame = this.stats.frames;
    let count = 0;
    let lastSnapshot = -1;
    for (let j = from; j < events.length; j++) {
      if (events[j]!.ctx !== st) continue;
      count++;
      if (events[j]!.snapshot) lastSnapshot = j;
    }
    const e = events[from]!;
    if (count === 1) {
      if (e.snapshot) this.takeSnapshot(st, seq, e.bids, e.asks, e.ts);
      else this.applyDelta(st, firstSeq, seq, e.bids, e.asks, e.ts, now);
      return;
    }
    // a multi-event frame (rare): fresh arrays of the parser's levels, valid until the next frame
    // like the single-event path's (BookSync and the sinks copy what they keep)
    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    let ts = 0;
    for (let j = from; j < events.length; j++) {
      const u = events[j]!;
      if (u.ctx !== st || u.snapshot) continue;
      for (const l of u.bids) bids.push(l);
      for (const l of u.asks) asks.push(l);
      if (u.ts > ts) ts = u.ts;
    }
    if (lastSnapshot < 0 || bids.length + asks.length > 0) this.applyDelta(st, firstSeq, seq, bids, asks, ts, now);
    if (lastSnapshot < 0) return;
    const snap = events[lastSnapshot]!;
    const bidBook = new Map<number, number>();
    const askBook = new Map<number, number>();
    for (const l of snap.bids) bidBook.set(l.price, l.qty);
    for (const l of snap.asks) askBook.set(l.price, l.qty);
    let snapTs = snap.ts;
    for (let j = lastSnapshot + 1; j < events.length; j++) {
      const u = events[j]!;
      if (u.ctx !== st) continue;
      for (const l of u.bids) bidBook.set(l.price, l.qty);
      for (const l of u.asks) askBook.set(l.price, l.qty);
      if (u.ts > snapTs) snapTs = u.ts;
    }
    const levels = (m: Map<number, number>): BookLevel[] => [...m].map(([price, qty]) => ({ price, qty }));
    this.takeSnapshot(st, seq, levels(bidBook), levels(askBook), snapTs);
  }

  private takeSnapshot(st: FeedProduct, seq: number, rawBids: readonly BookLevel[], rawAsks: readonly BookLevel[], ts: number): void {
    // zero-size levels carry nothing; anything else (negative sizes too) is BookSync's to judge
    // (fresh level objects: the parser reuses its own for the next frame)
    const bids = rawBids.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => b.price - a.price);
    const asks = rawAsks.filter((l) => l.qty !== 0).map((l) => ({ price: l.price, qty: l.qty })).sort((a, b) => a.price - b.price);
    this.opts.onSnapshotTaken?.(st);
    // While SYNCED, the venue sent the product's book again (a resubscribe's answer arriving after
    // the book synced on an earlier one: our own snapshot deadline sends such a resubscribe; or
    // the venue resetting its book). It is the venue's book now: it replaces ours (counted as a
    // resync), without resubscribing.
    st.sync.replace({ seq, bids, asks, ts }, 'venue sent a new level2 snapshot; book replaced');
    if (st.sync.state === 'synced') st.snapshotBackoff.reset();
  }

  private applyDelta(st: FeedProduct, firstSeq: number, seq: number, bids: BookLevel[], asks: BookLevel[], ts: number, now: number): void {
    const d = st.delta;
    d.ts = ts;
    d.recvTs = now;
    d.firstSeq = firstSeq;
    d.seq = seq;
    d.bids = bids;
    d.asks = asks;
    st.sync.onDelta(d);
  }

  /**
   * A rejected frame whose sequence_num was accepted (the envelope read before the bad event):
   * no gap will ever show it, so if it was level2, every book it named missed an update (the
   * other events of a multi-event frame are dropped with the bad one) and resyncs now.
   */
  private lostL2(text: string, reason: FeedRejectReason, problem: string): void {
    for (const ctx of this.parser.l2ProductsOf(text)) (ctx as FeedProduct).sync.resync(`invalid update rejected (${reason}): ${problem}`);
  }

  /** False on a gap (counted, every book resynced, market_trades backfill asked for). */
  private checkSequence(seq: number): boolean {
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (last < 0 || seq === last + 1) return true;
    this.stats.gaps++;
    const why = `sequence gap: expected sequence_num ${last + 1}, got ${seq}`;
    this.error(why);
    for (const p of this.products) p.sync.resync(why);
    this.opts.onSequenceGap();
    return false;
  }

  private onTrades(p: CoinbaseFrameParser, now: number): void {
    // a snapshot lists recent trades, newest first: emit in id order
    const rows = p.trades.length > 1 ? [...p.trades].sort((a, b) => a.tradeId - b.tradeId) : p.trades;
    // The first snapshot of a session is history from before we started: it only sets the id
    // baseline. Later snapshots (after a reconnect or a gap) backfill what we missed.
    const history = p.tradesSnapshot ? new Set(this.products.filter((x) => !x.tradesBaselined)) : undefined;
    if (history) for (const x of history) x.tradesBaselined = true;
    const sink = this.opts.sink();
    for (const r of rows) {
      const st = r.ctx as FeedProduct;
      const moved = st.trades.rebasedBack;
      const mark = st.trades.last;
      const v = st.trades.check(r.tradeId, Number.isFinite(r.ts) && r.ts > 0 ? r.ts : undefined);
      if (st.trades.rebasedBack !== moved) this.reject(st.symbol, 'trade_id_jump', `trade id mark ${mark} was ahead of the stream: later trades behind it followed from ${r.tradeId}`);
      if (v === TradeIdVerdict.DUPLICATE) {
        this.stats.duplicateTrades++;
        continue;
      }
      if (v === TradeIdVerdict.JUMP) {
        this.reject(st.symbol, 'trade_id_jump', `trade id ${r.tradeId} is implausibly far ahead of ${st.trades.last}`);
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
      sink?.onMarketEvent(t);
    }
  }

  private reject(symbol: string, reason: FeedRejectReason, detail: string): void {
    this.stats.errors++;
    this.reporter.reject(symbol, reason, detail);
  }

  private error(message: string): void {
    this.stats.errors++;
    this.opts.sink()?.onFeedError(this.component, `${this.opts.exchange}: ${message}`);
  }
}

/** The trades the engine took before this feed set the product's id mark, as if this feed had emitted them. */
function resumeTrades(p: FeedProduct, taken: readonly { tradeId: string; ts: number }[] | undefined): void {
  if (!Array.isArray(taken)) return;
  for (const t of taken) {
    // our own earlier worker's ids, but checked as the venue's are: one that is not a trade id is skipped
    const id = typeof t?.tradeId === 'string' && /^\d{1,16}$/.test(t.tradeId) ? Number(t.tradeId) : NaN;
    if (!Number.isSafeInteger(id)) continue;
    p.trades.check(id, typeof t.ts === 'number' && Number.isFinite(t.ts) && t.ts > 0 ? t.ts : undefined);
    p.tradesBaselined = true;
  }
}
