import { describe, expect, it } from 'vitest';

import type { ExecutionReport, Order } from '../domain/orders.js';
import { RecordRingReader, RecordRingWriter, type HandOver } from './record-ring.js';
import { SLOT_BYTES } from './ring-records.js';
import type { QueuedRecord } from './writer.js';

function order(n: number, over: Partial<Order> = {}): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test',
    clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n, ...over,
  };
}
function report(n: number, over: Partial<ExecutionReport> = {}): ExecutionReport {
  return { kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'sell', lastPrice: 101, lastQty: 4, leavesQty: 6, cumQty: 4, feeAtoms: 12_345n, ts: 1000 + n, ...over };
}
const orderRec = (n: number, over: Partial<Order> = {}): QueuedRecord => ({ t: 'order', order: order(n, over), ts: 10 + n });
const reportRec = (n: number, over: Partial<ExecutionReport> = {}, orderOver: Partial<Extract<QueuedRecord, { t: 'report' }>['order']> = {}): QueuedRecord => ({
  t: 'report', report: report(n, over), order: { status: 'partially_filled', filledQty: 4, feeAtoms: 12_345n, venueOrderId: undefined, symbol: 'BTCUSDT', ...orderOver }, feeAsset: 'USDT', ts: 20 + n,
});
const riskRec = (reason: string): QueuedRecord => ({ t: 'risk', from: 'ACTIVE', to: 'HALTED', reason, who: 'test', ts: 5 });

/** One hand-over through a writer and a reader on the same memory; what the writer thread would commit. */
function pass(w: RecordRingWriter, r: RecordRingReader, recs: QueuedRecord[]): { h: HandOver; out: QueuedRecord[]; refused: string[] } {
  const h = w.handOver(recs);
  // What crosses by postMessage is a structured clone; the reader must not rely on identity.
  const msg = structuredClone(h);
  const out: QueuedRecord[] = [];
  const refused: string[] = [];
  r.take(msg, out, (slot, err) => refused.push(`${slot}: ${err.message}`));
  return { h, out, refused };
}

function pair(slots = 64): { w: RecordRingWriter; r: RecordRingReader } {
  const w = new RecordRingWriter(slots);
  return { w, r: new RecordRingReader(w.buffer) };
}

describe('journal hand-over ring', () => {
  it('reads repeating fields (exchange, symbol, source, fee asset) right when they change, by a byte or by length', () => {
    const { w, r } = pair();
    const names: [string, string, string, string][] = [
      ['sim', 'BTCUSDT', 'bench', 'USDT'],
      ['sim', 'BTCUSDT', 'bench', 'USDT'],
      ['sin', 'BTCUSDX', 'benck', 'USDC'],
      ['sim', 'BTCUSD', 'bench2', 'USD'],
      ['sim', 'ÉTHUSDT', 'bénch', 'ÜSDT'],
      ['sim', 'E'.repeat(40), 's'.repeat(33), 'USDT'],
      ['sim', 'E'.repeat(40), 's'.repeat(33), 'USDT'],
      ['', 'BTCUSDT', '', 'USDT'],
      ['sim', 'BTCUSDT', 'bench', 'USDT'],
    ];
    const recs: QueuedRecord[] = names.flatMap(([exchange, symbol, source, feeAsset], i): QueuedRecord[] => [
      orderRec(i, { exchange, symbol, source }),
      { ...reportRec(i, { exchange, symbol, feeAsset }, { symbol }), feeAsset } as QueuedRecord,
    ]);
    const { out, refused } = pass(w, r, recs);
    expect(refused).toEqual([]);
    expect(out).toEqual(recs);
  });

  it('carries orders and reports bit for bit, every optional field present or absent', () => {
    const { w, r } = pair();
    const recs: QueuedRecord[] = [
      orderRec(1),
      orderRec(2, { price: undefined, type: 'market', tif: 'IOC', reduceOnly: false, side: 'sell' }),
      orderRec(3, { reduceOnly: true, reason: 'sig-42 ✓ né', venueOrderId: 'v-1', rejectReason: 'RISK_MAX_POSITION', text: 'x'.repeat(40), status: 'rejected' }),
      orderRec(4, { filledNotionalTicksLots: 2n ** 62n, feeAtoms: -(2n ** 63n), filledQty: 0.5, createdTs: 1.25, updatedTs: Number.MAX_SAFE_INTEGER }),
      reportRec(5),
      reportRec(6, { kind: 'ack', liquidity: 'taker', venueOrderId: 'v-6', feeAsset: 'BNB', tradeId: 't-6', rejectReason: 'VENUE_ERROR', text: 'hi' }, { venueOrderId: 'v-6', status: 'open' }),
      reportRec(7, { kind: 'rejected', feeAtoms: 0n, lastPrice: Number.NaN, lastQty: -0 }, { status: 'rejected', feeAtoms: 0n }),
      reportRec(8, { kind: 'rejected', rejects: 'order', rejectReason: 'INSUFFICIENT_BALANCE' }, { status: 'rejected' }),
      reportRec(9, { kind: 'rejected', rejects: 'request', rejectReason: 'UNKNOWN_ORDER' }, { status: 'open' }),
    ];
    const { h, out, refused } = pass(w, r, recs);
    expect(h.slots).toBe(recs.length);
    expect(h.recs).toEqual([]);
    expect(refused).toEqual([]);
    expect(out).toEqual(recs);
    // Absent optional fields stay absent (not present as undefined with another meaning).
    expect('price' in (out[1] as { order: Order }).order).toBe(false);
    expect((out[1] as { order: Order }).order.reduceOnly).toBe(false);
    expect(Object.is((out[6] as { report: ExecutionReport }).report.lastQty, -0)).toBe(true);
  });

  it('keeps the append order across the ring and the postMessage path', () => {
    const { w, r } = pair();
    const long = orderRec(3, { text: 'y'.repeat(SLOT_BYTES) });
    const huge = reportRec(4, { feeAtoms: 2n ** 70n });
    const state: QueuedRecord = { t: 'state', scope: 's', key: 'k', value: { a: 1n }, ts: 1 };
    const recs: QueuedRecord[] = [riskRec('first'), orderRec(1), state, riskRec('b'), reportRec(2), long, huge, orderRec(5), riskRec('last')];
    const { h, out, refused } = pass(w, r, recs);
    expect(refused).toEqual([]);
    // Markers stand in for runs of postMessage records: [risk] [order] [state, risk] [report] [long, huge] [order] [risk].
    expect(h.slots).toBe(7);
    expect(h.recs).toEqual([riskRec('first'), state, riskRec('b'), long, huge, riskRec('last')]);
    expect(out).toEqual(recs);
  });

  it('a full ring drops nothing and clones nothing: what finds no slot follows in an overflow buffer, in order', () => {
    const { w, r } = pair(4);
    const first = Array.from({ length: 10 }, (_, i) => (i % 3 === 2 ? riskRec(`r${i}`) : orderRec(i)));
    const h1 = w.handOver(first);
    // Ring: o0 o1 [r2] o3; overflow: o4 [r5] o6 o7 [r8] o9 (markers in brackets).
    expect(h1.slots).toBe(4);
    expect(h1.overflow?.slots).toBe(6);
    expect(h1.recs).toEqual([first[2], first[5], first[8]]);
    // Nothing consumed yet: the next hand-over finds the ring full and writes everything into an overflow buffer.
    const second = [orderRec(20), reportRec(21)];
    const h2 = w.handOver(second);
    expect(h2).toMatchObject({ slots: 0, overflow: { slots: 2 }, recs: [] });
    const out: QueuedRecord[] = [];
    expect(r.take(structuredClone(h1), out, () => {})).toBe(0);
    expect(r.take(structuredClone(h2), out, () => {})).toBe(0);
    expect(out).toEqual([...first, ...second]);
    // Consumed: the ring takes records again, across its wrap-around.
    for (let k = 0; k < 5; k++) {
      const recs = [orderRec(100 + k), reportRec(100 + k), riskRec(`w${k}`)];
      const { h, out: o } = pass(w, r, recs);
      expect(h.slots).toBe(3);
      expect(o).toEqual(recs);
    }
  });

  it('a torn or hostile slot is refused and counted, never applied; the records beside it are', () => {
    const { w, r } = pair();
    const recs: QueuedRecord[] = [orderRec(1), orderRec(2), reportRec(3), riskRec('m'), orderRec(5)];
    const h = w.handOver(recs);
    const ring = (w as unknown as { ring: { u8: Uint8Array; slotWord(k: number): number } }).ring;
    // Slot 1 (order 2): one byte of its client id flipped after it was sealed (a torn write).
    ring.u8[SLOT_BYTES * 1 + 82] ^= 0x20;
    // Slot 3 (the marker of the risk record): its count overwritten.
    ring.u8[SLOT_BYTES * 3 + 12] = 9;
    const out: QueuedRecord[] = [];
    const refused: string[] = [];
    expect(r.take(structuredClone(h), out, (slot) => refused.push(slot))).toBe(2);
    expect(refused).toEqual(['1', '3']);
    // Order 2 is gone (refused, the writer reports it); the risk record a refused marker stood for still lands, after the slots it follows.
    expect(out).toEqual([recs[0], recs[2], recs[4], recs[3]]);
  });

  it("what a rejection refused crosses in flags 128/256: 256 without 128 is refused, even resealed; both read as 'request'", () => {
    const { w, r } = pair();
    const ring = (w as unknown as { ring: { u8: Uint8Array } }).ring;
    const view = new DataView(ring.u8.buffer, ring.u8.byteOffset, ring.u8.byteLength);
    const i32 = new Int32Array(ring.u8.buffer, ring.u8.byteOffset, ring.u8.byteLength >> 2);
    /** The ring's slot checksum (ring-records.ts slotSum) written again over the slot at `at`, as a hostile writer would. */
    const reseal = (at: number) => {
      const words = ((view.getUint32(at, true) + 3) & ~3) >> 2;
      let h = 0x811c9dc5 | 0;
      for (let k = 0; k < words; k++) {
        h = Math.imul(h ^ i32[(at >> 2) + k]!, 0x01000193);
        h ^= h >>> 15;
      }
      i32[(at >> 2) + words] = h;
    };
    const rec = reportRec(1, { kind: 'rejected', rejects: 'order', rejectReason: 'UNKNOWN_ORDER', lastQty: 0, lastPrice: 0 });
    let used = 0; // slots handed over before: the next hand-over starts after them
    for (const [flags, expected] of [[256, undefined], [128 | 256, 'request']] as const) {
      const h = w.handOver([rec]);
      const at = used * SLOT_BYTES;
      used += h.slots;
      const f = view.getUint16(at + 10, true);
      expect(f & (128 | 256), 'written as order').toBe(128);
      view.setUint16(at + 10, (f & ~(128 | 256)) | flags, true);
      reseal(at);
      const out: QueuedRecord[] = [];
      const refused: string[] = [];
      r.take(structuredClone(h), out, (_slot, err) => refused.push(err.message));
      if (expected === undefined) {
        expect(refused).toEqual(['rejects request flag without its presence flag']);
        expect(out).toEqual([]);
      } else {
        expect(refused).toEqual([]);
        expect((out[0] as Extract<QueuedRecord, { t: 'report' }>).report.rejects).toBe(expected);
      }
    }
  });

  it('random damage to slots never throws anything but a refusal, never yields a record that was not written', () => {
    const { w, r } = pair(8);
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const ring = (w as unknown as { ring: { u8: Uint8Array } }).ring;
    let refusedTotal = 0;
    for (let round = 0; round < 300; round++) {
      const recs = [orderRec(round, { reason: 'r'.repeat(round % 50) }), reportRec(round, { tradeId: `t${round}` }), riskRec(`x${round}`)];
      const h = w.handOver(recs);
      const slot = Math.floor(rand() * h.slots);
      const base = ((round * 3 + slot) % 8) * SLOT_BYTES;
      for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) ring.u8[base + Math.floor(rand() * SLOT_BYTES)] = Math.floor(rand() * 256);
      const out: QueuedRecord[] = [];
      refusedTotal += r.take(structuredClone(h), out, () => {});
      for (const rec of out) expect(recs).toContainEqual(rec);
    }
    expect(refusedTotal).toBeGreaterThan(150);
  });

  it('with no ring (0 slots) every record crosses by message, as they are', () => {
    const w = new RecordRingWriter(0);
    const recs = [orderRec(1), riskRec('a'), reportRec(2)];
    expect(w.handOver(recs)).toEqual({ slots: 0, recs });
    const out: QueuedRecord[] = [];
    const r = new RecordRingReader(w.buffer);
    expect(r.take({ slots: 0, recs }, out, () => {})).toBe(0);
    expect(out).toEqual(recs);
  });

  it('a torn overflow slot, or an overflow claiming more slots than its buffer holds, is refused; nothing is read past it', () => {
    const { w, r } = pair(2);
    const recs = [orderRec(1), orderRec(2), orderRec(3), riskRec('m'), orderRec(5)];
    const h = w.handOver(recs);
    expect(h.slots).toBe(2);
    expect(h.overflow?.slots).toBe(3);
    new Uint8Array(h.overflow!.buffer)[SLOT_BYTES * 0 + 82] ^= 1; // order 3's client id
    let out: QueuedRecord[] = [];
    const refused: string[] = [];
    expect(r.take(structuredClone(h), out, (slot) => refused.push(slot))).toBe(1);
    expect(refused).toEqual(['o0']);
    expect(out).toEqual([recs[0], recs[1], recs[3], recs[4]]);
    const h2 = w.handOver([orderRec(6)]);
    out = [];
    const why: string[] = [];
    expect(r.take({ ...h2, overflow: { buffer: new ArrayBuffer(SLOT_BYTES), slots: 3 } }, out, (_s, e) => why.push(e.message))).toBeGreaterThanOrEqual(1);
    expect(why[0]).toMatch(/overflow of 3 slot\(s\) in 256 bytes/);
    expect(out).toEqual([orderRec(6)]);
  });

  it('a message that claims more slots than were published is refused, not read past', () => {
    const { w, r } = pair(8);
    const recs = [orderRec(1), orderRec(2)];
    const h = w.handOver(recs);
    const out: QueuedRecord[] = [];
    const why: string[] = [];
    expect(r.take({ slots: 5, recs: h.recs }, out, (_s, e) => why.push(e.message))).toBe(1);
    expect(why[0]).toMatch(/5 slot\(s\) but 2 published/);
    expect(out).toEqual(recs);
  });
});
