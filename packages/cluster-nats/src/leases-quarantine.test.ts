/**
 * The quarantine of a new or recreated lease bucket (docs/scale-out.md) lasts a lease lifetime
 * from when this shard learned of the bucket: from the answer of the status read that showed it,
 * not from the start of the lease round. What a round does before that read (heartbeat,
 * renewals, listings, member reads, handover: each KV call may wait up to half a lease lifetime
 * before it times out), and the status read itself, may take long; a previous holder that renewed
 * meanwhile, before the store was lost, counts its lease for lifetime - margin after that renewal.
 * Timed from the round's start, the quarantine could end first: two shards held one symbol.
 *
 * Shard x holds the symbol in an established bucket; shard a's round is slowed by half a lease
 * lifetime (before its reads, or inside its status read); meanwhile x renews, the server loses its
 * store, the buckets are recreated, and x is cut off (it keeps counting its lease).
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500, margin 1200

describe('lease bucket quarantine: timed from when the new bucket was seen', () => {
  it.each([
    ['a round slow before its reads', 'before reads'],
    ['a status read answered late', 'in status'],
  ] as const)('no two shards hold one symbol after %s saw the recreated bucket', async (_name, where) => {
    let t = 0;
    const now = () => t;
    const leases = new FakeBucket(now, timings.ttlMs);
    const members = new FakeBucket(now, timings.ttlMs);
    const mk = (id: string, link: FakeLink) =>
      new LeaseManager({
        leases: fakeKv(leases, link), members: fakeKv(members, link), shardId: id, instance: `${id}-1`, timings,
        monoMs: now, wallMs: now, candidates: [{ exchange: 'sim', symbol: 'BTCUSDT' }],
        onEvent: () => {}, openOrders: () => 0, position: () => 0, handoverMs: 3 * TAKEOVER, onError: () => {},
      });
    const xLink: FakeLink = { down: false };
    const aLink: FakeLink = { down: false };
    const x = mk('x', xLink);
    // an established bucket: x holds the symbol
    t = 100_000;
    leases.lastWriteAt = t; // written long after its creation at 0
    for (let k = 0; k < 4 && !x.holds('sim', 'BTCUSDT'); k++) {
      await x.tick();
      t += timings.tickMs;
    }
    expect(x.holds('sim', 'BTCUSDT')).toBe(true);
    const a = mk('a', aLink);
    await a.tick();
    await x.tick();
    t += timings.tickMs;
    await a.tick();
    await x.tick();
    t += timings.tickMs;

    // a's next round is slow; x renews meanwhile, then the store is lost and x is cut off
    let slowed = false;
    const stall = async () => {
      if (slowed) return;
      slowed = true;
      t += timings.ttlMs / 2;
      await x.tick(); // x's last renewal
      leases.recreate();
      members.recreate();
      xLink.down = true;
    };
    if (where === 'before reads') aLink.afterRead = (op) => (op === 'keys' ? stall() : undefined);
    else aLink.beforeStatus = stall;
    const roundStart = t;
    await a.tick();
    expect(slowed).toBe(true);
    aLink.afterRead = undefined;
    aLink.beforeStatus = undefined;
    const xRenewedAt = roundStart + timings.ttlMs / 2;

    let both = false;
    for (let k = 0; k < 16; k++) {
      t += timings.tickMs / 2;
      await a.tick();
      await x.tick(); // cut off: x keeps its lease until its validity ends
      if (a.holds('sim', 'BTCUSDT') && x.holds('sim', 'BTCUSDT')) both = true;
    }
    expect(a.holds('sim', 'BTCUSDT')).toBe(true); // a took it in the end
    expect(t).toBeGreaterThan(xRenewedAt + timings.ttlMs);
    expect(both, 'a took the symbol while x still counted its lease').toBe(false);
  });
});
