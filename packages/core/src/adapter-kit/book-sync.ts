import type { MarketEventSink } from '../contracts/exchange.js';
import { copyMarketEvent, type BookDeltaEvent, type BookLevel, type BookSnapshotEvent } from '../domain/events.js';
import { MirrorBook } from './mirror-book.js';

/** What to do with one delta given the book's sequence. */
export const SeqVerdict = { APPLY: 0, DROP: 1, GAP: 2 } as const;
export type SeqVerdictCode = (typeof SeqVerdict)[keyof typeof SeqVerdict];

/** A venue's sequencing rules, written once per venue and fed to the BookSync machine. */
export interface SequenceRules {
  readonly name: string;
  /** The first delta applied after a snapshot valid at snapSeq. */
  first(firstSeq: number, seq: number, snapSeq: number): SeqVerdictCode;
  /** Every later delta; lastSeq is the seq of the last applied update. */
  next(firstSeq: number, seq: number, lastSeq: number): SeqVerdictCode;
  /** The snapshot ends before the oldest buffered delta starts: fetch another snapshot. */
  snapshotTooOld(snapSeq: number, oldestFirstSeq: number): boolean;
}

/**
 * Binance spot diff-depth rules (web-socket-streams.md, "How to manage a local order book
 * correctly"): drop events with u <= lastUpdateId; the first applied event has
 * U <= lastUpdateId + 1 <= u; after that each event's U must be the previous u + 1.
 */
export const BINANCE_SPOT_RULES: SequenceRules = {
  name: 'binance-spot',
  first(U, u, L) {
    if (u <= L) return SeqVerdict.DROP;
    return U <= L + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  next(U, u, last) {
    if (u <= last) return SeqVerdict.DROP;
    return U === last + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  snapshotTooOld(L, U0) {
    return L + 1 < U0;
  },
};

/** One sequence number per update, each exactly the previous + 1 (firstSeq === seq). */
export const CONSECUTIVE_RULES: SequenceRules = {
  name: 'consecutive',
  first(first, seq, snap) {
    if (seq <= snap) return SeqVerdict.DROP;
    return first <= snap + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  next(first, seq, last) {
    if (seq <= last) return SeqVerdict.DROP;
    return first === last + 1 ? SeqVerdict.APPLY : SeqVerdict.GAP;
  },
  snapshotTooOld(snap, first0) {
    return snap + 1 < first0;
  },
};

/** Venues without sequence numbers: everything applies (checksums or snapshots guard them). */
export const NO_SEQUENCE_RULES: SequenceRules = {
  name: 'none',
  first: () => SeqVerdict.APPLY,
  next: () => SeqVerdict.APPLY,
  snapshotTooOld: () => false,
};

export type BookSyncState = 'idle' | 'buffering' | 'synced';

/** A snapshot as the adapter fetched or received it (integer levels, best first). */
export interface SnapshotInput {
  seq: number;
  bids: BookLevel[];
  asks: BookLevel[];
  /** Venue time (0 when unknown). */
  ts: number;
}

export interface BookSyncOptions {
  exchange: string;
  symbol: string;
  rules: SequenceRules;
  /** Where events go (the engine); looked up at every emit so it may be set after construction. */
  sink: () => MarketEventSink | undefined;
  /** Fetch (REST) or ask for (ws) a snapshot, then call onSnapshot or snapshotFailed. */
  requestSnapshot: (sync: BookSync, why: string) => void;
  /**
   * When to ask: 'first-delta' (Binance: buffer first, then fetch, so the snapshot overlaps the
   * stream), 'immediate', or 'venue' (the venue pushes a snapshot after subscribing; resync
   * calls requestSnapshot, which should resubscribe).
   */
  snapshotWhen?: 'first-delta' | 'immediate' | 'venue';
  /** Deltas kept while waiting for a snapshot; the oldest are dropped beyond it. Default 10000. */
  maxBuffer?: number;
  /** Venue checksum over the mirror book after a delta; false triggers a checksum resync. */
  checksum?: (book: MirrorBook, expected: number) => boolean;
  /** Resync when the mirror book crosses (default true). */
  checkCrossed?: boolean;
  now: () => number;
}

/**
 * Per-symbol book-sync state machine, venue-agnostic: buffer deltas, take a snapshot, drop
 * stale deltas, apply the rest by the venue's sequencing rules, and resync on a gap, a checksum
 * mismatch or a crossed book. It keeps a mirror of the book to check crossing and checksums,
 * and emits to the sink: `book_snapshot` (reason 'initial' or 'resync'), in-sequence
 * `book_delta`s, and `feed_status` ('resyncing' with a reason naming gap / checksum / crossed /
 * reconnect, 'synced'). Nothing is emitted for a book that is not synced, so the engine never
 * trades on a book known to be wrong.
 */
export class BookSync {
  readonly mirror = new MirrorBook();
  state: BookSyncState = 'idle';
  /** Resyncs by reason class (gap, checksum, crossed, reconnect, other). */
  readonly resyncs: Record<string, number> = {};
  snapshotsRequested = 0;
  private buffer: BookDeltaEvent[] = [];
  private requested = false;
  private hadSnapshot = false;
  private pendingReason = 'initial';

  constructor(readonly opts: BookSyncOptions) {}

  get exchange(): string {
    return this.opts.exchange;
  }
  get symbol(): string {
    return this.opts.symbol;
  }
  get lastSeq(): number {
    return this.mirror.seq;
  }
  get buffered(): number {
    return this.buffer.length;
  }

  /** Starts (or restarts after a reconnect) the sync; `why` is the reason shown to the engine. */
  begin(why = 'initial'): void {
    if (this.hadSnapshot) {
      this.state = 'buffering';
      this.resync(why);
      return;
    }
    this.state = 'buffering';
    this.buffer = [];
    this.requested = false;
    this.pendingReason = why;
    if ((this.opts.snapshotWhen ?? 'first-delta') !== 'first-delta') this.ask(why);
  }

  /** The connection is gone: stop applying; the adapter reports the connection state. */
  suspend(): void {
    this.state = 'idle';
    this.buffer = [];
    this.requested = false;
  }

  /** Hot path: one parsed delta. The event may be a reused object; it is copied only if buffered. */
  onDelta(ev: BookDeltaEvent, checksum?: number): void {
    const st = this.state;
    if (st === 'synced') {
      const v = this.opts.rules.next(ev.firstSeq, ev.seq, this.mirror.seq);
      if (v === SeqVerdict.APPLY) this.applyAndEmit(ev, checksum);
      else if (v === SeqVerdict.GAP) {
        this.resync(`sequence gap: expected ${this.mirror.seq + 1}, got ${ev.firstSeq}..${ev.seq}`);
        this.bufferDelta(ev, checksum);
      }
      return;
    }
    if (st === 'buffering') this.bufferDelta(ev, checksum);
  }

  /** The snapshot the adapter fetched; ignored unless a snapshot is awaited. */
  onSnapshot(snap: SnapshotInput): void {
    if (this.state !== 'buffering') return;
    const buf = this.buffer;
    if (buf.length > 0 && this.opts.rules.snapshotTooOld(snap.seq, buf[0]!.firstSeq)) {
      this.ask(`snapshot ${snap.seq} is older than the buffered updates (first ${buf[0]!.firstSeq})`);
      return;
    }
    const m = this.mirror;
    m.clear();
    m.apply(snap.bids, snap.asks);
    m.seq = snap.seq;
    if (this.opts.checkCrossed !== false && m.isCrossed()) {
      this.ask(`snapshot ${snap.seq} is crossed`);
      return;
    }
    const reason = this.hadSnapshot ? 'resync' : 'initial';
    this.hadSnapshot = true;
    this.requested = false;
    this.state = 'synced';
    const now = this.opts.now();
    const ev: BookSnapshotEvent = {
      type: 'book_snapshot', exchange: this.opts.exchange, symbol: this.opts.symbol, ts: snap.ts, recvTs: now,
      seq: snap.seq, bids: snap.bids, asks: snap.asks, reason,
    };
    const sink = this.opts.sink();
    sink?.onMarketEvent(ev);
    this.buffer = [];
    let first = true;
    for (let k = 0; k < buf.length; k++) {
      const d = buf[k]!;
      const v = first ? this.opts.rules.first(d.firstSeq, d.seq, m.seq) : this.opts.rules.next(d.firstSeq, d.seq, m.seq);
      if (v === SeqVerdict.DROP) continue;
      if (v === SeqVerdict.GAP) {
        this.resync(`sequence gap after snapshot ${snap.seq}: expected ${m.seq + 1}, got ${d.firstSeq}..${d.seq}`);
        for (let j = k; j < buf.length; j++) this.bufferDelta(buf[j]!, (buf[j] as BookDeltaEvent & { checksum?: number }).checksum);
        return;
      }
      first = false;
      this.applyAndEmit(d, (d as BookDeltaEvent & { checksum?: number }).checksum);
      if (this.state !== 'synced') return;
    }
    sink?.onFeedStatus({ type: 'feed_status', exchange: this.opts.exchange, symbol: this.opts.symbol, state: 'synced', reason: `${reason === 'initial' ? 'synced' : 'resynced'} at ${m.seq} (${this.pendingReason})`, ts: now });
  }

  /** The snapshot request failed; the adapter retries by calling requestAgain() later. */
  snapshotFailed(): void {
    this.requested = false;
  }

  /** Asks for a snapshot again (after a failed fetch and the adapter's backoff). */
  requestAgain(why: string): void {
    if (this.state === 'buffering') this.ask(why);
  }

  /**
   * Discards the book and starts over: emits feed_status 'resyncing' with the reason, then
   * buffers and asks for a fresh snapshot (emitted with reason 'resync').
   */
  resync(reason: string): void {
    if (this.state === 'idle') return;
    const cls = /checksum/i.test(reason) ? 'checksum' : /cross/i.test(reason) ? 'crossed' : /reconnect|disconnect/i.test(reason) ? 'reconnect' : /gap|sequence/i.test(reason) ? 'gap' : 'other';
    this.resyncs[cls] = (this.resyncs[cls] ?? 0) + 1;
    this.state = 'buffering';
    this.buffer = [];
    this.requested = false;
    this.pendingReason = reason;
    this.mirror.clear();
    this.opts.sink()?.onFeedStatus({ type: 'feed_status', exchange: this.opts.exchange, symbol: this.opts.symbol, state: 'resyncing', reason, ts: this.opts.now() });
    if ((this.opts.snapshotWhen ?? 'first-delta') !== 'first-delta') this.ask(reason);
  }

  private bufferDelta(ev: BookDeltaEvent, checksum?: number): void {
    const copy = copyMarketEvent(ev) as BookDeltaEvent & { checksum?: number };
    if (checksum !== undefined) copy.checksum = checksum;
    this.buffer.push(copy);
    const max = this.opts.maxBuffer ?? 10_000;
    if (this.buffer.length > max) this.buffer.splice(0, this.buffer.length - max);
    if (!this.requested && (this.opts.snapshotWhen ?? 'first-delta') === 'first-delta') this.ask(this.pendingReason);
  }

  private ask(why: string): void {
    this.requested = true;
    this.snapshotsRequested++;
    this.opts.requestSnapshot(this, why);
  }

  private applyAndEmit(ev: BookDeltaEvent, checksum: number | undefined): void {
    const m = this.mirror;
    m.apply(ev.bids, ev.asks);
    m.seq = ev.seq;
    const ck = this.opts.checksum;
    if (ck !== undefined && checksum !== undefined && !ck(m, checksum)) {
      this.resync(`checksum mismatch after update ${ev.seq}`);
      return;
    }
    if (this.opts.checkCrossed !== false && m.isCrossed()) {
      this.resync(`crossed book after update ${ev.seq}: bid ${m.bids.best()} >= ask ${m.asks.best()}`);
      return;
    }
    this.opts.sink()?.onMarketEvent(ev);
  }
}
