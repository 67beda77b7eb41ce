import { type BookLevel, type Instrument, type MarketEventSink } from '@cwts/core';
import {
  BookSync,
  ExponentialBackoff,
  FeedErrorReporter,
  instrumentScales,
  repeatedSnapshotPrice,
  type MirrorBook,
  type MirrorSide,
  type SnapshotInput,
} from '@cwts/core/adapter-kit';
import { BYBIT_BOOK_RULES } from './book-rules.js';
import { BybitFrameParser, Frame, makeSymbolCtx, type SymbolCtx } from './parse.js';

export interface SymbolState extends SymbolCtx {
  sync: BookSync;
  /** A subscribe for the book topic is in flight: its snapshot will come by itself. */
  awaitingSnapshot: boolean;
  snapshotTimer: NodeJS.Timeout | undefined;
  /** Resubscribes before the book syncs again are backed off (reset when SYNCED and on a new connection). */
  snapshotBackoff: ExponentialBackoff;
  recentTradeIds: Set<string>;
  tradeIdRing: string[];
  tradeIdNext: number;
}

export interface BybitFeedDeps {
  exchange: string;
  instruments: readonly Instrument[];
  /** Book depth subscribed (`orderbook.<depth>.<symbol>`). */
  depth: number;
  /** Trade ids remembered per symbol for de-duplication. */
  tradeIdMemory: number;
  /** Where events go; undefined once stopped (nothing is emitted then). */
  sink: () => MarketEventSink | undefined;
  now: () => number;
  /** Jitter of the resubscribe backoff (default Math.random). */
  random?: () => number;
  /** BookSync wants a fresh snapshot of this symbol (the I/O side resubscribes). */
  requestSnapshot: (s: SymbolState, why: string) => void;
  /** A book snapshot for this symbol arrived (the I/O side clears its deadline). */
  onSnapshotArrived?: (s: SymbolState) => void;
  /** A `{"op":"pong"}` arrived. */
  onPong?: () => void;
}

/**
 * Bybit v5 public frame handling with no I/O: the parser, edge validation, in-band snapshot
 * handling, book sync per symbol, trade de-duplication and rejection counting. BybitMarketData
 * drives it from its socket; the frame harness drives it directly.
 */
export class BybitFeed {
  readonly symbols: SymbolState[];
  private readonly parser: BybitFrameParser;
  private readonly reporter: FeedErrorReporter;
  /** Counters for tests and the benchmark. */
  readonly stats = { frames: 0, deltas: 0, snapshots: 0, midStreamSnapshots: 0, resentSnapshots: 0, trades: 0, duplicateTrades: 0, liquidations: 0, pongs: 0, errors: 0, deltasBeforeSnapshot: 0 };

  constructor(private readonly deps: BybitFeedDeps) {
    this.reporter = new FeedErrorReporter({ exchange: deps.exchange, component: `${deps.exchange}:market-data`, sink: deps.sink, now: deps.now });
    this.symbols = deps.instruments.map((i) => {
      const st: SymbolState = {
        ...makeSymbolCtx(deps.exchange, instrumentScales(i), deps.depth),
        sync: undefined as unknown as BookSync,
        awaitingSnapshot: false,
        snapshotTimer: undefined,
        snapshotBackoff: new ExponentialBackoff({ initialMs: 100, maxMs: 5000, random: deps.random }),
        recentTradeIds: new Set(),
        tradeIdRing: [],
        tradeIdNext: 0,
      };
      st.sync = new BookSync({
        exchange: deps.exchange,
        symbol: i.symbol,
        rules: BYBIT_BOOK_RULES,
        sink: deps.sink,
        requestSnapshot: (_sync, why) => deps.requestSnapshot(st, why),
        snapshotWhen: 'venue',
        now: deps.now,
      });
      return st;
    });
    this.parser = new BybitFrameParser(this.symbols);
  }

  symbol(name: string): SymbolState | undefined {
    return this.symbols.find((s) => s.symbol === name);
  }

  /** Rejections counted by reason. */
  get rejections(): Readonly<Record<string, number>> {
    return this.reporter.counts;
  }

  /** Rejections counted, all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  /** Bybit's public streams are text only: a binary frame is counted and dropped. */
  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.stats.errors++;
    this.reporter.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  /** Hot path: one ws text frame. */
  onFrame(text: string): void {
    this.stats.frames++;
    const p = this.parser;
    const code = p.parse(text, this.deps.now());
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
          this.deps.sink()?.onMarketEvent(t);
        }
        return;
      }
      case Frame.LIQUIDATIONS: {
        const s = p.ctx as SymbolState;
        for (let k = 0; k < s.liquidationCount; k++) {
          this.stats.liquidations++;
          this.deps.sink()?.onMarketEvent(s.liquidations[k]!);
        }
        return;
      }
      case Frame.PONG:
        this.stats.pongs++;
        this.deps.onPong?.();
        return;
      case Frame.REPLY:
        return;
      default: {
        this.stats.errors++;
        if (p.repeatedKey) {
          this.repeatedKeyFrame(text, p.problem);
          return;
        }
        const s = p.ctx as SymbolState | undefined;
        this.reporter.reject(s?.symbol ?? '', p.reason, p.problem);
        // a book frame we could not apply leaves the book behind the venue: resync that symbol
        if (s && (code === Frame.INVALID || code === Frame.MALFORMED) && text.includes(s.bookTopic)) s.sync.resync(`invalid update rejected (${p.reason}): ${p.problem}`);
      }
    }
  }

  /**
   * A frame that repeats a key in one object (refused, malformed) may have been an update of a
   * book: the books its text names resync (every book when it names none, or hides a name
   * behind an escape). A frame that cannot be a book frame (no `orderbook` in its text, no
   * escape) touches no book.
   */
  private repeatedKeyFrame(text: string, problem: string): void {
    const escaped = text.includes('\\');
    const named = escaped ? [] : this.symbols.filter((s) => text.includes(s.bookTopic) || text.includes(`"${s.symbol}"`));
    this.reporter.reject(named.length === 1 ? named[0]!.symbol : '', 'malformed', problem);
    if (!escaped && !text.includes('orderbook')) return;
    for (const s of named.length > 0 ? named : this.symbols) s.sync.distrust(`invalid update rejected (malformed): a book frame that repeats a key may have held an update (${problem})`);
  }

  /**
   * A snapshot we refuse (counted bad_snapshot) is asked for again, backed off by the I/O side;
   * a SYNCED book resyncs, since Bybit replaced its book with the one we refused.
   */
  private refuseSnapshot(s: SymbolState, detail: string, why: string): void {
    const sync = s.sync;
    this.stats.errors++;
    this.reporter.reject(s.symbol, 'bad_snapshot', detail);
    if (sync.state === 'buffering') {
      sync.snapshotFailed();
      sync.requestAgain(why);
    } else if (sync.state === 'synced') sync.resync(why);
  }

  private onSnapshot(s: SymbolState): void {
    const snap = s.snapshot;
    s.awaitingSnapshot = false;
    this.deps.onSnapshotArrived?.(s);
    const sync = s.sync;
    if (sync.state === 'idle') return;
    // A snapshot is the book, one level per price: a price listed twice leaves it open which
    // quantity is the book's. Refused and asked for again, as a crossed snapshot is.
    const twice = repeatedSnapshotPrice(snap.bids, true);
    const twiceAsk = Number.isNaN(twice) ? repeatedSnapshotPrice(snap.asks, false) : NaN;
    if (!Number.isNaN(twice) || !Number.isNaN(twiceAsk)) {
      const side = Number.isNaN(twice) ? 'ask' : 'bid';
      this.refuseSnapshot(s, `snapshot ${snap.seq} lists the ${side} price ${Number.isNaN(twice) ? twiceAsk : twice} (ticks) twice`, `snapshot ${snap.seq} lists a ${side} price twice`);
      return;
    }
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
      sync.replace(snap, snap.seq === 1 ? 'venue service restart: snapshot with u=1 replaces the book' : `venue sent a new snapshot mid-stream at u=${snap.seq}; book replaced`);
    } else sync.onSnapshot(snap);
    if (sync.state === 'synced') s.snapshotBackoff.reset();
  }

  /** true when the id is new; remembers the last `tradeIdMemory` ids per symbol. */
  private rememberTrade(s: SymbolState, id: string): boolean {
    if (s.recentTradeIds.has(id)) return false;
    const cap = this.deps.tradeIdMemory;
    if (s.tradeIdRing.length < cap) s.tradeIdRing.push(id);
    else {
      s.recentTradeIds.delete(s.tradeIdRing[s.tradeIdNext]!);
      s.tradeIdRing[s.tradeIdNext] = id;
      s.tradeIdNext = (s.tradeIdNext + 1) % cap;
    }
    s.recentTradeIds.add(id);
    return true;
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
