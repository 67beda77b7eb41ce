/**
 * the lease safety argument ("the server wrote its copy after that send, so it
 * cannot expire it earlier") assumes the server keeps the key. A nats-server (replicas = 1, the
 * default) restarted with an empty store forgets every lease at once; as soon as any process
 * recreates the buckets (openCluster: a restarted shard, the aggregator), a live shard creates the
 * "free" key while the previous holder still counts its lease valid (up to 0.48 x takeover_ms).
 * Monotonic time is a manual clock: both shards are inside their lease windows by construction.
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
import { leaseTimings } from './names.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER); // lifetime 6000, renewal 1500, margin 1200: valid 4800 after a renewal

describe('NATS restarted with its store lost', () => {
  it('no two live shards hold one symbol after the buckets are recreated', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    const cfg = { ...clusterConfigSchema.parse({ name: 'splitbrain', servers: [server.url], takeover_ms: TAKEOVER }), shard_id: 'x', budget_release_ms: TAKEOVER };
    let t = 0;
    const mono = () => t;
    const shard = (h: ClusterHandles, id: string) => {
      const membership = new Membership({ members: h.members, shardId: id, instance: `${id}-1`, timings, monoMs: mono, wallMs: () => Date.now(), onEpoch: () => {}, onError: () => {} });
      return new LeaseManager({
        leases: h.leases, members: h.members, shardId: id, instance: `${id}-1`, timings, monoMs: mono, wallMs: () => Date.now(),
        candidates: [{ exchange: 'sim', symbol: 'BTCUSDT' }], onEvent: () => {}, openOrders: () => 0, position: () => 0, handoverMs: 3 * TAKEOVER, onError: () => {}, membership,
      });
    };
    const ha = await openCluster({ ...cfg, shard_id: 'a' }, 'a');
    const hb = await openCluster({ ...cfg, shard_id: 'b' }, 'b');
    let hc: ClusterHandles | undefined;
    const a = shard(ha, 'a');
    const b = shard(hb, 'b');
    try {
      // A brand-new bucket: no lease for a lease lifetime (4 rounds of 1500), then one of them takes it.
      for (let k = 0; k < 8 && !a.holds('sim', 'BTCUSDT') && !b.holds('sim', 'BTCUSDT'); k++) {
        await a.tick();
        await b.tick();
        t += timings.tickMs;
      }
      const [holder, other] = a.holds('sim', 'BTCUSDT') ? [a, b] : [b, a];
      expect(holder.holds('sim', 'BTCUSDT')).toBe(true);
      expect(other.holds('sim', 'BTCUSDT')).toBe(false);
      await holder.tick(); // its last renewal: valid until t + 4800 on its own clock
      const renewedAt = t;

      // The server restarts with an empty store (same port: the clients reconnect).
      const port = server.port;
      await server.stop();
      server = await startNatsServer({ port, dir: mkdtempSync(join(tmpdir(), 'cwts-nats-')) });
      // Any process starting now (a shard pod, the aggregator) recreates the buckets.
      hc = await openCluster({ ...cfg, shard_id: 'c' }, 'restarted-process');

      // The other shard keeps ticking; the holder's renewal is not due yet (or is slow).
      for (let k = 0; k < 3 && !other.holds('sim', 'BTCUSDT'); k++) {
        for (let w = 0; w < 40; w++) {
          await other.tick();
          if (other.holds('sim', 'BTCUSDT')) break;
          await new Promise((r) => setTimeout(r, 100)); // wall time for the reconnect only; t does not move
        }
        t += timings.tickMs / 2;
      }
      expect(t - renewedAt).toBeLessThan(timings.ttlMs - timings.marginMs); // still inside the holder's window
      const both = holder.holds('sim', 'BTCUSDT') && other.holds('sim', 'BTCUSDT');
      expect(both, 'two live shards hold sim.BTCUSDT at once').toBe(false);
      // Once the holder's window is over the symbol is traded again (the quarantine ends).
      t = renewedAt + timings.ttlMs;
      expect(holder.holds('sim', 'BTCUSDT')).toBe(false);
      for (let k = 0; k < 6 && !other.holds('sim', 'BTCUSDT'); k++) {
        await other.tick();
        t += timings.tickMs;
      }
      expect(other.holds('sim', 'BTCUSDT')).toBe(true);
    } finally {
      await hc?.nc.close();
      await ha.nc.close();
      await hb.nc.close();
      await server.stop();
    }
  });
});
