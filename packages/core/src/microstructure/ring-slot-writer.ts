import type { SpscRing } from './ring-buffer.js';

/**
 * Writes fixed records of 8 float64 straight into an SpscRing's slots (zero copy) and publishes
 * them in groups: `publish()` makes everything written since the last one visible at once, so a
 * reader never sees half of a header and its LEVEL records unless the ring filled mid-group.
 * Shared by the feed worker's `FeedRecordWriter` and the intake worker's `IntakeRecordWriter`;
 * they differ only in what happens when the ring is full (`waitForSpace`).
 */
export class RingSlotWriter {
  private pending = 0;
  private free = 0;

  constructor(
    readonly ring: SpscRing,
    /**
     * Called when no slot is free, after the part already written was published: wait for the
     * reader and return true, or return false to give the record up (the caller counts it).
     */
    private readonly waitForSpace: (ring: SpscRing) => boolean,
  ) {}

  /** float64 index of the next free slot, or -1 when `waitForSpace` gave up. */
  slot(): number {
    if (this.free === 0) {
      this.free = this.ring.writable() - this.pending;
      while (this.free <= 0) {
        this.publish();
        if (!this.waitForSpace(this.ring)) return -1;
        this.free = this.ring.writable();
      }
    }
    const f = this.ring.slotWord(this.pending) >> 1;
    this.pending++;
    this.free--;
    return f;
  }

  /** One record of eight values; false when it was given up. */
  put(w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, w6: number, w7: number): boolean {
    const f = this.slot();
    if (f < 0) return false;
    const d = this.ring.f64;
    d[f] = w0;
    d[f + 1] = w1;
    d[f + 2] = w2;
    d[f + 3] = w3;
    d[f + 4] = w4;
    d[f + 5] = w5;
    d[f + 6] = w6;
    d[f + 7] = w7;
    return true;
  }

  /**
   * Forgets the slots claimed since the last publish (a group whose building threw): the reader
   * never sees them and the next group starts in their place. A part already published because
   * the ring filled mid-group cannot be taken back: the reader drops it as a torn group. Returns
   * how many slots were discarded.
   */
  discard(): number {
    const n = this.pending;
    this.pending = 0;
    this.free = 0;
    return n;
  }

  publish(): void {
    if (this.pending > 0) {
      this.ring.publish(this.pending);
      this.pending = 0;
      this.free = 0;
    }
  }
}
