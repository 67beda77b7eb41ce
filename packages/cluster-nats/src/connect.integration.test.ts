import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import type { ClusterConfig } from '@cwts/core/cluster';
import { openCluster, type ClusterHandles } from './connect.js';
import { LeaseManager } from './leases.js';
import { leaseTimings } from './names.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const missing = nats.missing;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map((symbol) => ({ exchange: 'sim', symbol }));

function cfgWith(name: string, takeoverMs: number, shard: string): ClusterConfig {
  return { ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: takeoverMs }), shard_id: shard, budget_release_ms: takeoverMs };
}

/** A lease manager counting by the configured takeover_ms, as a shard started with it does. */
function manager(h: ClusterHandles, shardId: string, takeoverMs: number): LeaseManager {
  return new LeaseManager({
    leases: h.leases, members: h.members, shardId, instance: `${shardId}-i`, timings: leaseTimings(takeoverMs),
    monoMs: () => performance.now(), wallMs: () => Date.now(), candidates: SYMBOLS,
    onEvent: () => {}, openOrders: () => 0, position: () => 0, handoverMs: takeoverMs, onError: () => {},
  });
}

describe('openCluster', () => {
  // Every shard and the aggregator create the buckets at start, often at the same moment (a
  // deployment rolled out at once). nats-server 2.9 can answer the loser of two simultaneous
  // creations of one stream with "subjects overlap with an existing stream" (CI saw it).
  it('succeeds for every process when several open a new cluster at the same moment', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    for (let round = 0; round < 60; round++) {
      const cfg = { ...clusterConfigSchema.parse({ name: `race${round}`, servers: [nats.url()] }), shard_id: 'x', budget_release_ms: 10_000 };
      const results = await Promise.allSettled(Array.from({ length: 6 }, (_, k) => openCluster({ ...cfg, shard_id: `s${k}` }, `s${k}`)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
      await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.nc.close() : undefined)));
      expect(failed, `round ${round}`).toEqual([]);
    }
  });

  // The buckets keep the max_age of whichever deployment created them; the KV client reuses an
  // existing bucket as it is. A shard counting a lease longer than the server keeps it trades a
  // symbol another shard took once it stalls between the two.
  it('raises the lease and member buckets\' max_age when takeover_ms was raised: no symbol is held by two shards across a stall', { timeout: 30_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    // Yesterday's deployment ran with takeover_ms = 1000: the buckets got max_age 600 ms.
    const old = await openCluster(cfgWith('ttlraise', 1000, 'old'), 'old');
    await old.nc.close();
    // Today takeover_ms is 10000 (lease lifetime 6 s, counted 4.8 s).
    const takeover = 10_000;
    const ha = await openCluster(cfgWith('ttlraise', takeover, 'a'), 'a');
    const hb = await openCluster(cfgWith('ttlraise', takeover, 'b'), 'b');
    const a = manager(ha, 'a', takeover);
    const b = manager(hb, 'b', takeover);
    try {
      expect((await ha.leases.status()).ttl).toBe(6000);
      expect((await ha.members.status()).ttl).toBe(6000);
      expect(ha.timings).toEqual(leaseTimings(takeover));
      expect(ha.notices.join('\n')).toMatch(/kept keys 600 ms.*raised to 6000 ms/);
      await a.tick();
      // The bucket was just created: a lease lifetime of quarantine before the first lease.
      for (const end = performance.now() + 15_000; a.heldKeys().length < SYMBOLS.length && performance.now() < end; ) {
        await sleep(100);
        await a.tick();
      }
      expect(a.heldKeys().length).toBe(SYMBOLS.length);
      // Shard a stalls for 3.5 s: within the 4.8 s it counts its leases.
      const stalledAt = performance.now();
      let both = 0;
      while (performance.now() - stalledAt < 3500) {
        await b.tick();
        for (const s of SYMBOLS) if (a.holds(s.exchange, s.symbol) && b.holds(s.exchange, s.symbol)) both++;
        await sleep(100);
      }
      expect(both, 'a symbol was held by two shards at once (split-brain)').toBe(0);
    } finally {
      await ha.nc.close();
      await hb.nc.close();
    }
  });

  // A rollback (or a rolling change back) to a smaller takeover_ms: shards still on the larger
  // one count their leases for up to its lifetime, so the bucket must keep them that long.
  it('never lowers a bucket\'s max_age; a process with a smaller takeover_ms counts by its own, shorter lifetime', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const big = await openCluster(cfgWith('ttlkeep', 10_000, 'big'), 'big');
    const small = await openCluster(cfgWith('ttlkeep', 4000, 'small'), 'small');
    try {
      expect((await small.leases.status()).ttl).toBe(6000);
      expect((await small.members.status()).ttl).toBe(6000);
      expect(small.timings).toEqual(leaseTimings(4000));
      expect(small.notices.join('\n')).toMatch(/keeps keys 6000 ms, longer than .* 2400 ms/);
      expect(big.timings).toEqual(leaseTimings(10_000));
    } finally {
      await big.nc.close();
      await small.nc.close();
    }
  });
});

