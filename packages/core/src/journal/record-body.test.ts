import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ExecutionReport, Order } from '../domain/orders.js';
import { BodyEncoder, decodeOrder, decodeReport, ORDER_BODY_LAYOUT, RecordBodyError, REPORT_BODY_LAYOUT, type OrderColumns, type ReportColumns } from './record-body.js';

/** The row the writer makes of an order: its columns and its body (copied out of the arena). */
function orderRow(o: Order, enc = new BodyEncoder()): OrderColumns & { body: Buffer } {
  return { client_id: o.clientOrderId, exchange: o.exchange, symbol: o.symbol, side: o.side, type: o.type, price: o.price ?? null, qty: o.qty, tif: o.tif, source: o.source, created_ts: o.createdTs, body: Buffer.from(enc.order(o)) };
}
function reportRow(r: ExecutionReport, feeAsset: string, enc = new BodyEncoder()): ReportColumns & { body: Buffer } {
  return { client_id: r.clientOrderId, exchange: r.exchange, kind: r.kind, venue_ts: r.ts, body: Buffer.from(enc.report(r, feeAsset)) };
}

const BASE_ORDER: Order = {
  exchange: 'binance', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_000_000, qty: 100, tif: 'GTC', source: 'whale',
  clientOrderId: 'cw-7', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1_700_000_000_000, updatedTs: 1_700_000_000_000,
};
const FULL_ORDER: Order = {
  ...BASE_ORDER, type: 'limit', tif: 'POST_ONLY', reduceOnly: true, reason: 'whale:binance:BTCUSDT:3 — 鲸鱼', venueOrderId: '98765', status: 'partially_filled',
  filledQty: 40, filledNotionalTicksLots: 2n ** 70n, feeAtoms: -(2n ** 80n), updatedTs: 1_700_000_000_123.5, rejectReason: 'RISK_PRICE_BAND', text: 'price band: 5 bps',
};
const MARKET_ORDER: Order = { ...BASE_ORDER, type: 'market', price: undefined, tif: 'IOC', reduceOnly: false };
delete (MARKET_ORDER as Partial<Order>).price;

const ACK: ExecutionReport = { kind: 'ack', exchange: 'binance', symbol: 'BTCUSDT', clientOrderId: 'cw-7', side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 100, cumQty: 0, feeAtoms: 0n, ts: 1_700_000_000_001 };
const REPORTS: ExecutionReport[] = [
  ACK,
  { ...ACK, kind: 'ack', venueOrderId: '98765' },
  { ...ACK, kind: 'fill', lastPrice: 5_999_999, lastQty: 40, leavesQty: 60, cumQty: 40, feeAtoms: 123_456_789n, feeAsset: 'BNB', liquidity: 'maker', tradeId: 'T-1', venueOrderId: '98765' },
  { ...ACK, kind: 'fill', side: 'sell', lastPrice: 1, lastQty: 1, leavesQty: 0, cumQty: 100, feeAtoms: 2n ** 64n, liquidity: 'taker', tradeId: 'T-2' },
  { ...ACK, kind: 'cancelled', leavesQty: 0, text: 'user cancel' },
  { ...ACK, kind: 'rejected', leavesQty: 0, rejectReason: 'INSUFFICIENT_BALANCE', text: 'Account has insufficient balance' },
  { ...ACK, kind: 'rejected', leavesQty: 0, rejectReason: 'INSUFFICIENT_BALANCE', rejects: 'order' },
  { ...ACK, kind: 'rejected', rejectReason: 'UNKNOWN_ORDER', rejects: 'request', text: 'cancel: unknown order' },
  { ...ACK, kind: 'expired', leavesQty: 0 },
];

describe('record body (schema v3)', () => {
  it('round-trips orders: every optional field, none, a market order, bigints past 64 bits, non-ASCII text', () => {
    for (const o of [BASE_ORDER, FULL_ORDER, MARKET_ORDER]) expect(decodeOrder(orderRow(o))).toEqual(o);
  });

  it('round-trips every report kind, with and without optional fields, and the booked fee asset', () => {
    for (const r of REPORTS) {
      const back = decodeReport(reportRow(r, 'USDT'));
      expect(back).toEqual({ report: r, feeAsset: 'USDT' });
    }
  });

  it('a report without quantities or fee (the engine accepts it: order-manager.ts fieldProblem) reads back without them, not as damaged', () => {
    const bare = { ...ACK, kind: 'cancelled' } as Partial<ExecutionReport>;
    for (const k of ['lastPrice', 'lastQty', 'leavesQty', 'cumQty', 'feeAtoms'] as const) delete bare[k];
    expect(decodeReport(reportRow(bare as ExecutionReport, 'USDT'))).toEqual({ report: bare, feeAsset: 'USDT' });
  });

  it('round-trips arbitrary orders and reports (property)', () => {
    const text = fc.string({ minLength: 1, maxLength: 30 });
    const num = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(Number.MAX_SAFE_INTEGER));
    const big = fc.bigInt({ min: -(2n ** 100n), max: 2n ** 100n });
    const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    const orderArb = fc.record({
      exchange: text, symbol: text, side: fc.constantFrom('buy' as const, 'sell' as const), type: fc.constantFrom('limit' as const, 'market' as const),
      price: opt(num), qty: num, tif: fc.constantFrom('GTC' as const, 'IOC' as const, 'FOK' as const, 'POST_ONLY' as const), source: fc.string(),
      reduceOnly: opt(fc.boolean()), reason: opt(fc.string()), clientOrderId: text, venueOrderId: opt(fc.string()),
      status: fc.constantFrom('pending_new' as const, 'open' as const, 'filled' as const, 'cancelled' as const), filledQty: num, filledNotionalTicksLots: big, feeAtoms: big,
      createdTs: num, updatedTs: num, text: opt(fc.string()),
    }, { requiredKeys: ['exchange', 'symbol', 'side', 'type', 'qty', 'tif', 'source', 'clientOrderId', 'status', 'filledQty', 'filledNotionalTicksLots', 'feeAtoms', 'createdTs', 'updatedTs'] });
    const enc = new BodyEncoder();
    fc.assert(fc.property(orderArb, (o) => {
      enc.reset();
      expect(decodeOrder(orderRow(o as Order, enc))).toEqual(o);
    }), { numRuns: 300 });
    const reportArb = fc.record({
      kind: fc.constantFrom('ack' as const, 'fill' as const, 'cancelled' as const, 'rejected' as const, 'expired' as const), exchange: text, symbol: text, clientOrderId: text,
      venueOrderId: opt(fc.string()), side: fc.constantFrom('buy' as const, 'sell' as const), lastPrice: num, lastQty: num, leavesQty: num, cumQty: num, feeAtoms: big,
      feeAsset: opt(fc.string()), liquidity: opt(fc.constantFrom('maker' as const, 'taker' as const)), tradeId: opt(fc.string()), text: opt(fc.string()), ts: num,
    }, { requiredKeys: ['kind', 'exchange', 'symbol', 'clientOrderId', 'side', 'lastPrice', 'lastQty', 'leavesQty', 'cumQty', 'feeAtoms', 'ts'] });
    fc.assert(fc.property(reportArb, fc.string(), (r, feeAsset) => {
      enc.reset();
      expect(decodeReport(reportRow(r as ExecutionReport, feeAsset, enc))).toEqual({ report: r, feeAsset });
    }), { numRuns: 300 });
  });

  it('bodies of one commit stay intact while later ones are encoded, across the arena growing', () => {
    const enc = new BodyEncoder();
    const big = { ...FULL_ORDER, text: 'x'.repeat(100_000) };
    const views = [enc.order(FULL_ORDER), enc.report(REPORTS[2]!, 'BNB'), enc.order(big), enc.order(BASE_ORDER)];
    const cols = orderRow(BASE_ORDER);
    expect(decodeOrder({ ...cols, body: views[0] })).toEqual({ ...BASE_ORDER, ...pickRest(FULL_ORDER) });
    expect(decodeReport({ ...reportRow(REPORTS[2]!, 'BNB'), body: views[1] }).report).toEqual(REPORTS[2]);
    expect(decodeOrder({ ...cols, body: views[2] }).text).toHaveLength(100_000);
    expect(decodeOrder({ ...cols, body: views[3] })).toEqual(BASE_ORDER);
  });

  it('refuses a truncated body at every length, never with anything but RecordBodyError', () => {
    const row = orderRow(FULL_ORDER);
    const rep = reportRow(REPORTS[2]!, 'USDT');
    for (let n = 0; n < row.body.length; n++) expect(() => decodeOrder({ ...row, body: row.body.subarray(0, n) })).toThrow(RecordBodyError);
    for (let n = 0; n < rep.body.length; n++) expect(() => decodeReport({ ...rep, body: rep.body.subarray(0, n) })).toThrow(RecordBodyError);
  });

  it('refuses hostile bodies with a reason: wrong layout, unknown or repeated tag, huge length, bad UTF-8, bad enum, NaN, not a BLOB', () => {
    const row = orderRow(BASE_ORDER);
    const rep = reportRow(ACK, 'USDT');
    /** Hand-made bytes with a valid trailer (tag 0, CRC-32), so the checks behind it are reached. */
    const body = (...bytes: number[]) => {
      const b = Buffer.from(bytes);
      const t = Buffer.alloc(5);
      t.writeUInt32LE(crc32(b), 1);
      return Buffer.concat([b, t]);
    };
    const unsealed = (...bytes: number[]) => Buffer.from(bytes);
    const f64 = (x: number) => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return [...b]; };
    const str = (tag: number, bytes: number[]) => { const b = Buffer.alloc(4); b.writeUInt32LE(bytes.length); return [tag, ...b, ...bytes]; };
    const cases: [string, unknown, RegExp][] = [
      ['report layout in an order row', body(REPORT_BODY_LAYOUT), /layout 2 is not 1/],
      ['no trailer', unsealed(ORDER_BODY_LAYOUT, 1, 1, 1, 1, 1, 1), /no trailer/],
      ['checksum of other bytes', Buffer.concat([unsealed(ORDER_BODY_LAYOUT, 5, ...f64(2)), body(ORDER_BODY_LAYOUT, 5, ...f64(1)).subarray(-5)]), /checksum does not match/],
      ['unknown tag', body(ORDER_BODY_LAYOUT, 99), /unknown field tag 99/],
      ['repeated tag', body(ORDER_BODY_LAYOUT, 5, ...f64(1), 5, ...f64(2)), /filledQty twice/],
      ['length past the end', body(ORDER_BODY_LAYOUT, 2, 0xff, 0xff, 0xff, 0x7f), /over the limit|truncated/],
      ['invalid UTF-8', body(ORDER_BODY_LAYOUT, ...str(2, [0xc3, 0x28])), /not valid UTF-8/],
      ['bad bigint form', body(ORDER_BODY_LAYOUT, 7, 9), /unknown integer form 9/],
      ['bigint digits that are not digits', body(ORDER_BODY_LAYOUT, 7, 1, ...Buffer.from([2, 0, 0, 0]), 0x31, 0x78), /not an integer/],
      ['boolean 7', body(ORDER_BODY_LAYOUT, 1, 7), /not a boolean/],
      ['required fields missing', body(ORDER_BODY_LAYOUT), /order body: status/],
      ['TEXT instead of a BLOB', 'hello', /not a BLOB/],
      ['empty', unsealed(), /empty/],
    ];
    for (const [what, b, reason] of cases) {
      let caught: unknown;
      try {
        decodeOrder({ ...row, body: b });
      } catch (err) {
        caught = err;
      }
      expect(caught, what).toBeInstanceOf(RecordBodyError);
      expect((caught as Error).message, what).toMatch(reason);
    }
    // Well-formed bytes, wrong values: an unknown status, a NaN filled quantity, a report side "up".
    const good = new BodyEncoder();
    expect(() => decodeOrder({ ...row, body: good.order({ ...BASE_ORDER, status: 'lost' as Order['status'] }) })).toThrow(/status/);
    expect(() => decodeOrder({ ...row, body: good.order({ ...BASE_ORDER, filledQty: Number.NaN }) })).toThrow(/filledQty/);
    expect(() => decodeReport({ ...rep, body: good.report({ ...ACK, side: 'up' as 'buy' }, 'USDT') })).toThrow(/side/);
    // what a rejection refused: only 'order' or 'request' (tag 20), hand-made and encoded
    expect(() => decodeReport({ ...rep, body: good.report({ ...ACK, kind: 'rejected', rejects: 'both' as 'order' }, 'USDT') })).toThrow(/rejects/);
    // a stored body whose tag 20 holds another word, its checksum made right: refused for that field
    const stored = Buffer.from(good.report({ ...ACK, kind: 'rejected', rejects: 'order' }, 'USDT'));
    const at = stored.indexOf(Buffer.from([20, 5, 0, 0, 0, ...Buffer.from('order')]));
    expect(at).toBeGreaterThan(0);
    for (const word of ['ordre', 'ORDER', 'reque']) {
      const bad = Buffer.from(stored);
      bad.write(word, at + 5, 'latin1');
      bad.writeUInt32LE(crc32(bad.subarray(0, bad.length - 5)), bad.length - 4);
      expect(() => decodeReport({ ...rep, body: bad }), word).toThrow(/rejects/);
    }
    expect(decodeReport({ ...rep, body: stored }).report.rejects).toBe('order');
    // Damaged columns are refused too.
    expect(() => decodeOrder({ ...row, side: 'up' })).toThrow(/order columns: side/);
    expect(() => decodeReport({ ...rep, kind: 'party' })).toThrow(/report columns: kind/);
  });

  it('random bytes never crash or hang the decoder; a valid body with any byte changed is always refused', () => {
    const row = orderRow(FULL_ORDER);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (noise, at, delta) => {
      const flipped = Buffer.from(row.body);
      flipped[at % flipped.length] = (flipped[at % flipped.length]! + delta) & 0xff;
      expect(() => decodeOrder({ ...row, body: flipped })).toThrow(RecordBodyError);
      for (const body of [Buffer.from(noise), Buffer.concat([Buffer.from([ORDER_BODY_LAYOUT]), noise])]) {
        try {
          decodeOrder({ ...row, body });
        } catch (err) {
          expect(err).toBeInstanceOf(RecordBodyError);
        }
      }
    }), { numRuns: 2000 });
  });
});

function pickRest(o: Order): Partial<Order> {
  const { reduceOnly, reason, venueOrderId, status, filledQty, filledNotionalTicksLots, feeAtoms, updatedTs, rejectReason, text } = o;
  return { reduceOnly, reason, venueOrderId, status, filledQty, filledNotionalTicksLots, feeAtoms, updatedTs, rejectReason, text };
}
