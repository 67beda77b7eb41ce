import { describe, expect, it } from 'vitest';
import fc from 'fast-check';

import type { ExecutionReport, OrderIntent } from '../domain/orders.js';
import { OrderManager } from './order-manager.js';

const intent: OrderIntent = { exchange: 'x', symbol: 'S', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't' };
const report = (clientOrderId: string, kind: ExecutionReport['kind'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'x', symbol: 'S', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: 0, ...extra,
});

describe('OrderManager: closed orders are forgotten, never the open ones nor recent closed ones', () => {
  it('keeps a closed order while it is recent (a late fill after the cancel ack is applied once), forgets it once old and beyond the floor', () => {
    const m = new OrderManager('cw', { minClosed: 2, closedMs: 1000, maxClosed: 1_000_000 });
    const a = m.create(intent, 0);
    m.apply(report(a.clientOrderId, 'cancelled'), 10);
    // the venue's fill after its cancel ack: applied, de-duplicated by trade id
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 20)).toMatchObject({ kind: 'applied', fill: true });
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 30)).toMatchObject({ kind: 'duplicate' });
    const open = m.create(intent, 40);
    // two more closed orders: three closed, above the floor of two, but none is old yet
    for (const at of [50, 60]) m.apply(report(m.create(intent, at).clientOrderId, 'rejected'), at);
    expect(m.closedCount).toBe(3);
    expect(m.get(a.clientOrderId)).toBeDefined();
    // later: the oldest closed order is past closedMs and the count is above the floor
    m.apply(report(m.create(intent, 2000).clientOrderId, 'rejected'), 2000);
    expect(m.get(a.clientOrderId)).toBeUndefined();
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 1 }), 2001)).toEqual({ kind: 'unknown' });
    // the open order is never forgotten, however old
    expect(m.get(open.clientOrderId)?.status).toBe('pending_new');
    expect(m.allOpen().map((o) => o.clientOrderId)).toEqual([open.clientOrderId]);
    // the floor holds: what is left is at least minClosed closed orders
    expect(m.closedCount).toBeGreaterThanOrEqual(2);
  });

  it('memory stays bounded over a long run of orders', () => {
    const m = new OrderManager('cw', { minClosed: 1000, closedMs: 60_000, maxClosed: 1_000_000 });
    for (let i = 0; i < 200_000; i++) {
      const now = i * 10; // 100 orders per second of clock time
      const o = m.create(intent, now);
      m.apply(report(o.clientOrderId, 'fill', { tradeId: `t${i}`, lastPrice: 100, lastQty: 10 }), now);
    }
    // 60 s of history at 100 orders/s is 6,000 orders (plus the one that just closed)
    expect(m.closedCount).toBeLessThanOrEqual(6_001);
    expect([...m.all()].length).toBe(m.closedCount);
  });

  it('the count cap bounds memory at any order rate: 200,000 orders closed within one clock ms keep at most maxClosed', () => {
    const m = new OrderManager('cw', { minClosed: 10, closedMs: 600_000, maxClosed: 5_000 });
    const open = m.create(intent, 0);
    for (let i = 0; i < 200_000; i++) {
      const o = m.create(intent, 1);
      m.apply(report(o.clientOrderId, 'fill', { tradeId: `t${i}`, lastPrice: 100, lastQty: 10 }), 1);
    }
    expect(m.closedCount).toBe(5_000);
    // what is held is the closed window plus the open order, nothing else
    expect([...m.all()].length).toBe(5_001);
    expect(m.get(open.clientOrderId)?.status).toBe('pending_new');
    // the newest closed orders are the ones kept
    expect(m.get(`cw-${m.nextIdNumber - 1}`)?.status).toBe('filled');
    expect(m.get(`cw-${m.nextIdNumber - 5_001}`)).toBeUndefined();
  });

  it('an order restored from the journal keeps the trade ids already applied: a repeated fill is still a duplicate', () => {
    const m = new OrderManager('cw');
    const o = m.create(intent, 1);
    const fill = (tradeId: string) => report(o.clientOrderId, 'fill', { tradeId, lastPrice: 100, lastQty: 1 });
    expect(m.apply(fill('t1'), 2).kind).toBe('applied');
    m.restore({ ...m.get(o.clientOrderId)! });
    expect(m.apply(fill('t1'), 3).kind).toBe('duplicate');
    expect(m.apply(fill('t2'), 4).kind).toBe('applied'); // the second id: the ids go from one to a set
    m.restore({ ...m.get(o.clientOrderId)! });
    expect(m.apply(fill('t1'), 5).kind).toBe('duplicate');
    expect(m.apply(fill('t2'), 6).kind).toBe('duplicate');
    expect(m.get(o.clientOrderId)!.filledQty).toBe(2);
  });

  it('a duplicate fill is refused inside the window (duplicate) and after it (unknown): never applied twice', () => {
    const m = new OrderManager('cw', { minClosed: 0, closedMs: 1_000_000, maxClosed: 3 });
    const a = m.create(intent, 0);
    const fill = report(a.clientOrderId, 'fill', { tradeId: 'T-1', lastPrice: 100, lastQty: 4 });
    expect(m.apply(fill, 1)).toMatchObject({ kind: 'applied', fill: true });
    m.apply(report(a.clientOrderId, 'cancelled'), 2);
    // the venue resends the fill after the cancel ack: same trade id, refused
    expect(m.apply(fill, 3)).toMatchObject({ kind: 'duplicate' });
    expect(m.get(a.clientOrderId)?.filledQty).toBe(4);
    // a partial fill on an open order keeps its trade ids while the order is open, however many close meanwhile
    const b = m.create(intent, 4);
    const bFill = report(b.clientOrderId, 'fill', { tradeId: 'T-2', lastPrice: 100, lastQty: 1 });
    m.apply(bFill, 5);
    for (let i = 0; i < 10; i++) m.apply(report(m.create(intent, 6).clientOrderId, 'rejected'), 6);
    expect(m.get(a.clientOrderId)).toBeUndefined();
    expect(m.apply(bFill, 7)).toMatchObject({ kind: 'duplicate' });
    expect(m.get(b.clientOrderId)?.filledQty).toBe(1);
    // the late duplicate of a's fill, after a left memory: unknown, not applied
    expect(m.apply(fill, 8)).toEqual({ kind: 'unknown' });
  });

  it('an order is a fixed set of fields: the intent as OrderIntent defines it, nothing else', () => {
    const m = new OrderManager();
    const o = m.create({ ...intent, reason: 'sig-1', extra: 'not an intent field' } as OrderIntent, 5);
    expect(o).toMatchObject({ ...intent, reason: 'sig-1', clientOrderId: 'cw-1', status: 'pending_new', filledQty: 0, createdTs: 5, updatedTs: 5 });
    expect('extra' in o).toBe(false);
  });
});

describe('OrderManager: waiting for an order\'s first report (the ack latency)', () => {
  it('the first report of an order carries when it was sent, later ones and restored orders -1; answered inside submit(): NaN', () => {
    const m = new OrderManager();
    const a = m.create(intent, 1);
    m.markSent(a, 123.5);
    const b = m.create(intent, 2);
    // b's venue answers inside submit(): its first report comes before markSent
    expect(m.apply(report(b.clientOrderId, 'ack'), 3)).toMatchObject({ kind: 'applied', ackSentAt: Number.NaN });
    m.markSent(b, 130);
    expect(m.apply(report(b.clientOrderId, 'cancelled'), 4)).toMatchObject({ ackSentAt: -1 });
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 2 }), 5)).toMatchObject({ kind: 'applied', ackSentAt: 123.5 });
    expect(m.apply(report(a.clientOrderId, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 2 }), 6)).toMatchObject({ ackSentAt: -1 });
    // markSent of an older order (not the last created) finds it by id
    const c = m.create(intent, 7);
    m.create(intent, 8);
    m.markSent(c, 200);
    expect(m.apply(report(c.clientOrderId, 'ack'), 9)).toMatchObject({ ackSentAt: 200 });
    const r = new OrderManager();
    r.restore({ ...c, clientOrderId: 'cw-77', status: 'open' });
    expect(r.apply(report('cw-77', 'ack'), 10)).toMatchObject({ ackSentAt: -1 });
  });
});

describe('OrderManager: what a rejection refuses', () => {
  it("a refused order is final even while its cancel is pending (rejects: 'order')", () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    m.markPendingCancel(o.clientOrderId);
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'order', rejectReason: 'INSUFFICIENT_BALANCE', text: 'no funds' }), 2);
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'rejected', rejectReason: 'INSUFFICIENT_BALANCE', text: 'no funds' });
    expect(m.openCount()).toBe(0);
    // the cancel's own refusal after it changes nothing
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'request', rejectReason: 'UNKNOWN_ORDER' }), 3);
    expect(m.get(o.clientOrderId)!.status).toBe('rejected');
  });

  it("a refused order that had fills ends cancelled with them; one already ended is not touched", () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    m.apply(report(o.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 4 }), 2);
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'order', rejectReason: 'VENUE_ERROR' }), 3);
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'cancelled', filledQty: 4 });
    const done = m.create(intent, 4);
    m.apply(report(done.clientOrderId, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 10 }), 5);
    m.apply(report(done.clientOrderId, 'rejected', { rejects: 'order', rejectReason: 'VENUE_ERROR' }), 6);
    expect(m.get(done.clientOrderId)).toMatchObject({ status: 'filled', rejectReason: undefined });
  });

  it("a refused request leaves the order as it was (rejects: 'request'): a refused cancel, a refused second order under its id", () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    // a duplicate refused before the first order's ack: the order is still new, not rejected
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'request', rejectReason: 'DUPLICATE_ORDER' }), 2);
    expect(m.get(o.clientOrderId)!.status).toBe('pending_new');
    m.apply(report(o.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3 }), 3);
    m.markPendingCancel(o.clientOrderId);
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'request', rejectReason: 'RATE_LIMITED' }), 4);
    expect(m.get(o.clientOrderId)!.status).toBe('partially_filled');
    expect(m.openCount()).toBe(1);
  });

  it('a partial fill that crosses a cancel in flight leaves the order pending_cancel; a refused cancel then restores partially_filled', () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    m.apply(report(o.clientOrderId, 'ack', { venueOrderId: 'V1' }), 2);
    m.markPendingCancel(o.clientOrderId);
    m.apply(report(o.clientOrderId, 'fill', { tradeId: 't1', lastPrice: 100, lastQty: 3, leavesQty: 7, cumQty: 3 }), 3);
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'pending_cancel', filledQty: 3 });
    m.apply(report(o.clientOrderId, 'rejected', { rejects: 'request', rejectReason: 'RATE_LIMITED' }), 4);
    expect(m.get(o.clientOrderId)!.status).toBe('partially_filled');
    // a fill of the rest while a cancel is pending still completes it
    m.markPendingCancel(o.clientOrderId);
    m.apply(report(o.clientOrderId, 'fill', { tradeId: 't2', lastPrice: 100, lastQty: 7, leavesQty: 0, cumQty: 10 }), 5);
    expect(m.get(o.clientOrderId)!.status).toBe('filled');
    expect(m.openCount()).toBe(0);
  });

  it('without the field (older adapters) a rejection while a cancel is pending is read as the cancel\'s', () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    m.markPendingCancel(o.clientOrderId);
    m.apply(report(o.clientOrderId, 'rejected', { rejectReason: 'UNKNOWN_ORDER' }), 2);
    expect(m.get(o.clientOrderId)!.status).toBe('open');
    const n = m.create(intent, 3);
    m.apply(report(n.clientOrderId, 'rejected', { rejectReason: 'INVALID_ORDER' }), 4);
    expect(m.get(n.clientOrderId)!.status).toBe('rejected');
  });
});

describe('OrderManager: ids the journal could not keep', () => {
  it('a report whose trade, venue or client order id is not a well-formed string (a lone surrogate) is invalid (id), and not applied', () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    const ack = m.apply(report(o.clientOrderId, 'ack', { venueOrderId: 'V\ud800' }), 2);
    expect(ack).toMatchObject({ kind: 'invalid', reason: 'id' });
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'pending_new', venueOrderId: undefined });
    const fill = m.apply(report(o.clientOrderId, 'fill', { tradeId: '\udc00', lastPrice: 100, lastQty: 3 }), 3);
    expect(fill).toMatchObject({ kind: 'invalid', reason: 'id' });
    expect(m.get(o.clientOrderId)!.filledQty).toBe(0);
    expect(m.apply(report(o.clientOrderId, 'fill', { tradeId: 't\u{1F600}', lastPrice: 100, lastQty: 3 }), 4)).toMatchObject({ kind: 'applied', fill: true });
  });
});

describe('OrderManager: fields the journal could not keep or a restart could not read (fieldProblem)', () => {
  const cases: [string, ExecutionReport['kind'], Record<string, unknown>, string, RegExp][] = [
    ['a cancel with a number fee', 'cancelled', { feeAtoms: 0 }, 'fill_fee', /^fee 0 is not a bigint/],
    ['a cancel without a venue time', 'cancelled', { ts: undefined }, 'field', /^venue time undefined/],
    ['an ack with a NaN venue time', 'ack', { ts: Number.NaN }, 'field', /^venue time NaN/],
    ['a cancel without a side', 'cancelled', { side: undefined }, 'field', /^side undefined/],
    ['a cancel with leavesQty as a string', 'cancelled', { leavesQty: '0' }, 'field', /^leavesQty "0"/],
    ['an expiry with an infinite cumQty', 'expired', { cumQty: Number.POSITIVE_INFINITY }, 'field', /^cumQty Infinity/],
    ['a rejection with rejects "cancel"', 'rejected', { rejects: 'cancel' }, 'field', /^rejects "cancel"/],
    ['a rejection with an empty reject reason', 'rejected', { rejectReason: '' }, 'field', /^reject reason "" is not a string of 1 to 200/],
    ['a rejection with a reject reason of 201 characters', 'rejected', { rejectReason: 'R'.repeat(201) }, 'field', /^reject reason/],
    ['a rejection with a numeric text', 'rejected', { text: 42 }, 'field', /^text 42/],
    ['an ack with a numeric fee asset', 'ack', { feeAsset: 1 }, 'field', /^fee asset 1/],
    ["a fill with liquidity 'Maker'", 'fill', { lastPrice: 100, lastQty: 3, feeAtoms: 1n, liquidity: 'Maker' }, 'field', /^liquidity "Maker"/],
    ['a fill with a null cumQty', 'fill', { lastPrice: 100, lastQty: 3, feeAtoms: 1n, cumQty: null }, 'field', /^cumQty null/],
  ];
  it.each(cases)('%s is invalid, and not applied', (_what, kind, patch, reason, detail) => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    const out = m.apply({ ...report(o.clientOrderId, kind), ...patch } as ExecutionReport, 2);
    expect(out).toMatchObject({ kind: 'invalid', reason });
    expect((out as { detail: string }).detail).toMatch(detail);
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'pending_new', filledQty: 0, updatedTs: 1 });
  });

  it('quantities and a non-fill fee may be absent (an adapter that does not track them): applied', () => {
    const m = new OrderManager();
    const o = m.create(intent, 1);
    const fill = { ...report(o.clientOrderId, 'fill', { lastPrice: 100, lastQty: 3, feeAtoms: 1n, tradeId: 't1' }) } as Partial<ExecutionReport>;
    delete fill.cumQty;
    delete fill.leavesQty;
    expect(m.apply(fill as ExecutionReport, 2)).toMatchObject({ kind: 'applied', fill: true });
    const cancel = { ...report(o.clientOrderId, 'cancelled') } as Partial<ExecutionReport>;
    for (const k of ['lastPrice', 'lastQty', 'leavesQty', 'cumQty', 'feeAtoms'] as const) delete cancel[k];
    expect(m.apply(cancel as ExecutionReport, 3)).toMatchObject({ kind: 'applied', fill: false });
    expect(m.get(o.clientOrderId)).toMatchObject({ status: 'cancelled', filledQty: 3 });
  });
});

describe('OrderManager: which ids are ours', () => {
  it('an id of our form counts as ours only up to a bound above what was issued or reserved; restoring another does not move the sequence', () => {
    const m = new OrderManager('cw');
    m.useReservations(2000, () => {});
    expect(m.ownsId('cw-1')).toBe(true);
    expect(m.ownsId('cw-1000002000')).toBe(true);
    expect(m.ownsId('cw-1000002001')).toBe(false);
    expect(m.ownsId('cw-99999999999999999999')).toBe(false);
    expect(m.ownsId('xx-5')).toBe(false);
    const restored = (clientOrderId: string) => ({ ...m.create(intent, 1), clientOrderId, status: 'open' as const });
    m.restore(restored('cw-99999999999999999999'));
    m.restore(restored('adopted-x-987654321098'));
    // cw-2001 and cw-2002 went to the two orders restored under other ids
    expect(m.nextIdNumber).toBe(2003);
    m.restore(restored('cw-7000'));
    expect(m.nextIdNumber).toBe(7001);
    expect([m.create(intent, 2).clientOrderId, m.create(intent, 3).clientOrderId]).toEqual(['cw-7001', 'cw-7002']);
  });
});

describe('OrderManager: open orders per instrument', () => {
  it('openOrders and openCount agree with a model over any sequence of orders and reports; a returned array never changes', () => {
    const symbols = ['S', 'T', 'U'];
    const step = fc.oneof(
      fc.record({ t: fc.constant('create' as const), sym: fc.constantFrom(...symbols), venue: fc.constantFrom('x', 'y') }),
      fc.record({ t: fc.constantFrom('ack' as const, 'fill' as const, 'cancelled' as const, 'rejected' as const, 'force' as const, 'restore' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const m = new OrderManager('cw', { minClosed: 5, closedMs: 1000, maxClosed: 50 });
        const ids: string[] = [];
        const open = new Map<string, { venue: string; sym: string }>(); // the model
        const held: { arr: readonly unknown[]; copy: unknown[] }[] = [];
        let now = 0;
        for (const s of steps) {
          now++;
          if (s.t === 'create') {
            const o = m.create({ ...intent, exchange: s.venue, symbol: s.sym }, now);
            ids.push(o.clientOrderId);
            open.set(o.clientOrderId, { venue: s.venue, sym: s.sym });
          } else if (ids.length > 0) {
            const id = ids[s.pick % ids.length]!;
            const o = m.get(id);
            if (s.t === 'force') m.forceClose(id, 'gone');
            else if (s.t === 'restore') {
              if (o) m.restore({ ...o });
            } else m.apply(report(id, s.t, s.t === 'fill' ? { tradeId: `t${now}`, lastPrice: 100, lastQty: 10 } : {}), now);
            const after = m.get(id);
            if (after && ['filled', 'cancelled', 'rejected'].includes(after.status)) open.delete(id);
            else if (after && o) open.set(id, { venue: after.exchange, sym: after.symbol });
          }
          expect(m.openCount()).toBe(open.size);
          for (const venue of ['x', 'y']) {
            for (const sym of symbols) {
              const arr = m.openOrders(venue, sym);
              const want = [...open].filter(([, v]) => v.venue === venue && v.sym === sym).map(([id]) => id).sort();
              expect(arr.map((o) => o.clientOrderId).sort()).toEqual(want);
              held.push({ arr, copy: [...arr] });
            }
          }
        }
        for (const h of held) expect(h.arr).toEqual(h.copy);
        expect(m.allOpen().length).toBe(open.size);
      }),
      { numRuns: 200 },
    );
  });

  it('applies each fill once by trade id over any sequence of fills, repeats, closes, restores and forgetting', () => {
    const step = fc.oneof(
      fc.record({ t: fc.constant('create' as const) }),
      fc.record({ t: fc.constant('fill' as const), pick: fc.nat(), trade: fc.integer({ min: 0, max: 5 }), qty: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ t: fc.constantFrom('cancelled' as const, 'force' as const, 'restore' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 150 }), (steps) => {
        // closed orders beyond the 3 newest are forgotten at once: forgetting happens often
        const m = new OrderManager('cw', { minClosed: 0, closedMs: Number.POSITIVE_INFINITY, maxClosed: 3 });
        const ids: string[] = [];
        // the model: per known order, its trade ids and filled quantity; closed ids in closing order
        const known = new Map<string, { trades: Set<string>; filled: number }>();
        const closedOrder: string[] = [];
        const close = (id: string): void => {
          if (closedOrder.includes(id)) return;
          closedOrder.push(id);
          while (closedOrder.length > 3) known.delete(closedOrder.shift()!);
        };
        let now = 0;
        for (const s of steps) {
          now++;
          if (s.t === 'create') {
            const o = m.create({ ...intent, qty: 1_000 }, now);
            ids.push(o.clientOrderId);
            known.set(o.clientOrderId, { trades: new Set(), filled: 0 });
            continue;
          }
          if (ids.length === 0) continue;
          const id = ids[s.pick % ids.length]!;
          const k = known.get(id);
          if (s.t === 'fill') {
            const tradeId = `t${s.trade}`;
            const out = m.apply(report(id, 'fill', { tradeId, lastPrice: 100, lastQty: s.qty }), now);
            if (!k) expect(out.kind).toBe('unknown');
            else if (k.trades.has(tradeId)) expect(out.kind).toBe('duplicate');
            else {
              expect(out).toMatchObject({ kind: 'applied', fill: true });
              k.trades.add(tradeId);
              k.filled += s.qty;
            }
          } else if (s.t === 'cancelled') {
            const out = m.apply(report(id, 'cancelled'), now);
            expect(out.kind).toBe(k ? 'applied' : 'unknown');
            if (k) close(id);
          } else if (s.t === 'force') {
            const before = m.get(id)?.status;
            m.forceClose(id, 'gone');
            if (k && before !== 'cancelled') close(id);
          } else {
            const o = m.get(id);
            if (o) m.restore({ ...o }); // a restored copy keeps the trade ids seen
          }
          if (k && known.has(id)) expect(m.get(id)?.filledQty).toBe(k.filled);
        }
        for (const id of ids) expect(m.get(id) !== undefined).toBe(known.has(id));
        expect(m.closedCount).toBe(Math.min(3, closedOrder.length));
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * A journal's client id reservations, played in memory: requests reach the "writer" in order; a
 * request is durable once the writer commits it (`commitNext`); a blocking `reserve` commits
 * everything asked for before it and itself; `awaitDurable` waits for the writer (commits what
 * it was handed, unless the writer is failing); `disk` is what a crash at that moment leaves.
 */
class FakeReserver {
  disk = 0;
  readonly queued: number[] = [];
  readonly blocking: number[] = [];
  readonly ahead: number[] = [];
  awaited = 0;
  /** Throw from the next blocking reserve (a failed journal). */
  failNext = false;
  /** The writer's commits fail: what it was handed never becomes durable. */
  failing = false;
  reserve(upTo: number): void {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('journal: disk full');
    }
    this.blocking.push(upTo);
    this.failing = false;
    while (this.queued.length > 0) this.commitNext();
    this.disk = Math.max(this.disk, upTo);
  }
  reserveAhead(upTo: number): void {
    this.ahead.push(upTo);
    this.queued.push(upTo);
  }
  durableUpTo(): number {
    return this.disk;
  }
  awaitDurable(): number {
    this.awaited++;
    if (this.failing) this.queued.length = 0;
    while (this.queued.length > 0) this.commitNext();
    return this.disk;
  }
  commitNext(): void {
    const upTo = this.queued.shift();
    if (upTo !== undefined && !this.failing) this.disk = Math.max(this.disk, upTo);
  }
  /** The writer lost its queue (a commit that failed and was never retried durably). */
  lose(): void {
    this.queued.length = 0;
  }
}

const idNumber = (o: { clientOrderId: string }) => Number(o.clientOrderId.slice(o.clientOrderId.lastIndexOf('-') + 1));

describe('OrderManager: client ids reserved ahead of need', () => {
  it('asks for the next block when half of the current one is issued and, with the writer keeping up, never waits for a commit', () => {
    const m = new OrderManager('cw');
    const r = new FakeReserver();
    m.useReservations(0, r);
    // the run's first block is asked for at once, before any order
    expect(r.ahead).toEqual([1000]);
    // committed while the engine starts
    r.commitNext();
    for (let i = 1; i <= 3000; i++) {
      const o = m.create(intent, i);
      expect(idNumber(o)).toBe(i);
      expect(idNumber(o)).toBeLessThanOrEqual(r.disk);
      // the writer commits what it was handed within a few orders
      if (i % 10 === 0) r.commitNext();
    }
    expect({ blocking: r.blocking, awaited: r.awaited }).toEqual({ blocking: [], awaited: 0 });
    expect(r.ahead).toEqual([1000, 2000, 3000, 4000]);
  });

  it('an order waits only when the next block is not durable yet: for the request in flight, or, when that one failed, for a blocking reservation; never for an id above what is durable', () => {
    const m = new OrderManager('cw');
    const r = new FakeReserver();
    m.useReservations(0, r);
    // the writer is slow: nothing committed before the first order, which waits for the request in flight
    expect(idNumber(m.create(intent, 1))).toBe(1);
    expect({ blocking: r.blocking, awaited: r.awaited, disk: r.disk }).toEqual({ blocking: [], awaited: 1, disk: 1000 });
    for (let i = 2; i <= 1000; i++) m.create(intent, i);
    // cw-501 asked for the block up to 2000
    expect(r.ahead).toEqual([1000, 2000]);
    // that request fails at the writer: cw-1001 waits for it, and then reserves blocking
    r.failing = true;
    const o = m.create(intent, 1001);
    expect(idNumber(o)).toBe(1001);
    expect({ blocking: r.blocking, awaited: r.awaited, disk: r.disk }).toEqual({ blocking: [2000], awaited: 2, disk: 2000 });
    // the next request goes out half a block before that one runs out, as before
    for (let i = 1002; i <= 1501; i++) m.create(intent, i);
    expect(r.ahead).toEqual([1000, 2000, 3000]);
  });

  it('a blocking reservation that fails issues no id, and the next order tries again', () => {
    const m = new OrderManager('cw');
    const r = new FakeReserver();
    m.useReservations(0, r);
    r.lose();
    r.failNext = true;
    expect(() => m.create(intent, 1)).toThrow(/disk full/);
    expect(m.nextIdNumber).toBe(1);
    expect(idNumber(m.create(intent, 2))).toBe(1);
    expect(r.disk).toBeGreaterThanOrEqual(1);
  });

  it('whatever the writer does, no id is issued above the reservation on disk at that moment (a crash then resumes above every id sent)', () => {
    // each step: issue some orders, then the writer commits some of what it was handed, loses it, starts or stops failing, or a restore moves the sequence
    const step = fc.oneof(
      fc.record({ t: fc.constant('orders' as const), n: fc.integer({ min: 1, max: 700 }) }),
      fc.record({ t: fc.constant('commit' as const), n: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ t: fc.constant('lose' as const) }),
      fc.record({ t: fc.constant('failing' as const), on: fc.boolean() }),
      fc.record({ t: fc.constant('restore' as const), n: fc.integer({ min: 1, max: 3000 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 2, max: 1500 }), fc.array(step, { maxLength: 30 }), (journaled, block, steps) => {
        const m = new OrderManager('cw');
        const r = new FakeReserver();
        r.disk = journaled;
        m.useReservations(journaled, r, block);
        let last = journaled;
        for (const s of steps) {
          if (s.t === 'orders') {
            for (let k = 0; k < s.n; k++) {
              const n = idNumber(m.create(intent, k));
              // fresh, above every earlier id and the previous run's reservation, and reserved on disk
              if (!(n > last && n <= r.disk)) return false;
              last = n;
            }
          } else if (s.t === 'commit') for (let k = 0; k < s.n; k++) r.commitNext();
          else if (s.t === 'lose') r.lose();
          else if (s.t === 'failing') r.failing = s.on;
          else {
            const id = last + s.n;
            m.restore({ ...m.create(intent, 0), clientOrderId: `cw-${id}`, status: 'open' });
            last = Math.max(last + 1, id);
          }
        }
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
