/**
 * The stranded-position rule (docs/scale-out.md, "Symbol leases"): a shard that lost a lease
 * involuntarily (cut off, stalled) while holding a position on that symbol takes the symbol back
 * as soon as it is free, ahead of the assignment, so the position is managed again. It applies to
 * an involuntary loss only, and once: a shard that let a symbol go itself (a handover, also one
 * that timed out with a position or orders left here; a stop) must not take it back from the new
 * owner. Before, any position here made a free symbol "stranded": after a handover that timed out
 * not flat, the old shard took the symbol back the moment it was free (the key deleted, or
 * expired when orders were still open), ahead of the shard it was assigned to, held it for
 * another handover wait and let it go again, over and over: the assigned shard never got it.
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500, margin 1200
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

function cluster() {
  const clock = { t: 0 };
  const now = () => clock.t;
  const leases = new FakeBucket(now, timings.ttlMs);
  const members = new FakeBucket(now, timings.ttlMs);
  const mk = (id: string, o: { events: LeaseEvent[]; link?: FakeLink; position?: (symbol: string) => number; open?: () => number }) =>
    new LeaseManager({
      leases: fakeKv(leases, o.link ?? { down: false }), members: fakeKv(members, o.link ?? { down: false }), shardId: id, instance: `${id}-1`, timings,
      monoMs: now, wallMs: now, candidates: SYMBOLS.map((symbol) => ({ exchange: 'sim', symbol })),
      onEvent: (e) => o.events.push({ ...e, endedAt: clock.t }), openOrders: o.open ?? (() => 0), position: (_ex, sym) => o.position?.(sym) ?? 0,
      handoverMs: 3 * TAKEOVER, onError: () => {},
    });
  return { clock, mk };
}

/**
 * Rounds of a then b (a first: it wins any race for a free key), watching for two holders. b
 * misses the round in which a let a symbol go, so a's next round comes before b's: b's previous
 * round still running (each KV call may wait up to its timeout), as a shard's lease loop skips a
 * tick while one is in flight.
 */
async function rounds(clock: { t: number }, a: LeaseManager, aEvents: LeaseEvent[], b: LeaseManager, n: number, each?: () => void): Promise<void> {
  for (let k = 0; k < n; k++) {
    each?.();
    const before = aEvents.length;
    await a.tick();
    if (!aEvents.slice(before).some((e) => e.kind === 'released')) await b.tick();
    for (const s of SYMBOLS) expect(a.holds('sim', s) && b.holds('sim', s), `${s} held by two shards`).toBe(false);
    clock.t += timings.tickMs;
  }
}

describe('stranded position: a symbol let go is not taken back', () => {
  it.each([
    ['with no order open (the key deleted)', 0],
    ['with an order still open (the key left to expire)', 1],
  ])('a handover that timed out with a position left here, %s, leaves the symbol to the new owner', async (_name, open) => {
    const { clock, mk } = cluster();
    const aEvents: LeaseEvent[] = [];
    const bEvents: LeaseEvent[] = [];
    // a holds a position on every symbol that no order here will flatten
    const a = mk('a', { events: aEvents, position: () => 5, open: () => open });
    for (let k = 0; k < 12 && a.heldKeys().length < 2; k++) {
      await a.tick();
      clock.t += timings.tickMs;
    }
    expect(a.heldKeys().length).toBe(2);
    const b = mk('b', { events: bEvents });
    // the handover waits 3 x takeover (20 rounds), then lets the symbol go; then many rounds more
    await rounds(clock, a, aEvents, b, 80);
    const released = aEvents.find((e) => e.kind === 'released');
    expect(released?.why).toMatch(/position of 5 lots still held here/);
    const key = released!.key;
    const retaken = aEvents.filter((e) => e.kind === 'acquired' && e.key === key && e.endedAt! > released!.endedAt!);
    expect(retaken, 'a took back the symbol it handed over').toEqual([]);
    expect(b.holds('sim', key.split('.')[1]!), 'the new owner holds the symbol').toBe(true);
    expect(bEvents.filter((e) => e.key === key && e.kind === 'acquired').length).toBe(1);
  });

  it('a lease lost while cut off is taken back once, ahead of the assignment, and left to the assigned shard after its handover', async () => {
    const { clock, mk } = cluster();
    const aEvents: LeaseEvent[] = [];
    const bEvents: LeaseEvent[] = [];
    const aLink: FakeLink = { down: false };
    const a = mk('a', { events: aEvents, link: aLink, position: () => 5 });
    for (let k = 0; k < 12 && a.heldKeys().length < 2; k++) {
      await a.tick();
      clock.t += timings.tickMs;
    }
    const b = mk('b', { events: bEvents });
    // b joins; a starts handing one symbol over, waiting for its position to be flat; two rounds
    // into that wait a is cut off from the server: the lease runs out (lost, not let go)
    let cutAt: number | undefined;
    let lastRenewal = 0;
    await rounds(clock, a, aEvents, b, 80, () => {
      const releasingAt = aEvents.find((e) => e.kind === 'releasing')?.endedAt;
      if (cutAt === undefined && releasingAt !== undefined && clock.t >= releasingAt + 2 * timings.tickMs) {
        cutAt = clock.t;
        lastRenewal = clock.t - timings.tickMs;
        aLink.down = true;
      }
      // back just as the key expires: a's round comes first
      if (aLink.down && clock.t >= lastRenewal + timings.ttlMs) aLink.down = false;
    });
    expect(cutAt).toBeDefined();
    const key = aEvents.find((e) => e.kind === 'releasing')!.key;
    const after = aEvents.filter((e) => e.key === key && e.endedAt! > cutAt!).map((e) => `${e.kind} ${e.why}`);
    // lost, taken back (the position is managed again), handed over again, and then left alone
    expect(after[0]).toMatch(/^lost /);
    expect(after[1]).toBe('acquired position held here');
    expect(after[2]).toMatch(/^releasing /);
    expect(after[3]).toMatch(/^released handed over to b with a position of 5 lots/);
    expect(after.length, after.join('; ')).toBe(4);
    expect(b.holds('sim', key.split('.')[1]!)).toBe(true);
  });
});
