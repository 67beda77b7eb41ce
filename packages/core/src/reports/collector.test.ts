import { describe, expect, it } from 'vitest';
import type { Order } from '../domain/orders.js';
import type { Engine } from '../engine/engine.js';
import { SessionCollector, sessionTime } from './collector.js';

const T0 = 1_700_000_000_000;

/** An engine with no instruments and flat PnL: what finish() reads. */
const engine = { allInstruments: () => [], totals: () => ({ realized: 0n, unrealized: 0n, fees: 0n }), summary: () => ({ rejected: 0 }), now: 0 } as unknown as Engine;

describe('SessionCollector', () => {
  it('a first snapshot without venue time (ts 0, Binance spot) starts the session at its arrival, not in 1970', async () => {
    const c = new SessionCollector();
    c.attach(engine);
    c.onEvent({ type: 'book_snapshot', ts: 0, recvTs: T0 });
    c.onEvent({ type: 'book_delta', ts: T0 + 10, recvTs: T0 + 11 });
    c.onEvent({ type: 'trade', ts: T0 + 5_000, recvTs: T0 + 5_001 });
    const r = await c.finish(0n);
    expect([r.start, r.end]).toEqual([T0, T0 + 5_000]);
    expect(r.pnl.every((p) => p.ts >= T0)).toBe(true);
    expect(r.risk[0]).toMatchObject({ ts: T0, state: 'ACTIVE' });
  });

  it('no market event: finish refuses, not a session of zero length starting at epoch 0 (1970)', async () => {
    const c = new SessionCollector();
    c.attach(engine);
    await expect(c.finish(0n)).rejects.toThrow(/no market event was replayed/);
  });

  it('an event counts at its venue time; only a snapshot stamped 0 at its arrival time', () => {
    expect(sessionTime({ type: 'book_snapshot', ts: 0, recvTs: T0 })).toBe(T0);
    expect(sessionTime({ type: 'book_snapshot', ts: T0 - 5, recvTs: T0 })).toBe(T0 - 5);
    expect(sessionTime({ type: 'trade', ts: T0, recvTs: T0 + 3 })).toBe(T0);
  });

  it('counts what became of every order sent, by how it ended and the venue\'s reject reason, without holding the ended ones', async () => {
    const c = new SessionCollector();
    c.attach({ ...engine, summary: () => ({ rejected: 7 }) } as unknown as Engine);
    c.onEvent({ type: 'trade', ts: T0, recvTs: T0 });
    const n = 100_000;
    let held = 0;
    for (let k = 0; k < n; k++) {
      const o = { status: 'pending_new' } as Order;
      c.order(o);
      // the engine updates the order it handed over as its reports come
      if (k % 4 === 0) o.status = 'filled';
      else if (k % 4 === 1) o.status = 'cancelled';
      else if (k % 4 === 2) Object.assign(o, { status: 'rejected', rejectReason: k % 8 === 2 ? 'BOOK_NOT_SYNCED' : undefined });
      else if (k < n - 10) o.status = 'filled'; // all but the last few end
      held = Math.max(held, (c as unknown as { tracked: unknown[] }).tracked.length);
    }
    expect(held).toBeLessThanOrEqual(2048);
    const counts = { sent: n, filled: n / 4 + n / 4 - 3, cancelled: n / 4, rejected: n / 4, rejectReasons: { BOOK_NOT_SYNCED: n / 8, unknown: n / 8 }, open: 3, refused: 7 };
    expect(c.orders()).toEqual(counts);
    expect((await c.finish(0n)).orders).toEqual(counts);
  });

  it('fills and risk changes count at the session (venue) time of the latest market event, not at the engine clock', async () => {
    const c = new SessionCollector();
    // the replayed engine's clock runs on receive times, here 3 s behind the venue's
    c.attach({ ...engine, now: T0 + 3_000 } as unknown as Engine);
    c.onEvent({ type: 'trade', ts: T0, recvTs: T0 + 3_000 });
    c.fill({ kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: 'a', side: 'buy', lastPrice: 1, lastQty: 1, leavesQty: 0, cumQty: 1, feeAtoms: 0n, ts: T0 + 5 }, {} as never);
    c.riskState({ state: 'REDUCING', reason: 'drawdown' } as never, T0 + 3_000);
    const r = await c.finish(0n);
    expect([r.fills[0]!.ts, r.risk[1]!.ts]).toEqual([T0, T0]);
  });
});
