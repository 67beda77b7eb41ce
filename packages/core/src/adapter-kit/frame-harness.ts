import type { FeedReject, MarketEventSink } from '../contracts/exchange.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { MirrorBook } from './mirror-book.js';

/**
 * The hook an adapter implements so the exchange conformance suite's malformed-input section
 * (and `pnpm fuzz`) can drive its real parsing path without a network: a factory, exported from
 * a module the suite loads in a worker thread, returning a FrameHarness. The adapter declares
 * sample frames of every message type it reads and the role of their fields; the suite derives
 * the hostile cases (every truncation, wrong types, bad numbers, sequence jumps, crossing
 * levels, binary frames, unknown streams) from them, so a new venue gets every case by
 * describing its frames, not by listing tests.
 */

/** What a field of a sample frame means, so the suite knows which values must be rejected. */
export type FrameFieldRole =
  | 'price' // a price: non-positive, NaN-like, huge or off-grid values must be rejected
  | 'levelQty' // a book level quantity where "0" deletes: negative/NaN-like/huge/off-grid rejected
  | 'qty' // a trade or snapshot quantity: zero rejected too
  | 'seq' // the (last) update id of a depth frame or snapshot: a jump must never be applied
  | 'firstSeq' // the first update id of a depth frame
  | 'tradeId' // a trade id: one far ahead must not make later trades duplicates
  | 'type' // the event type discriminator: an unknown one is counted
  | 'stream' // the stream / channel name
  | 'symbol' // the instrument: an unknown one is counted
  | 'required'; // any other field the frame cannot be used without

export interface FrameField {
  /** JSON path from the root of the sample, e.g. ['data', 'b', 0, 0]. */
  path: (string | number)[];
  role: FrameFieldRole;
  /** For a bid 'price': a price on the grid at or above the best ask after reset (crosses the book). */
  crossing?: string;
}

export interface FrameSample {
  /** The message type, e.g. 'depth', 'trade', 'snapshot'. */
  kind: string;
  /** 'ws' (default): a frame on the socket; 'snapshot': the body answering a snapshot request. */
  channel?: 'ws' | 'snapshot';
  /** Valid text that applies cleanly right after reset('synced') (or answers reset('awaiting-snapshot')). */
  text: string;
  fields: FrameField[];
}

/** The observable outcome after an input (structured-cloneable: it crosses the worker boundary). */
export interface FrameHarnessState {
  /** Inputs the adapter counted as received. */
  frames: number;
  /** Rejections counted (cwts_feed_errors_total, all reasons). */
  rejected: number;
  /** The book as the engine would hold it: 'synced' only after a snapshot and until a resync. */
  state: 'synced' | 'unsynced';
  /** Top 10 per side, [ticks, lots], best first. */
  bids: [number, number][];
  asks: [number, number][];
  /** Trades emitted since reset. */
  trades: { tradeId: string; price: number; qty: number }[];
}

export interface FrameHarness {
  samples(): FrameSample[];
  /** A fresh adapter pipeline: 'synced' at a known book, or 'awaiting-snapshot' (a snapshot request pending). */
  reset(mode?: 'synced' | 'awaiting-snapshot'): FrameHarnessState;
  /** One input through the adapter's own path; never throws for anything a venue can send. */
  feed(input: string | Uint8Array, channel?: 'ws' | 'snapshot'): FrameHarnessState;
  state(): FrameHarnessState;
}

export type FrameHarnessFactory = (options?: unknown) => FrameHarness | Promise<FrameHarness>;

/**
 * A sink for harnesses: keeps the book the engine would show (snapshot -> synced, resync status
 * -> unsynced, deltas applied while synced), the trades, and the rejection count.
 */
export class HarnessSink implements MarketEventSink {
  readonly book = new MirrorBook();
  synced = false;
  trades: FrameHarnessState['trades'] = [];
  rejects: FeedReject[] = [];
  logs: string[] = [];

  onMarketEvent(ev: MarketEvent): void {
    if (ev.type === 'book_snapshot') {
      this.book.clear();
      this.book.apply(ev.bids, ev.asks);
      this.synced = true;
    } else if (ev.type === 'book_delta') {
      if (this.synced) this.book.apply(ev.bids, ev.asks);
    } else if (ev.type === 'trade') this.trades.push({ tradeId: ev.tradeId, price: ev.price, qty: ev.qty });
  }
  onFeedStatus(st: FeedStatusEvent): void {
    if (st.state !== 'synced') {
      this.synced = false;
      this.book.clear();
    }
  }
  onFeedError(_component: string, message: string): void {
    if (this.logs.length < 100) this.logs.push(message);
  }
  onFeedReject(r: FeedReject): void {
    if (this.rejects.length < 1000) this.rejects.push(r);
  }

  reset(): void {
    this.book.clear();
    this.synced = false;
    this.trades = [];
    this.rejects = [];
    this.logs = [];
  }

  snapshot(frames: number, rejected: number): FrameHarnessState {
    const side = (s: MirrorBook['bids']): [number, number][] => {
      const out: [number, number][] = [];
      for (let i = 0; i < Math.min(10, s.n); i++) out.push([s.priceAt(i), s.qtyAt(i)]);
      return out;
    };
    return { frames, rejected, state: this.synced ? 'synced' : 'unsynced', bids: side(this.book.bids), asks: side(this.book.asks), trades: this.trades.map((t) => ({ ...t })) };
  }
}
