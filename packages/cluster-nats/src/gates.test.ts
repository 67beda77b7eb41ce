import { describe, expect, it } from 'vitest';
import { defineInstrument, type Instrument, type Order, type OrderIntent, type RiskContext } from '@cwts/core';
import { type Engine } from '@cwts/core/engine';
import { COMMON_EXPONENT, quoteToAtoms } from '@cwts/core/risk';
import type { BudgetLedger } from './budget.js';
import { worstGrossExposure } from './exposure.js';
import { BudgetGate, ClusterHaltGate, ClusterReduceGate, LeaseGate, readHaltDoc, readReduceDoc, type HaltDoc, type ReduceDoc } from './gates.js';

const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'sim', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const q = (x: number) => quoteToAtoms(x, COMMON_EXPONENT);

/**
 * The parts of the engine the gates read: instruments, positions, open orders, books (bid/ask in
 * ticks; synced unless `unsynced` names the symbol: such a book keeps its levels, as a real one
 * does when it goes stale), and the engine's mark (markHalfTicks without a risk layer: the mid
 * of a synced book, else the last trade).
 */
function fakeEngine(o: { pos?: Record<string, number>; orders?: Partial<Order>[]; books?: Record<string, [number, number]>; unsynced?: string[]; lastTrade?: Record<string, number> }): Engine & RiskContext {
  const inst = new Map<string, Instrument>([['BTCUSDT', BTC], ['ETHUSDT', ETH]]);
  const book = (_x: string, s: string) => {
    const b = o.books?.[s];
    return b ? { synced: !o.unsynced?.includes(s), bestBid: () => b[0], bestAsk: () => b[1] } : undefined;
  };
  const e = {
    allInstruments: () => [...inst.values()],
    instrument: (_x: string, s: string) => inst.get(s),
    portfolio: { find: (_x: string, s: string) => (o.pos?.[s] ? { qty: o.pos[s], lastPrice: undefined, instrument: inst.get(s) } : undefined) },
    positions: { qty: (_x: string, s: string) => o.pos?.[s] ?? 0 },
    openOrders: (_x: string, s: string) => (o.orders ?? []).filter((x) => x.symbol === s).map((x) => ({ filledQty: 0, ...x })),
    book,
    markHalfTicks: (p: { instrument: Instrument }) => {
      const b = book('sim', p.instrument.symbol);
      if (b?.synced) return b.bestBid() + b.bestAsk();
      const last = o.lastTrade?.[p.instrument.symbol];
      return last === undefined ? undefined : 2 * last;
    },
  };
  return e as unknown as Engine & RiskContext;
}

const buy = (symbol: string, qty: number, price: number): OrderIntent => ({ exchange: 'sim', symbol, side: 'buy', type: 'limit', price, qty, tif: 'IOC', source: 't' });
const sell = (symbol: string, qty: number, price: number): OrderIntent => ({ ...buy(symbol, qty, price), side: 'sell' });

describe('worstGrossExposure', () => {
  it('counts positions, resting orders on symbols without a position, and the order being checked', () => {
    // BTC: 2 lots long at mid 100.00 (0.002 x 100 = 0.2); ETH: no position, a resting buy of 5 lots at 50.00 (0.25).
    const e = fakeEngine({ pos: { BTCUSDT: 2 }, orders: [{ exchange: 'sim', symbol: 'ETHUSDT', side: 'buy', qty: 5, price: 5000 }], books: { BTCUSDT: [9999, 10001], ETHUSDT: [4999, 5001] } });
    expect(worstGrossExposure(e)).toBe(q(0.2) + q(0.25)); // ETH at the higher of its mark (50.00, mid rounded up) and the order price
    // A buy of 3 more BTC at 101.00: 5 lots at 101.00.
    expect(worstGrossExposure(e, buy('BTCUSDT', 3, 10100))).toBe(q(0.505) + q(0.25));
  });

  it('a position it cannot value makes the answer unknown (the gate refuses)', () => {
    expect(worstGrossExposure(fakeEngine({ pos: { BTCUSDT: 2 } }))).toBeUndefined();
  });

  // A book that leaves SYNCED (stale, disconnected, resyncing) keeps its levels. Their mid was
  // once taken as the mark whatever the book's state: the exposure was valued at the price when
  // the feed stopped, not at the engine's mark (the last trade here) as the local
  // max_total_position check values it.
  it('values a position at the engine\'s mark, never at the frozen mid of a book out of sync', () => {
    // BTC: 2 lots long; its book froze at mid 100.00, the last trade since is 120.00 (0.002 x 120 = 0.24).
    const e = fakeEngine({ pos: { BTCUSDT: 2 }, books: { BTCUSDT: [9999, 10001] }, unsynced: ['BTCUSDT'], lastTrade: { BTCUSDT: 12000 } });
    expect(worstGrossExposure(e)).toBe(q(0.24));
    // No mark at all (no trade either): unknown, so the gate refuses rather than use the frozen mid.
    expect(worstGrossExposure(fakeEngine({ pos: { BTCUSDT: 2 }, books: { BTCUSDT: [9999, 10001] }, unsynced: ['BTCUSDT'] }))).toBeUndefined();
  });

  it('without a position, a book out of sync gives no price: resting orders and the order checked are valued at their own prices', () => {
    // ETH: no position, its book froze at 60.00 / 60.02, a resting buy of 5 lots at 50.00 (0.25).
    const e = fakeEngine({ orders: [{ exchange: 'sim', symbol: 'ETHUSDT', side: 'buy', qty: 5, price: 5000 }], books: { ETHUSDT: [6000, 6002] }, unsynced: ['ETHUSDT'] });
    expect(worstGrossExposure(e)).toBe(q(0.25));
    // A market buy with nothing resting: no price to value it by (the frozen ask is not where it fills).
    const marketBuy: OrderIntent = { exchange: 'sim', symbol: 'ETHUSDT', side: 'buy', type: 'market', qty: 5, tif: 'IOC', source: 't' };
    expect(worstGrossExposure(fakeEngine({ books: { ETHUSDT: [6000, 6002] }, unsynced: ['ETHUSDT'] }), marketBuy)).toBeUndefined();
    expect(worstGrossExposure(fakeEngine({ books: { ETHUSDT: [6000, 6002] } }), marketBuy)).toBe(q(0.3001)); // synced: at its ask
  });
});

describe('BudgetGate', () => {
  const ledger = (held: number, cap = 1_000_000) => {
    const asked: bigint[] = [];
    return { l: { held: q(held), cap: () => q(cap), request: (n: bigint) => asked.push(n) } as unknown as BudgetLedger, asked };
  };

  it('passes within the held budget; beyond it refuses with CLUSTER_BUDGET and asks for a refill', () => {
    const e = fakeEngine({ books: { BTCUSDT: [9999, 10001], ETHUSDT: [4999, 5001] } });
    const { l, asked } = ledger(2);
    const g = new BudgetGate(() => ({ engine: e, ledger: l }));
    expect(g.check(buy('BTCUSDT', 10, 10001), e)).toEqual({ ok: true }); // 0.01 x 100.01 = 1.0001
    const r = g.check(buy('BTCUSDT', 1000, 10001), e); // 100.01
    expect(r).toMatchObject({ ok: false, reason: 'CLUSTER_BUDGET' });
    expect(asked).toEqual([q(100.01)]);
  });

  it('budget held beyond the shard\'s share is not used, and no refill is asked past the share', () => {
    const e = fakeEngine({ books: { BTCUSDT: [9999, 10001] } });
    const { l, asked } = ledger(500, 50);
    const g = new BudgetGate(() => ({ engine: e, ledger: l }));
    expect(g.check(buy('BTCUSDT', 400, 10001), e).ok).toBe(true); // 40.004
    expect(g.check(buy('BTCUSDT', 600, 10001), e)).toMatchObject({ ok: false, reason: 'CLUSTER_BUDGET', message: expect.stringMatching(/share/) });
    expect(asked).toEqual([]);
  });

  it('an order that only reduces the position passes with no budget at all', () => {
    const e = fakeEngine({ pos: { BTCUSDT: 1000 }, books: { BTCUSDT: [9999, 10001] } });
    const { l } = ledger(0);
    expect(new BudgetGate(() => ({ engine: e, ledger: l })).check(sell('BTCUSDT', 500, 9999), e)).toEqual({ ok: true });
  });

  it('an exit passes with another exit resting (a stop-loss beside a take-profit), whatever the held budget', () => {
    // Long 10 lots; a take-profit sell of 5 rests; the stop-loss sells the other 5. No budget held
    // (the epoch lapsed in a NATS outage), and the mark is far above any reservation.
    const e = fakeEngine({ pos: { BTCUSDT: 10 }, orders: [{ exchange: 'sim', symbol: 'BTCUSDT', side: 'sell', qty: 5, price: 11000 }], books: { BTCUSDT: [9999, 10001] } });
    const { l, asked } = ledger(0);
    const g = new BudgetGate(() => ({ engine: e, ledger: l }));
    expect(g.check(sell('BTCUSDT', 5, 9000), e)).toEqual({ ok: true });
    // One lot more would take the position past flat with the resting sell: not an exit, needs budget.
    expect(g.check(sell('BTCUSDT', 6, 9000), e)).toMatchObject({ ok: false, reason: 'CLUSTER_BUDGET' });
    expect(asked.length).toBe(1);
  });

  it('refuses before the shard is started', () => {
    const e = fakeEngine({});
    expect(new BudgetGate(() => undefined).check(buy('BTCUSDT', 1, 1), e)).toMatchObject({ ok: false, reason: 'CLUSTER_BUDGET' });
  });
});

describe('LeaseGate', () => {
  it('held: anything; releasing: only orders that reduce without flipping; none: nothing', () => {
    const e = fakeEngine({ pos: { BTCUSDT: 10 } });
    let state: 'held' | 'releasing' | 'none' = 'held';
    const g = new LeaseGate(() => state);
    expect(g.check(buy('BTCUSDT', 5, 1), e).ok).toBe(true);
    state = 'releasing';
    expect(g.check(buy('BTCUSDT', 5, 1), e)).toMatchObject({ ok: false, reason: 'NOT_LEASED' });
    expect(g.check(sell('BTCUSDT', 10, 1), e).ok).toBe(true);
    expect(g.check(sell('BTCUSDT', 11, 1), e).ok).toBe(false); // would open a short
    state = 'none';
    expect(g.check(sell('BTCUSDT', 1, 1), e)).toMatchObject({ ok: false, reason: 'NOT_LEASED' });
  });

  it('releasing: resting orders count, so several reducing orders together cannot flip the position', () => {
    // Long 10, already selling 10: one more sell of 10 would end 10 short.
    const e = fakeEngine({ pos: { BTCUSDT: 10 }, orders: [{ exchange: 'sim', symbol: 'BTCUSDT', side: 'sell', qty: 10, price: 10000 }] });
    const g = new LeaseGate(() => 'releasing');
    expect(g.check(sell('BTCUSDT', 10, 10000), e)).toMatchObject({ ok: false, reason: 'NOT_LEASED' });
    expect(g.check(sell('BTCUSDT', 1, 10000), e).ok).toBe(false);
    // With only 4 resting, 6 more still reduce (to flat).
    const e2 = fakeEngine({ pos: { BTCUSDT: 10 }, orders: [{ exchange: 'sim', symbol: 'BTCUSDT', side: 'sell', qty: 4, price: 10000 }] });
    expect(g.check(sell('BTCUSDT', 6, 10000), e2).ok).toBe(true);
    expect(g.check(sell('BTCUSDT', 7, 10000), e2).ok).toBe(false);
  });
});

describe('ClusterHaltGate', () => {
  it('refuses every order, exits included, with KILL_SWITCH while the global HALT is set', () => {
    const e = fakeEngine({ pos: { BTCUSDT: 10 }, books: { BTCUSDT: [9999, 10001] } });
    let halt: HaltDoc | undefined = { reason: 'drawdown', by: 'operator', ts: 1 };
    const g = new ClusterHaltGate(() => halt);
    expect(g.check()).toEqual({ ok: false, reason: 'KILL_SWITCH', message: 'cluster HALT by operator: drawdown' });
    halt = undefined;
    expect(g.check()).toEqual({ ok: true });
    void e;
  });

  it('a HALT record it cannot read is still a HALT', () => {
    expect(readHaltDoc(() => ({ reason: 'r', by: 'b', ts: 5 }))).toEqual({ reason: 'r', by: 'b', ts: 5 });
    for (const body of [null, 42, 'text', [], {}, { reason: 7 }]) {
      expect(readHaltDoc(() => body)).toMatchObject({ reason: expect.stringMatching(/^unreadable HALT record/), by: '?', ts: 0 });
    }
    expect(readHaltDoc(() => JSON.parse('{'))).toMatchObject({ reason: expect.stringMatching(/^unreadable HALT record/) });
    expect(readHaltDoc(() => ({ reason: 'r' }))).toEqual({ reason: 'r', by: '?', ts: 0 });
  });
});

describe('ClusterReduceGate', () => {
  it('while the cluster is REDUCING only orders that reduce a position pass; it clears with the key', () => {
    const e = fakeEngine({ pos: { BTCUSDT: 10 }, books: { BTCUSDT: [9999, 10001], ETHUSDT: [4999, 5001] } });
    let reducing: ReduceDoc | undefined;
    const g = new ClusterReduceGate(() => reducing);
    expect(g.check(buy('BTCUSDT', 5, 10000), e).ok).toBe(true);
    reducing = { reason: 'portfolio VaR 120.00 > cluster.max_var 100', by: 'risk-aggregator', ts: 1 };
    expect(g.check(buy('BTCUSDT', 5, 10000), e)).toMatchObject({ ok: false, reason: 'RISK_STATE', message: expect.stringMatching(/cluster REDUCING \(portfolio VaR/) });
    expect(g.check(buy('ETHUSDT', 1, 5000), e).ok).toBe(false); // no position: any order adds
    expect(g.check(sell('BTCUSDT', 10, 10000), e).ok).toBe(true); // to flat
    expect(g.check(sell('BTCUSDT', 11, 10000), e).ok).toBe(false); // past flat
    reducing = undefined;
    expect(g.check(buy('ETHUSDT', 1, 5000), e).ok).toBe(true);
  });

  it('readReduceDoc never throws: a record it cannot read is undefined (nobody\'s)', () => {
    expect(readReduceDoc(() => ({ reason: 'r', by: 'risk-aggregator', ts: 5, var: 60 }))).toEqual({ reason: 'r', by: 'risk-aggregator', ts: 5 });
    for (const body of [null, 42, 'REDUCE NOW', [], {}, { reason: 'r' }, { reason: 7, by: 'risk-aggregator' }]) expect(readReduceDoc(() => body)).toBeUndefined();
    expect(readReduceDoc(() => JSON.parse('REDUCE NOW'))).toBeUndefined();
  });
});
