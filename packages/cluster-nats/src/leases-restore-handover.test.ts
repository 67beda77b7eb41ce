/**
 * A shard's engine restores its journal only after every venue loaded its instruments, and run
 * starts the shard (its lease rounds) before that: until `engine.restored`, the position and
 * open orders the lease manager reads are 0 whatever the journal holds (empty, not flat). A
 * handover decided then (a symbol this shard holds, now assigned to a shard that joined) let the
 * lease go as flat at once; the restored position then sat on a symbol this shard no longer held
 * and would not take back (still counted in its exposure and budget, but managed by nobody).
 * Likewise a lease lost involuntarily then gave no stranded-position claim (its position read 0).
 * Now no handover starts or ends until the positions are known (`positionsKnown`), while the
 * leases are renewed and taken as usual, and a lease lost meanwhile counts as lost with a
 * position (docs/scale-out.md, "Symbol leases").
 *
 * The same holds for a stop then (SIGTERM while the venues load their instruments): stop()
 * deleted every key (no open orders, read as 0) and another shard took the symbols at its next
 * tick, while the journal may hold positions there and orders of an earlier run still working at
 * the venue. Now each key is left to expire by max_age, as for a symbol with orders open.
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500, margin 1200
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

/** A shard whose engine restores later: position()/openOrders() read 0 until `restored`, then the journal's position. */
interface Engine {
  restored: boolean;
  /** The position the journal holds on every symbol (read only once restored). */
  journal: number;
}

function cluster() {
  const clock = { t: 0 };
  const now = () => clock.t;
  const leases = new FakeBucket(now, timings.ttlMs);
  const members = new FakeBucket(now, timings.ttlMs);
  const mk = (id: string, events: LeaseEvent[], engine: Engine, link: FakeLink = { down: false }) =>
    new LeaseManager({
      leases: fakeKv(leases, link), members: fakeKv(members, link), shardId: id, instance: `${id}-1`, timings,
      monoMs: now, wallMs: now, candidates: SYMBOLS.map((symbol) => ({ exchange: 'sim', symbol })),
      onEvent: (e) => events.push({ ...e, endedAt: clock.t }), openOrders: () => 0,
      position: () => (engine.restored ? engine.journal : 0), positionsKnown: () => engine.restored,
      handoverMs: 3 * TAKEOVER, onError: () => {},
    });
  return { clock, mk };
}

async function rounds(clock: { t: number }, shards: LeaseManager[], n: number, each?: () => void): Promise<void> {
  for (let k = 0; k < n; k++) {
    each?.();
    for (const s of shards) await s.tick();
    for (const s of SYMBOLS) expect(shards.filter((x) => x.holds('sim', s)).length, `${s} held by two shards`).toBeLessThanOrEqual(1);
    clock.t += timings.tickMs;
  }
}

/** a takes both symbols alone, its engine still restoring; then b joins. */
async function aHoldsBoth(aEngine: Engine, aLink?: FakeLink) {
  const { clock, mk } = cluster();
  const aEvents: LeaseEvent[] = [];
  const bEvents: LeaseEvent[] = [];
  const a = mk('a', aEvents, aEngine, aLink);
  for (let k = 0; k < 12 && a.heldKeys().length < 2; k++) {
    await a.tick();
    clock.t += timings.tickMs;
  }
  expect(a.heldKeys().length, 'a takes its leases while its engine restores').toBe(2);
  const b = mk('b', bEvents, { restored: true, journal: 0 });
  return { clock, a, b, aEvents, bEvents };
}

describe('a handover while the engine has not restored its journal', () => {
  it('waits for the restore, then for the restored position to be flat: the position is never left on a symbol let go', async () => {
    const engine: Engine = { restored: false, journal: 5 };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(engine);
    // Longer than the handover wait (3 x takeover = 20 rounds): the instruments load slowly.
    await rounds(clock, [a, b], 40);
    expect(aEvents.filter((e) => e.kind !== 'acquired').map((e) => `${e.kind} ${e.key}: ${e.why}`), 'a let a lease go before its engine restored its position').toEqual([]);
    expect(a.heldKeys().length, 'a keeps renewing both leases while its engine restores').toBe(2);
    expect(bEvents.filter((e) => e.kind === 'acquired')).toEqual([]);

    // Restored: a position of 5 lots on each symbol. The handover starts now and waits for flat.
    engine.restored = true;
    await rounds(clock, [a, b], 4);
    const releasing = aEvents.find((e) => e.kind === 'releasing');
    expect(releasing, 'the handover starts once the engine restored').toBeDefined();
    expect(aEvents.find((e) => e.kind === 'released'), 'released with a position of 5 lots here').toBeUndefined();
    // Flattened (reduce-only orders): let go as flat, and taken by b.
    engine.journal = 0;
    await rounds(clock, [a, b], 3);
    const released = aEvents.find((e) => e.kind === 'released');
    expect(released?.key).toBe(releasing!.key);
    expect(released!.why).toBe('handed over to b');
    expect(bEvents.find((e) => e.kind === 'acquired')?.key).toBe(releasing!.key);
  });

  it('a lease lost while the engine restores is taken back for the position it may have', async () => {
    const engine: Engine = { restored: false, journal: 5 };
    const aLink: FakeLink = { down: false };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(engine, aLink);
    await rounds(clock, [a, b], 4);
    expect(a.heldKeys().length).toBe(2);
    // a is cut off (its engine still restoring) until its leases have run out on the server: a's round comes first after.
    aLink.down = true;
    const cutAt = clock.t;
    const lastRenewal = clock.t - timings.tickMs;
    // back just as the keys expire (a's round first), as in leases-stranded.test.ts
    await rounds(clock, [a, b], 8, () => {
      if (aLink.down && clock.t >= lastRenewal + timings.ttlMs) aLink.down = false;
    });
    expect(aEvents.filter((e) => e.kind === 'lost').length, 'both leases lost').toBe(2);
    const back = aEvents.filter((e) => e.kind === 'acquired' && e.endedAt! > cutAt).map((e) => e.why).sort();
    // The one assigned to a as preferred; the one assigned to b for the position a may hold there.
    expect(back, 'a left a symbol on which its journal may hold a position to another shard').toEqual(['position held here', 'preferred']);
    expect(bEvents.filter((e) => e.kind === 'acquired')).toEqual([]);
    // Restored: flat there after all, so it is handed over to b (no handover before).
    engine.restored = true;
    engine.journal = 0;
    await rounds(clock, [a, b], 3);
    expect(aEvents.filter((e) => e.kind === 'released').map((e) => e.why)).toEqual(['handed over to b']);
    expect(bEvents.filter((e) => e.kind === 'acquired').length).toBe(1);
  });

  it('stopped (SIGTERM) while the engine restores: deletes no key, so no other shard takes a symbol before a has been gone a lease lifetime', async () => {
    const engine: Engine = { restored: false, journal: 5 };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(engine);
    await rounds(clock, [a, b], 2);
    expect(a.heldKeys().length).toBe(2);
    // a's last renewal was in the round before the clock moved on; its keys live until then + lifetime.
    const lastRenewal = clock.t - timings.tickMs;
    await a.stop();
    const released = aEvents.filter((e) => e.kind === 'released');
    expect(released.length, 'a stops counting both leases').toBe(2);
    expect(a.heldKeys()).toEqual([]);
    // b goes on alone: a's member key is gone at once, its lease keys only by max_age.
    let takenAt: number | undefined;
    for (let k = 0; k < 12 && takenAt === undefined; k++) {
      await b.tick();
      if (bEvents.some((e) => e.kind === 'acquired')) takenAt = clock.t;
      else clock.t += timings.tickMs;
    }
    expect(takenAt, 'b never took the symbols once a had gone').toBeDefined();
    expect(takenAt!, `b took a symbol ${lastRenewal + timings.ttlMs - takenAt!} ms before a's key could expire: a's journal may hold a position and working orders there`).toBeGreaterThanOrEqual(lastRenewal + timings.ttlMs);
    for (const e of released) expect(e.why).toMatch(/before its engine restored its journal .* left to expire by max_age/);
  });
});
