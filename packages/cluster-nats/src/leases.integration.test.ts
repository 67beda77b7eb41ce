import { describe, expect, it } from 'vitest';
import { ManualClock } from '@cwts/core';
import { clusterConfigSchema, type ClusterConfig } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster, type ClusterHandles } from './connect.js';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { BudgetLedger, type BudgetDoc } from './budget.js';
import { Membership } from './membership.js';
import { BUDGET_KEY, leaseKey, leaseTimings } from './names.js';
import { sharedNatsServer, startNatsServer, type NatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const missing = nats.missing;
let n = 0;

function clusterCfg(takeoverMs: number): ClusterConfig {
  return { ...clusterConfigSchema.parse({ name: `t${++n}`, servers: [nats.url()], takeover_ms: takeoverMs }), shard_id: 'x', budget_release_ms: takeoverMs };
}

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT'].map((symbol) => ({ exchange: 'sim', symbol }));
const realMono = () => performance.now();

function manager(h: ClusterHandles, shardId: string, takeoverMs: number, events: LeaseEvent[], monoMs = realMono): LeaseManager {
  return new LeaseManager({
    leases: h.leases,
    members: h.members,
    shardId,
    instance: `${shardId}-instance`,
    timings: leaseTimings(takeoverMs),
    monoMs,
    wallMs: () => Date.now(),
    candidates: SYMBOLS,
    onEvent: (e) => events.push(e),
    openOrders: () => 0,
    position: () => 0,
    handoverMs: takeoverMs,
    onError: () => {},
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every symbol held by at most one manager at this instant. */
function assertExclusive(ms: LeaseManager[]): void {
  for (const s of SYMBOLS) expect(ms.filter((m) => m.holds(s.exchange, s.symbol)).length, `${s.symbol} held twice`).toBeLessThanOrEqual(1);
}

describe('symbol leases on NATS KV', () => {
  it('spreads symbols over live shards, never two at once, and a dead shard\'s symbols move within the takeover bound', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const takeover = 2000;
    const cfg = clusterCfg(takeover);
    const hs = await Promise.all(['a', 'b', 'c'].map((id) => openCluster({ ...cfg, shard_id: id }, id)));
    const events: LeaseEvent[][] = [[], [], []];
    const ms = hs.map((h, k) => manager(h, 'abc'[k]!, takeover, events[k]!));
    try {
      const alive = [true, true, true];
      // Tick all three concurrently, as separate processes would, checking exclusivity as we go.
      const deadline = performance.now() + 20 * leaseTimings(takeover).tickMs;
      while (performance.now() < deadline) {
        await Promise.all(ms.map((m, k) => (alive[k] ? m.tick() : undefined)));
        assertExclusive(ms);
        await sleep(leaseTimings(takeover).tickMs / 2);
      }
      for (const s of SYMBOLS) expect(ms.filter((m) => m.holds(s.exchange, s.symbol)).length, `${s.symbol} unowned`).toBe(1);
      // Rendezvous spreads them: nobody holds everything.
      for (const m of ms) expect(m.heldKeys().length).toBeLessThan(SYMBOLS.length);

      // Shard c dies: it stops renewing (like SIGKILL), its local gate closes by itself within the lease lifetime.
      alive[2] = false;
      const orphaned = ms[2]!.heldKeys();
      const killedAt = performance.now();
      const taken = new Map<string, number>();
      while (taken.size < orphaned.length && performance.now() - killedAt < 5 * takeover) {
        await Promise.all(ms.slice(0, 2).map((m) => m.tick()));
        assertExclusive(ms);
        for (const k of orphaned) if (!taken.has(k) && ms.slice(0, 2).some((m) => m.heldKeys().includes(k))) taken.set(k, performance.now() - killedAt);
        await sleep(50);
      }
      expect(taken.size).toBe(orphaned.length);
      expect(ms[2]!.heldKeys()).toEqual([]);
      // Measured, not asserted as a timing: the bound is takeover_ms (docs/scale-out.md).
      console.log(`lease takeover after renewals stopped: ${[...taken.values()].map((t) => t.toFixed(0)).join(', ')} ms (takeover_ms ${takeover})`);
      for (const m of ms.slice(0, 2)) await m.stop();
    } finally {
      for (const h of hs) await h.nc.close();
    }
  });

  it('a lease stops counting when renewals stop, before the server can hand it to anyone else', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const takeover = 10_000;
    const cfg = clusterCfg(takeover);
    const h = await openCluster({ ...cfg, shard_id: 'solo' }, 'solo');
    const clock = new ManualClock(0);
    const events: LeaseEvent[] = [];
    const m = manager(h, 'solo', takeover, events, () => Number(clock.monoNs()) / 1e6);
    try {
      const t = leaseTimings(takeover);
      await m.tick();
      await m.tick(); // the first tick only announces membership
      // The bucket is brand new: no lease is taken from it for a lease lifetime (leases-store-loss test).
      for (let k = 0; k < 8 && m.heldKeys().length < SYMBOLS.length; k++) {
        clock.advance(t.tickMs);
        await m.tick();
      }
      expect(m.heldKeys().length).toBe(SYMBOLS.length);
      clock.advance(t.ttlMs - t.marginMs - 1);
      expect(m.holds('sim', 'BTCUSDT')).toBe(true);
      clock.advance(1);
      // No renewal reached the server in a lease lifetime less the margin: the gate is shut without any I/O.
      expect(m.holds('sim', 'BTCUSDT')).toBe(false);
      expect(m.heldKeys()).toEqual([]);
      // The server still has it (max_age not passed), so nobody else could have taken it yet.
      const e = await h.leases.get(leaseKey('sim', 'BTCUSDT'));
      expect(e?.operation).toBe('PUT');
      await m.stop();
      expect((await h.leases.get(leaseKey('sim', 'BTCUSDT')))?.operation ?? 'gone').not.toBe('PUT');
    } finally {
      await h.nc.close();
    }
  });
});

describe('losing the NATS server', () => {
  it('every lease stops counting within its lifetime while the server is down, and comes back after it returns', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const own = await startNatsServer();
    const takeover = 2000;
    const cfg = { ...clusterCfg(takeover), servers: [own.url] };
    const h = await openCluster({ ...cfg, shard_id: 'solo' }, 'solo');
    const errors: string[] = [];
    const m = new LeaseManager({
      leases: h.leases, members: h.members, shardId: 'solo', instance: 'solo-1', timings: leaseTimings(takeover), monoMs: realMono, wallMs: () => Date.now(),
      candidates: SYMBOLS, onEvent: () => {}, openOrders: () => 0, position: () => 0, handoverMs: takeover, onError: (e) => errors.push(e),
    });
    let restarted: NatsServer | undefined;
    const t = leaseTimings(takeover);
    let ticking = true;
    const loop = (async () => {
      while (ticking) {
        await m.tick();
        await sleep(t.tickMs);
      }
    })();
    try {
      await until(() => m.heldKeys().length === SYMBOLS.length, 20_000);
      await own.stop({ keepStore: true });
      const downAt = performance.now();
      // No renewal can succeed now: the gate shuts by itself within lifetime - margin (+ one tick).
      await until(() => m.heldKeys().length === 0, t.ttlMs + 5 * t.tickMs);
      console.log(`gate closed ${(performance.now() - downAt).toFixed(0)} ms after the server went away (lifetime ${t.ttlMs} ms, margin ${t.marginMs} ms)`);
      restarted = await startNatsServer({ port: own.port, dir: own.dir });
      const upAt = performance.now();
      await until(() => m.heldKeys().length === SYMBOLS.length, 45_000);
      console.log(`all leases held again ${(performance.now() - upAt).toFixed(0)} ms after the server came back`);
      expect(errors.length).toBeGreaterThan(0); // the outage was seen, not slept through
    } finally {
      ticking = false;
      await loop;
      await h.nc.close();
      await (restarted ?? own).stop();
    }
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(20);
  }
}

describe('global position budget by compare-and-set', () => {
  it('concurrent shards never reserve more than max_total_position in sum', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cfg = clusterCfg(10_000);
    const hs = await Promise.all(['a', 'b', 'c'].map((id) => openCluster({ ...cfg, shard_id: id }, id)));
    const limit = 1000n;
    const latencies: number[] = [];
    const memberships = hs.map((h, k) => new Membership({ members: h.members, shardId: 'abc'[k]!, instance: `i-${'abc'[k]!}`, timings: leaseTimings(10_000), monoMs: realMono, wallMs: () => Date.now(), onEpoch: () => {}, onError: (m) => { throw new Error(m); } }));
    const ledgers = hs.map((h, k) => new BudgetLedger({ control: h.control, members: h.members, shardId: 'abc'[k]!, limit, chunk: 70n, epoch: () => memberships[k]!.current(), monoMs: realMono, onEvent: (e) => e.kind === 'reserved' && latencies.push(e.latencyMs), onError: (m) => { throw new Error(m); } }));
    try {
      // Each shard asks over and over for more than the whole limit.
      for (let round = 0; round < 20; round++) {
        for (const m of memberships) expect(await m.beat()).toBe('ok');
        for (const l of ledgers) l.request(l.held + 70n * 3n);
        await Promise.all(ledgers.map((l) => l.settled()));
        const sum = ledgers.reduce((a, l) => a + l.held, 0n);
        expect(sum).toBeLessThanOrEqual(limit);
        await new Promise((r) => setTimeout(r, 260)); // past the refusal quiet time
      }
      const doc = (await hs[0]!.control.get(BUDGET_KEY))!.json<BudgetDoc>();
      const inKv = Object.values(doc.shards).reduce((a, v) => a + BigInt(v), 0n);
      expect(inKv).toBe(ledgers.reduce((a, l) => a + l.held, 0n));
      expect(inKv).toBe(limit); // everything handed out, nothing more
      for (const [k, l] of ledgers.entries()) expect(BigInt(doc.shards['abc'[k]!] ?? '0')).toBe(l.held);
      // Give back: the key follows, and another shard can take it.
      for (const m of memberships) await m.beat();
      await ledgers[0]!.releaseDownTo(() => 0n, 'test');
      expect(ledgers[0]!.held).toBe(0n);
      ledgers[1]!.request(ledgers[1]!.held + 70n);
      await ledgers[1]!.settled();
      const after = (await hs[0]!.control.get(BUDGET_KEY))!.json<BudgetDoc>();
      expect(Object.values(after.shards).reduce((a, v) => a + BigInt(v), 0n)).toBeLessThanOrEqual(limit);
      latencies.sort((a, b) => a - b);
      console.log(`budget reservation latency: median ${latencies[Math.floor(latencies.length / 2)]!.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms over ${latencies.length}`);
    } finally {
      for (const h of hs) await h.nc.close();
    }
  });
});
