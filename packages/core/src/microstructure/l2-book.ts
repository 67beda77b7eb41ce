import type { BookView } from '../contracts/trading.js';
import type { BookDeltaEvent, BookLevel, BookSnapshotEvent } from '../domain/events.js';
import { SortedLevels } from './sorted-levels.js';

/**
 * Sync state of an L2 book (a subset of the domain's FeedState, so BOOK_STATE_CODES in
 * observability/metrics.ts gives its `cwts_book_state` value):
 * - `resyncing`: no usable book; waiting for a snapshot (also the initial state).
 * - `synced`: snapshot applied and every delta since was in sequence.
 * - `stale`: no update for longer than the owner's threshold (or marked by the owner, e.g. on
 *   disconnect); the next in-sequence delta returns it to `synced`. Only a quiet book goes
 *   stale: one that dropped deltas as OLD since its last applied update resyncs instead
 *   (`markSilent`), and a stale book that drops a delta as OLD resyncs (see `maxOldInARow`).
 * - `crossed`: best bid >= best ask after an update. Deltas keep applying (sequence is kept); it
 *   returns to `synced` if updates uncross it, or the owner calls `beginResync('crossed_book')`.
 * Only `synced` is usable for trading.
 */
export type L2SyncState = 'synced' | 'resyncing' | 'stale' | 'crossed';

/** Side codes for the allocation-free numeric APIs. */
export const BID = 0;
export const ASK = 1;
export type BookSideCode = 0 | 1;

export type BookSyncListener = (book: L2Book, previous: L2SyncState, reason: string) => void;
export type BookResyncListener = (book: L2Book, reason: string) => void;

/** Outcome of applyDelta. */
export const DeltaResult = {
  APPLIED: 0,
  /**
   * seq <= the book's seq (by at most `maxSeqJump`): an old or duplicate update, ignored (and
   * counted: see `maxOldInARow`).
   */
  OLD: 1,
  /** A gap (firstSeq > seq + 1): book moved to `resyncing`, delta not applied. */
  GAP: 2,
  /** The book is `resyncing`; the owner should buffer deltas until the snapshot arrives. */
  IGNORED_RESYNCING: 3,
  /** A non-integer or non-positive price, a non-integer or negative quantity, or an impossible
   * or implausibly far sequence range (more than `maxSeqJump` ahead of the book, or behind it: a
   * sequence reset), or an old delta that shows the venue restarted its sequence below the
   * book's (`maxOldInARow`): book moved to `resyncing`, delta not applied. (A delete is qty 0,
   * never price 0. The raw `applyLevel` path does not check: its producer has.) */
  INVALID: 4,
} as const;
export type DeltaResultCode = (typeof DeltaResult)[keyof typeof DeltaResult];

export interface L2BookOptions {
  /** Initial level capacity per side (grows by doubling). */
  initialLevels?: number;
  onStateChange?: BookSyncListener;
  /** Called on every beginResync (gap, invalid data, crossed, owner request). */
  onResync?: BookResyncListener;
  /**
   * Largest plausible advance of the sequence in one delta (seq - book seq). A delta whose
   * first id is in order but whose last id is far ahead (9007199254740000) would otherwise be
   * applied and make every later real update "old": the book would stay SYNCED and wrong.
   */
  maxSeqJump?: number;
  /**
   * Deltas dropped as OLD in a row (none applied between them) after which the venue is taken
   * to have restarted its sequence below the book's, by less than `maxSeqJump`: the book
   * resyncs (`sequence_reset`) instead of dropping every real update until the new sequence
   * catches up with the old one and then resuming, SYNCED and missing all of them. A stale book
   * resyncs on its first OLD delta. Default DEFAULT_MAX_OLD_IN_A_ROW, as BookSync's at the
   * adapter edge (a redelivered burst costs at most one snapshot).
   */
  maxOldInARow?: number;
}

/** Default `maxOldInARow`. */
export const DEFAULT_MAX_OLD_IN_A_ROW = 100;

/** Default `maxSeqJump`: far beyond any real burst (thousands of ids per frame), far below 2^53. */
export const DEFAULT_MAX_SEQ_JUMP = 10_000_000;

export interface LevelOut {
  price: number;
  qty: number;
}

function isLots(q: number): boolean {
  return Number.isSafeInteger(q) && q >= 0;
}

/**
 * L2 book for market data in integer ticks and lots, with its own sync state machine.
 *
 * Hot path: applyLevel / applyDelta / bestBid / bestAsk / qtyAt / topInto / qtyUpTo allocate
 * nothing. bestBid/bestAsk are O(1) (last element of a sorted typed array).
 */
export class L2Book implements BookView {
  readonly bids: SortedLevels;
  readonly asks: SortedLevels;
  /** Venue sequence of the last applied snapshot or delta (0 when the venue has none). */
  seq = 0;
  /** recvTs (engine clock, ms) of the last applied snapshot or delta. */
  lastUpdateTs = 0;
  /** Count of snapshots applied. */
  snapshots = 0;
  /** Count of level updates applied (deltas' individual levels). */
  levelUpdates = 0;
  /** Resyncs by reason, for `cwts_book_resyncs_total`. */
  readonly resyncsByReason = new Map<string, number>();
  /**
   * Deltas dropped as OLD since the last applied update (snapshot, delta or ring batch). Not 0
   * means the venue is sending updates the book cannot place: the book is not quiet, whatever
   * its age says, and must not resume as if it were (`markSilent`, `maxOldInARow`).
   */
  private oldSinceUpdate = 0;
  private _state: L2SyncState = 'resyncing';
  private _reason = 'awaiting_snapshot';
  private _stateSince = 0;
  private onStateChange: BookSyncListener | undefined;
  private onResync: BookResyncListener | undefined;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    options: L2BookOptions = {},
  ) {
    this.bids = new SortedLevels(options.initialLevels ?? 256);
    this.asks = new SortedLevels(options.initialLevels ?? 256);
    this.onStateChange = options.onStateChange;
    this.onResync = options.onResync;
    this.maxSeqJump = options.maxSeqJump ?? DEFAULT_MAX_SEQ_JUMP;
    this.maxOldInARow = options.maxOldInARow ?? DEFAULT_MAX_OLD_IN_A_ROW;
  }

  readonly maxSeqJump: number;
  readonly maxOldInARow: number;

  /** Deltas dropped as OLD since the last applied update (0 after every applied one). */
  get oldDroppedSinceUpdate(): number {
    return this.oldSinceUpdate;
  }

  setListeners(onStateChange?: BookSyncListener, onResync?: BookResyncListener): void {
    this.onStateChange = onStateChange;
    this.onResync = onResync;
  }

  // ---- state ----------------------------------------------------------------------------

  get synced(): boolean {
    return this._state === 'synced';
  }
  get state(): L2SyncState {
    return this._state;
  }
  /** Why the state last changed (e.g. `sequence_gap: expected 101, got 105`). */
  get stateReason(): string {
    return this._reason;
  }
  /** Time (ms, from the `now` given to the call that changed it) of the last state change. */
  get stateSince(): number {
    return this._stateSince;
  }
  get resyncs(): number {
    let s = 0;
    for (const v of this.resyncsByReason.values()) s += v;
    return s;
  }

  /**
   * Marks the book unusable and waiting for a snapshot; counts a resync under `reason`
   * (a short label such as `sequence_gap`, `crossed_book`, `invalid_delta`, `reconnect`).
   * `detail` is appended to the state reason for /status and logs.
   */
  beginResync(reason: string, detail?: string, now = this.lastUpdateTs): void {
    this.oldSinceUpdate = 0; // the snapshot that ends the resync settles them
    this.resyncsByReason.set(reason, (this.resyncsByReason.get(reason) ?? 0) + 1);
    this.setState('resyncing', detail ? `${reason}: ${detail}` : reason, now);
    this.onResync?.(this, reason);
  }

  /** Marks a synced book stale (e.g. feed silent, disconnect). No-op in other states. */
  markStale(reason: string, now = this.lastUpdateTs): void {
    if (this._state === 'synced') this.setState('stale', reason, now);
  }

  /**
   * Moves a synced book with no update within maxAgeMs out of `synced` (markSilent: `stale`, or
   * `resyncing` when it dropped deltas as OLD meanwhile). Returns true if it did.
   */
  checkStale(now: number, maxAgeMs: number): boolean {
    if (this._state !== 'synced' || now - this.lastUpdateTs <= maxAgeMs) return false;
    this.markSilent(`no_update: none for ${now - this.lastUpdateTs} ms`, now);
    return true;
  }

  /**
   * The owner's staleness watchdog found no update applied to a synced book for too long
   * (`reason` says how long). A quiet feed makes the book `stale`, and the next in-sequence
   * delta resumes it: nothing was missed. A book that dropped deltas as OLD since its last
   * applied update was not quiet: the venue kept sending updates at or below the book's id (it
   * restarted its sequence below the book's), the book is missing them, and the update that
   * brings the new sequence past the old one would resume it SYNCED and wrong. It resyncs
   * (`sequence_reset`). No-op unless synced. Returns the new state.
   */
  markSilent(reason: string, now = this.lastUpdateTs): L2SyncState {
    if (this._state !== 'synced') return this._state;
    if (this.oldSinceUpdate > 0) {
      this.beginResync('sequence_reset', `${reason}, while ${this.oldSinceUpdate} deltas at or below ${this.seq} were dropped as old: the venue restarted its sequence`, now);
    } else this.setState('stale', reason, now);
    return this._state;
  }

  private setState(next: L2SyncState, reason: string, now: number): void {
    const prev = this._state;
    this._reason = reason;
    if (prev === next) return;
    this._state = next;
    this._stateSince = now;
    this.onStateChange?.(this, prev, reason);
  }

  // ---- snapshot / deltas ----------------------------------------------------------------

  /** Empties both sides (state unchanged). */
  clear(): void {
    this.bids.clear();
    this.asks.clear();
  }

  /**
   * Replaces the book with a snapshot. Levels may come in any order (best-first is the fast
   * path; anything else is sorted, O(n log n)); qty 0 levels are skipped; duplicates keep the
   * last (a last qty 0 removes the price). Invalid numbers (a price that is not a positive
   * integer, a qty that is not a non-negative integer) put the book in `resyncing` (reason
   * `invalid_snapshot`) and leave it empty. Returns the new state.
   */
  applySnapshot(ev: Pick<BookSnapshotEvent, 'seq' | 'bids' | 'asks'> & { recvTs?: number }): L2SyncState {
    const now = ev.recvTs ?? this.lastUpdateTs;
    this.clear();
    if (!Number.isSafeInteger(ev.seq) || ev.seq < 0 || !validLevels(ev.bids) || !validLevels(ev.asks)) {
      this.beginResync('invalid_snapshot', `snapshot ${ev.seq} has an impossible sequence or a level with a non-positive or non-integer price or a negative or non-integer qty`, now);
      return this._state;
    }
    this.bids.load(ev.bids, 1);
    this.asks.load(ev.asks, -1);
    this.seq = ev.seq;
    this.lastUpdateTs = now;
    this.oldSinceUpdate = 0;
    this.snapshots++;
    this.afterUpdate('snapshot', ev.seq, now);
    return this._state;
  }

  /**
   * Applies a delta with sequence checks: ignored while resyncing (buffer it), ignored when old
   * (seq <= book seq), gap when firstSeq > seq + 1 (moves to resyncing). Sequence checks are
   * skipped when the event's seq is 0 (venue without sequence numbers).
   */
  applyDelta(ev: Pick<BookDeltaEvent, 'firstSeq' | 'seq' | 'bids' | 'asks'> & { recvTs?: number }): DeltaResultCode {
    if (this._state === 'resyncing') return DeltaResult.IGNORED_RESYNCING;
    const now = ev.recvTs ?? this.lastUpdateTs;
    if (ev.seq !== 0) {
      const verdict = this.sequenceVerdict(ev.firstSeq, ev.seq, now);
      if (verdict !== DeltaResult.APPLIED) return verdict;
    }
    if (!validLevels(ev.bids) || !validLevels(ev.asks)) {
      this.beginResync('invalid_delta', `delta ${ev.seq} has a level with a non-positive or non-integer price or a negative or non-integer qty`, now);
      return DeltaResult.INVALID;
    }
    const bids = ev.bids;
    for (let i = 0; i < bids.length; i++) this.bids.set(bids[i]!.price, bids[i]!.qty);
    const asks = ev.asks;
    for (let i = 0; i < asks.length; i++) this.asks.set(-asks[i]!.price, asks[i]!.qty);
    this.levelUpdates += bids.length + asks.length;
    if (ev.seq !== 0) this.seq = ev.seq;
    this.lastUpdateTs = now;
    this.oldSinceUpdate = 0;
    this.afterUpdate('delta', ev.seq, now);
    return DeltaResult.APPLIED;
  }

  /**
   * Raw level update without sequence or state checks (for records from the feed ring buffer,
   * which the producer has sequenced). Call `endUpdate(seq, now)` after a batch so crossed-book
   * detection and the state machine run once per batch.
   */
  applyLevel(side: BookSideCode, price: number, qty: number): void {
    if (side === BID) this.bids.set(price, qty);
    else this.asks.set(-price, qty);
    this.levelUpdates++;
  }

  /** Ends a batch of applyLevel calls: records seq/time and runs crossed detection. */
  endUpdate(seq: number, now: number): void {
    if (seq !== 0) this.seq = seq;
    this.lastUpdateTs = now;
    this.oldSinceUpdate = 0;
    if (this._state !== 'resyncing') this.afterUpdate('levels', 0, now);
  }

  /**
   * Streaming snapshot (records from the feed ring): beginSnapshot() empties the book, then
   * applyLevel() per level in any order, then endSnapshot(seq, now).
   */
  beginSnapshot(): void {
    this.clear();
  }
  endSnapshot(seq: number, now: number): void {
    this.seq = seq;
    this.lastUpdateTs = now;
    this.oldSinceUpdate = 0;
    this.snapshots++;
    this.afterUpdate('snapshot', seq, now);
  }

  /**
   * Sequence check for a delta about to be applied level by level (ring path): returns
   * APPLIED when the caller should apply it, else OLD / GAP / IGNORED_RESYNCING as applyDelta.
   */
  checkDeltaSeq(firstSeq: number, seq: number, now: number): DeltaResultCode {
    if (this._state === 'resyncing') return DeltaResult.IGNORED_RESYNCING;
    return seq !== 0 ? this.sequenceVerdict(firstSeq, seq, now) : DeltaResult.APPLIED;
  }

  /** OLD, GAP (resync begun), INVALID for an implausible jump either way (resync begun), or APPLIED. */
  private sequenceVerdict(firstSeq: number, seq: number, now: number): DeltaResultCode {
    if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstSeq) || firstSeq > seq) {
      this.beginResync('invalid_delta', `delta ${firstSeq}..${seq} has an impossible sequence range`, now);
      return DeltaResult.INVALID;
    }
    if (seq <= this.seq) {
      // Far behind the book: not a late duplicate but a venue that restarted its sequence numbers
      // (or a book whose own seq is wrong). Dropping it as OLD would freeze the book until the
      // new sequence caught up with the old one; resync instead (BookSync does the same at the
      // adapter edge, so behind it such a delta never gets here).
      if (this.seq - seq > this.maxSeqJump) {
        this.beginResync('sequence_reset', `delta ${firstSeq}..${seq} is ${this.seq - seq} behind ${this.seq} (bound ${this.maxSeqJump}): the venue restarted its sequence`, now);
        return DeltaResult.INVALID;
      }
      // Within the bound an old delta looks like a duplicate, but many in a row, or any on a book
      // already stale (no update applied for the watchdog's whole period), are a restarted
      // sequence: dropped one by one, they would leave a book that resumes SYNCED and wrong once
      // the new sequence passes the old one.
      if (++this.oldSinceUpdate > this.maxOldInARow || this._state === 'stale') {
        this.beginResync('sequence_reset', `${this.oldSinceUpdate} deltas in a row at or below ${this.seq}${this._state === 'stale' ? ' on a stale book' : ''} (last ${firstSeq}..${seq}): the venue restarted its sequence`, now);
        return DeltaResult.INVALID;
      }
      return DeltaResult.OLD;
    }
    if (firstSeq > this.seq + 1) {
      this.beginResync('sequence_gap', `expected ${this.seq + 1}, got ${firstSeq}..${seq}`, now);
      return DeltaResult.GAP;
    }
    if (seq - this.seq > this.maxSeqJump) {
      this.beginResync('sequence_jump', `delta ${firstSeq}..${seq} jumps ${seq - this.seq} past ${this.seq} (bound ${this.maxSeqJump})`, now);
      return DeltaResult.INVALID;
    }
    return DeltaResult.APPLIED;
  }

  /** Applies levels without sequence checks (replayed venue books, tests). */
  applyLevels(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    for (let i = 0; i < bids.length; i++) this.bids.set(bids[i]!.price, bids[i]!.qty);
    for (let i = 0; i < asks.length; i++) this.asks.set(-asks[i]!.price, asks[i]!.qty);
  }

  /**
   * `what` and `seq` name the update ("delta 42") in a state change's reason, built only then:
   * a string per delta was one of the engine's larger allocations per market event.
   */
  private afterUpdate(what: string, seq: number, now: number): void {
    if (this.isCrossed()) {
      if (this._state !== 'crossed') this.setState('crossed', `crossed_book: bid ${this.bestBid()} >= ask ${this.bestAsk()} after ${updateName(what, seq)}`, now);
    } else if (this._state !== 'synced') {
      const prev = this._state;
      const name = updateName(what, seq);
      this.setState('synced', prev === 'resyncing' ? `${name} applied` : prev === 'crossed' ? `uncrossed by ${name}` : `updates resumed (${name})`, now);
    }
  }

  // ---- reads (BookView) -----------------------------------------------------------------

  bestBid(): number | undefined {
    const s = this.bids;
    return s.n > 0 ? s.keys[s.n - 1] : undefined;
  }
  bestAsk(): number | undefined {
    const s = this.asks;
    return s.n > 0 ? -s.keys[s.n - 1]! : undefined;
  }
  /** Best bid or NaN when empty (no boxing of `undefined` checks on hot paths). */
  bestBidOr(empty: number): number {
    const s = this.bids;
    return s.n > 0 ? s.keys[s.n - 1]! : empty;
  }
  bestAskOr(empty: number): number {
    const s = this.asks;
    return s.n > 0 ? -s.keys[s.n - 1]! : empty;
  }
  bestBidQty(): number {
    const s = this.bids;
    return s.n > 0 ? s.qtys[s.n - 1]! : 0;
  }
  bestAskQty(): number {
    const s = this.asks;
    return s.n > 0 ? s.qtys[s.n - 1]! : 0;
  }

  isCrossed(): boolean {
    const b = this.bids;
    const a = this.asks;
    return b.n > 0 && a.n > 0 && b.keys[b.n - 1]! >= -a.keys[a.n - 1]!;
  }

  levelCount(side: 'bid' | 'ask'): number {
    return side === 'bid' ? this.bids.n : this.asks.n;
  }

  qtyAt(side: 'bid' | 'ask', price: number): number {
    return side === 'bid' ? this.bids.get(price) : this.asks.get(-price);
  }

  /**
   * Quantity available at prices at least as good as `limitPrice` for a taker: for 'ask',
   * levels with price <= limit (what a buy up to limit can take); for 'bid', price >= limit.
   */
  qtyUpTo(side: 'bid' | 'ask', limitPrice: number): number {
    return side === 'bid' ? this.bids.sumFrom(limitPrice) : this.asks.sumFrom(-limitPrice);
  }

  /**
   * Fills `out` with up to n levels best-first; returns the count. Reuses the objects already
   * in `out` (creates them only the first time), so a reused array allocates nothing.
   */
  topLevels(side: 'bid' | 'ask', n: number, out: LevelOut[]): number {
    const s = side === 'bid' ? this.bids : this.asks;
    const sign = side === 'bid' ? 1 : -1;
    const count = n < s.n ? n : s.n;
    for (let i = 0; i < count; i++) {
      const j = s.n - 1 - i;
      const price = sign * s.keys[j]!;
      const o = out[i];
      if (o !== undefined) {
        o.price = price;
        o.qty = s.qtys[j]!;
      } else out[i] = { price, qty: s.qtys[j]! };
    }
    return count;
  }

  /** Typed-array variant of topLevels: writes prices and quantities best-first. */
  topInto(side: BookSideCode, n: number, prices: Float64Array, qtys: Float64Array): number {
    const s = side === BID ? this.bids : this.asks;
    const keys = s.keys;
    const q = s.qtys;
    const top = s.n - 1;
    let count = n < s.n ? n : s.n;
    if (count > prices.length) count = prices.length;
    if (count > qtys.length) count = qtys.length;
    if (side === BID) {
      for (let i = 0; i < count; i++) {
        prices[i] = keys[top - i]!;
        qtys[i] = q[top - i]!;
      }
    } else {
      for (let i = 0; i < count; i++) {
        prices[i] = -keys[top - i]!;
        qtys[i] = q[top - i]!;
      }
    }
    return count;
  }

  /** i-th level from the best (0 = best), price or NaN. Allocation-free iteration. */
  priceAtDepth(side: BookSideCode, i: number): number {
    const s = side === BID ? this.bids : this.asks;
    if (i < 0 || i >= s.n) return NaN;
    return (side === BID ? 1 : -1) * s.keys[s.n - 1 - i]!;
  }
  qtyAtDepth(side: BookSideCode, i: number): number {
    const s = side === BID ? this.bids : this.asks;
    if (i < 0 || i >= s.n) return 0;
    return s.qtys[s.n - 1 - i]!;
  }
}

/**
 * A price of 0 or below is no price a venue quotes (a delete is qty 0): shown as SYNCED it
 * would value orders, risk and fills at nothing or less, so it is invalid data like a
 * fractional tick.
 */
function validLevels(levels: readonly BookLevel[]): boolean {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (!Number.isSafeInteger(l.price) || l.price <= 0 || !isLots(l.qty)) return false;
  }
  return true;
}

/** "delta 42", or "delta" for a venue without sequence numbers (seq 0). */
function updateName(what: string, seq: number): string {
  return seq !== 0 ? `${what} ${seq}` : what;
}
