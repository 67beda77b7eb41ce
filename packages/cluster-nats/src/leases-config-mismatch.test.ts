/**
 * shards whose configs list different symbols (a rolling deploy that adds one).
 * docs/scale-out.md, "Failure cases": "configs disagree on symbols | each shard only takes symbols
 * in its own config; a symbol no live shard has in its config is not traded" - so a symbol that
 * one live shard has in its config must be traded by that shard, steadily.
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER);

describe('symbol sets that differ between shards', () => {
  it('a symbol only shard a has in its config is held by a steadily (not handed to b, which can never take it)', async () => {
    let t = 0;
    const now = () => t;
    const leases = new FakeBucket(now, timings.ttlMs);
    const members = new FakeBucket(now, timings.ttlMs);
    const mk = (id: string, symbols: string[], events: LeaseEvent[]) =>
      new LeaseManager({
        leases: fakeKv(leases, { down: false }), members: fakeKv(members, { down: false }), shardId: id, instance: `${id}-1`, timings,
        monoMs: now, wallMs: now, candidates: symbols.map((symbol) => ({ exchange: 'sim', symbol })),
        onEvent: (e) => events.push(e), openOrders: () => 0, position: () => 0, handoverMs: 3 * TAKEOVER, onError: () => {},
      });
    const aEvents: LeaseEvent[] = [];
    // a runs the new config (ETHUSDT added); b still runs the old one.
    const a = mk('a', ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'], aEvents);
    const b = mk('b', ['BTCUSDT', 'SOLUSDT'], []);
    let heldTicks = 0;
    const TICKS = 40;
    for (let k = 0; k < TICKS; k++) {
      await a.tick();
      await b.tick();
      if (k >= 10 && a.holds('sim', 'ETHUSDT')) heldTicks++; // after everything settled
      t += timings.tickMs;
    }
    const eth = aEvents.filter((e) => e.symbol === 'ETHUSDT').map((e) => `${e.kind}:${e.why}`);
    expect(b.holds('sim', 'ETHUSDT')).toBe(false); // b cannot: not in its config
    expect(b.heldKeys().length).toBeGreaterThan(0); // the symbols both list are still spread over both
    expect(heldTicks).toBe(TICKS - 10); // a, the only shard that can trade it, holds it all along
    expect(eth.filter((e) => e.startsWith('released'))).toEqual([]); // and never drops it (each drop cancels its orders)
  });
});
