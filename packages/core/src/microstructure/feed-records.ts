/**
 * Fixed 64-byte market-data records for the feed worker -> engine thread path over SpscRing.
 *
 * Record = 8 float64 (all values are integers well inside 2^53):
 *   [0] type   [1] instrument id (a small integer both threads agree on)
 *   [2] a      [3] b      [4] seq     [5] venue ts (ms)   [6] recv ts (ms)   [7] side / count
 *
 *   SNAPSHOT: a = -, b = -, seq, ts, recvTs, [7] = number of LEVEL records that follow
 *   DELTA:    a = firstSeq, b = -, seq, ts, recvTs, [7] = number of LEVEL records that follow
 *   LEVEL:    a = price (ticks), b = qty (lots; 0 removes), [7] = side (0 bid, 1 ask)
 *   TRADE:    a = price, b = qty, seq = trade id if numeric, ts, recvTs, [7] = aggressor (0 buy, 1 sell)
 *
 * The producer parses venue frames once and writes records with `FeedRecordWriter`; the engine
 * thread drains them with `FeedRecordReader` into an L2BookStore. Sequence checks happen at the
 * DELTA header, so a delta is applied completely or skipped (old/gap/resyncing).
 */
import { type L2Book, DeltaResult } from './l2-book.js';
import type { SpscRing } from './ring-buffer.js';
import { RingSlotWriter } from './ring-slot-writer.js';

export const FEED_RECORD_BYTES = 64;
export const FeedRecordType = { SNAPSHOT: 1, DELTA: 2, LEVEL: 3, TRADE: 4 } as const;

/** Producer side: writes records straight into the ring's slots (zero copy). */
export class FeedRecordWriter {
  private readonly slots: RingSlotWriter;

  constructor(
    readonly ring: SpscRing,
    /** Wait for space when full (true) or drop and report false (false). */
    block = true,
  ) {
    if (ring.recordBytes !== FEED_RECORD_BYTES) throw new RangeError(`feed ring records must be ${FEED_RECORD_BYTES} bytes`);
    this.slots = new RingSlotWriter(ring, block ? (r) => r.waitWritable() === 'ok' : () => false);
  }

  snapshot(inst: number, seq: number, ts: number, recvTs: number, levelCount: number): boolean {
    return this.slots.put(FeedRecordType.SNAPSHOT, inst, 0, 0, seq, ts, recvTs, levelCount);
  }
  delta(inst: number, firstSeq: number, seq: number, ts: number, recvTs: number, levelCount: number): boolean {
    return this.slots.put(FeedRecordType.DELTA, inst, firstSeq, 0, seq, ts, recvTs, levelCount);
  }
  level(inst: number, side: 0 | 1, price: number, qty: number): boolean {
    return this.slots.put(FeedRecordType.LEVEL, inst, price, qty, 0, 0, 0, side);
  }
  trade(inst: number, side: 0 | 1, price: number, qty: number, seq: number, ts: number, recvTs: number): boolean {
    return this.slots.put(FeedRecordType.TRADE, inst, price, qty, seq, ts, recvTs, side);
  }

  /** Publishes everything written since the last flush (call once per parsed frame). */
  flush(): void {
    this.slots.publish();
  }
}

export type TradeSink = (inst: number, side: 0 | 1, price: number, qty: number, seq: number, ts: number, recvTs: number) => void;

/** Consumer side: drains records into books (looked up by instrument id) without allocating. */
export class FeedRecordReader {
  private book: L2Book | undefined;
  private levelsLeft = 0;
  private skipping = false;
  private seq = 0;
  private recvTs = 0;
  private snapshotMode = false;
  recordsRead = 0;

  constructor(
    readonly ring: SpscRing,
    /** Instrument id -> book (index = id). */
    private readonly books: readonly (L2Book | undefined)[],
    private readonly onTrade: TradeSink = () => {},
  ) {}

  /** Applies up to `max` available records; returns how many were consumed. */
  drain(max = Infinity): number {
    const ring = this.ring;
    let n = ring.readable();
    if (n > max) n = max;
    const d = ring.f64;
    for (let k = 0; k < n; k++) {
      const f = ring.readSlotWord(k) >> 1;
      const type = d[f]!;
      if (type === FeedRecordType.LEVEL) {
        if (!this.skipping && this.book !== undefined) this.book.applyLevel(d[f + 7] === 0 ? 0 : 1, d[f + 2]!, d[f + 3]!);
        if (--this.levelsLeft === 0) this.endGroup();
        continue;
      }
      const inst = d[f + 1]!;
      if (type === FeedRecordType.TRADE) {
        this.onTrade(inst, d[f + 7] === 0 ? 0 : 1, d[f + 2]!, d[f + 3]!, d[f + 4]!, d[f + 5]!, d[f + 6]!);
        continue;
      }
      this.book = this.books[inst];
      this.seq = d[f + 4]!;
      this.recvTs = d[f + 6]!;
      this.levelsLeft = d[f + 7]!;
      if (type === FeedRecordType.SNAPSHOT) {
        this.snapshotMode = true;
        this.skipping = false;
        this.book?.beginSnapshot();
      } else {
        this.snapshotMode = false;
        this.skipping = this.book === undefined || this.book.checkDeltaSeq(d[f + 2]!, this.seq, this.recvTs) !== DeltaResult.APPLIED;
      }
      if (this.levelsLeft === 0) this.endGroup();
    }
    ring.release(n);
    this.recordsRead += n;
    return n;
  }

  private endGroup(): void {
    const b = this.book;
    if (b === undefined || this.skipping) return;
    if (this.snapshotMode) b.endSnapshot(this.seq, this.recvTs);
    else b.endUpdate(this.seq, this.recvTs);
  }
}
