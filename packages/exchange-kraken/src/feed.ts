import { type BookLevel, type FeedRejectReason, type MarketEventSink } from '@cwts/core';
import {
  BookSync,
  CONSECUTIVE_RULES,
  ExponentialBackoff,
  FeedErrorReporter,
  MirrorBook,
  TradeIdGuard,
  TradeIdVerdict,
  instrumentScales,
  levelsProblem,
  repeatedSnapshotPrice,
  tradeProblem,
} from '@cwts/core/adapter-kit';
import { krakenChecksum } from './checksum.js';
import type { KrakenInstrument } from './instruments.js';
import { Frame, KrakenFrameParser, makeSymbolCtx, type SymbolCtx } from './parse.js';

export interface FeedSymbol extends SymbolCtx {
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
  snapshotTimer: NodeJS.Timeout | undefined;
  snapshotBackoff: ExponentialBackoff;
}

export interface KrakenFeedOptions {
  exchange: string;
  instruments: readonly KrakenInstrument[];
  /** The subscribed book depth: levels beyond it are truncated like Kraken does. */
  bookDepth: number;
  sink: () => MarketEventSink | undefined;
  /** Injectable clock (ms): receive timestamps, log rate limits. */
  now: () => number;
  random?: () => number;
  /** Kraken has no snapshot request: the market-data client resubscribes the book. */
  requestSnapshot: (s: FeedSymbol) => void;
  /** A snapshot was taken for this symbol (the client stops its snapshot timer). */
  onSnapshotTaken?: (s: FeedSymbol) => void;
  /** The `status` channel reported a system state other than online. */
  onVenueStatus?: (system: string) => void;
  maxTradeIdJump?: number;
  logEveryMs?: number;
}

/**
 * Kraken v2 market data without I/O: ws text frames in, validated integer events out to the
 * sink, book sync per symbol with the CRC32 checksum. `KrakenMarketData` drives it from the
 * socket; the conformance suite's frame harness (`createKrakenFrameHarness`) feeds it directly,
 * so what the malformed-input section tests is exactly the adapter's path.
 *
 * Every frame is counted (`stats.frames`); every rejection goes through one FeedErrorReporter
 * (cwts_feed_errors_total{exchange,symbol,reason} + a rate-limited warn).
 */
export class KrakenFeed {
  readonly symbols: FeedSymbol[];
  readonly reporter: FeedErrorReporter;
  /** Counters for tests and the benchmark. */
  readonly stats = { frames: 0, book: 0, trades: 0, duplicateTrades: 0, snapshots: 0, checksumFailures: 0, heartbeats: 0, updatesBeforeSnapshot: 0 };
  private readonly parser: KrakenFrameParser;

  constructor(private readonly opts: KrakenFeedOptions) {
    this.reporter = new FeedErrorReporter({ exchange: opts.exchange, component: `${opts.exchange}:market-data`, sink: opts.sink, now: opts.now, logEveryMs: opts.logEveryMs });
    this.symbols = opts.instruments.map((k) => {
      const st: FeedSymbol = {
        ...makeSymbolCtx(opts.exchange, instrumentScales(k.instrument), k.precision),
        seq: 0,
        tradeIds: new TradeIdGuard(opts.maxTradeIdJump),
        subscribed: false,
        snapshotTimer: undefined,
        snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: opts.random }),
        sync: undefined as unknown as BookSync,
      };
      st.sync = new BookSync({
        exchange: opts.exchange,
        symbol: k.instrument.symbol,
        rules: CONSECUTIVE_RULES,
        sink: opts.sink,
        requestSnapshot: () => opts.requestSnapshot(st),
        snapshotWhen: 'venue',
        checksum: (book, expected) => {
          if (krakenChecksum(book, st.precision) === expected) return true;
          this.stats.checksumFailures++;
          return false;
        },
        reporter: this.reporter,
        now: opts.now,
      });
      return st;
    });
    this.parser = new KrakenFrameParser(opts.exchange, this.symbols);
  }

  symbol(name: string): FeedSymbol | undefined {
    return this.symbols.find((s) => s.symbol === name);
  }

  /** Inputs rejected so far (frames, values, snapshots), all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  private reject(symbol: string, reason: FeedRejectReason, detail: string): void {
    this.reporter.reject(symbol, reason, detail);
  }

  /** Hot path: one ws text frame. Never throws for anything the venue can send. */
  onFrame(text: string): void {
    this.stats.frames++;
    const p = this.parser;
    const code = p.parse(text, this.opts.now());
    switch (code) {
      case Frame.BOOK: {
        this.stats.book++;
        const s = p.ctx as FeedSymbol;
        if (p.bookType === 'update') this.onBookUpdate(s, p.checksum);
        else this.onBookSnapshot(s, p.checksum);
        return;
      }
      case Frame.TRADE:
        for (const { ctx, trade } of p.trades) {
          const s = ctx as FeedSymbol;
          const bad = tradeProblem(trade.price, trade.qty);
          if (bad !== undefined) {
            this.reject(s.symbol, bad, `trade ${trade.tradeId} has a ${bad.replace(/_/g, ' ')}`);
            continue;
          }
          const moved = s.tradeIds.rebasedBack;
          const mark = s.tradeIds.last;
          const v = s.tradeIds.check(Number(trade.tradeId), Number.isFinite(trade.ts) && trade.ts > 0 ? trade.ts : undefined);
          if (s.tradeIds.rebasedBack !== moved) this.reject(s.symbol, 'trade_id_jump', `trade id mark ${mark} was ahead of the stream: later trades behind it followed from ${trade.tradeId}`);
          if (v === TradeIdVerdict.NEW) {
            this.stats.trades++;
            this.opts.sink()?.onMarketEvent(trade);
          } else if (v === TradeIdVerdict.DUPLICATE) this.stats.duplicateTrades++;
          else this.reject(s.symbol, 'trade_id_jump', `trade id ${trade.tradeId} is implausibly far ahead of ${s.tradeIds.last}`);
        }
        return;
      case Frame.HEARTBEAT:
        this.stats.heartbeats++;
        return;
      case Frame.REPLY:
        return;
      case Frame.STATUS: {
        const d = (p.reply?.data as { system?: unknown }[] | undefined)?.[0];
        if (d && typeof d.system === 'string' && d.system !== 'online') this.opts.onVenueStatus?.(d.system);
        return;
      }
      case Frame.INVALID: {
        const s = p.ctx as FeedSymbol | undefined;
        this.reject(p.reason === 'unknown_symbol' ? '' : (s?.symbol ?? ''), p.reason, `invalid data dropped: ${p.problem}`);
        // a book update we cannot apply means the book would be wrong: resync that symbol
        // (the parser names a symbol only for a book frame, as JSON reads its channel and symbol)
        if (s && p.reason !== 'unknown_symbol' && p.bookFrame && s.sync.state === 'synced') s.sync.resync(`invalid update rejected: ${p.problem}`);
        return;
      }
      case Frame.ERROR:
        this.reject('', 'venue_error', `venue error: ${p.problem}`);
        return;
      case Frame.UNKNOWN:
        this.reject('', 'unknown_message', `unknown message dropped: ${p.problem}`);
        return;
      default:
        if (p.unnamedBook || p.bookFrame || text.includes('"book"')) this.lostBookFrame(text, p.problem, p.unnamedBook);
        else this.reject('', 'malformed', `malformed frame dropped: ${p.problem}`);
    }
  }

  /** A binary frame on a text-only stream. */
  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  /**
   * A book frame we could not read is an update we lost: the next checksum would catch it only
   * if it touched the top 10, so the books it may belong to resync now (those named in the
   * text, or every synced book when the name itself was cut off, is written with an escape, or
   * the frame's entry names no pair: `every`).
   */
  private lostBookFrame(text: string, problem: string, every: boolean): void {
    const named = every || text.includes('\\') ? [] : this.symbols.filter((s) => text.includes(`"${s.symbol}"`));
    this.reject(named.length === 1 ? named[0]!.symbol : '', 'malformed', `unreadable book frame dropped (${problem})`);
    for (const s of named.length > 0 ? named : this.symbols) {
      if (s.sync.state !== 'synced') continue;
      s.sync.resync(`invalid update rejected (malformed): an unreadable book frame may have held an update (${problem})`);
    }
  }

  /**
   * A snapshot we refuse (counted bad_snapshot) is asked for again, backed off by the client;
   * a SYNCED book resyncs, since Kraken replaced its book with the one we refused.
   */
  private refuseSnapshot(s: FeedSymbol, detail: string, why: string): void {
    const sync = s.sync;
    this.reject(s.symbol, 'bad_snapshot', detail);
    if (sync.state === 'buffering') {
      sync.snapshotFailed();
      sync.requestAgain(why);
    } else if (sync.state === 'synced') sync.resync(why);
  }

  private onBookSnapshot(s: FeedSymbol, checksum: number): void {
    const sync = s.sync;
    if (sync.state === 'idle') return;
    // A snapshot is the pair's whole book, one level per price: a price listed twice leaves it
    // open which quantity is the book's (and truncating to the depth by position would keep one
    // level fewer than the book has). Refused and asked for again, as a crossed snapshot is.
    const twice = repeatedSnapshotPrice(s.delta.bids, true);
    const twiceAsk = Number.isNaN(twice) ? repeatedSnapshotPrice(s.delta.asks, false) : NaN;
    if (!Number.isNaN(twice) || !Number.isNaN(twiceAsk)) {
      const side = Number.isNaN(twice) ? 'ask' : 'bid';
      this.refuseSnapshot(s, `book snapshot lists the ${side} price ${Number.isNaN(twice) ? twiceAsk : twice} (ticks) twice`, `book snapshot lists a ${side} price twice`);
      return;
    }
    const depth = this.opts.bookDepth;
    const bids: BookLevel[] = s.delta.bids.slice(0, depth).map((l) => ({ price: l.price, qty: l.qty }));
    const asks: BookLevel[] = s.delta.asks.slice(0, depth).map((l) => ({ price: l.price, qty: l.qty }));
    const check = new MirrorBook();
    check.apply(bids, asks);
    if (krakenChecksum(check, s.precision) !== checksum) {
      this.stats.checksumFailures++;
      // while SYNCED: Kraken replaced its book with this one, and ours is the old one: keeping it
      // SYNCED would let a difference below the checksummed top 10 stand for good (an unreadable
      // snapshot resyncs too). The resync resubscribes for a fresh snapshot.
      this.refuseSnapshot(s, `book snapshot checksum ${checksum} does not match its levels`, 'book snapshot checksum mismatch');
      return;
    }
    this.opts.onSnapshotTaken?.(s);
    this.stats.snapshots++;
    // while SYNCED, Kraken re-sent a snapshot we did not ask for: it replaces the book (counted as a resync)
    sync.replace({ seq: ++s.seq, bids, asks, ts: s.delta.ts }, 'venue sent a new book snapshot');
    if (sync.state === 'synced') s.snapshotBackoff.reset();
  }

  private onBookUpdate(s: FeedSymbol, checksum: number): void {
    const sync = s.sync;
    if (sync.state !== 'synced') {
      // before the snapshot of the current subscription: from the one just unsubscribed
      this.stats.updatesBeforeSnapshot++;
      return;
    }
    const d = s.delta;
    // validated before the truncation below touches the mirror (BookSync would reject it too,
    // but only after the mirror held the bad level)
    const bad = levelsProblem(d.bids, true) ?? levelsProblem(d.asks, true);
    if (bad !== undefined) {
      this.reject(s.symbol, bad, `book update has a level with ${bad.replace(/_/g, ' ')}`);
      sync.resync(`invalid update rejected (${bad}): a level with ${bad.replace(/_/g, ' ')}`);
      return;
    }
    // Kraken sends no delete for a level pushed beyond the subscribed depth: apply to the
    // mirror now (BookSync is told, and does not apply it again) and add explicit deletes for
    // what fell out, so the engine's book is truncated exactly like ours.
    const m = sync.mirror;
    m.apply(d.bids, d.asks);
    const depth = this.opts.bookDepth;
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
    sync.onDelta(d, checksum, true);
  }
}

