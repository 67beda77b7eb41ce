/**
 * Handing a symbol over to the shard it is now assigned to (docs/scale-out.md): the old shard
 * waits (up to handoverMs) for its position to be flat and its orders gone, then deletes the key
 * and the new owner creates it at its next round. A handover that times out with orders still
 * open there must not delete the key: the new owner would take the symbol in the same round while
 * the old shard's order (its cancel just sent) can still fill. As a clean stop() does, the old
 * shard stops counting the lease and leaves the key to expire by max_age.
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500

describe('lease handover', () => {
  it.each([
    ['with no order open, the key is deleted and the new owner takes the symbol within two rounds', 0],
    ['timed out with an order still open, the key is left to expire: the new owner takes the symbol no sooner than a lease lifetime after the last renewal', 1],
  ])('%s', async (_name, openOrders) => {
    let t = 0;
    const now = () => t;
    const leases = new FakeBucket(now, timings.ttlMs);
    const members = new FakeBucket(now, timings.ttlMs);
    const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
    const aEvents: LeaseEvent[] = [];
    const bEvents: LeaseEvent[] = [];
    const mk = (id: string, events: LeaseEvent[], open: () => number) =>
      new LeaseManager({
        leases: fakeKv(leases, { down: false }), members: fakeKv(members, { down: false }), shardId: id, instance: `${id}-1`, timings,
        monoMs: now, wallMs: now, candidates: SYMBOLS.map((symbol) => ({ exchange: 'sim', symbol })),
        onEvent: (e) => events.push({ ...e, endedAt: t }), openOrders: open, position: () => 0, handoverMs: 3 * TAKEOVER, onError: () => {},
      });
    // a's orders on each symbol: none, or one that no cancel has ended (a slow venue)
    const a = mk('a', aEvents, () => openOrders);
    // a alone: it takes both symbols (after the new bucket's quarantine)
    for (let k = 0; k < 12 && a.heldKeys().length < 2; k++) {
      await a.tick();
      t += timings.tickMs;
    }
    expect(a.heldKeys().length).toBe(2);
    // b joins: one symbol is assigned to b; a hands it over
    const b = mk('b', bEvents, () => 0);
    for (let k = 0; k < 40 && !bEvents.some((e) => e.kind === 'acquired'); k++) {
      await a.tick();
      await b.tick();
      t += timings.tickMs;
    }
    const releasing = aEvents.find((e) => e.kind === 'releasing');
    const released = aEvents.find((e) => e.kind === 'released');
    const taken = bEvents.find((e) => e.kind === 'acquired');
    expect(released, 'a released a symbol').toBeDefined();
    expect(taken?.key).toBe(released!.key);
    expect(releasing?.key).toBe(released!.key);
    // a no longer counts it, and the symbol is b's alone
    expect(a.heldKeys()).not.toContain(released!.key);
    if (openOrders === 0) {
      expect(released!.endedAt).toBe(releasing!.endedAt); // no wait: nothing to wait for
      expect(taken!.endedAt! - released!.endedAt!).toBeLessThanOrEqual(2 * timings.tickMs);
    } else {
      expect(released!.endedAt! - releasing!.endedAt!).toBeGreaterThanOrEqual(3 * TAKEOVER);
      // a renewed it last in the round it let it go: the key expires a lifetime later, not before
      expect(taken!.endedAt! - released!.endedAt!, 'b took the symbol while a\'s order could still fill').toBeGreaterThanOrEqual(timings.ttlMs);
      expect(released!.why).toMatch(/still open here.*left to expire by max_age/);
    }
  });
});
