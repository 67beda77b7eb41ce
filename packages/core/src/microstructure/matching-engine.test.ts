import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CancelCause, MatchReject, MatchStatus, MatchingEngine, OrderKind, StpMode, type MatchSideCode, type OrderKindCode, type StpModeCode } from './matching-engine.js';
import { ReferenceEngine } from './reference-engine.js';

const BUY = 0 as const;
const SELL = 1 as const;

function fresh(stp: StpModeCode = StpMode.NONE) {
  return new MatchingEngine('T', { initialOrders: 16, initialLevels: 16, stp });
}

describe('MatchingEngine basics', () => {
  it('price-time priority, trades at the resting price, equal prices cross', () => {
    const e = fresh();
    e.submit(1, SELL, OrderKind.LIMIT, 101, 5);
    e.submit(2, SELL, OrderKind.LIMIT, 100, 3);
    e.submit(3, SELL, OrderKind.LIMIT, 100, 4);
    expect(e.bestAsk()).toBe(100);
    expect(e.ordersAt('ask', 100)).toEqual([2, 3]);
    expect(e.submit(10, BUY, OrderKind.LIMIT, 101, 9)).toBe(MatchStatus.OK);
    expect(e.lastFills().map((f) => [f.makerId, f.takerId, f.price, f.qty, f.seq])).toEqual([
      [2, 10, 100, 3, 1],
      [3, 10, 100, 4, 2],
      [1, 10, 101, 2, 3],
    ]);
    expect(e.result.filledQty).toBe(9);
    expect(e.result.restingQty).toBe(0);
    expect(e.openQty(1)).toBe(3);
    // equal price crosses, at the maker's price
    e.submit(11, BUY, OrderKind.LIMIT, 99, 1);
    e.submit(12, SELL, OrderKind.LIMIT, 99, 2);
    expect(e.lastFills()).toMatchObject([{ makerId: 11, takerId: 12, price: 99, qty: 1 }]);
    expect(e.result.restingQty).toBe(1);
    expect(e.bestAsk()).toBe(99);
    expect(e.checkInvariants()).toBeNull();
  });

  it('market order with too little liquidity fills what exists and reports the rest cancelled', () => {
    const e = fresh();
    e.submit(1, SELL, OrderKind.LIMIT, 100, 2);
    expect(e.submit(2, BUY, OrderKind.MARKET, 0, 5)).toBe(MatchStatus.OK);
    expect(e.result).toMatchObject({ filledQty: 2, cancelledQty: 3, cancelCause: CancelCause.NO_LIQUIDITY, restingQty: 0 });
    e.submit(3, SELL, OrderKind.MARKET, 0, 1);
    expect(e.result).toMatchObject({ filledQty: 0, cancelledQty: 1, cancelCause: CancelCause.NO_LIQUIDITY });
    expect(e.orderCount).toBe(0);
  });

  it('IOC, FOK all-or-nothing across levels, post-only', () => {
    const e = fresh();
    e.submit(1, SELL, OrderKind.LIMIT, 100, 2);
    e.submit(2, SELL, OrderKind.LIMIT, 101, 2);
    e.submit(3, SELL, OrderKind.LIMIT, 103, 2);
    e.submit(4, BUY, OrderKind.FOK, 101, 5);
    expect(e.result).toMatchObject({ reject: MatchReject.FOK_UNFILLABLE });
    expect(e.depth('ask').map((l) => l.qty)).toEqual([2, 2, 2]);
    e.submit(5, BUY, OrderKind.FOK, 101, 4);
    expect(e.result).toMatchObject({ filledQty: 4, cancelledQty: 0 });
    e.submit(6, BUY, OrderKind.IOC, 103, 5);
    expect(e.result).toMatchObject({ filledQty: 2, cancelledQty: 3, cancelCause: CancelCause.IOC_REMAINDER });
    e.submit(7, SELL, OrderKind.LIMIT, 105, 1);
    expect(e.submit(8, BUY, OrderKind.POST_ONLY, 105, 1)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.POST_ONLY_WOULD_CROSS);
    expect(e.submit(9, BUY, OrderKind.POST_ONLY, 104, 1)).toBe(MatchStatus.OK);
    expect(e.result.restingQty).toBe(1);
    expect(e.checkInvariants()).toBeNull();
  });

  it('cancel: unknown and filled ids return UNKNOWN_ORDER without throwing', () => {
    const e = fresh();
    expect(e.cancel(42)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.UNKNOWN_ORDER);
    e.submit(1, SELL, OrderKind.LIMIT, 100, 2);
    e.submit(2, BUY, OrderKind.LIMIT, 100, 2);
    expect(e.cancel(1)).toBe(MatchStatus.REJECTED);
    e.submit(3, SELL, OrderKind.LIMIT, 100, 2);
    expect(e.cancel(3)).toBe(MatchStatus.OK);
    expect(e.result.cancelledQty).toBe(2);
    expect(e.cancel(3)).toBe(MatchStatus.REJECTED);
  });

  it('replace: qty down keeps priority, qty up or price change loses it', () => {
    const e = fresh();
    e.submit(1, BUY, OrderKind.LIMIT, 100, 5);
    e.submit(2, BUY, OrderKind.LIMIT, 100, 5);
    e.replace(1, 100, 3);
    expect(e.ordersAt('bid', 100)).toEqual([1, 2]);
    expect(e.qtyAt('bid', 100)).toBe(8);
    e.replace(1, 100, 4);
    expect(e.ordersAt('bid', 100)).toEqual([2, 1]);
    e.replace(2, 99, 5);
    e.replace(2, 100, 5);
    expect(e.ordersAt('bid', 100)).toEqual([1, 2]);
    expect(e.replace(77, 1, 1)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.UNKNOWN_ORDER);
    expect(e.replace(1, 100, 0)).toBe(MatchStatus.REJECTED);
    // replace into a crossing price trades
    e.submit(3, SELL, OrderKind.LIMIT, 102, 2);
    e.replace(1, 102, 4);
    expect(e.lastFills()).toMatchObject([{ makerId: 3, takerId: 1, price: 102, qty: 2 }]);
    expect(e.openQty(1)).toBe(2);
    // post-only replace that would cross is rejected untouched
    e.submit(4, SELL, OrderKind.POST_ONLY, 105, 1);
    expect(e.replace(4, 102, 1)).toBe(MatchStatus.REJECTED);
    expect(e.order(4)).toMatchObject({ price: 105, qty: 1 });
    expect(e.checkInvariants()).toBeNull();
  });

  it('rejects invalid and duplicate orders untouched', () => {
    const e = fresh();
    e.submit(1, BUY, OrderKind.LIMIT, 100, 5);
    for (const [id, q, p] of [[2, 0, 100], [2, 1.5, 100], [2, 1, 100.5], [2.5, 1, 100], [1, 1, 100]] as const) {
      expect(e.submit(id, SELL, OrderKind.LIMIT, p, q)).toBe(MatchStatus.REJECTED);
    }
    expect(e.depth('bid')).toEqual([{ price: 100, qty: 5, orders: [{ id: 1, qty: 5, owner: 0 }] }]);
    expect(e.orderCount).toBe(1);
  });

  it('rejects an order kind that is not one of the codes (a fraction in range, out of range, NaN) untouched', () => {
    const e = fresh();
    expect(e.submit(1, SELL, OrderKind.LIMIT, 100, 5)).toBe(MatchStatus.OK);
    // 2.5 lies between IOC and FOK: a range check alone let it through and matched it as an IOC (3 lots taken)
    for (const kind of [2.5, 0.5, -1, 5, NaN]) {
      expect(e.submit(2, BUY, kind as OrderKindCode, 100, 3)).toBe(MatchStatus.REJECTED);
      expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    }
    expect(e.openQty(1)).toBe(5);
    expect(e.orderCount).toBe(1);
    expect(e.checkInvariants()).toBeNull();
  });

  it('self-trade prevention: cancel newest / oldest / both', () => {
    for (const [mode, fills, resting, stp, cancelled] of [
      [StpMode.CANCEL_NEWEST, [1], [2, 3], [], 4],
      [StpMode.CANCEL_OLDEST, [1, 3], [], [2], 0],
      [StpMode.CANCEL_BOTH, [1], [3], [2], 4],
    ] as const) {
      const e = fresh(mode);
      e.submit(1, SELL, OrderKind.LIMIT, 100, 1, 7);
      e.submit(2, SELL, OrderKind.LIMIT, 100, 1, 9);
      e.submit(3, SELL, OrderKind.LIMIT, 101, 3, 8);
      e.submit(10, BUY, OrderKind.LIMIT, 101, 5, 9);
      expect(e.lastFills().map((f) => f.makerId)).toEqual(fills);
      expect(e.lastStpCancels().map((c) => c.id)).toEqual(stp);
      expect(e.depth('ask').flatMap((l) => l.orders.map((o) => o.id))).toEqual(resting);
      expect(e.result.cancelledQty).toBe(cancelled);
      expect(e.checkInvariants()).toBeNull();
    }
  });
});

// ---- random flows ------------------------------------------------------------------------

type Op =
  | { t: 'submit'; side: MatchSideCode; kind: OrderKindCode; price: number; qty: number; owner: number }
  | { t: 'cancel'; pick: number }
  | { t: 'replace'; pick: number; dp: number; dq: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('submit' as const), side: fc.constantFrom(0 as const, 1 as const), kind: fc.constantFrom<OrderKindCode>(0, 0, 0, 1, 2, 3, 4), price: fc.integer({ min: 95, max: 105 }), qty: fc.integer({ min: 1, max: 10 }), owner: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replace' as const), pick: fc.nat(1000), dp: fc.integer({ min: -2, max: 2 }), dq: fc.integer({ min: -3, max: 3 }) }) },
);

function runBoth(ops: Op[], stp: StpModeCode, check: (e: MatchingEngine, before: number, op: Op) => void = () => {}) {
  const e = fresh(stp);
  const ref = new ReferenceEngine(stp);
  let nextId = 1;
  const ids: number[] = [];
  for (const op of ops) {
    const before = totalResting(e);
    let status: number;
    let r;
    if (op.t === 'submit') {
      const id = nextId++;
      ids.push(id);
      status = e.submit(id, op.side, op.kind, op.price, op.qty, op.owner);
      r = ref.submit(id, op.side, op.kind, op.price, op.qty, op.owner);
    } else if (op.t === 'cancel') {
      const id = ids.length ? ids[op.pick % ids.length]! : 999;
      status = e.cancel(id);
      r = ref.cancel(id);
    } else {
      const id = ids.length ? ids[op.pick % ids.length]! : 999;
      const o = e.order(id);
      const price = (o?.price ?? 100) + op.dp;
      const qty = Math.max(1, (o?.qty ?? 1) + op.dq);
      status = e.replace(id, price, qty);
      r = ref.replace(id, price, qty);
    }
    expect(status).toBe(r.status);
    expect({ reject: e.result.reject, filled: e.result.filledQty, resting: e.result.restingQty, cancelled: e.result.cancelledQty, cause: e.result.cancelCause }).toEqual({
      reject: r.reject,
      filled: r.filledQty,
      resting: r.restingQty,
      cancelled: r.cancelledQty,
      cause: r.cancelCause,
    });
    expect(e.lastFills()).toEqual(r.fills);
    expect(e.lastStpCancels()).toEqual(r.stpCancels);
    expect(e.depth('bid')).toEqual(ref.depth('bid'));
    expect(e.depth('ask')).toEqual(ref.depth('ask'));
    expect(e.checkInvariants()).toBeNull();
    check(e, before, op);
  }
}

function totalResting(e: MatchingEngine): number {
  let s = 0;
  for (const l of e.depth('bid')) s += l.qty;
  for (const l of e.depth('ask')) s += l.qty;
  return s;
}

describe('MatchingEngine properties', () => {
  it('differential: same results, fills and books as the reference engine on random flows', () => {
    for (const stp of [StpMode.NONE, StpMode.CANCEL_NEWEST, StpMode.CANCEL_OLDEST, StpMode.CANCEL_BOTH] as const) {
      fc.assert(fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => runBoth(ops, stp)), { numRuns: 150 });
    }
  });

  it('never crossed after matching and quantity conserved', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 150 }), (ops) => {
        runBoth(ops, StpMode.NONE, (e, before, op) => {
          const b = e.bestBid();
          const a = e.bestAsk();
          if (b !== undefined && a !== undefined) expect(b).toBeLessThan(a);
          if (op.t === 'submit' && e.result.status === MatchStatus.OK) {
            const r = e.result;
            // taker: filled + resting + cancelled = qty
            expect(r.filledQty + r.restingQty + r.cancelledQty).toBe(op.qty);
            // book: before - filled (makers) + resting (taker) = after
            expect(totalResting(e)).toBe(before - r.filledQty + r.restingQty);
            let fillSum = 0;
            for (const f of e.lastFills()) fillSum += f.qty;
            expect(fillSum).toBe(r.filledQty);
          }
          if (e.result.status === MatchStatus.REJECTED) expect(totalResting(e)).toBe(before);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('price-time priority: fills walk levels best-first and FIFO within a level', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 100, max: 105 }), fc.integer({ min: 1, max: 5 })), { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (rests, takeQty) => {
        const e = fresh();
        rests.forEach(([p, q], i) => e.submit(i + 1, SELL, OrderKind.LIMIT, p, q));
        const expected = rests
          .map(([p, q], i) => ({ id: i + 1, p, q }))
          .sort((a, b) => a.p - b.p || a.id - b.id);
        e.submit(1000, BUY, OrderKind.MARKET, 0, takeQty);
        const fills = e.lastFills();
        let left = takeQty;
        const want = [];
        for (const o of expected) {
          if (left === 0) break;
          const f = Math.min(left, o.q);
          want.push({ makerId: o.id, price: o.p, qty: f });
          left -= f;
        }
        expect(fills.map((f) => ({ makerId: f.makerId, price: f.price, qty: f.qty }))).toEqual(want);
        expect(fills.map((f) => f.seq)).toEqual(fills.map((_, i) => i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('FOK is all-or-nothing, IOC never rests, post-only never trades', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), fc.constantFrom<OrderKindCode>(OrderKind.FOK, OrderKind.IOC, OrderKind.POST_ONLY), fc.constantFrom(0 as const, 1 as const), fc.integer({ min: 95, max: 105 }), fc.integer({ min: 1, max: 30 }), (ops, kind, side, price, qty) => {
        const e = fresh();
        let id = 1;
        for (const op of ops) if (op.t === 'submit') e.submit(id++, op.side, op.kind, op.price, op.qty);
        const before = JSON.stringify([e.depth('bid'), e.depth('ask')]);
        const st = e.submit(99999, side, kind, price, qty);
        const r = e.result;
        if (kind === OrderKind.FOK) {
          if (st === MatchStatus.OK) expect(r.filledQty).toBe(qty);
          else {
            expect(r.reject).toBe(MatchReject.FOK_UNFILLABLE);
            expect(JSON.stringify([e.depth('bid'), e.depth('ask')])).toBe(before);
          }
        } else if (kind === OrderKind.IOC) {
          expect(r.restingQty).toBe(0);
          expect(e.openQty(99999)).toBe(-1);
          expect(r.filledQty + r.cancelledQty).toBe(qty);
        } else {
          expect(r.filledQty).toBe(0);
          if (st === MatchStatus.REJECTED) expect(JSON.stringify([e.depth('bid'), e.depth('ask')])).toBe(before);
          else expect(e.openQty(99999)).toBe(qty);
        }
        expect(e.checkInvariants()).toBeNull();
      }),
      { numRuns: 400 },
    );
  });

  it('replace priority rules and cancel of unknown or filled ids (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: -4, max: 4 }), fc.integer({ min: -1, max: 1 }), (n, pickRaw, dq, dp) => {
        const e = fresh();
        for (let i = 1; i <= n; i++) e.submit(i, BUY, OrderKind.LIMIT, 100, 5);
        const pick = (pickRaw % n) + 1;
        const newQty = Math.max(1, 5 + dq);
        e.replace(pick, 100 + dp, newQty);
        const ids = e.ordersAt('bid', 100);
        const keeps = dp === 0 && newQty <= 5;
        const others = Array.from({ length: n }, (_, i) => i + 1).filter((i) => i !== pick);
        if (keeps) expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        else if (dp === 0) expect(ids).toEqual([...others, pick]);
        else expect(ids).toEqual(others);
        // fill everything, then cancels of filled and unknown ids are clean rejections
        e.submit(1000, SELL, OrderKind.MARKET, 0, 1000);
        expect(e.cancel(pick)).toBe(MatchStatus.REJECTED);
        expect(e.result.reject).toBe(MatchReject.UNKNOWN_ORDER);
        expect(e.cancel(123456)).toBe(MatchStatus.REJECTED);
        expect(e.orderCount).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('deterministic: the same flow gives the same fills', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const trace = () => {
          const e = fresh(StpMode.CANCEL_OLDEST);
          const out: unknown[] = [];
          let id = 1;
          for (const op of ops) if (op.t === 'submit') {
            e.submit(id++, op.side, op.kind, op.price, op.qty, op.owner);
            out.push(e.lastFills());
          }
          return out;
        };
        expect(trace()).toEqual(trace());
      }),
      { numRuns: 50 },
    );
  });

  it('slabs grow past their initial capacity and recycle slots', () => {
    const e = fresh();
    for (let i = 1; i <= 5000; i++) e.submit(i, i % 2 === 0 ? BUY : SELL, OrderKind.LIMIT, i % 2 === 0 ? 1000 - (i % 300) : 1001 + (i % 300), 1 + (i % 7));
    expect(e.checkInvariants()).toBeNull();
    for (let i = 1; i <= 5000; i += 3) e.cancel(i);
    e.submit(9_000_000_001, BUY, OrderKind.MARKET, 0, 10_000);
    expect(e.checkInvariants()).toBeNull();
    expect(e.bestAsk()).toBeUndefined();
  });
});

describe('MatchingEngine level totals stay safe integers (past 2^53 a float64 loses lots)', () => {
  const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1, a valid lot quantity on its own
  const snapshot = (e: MatchingEngine) => JSON.stringify([e.depth('bid'), e.depth('ask'), e.prioritySeq, e.tradeSeq]);

  it('refuses (INVALID_ORDER, book untouched) an order that would push a resting level past 2^53 - 1; FOK stays all-or-nothing', () => {
    const e = fresh();
    expect(e.submit(1, SELL, OrderKind.LIMIT, 100, MAX)).toBe(MatchStatus.OK);
    const before = snapshot(e);
    // 2^53 - 1 + 4 lots at one level would be stored as 2^53 + 4: refused before anything changes
    expect(e.submit(2, SELL, OrderKind.LIMIT, 100, 4)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    expect(e.submit(3, SELL, OrderKind.POST_ONLY, 100, 1)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    expect(snapshot(e)).toBe(before);
    expect(e.openQty(2)).toBe(-1);
    // other levels and the other side are unaffected
    expect(e.submit(4, SELL, OrderKind.LIMIT, 101, MAX)).toBe(MatchStatus.OK);
    expect(e.submit(5, BUY, OrderKind.LIMIT, 99, MAX)).toBe(MatchStatus.OK);
    // an IOC for the whole level fills it exactly
    expect(e.submit(6, BUY, OrderKind.IOC, 100, MAX)).toBe(MatchStatus.OK);
    expect(e.result.filledQty).toBe(MAX);
    expect(e.openQty(1)).toBe(-1);
    expect(e.checkInvariants()).toBeNull();
    // now 4 lots fit at 100 again, and a FOK for 5 is refused untouched (not 4 filled + 1 cancelled)
    expect(e.submit(7, SELL, OrderKind.LIMIT, 100, 4)).toBe(MatchStatus.OK);
    expect(e.qtyAt('ask', 100)).toBe(4);
    const st = e.submit(8, BUY, OrderKind.FOK, 100, 5);
    expect({ st, reject: e.result.reject, filled: e.result.filledQty, cancelled: e.result.cancelledQty, cause: e.result.cancelCause }).toEqual({
      st: MatchStatus.REJECTED, reject: MatchReject.FOK_UNFILLABLE, filled: 0, cancelled: 0, cause: CancelCause.NONE,
    });
    expect(e.checkInvariants()).toBeNull();
  });

  it('the bound is exact: a level may reach 2^53 - 1, not one lot more', () => {
    const e = fresh();
    expect(e.submit(1, BUY, OrderKind.LIMIT, 100, MAX - 10)).toBe(MatchStatus.OK);
    expect(e.submit(2, BUY, OrderKind.LIMIT, 100, 10)).toBe(MatchStatus.OK);
    expect(e.qtyAt('bid', 100)).toBe(MAX);
    expect(e.submit(3, BUY, OrderKind.LIMIT, 100, 1)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    // orders that never rest are not concerned: a MARKET/IOC taking the level is fine
    expect(e.submit(4, SELL, OrderKind.IOC, 100, 10)).toBe(MatchStatus.OK);
    expect(e.submit(5, BUY, OrderKind.LIMIT, 100, 10)).toBe(MatchStatus.OK);
    expect(e.checkInvariants()).toBeNull();
  });

  it('replace is refused untouched when the new quantity or the target level would pass the bound', () => {
    const e = fresh();
    e.submit(1, SELL, OrderKind.LIMIT, 100, MAX - 5);
    e.submit(2, SELL, OrderKind.LIMIT, 100, 5);
    e.submit(3, SELL, OrderKind.LIMIT, 101, 7);
    const before = snapshot(e);
    // same price, more quantity: (MAX - 5) + 6 at level 100
    expect(e.replace(2, 100, 6)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    // moving order 3 onto the full level
    expect(e.replace(3, 100, 1)).toBe(MatchStatus.REJECTED);
    expect(e.result.reject).toBe(MatchReject.INVALID_ORDER);
    expect(snapshot(e)).toBe(before);
    expect(e.order(2)?.priority).toBeLessThan(e.order(3)!.priority); // nothing lost its place
    // within the bound both work
    expect(e.replace(2, 100, 4)).toBe(MatchStatus.OK);
    expect(e.replace(3, 100, 1)).toBe(MatchStatus.OK);
    expect(e.qtyAt('ask', 100)).toBe(MAX);
    // the largest order alone may grow to the bound
    expect(e.replace(1, 100, MAX - 5)).toBe(MatchStatus.OK);
    expect(e.replace(3, 102, MAX)).toBe(MatchStatus.OK);
    expect(e.checkInvariants()).toBeNull();
  });

  it('differential with quantities near 2^53: same results and books as the reference engine', () => {
    const hugeOp: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ t: fc.constant('submit' as const), side: fc.constantFrom(0 as const, 1 as const), kind: fc.constantFrom<OrderKindCode>(0, 0, 0, 1, 2, 3, 4), price: fc.integer({ min: 99, max: 101 }), qty: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constantFrom(MAX, MAX - 1, 2 ** 52, 2 ** 52 + 1, 3 * 2 ** 51)), owner: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat(1000) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant('replace' as const), pick: fc.nat(1000), dp: fc.integer({ min: -1, max: 1 }), dq: fc.integer({ min: -3, max: 3 }) }) },
    );
    for (const stp of [StpMode.NONE, StpMode.CANCEL_OLDEST] as const) {
      fc.assert(fc.property(fc.array(hugeOp, { maxLength: 60 }), (ops) => runBoth(ops, stp)), { numRuns: 200 });
    }
  });
});
