import type { BookDeltaEvent, BookSnapshotEvent, FeedState, FeedStatusEvent } from '../domain/events.js';
import { instrumentKey } from '../domain/instrument.js';
import { SimpleL2Book } from './simple-book.js';

export interface BookRecord {
  readonly book: SimpleL2Book;
  state: FeedState;
  reason: string;
  /** Local time (clock ms) of the last book or trade event. */
  lastEventTs: number;
  lastSeq: number;
  resyncs: number;
}

export type BookStateListener = (rec: BookRecord, previous: FeedState) => void;

/**
 * Every L2 book the engine keeps, one per venue and symbol, with its sync state. The adapter
 * owns sequencing (it knows the venue's rules); the store checks what it can see for itself:
 * a delta before any snapshot, a sequence that goes backwards, and a crossed book, each of
 * which marks the book unusable until the next snapshot.
 */
export class BookStore {
  private readonly books = new Map<string, BookRecord>();

  constructor(private readonly onStateChange: BookStateListener = () => {}) {}

  get(exchange: string, symbol: string): BookRecord | undefined {
    return this.books.get(instrumentKey(exchange, symbol));
  }

  ensure(exchange: string, symbol: string): BookRecord {
    const key = instrumentKey(exchange, symbol);
    let rec = this.books.get(key);
    if (!rec) {
      rec = { book: new SimpleL2Book(exchange, symbol), state: 'connecting', reason: 'waiting for snapshot', lastEventTs: 0, lastSeq: 0, resyncs: 0 };
      this.books.set(key, rec);
    }
    return rec;
  }

  all(): IterableIterator<BookRecord> {
    return this.books.values();
  }

  applySnapshot(ev: BookSnapshotEvent, now: number): BookRecord {
    const rec = this.ensure(ev.exchange, ev.symbol);
    rec.book.clear();
    rec.book.applyLevels(ev.bids, ev.asks);
    rec.lastSeq = ev.seq;
    rec.lastEventTs = now;
    if (ev.reason === 'resync') rec.resyncs++;
    if (rec.book.isCrossed()) this.setState(rec, 'crossed', `snapshot ${ev.seq} is crossed`);
    else this.setState(rec, 'synced', ev.reason === 'resync' ? `resynced at ${ev.seq}` : `snapshot ${ev.seq}`);
    return rec;
  }

  applyDelta(ev: BookDeltaEvent, now: number): BookRecord {
    const rec = this.ensure(ev.exchange, ev.symbol);
    rec.lastEventTs = now;
    if (rec.state !== 'synced' && rec.state !== 'stale') return rec; // wait for a snapshot
    if (ev.seq !== 0 && rec.lastSeq !== 0 && ev.seq <= rec.lastSeq) {
      this.setState(rec, 'resyncing', `sequence went backwards: ${ev.seq} after ${rec.lastSeq}`);
      return rec;
    }
    rec.book.applyLevels(ev.bids, ev.asks);
    rec.lastSeq = ev.seq;
    if (rec.book.isCrossed()) this.setState(rec, 'crossed', `crossed after delta ${ev.seq}: bid ${rec.book.bestBid()} >= ask ${rec.book.bestAsk()}`);
    else if (rec.state === 'stale') this.setState(rec, 'synced', 'updates resumed');
    return rec;
  }

  applyStatus(st: FeedStatusEvent): void {
    if (st.symbol === '') {
      for (const rec of this.books.values()) if (rec.book.exchange === st.exchange) this.setState(rec, st.state, st.reason);
      return;
    }
    const rec = this.ensure(st.exchange, st.symbol);
    // 'synced' from the adapter only counts once we hold its snapshot.
    if (st.state === 'synced' && rec.lastEventTs === 0) return;
    this.setState(rec, st.state, st.reason);
  }

  /** Marks books with no update for longer than maxAgeMs as stale. */
  checkStaleness(now: number, maxAgeMs: number): void {
    for (const rec of this.books.values()) {
      if (rec.state === 'synced' && now - rec.lastEventTs > maxAgeMs) this.setState(rec, 'stale', `no update for ${now - rec.lastEventTs} ms`);
    }
  }

  private setState(rec: BookRecord, state: FeedState, reason: string): void {
    const prev = rec.state;
    rec.state = state;
    rec.reason = reason;
    rec.book.synced = state === 'synced';
    if (prev !== state) this.onStateChange(rec, prev);
  }
}
