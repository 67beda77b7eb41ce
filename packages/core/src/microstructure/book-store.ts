import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import type { Instrument } from '../domain/instrument.js';
import { instrumentKey, lotsToQty, ticksToPrice } from '../domain/instrument.js';
import { BOOK_STATE_CODES, type MetricsRegistry } from '../observability/metrics.js';
import { L2Book, type L2SyncState, type DeltaResultCode, DeltaResult } from './l2-book.js';

export interface L2BookStoreOptions {
  /** Called on every state change of any book (metrics, health, risk). */
  onStateChange?: (book: L2Book, previous: L2SyncState, reason: string) => void;
  /** Called on every resync of any book, with its short reason label. */
  onResync?: (book: L2Book, reason: string) => void;
  /** Called when a book is created (it starts in `resyncing`, reason `awaiting_snapshot`). */
  onCreate?: (book: L2Book) => void;
  initialLevels?: number;
}

/** One book's entry in `/status`. */
export interface BookStatusEntry {
  exchange: string;
  symbol: string;
  state: L2SyncState;
  reason: string;
  seq: number;
  resyncs: number;
  /** Top levels as decimal strings when the instrument is known, else tick/lot integers as strings. */
  bids: { price: string; qty: string }[];
  asks: { price: string; qty: string }[];
}

/**
 * Every L2 book, one per venue and symbol. Routes snapshot/delta events to the right book and
 * exposes the state machine to health, risk, metrics and `/status`.
 */
export class L2BookStore {
  private readonly books = new Map<string, L2Book>();
  private readonly list: L2Book[] = [];

  constructor(private readonly options: L2BookStoreOptions = {}) {}

  get(exchange: string, symbol: string): L2Book | undefined {
    return this.books.get(instrumentKey(exchange, symbol));
  }

  /** MarketContext.book-compatible lookup. */
  book(exchange: string, symbol: string): L2Book | undefined {
    return this.get(exchange, symbol);
  }

  ensure(exchange: string, symbol: string): L2Book {
    const key = instrumentKey(exchange, symbol);
    let b = this.books.get(key);
    if (b === undefined) {
      b = new L2Book(exchange, symbol, {
        initialLevels: this.options.initialLevels,
        onStateChange: this.options.onStateChange,
        onResync: this.options.onResync,
      });
      this.books.set(key, b);
      this.list.push(b);
      this.options.onCreate?.(b);
    }
    return b;
  }

  all(): readonly L2Book[] {
    return this.list;
  }

  /**
   * Applies a market event. Book snapshots and deltas go to their book; other events are
   * ignored. Returns the delta result (APPLIED for snapshots and other events).
   */
  apply(ev: MarketEvent): DeltaResultCode {
    if (ev.type === 'book_delta') return this.ensure(ev.exchange, ev.symbol).applyDelta(ev);
    if (ev.type === 'book_snapshot') {
      const b = this.ensure(ev.exchange, ev.symbol);
      // A resync snapshot the adapter did not announce (applyStatus 'resyncing') still counts.
      if (ev.reason === 'resync' && b.state !== 'resyncing') b.beginResync('venue_resync', undefined, ev.recvTs);
      b.applySnapshot(ev);
    }
    return DeltaResult.APPLIED;
  }

  /**
   * Applies a feed status from an adapter: `resyncing` starts a resync of the named book (or
   * every book of the venue when symbol is ''), counted under the status reason when it is a
   * short snake_case code (else under `venue_resync`); `stale`/`disconnected`/`connecting`/
   * `stopped` mark synced books stale. Other states are the books' own business.
   */
  applyStatus(st: FeedStatusEvent): void {
    for (const b of this.list) {
      if (b.exchange !== st.exchange || (st.symbol !== '' && b.symbol !== st.symbol)) continue;
      if (st.state === 'resyncing') {
        // Metric label: the reason when it is a short code (`checksum_mismatch`), else a fixed
        // label with the text kept as detail (no unbounded label values).
        if (b.state !== 'resyncing') {
          if (/^[a-z][a-z0-9_]{0,39}$/.test(st.reason)) b.beginResync(st.reason, undefined, st.ts);
          else b.beginResync('venue_resync', st.reason, st.ts);
        }
      } else if (st.state === 'stale' || st.state === 'disconnected' || st.state === 'stopped' || st.state === 'connecting') {
        b.markStale(`${st.state}: ${st.reason}`, st.ts);
      }
    }
  }

  /** Moves every synced book with no update for maxAgeMs to stale. */
  checkStale(now: number, maxAgeMs: number): void {
    for (const b of this.list) b.checkStale(now, maxAgeMs);
  }

  /** `/status` payload: per book its state, reason and top `depth` levels each side. */
  status(depth = 10, instrument?: (exchange: string, symbol: string) => Instrument | undefined): BookStatusEntry[] {
    const out: BookStatusEntry[] = [];
    const tmp: { price: number; qty: number }[] = [];
    for (const b of this.list) {
      const inst = instrument?.(b.exchange, b.symbol);
      const fmt = (side: 'bid' | 'ask') => {
        const n = b.topLevels(side, depth, tmp);
        const levels: { price: string; qty: string }[] = [];
        for (let i = 0; i < n; i++) {
          const l = tmp[i]!;
          levels.push(inst ? { price: ticksToPrice(inst, l.price), qty: lotsToQty(inst, l.qty) } : { price: String(l.price), qty: String(l.qty) });
        }
        return levels;
      };
      out.push({ exchange: b.exchange, symbol: b.symbol, state: b.state, reason: b.stateReason, seq: b.seq, resyncs: b.resyncs, bids: fmt('bid'), asks: fmt('ask') });
    }
    return out;
  }
}

/**
 * Wires a store's books to `cwts_book_state{exchange,symbol}` and
 * `cwts_book_resyncs_total{exchange,symbol,reason}`. Returns options to pass to L2BookStore,
 * chaining optional listeners of your own.
 */
export function bookMetricsListeners(metrics: MetricsRegistry, chain: L2BookStoreOptions = {}): L2BookStoreOptions {
  return {
    ...chain,
    onCreate(book) {
      metrics.bookState.set({ exchange: book.exchange, symbol: book.symbol }, BOOK_STATE_CODES[book.state]);
      chain.onCreate?.(book);
    },
    onStateChange(book, prev, reason) {
      metrics.bookState.set({ exchange: book.exchange, symbol: book.symbol }, BOOK_STATE_CODES[book.state]);
      chain.onStateChange?.(book, prev, reason);
    },
    onResync(book, reason) {
      metrics.bookResyncs.inc({ exchange: book.exchange, symbol: book.symbol, reason });
      chain.onResync?.(book, reason);
    },
  };
}
