/**
 * A handover during a HALT: the cluster_halt gate and the engine's HALTED state refuse every
 * order, reducing ones included, so the wait for a flat position could not succeed. It timed out
 * after 3 x takeover_ms and let the symbol go with the position, which then sat unmanaged in the
 * old shard (never taken back for it: "Stranded positions") while the new owner traded the symbol
 * after the resume. A shard joining during a HALT (a pod restarted meanwhile) did that to every
 * position the others held on the symbols it was assigned. Now, while the shard cannot flatten
 * (`canFlatten`), a handover of a symbol with a position or orders does not start and one under
 * way does not time out: its wait starts again once the HALT is lifted here (docs/scale-out.md).
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const HANDOVER = 3 * TAKEOVER;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500, margin 1200
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

/** What the shard's hooks read: the position on every symbol, and whether it is HALTED. */
interface Shard {
  position: Record<string, number>;
  halted: boolean;
}

function cluster() {
  const clock = { t: 0 };
  const now = () => clock.t;
  const leases = new FakeBucket(now, timings.ttlMs);
  const members = new FakeBucket(now, timings.ttlMs);
  const mk = (id: string, events: LeaseEvent[], shard: Shard, link: FakeLink = { down: false }) =>
    new LeaseManager({
      leases: fakeKv(leases, link), members: fakeKv(members, link), shardId: id, instance: `${id}-1`, timings,
      monoMs: now, wallMs: now, candidates: SYMBOLS.map((symbol) => ({ exchange: 'sim', symbol })),
      onEvent: (e) => events.push({ ...e, endedAt: clock.t }), openOrders: () => 0,
      position: (_ex, sym) => shard.position[sym] ?? 0, canFlatten: () => !shard.halted,
      handoverMs: HANDOVER, onError: () => {},
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

/** a takes both symbols alone with 5 lots on each; b (never HALTED here: flat) joins later. */
async function aHoldsBoth(a0: Shard) {
  const { clock, mk } = cluster();
  const aEvents: LeaseEvent[] = [];
  const bEvents: LeaseEvent[] = [];
  const a = mk('a', aEvents, a0);
  for (let k = 0; k < 12 && a.heldKeys().length < 2; k++) {
    await a.tick();
    clock.t += timings.tickMs;
  }
  expect(a.heldKeys().length).toBe(2);
  const b = mk('b', bEvents, { position: {}, halted: false });
  return { clock, a, b, aEvents, bEvents };
}

const letGo = (events: LeaseEvent[]) => events.filter((e) => e.kind === 'released' || e.kind === 'lost').map((e) => `${e.kind} ${e.key}: ${e.why}`);

describe('a handover while the shard is HALTED', () => {
  it('does not start for a symbol with a position while HALTED, and waits the whole handover time once resumed', async () => {
    const shard: Shard = { position: { BTCUSDT: 5, ETHUSDT: 5 }, halted: true };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(shard);
    // Far longer than the handover wait (20 rounds): the HALT lasts.
    await rounds(clock, [a, b], 60);
    expect(letGo(aEvents), 'a let a symbol go with 5 lots it could not flatten (HALTED)').toEqual([]);
    expect(aEvents.filter((e) => e.kind === 'releasing'), 'no handover starts while nothing can be flattened').toEqual([]);
    expect(a.heldKeys().length, 'a keeps renewing both leases').toBe(2);
    expect(bEvents.filter((e) => e.kind === 'acquired')).toEqual([]);

    // Resumed: the handover of the symbol assigned to b starts now and waits up to the whole 3 x takeover_ms.
    shard.halted = false;
    await rounds(clock, [a, b], 1);
    const releasing = aEvents.find((e) => e.kind === 'releasing');
    expect(releasing, 'the handover starts once resumed').toBeDefined();
    const startedAt = clock.t - timings.tickMs;
    await rounds(clock, [a, b], Math.floor(HANDOVER / timings.tickMs) - 1);
    expect(letGo(aEvents), 'released before the handover wait ran out').toEqual([]);
    // Not flat in time after all: let go as before (the HALT gave it no extra chance to be cut short).
    await rounds(clock, [a, b], 2);
    const released = aEvents.find((e) => e.kind === 'released');
    expect(released?.key).toBe(releasing!.key);
    expect(released!.endedAt! - startedAt).toBeGreaterThanOrEqual(HANDOVER);
  });

  it('a HALT during a handover restarts its wait; the symbol goes once flat after the resume', async () => {
    const shard: Shard = { position: { BTCUSDT: 5, ETHUSDT: 5 }, halted: false };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(shard);
    await rounds(clock, [a, b], 4);
    const releasing = aEvents.find((e) => e.kind === 'releasing');
    expect(releasing, 'the handover started').toBeDefined();
    // HALTED half-way through the wait, for longer than the whole wait.
    await rounds(clock, [a, b], 10);
    shard.halted = true;
    await rounds(clock, [a, b], 40);
    expect(letGo(aEvents), 'the handover timed out during the HALT, leaving 5 lots unmanaged here').toEqual([]);
    expect(a.state('sim', releasing!.symbol), 'still a handover: only reducing orders once resumed').toBe('releasing');
    // Resumed: a fresh wait, not what was left of the old one.
    shard.halted = false;
    await rounds(clock, [a, b], 10);
    expect(letGo(aEvents), 'the wait did not start again at the resume').toEqual([]);
    // Flattened by reducing orders: handed over as flat, and taken by b.
    shard.position[releasing!.symbol] = 0;
    await rounds(clock, [a, b], 3);
    expect(letGo(aEvents)).toEqual([`released ${releasing!.key}: handed over to b`]);
    expect(bEvents.find((e) => e.kind === 'acquired')?.key).toBe(releasing!.key);
  });

  it('a flat symbol without orders is still handed over during a HALT: nothing is left behind', async () => {
    const shard: Shard = { position: {}, halted: true };
    const { clock, a, b, aEvents, bEvents } = await aHoldsBoth(shard);
    await rounds(clock, [a, b], 6);
    const released = aEvents.filter((e) => e.kind === 'released');
    expect(released.map((e) => e.why)).toEqual(['handed over to b']);
    expect(bEvents.find((e) => e.kind === 'acquired')?.key).toBe(released[0]!.key);
  });
});
