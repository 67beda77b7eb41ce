import { SpscRing } from '../microstructure/ring-buffer.js';
import { RecordSlotDecoder, RecordSlotEncoder, SLOT_BYTES, SlotError } from './ring-records.js';
import type { QueuedRecord } from './writer.js';

/**
 * The hand-over of journal records from the engine thread to the writer thread: orders and
 * reports go into the slots of a shared SPSC ring (the project's SpscRing, one slot per record,
 * ring-records.ts), everything else in the hand-over's postMessage list. Each hand-over is one
 * postMessage `{ slots, overflow, recs }`: the writer reads exactly `slots` ring slots, then the
 * overflow's slots, in order, and takes the postMessage records where a MARKER slot says, then the
 * rest of the list. So the journal's order is the order the records were appended in, whichever
 * path each took; and the message only crosses after its slots are published, so the writer
 * never reads ahead of it.
 *
 * Back-pressure: a full ring never drops, blocks nor falls back to a structured clone. The
 * records of a hand-over that find no free slot (the writer is behind by more than the ring
 * holds: a niced writer on a busy host) are written in the same slot layout into an ArrayBuffer
 * of their own, transferred with the message (moved, not copied): the overflow. The backlog then
 * waits in the writer's message queue as bytes, outside the engine thread's heap.
 */

/** Slots of the hand-over ring: 8,192 x 256 bytes (2 MiB); a hand-over is at most ~1,024 records (store.ts). */
export const RING_SLOTS = 8192;

/**
 * What one hand-over sends: slots published in the ring, the slots of an overflow buffer
 * (transferred), and the records that cross by structured clone (placed by marker slots; any
 * not placed follow the slots).
 */
export interface HandOver {
  slots: number;
  overflow?: { buffer: ArrayBuffer; slots: number };
  recs: QueuedRecord[];
}

/** Writes records into consecutive slots; the one place the marker rule lives. */
function fill(enc: RecordSlotEncoder, slotAt: (k: number) => number, room: number, recs: readonly QueuedRecord[], from: number, out: QueuedRecord[]): { slots: number; next: number } {
  let k = 0;
  /** Byte offset of the marker of the postMessage run being built, -1 when the last slot was a record. */
  let marker = -1;
  let markerFirst = 0;
  let i = from;
  for (; i < recs.length && k < room; i++) {
    const rec = recs[i]!;
    const at = slotAt(k);
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
  return { slots: k, next: i };
}

/** Engine side. */
export class RecordRingWriter {
  /** Undefined with 0 slots: every record crosses by postMessage (the bench's before). */
  readonly ring: SpscRing | undefined;
  private readonly encoder: RecordSlotEncoder | undefined;
  private readonly ringSlotAt: (k: number) => number;

  constructor(slots = RING_SLOTS) {
    this.ring = slots === 0 ? undefined : SpscRing.create(slots, SLOT_BYTES);
    this.encoder = this.ring && new RecordSlotEncoder(this.ring.u8);
    const ring = this.ring;
    this.ringSlotAt = (k) => ring!.slotWord(k) << 2; // int32 words -> bytes
  }

  /** The shared memory to give the writer thread. */
  get buffer(): SharedArrayBuffer | undefined {
    return this.ring?.buffer;
  }

  /**
   * Writes `recs` into the ring (publishing them) and what finds no free slot into an overflow
   * buffer; returns the message that completes the hand-over (transfer `overflow.buffer`).
   */
  handOver(recs: QueuedRecord[]): HandOver {
    const ring = this.ring;
    if (!ring || !this.encoder) return { slots: 0, recs };
    const out: QueuedRecord[] = [];
    const r = fill(this.encoder, this.ringSlotAt, ring.writable(), recs, 0, out);
    if (r.slots > 0) ring.publish(r.slots);
    if (r.next === recs.length) return { slots: r.slots, recs: out };
    // The ring is full: the rest in the same layout, in a buffer of its own (one slot per record at most).
    const buffer = new ArrayBuffer((recs.length - r.next) * SLOT_BYTES);
    const o = fill(new RecordSlotEncoder(new Uint8Array(buffer)), overflowSlotAt, recs.length - r.next, recs, r.next, out);
    return { slots: r.slots, overflow: { buffer, slots: o.slots }, recs: out };
  }
}

const overflowSlotAt = (k: number) => k * SLOT_BYTES;

/** Writer side. */
export class RecordRingReader {
  private readonly ring: SpscRing;
  private readonly decoder: RecordSlotDecoder;
  private readonly ringSlotAt: (j: number) => number;

  /** `buffer` undefined: the engine side has no ring; a message that claims slots is refused. */
  constructor(buffer: SharedArrayBuffer | undefined) {
    this.ring = new SpscRing(buffer ?? SpscRing.create(2, SLOT_BYTES).buffer);
    this.decoder = new RecordSlotDecoder(this.ring.u8);
    this.ringSlotAt = (j) => this.ring.readSlotWord(j) << 2;
  }

  /**
   * Appends to `out`, in order, the records of one hand-over: its ring slots, its overflow slots
   * (each with the postMessage records where its markers say), then the rest of `recs`. A slot
   * that does not read is passed to `refused` (its place: ring slot j, or `o` + j in the
   * overflow) and skipped; the postMessage records a refused marker stood for are not lost: they
   * go in before the next marker's (or the list's rest), the nearest place known. Returns the
   * number of refused slots.
   */
  take(h: HandOver, out: QueuedRecord[], refused: (slot: string, err: SlotError) => void): number {
    const ring = this.ring;
    const cursor = { next: 0, bad: 0 };
    let slots = h.slots;
    if (slots > ring.readable()) {
      // Never by this code's own producer; a message that claims more than was published.
      refused('-', new SlotError(`hand-over of ${slots} slot(s) but ${ring.readable()} published`));
      cursor.bad++;
      slots = ring.readable();
    }
    this.read(this.decoder, this.ringSlotAt, slots, '', h.recs, out, cursor, refused);
    ring.release(slots);
    const o = h.overflow;
    if (o) {
      const n = o.buffer instanceof ArrayBuffer && Number.isInteger(o.slots) && o.slots >= 0 ? Math.min(o.slots, Math.floor(o.buffer.byteLength / SLOT_BYTES)) : 0;
      if (n !== o.slots) {
        refused('o', new SlotError(`overflow of ${String(o.slots)} slot(s) in ${o.buffer instanceof ArrayBuffer ? o.buffer.byteLength : 'no'} bytes`));
        cursor.bad++;
      }
      if (n > 0) this.read(new RecordSlotDecoder(new Uint8Array(o.buffer)), overflowSlotAt, n, 'o', h.recs, out, cursor, refused);
    }
    const recs = h.recs;
    while (cursor.next < recs.length) out.push(recs[cursor.next++]!);
    return cursor.bad;
  }

  private read(dec: RecordSlotDecoder, slotAt: (j: number) => number, slots: number, where: string, recs: readonly QueuedRecord[], out: QueuedRecord[], cursor: { next: number; bad: number }, refused: (slot: string, err: SlotError) => void): void {
    for (let j = 0; j < slots; j++) {
      try {
        const s = dec.read(slotAt(j));
        if (!s.marker) {
          out.push(s.rec);
          continue;
        }
        if (s.first < cursor.next || s.count === 0 || s.first + s.count > recs.length) throw new SlotError(`marker [${s.first}, +${s.count}) outside the hand-over's ${recs.length} record(s) from ${cursor.next}`);
        while (cursor.next < s.first + s.count) out.push(recs[cursor.next++]!);
      } catch (err) {
        if (!(err instanceof SlotError)) throw err;
        cursor.bad++;
        refused(`${where}${j}`, err);
      }
    }
  }
}
