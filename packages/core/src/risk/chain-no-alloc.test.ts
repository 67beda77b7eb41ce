/**
 * Allocations per order in core's pre-trade chain, found by the risk bench's GC count (91-96 per
 * run on 2026-12-06, 276 since).
 *
 * max_total_position counts other instruments' working orders. It read them through
 * `allOpenOrders()` on every order, and the engine's builds a new array on each call: an
 * allocation per check on the hot path. The instruments met before are now read through their own `openOrders` arrays (shared,
 * never copied) while their count is every open order; an order anywhere else falls back to
 * `allOpenOrders()`. Decisions are those of a chain that reads `allOpenOrders()` every time.
 *
 * book_health read the book's last update time through `RiskEnv.bookLastUpdate`: an epoch ms is
 * no small integer, so each call handed out a new heap number (16 bytes per order). The
 * RiskManager now answers the age itself (`RiskEnv.bookAgeMs`), which book_health prefers.
 */
import { describe, expect, it } from 'vitest';
import type { BookView, RiskContext } from '../contracts/trading.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { Order, OrderIntent } from '../domain/orders.js';
import { Portfolio } from './portfolio.js';
import { BookHealthCheck, PositionLimitCheck, type RiskEnv } from './checks.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.01' });
const SOL = defineInstrument({ exchange: 'w', symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.01', lotSize: '0.1' });
const ALL = [BTC, ETH, SOL];

const book = (bid: number, ask: number): BookView => ({ synced: true, bestBid: () => bid, bestAsk: () => ask, qtyAt: () => 0, topLevels: () => 0 }) as unknown as BookView;

/** A context as the engine's: one frozen array per instrument, rebuilt only when its set changes. */
class Ctx implements RiskContext {
  now = 1;
  readonly positions = new Portfolio();
  readonly liveBooks = true;
  private readonly books = new Map<Instrument, BookView>([[BTC, book(4_999_900, 5_000_100)], [ETH, book(300_000, 300_010)], [SOL, book(10_000, 10_010)]]);
  private readonly open = new Map<Instrument, readonly Order[]>();
  private seq = 0;
  allOpenCalls = 0;
  instrument(exchange: string, symbol: string) { return ALL.find((i) => i.exchange === exchange && i.symbol === symbol); }
  book(exchange: string, symbol: string) { const i = this.instrument(exchange, symbol); return i && this.books.get(i); }
  openOrders(exchange: string, symbol: string): readonly Order[] { const i = this.instrument(exchange, symbol); return (i && this.open.get(i)) ?? []; }
  allOpenOrders(): readonly Order[] {
    this.allOpenCalls++;
    return [...this.open.values()].flat();
  }
  count(): number { let n = 0; for (const a of this.open.values()) n += a.length; return n; }
  rest(i: Instrument, side: 'buy' | 'sell', price: number, qty: number): void {
    const o: Order = { exchange: i.exchange, symbol: i.symbol, side, type: 'limit', price, qty, tif: 'GTC', source: 't', clientOrderId: `r${++this.seq}`, status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 };
    this.open.set(i, Object.freeze([...(this.open.get(i) ?? []), o]));
  }
  clear(i: Instrument): void { this.open.delete(i); }
}

const envOf = (c: Ctx): RiskEnv => ({ state: 'ACTIVE', stateReason: '', openOrderCount: () => c.count(), bookLastUpdate: () => 1, positions: () => c.positions.all() });
const buy = (qty: number, price: number): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price, qty, tif: 'GTC', source: 't' });
const reasonOf = (d: { ok: boolean; reason?: string }) => (d.ok ? 'ok' : d.reason);

describe("max_total_position reads other instruments' working orders without a copy", () => {
  it('asks allOpenOrders() only while an open order may be on an instrument it has not met', () => {
    const c = new Ctx();
    const kept = new PositionLimitCheck(envOf(c), 1_000_000, 3050);
    /** A chain that has met nothing: reads allOpenOrders() (the decision to agree with). */
    const fresh = () => reasonOf(new PositionLimitCheck(envOf(c), 1_000_000, 3050).check(buy(1, 5_000_001), c));
    c.rest(ETH, 'buy', 300_000, 100); // 1 ETH at 3000.00
    c.rest(BTC, 'sell', 6_000_000, 1); // the order's own instrument: its worst case counts it (a sell adds nothing to a buy's)
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('ok'); // 50 + 3000: at the limit (exact)
    const first = c.allOpenCalls;
    for (let k = 0; k < 3; k++) expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('ok');
    expect(c.allOpenCalls).toBe(first); // ETH and BTC hold every open order: no new array
    c.clear(BTC);
    expect(reasonOf(kept.check(buy(1, 5_000_001), c))).toBe(fresh());
    expect(reasonOf(kept.check(buy(1, 5_000_001), c))).toBe('RISK_MAX_POSITION');
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('ok');

    // an order on an instrument it has not met: found (the counts disagree), and counted
    c.rest(SOL, 'buy', 10_000, 10); // 1 SOL at 100.00
    const before = c.allOpenCalls;
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('RISK_MAX_POSITION'); // 50 + 3000 + 100
    expect(c.allOpenCalls).toBe(before + 1);
    expect(fresh()).toBe('RISK_MAX_POSITION');

    // ETH's orders gone and one more on SOL: the same total count, but ETH's array says so
    c.clear(ETH);
    c.rest(SOL, 'buy', 10_000, 10);
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('ok'); // 50 + 200
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe(reasonOf(new PositionLimitCheck(envOf(c), 1_000_000, 3050).check(buy(1, 5_000_000), c)));
    const settled = c.allOpenCalls;
    expect(reasonOf(kept.check(buy(1, 5_000_000), c))).toBe('ok');
    expect(c.allOpenCalls).toBe(settled);
  });
});

describe('book_health asks the env for the age where it can answer it', () => {
  it('bookAgeMs decides as now - bookLastUpdate did, at the same boundary', () => {
    const c = new Ctx();
    const last = 1_700_000_000_000;
    c.now = last + 10_000;
    const byTime: RiskEnv = { ...envOf(c), bookLastUpdate: () => last };
    const byAge: RiskEnv = { ...envOf(c), bookLastUpdate: () => { throw new Error('not asked'); }, bookAgeMs: (_e, _s, now) => now - last };
    const none: RiskEnv = { ...envOf(c), bookLastUpdate: () => last, bookAgeMs: () => undefined };
    for (const env of [byTime, byAge]) {
      const check = new BookHealthCheck(env, 10_000);
      expect(reasonOf(check.check(buy(1, 5_000_000), c))).toBe('ok'); // 10 000 ms: at the limit
      c.now++;
      expect(reasonOf(check.check(buy(1, 5_000_000), c))).toBe('BOOK_NOT_SYNCED');
      c.now--;
    }
    expect(new BookHealthCheck(none, 10_000).check(buy(1, 5_000_000), c)).toMatchObject({ ok: false, reason: 'BOOK_NOT_SYNCED', message: expect.stringContaining('missing') });
  });
});
