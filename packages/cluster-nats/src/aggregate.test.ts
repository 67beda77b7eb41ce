import { describe, expect, it } from 'vitest';
import { parseShardState, PortfolioAggregate } from './aggregate.js';
import { Membership } from './membership.js';
import { leaseTimings } from './names.js';
import { PortfolioVaR } from './portfolio-var.js';
import { FakeBucket, fakeKv, type FakeLink } from '../test/fake-kv.js';

const E18 = 10n ** 18n;
const state = (shard: string, ts: number, equity: bigint, gross = 0n, riskState = 'ACTIVE') =>
  parseShardState({ shard, instance: `${shard}-i`, seq: ts, ts, equity: (equity * E18).toString(), grossExposure: (gross * E18).toString(), reserved: null, riskState })!;

/** A state of shard s1 with every field that orders it spelled out. */
const msg = (o: { instance?: string; seq: number; ts: number; equity: bigint; epochRevision?: number; epochBucketCreated?: number; peak?: bigint; marks?: Record<string, string>; positions?: unknown[] }) =>
  parseShardState({
    shard: 's1', instance: o.instance ?? 'inst-1', seq: o.seq, ts: o.ts, epochRevision: o.epochRevision ?? null, epochBucketCreated: o.epochBucketCreated ?? null, equity: (o.equity * E18).toString(),
    peak: o.peak === undefined ? null : (o.peak * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', marks: o.marks, positions: o.positions,
  })!;

/** The aggregator's monotonic clock, moved by hand. */
function manualClock(start = 0) {
  const c = { t: start, monoMs: () => c.t };
  return c;
}

describe('PortfolioAggregate', () => {
  it('sums equity and exposure over shards; drawdown from the peak of the sum', () => {
    const clock = manualClock(1000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 5000 });
    a.setPeak(0n); // a stored reference exists (none of the shards' own peaks seeds it)
    a.update(state('s1', 1000, 100_000n, 5000n));
    a.update(state('s2', 1000, 100_000n, 3000n));
    let s = a.summary();
    expect(s.equity).toBe(200_000n * E18);
    expect(s.grossExposure).toBe(8000n * E18);
    expect(s.drawdown).toBe(0);
    clock.t = 2000;
    a.update(state('s1', 2000, 90_000n));
    s = a.summary();
    expect(s.peak).toBe(200_000n * E18);
    expect(s.drawdown).toBeCloseTo(0.05, 6);
  });

  it('a state restored from the stream (a restart) counts at once, stale, until the shard publishes again; never over one received since', () => {
    const clock = manualClock(1000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 5000 });
    expect(a.restore(msg({ seq: 7, ts: 1, equity: 100_000n, marks: { 'sim:A': '100' }, positions: [{ exchange: 'sim', symbol: 'A', qty: 1, value: (900n * E18).toString() }] }))).toBe(true);
    expect(a.summary()).toMatchObject({ shards: 1, stale: ['s1'], equity: 100_000n * E18 });
    expect(a.exposures().exposures.get('sim:A')).toBe(900);
    expect(a.marks().size).toBe(0); // a stale mark is no return
    // The same process publishes again: live from here on.
    expect(a.update(msg({ seq: 8, ts: 2, equity: 99_000n }))).toBe(true);
    expect(a.summary()).toMatchObject({ stale: [], equity: 99_000n * E18 });
    expect(a.restore(msg({ seq: 7, ts: 1, equity: 100_000n }))).toBe(false);
    // A new process of a restored shard id replaces it at once (the restored one is stale).
    const b = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 5000 });
    b.restore(msg({ instance: 'old', seq: 50, ts: 1, equity: 100_000n }));
    expect(b.update(msg({ instance: 'new', seq: 1, ts: 2, equity: 80_000n }))).toBe(true);
    expect(b.summary().equity).toBe(80_000n * E18);
  });

  it('a shard that stopped reporting keeps its last exposure (its positions are still at the venue) and is named stale', () => {
    const clock = manualClock(1000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 5000 });
    a.update(state('s1', 1000, 100_000n, 5000n));
    clock.t = 9000;
    a.update(state('s2', 9000, 100_000n, 1000n));
    clock.t = 10_000;
    const s = a.summary();
    expect(s.stale).toEqual(['s1']);
    expect(s.grossExposure).toBe(6000n * E18);
  });

  it('ignores an older message of the same process arriving late (by seq)', () => {
    const a = new PortfolioAggregate({ monoMs: manualClock().monoMs, staleAfterMs: 5000 });
    a.update(state('s1', 2000, 50_000n));
    expect(a.update(state('s1', 1000, 100_000n))).toBe(false);
    expect(a.summary().equity).toBe(50_000n * E18);
    expect(a.summary().superseded).toBe(1);
  });

  it('malformed state is refused, never summed', () => {
    expect(parseShardState(null)).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', seq: 1, ts: 1, equity: 1.5, riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', seq: 1, ts: '1', equity: '1', riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', seq: 1, ts: 1, equity: '12e3', riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', ts: 1, equity: '1', riskState: 'ACTIVE' })).toBeUndefined(); // no seq
    expect(parseShardState({ shard: 's1', instance: 'i', seq: 1.5, ts: 1, equity: '1', riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', seq: 1, ts: 1, equity: '1', riskState: 'ACTIVE', epochRevision: '7' })).toBeUndefined();
  });
});

describe('PortfolioAggregate never trusts shard clocks', () => {
  it('a shard whose wall clock steps back (NTP) still has its newer state counted: a 20 % drawdown is seen', () => {
    const clock = manualClock(1_000_000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    a.update(msg({ seq: 1, ts: 1_000_000, equity: 100_000n }));
    a.summary(); // peak 100k
    // The shard's clock is stepped back 60 s; its next state (seq 2) reports equity 80k.
    clock.t += 1000;
    expect(a.update(msg({ seq: 2, ts: 940_000, equity: 80_000n }))).toBe(true);
    const s = a.summary();
    expect(s.equity).toBe(80_000n * E18);
    expect(s.drawdown).toBeCloseTo(0.2, 6); // would trip cluster.max_drawdown = 0.1
  });

  it('a delayed or replayed state of an earlier process of the same shard id never replaces the current one', () => {
    const clock = manualClock(2_000_000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    // The current process began its membership epoch at members revision 40 (of the bucket created at 1000).
    a.update(msg({ instance: 'new', seq: 5, ts: 2_000_000, equity: 80_000n, epochRevision: 40, epochBucketCreated: 1000 }));
    // The previous process (epoch at revision 12), cut off, flushes what it buffered: a higher seq, a later clock.
    clock.t += 100;
    expect(a.update(msg({ instance: 'old', seq: 900, ts: 9_000_000, equity: 100_000n, epochRevision: 12, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.summary().equity).toBe(80_000n * E18);
    // It is remembered as replaced: not even once the current one goes quiet does it come back.
    clock.t += 60_000;
    expect(a.update(msg({ instance: 'old', seq: 901, ts: 9_100_000, equity: 100_000n, epochRevision: 12, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.summary().equity).toBe(80_000n * E18);
    // Without a revision to compare (a shard that publishes none), a process that was never seen
    // does not replace a current one that still reports.
    const b = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    b.update(msg({ instance: 'new', seq: 5, ts: 2_000_000, equity: 80_000n }));
    clock.t += 100;
    expect(b.update(msg({ instance: 'old', seq: 900, ts: 1_000_000, equity: 100_000n }))).toBe(false);
    expect(b.summary().equity).toBe(80_000n * E18);
  });

  it('a restarted shard (a later membership epoch) replaces its previous process at once, and that one\'s late states are dropped', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    a.update(msg({ instance: 'first', seq: 10, ts: 5_000, equity: 100_000n, epochRevision: 3 }));
    clock.t = 500;
    // Its clock is an hour behind the first process's: irrelevant.
    expect(a.update(msg({ instance: 'second', seq: 1, ts: 5_000 - 3_600_000, equity: 90_000n, epochRevision: 20 }))).toBe(true);
    clock.t = 600;
    expect(a.update(msg({ instance: 'first', seq: 11, ts: 6_000, equity: 100_000n, epochRevision: 3 }))).toBe(false);
    expect(a.summary().equity).toBe(90_000n * E18);
    // Without revisions, a newcomer takes over once the current process has been silent for staleAfterMs.
    const b = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    b.update(msg({ instance: 'first', seq: 10, ts: 0, equity: 100_000n }));
    clock.t += 5_000;
    expect(b.update(msg({ instance: 'second', seq: 1, ts: 0, equity: 90_000n }))).toBe(false);
    clock.t += 6_000;
    expect(b.update(msg({ instance: 'second', seq: 2, ts: 0, equity: 90_000n }))).toBe(true);
    expect(b.update(msg({ instance: 'first', seq: 11, ts: 0, equity: 100_000n }))).toBe(false);
    expect(b.summary().equity).toBe(90_000n * E18);
  });

  it('a live shard whose clock is 15 s behind the aggregator is not stale and still feeds the portfolio VaR', () => {
    const clock = manualClock(10_000_000);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    const pvar = new PortfolioVaR({ confidence: 0.99, method: 'historical', window: 500, minReturns: 5 });
    const pos = [{ exchange: 'sim', symbol: 'BTCUSDT', qty: 100, value: (50_000n * E18).toString() }];
    for (let k = 0; k < 20; k++) {
      clock.t += 1000;
      // Received right now; the shard's clock reads 15 s less (takeover_ms = 10 s).
      a.update(msg({ seq: k + 1, ts: clock.t - 15_000, equity: 100_000n, marks: { 'sim:BTCUSDT': (100 + (k % 3)).toString() }, positions: pos }));
      pvar.sample(a.marks());
    }
    expect(a.summary().stale).toEqual([]);
    expect(pvar.returnsOf('sim:BTCUSDT').length).toBeGreaterThanOrEqual(5);
    // And once it really stops reporting, it is stale by the aggregator's clock.
    clock.t += 10_001;
    expect(a.summary().stale).toEqual(['s1']);
    expect(a.marks()).toEqual(new Map());
  });
});

// After an aggregator restart, a state restored from the stream counted as silent (never
// received), so the first state of ANY other process of that shard id replaced it and retired it
// for good, whatever the ranks. When that first state came from an older process (a zombie of an
// epoch taken over since, still publishing), the live shard was dropped as superseded until the
// aggregator restarted, and the zombie's figures counted (drawdown, exposure, VaR).
describe('PortfolioAggregate after a restart, with two processes of one shard id', () => {
  const TAKEOVER = 10_000;

  it('a restored later epoch is not retired by the older process publishing first: that one is (comparable ranks)', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: TAKEOVER });
    // The stream's last state of s1: the current process (epoch begun at revision 20 of bucket 1000).
    expect(a.restore(msg({ instance: 'new', seq: 500, ts: 500, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(true);
    clock.t = 100;
    // The older process (epoch 10 of the same bucket) publishes first: an older epoch, retired.
    expect(a.update(msg({ instance: 'old', seq: 900, ts: 900, equity: 100_000n, epochRevision: 10, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.summary().equity).toBe(80_000n * E18);
    clock.t = 600;
    expect(a.update(msg({ instance: 'new', seq: 501, ts: 501, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(true);
    clock.t = 1_100;
    expect(a.update(msg({ instance: 'old', seq: 901, ts: 901, equity: 100_000n, epochRevision: 10, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.update(msg({ instance: 'new', seq: 502, ts: 502, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(true);
    expect(a.summary()).toMatchObject({ equity: 80_000n * E18, stale: [] });
  });

  it('without a comparable rank the first reporter replaces the restored state, which comes back when it reports', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: TAKEOVER });
    a.restore(msg({ instance: 'new', seq: 500, ts: 500, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }));
    clock.t = 100;
    // The other process publishes no bucket: nothing proves it older, and it reports.
    expect(a.update(msg({ instance: 'old', seq: 900, ts: 900, equity: 100_000n, epochRevision: 10 }))).toBe(true);
    // A copy of the restored state (up to its seq) does not bring it back ...
    expect(a.update(msg({ instance: 'new', seq: 500, ts: 500, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.summary().equity).toBe(100_000n * E18);
    // ... its next state does: it was replaced unheard, not for its silence, and ranks above.
    clock.t = 600;
    expect(a.update(msg({ instance: 'new', seq: 501, ts: 501, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(true);
    clock.t = 1_100;
    expect(a.update(msg({ instance: 'old', seq: 901, ts: 901, equity: 100_000n, epochRevision: 10 }))).toBe(false);
    expect(a.update(msg({ instance: 'new', seq: 502, ts: 502, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(true);
    expect(a.summary()).toMatchObject({ equity: 80_000n * E18, stale: [] });
  });

  it('a process retired as older counts again once it begins a later epoch of its own (same instance)', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: TAKEOVER });
    a.restore(msg({ instance: 'b', seq: 500, ts: 500, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }));
    clock.t = 100;
    expect(a.update(msg({ instance: 'a', seq: 900, ts: 900, equity: 100_000n, epochRevision: 10, epochBucketCreated: 1000 }))).toBe(false);
    // b stopped (its member key deleted); a's member key had lapsed, and it creates one again:
    // a new epoch of the same process, at a later revision than b's.
    clock.t = 30_000;
    expect(a.update(msg({ instance: 'a', seq: 901, ts: 901, equity: 90_000n, epochRevision: 30, epochBucketCreated: 1000 }))).toBe(true);
    expect(a.summary()).toMatchObject({ equity: 90_000n * E18, stale: [] });
    // b's late state is the older epoch now; a's own late state from its old epoch stays dropped.
    expect(a.update(msg({ instance: 'b', seq: 501, ts: 501, equity: 80_000n, epochRevision: 20, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.update(msg({ instance: 'a', seq: 899, ts: 899, equity: 100_000n, epochRevision: 10, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.update(msg({ instance: 'a', seq: 902, ts: 902, equity: 90_000n, epochRevision: 31, epochBucketCreated: 1000 }))).toBe(true);
    expect(a.summary().equity).toBe(90_000n * E18);
  });
});

describe('PortfolioAggregate drawdown peak', () => {
  it('without a stored peak, a fresh aggregator starts from the sum of the shards\' published peaks', () => {
    const clock = manualClock(0);
    const before = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    before.setPeak(0n);
    before.update(msg({ seq: 1, ts: 1000, equity: 100_000n, peak: 100_000n }));
    before.summary();
    before.update(msg({ seq: 2, ts: 2000, equity: 92_000n, peak: 100_000n }));
    expect(before.summary().drawdown).toBeCloseTo(0.08, 6);
    // The aggregator restarts here (no stored peak); the shard keeps losing.
    const after = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    after.update(msg({ seq: 3, ts: 3000, equity: 85_000n, peak: 100_000n }));
    const s = after.summary();
    expect(s.peak).toBe(100_000n * E18);
    expect(s.drawdown, 'cluster.max_drawdown = 0.1 HALTs').toBeGreaterThanOrEqual(0.1);
  });

  it('a stored peak is used as it is (the higher one wins); a reset restarts it at the summed equity', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    a.setPeak(120_000n * E18);
    a.update(msg({ seq: 1, ts: 1000, equity: 100_000n, peak: 100_000n }));
    expect(a.summary().peak).toBe(120_000n * E18);
    a.setPeak(110_000n * E18); // a lower one (another writer) does not lower it
    expect(a.summary().drawdown).toBeCloseTo(1 / 6, 5); // truncated to 6 decimals
    a.resetPeak();
    expect(a.summary()).toMatchObject({ peak: 100_000n * E18, drawdown: 0 });
  });

  // The members bucket recreated (NATS lost its store, or the buckets deleted to lower max_age
  // while the stream CWTS_<C> survived): epoch revisions start again from 1.
  it('a live shard whose epoch began in a recreated members bucket replaces a restored, long-silent process with a higher revision', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    a.setPeak(0n);
    // The previous run's last state, from the stream: its epoch began at members revision 48213.
    expect(a.restore(msg({ instance: 'old-process', seq: 90_000, ts: 90_000, equity: 100_000n, epochRevision: 48_213 }))).toBe(true);
    for (let seq = 1; seq <= 600; seq++) {
      clock.t += 1000; // ten minutes of states, one a second, equity falling 40 %
      a.update(msg({ instance: 'new-process', seq, ts: seq, equity: 100_000n - BigInt(seq) * 100n, epochRevision: 3 }));
      a.summary(); // the aggregator summarises every publish interval
    }
    const s = a.summary();
    expect(s.stale).toEqual([]);
    expect(s.equity).toBe(40_000n * E18); // what the live shard says
    expect(s.drawdown).toBeGreaterThan(0.5); // max_drawdown would HALT
  });

  it('ranks the later members bucket first: a process in a recreated bucket replaces a live one from the old bucket at once', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: 10_000 });
    a.update(msg({ instance: 'before', seq: 1, ts: 0, equity: 100_000n, epochRevision: 48_213, epochBucketCreated: 1_000 }));
    clock.t += 100;
    expect(a.update(msg({ instance: 'after', seq: 1, ts: 0, equity: 90_000n, epochRevision: 3, epochBucketCreated: 2_000 }))).toBe(true);
    expect(a.update(msg({ instance: 'before', seq: 2, ts: 0, equity: 100_000n, epochRevision: 48_213, epochBucketCreated: 1_000 }))).toBe(false);
    expect(a.summary().equity).toBe(90_000n * E18);
  });
});

// A restarted shard whose members-bucket status read failed at the start of its epoch once
// published its revision with `epochBucketCreated: null` for the whole epoch (Membership never
// read it again): ranked in "the oldest bucket", below its own predecessor, it was retired while
// that one's last state was fresh (a restart within seconds), and the retired check comes first,
// so its states were dropped for the rest of its life: the aggregator kept the dead process's
// frozen equity and positions (drawdown HALT and VaR on stale figures).
describe('a restarted shard ranked without its members bucket', () => {
  const TAKEOVER = 10_000;
  const timings = leaseTimings(TAKEOVER);

  it('Membership publishes its epoch revision only once the bucket is known, and reads it again at every heartbeat until then', async () => {
    let t = 1_000_000;
    const members = new FakeBucket(() => t, timings.ttlMs);
    let failures = 2;
    const link: FakeLink = { down: false, beforeStatus: () => { if (failures-- > 0) throw new Error('TIMEOUT'); } };
    const m = new Membership({ members: fakeKv(members, link), shardId: 's1', instance: 'p2', timings, monoMs: () => t, wallMs: () => t, onEpoch: () => {}, onError: () => {} });
    expect(await m.beat()).toBe('ok'); // created; the status read fails
    expect(m.current()).toBeDefined();
    expect([m.epochRevision(), m.epochBucketCreated()]).toEqual([undefined, undefined]);
    t += timings.tickMs;
    expect(await m.beat()).toBe('ok'); // renewed; the read fails again
    expect(m.epochRevision()).toBeUndefined();
    t += timings.tickMs;
    expect(await m.beat()).toBe('ok'); // renewed; read
    expect(m.epochBucketCreated()).toBe(members.createdAt);
    expect(m.epochRevision()).toBeGreaterThan(0);
  });

  it('PortfolioAggregate: a newcomer whose rank lacks its bucket is not retired; it replaces the holder once that one has been silent for takeover_ms', () => {
    const clock = manualClock(0);
    const a = new PortfolioAggregate({ monoMs: clock.monoMs, staleAfterMs: TAKEOVER });
    a.update(msg({ instance: 'p1', seq: 2, ts: 0, equity: 100_000n, epochRevision: 5, epochBucketCreated: 1000 }));
    // The restart 2 s later: a later revision, but no bucket (ranks as the oldest): dropped while p1 is fresh ...
    clock.t += 2000;
    expect(a.update(msg({ instance: 'p2', seq: 1, ts: 0, equity: 60_000n, epochRevision: 7 }))).toBe(false);
    clock.t += 5000;
    expect(a.update(msg({ instance: 'p2', seq: 2, ts: 0, equity: 60_000n, epochRevision: 7 }))).toBe(false);
    // ... and counted once p1 has been silent for takeover_ms.
    clock.t += 3001;
    expect(a.update(msg({ instance: 'p2', seq: 3, ts: 0, equity: 60_000n, epochRevision: 7 }))).toBe(true);
    expect(a.summary()).toMatchObject({ equity: 60_000n * E18, stale: [] });
    // p1's late states do not come back while p2 reports (replaced for its silence, p1 ranks above
    // p2 only by a guess) ...
    expect(a.update(msg({ instance: 'p1', seq: 3, ts: 0, equity: 100_000n, epochRevision: 5, epochBucketCreated: 1000 }))).toBe(false);
    clock.t += 9000;
    expect(a.update(msg({ instance: 'p1', seq: 4, ts: 0, equity: 100_000n, epochRevision: 5, epochBucketCreated: 1000 }))).toBe(false);
    expect(a.summary().equity).toBe(60_000n * E18);
    // ... but it was not retired: once p2 has been silent for takeover_ms in turn, p1, which
    // still reports, counts again (before, it was dropped for the aggregator's whole life and
    // p2's frozen figures counted instead).
    clock.t += 1001;
    expect(a.update(msg({ instance: 'p1', seq: 5, ts: 0, equity: 95_000n, epochRevision: 5, epochBucketCreated: 1000 }))).toBe(true);
    expect(a.summary()).toMatchObject({ equity: 95_000n * E18, stale: [] });
  });

  it('end to end: the new process counts once the previous one has been silent for takeover_ms', async () => {
    let t = 1_000_000;
    const now = () => t;
    const members = new FakeBucket(now, timings.ttlMs);
    const state = (instance: string, seq: number, equity: bigint, m: Membership) =>
      parseShardState({ shard: 's1', instance, seq, ts: t, equity: (equity * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', epochRevision: m.epochRevision() ?? null, epochBucketCreated: m.epochBucketCreated() ?? null })!;
    const mk = (instance: string, link: FakeLink) =>
      new Membership({ members: fakeKv(members, link), shardId: 's1', instance, timings, monoMs: now, wallMs: now, onEpoch: () => {}, onError: () => {} });
    const agg = new PortfolioAggregate({ monoMs: now, staleAfterMs: TAKEOVER });
    // The previous process: a normal epoch, then a clean stop (member key deleted, last state published).
    const p1 = mk('p1', { down: false });
    expect(await p1.beat()).toBe('ok');
    expect(agg.update(state('p1', 1, 100_000n, p1))).toBe(true);
    await p1.stop();
    expect(agg.update(state('p1', 2, 100_000n, p1))).toBe(true);
    // The restart, 2 s later: its member key is created (a later revision), the status read right after times out once.
    t += 2000;
    let failures = 1;
    const p2 = mk('p2', { down: false, beforeStatus: () => { if (failures-- > 0) throw new Error('TIMEOUT'); } });
    expect(await p2.beat()).toBe('ok');
    let seq = 0;
    agg.update(state('p2', ++seq, 60_000n, p2));
    // p2 keeps beating and publishing, once a second, for a minute; p1 is gone for good.
    for (let k = 0; k < 60; k++) {
      t += 1000;
      if (k % 2 === 0) await p2.beat();
      agg.update(state('p2', ++seq, 60_000n, p2));
    }
    expect(p2.epochRevision()! > p1.epochRevision()!).toBe(true); // it is the later epoch, once known
    const s = agg.summary();
    expect(s.stale, 'the live process is ignored and the dead one counted').toEqual([]);
    expect(s.equity).toBe(60_000n * E18);
  });
});
