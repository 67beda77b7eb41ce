/**
 * Fixed 64-byte market-data records for the feed worker -> engine thread path over SpscRing.
 *
 * Record = 8 float64 (all values are integers well inside 2^53):
 *   [0] type   [1] instrument id (a small integer both threads agree on)
 *   [2] a      [3] b      [4] seq     [5] venue ts (ms)   [6] recv ts (ms)   [7] side / count
 *
 *   SNAPSHOT: a = -, b = lost, seq, ts, recvTs, [7] = number of LEVEL records that follow
 *   DELTA:    a = firstSeq, b = lost, seq, ts, recvTs, [7] = number of LEVEL records that follow
 *   LEVEL:    a = price (ticks), b = qty (lots; 0 removes), [7] = side (0 bid, 1 ask)
 *   TRADE:    a = price, b = qty, seq = trade id if numeric, ts, recvTs, [7] = aggressor (0 buy, 1 sell)
 * `lost` is 1 when the writer dropped book records of this instrument since its last header.
 *
 * The producer parses venue frames once and writes records with `FeedRecordWriter`; the engine
 * thread drains them with `FeedRecordReader` into an L2BookStore. A group (a header and its
 * LEVEL records) may reach the reader in parts (a full ring, `drain(max)`): the reader buffers
 * it and applies it at its end, sequence check first, so a book shows a snapshot or a delta
 * completely or not at all. A group cut short (a record of the non-blocking writer dropped) is
 * found when the next record arrives and puts the book into resync (`torn_group`).
 */
import { type L2Book, DeltaResult } from './l2-book.js';
import type { SpscRing } from './ring-buffer.js';
import { RingSlotWriter } from './ring-slot-writer.js';

export const FEED_RECORD_BYTES = 64;
export const FeedRecordType = { SNAPSHOT: 1, DELTA: 2, LEVEL: 3, TRADE: 4 } as const;

/** Producer side: writes records straight into the ring's slots (zero copy). */
export class FeedRecordWriter {
  private readonly slots: RingSlotWriter;
  /** Records given up because the ring was full (non-blocking) or closed. */
  dropped = 0;
  /**
   * A record of the group being written was dropped: its other levels are dropped too, so the
   * reader sees the group end early (torn) and never a later level without its header.
   */
  private groupDropped = false;
  /** Instruments whose book records were dropped: their next header says so (`lost`). */
  private readonly lostInstruments = new Set<number>();

  constructor(
    readonly ring: SpscRing,
    /** Wait for space when full (true) or drop, count in `dropped` and report false (false). */
    block = true,
  ) {
    if (ring.recordBytes !== FEED_RECORD_BYTES) throw new RangeError(`feed ring records must be ${FEED_RECORD_BYTES} bytes`);
    this.slots = new RingSlotWriter(ring, block ? (r) => r.waitWritable() === 'ok' : () => false);
  }

  snapshot(inst: number, seq: number, ts: number, recvTs: number, levelCount: number): boolean {
    return this.header(FeedRecordType.SNAPSHOT, inst, 0, seq, ts, recvTs, levelCount);
  }
  delta(inst: number, firstSeq: number, seq: number, ts: number, recvTs: number, levelCount: number): boolean {
    return this.header(FeedRecordType.DELTA, inst, firstSeq, seq, ts, recvTs, levelCount);
  }
  level(inst: number, side: 0 | 1, price: number, qty: number): boolean {
    if (!this.groupDropped && this.slots.put(FeedRecordType.LEVEL, inst, price, qty, 0, 0, 0, side)) return true;
    this.bookRecordDropped(inst);
    return false;
  }
  trade(inst: number, side: 0 | 1, price: number, qty: number, seq: number, ts: number, recvTs: number): boolean {
    this.groupDropped = false;
    if (this.slots.put(FeedRecordType.TRADE, inst, price, qty, seq, ts, recvTs, side)) return true;
    this.dropped++;
    return false;
  }

  /** Publishes everything written since the last flush (call once per parsed frame). */
  flush(): void {
    this.slots.publish();
  }

  private header(type: number, inst: number, a: number, seq: number, ts: number, recvTs: number, levelCount: number): boolean {
    const lost = this.lostInstruments.size > 0 && this.lostInstruments.has(inst);
    this.groupDropped = false;
    if (this.slots.put(type, inst, a, lost ? 1 : 0, seq, ts, recvTs, levelCount)) {
      if (lost) this.lostInstruments.delete(inst);
      return true;
    }
    this.bookRecordDropped(inst);
    return false;
  }

  private bookRecordDropped(inst: number): void {
    this.dropped++;
    this.groupDropped = true;
    this.lostInstruments.add(inst);
  }
}

export type TradeSink = (inst: number, side: 0 | 1, price: number, qty: number, seq: number, ts: number, recvTs: number) => void;

/** Numbers buffered per level: side, price, qty. */
const LEVEL_WORDS = 3;

/**
 * Consumer side: drains records into books (looked up by instrument id) without allocating in
 * steady state. Like the intake's IntakeRecordReader, it keeps its place in a group across
 * drains and acts on the group once it is complete; the group's levels wait in a reused buffer.
 */
export class FeedRecordReader {
  /** The group being read: SNAPSHOT or DELTA, 0 when none. */
  private groupType = 0;
  private inst = 0;
  private firstSeq = 0;
  private seq = 0;
  private recvTs = 0;
  private lost = false;
  private levelsLeft = 0;
  private levelsHeld = 0;
  private levels = new Float64Array(64 * LEVEL_WORDS);
  /** LEVEL records without a header are being skipped (counted once per run). */
  private stray = false;
  recordsRead = 0;
  /** Groups cut short by the next record, or levels that came without their header. */
  tornGroups = 0;
  /** Records of no known type (skipped). */
  invalid = 0;

  constructor(
    readonly ring: SpscRing,
    /** Instrument id -> book (index = id). */
    private readonly books: readonly (L2Book | undefined)[],
    private readonly onTrade: TradeSink = () => {},
  ) {}

  /** True while a group is only partly read (its remaining records are not published yet). */
  get midGroup(): boolean {
    return this.groupType !== 0;
  }

  /**
   * Applies up to `max` available records; returns how many were consumed. A trade sink (or a
   * book listener) that throws ends the drain with the throw, the records up to and including
   * the one it was called for consumed: none is handed out twice (a trade has no sequence number
   * downstream, so a second delivery would be a second trade to detectors and paper fills), and a
   * record the sink always throws on is passed once, not read again by every drain after it.
   */
  drain(max = Infinity): number {
    const ring = this.ring;
    let n = ring.readable();
    if (n > max) n = max;
    const d = ring.f64;
    let k = 0;
    // Around the batch, not per record (as IntakeRecordReader.drain): a try per record costs on
    // the hot path, one per drain does not.
    try {
      while (k < n) {
        const f = ring.readSlotWord(k) >> 1;
        k++;
        const type = d[f]!;
        if (type === FeedRecordType.LEVEL) {
          this.level(d, f);
          continue;
        }
        // anything else ends the group before it: one still missing levels never gets them
        if (this.groupType !== 0) this.tearGroup();
        this.stray = false;
        if (type === FeedRecordType.TRADE) this.onTrade(d[f + 1]!, d[f + 7] === 0 ? 0 : 1, d[f + 2]!, d[f + 3]!, d[f + 4]!, d[f + 5]!, d[f + 6]!);
        else if (type === FeedRecordType.SNAPSHOT || type === FeedRecordType.DELTA) this.beginGroup(type, d, f);
        else this.invalid++;
      }
    } finally {
      ring.release(k);
      this.recordsRead += k;
    }
    return k;
  }

  private beginGroup(type: number, d: Float64Array, f: number): void {
    this.groupType = type;
    this.inst = d[f + 1]!;
    this.firstSeq = d[f + 2]!;
    this.lost = d[f + 3] === 1;
    this.seq = d[f + 4]!;
    this.recvTs = d[f + 6]!;
    this.levelsLeft = d[f + 7]!;
    this.levelsHeld = 0;
    const need = this.levelsLeft * LEVEL_WORDS;
    if (need > this.levels.length) this.levels = new Float64Array(Math.max(need, this.levels.length * 2));
    if (this.levelsLeft === 0) this.endGroup();
  }

  private level(d: Float64Array, f: number): void {
    if (this.groupType === 0) {
      // its header was dropped: the book it belongs to missed an update
      if (!this.stray) {
        this.stray = true;
        this.tornGroups++;
        resync(this.books[d[f + 1]!], 'torn_group', 'level records without their header', this.recvTs);
      }
      return;
    }
    const at = this.levelsHeld++ * LEVEL_WORDS;
    const levels = this.levels;
    levels[at] = d[f + 7] === 0 ? 0 : 1;
    levels[at + 1] = d[f + 2]!;
    levels[at + 2] = d[f + 3]!;
    if (--this.levelsLeft === 0) this.endGroup();
  }

  /** The group ended before its last level: the book missed part of an update. */
  private tearGroup(): void {
    this.tornGroups++;
    const what = this.groupType === FeedRecordType.SNAPSHOT ? 'snapshot' : 'delta';
    resync(this.books[this.inst], 'torn_group', `${what} ${this.seq}: ${this.levelsHeld} of ${this.levelsHeld + this.levelsLeft} levels arrived`, this.recvTs);
    this.groupType = 0;
  }

  /** A complete group: the book takes all of it at once. */
  private endGroup(): void {
    const type = this.groupType;
    this.groupType = 0;
    const b = this.books[this.inst];
    if (b === undefined) return;
    if (type === FeedRecordType.SNAPSHOT) {
      b.beginSnapshot();
      this.applyLevels(b);
      b.endSnapshot(this.seq, this.recvTs);
      return;
    }
    if (this.lost) return resync(b, 'records_dropped', `book records dropped before delta ${this.seq}`, this.recvTs);
    if (b.checkDeltaSeq(this.firstSeq, this.seq, this.recvTs) !== DeltaResult.APPLIED) return;
    this.applyLevels(b);
    b.endUpdate(this.seq, this.recvTs);
  }

  private applyLevels(b: L2Book): void {
    const levels = this.levels;
    for (let i = 0, end = this.levelsHeld * LEVEL_WORDS; i < end; i += LEVEL_WORDS) b.applyLevel(levels[i] === 0 ? 0 : 1, levels[i + 1]!, levels[i + 2]!);
  }
}

/** Starts a resync unless the book already waits for a snapshot (one loss, one resync counted). */
function resync(b: L2Book | undefined, reason: string, detail: string, now: number): void {
  if (b !== undefined && b.state !== 'resyncing') b.beginResync(reason, detail, now);
}
