import { type Instrument, type MarketEventSink } from '@cwts/core';
import {
  BINANCE_SPOT_RULES,
  BookSync,
  FeedErrorReporter,
  SeqVerdict,
  TradeIdGuard,
  TradeIdVerdict,
  describeSchemaError,
  instrumentScales,
  snapshotLevelsToUnits,
  snapshotSchema,
  tradeProblem,
  type SequenceRules,
} from '@cwts/core/adapter-kit';
import { Affects, BinanceFrameParser, Frame, makeSymbolCtx, type SymbolCtx } from './parse.js';

/**
 * Binance USD-M futures rules: each event's pu must equal the previous u (the parser sets
 * firstSeq = pu + 1, so "consecutive" means pu === last); the first event after the snapshot
 * covers lastUpdateId (U <= L <= u, approximated by firstSeq <= L + 1 <= u + 1). An event that
 * ends at lastUpdateId (u == L) is wholly in the snapshot: it is dropped here, as spot's rule
 * drops it, and the next one (pu == L) is the first applied. Passed on, the engine's book would
 * drop it as old, and a book that dropped an old delta resyncs at its staleness watchdog: a quiet
 * symbol's book would leave SYNCED with nothing missed.
 */
export const BINANCE_USDM_RULES: SequenceRules = {
  name: 'binance-usdm',
  first(first, u, L) {
    if (u <= L) return SeqVerdict.DROP;
    return first <= L + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  next(first, u, last) {
    if (u <= last) return SeqVerdict.DROP;
    return first === last + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  snapshotTooOld(L, first0) {
    return L + 1 < first0;
  },
};

export interface FeedSymbol extends SymbolCtx {
  readonly sync: BookSync;
  /** Ids of the raw trade stream (`t`). */
  readonly trades: TradeIdGuard;
  /** Ids of the aggTrade stream (`a`): a sequence of its own, not comparable with `t`. */
  readonly aggTrades: TradeIdGuard;
  readonly lower: string;
}

export interface BinanceFeedOptions {
  exchange: string;
  instruments: readonly Instrument[];
  futures?: boolean;
  sink: () => MarketEventSink | undefined;
  now: () => number;
  /** The book needs a REST snapshot: fetch it and hand the body to `onSnapshotBody`. */
  requestSnapshot: (symbol: FeedSymbol, why: string) => void;
  /** serverShutdown: the connection should reconnect now. */
  onShutdown?: () => void;
  /** Implausible-jump bounds (defaults: FEED_GUARD_DEFAULTS). */
  maxSeqJump?: number;
  maxTradeIdJump?: number;
  /** Warn-log rate limit per (symbol, reason). */
  logEveryMs?: number;
}

const SNAPSHOT = snapshotSchema('lastUpdateId', 'bids', 'asks');

/**
 * Binance market data without I/O: ws frames and REST snapshot bodies in, validated integer
 * events out to the sink, book sync per symbol. `BinanceMarketData` feeds it from the socket and
 * the REST client; the conformance suite's frame harness and `pnpm fuzz` feed it directly
 * (`createBinanceFrameHarness`), so what they test is exactly the adapter's path.
 *
 * Every frame is counted (`stats.frames`); every rejection goes through one FeedErrorReporter
 * (cwts_feed_errors_total{exchange,symbol,reason} + a rate-limited warn).
 */
export class BinanceFeed {
  readonly symbols: FeedSymbol[];
  readonly reporter: FeedErrorReporter;
  readonly stats = { frames: 0, depth: 0, trades: 0, duplicateTrades: 0, snapshots: 0 };
  private readonly parser: BinanceFrameParser;

  constructor(private readonly opts: BinanceFeedOptions) {
    this.reporter = new FeedErrorReporter({ exchange: opts.exchange, component: `${opts.exchange}:market-data`, sink: opts.sink, now: opts.now, logEveryMs: opts.logEveryMs });
    this.symbols = opts.instruments.map((i) => {
      const ctx = makeSymbolCtx(opts.exchange, instrumentScales(i));
      const st = { ...ctx, lower: i.symbol.toLowerCase(), trades: new TradeIdGuard(opts.maxTradeIdJump), aggTrades: new TradeIdGuard(opts.maxTradeIdJump), sync: undefined as unknown as BookSync };
      st.sync = new BookSync({
        exchange: opts.exchange,
        symbol: i.symbol,
        rules: opts.futures ? BINANCE_USDM_RULES : BINANCE_SPOT_RULES,
        sink: opts.sink,
        requestSnapshot: (_sync, why) => opts.requestSnapshot(st, why),
        snapshotWhen: 'first-delta',
        maxSeqJump: opts.maxSeqJump,
        reporter: this.reporter,
        now: opts.now,
      });
      return st;
    });
    this.parser = new BinanceFrameParser(this.symbols, opts.futures ?? false);
  }

  symbol(name: string): FeedSymbol | undefined {
    return this.symbols.find((s) => s.symbol === name);
  }

  /** Inputs rejected so far (frames, values, snapshots), all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  private reject(symbol: string, reason: Parameters<FeedErrorReporter['reject']>[1], detail: string): void {
    this.reporter.reject(symbol, reason, detail);
  }

  /** Hot path: one ws text frame. Never throws for anything the venue can send. */
  onFrame(text: string): void {
    this.stats.frames++;
    const p = this.parser;
    const code = p.parse(text, this.opts.now());
    switch (code) {
      case Frame.DEPTH: {
        this.stats.depth++;
        const s = p.ctx as FeedSymbol;
        s.sync.onDelta(s.delta);
        break;
      }
      case Frame.TRADE: {
        const s = p.ctx as FeedSymbol;
        const t = s.trade;
        const bad = tradeProblem(t.price, t.qty);
        if (bad !== undefined) {
          this.reject(s.symbol, bad, `trade ${t.tradeId}: ${bad.replace(/_/g, ' ')}`);
          break;
        }
        const ids = p.aggregate ? s.aggTrades : s.trades;
        const mark = ids.last;
        const moved = ids.rebasedBack;
        const v = ids.check(Number(t.tradeId), t.ts);
        if (ids.rebasedBack !== moved) this.reject(s.symbol, 'trade_id_jump', `${p.aggregate ? 'aggTrade' : 'trade'} id mark ${mark} was ahead of the stream: later trades behind it followed from ${t.tradeId}`);
        if (v === TradeIdVerdict.DUPLICATE) this.stats.duplicateTrades++;
        else if (v === TradeIdVerdict.JUMP) this.reject(s.symbol, 'trade_id_jump', `${p.aggregate ? 'aggTrade' : 'trade'} id ${t.tradeId} is implausibly far ahead of ${ids.last}`);
        else {
          this.stats.trades++;
          this.opts.sink()?.onMarketEvent(t);
        }
        break;
      }
      case Frame.LIQUIDATION: {
        const s = p.ctx as FeedSymbol;
        const l = s.liquidation;
        const bad = tradeProblem(l.price, l.qty);
        if (bad !== undefined) this.reject(s.symbol, bad, `liquidation: ${bad.replace(/_/g, ' ')}`);
        else this.opts.sink()?.onMarketEvent(l);
        break;
      }
      case Frame.REPLY:
        break;
      case Frame.SHUTDOWN:
        this.opts.onShutdown?.();
        break;
      case Frame.INVALID: {
        const s = p.ctx as FeedSymbol | undefined;
        this.reject(p.reason === 'unknown_symbol' ? '' : (s?.symbol ?? ''), p.reason, p.problem);
        this.refusedUpdate();
        break;
      }
      case Frame.ERROR:
        this.reject('', 'venue_error', p.problem);
        break;
      case Frame.UNKNOWN:
        this.reject('', 'unknown_message', p.problem);
        this.refusedUpdate();
        break;
      default:
        this.reject(p.ctx?.symbol ?? '', 'malformed', p.problem);
        this.refusedUpdate();
    }
  }

  /**
   * A refused frame that may have been a depth update: the book(s) it may belong to have missed
   * that update, so they leave SYNCED and resync (a book still awaiting its snapshot keeps
   * buffering: matching the buffer with the snapshot finds a missed update as a gap). A refused
   * trade does not touch a book; it is counted and the tape has one trade less.
   */
  private refusedUpdate(): void {
    const p = this.parser;
    if (p.affects === Affects.NONE) return;
    const why = `invalid update rejected (${p.reason}): ${p.problem}`;
    const s = p.ctx as FeedSymbol | undefined;
    if (p.affects === Affects.SYMBOL && s !== undefined) s.sync.distrust(why);
    else for (const each of this.symbols) each.sync.distrust(`${why} (symbol unknown: every book on the stream resyncs)`);
  }

  /** A binary frame on a text-only stream. */
  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`);
  }

  /**
   * A REST depth snapshot body for a symbol that asked for one. Validated with zod (shape) and
   * the edge rules (values on the grid, positive prices and quantities); a bad one is counted and
   * reported back (the caller retries with backoff). True when handed to the book sync.
   */
  onSnapshotBody(s: FeedSymbol, body: unknown): { ok: true } | { ok: false; problem: string } {
    const shape = SNAPSHOT.safeParse(body);
    if (!shape.success) {
      const problem = `depth snapshot rejected: ${describeSchemaError(shape.error)}`;
      this.reject(s.symbol, 'bad_snapshot', problem);
      return { ok: false, problem };
    }
    const b = shape.data as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][]; E?: unknown };
    const bids = snapshotLevelsToUnits(b.bids, s.scales, 'bid');
    const asks = bids.ok ? snapshotLevelsToUnits(b.asks, s.scales, 'ask') : bids;
    if (!bids.ok || !asks.ok) {
      const bad = !bids.ok ? bids : (asks as Extract<typeof asks, { ok: false }>);
      this.reject(s.symbol, bad.reason, bad.detail);
      return { ok: false, problem: `depth snapshot rejected: ${bad.detail}` };
    }
    this.stats.snapshots++;
    s.sync.onSnapshot({ seq: b.lastUpdateId, bids: bids.levels, asks: (asks as typeof bids).levels, ts: typeof b.E === 'number' ? b.E : 0 });
    return { ok: true };
  }
}
