import type { MarketEventSink } from '../contracts/exchange.js';
import { copyMarketEvent, type BookDeltaEvent, type BookLevel, type BookSnapshotEvent } from '../domain/events.js';
import { FEED_GUARD_DEFAULTS, FeedErrorReporter, levelsProblem } from './feed-guard.js';
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
  /**
   * Largest plausible advance of the update id in one delta (seq - firstSeq, seq - the book's
   * seq), between two updates buffered while awaiting a snapshot (either way), and between a
   * snapshot and the updates it is matched with. Beyond it the delta is rejected as `seq_jump`
   * and the book resyncs (a buffer starts over): one frame with a valid U but u = 2^53 would
   * otherwise become the book's seq and make every later real update look old, or, buffered,
   * make every snapshot look older than the buffer.
   * Default FEED_GUARD_DEFAULTS.maxSeqJump.
   */
  maxSeqJump?: number;
  /**
   * 'first-delta' only: live updates older than a fetched snapshot that may arrive before the
   * update that confirms it (U <= id + 1 <= u); beyond it the snapshot is taken to be ahead of the
   * stream and another one is fetched. Default 100.
   */
  maxOlderAfterSnapshot?: number;
  /**
   * While SYNCED: updates in a row at or below the book's id (dropped as old) after which the
   * venue is taken to have restarted its ids below the book's, by less than `maxSeqJump`; the
   * book resyncs instead of freezing while every update looks old. Default 100 (a redelivered
   * burst costs at most one snapshot).
   */
  maxOldInARow?: number;
  /** Where rejections are counted and logged; default: one of its own on `sink`. */
  reporter?: FeedErrorReporter;
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
  /** Resyncs by reason class (invalid, gap, checksum, crossed, reconnect, other). */
  readonly resyncs: Record<string, number> = {};
  snapshotsRequested = 0;
  private buffer: BookDeltaEvent[] = [];
  /**
   * 'venue' mode keeps no buffer (a pushed snapshot supersedes what came before it), only the ids
   * of the last update seen while awaiting one (-1: none): the reference the buffer's last update
   * is in the other modes, for the plausibility of the next update and of the snapshot's id.
   */
  private seenFirst = -1;
  private seenSeq = -1;
  private requested = false;
  private hadSnapshot = false;
  private pendingReason = 'initial';
  /**
   * 'first-delta' mode: a snapshot in the mirror that no update has confirmed yet (no buffered or
   * live update covers its id + 1), with the live updates older than it seen since. Not shown: a
   * snapshot whose id is ahead of the stream would otherwise be a SYNCED book that drops every
   * real update as old.
   */
  private unconfirmed: { ev: BookSnapshotEvent; older: number } | undefined;
  /** Updates dropped as old in a row while SYNCED (maxOldInARow). */
  private oldInARow = 0;
  private readonly maxJump: number;
  readonly reporter: FeedErrorReporter;

  constructor(readonly opts: BookSyncOptions) {
    this.maxJump = opts.maxSeqJump ?? FEED_GUARD_DEFAULTS.maxSeqJump;
    this.reporter = opts.reporter ?? new FeedErrorReporter({ exchange: opts.exchange, component: `${opts.exchange}:book-sync`, sink: opts.sink, now: opts.now });
  }

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
    this.seenSeq = -1;
    this.requested = false;
    this.unconfirmed = undefined;
    this.pendingReason = why;
    if ((this.opts.snapshotWhen ?? 'first-delta') !== 'first-delta') this.ask(why);
  }

  /** The connection is gone: stop applying; the adapter reports the connection state. */
  suspend(): void {
    this.state = 'idle';
    this.buffer = [];
    this.seenSeq = -1;
    this.requested = false;
    this.unconfirmed = undefined;
  }

  /** A fetched snapshot is in the mirror, awaiting the update that confirms it ('first-delta'). */
  get awaitingConfirmation(): boolean {
    return this.unconfirmed !== undefined;
  }

  /**
   * Hot path: one parsed delta. The event may be a reused object; it is copied only if buffered.
   * A delta that fails validation (a level with a non-positive price or a negative quantity, an
   * implausible id jump) is counted and never applied; since the book has then missed an update,
   * it leaves SYNCED and resyncs.
   *
   * `inMirror`: the adapter already applied exactly these levels to `mirror` while SYNCED (Kraken
   * does, to find the levels its depth truncation removes), so they are not applied twice.
   */
  onDelta(ev: BookDeltaEvent, checksum?: number, inMirror = false): void {
    const st = this.state;
    if (st === 'idle') return;
    if (!this.deltaValid(ev)) return;
    if (st === 'synced') {
      const v = this.opts.rules.next(ev.firstSeq, ev.seq, this.mirror.seq);
      if (v === SeqVerdict.APPLY) {
        this.oldInARow = 0;
        this.applyAndEmit(ev, checksum, inMirror);
      } else if (v === SeqVerdict.DROP) {
        // far behind the book: the book's own seq is what is wrong (or the venue restarted)
        if (this.mirror.seq - ev.seq > this.maxJump) this.rejectAndResync('seq_jump', `update ${ev.firstSeq}..${ev.seq} is more than ${this.maxJump} behind the book at ${this.mirror.seq}`);
        else if (++this.oldInARow > (this.opts.maxOldInARow ?? 100)) {
          this.resync(`${this.oldInARow} updates in a row at or below the book's id ${this.mirror.seq} (last ${ev.firstSeq}..${ev.seq}): the venue may have restarted its ids; fetching a snapshot`);
        }
      } else if (v === SeqVerdict.GAP) {
        this.resync(`sequence gap: expected ${this.mirror.seq + 1}, got ${ev.firstSeq}..${ev.seq}`);
        this.bufferDelta(ev, checksum);
      }
      return;
    }
    if (st === 'buffering') {
      if (this.unconfirmed !== undefined) this.confirmSnapshot(ev, checksum);
      else this.bufferDelta(ev, checksum);
    }
  }

  /**
   * The first live update after a fetched snapshot that no buffered update confirmed. Binance:
   * updates with u <= lastUpdateId are older (the REST snapshot may be a little ahead of the
   * stream); the first one applied must have U <= lastUpdateId + 1 <= u. Only then is the book
   * shown (snapshot, that update, 'synced').
   */
  private confirmSnapshot(ev: BookDeltaEvent, checksum: number | undefined): void {
    const pending = this.unconfirmed!;
    const L = this.mirror.seq;
    const v = this.opts.rules.first(ev.firstSeq, ev.seq, L);
    if (v === SeqVerdict.DROP) {
      if (L - ev.seq > this.maxJump) {
        this.reporter.reject(this.opts.symbol, 'seq_jump', `snapshot ${L} is more than ${this.maxJump} ids ahead of the stream (${ev.firstSeq}..${ev.seq})`);
        this.resync(`snapshot ${L} is ahead of the stream; fetching another`);
      } else if (++pending.older > (this.opts.maxOlderAfterSnapshot ?? 100)) this.resync(`snapshot ${L} not confirmed: ${pending.older - 1} updates older than it arrived; fetching another`);
      return;
    }
    if (v === SeqVerdict.GAP) {
      this.resync(`sequence gap after snapshot ${L}: expected ${L + 1}, got ${ev.firstSeq}..${ev.seq}`);
      this.bufferDelta(ev, checksum);
      return;
    }
    this.showSnapshot();
    this.applyAndEmit(ev, checksum);
    if (this.state === 'synced') this.announceSynced(pending.ev.reason, pending.ev.recvTs);
  }

  /** Emits the snapshot in `unconfirmed` and goes SYNCED. */
  private showSnapshot(): void {
    const ev = this.unconfirmed!.ev;
    this.unconfirmed = undefined;
    this.state = 'synced';
    this.opts.sink()?.onMarketEvent(ev);
  }

  private announceSynced(reason: string, ts: number): void {
    this.opts.sink()?.onFeedStatus({ type: 'feed_status', exchange: this.opts.exchange, symbol: this.opts.symbol, state: 'synced', reason: `${reason === 'initial' ? 'synced' : 'resynced'} at ${this.mirror.seq} (${this.pendingReason})`, ts });
  }

  private deltaValid(ev: BookDeltaEvent): boolean {
    const f = ev.firstSeq;
    const u = ev.seq;
    if (!Number.isSafeInteger(f) || !Number.isSafeInteger(u) || f < 0 || u < f) {
      this.rejectAndResync('seq_jump', `update ids ${f}..${u} are not a valid range`);
      return false;
    }
    if (u - f > this.maxJump || ((this.state === 'synced' || this.unconfirmed !== undefined) && u - this.mirror.seq > this.maxJump)) {
      this.rejectAndResync('seq_jump', `update ${f}..${u} jumps more than ${this.maxJump} ids (book at ${this.mirror.seq})`);
      return false;
    }
    // Awaiting a snapshot, the last buffered update is the reference: one far-off update buffered
    // here would later meet every snapshot as "older than the buffer" (ahead) or make the snapshot
    // look far ahead of the stream (behind), and the book would not sync until maxBuffer newer
    // updates pushed it out. Which of the two is wrong cannot be told, so the buffer starts over
    // (resync): a bad update just buffered goes with it, and the next real one starts a clean
    // buffer; a venue whose ids really moved on (or back) resyncs from its next update.
    if (this.state === 'buffering' && this.unconfirmed === undefined) {
      const last = this.buffer[this.buffer.length - 1];
      const lastFirst = last !== undefined ? last.firstSeq : this.seenFirst;
      const lastSeq = last !== undefined ? last.seq : this.seenSeq;
      if (lastSeq >= 0 && (u - lastSeq > this.maxJump || lastSeq - u > this.maxJump)) {
        this.rejectAndResync('seq_jump', `update ${f}..${u} is more than ${this.maxJump} ids from the last buffered update ${lastFirst}..${lastSeq}`);
        return false;
      }
    }
    const r = levelsProblem(ev.bids, true) ?? levelsProblem(ev.asks, true);
    if (r !== undefined) {
      this.rejectAndResync(r, `update ${f}..${u} has a level with ${r.replace(/_/g, ' ')}`);
      return false;
    }
    return true;
  }

  /** Counts the rejection; the update is lost, so the book cannot be trusted: resync. */
  private rejectAndResync(reason: Parameters<FeedErrorReporter['reject']>[1], detail: string): void {
    this.reporter.reject(this.opts.symbol, reason, detail);
    this.resync(`invalid update rejected (${reason}): ${detail}`);
  }

  /** Snapshot validation; false = rejected (counted) and another one requested. */
  private snapshotValid(snap: SnapshotInput): boolean {
    let reason: ReturnType<typeof levelsProblem>;
    let detail = '';
    const buf = this.buffer;
    if (!Number.isSafeInteger(snap.seq) || snap.seq < 0) {
      reason = 'bad_snapshot';
      detail = `snapshot id ${snap.seq} is not a valid update id`;
    } else if ((reason = levelsProblem(snap.bids, false) ?? levelsProblem(snap.asks, false)) !== undefined) {
      detail = `snapshot ${snap.seq} has a level with ${reason.replace(/_/g, ' ')}`;
    } else {
      const streamSeq = buf.length > 0 ? buf[buf.length - 1]!.seq : this.seenSeq;
      if (streamSeq >= 0 && snap.seq - streamSeq > this.maxJump) {
        reason = 'seq_jump';
        detail = `snapshot ${snap.seq} is more than ${this.maxJump} ids ahead of the stream (${streamSeq})`;
      }
    }
    if (reason === undefined) return true;
    this.reporter.reject(this.opts.symbol, reason, detail);
    this.ask(`${detail}; asking for another`);
    return false;
  }

  /** The snapshot the adapter fetched; ignored unless a snapshot is awaited (one pushed while SYNCED: replace). */
  onSnapshot(snap: SnapshotInput): void {
    if (this.state !== 'buffering') return;
    if (!this.snapshotValid(snap)) return;
    const buf = this.buffer;
    if (buf.length > 0 && this.opts.rules.snapshotTooOld(snap.seq, buf[0]!.firstSeq)) {
      this.ask(`snapshot ${snap.seq} is older than the buffered updates (first ${buf[0]!.firstSeq})`);
      return;
    }
    const m = this.mirror;
    m.load(snap.bids, snap.asks);
    m.seq = snap.seq;
    if (this.opts.checkCrossed !== false && m.isCrossed()) {
      m.clear();
      this.reporter.reject(this.opts.symbol, 'bad_snapshot', `snapshot ${snap.seq} is crossed`);
      this.ask(`snapshot ${snap.seq} is crossed`);
      return;
    }
    const reason = this.hadSnapshot ? 'resync' : 'initial';
    this.hadSnapshot = true;
    this.requested = false;
    const now = this.opts.now();
    const ev: BookSnapshotEvent = {
      type: 'book_snapshot', exchange: this.opts.exchange, symbol: this.opts.symbol, ts: snap.ts, recvTs: now,
      seq: snap.seq, bids: snap.bids, asks: snap.asks, reason,
    };
    this.buffer = [];
    this.seenSeq = -1;
    this.unconfirmed = { ev, older: 0 };
    // A snapshot the venue pushes in the stream is the book at once, and it comes after every
    // update buffered before it: those are superseded, never replayed onto it. (Replayed, one the
    // venue sent before a restart of its ids, or a forged one, whose id happens to be the
    // snapshot's + 1 would be applied, and the venue's real next update then dropped as a repeat:
    // a wrong book shown SYNCED.)
    const when = this.opts.snapshotWhen ?? 'first-delta';
    if (when === 'venue') {
      this.showSnapshot();
      this.announceSynced(reason, now);
      return;
    }
    // one fetched at once ('immediate') is shown and the buffered stream applied onto it; one
    // fetched on the first update ('first-delta') waits for the update that confirms it
    if (when === 'immediate') this.showSnapshot();
    let first = true;
    for (let k = 0; k < buf.length; k++) {
      const d = buf[k]!;
      const v = first ? this.opts.rules.first(d.firstSeq, d.seq, m.seq) : this.opts.rules.next(d.firstSeq, d.seq, m.seq);
      if (v === SeqVerdict.DROP) continue;
      if (v === SeqVerdict.GAP) {
        this.resync(`sequence gap after snapshot ${snap.seq}: expected ${m.seq + 1}, got ${d.firstSeq}..${d.seq}`);
        // the snapshot may be behind the live stream buffered here: the next one can reach these
        for (let j = k; j < buf.length; j++) this.bufferDelta(buf[j]!, (buf[j] as BookDeltaEvent & { checksum?: number }).checksum);
        return;
      }
      if (this.unconfirmed !== undefined) this.showSnapshot();
      first = false;
      this.applyAndEmit(d, (d as BookDeltaEvent & { checksum?: number }).checksum);
      if ((this.state as BookSyncState) !== 'synced') return;
    }
    // nothing buffered confirmed the fetched snapshot: the next live update must
    if (this.unconfirmed !== undefined) return;
    this.announceSynced(reason, now);
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
   * The adapter refused an input that may have been an update of this book (a depth frame it
   * could not read, or whose symbol it could not trust). A SYNCED book has then missed that
   * update: it resyncs. A book awaiting its snapshot keeps its buffer: the venue's sequence rules
   * find a missed update as a gap when the buffer is matched with the snapshot, and starting over
   * on every bad frame could keep a book from ever syncing.
   */
  distrust(reason: string): void {
    if (this.state === 'synced') this.resync(reason);
  }

  /**
   * Discards the book and starts over: emits feed_status 'resyncing' with the reason, then
   * buffers and asks for a fresh snapshot (emitted with reason 'resync').
   */
  resync(reason: string): void {
    if (this.state === 'idle') return;
    this.discard(reason);
    if ((this.opts.snapshotWhen ?? 'first-delta') !== 'first-delta') this.ask(reason);
  }

  /**
   * A snapshot the venue sent unasked (pushed in-band): while SYNCED it replaces the book, as a
   * resync would (counted by the reason's class, feed_status 'resyncing' with the reason, the
   * snapshot emitted with reason 'resync'), but no snapshot is asked for: this one is it. (Asking
   * would have the adapter resubscribe, and the venue's answer replace the book a second time.)
   * A snapshot that fails validation is asked for again as onSnapshot does. Awaiting a snapshot,
   * it is onSnapshot; idle, ignored.
   */
  replace(snap: SnapshotInput, reason: string): void {
    if (this.state === 'idle') return;
    if (this.state === 'synced') this.discard(reason);
    this.onSnapshot(snap);
  }

  /** Starts over (counted): the book, the buffer and any request are dropped, and 'resyncing' is shown. */
  private discard(reason: string): void {
    const cls = /^invalid update/i.test(reason) ? 'invalid' : /checksum/i.test(reason) ? 'checksum' : /cross/i.test(reason) ? 'crossed' : /reconnect|disconnect/i.test(reason) ? 'reconnect' : /gap|sequence/i.test(reason) ? 'gap' : 'other';
    this.resyncs[cls] = (this.resyncs[cls] ?? 0) + 1;
    this.state = 'buffering';
    this.buffer = [];
    this.seenSeq = -1;
    this.requested = false;
    this.unconfirmed = undefined;
    this.oldInARow = 0;
    this.pendingReason = reason;
    this.mirror.clear();
    this.opts.sink()?.onFeedStatus({ type: 'feed_status', exchange: this.opts.exchange, symbol: this.opts.symbol, state: 'resyncing', reason, ts: this.opts.now() });
  }

  private bufferDelta(ev: BookDeltaEvent, checksum?: number): void {
    // awaiting a snapshot the venue pushes: it will supersede this update (onSnapshot)
    const when = this.opts.snapshotWhen ?? 'first-delta';
    if (when === 'venue') {
      this.seenFirst = ev.firstSeq;
      this.seenSeq = ev.seq;
      return;
    }
    const copy = copyMarketEvent(ev) as BookDeltaEvent & { checksum?: number };
    if (checksum !== undefined) copy.checksum = checksum;
    this.buffer.push(copy);
    const max = this.opts.maxBuffer ?? 10_000;
    if (this.buffer.length > max) this.buffer.splice(0, this.buffer.length - max);
    if (!this.requested && when === 'first-delta') this.ask(this.pendingReason);
  }

  private ask(why: string): void {
    this.requested = true;
    this.snapshotsRequested++;
    this.opts.requestSnapshot(this, why);
  }

  private applyAndEmit(ev: BookDeltaEvent, checksum: number | undefined, inMirror = false): void {
    const m = this.mirror;
    if (!inMirror) m.apply(ev.bids, ev.asks);
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
