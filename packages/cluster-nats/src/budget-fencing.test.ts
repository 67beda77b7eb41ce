/**
 * Releasing a dead shard's budget without ever letting two epochs use the same budget: the
 * members and control buckets are in-memory fakes with max_age expiry on a manual clock, so
 * partitions, expiry and the interleavings that matter are exact and repeatable.
 */
import { describe, expect, it } from 'vitest';
import { BudgetLedger, parseBudgetDoc, type BudgetDoc, type BudgetEvent } from './budget.js';
import { Membership } from './membership.js';
import { BUDGET_KEY, leaseTimings } from './names.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal every 1500, margin 1200
const LIMIT = 1000n;
const CHUNK = 100n;

function cluster() {
  let t = 0;
  const now = () => t;
  const members = new FakeBucket(now, timings.ttlMs);
  const control = new FakeBucket(now);
  const shards: Shard[] = [];
  let n = 0;
  let reducing = false;
  const shard = (id: string, graceMs = 0) => {
    const link: FakeLink = { down: false };
    const events: BudgetEvent[] = [];
    const errors: string[] = [];
    const epochs: (string | undefined)[] = [];
    let ledger: BudgetLedger | undefined;
    const membership = new Membership({
      members: fakeKv(members, link), shardId: id, instance: `${id}-${++n}`, timings, monoMs: now, wallMs: now,
      onEpoch: (e) => { epochs.push(e); if (e) ledger?.request(CHUNK, true); },
      onError: () => {},
    });
    ledger = new BudgetLedger({
      control: fakeKv(control, link), members: fakeKv(members, link), shardId: id, limit: LIMIT, chunk: CHUNK,
      epoch: () => membership.current(), reclaimGraceMs: graceMs, reducing: () => reducing, monoMs: now, onEvent: (e) => events.push(e), onError: (m) => errors.push(m),
    });
    const s = { id, link, membership, ledger, events, errors, epochs };
    shards.push(s);
    return s;
  };
  const doc = (): BudgetDoc => JSON.parse(new TextDecoder().decode(control.live(BUDGET_KEY)!.value)) as BudgetDoc;
  const inKv = () => Object.values(doc().shards).reduce((a, v) => a + BigInt(v), 0n);
  /** What the engines may use right now, all shards together. */
  const usable = () => shards.reduce((a, s) => a + s.ledger.held, 0n);
  const advance = (ms: number) => { t += ms; };
  const setReducing = (on: boolean) => { reducing = on; };
  /** Writes the budget key as it is (a corrupt write, a buggy peer version). */
  const writeRaw = (text: string) => control.write(BUDGET_KEY, new TextEncoder().encode(text));
  const raw = () => new TextDecoder().decode(control.live(BUDGET_KEY)!.value);
  return { shard, doc, inKv, usable, advance, now, setReducing, writeRaw, raw };
}
type Shard = { id: string; link: FakeLink; membership: Membership; ledger: BudgetLedger; events: BudgetEvent[]; errors: string[]; epochs: (string | undefined)[] };

async function reserve(s: Shard, need: bigint) {
  s.ledger.request(need);
  await s.ledger.settled();
}

describe('budget of a dead shard: released on expiry, fenced by epoch', () => {
  it('a partitioned shard stops using its budget before anyone can reclaim it; the survivor gets it within takeover_ms', async () => {
    const c = cluster();
    const a = c.shard('a');
    const b = c.shard('b');
    await a.membership.beat();
    await b.membership.beat();
    await a.ledger.settled();
    await b.ledger.settled();
    await reserve(a, 600n);
    await reserve(b, 900n);
    expect([a.ledger.held, b.ledger.held]).toEqual([600n, 400n]);
    expect(c.inKv()).toBe(LIMIT);

    a.link.down = true; // a keeps running, trading on what it holds, but nothing it sends arrives
    const lastBeat = c.now();
    let aStoppedAt: number | undefined;
    let reclaimedAt: number | undefined;
    while (reclaimedAt === undefined && c.now() - lastBeat < 3 * TAKEOVER) {
      c.advance(100);
      if (c.now() % timings.tickMs === 0) {
        await a.membership.beat();
        await b.membership.beat();
        await b.ledger.reclaim();
        if (b.events.some((e) => e.kind === 'reclaimed')) reclaimedAt = c.now();
      }
      if (aStoppedAt === undefined && a.ledger.held === 0n) aStoppedAt = c.now();
      // b may only grow into what the key gives it: never more than the limit in use at once.
      b.ledger.request(LIMIT);
      await b.ledger.settled();
      expect(c.usable()).toBeLessThanOrEqual(LIMIT);
    }
    expect(aStoppedAt).toBe(lastBeat + timings.ttlMs - timings.marginMs); // its own clock fenced it
    expect(reclaimedAt).toBeDefined();
    expect(aStoppedAt!).toBeLessThan(reclaimedAt!); // ...before the server let anyone take it
    expect(reclaimedAt! - lastBeat).toBeLessThanOrEqual(TAKEOVER); // within the bound
    expect(b.events.find((e) => e.kind === 'reclaimed')).toMatchObject({ of: 'a', delta: -600n });
    c.advance(300); // past the quiet time after b's last refusal
    await reserve(b, LIMIT);
    expect(b.ledger.held).toBe(LIMIT); // granted to the survivor
    expect(c.doc().shards).toEqual({ b: '1000' });

    // a comes back: its epoch is over, its old reservation gone; it starts from nothing.
    a.link.down = false;
    await a.membership.beat();
    await a.ledger.settled();
    expect(a.epochs.filter((e) => e !== undefined)).toHaveLength(2);
    expect(a.ledger.held).toBe(0n);
    expect(c.inKv()).toBe(LIMIT);
    expect(c.usable()).toBe(LIMIT);
  });

  it('a shard whose heartbeat lapsed but whose key has not expired takes its own reservation back under a new epoch', async () => {
    const c = cluster();
    const a = c.shard('a');
    const b = c.shard('b');
    await a.membership.beat();
    await b.membership.beat();
    await reserve(a, 600n);
    const firstEpoch = a.membership.current()!.epoch;
    a.link.down = true;
    c.advance(timings.ttlMs - timings.marginMs); // validity over, the key still live on the server
    expect(a.ledger.held).toBe(0n);
    await b.membership.beat();
    await b.ledger.reclaim();
    expect(b.events.filter((e) => e.kind === 'reclaimed')).toEqual([]);
    a.link.down = false;
    expect(await a.membership.beat()).toBe('ok');
    await a.ledger.settled();
    expect(a.membership.current()!.epoch).not.toBe(firstEpoch);
    expect(a.ledger.held).toBe(600n);
    expect(c.doc().epochs!.a).toBe(a.membership.current()!.epoch);
  });

  it('a restart with the same shard id within budget_release_ms takes the reservation over; a reclaim racing that takeover loses', async () => {
    const c = cluster();
    const a = c.shard('a');
    const b = c.shard('b', 20_000 - TAKEOVER); // budget_release_ms = 20 s
    await a.membership.beat();
    await b.membership.beat();
    await reserve(a, 600n);
    a.link.down = true; // a is dead from here on (SIGKILL)
    const restarted = c.shard('a');
    // While the old key lives, the new process holds no epoch and no budget.
    c.advance(3000);
    expect(await restarted.membership.beat()).toBe('taken');
    expect(restarted.ledger.held).toBe(0n);
    c.advance(timings.ttlMs - 3000); // the old key expired
    await b.membership.beat();
    await b.ledger.reclaim(); // first seen gone: the grace starts
    // b's next reclaim reads the budget key and the member list; the restarted process joins
    // and takes the entry over between that read and b's compare-and-set.
    c.advance(20_000 - TAKEOVER);
    await b.membership.beat();
    let interleaved = false;
    b.link.afterRead = async (op) => {
      if (op !== 'keys' || interleaved) return;
      interleaved = true;
      expect(await restarted.membership.beat()).toBe('ok');
      await restarted.ledger.settled();
    };
    await b.ledger.reclaim();
    expect(interleaved).toBe(true);
    expect(b.events.filter((e) => e.kind === 'reclaimed')).toEqual([]);
    expect(restarted.ledger.held).toBe(600n);
    expect(c.doc().epochs!.a).toBe(restarted.membership.current()!.epoch);
    expect(c.usable()).toBeLessThanOrEqual(LIMIT);
  });

  it('without a restart, the reservation goes back after the grace and not before', async () => {
    const c = cluster();
    const a = c.shard('a');
    const b = c.shard('b', 5000);
    await a.membership.beat();
    await b.membership.beat();
    await reserve(a, 300n);
    a.link.down = true;
    c.advance(timings.ttlMs);
    await b.membership.beat();
    await b.ledger.reclaim();
    c.advance(4900);
    await b.membership.beat();
    await b.ledger.reclaim();
    expect(c.doc().shards.a).toBe('300');
    c.advance(100);
    await b.membership.beat();
    await b.ledger.reclaim();
    expect(c.doc().shards.a).toBeUndefined();
  });

  it('while the cluster is REDUCING no reservation grows, but a new epoch still takes its own over', async () => {
    const c = cluster();
    const a = c.shard('a');
    await a.membership.beat();
    await reserve(a, 300n);
    c.setReducing(true);
    await reserve(a, 600n);
    expect(a.ledger.held).toBe(300n);
    expect(a.events.at(-1)).toMatchObject({ kind: 'refused', why: expect.stringMatching(/REDUCING/) });
    a.link.down = true;
    c.advance(timings.ttlMs - timings.marginMs);
    expect(a.ledger.held).toBe(0n);
    a.link.down = false;
    await a.membership.beat();
    await a.ledger.settled();
    expect(a.ledger.held).toBe(300n);
    c.setReducing(false);
    c.advance(300);
    await reserve(a, 600n);
    expect(a.ledger.held).toBe(600n);
  });

  it('a renewal applied but not answered keeps the epoch: the next one recognises the key as its own', async () => {
    const c = cluster();
    const a = c.shard('a');
    await a.membership.beat();
    await reserve(a, 300n);
    const epoch = a.membership.current()!.epoch;
    a.link.dropAnswers = true;
    c.advance(timings.tickMs);
    expect(await a.membership.beat()).toBe('unreachable'); // applied on the server, answer lost
    a.link.dropAnswers = false;
    c.advance(timings.tickMs);
    expect(await a.membership.beat()).toBe('ok'); // refused (revision moved), then found to be ours
    expect(await a.membership.beat()).toBe('ok');
    expect(a.membership.current()!.epoch).toBe(epoch);
    expect(a.epochs).toEqual([epoch]);
    expect(a.ledger.held).toBe(300n);
  });
});

describe('a budget key that cannot be read', () => {
  it('a negative entry of a live peer counts as the whole limit: the honest shards together never hold more than the limit', async () => {
    const c = cluster();
    c.writeRaw(JSON.stringify({ limit: LIMIT.toString(), shards: { b: '-1000' }, epochs: { b: 'whatever' } }));
    const a = c.shard('a');
    const b = c.shard('b'); // live, its entry corrupt
    const d = c.shard('d');
    for (const s of [a, b, d]) await s.membership.beat();
    for (const s of [a, b, d]) await s.ledger.settled();
    await reserve(a, LIMIT);
    await reserve(d, LIMIT);
    await a.ledger.reclaim(); // b is live: its entry stays
    expect(a.ledger.held + d.ledger.held).toBeLessThanOrEqual(LIMIT);
    expect([a.ledger.held, d.ledger.held]).toEqual([0n, 0n]);
    expect(a.events.at(-1)).toMatchObject({ kind: 'refused' });
    expect(c.doc().shards.b).toBe('-1000'); // left as it is, for the aggregator to see (it HALTs)
    // b's own process cannot use its entry either.
    expect(b.ledger.held).toBe(0n);
    expect(b.errors.join('\n')).toMatch(/budget entry of b is unreadable/);
  });

  it('a fractional entry, a null limit or null shards never make grow or reclaim throw; what cannot be read is never counted low', async () => {
    const c = cluster();
    const a = c.shard('a');
    await a.membership.beat();
    await a.ledger.settled();
    // A null limit: the configured one binds, and the next write repairs the key.
    c.writeRaw(JSON.stringify({ limit: null, shards: {} }));
    await reserve(a, 300n);
    expect(a.ledger.held).toBe(300n);
    expect(c.doc().limit).toBe(LIMIT.toString());
    // A fractional entry of another live shard: the whole limit; nothing more is granted.
    const b = c.shard('b');
    await b.membership.beat();
    c.writeRaw(JSON.stringify({ limit: LIMIT.toString(), shards: { a: '300', b: '1.5' }, epochs: { a: c.doc().epochs!.a } }));
    c.advance(300); // past the quiet period after a refusal
    await reserve(a, 500n);
    expect(a.ledger.held).toBe(300n);
    // shards: null: no reservation changes at all until someone repairs it; an error says why.
    c.writeRaw(JSON.stringify({ limit: LIMIT.toString(), shards: null }));
    c.advance(1000);
    await reserve(a, 500n);
    await a.ledger.reclaim();
    expect(a.ledger.held).toBe(300n);
    expect(c.raw()).toBe(JSON.stringify({ limit: LIMIT.toString(), shards: null }));
    expect(a.errors.join('\n')).toMatch(/budget key unreadable \(shards is not an object\)/);
    expect(a.errors.join('\n')).toMatch(/budget reclaim skipped/);
  });

  it('a dead shard\'s unreadable entry is reclaimed like any other', async () => {
    const c = cluster();
    c.writeRaw(JSON.stringify({ limit: LIMIT.toString(), shards: { x: 'garbage' } }));
    const a = c.shard('a');
    await a.membership.beat();
    await a.ledger.settled();
    expect(a.ledger.held).toBe(0n); // x counts as the whole limit
    await a.ledger.reclaim(); // x has no member key
    expect(a.events.find((e) => e.kind === 'reclaimed')).toMatchObject({ of: 'x' });
    c.advance(300); // past the quiet period after the refusal
    await reserve(a, LIMIT);
    expect(a.ledger.held).toBe(LIMIT);
    expect(c.inKv()).toBe(LIMIT);
  });

  it('parseBudgetDoc: non-negative integer strings only; objects for shards and epochs', () => {
    expect(parseBudgetDoc(() => ({ limit: '1000', shards: { a: '5', b: '0' }, epochs: { a: 'e1' } }))).toMatchObject({ limit: 1000n, unreadable: [], shardsUnreadable: false, problems: [] });
    const bad = parseBudgetDoc(() => ({ limit: '-5', shards: { a: '-1', b: 7, c: '1e3', d: ' 4', e: '12' }, epochs: [] }));
    expect(bad.limit).toBeUndefined();
    expect(bad.unreadable).toEqual(['a', 'b', 'c', 'd']);
    expect([...bad.shards]).toEqual([['e', 12n]]);
    expect(bad.problems).toHaveLength(6);
    for (const body of [null, 5, 'x', [], { limit: '1' }, { limit: '1', shards: [] }]) expect(parseBudgetDoc(() => body).shardsUnreadable).toBe(true);
    expect(parseBudgetDoc(() => JSON.parse('{')).problems[0]).toMatch(/not JSON/);
  });
});
