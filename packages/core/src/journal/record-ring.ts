import { SpscRing } from '../microstructure/ring-buffer.js';
import { RecordSlotDecoder, RecordSlotEncoder, SLOT_BYTES, SlotError } from './ring-records.js';
import type { QueuedRecord } from './writer.js';

/**
 * The hand-over of journal records from the engine thread to the writer thread: orders and
 * reports go into the slots of a shared SPSC ring (the project's SpscRing, one slot per record,
 * ring-records.ts), everything else in the hand-over's postMessage list. Each hand-over is one
 * postMessage `{ slots, recs }`: the writer reads exactly `slots` slots, in order, and takes the
 * postMessage records where a MARKER slot says, then the rest of the list after the slots. So the
 * journal's order is the order the records were appended in, whichever path each took; and the
 * message only crosses after its slots are published, so the writer never reads ahead of it.
 *
 * Back-pressure: a full ring never drops nor blocks. The records of a hand-over that find no free
 * slot (the writer is behind by more than the ring holds) take the postMessage path, after the
 * slots in the same message, which is the order they were appended in.
 */

/** Slots of the hand-over ring: 8,192 x 256 bytes (2 MiB); a hand-over is at most ~1,024 records (store.ts). */
export const RING_SLOTS = 8192;

/** What one hand-over sends: slots published in the ring, and the records that cross by postMessage. */
export interface HandOver {
  slots: number;
  recs: QueuedRecord[];
}

/** Engine side. */
export class RecordRingWriter {
  /** Undefined with 0 slots: every record crosses by postMessage (the bench's before). */
  readonly ring: SpscRing | undefined;
  private readonly encoder: RecordSlotEncoder | undefined;

  constructor(slots = RING_SLOTS) {
    this.ring = slots === 0 ? undefined : SpscRing.create(slots, SLOT_BYTES);
    this.encoder = this.ring && new RecordSlotEncoder(this.ring.u8);
  }

  /** The shared memory to give the writer thread. */
  get buffer(): SharedArrayBuffer | undefined {
    return this.ring?.buffer;
  }

  /** Writes `recs` into the ring (publishing them) and returns the message that completes the hand-over. */
  handOver(recs: QueuedRecord[]): HandOver {
    const ring = this.ring;
    const enc = this.encoder;
    if (!ring || !enc) return { slots: 0, recs };
    const out: QueuedRecord[] = [];
    const free = ring.writable();
    let k = 0;
    /** Byte offset of the marker of the postMessage run being built, -1 when the last slot was a record. */
    let marker = -1;
    let markerFirst = 0;
    let i = 0;
    for (; i < recs.length; i++) {
      if (k === free) break;
      const rec = recs[i]!;
      const at = ring.slotWord(k) << 2; // int32 words -> bytes
      if (enc.put(at, rec)) {
        k++;
        marker = -1;
        continue;
      }
      if (marker < 0) {
        marker = at;
        markerFirst = out.length;
        k++;
      }
      out.push(rec);
      enc.marker(marker, markerFirst, out.length - markerFirst);
    }
    // The ring is full: the rest follows the slots, in order, by postMessage.
    for (; i < recs.length; i++) out.push(recs[i]!);
    if (k > 0) ring.publish(k);
    return { slots: k, recs: out };
  }
}

/** Writer side. */
export class RecordRingReader {
  private readonly ring: SpscRing;
  private readonly decoder: RecordSlotDecoder;

  /** `buffer` undefined: the engine side has no ring; a message that claims slots is refused. */
  constructor(buffer: SharedArrayBuffer | undefined) {
    this.ring = new SpscRing(buffer ?? SpscRing.create(2, SLOT_BYTES).buffer);
    this.decoder = new RecordSlotDecoder(this.ring.u8);
  }

  /**
   * Appends to `out`, in order, the records of one hand-over: its `slots` slots (with the
   * postMessage records where its markers say) then the rest of `recs`. A slot that does not read
   * is passed to `refused` and skipped; the postMessage records a refused marker stood for are
   * not lost: they go in before the next marker's (or the list's rest), the nearest place known.
   * Returns the number of refused slots.
   */
  take(h: HandOver, out: QueuedRecord[], refused: (slot: number, err: SlotError) => void): number {
    const ring = this.ring;
    const recs = h.recs;
    let next = 0;
    let bad = 0;
    if (h.slots > ring.readable()) {
      // Never by this code's own producer; a message that claims more than was published.
      refused(-1, new SlotError(`hand-over of ${h.slots} slot(s) but ${ring.readable()} published`));
      return this.take({ slots: ring.readable(), recs }, out, refused) + 1;
    }
    for (let j = 0; j < h.slots; j++) {
      try {
        const s = this.decoder.read(ring.readSlotWord(j) << 2);
        if (!s.marker) {
          out.push(s.rec);
          continue;
        }
        if (s.first < next || s.count === 0 || s.first + s.count > recs.length) throw new SlotError(`marker [${s.first}, +${s.count}) outside the hand-over's ${recs.length} record(s) from ${next}`);
        while (next < s.first + s.count) out.push(recs[next++]!);
      } catch (err) {
        if (!(err instanceof SlotError)) throw err;
        bad++;
        refused(j, err);
      }
    }
    ring.release(h.slots);
    while (next < recs.length) out.push(recs[next++]!);
    return bad;
  }
}
