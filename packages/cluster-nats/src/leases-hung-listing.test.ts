/**
 * A key listing that never ends. `kv.keys()` (@nats-io/kv 3.4) reads the keys through an ordered
 * push consumer and ends only once a message arrives with nothing pending after it; with the
 * bucket written meanwhile (renewals every tick, history 1) it can hang for as long as the writes
 * go on, its idle heartbeat never coming. The lease round awaited it with no bound: that round
 * never ended, and no later round started (one runs at a time), so the shard renewed nothing,
 * lost every lease at the end of its validity and never took one again (seen as a flaky
 * shard-restored-orders integration test on a loaded machine: s1 never took its symbol, or never
 * cancelled a restored order). Now a listing gives up after a renewal period and the round is
 * retried at the next tick; the renewals, done before it, go on.
 */
import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { LeaseManager, listKeys, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv } from '../test/fake-kv.js';

const timings = leaseTimings(2000); // lifetime 1200, renewal 300, margin 240

/** A bucket whose keys() starts a listing that never ends while `hang` is set (and is stopped by stop()). */
function hangingKeys(kv: KV, state: { hang: boolean; stopped: number }): KV {
  return new Proxy(kv, {
    get(target, prop, recv) {
      if (prop !== 'keys') return Reflect.get(target, prop, recv);
      return async () => {
        if (!state.hang) return target.keys();
        let stop!: () => void;
        const stopped = new Promise<void>((r) => (stop = r));
        const it = (async function* () {
          yield 'sim.BTCUSDT';
          await stopped;
        })();
        return Object.assign(it, { stop: () => { state.stopped++; stop(); } });
      };
    },
  });
}

describe('a key listing that never ends', () => {
  it('listKeys gives up after its deadline, stops the listing, and lists each key once', async () => {
    const state = { hang: true, stopped: 0 };
    const bucket = new FakeBucket(() => 0, 0);
    const kv = hangingKeys(fakeKv(bucket, { down: false }), state);
    const t = Date.now();
    await expect(listKeys(kv, 100)).rejects.toThrow(/over 100 ms/);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(state.stopped, "the hung listing was not stopped").toBeGreaterThan(0);
    const twice = { keys: async () => (async function* () { yield* ['a', 'b', 'a']; })() } as unknown as KV;
    expect(await listKeys(twice, 1000)).toEqual(['a', 'b']);
  });

  it('a lease round with a hung listing ends; the leases are still renewed, and the symbols taken once it lists again', { timeout: 30_000 }, async () => {
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const leases = new FakeBucket(now, timings.ttlMs);
    const members = new FakeBucket(now, timings.ttlMs);
    const state = { hang: false, stopped: 0 };
    const events: LeaseEvent[] = [];
    const errors: string[] = [];
    const m = new LeaseManager({
      leases: hangingKeys(fakeKv(leases, { down: false }), state), members: fakeKv(members, { down: false }), shardId: 's1', instance: 's1-1', timings,
      monoMs: now, wallMs: now, candidates: ['BTCUSDT', 'ETHUSDT'].map((symbol) => ({ exchange: 'sim', symbol })),
      onEvent: (e) => events.push(e), openOrders: () => 0, position: () => 0, handoverMs: 6000, onError: (e) => errors.push(e),
    });
    for (let k = 0; k < 20 && m.heldKeys().length < 2; k++) {
      await m.tick();
      await new Promise((r) => setTimeout(r, timings.tickMs));
    }
    expect(m.heldKeys().sort()).toEqual(['sim.BTCUSDT', 'sim.ETHUSDT']);
    // Every listing of the lease bucket hangs now: each round still ends, within about its deadline, and renews.
    state.hang = true;
    const until = now() + 3 * timings.ttlMs;
    while (now() < until) {
      const t = now();
      await m.tick();
      expect(now() - t, 'a round waited on a listing that never ends').toBeLessThan(timings.tickMs + 1000);
      expect(m.heldKeys().sort(), 'a lease lost while the listing hung').toEqual(['sim.BTCUSDT', 'sim.ETHUSDT']);
    }
    expect(errors.some((e) => /listing leases failed: listing the keys took over 300 ms/.test(e))).toBe(true);
    expect(events.filter((e) => e.kind !== 'acquired')).toEqual([]);
    m.stop().catch(() => {});
  });
});
