import { describe, expect, it } from 'vitest';
import type { Engine } from '../engine/engine.js';
import { SessionCollector, sessionTime } from './collector.js';

const T0 = 1_700_000_000_000;

/** An engine with no instruments and flat PnL: what finish() reads. */
const engine = { allInstruments: () => [], totals: () => ({ realized: 0n, unrealized: 0n, fees: 0n }), now: 0 } as unknown as Engine;

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
});
