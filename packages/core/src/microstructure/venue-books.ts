import type { BookDeltaEvent, BookSnapshotEvent, FeedState, FeedStatusEvent } from '../domain/events.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import { DeltaResult, L2Book, type L2BookOptions } from './l2-book.js';

export interface BookRecord {
  readonly book: L2Book;
  /** The engine's view: the book's own sync state, or a connection state the venue reported. */
  state: FeedState;
  reason: string;
  /**
   * Local time (clock ms) of the last snapshot or delta the book applied. A delta the book drops
   * (old, a gap, invalid, or while it waits for a snapshot) does not count: a venue that keeps
   * sending updates the book cannot use is as silent as one that sends nothing, and the
   * staleness watchdog, the risk check and `cwts_feed_last_event_age_seconds` read this.
   */
  lastEventTs: number;
  /** Sequence of the last applied update. */
  readonly lastSeq: number;
  /** Resync snapshots received. */
  resyncs: number;
  /**
   * True while the book is resyncing for what it found itself (a gap between deltas, an invalid
   * level or snapshot, a restarted sequence the staleness watchdog saw), which the venue's adapter
   * has not announced: nothing at the adapter knows a snapshot is needed, so the engine asks for
   * one (MarketDataClient.requestResync). False once the adapter announces the resync itself.
   */
  readonly ownResync: boolean;
}

export type BookStateListener = (rec: BookRecord, previous: FeedState) => void;

/** States the venue reports about its connection; they hold until the next snapshot. */
const CONNECTION_STATES: ReadonlySet<FeedState> = new Set(['connecting', 'disconnected', 'stopped']);

class Rec implements BookRecord {
  state: FeedState = 'connecting';
  reason = 'waiting for snapshot';
  lastEventTs = 0;
  resyncs = 0;
  ownResync = false;
  constructor(readonly book: L2Book) {}
  get lastSeq(): number {
    return this.book.seq;
  }
}

/**
 * Every L2 book the engine keeps (the microstructure engine's `L2Book`), one per venue and
 * symbol, with the state the engine trades by. The adapter owns the venue's sequencing rules;
 * the book checks what it can see for itself (a gap between deltas, an invalid level, a crossed
 * book) and is unusable until the next snapshot. Old deltas (seq at or below the book's) are
 * dropped, as every venue's documented sync procedure does, and do not count as updates for
 * staleness; a delta more than the book's `maxSeqJump` below it, or `maxOldInARow` old ones in a
 * row (the venue restarted its sequence numbers), starts a resync (`sequence_reset`), as
 * `BookSync` does at the adapter edge. Behind no kit (a replay, a third party's adapter) fewer
 * old deltas in a row can still be a restart: the staleness watchdog resyncs a book that dropped
 * any since its last applied update, since it missed them and would otherwise resume SYNCED and
 * wrong when the new sequence passes the old one; only a quiet book goes `stale`.
 */
export class BookStore {
  private readonly books = new InstrumentMap<Rec>();

  private onStateChange: BookStateListener;
  private onOwnResync: (rec: BookRecord) => void = () => {};

  constructor(onStateChange: BookStateListener = () => {}) {
    this.onStateChange = onStateChange;
  }

  /**
   * Sets what is told when a book starts a resync the venue's adapter has not announced
   * (BookRecord.ownResync): the engine asks the adapter for a snapshot. Called after the state change.
   */
  onResyncOfOwn(listener: (rec: BookRecord) => void): void {
    this.onOwnResync = listener;
  }

  /** Adds a listener to state changes (the engine's metrics and logs; a store built elsewhere). */
  listen(listener: BookStateListener): void {
    const previous = this.onStateChange;
    this.onStateChange = (rec, prev) => {
      previous(rec, prev);
      listener(rec, prev);
    };
  }

  get(exchange: string, symbol: string): BookRecord | undefined {
    return this.books.get(exchange, symbol);
  }

  /** The book of (exchange, symbol), created on first use; `options` apply only to a book created now. */
  ensure(exchange: string, symbol: string, options?: Pick<L2BookOptions, 'maxSeqJump'>): BookRecord {
    let rec = this.books.get(exchange, symbol);
    if (!rec) {
      rec = new Rec(new L2Book(exchange, symbol, options?.maxSeqJump !== undefined ? { maxSeqJump: options.maxSeqJump } : undefined));
      this.books.set(exchange, symbol, rec);
    }
    return rec;
  }

  all(): readonly BookRecord[] {
    return this.books.values();
  }

  applySnapshot(ev: BookSnapshotEvent, now: number): BookRecord {
    const rec = this.ensure(ev.exchange, ev.symbol) as Rec;
    if (ev.reason === 'resync') rec.resyncs++;
    const applied = rec.book.snapshots;
    rec.book.applySnapshot(ev);
    if (rec.book.snapshots !== applied) rec.lastEventTs = now; // an invalid snapshot is not an update
    // the adapter believes it delivered the snapshot its resync waited for: the next is ours to ask
    else this.own(rec, true);
    this.follow(rec, ev.reason === 'resync' ? `resynced at ${ev.seq}` : `snapshot ${ev.seq}`);
    return rec;
  }

  applyDelta(ev: BookDeltaEvent, now: number): BookRecord {
    const rec = this.ensure(ev.exchange, ev.symbol) as Rec;
    if (CONNECTION_STATES.has(rec.state)) return rec; // wait for a snapshot
    // Only an applied delta is an update: deltas dropped as OLD (e.g. a venue that restarted its
    // sequence numbers below the book's) must not keep a frozen book fresh.
    if (rec.book.applyDelta(ev) === DeltaResult.APPLIED) rec.lastEventTs = now;
    this.follow(rec, rec.book.stateReason);
    return rec;
  }

  applyStatus(st: FeedStatusEvent): void {
    const targets = st.symbol === '' ? [...this.books.values()].filter((r) => r.book.exchange === st.exchange) : [this.ensure(st.exchange, st.symbol) as Rec];
    for (const rec of targets) {
      switch (st.state) {
        case 'resyncing':
        case 'crossed':
          rec.book.beginResync(st.state === 'crossed' ? 'crossed_book' : 'venue_resync', st.reason);
          this.own(rec, false); // the adapter knows, and owns the snapshot that ends it
          this.setState(rec, 'resyncing', st.reason);
          break;
        case 'stale':
          rec.book.markStale(st.reason);
          if (rec.state === 'synced') this.setState(rec, 'stale', st.reason);
          break;
        case 'connecting':
        case 'disconnected':
        case 'stopped':
          rec.book.markStale(st.reason);
          this.setState(rec, st.state, st.reason);
          break;
        case 'synced':
          // Only a snapshot makes a book usable; the venue's word alone does not.
          break;
      }
    }
  }

  /**
   * Books with no applied update for longer than maxAgeMs leave `synced`: a quiet one goes
   * `stale` (the next in-sequence delta resumes it), one that dropped deltas as OLD meanwhile
   * resyncs (`sequence_reset`, L2Book.markSilent).
   */
  checkStaleness(now: number, maxAgeMs: number): void {
    for (const rec of this.books.values()) {
      // The wall clock stepped back: the age starts over from now (it cannot tell how much real
      // time the step hid), so a silent book goes stale within maxAgeMs instead of once the clock
      // has made up the whole step; the risk check and the feed-age gauge read the same time.
      if (now < rec.lastEventTs) rec.lastEventTs = now;
      if (rec.state === 'synced' && now - rec.lastEventTs > maxAgeMs) {
        const reason = `no update for ${now - rec.lastEventTs} ms`;
        if (rec.book.markSilent(reason) === 'resyncing') {
          this.setState(rec, 'resyncing', rec.book.stateReason);
          this.own(rec, true);
        } else this.setState(rec, 'stale', reason);
      }
    }
  }

  /** The engine state follows the book's own sync state after an update. */
  private follow(rec: Rec, reason: string): void {
    // a resync the update started here (a gap, an invalid level): the adapter saw nothing wrong
    const started = rec.book.state === 'resyncing' && rec.state !== 'resyncing';
    this.setState(rec, rec.book.state, rec.book.state === 'synced' ? reason : rec.book.stateReason);
    if (started) this.own(rec, true);
    else if (rec.book.state !== 'resyncing') this.own(rec, false);
  }

  /** Whether the book's resync is the engine's own to ask for (ownResync); tells onOwnResync when it becomes so. */
  private own(rec: Rec, own: boolean): void {
    const was = rec.ownResync;
    rec.ownResync = own;
    if (own && !was) this.onOwnResync(rec);
  }

  private setState(rec: Rec, state: FeedState, reason: string): void {
    const prev = rec.state;
    rec.state = state;
    rec.reason = reason;
    if (prev !== state) this.onStateChange(rec, prev);
  }
}
