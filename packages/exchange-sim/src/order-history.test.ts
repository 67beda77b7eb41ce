import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExecutionReport, OrderStatus, OrderStatusReport } from '@cwts/core';
import { OrderHistory } from './order-history.js';

const report = (kind: ExecutionReport['kind'], clientOrderId: string, ts: number, extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
  kind, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts, ...extra,
});

describe('OrderHistory', () => {
  it('forgets the order it saw first once it holds more than its capacity, whatever reported last', () => {
    const h = new OrderHistory(3);
    h.record(report('ack', 'a', 1, { venueOrderId: 'sim-1', leavesQty: 2 }));
    h.record(report('ack', 'b', 2, { venueOrderId: 'sim-2', leavesQty: 2 }));
    h.record(report('ack', 'c', 3, { venueOrderId: 'sim-3', leavesQty: 2 }));
    // a fill on the oldest order does not make it younger: it is still the first forgotten
    h.record(report('fill', 'a', 4, { lastPrice: 10, lastQty: 1, leavesQty: 1, cumQty: 1, tradeId: 't1' }));
    h.record(report('fill', 'c', 5, { lastPrice: 10, lastQty: 2, leavesQty: 0, cumQty: 2, tradeId: 't2' }));
    expect(h.query('a')).toMatchObject({ status: 'partially_filled', filledQty: 1, venueOrderId: 'sim-1' });
    expect(h.fillsSince(['BTCUSDT'], 0).map((f) => f.tradeId)).toEqual(['t1', 't2']);

    h.record(report('ack', 'd', 6, { venueOrderId: 'sim-4', leavesQty: 2 }));
    expect(h.query('a')).toBeUndefined();
    expect(h.query('b')).toMatchObject({ status: 'open', venueOrderId: 'sim-2' });
    expect(h.query('c')).toMatchObject({ status: 'filled', filledQty: 2 });
    expect(h.query('d')).toMatchObject({ status: 'open' });
    // the forgotten order's fill is gone with it
    expect(h.fillsSince(['BTCUSDT'], 0).map((f) => f.tradeId)).toEqual(['t2']);

    // a report for a forgotten order starts a new entry (the newest), forgetting the next oldest
    h.record(report('cancelled', 'a', 7));
    expect(h.query('a')).toMatchObject({ status: 'cancelled', filledQty: 0, fills: [] });
    expect(h.query('b')).toBeUndefined();
  });

  it('a cancel or duplicate rejected for an order the venue never held does not make one up', () => {
    const h = new OrderHistory(4);
    h.record(report('rejected', 'ghost', 1, { rejectReason: 'UNKNOWN_ORDER' }));
    h.record(report('rejected', 'twin', 1, { rejectReason: 'DUPLICATE_ORDER' }));
    expect(h.query('ghost')).toBeUndefined();
    expect(h.query('twin')).toBeUndefined();
    // a rejected new order is an order the venue saw
    h.record(report('rejected', 'bad', 2, { rejectReason: 'MIN_NOTIONAL' }));
    expect(h.query('bad')).toMatchObject({ status: 'rejected', fills: [] });
    // what the report says it refused decides over its reason: a cancel refused for the rate limit
    h.record(report('rejected', 'slow', 3, { rejectReason: 'RATE_LIMITED', rejects: 'request' }));
    expect(h.query('slow')).toBeUndefined();
    h.record(report('ack', 'w', 4, { venueOrderId: 'sim-9', leavesQty: 2 }));
    h.record(report('rejected', 'w', 5, { rejectReason: 'RATE_LIMITED', rejects: 'request' }));
    expect(h.query('w')).toMatchObject({ status: 'open' });
    h.record(report('rejected', 'late', 6, { rejectReason: 'UNKNOWN_ORDER', rejects: 'order' }));
    expect(h.query('late')).toMatchObject({ status: 'rejected' });
  });

  it('matches a history that keeps the reports themselves, for any reports and capacity (fees past 2^53 included)', () => {
    /** A refused request, not a refused order: as the report says, or (no `rejects`) by its reason. */
    const refusesRequest = (r: ExecutionReport) => r.kind === 'rejected' && (r.rejects !== undefined ? r.rejects === 'request' : r.rejectReason === 'UNKNOWN_ORDER' || r.rejectReason === 'DUPLICATE_ORDER');
    /** The history as it was: every report kept as it came, the oldest order forgotten first. */
    class ReportHistory {
      private readonly orders = new Map<string, { symbol: string; status: OrderStatus; filledQty: number; venueOrderId?: string; fills: ExecutionReport[]; seqs: number[] }>();
      private seq = 0;
      constructor(private readonly capacity: number) {}
      record(r: ExecutionReport): void {
        let e = this.orders.get(r.clientOrderId);
        if (!e) {
          if (refusesRequest(r)) return;
          e = { symbol: r.symbol, status: 'open', filledQty: 0, fills: [], seqs: [] };
          this.orders.set(r.clientOrderId, e);
          if (this.orders.size > this.capacity) this.orders.delete(this.orders.keys().next().value!);
        }
        if (r.venueOrderId !== undefined) e.venueOrderId = r.venueOrderId;
        if (r.kind === 'fill') {
          e.fills.push(r);
          e.seqs.push(this.seq++);
          e.filledQty = r.cumQty;
          e.status = r.leavesQty === 0 ? 'filled' : 'partially_filled';
        } else if (r.kind === 'cancelled' || r.kind === 'expired') {
          if (e.status !== 'filled') e.status = 'cancelled';
        } else if (r.kind === 'rejected' && e.status === 'open' && e.fills.length === 0 && !refusesRequest(r)) e.status = 'rejected';
      }
      /** A fill is answered with its order's venue id as it is now (the columns keep one per order). */
      query(id: string): OrderStatusReport | undefined {
        const e = this.orders.get(id);
        if (!e) return undefined;
        return { clientOrderId: id, venueOrderId: e.venueOrderId, status: e.status, filledQty: e.filledQty, fills: e.fills.map((f) => this.withVenueId(f, e.venueOrderId)) };
      }
      /** By time, then in the order recorded. */
      fillsSince(symbols: readonly string[], sinceTs: number): ExecutionReport[] {
        const out: { r: ExecutionReport; seq: number }[] = [];
        for (const e of this.orders.values()) if (symbols.includes(e.symbol)) e.fills.forEach((f, k) => f.ts >= sinceTs && out.push({ r: this.withVenueId(f, e.venueOrderId), seq: e.seqs[k]! }));
        return out.sort((a, b) => a.r.ts - b.r.ts || a.seq - b.seq).map((x) => x.r);
      }
      private withVenueId(f: ExecutionReport, venueOrderId: string | undefined): ExecutionReport {
        const { venueOrderId: _, ...rest } = f;
        return venueOrderId === undefined ? rest : { ...rest, venueOrderId };
      }
    }
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    // an order's venue, symbol and side never change; its venue id is given or not on each report
    const symbolOf = (id: string) => (id < 'd' ? 'BTCUSDT' : 'ETHUSDT');
    const sideOf = (id: string) => (id === 'a' || id === 'd' ? 'sell' : 'buy');
    const reportArb = fc
      .record({
        kind: fc.constantFrom<ExecutionReport['kind']>('ack', 'fill', 'fill', 'cancelled', 'expired', 'rejected'),
        id: fc.constantFrom(...ids),
        venueId: fc.boolean(),
        lastPrice: fc.integer({ min: 1, max: 1e9 }),
        lastQty: fc.integer({ min: 1, max: 1e6 }),
        leavesQty: fc.integer({ min: 0, max: 3 }),
        cumQty: fc.integer({ min: 1, max: 1e6 }),
        fee: fc.oneof(fc.bigInt({ min: -1000n, max: 10n ** 6n }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n })),
        liquidity: fc.constantFrom<'maker' | 'taker' | undefined>(undefined, 'maker', 'taker'),
        tradeId: fc.option(fc.string({ minLength: 1, maxLength: 6 }), { nil: undefined }),
        rejectReason: fc.constantFrom<ExecutionReport['rejectReason']>('UNKNOWN_ORDER', 'DUPLICATE_ORDER', 'MIN_NOTIONAL', 'RATE_LIMITED'),
        rejects: fc.constantFrom<ExecutionReport['rejects']>(undefined, 'order', 'request'),
        ts: fc.integer({ min: 0, max: 50 }),
      })
      .map((g): ExecutionReport => {
        const r: ExecutionReport = { kind: g.kind, exchange: 'sim', symbol: symbolOf(g.id), clientOrderId: g.id, side: sideOf(g.id), lastPrice: 0, lastQty: 0, leavesQty: 0, cumQty: 0, feeAtoms: 0n, ts: g.ts };
        if (g.venueId) r.venueOrderId = `v-${g.id}`;
        if (g.kind === 'fill') {
          Object.assign(r, { lastPrice: g.lastPrice, lastQty: g.lastQty, leavesQty: g.leavesQty, cumQty: g.cumQty, feeAtoms: g.fee });
          if (g.liquidity !== undefined) r.liquidity = g.liquidity;
          if (g.tradeId !== undefined) r.tradeId = g.tradeId;
        }
        if (g.kind === 'rejected') {
          r.rejectReason = g.rejectReason;
          if (g.rejects !== undefined) r.rejects = g.rejects;
        }
        return r;
      });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(reportArb, { maxLength: 40, size: 'max' }), fc.integer({ min: 0, max: 50 }), (capacity, reports, since) => {
        const h = new OrderHistory(capacity);
        const model = new ReportHistory(capacity);
        for (const r of reports) {
          h.record(r);
          model.record(r);
          for (const id of ids) expect(h.query(id)).toStrictEqual(model.query(id));
        }
        for (const symbols of [['BTCUSDT'], ['ETHUSDT'], ['BTCUSDT', 'ETHUSDT'], []]) expect(h.fillsSince(symbols, since)).toStrictEqual(model.fillsSince(symbols, since));
      }),
      { numRuns: 500 },
    );
  });

  it('an id used again names its new order; the earlier one keeps its fills until the ring forgets it, and forgetting it leaves the new one', () => {
    const h = new OrderHistory(2);
    h.record(report('ack', 'x', 1, { venueOrderId: 'sim-1', leavesQty: 2 }));
    h.record(report('fill', 'x', 2, { lastPrice: 10, lastQty: 2, leavesQty: 0, cumQty: 2, tradeId: 't1' }));
    h.startOrder('x');
    h.record(report('ack', 'x', 3, { venueOrderId: 'sim-2', leavesQty: 5 }));
    expect(h.query('x')).toStrictEqual({ clientOrderId: 'x', venueOrderId: 'sim-2', status: 'open', filledQty: 0, fills: [] });
    h.record(report('fill', 'x', 4, { lastPrice: 11, lastQty: 1, leavesQty: 4, cumQty: 1, tradeId: 't2' }));
    expect(h.query('x')).toMatchObject({ status: 'partially_filled', filledQty: 1, fills: [{ tradeId: 't2', venueOrderId: 'sim-2' }] });
    // both orders' fills are the account's trades, each with its own order's venue id
    expect(h.fillsSince(['BTCUSDT'], 0).map((f) => [f.tradeId, f.venueOrderId])).toEqual([['t1', 'sim-1'], ['t2', 'sim-2']]);
    // a rejected new order under the id is what the id names next
    h.startOrder('x');
    h.record(report('rejected', 'x', 5, { rejectReason: 'MIN_NOTIONAL', rejects: 'order' }));
    expect(h.query('x')).toMatchObject({ status: 'rejected', venueOrderId: undefined, fills: [] });
    // the ring forgets the first two orders under x, never the one the id names now
    h.record(report('ack', 'y', 6, { venueOrderId: 'sim-3', leavesQty: 1 }));
    expect(h.query('x')).toMatchObject({ status: 'rejected' });
    expect(h.fillsSince(['BTCUSDT'], 0)).toEqual([]);
    h.record(report('ack', 'z', 7, { venueOrderId: 'sim-4', leavesQty: 1 }));
    expect(h.query('x')).toBeUndefined();
    expect(h.query('y')).toMatchObject({ status: 'open' });
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new OrderHistory(bad)).toThrow(RangeError);
  });
});
