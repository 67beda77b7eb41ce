/**
 * "The buckets' real max_age binds" was checked only at a process's start (openCluster). When
 * nats-server loses its store, the buckets are recreated by whichever process opens the cluster
 * (or, now, recovers it) first, with ITS takeover_ms: during a rolling change of takeover_ms, a
 * process with the shorter setting recreated the lease and member buckets with its short max_age
 * while the running shards went on counting every lease and membership epoch by their longer
 * lifetime. A stall longer than the new max_age (shorter than what the stalled shard counts) then
 * let another shard take a symbol the stalled one still counted. Each running shard now makes a
 * recreated bucket keep keys for at least its lifetime before it counts anything in it.
 *
 * Monotonic time is a manual clock, advanced only together with (never ahead of) real sleeps, so
 * the server's max_age expiry (wall time) is never behind what the shards' clocks say. The
 * recreating process has the shortest takeover_ms (1000: keys kept 600 ms) so that a short stall
 * (1500 ms) shows the split, and the shards' window (4800 ms) leaves a loaded machine room.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster, type ClusterHandles } from './connect.js';
import { LeaseManager } from './leases.js';
import { Membership } from './membership.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
const KEYS = ['BTCUSDT', 'ETHUSDT'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NATS loses its store during a rolling change of takeover_ms', () => {
  it('no two live shards hold one symbol when a stalled shard is within the lease lifetime it counts', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    const opened: ClusterHandles[] = [];
    const managers: LeaseManager[] = [];
    try {
      const cfg = (takeover: number, id: string) => ({ ...clusterConfigSchema.parse({ name: 'mixedtakeover', servers: [server.url], takeover_ms: takeover }), shard_id: id, budget_release_ms: takeover });
      const open = async (takeover: number, id: string) => {
        const h = await openCluster(cfg(takeover, id), id);
        opened.push(h);
        return h;
      };
      let t = 0;
      const mono = () => t;
      const shard = (h: ClusterHandles, id: string) => {
        const timings = h.timings; // as NatsShard: live, kept by the store
        const membership = new Membership({ members: h.members, shardId: id, instance: `${id}-1`, timings, monoMs: mono, wallMs: () => Date.now(), onEpoch: () => {}, onError: () => {}, store: h.store });
        const m = new LeaseManager({
          leases: h.leases, members: h.members, shardId: id, instance: `${id}-1`, timings, monoMs: mono, wallMs: () => Date.now(),
          candidates: KEYS.map((symbol) => ({ exchange: 'sim', symbol })), onEvent: () => {}, openOrders: () => 0, position: () => 0,
          handoverMs: 30_000, onError: () => {}, membership, store: h.store,
        });
        managers.push(m);
        return { m, membership, timings };
      };
      const ha = await open(10_000, 'a');
      const hb = await open(10_000, 'b');
      const A = shard(ha, 'a');
      const B = shard(hb, 'b');
      expect(A.timings.ttlMs).toBe(6000); // each counts a lease until its last renewal + 4800

      // nats-server restarts with an empty store; a process of another setting (takeover 1000) opens the cluster first.
      const port = server.port;
      await server.stop();
      server = await startNatsServer({ port, dir: mkdtempSync(join(tmpdir(), 'cwts-nats-')) });
      const hc = await open(1_000, 'c');
      expect((await hc.leases.status()).ttl).toBe(600);
      await hc.nc.close();

      // A and B run their rounds (every 1500 ms of their clock) until each holds one symbol; the
      // first rounds wait on call timeouts until their clients have reconnected.
      const heldBy = (x: typeof A) => KEYS.filter((k) => x.m.holds('sim', k));
      for (let k = 0; k < 40 && !(heldBy(A).length === 1 && heldBy(B).length === 1); k++) {
        await A.m.tick();
        await B.m.tick();
        t += A.timings.tickMs;
      }
      expect(heldBy(A)).toHaveLength(1);
      expect(heldBy(B)).toHaveLength(1);
      const keyA = heldBy(A)[0]!;
      // Raised before anything was counted in them, and the running shards' timings unchanged.
      expect((await hb.leases.status()).ttl).toBe(6000);
      expect((await hb.members.status()).ttl).toBe(6000);
      expect(A.timings.ttlMs).toBe(6000);

      // A renews (lease and membership), then stalls (GC, a loaded machine) for 1.5 s: longer
      // than the recreated buckets kept keys (600 ms), well inside what A counts (4800 ms).
      await A.m.tick();
      await B.m.tick();
      const R = t;
      await sleep(1500);
      t = R + 1500;
      expect(A.m.holds('sim', keyA)).toBe(true);
      expect(A.membership.current(), 'and its membership epoch (its budget)').toBeDefined();

      // B goes on with its rounds meanwhile.
      for (let k = 0; k < 3 && !B.m.holds('sim', keyA); k++) {
        await B.m.tick();
        await sleep(300);
        t += 300;
      }
      expect(t - R).toBeLessThan(A.timings.ttlMs - A.timings.marginMs);
      const both = A.m.holds('sim', keyA) && B.m.holds('sim', keyA);
      expect(both, `two live shards hold sim.${keyA} at once (A stalled ${t - R} ms, inside the 4800 ms it counts)`).toBe(false);
      expect((await hb.members.get('a'))?.operation, "A's member key (its budget) is still there").toBe('PUT');
    } finally {
      for (const m of managers) await m.stop(false);
      for (const h of opened) await h.nc.close().catch(() => {});
      await server.stop();
    }
  });
});
