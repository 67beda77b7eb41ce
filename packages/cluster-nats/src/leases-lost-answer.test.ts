/**
 * A lease renewal that the server applied but whose answer was lost (a timeout on the reply)
 * leaves the LeaseManager with the old revision, and the next round's renewal is refused ("wrong
 * last sequence"). The key is still this process's: it once was dropped as `lost` all the same
 * (the shard cancelled its orders there and the symbol went untraded until the key expired).
 * Membership recognises the same case (recoverRevision).
 */
import { describe, expect, it } from 'vitest';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER);
const KEY = 'sim.BTCUSDT';

async function holding() {
  let t = 0;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const leases = new FakeBucket(clock.now, timings.ttlMs);
  const members = new FakeBucket(clock.now, timings.ttlMs);
  const link: FakeLink = { down: false };
  const events: LeaseEvent[] = [];
  const m = new LeaseManager({
    leases: fakeKv(leases, link), members: fakeKv(members, { down: false }), shardId: 'a', instance: 'a-1', timings,
    monoMs: clock.now, wallMs: clock.now, candidates: [{ exchange: 'sim', symbol: 'BTCUSDT' }],
    onEvent: (e) => events.push(e), openOrders: () => 1, position: () => 3, handoverMs: 3 * TAKEOVER, onError: () => {},
  });
  for (let k = 0; k < 12 && !m.holds('sim', 'BTCUSDT'); k++) {
    await m.tick();
    clock.advance(timings.tickMs);
  }
  expect(m.holds('sim', 'BTCUSDT')).toBe(true);
  return { m, leases, link, events, clock };
}

describe('lease renewal applied but its answer lost', () => {
  it('keeps the lease at the next round (the key is ours), without extending its validity until a renewal succeeds', async () => {
    const { m, leases, link, events, clock } = await holding();
    // The last renewal answered: the lease counts until its send time + ttl - margin.
    await m.tick();
    const validUntil = clock.now() + timings.ttlMs - timings.marginMs;
    clock.advance(timings.tickMs);
    // One round: the renewal reaches the server and is applied, the reply is lost.
    link.dropAnswers = true;
    await m.tick();
    link.dropAnswers = false;
    clock.advance(timings.tickMs);
    expect(JSON.parse(new TextDecoder().decode(leases.live(KEY)!.value)).instance).toBe('a-1');
    // The next renewal is refused (stale revision): the key is read, found ours, its revision adopted.
    await m.tick();
    expect(events.filter((e) => e.kind === 'lost'), 'lease dropped as lost though the key is ours').toEqual([]);
    expect(m.holds('sim', 'BTCUSDT')).toBe(true);
    // Not extended by the recovery: it counts until the last answered renewal's validity ...
    clock.advance(validUntil - 1 - clock.now());
    expect(m.holds('sim', 'BTCUSDT')).toBe(true);
    clock.advance(1);
    expect(m.holds('sim', 'BTCUSDT')).toBe(false);
    // ... and the next renewal, with the adopted revision, succeeds and extends it.
    await m.tick();
    expect(m.holds('sim', 'BTCUSDT')).toBe(true);
    expect(events.filter((e) => e.kind === 'lost')).toEqual([]);
  });

  it('still drops the lease as lost when the refused key holds another process\'s value', async () => {
    const { m, leases, events, clock } = await holding();
    // Another process (a restart of this shard id) holds the key now.
    leases.write(KEY, new TextEncoder().encode(JSON.stringify({ shard: 'a', instance: 'a-2', ts: clock.now() })));
    await m.tick();
    expect(m.holds('sim', 'BTCUSDT')).toBe(false);
    expect(events.filter((e) => e.kind === 'lost')).toMatchObject([{ key: KEY, why: expect.stringMatching(/renewal refused/) }]);
  });
});
