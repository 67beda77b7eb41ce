/**
 * A nats-server (replicas = 1) restarted with an empty store while every process of the cluster
 * keeps running. Only openCluster (a process's start) created the buckets and the stream: a
 * running shard's KV calls then timed out round after round (the server answers them with
 * nothing; only a stream info says "stream not found"), every lease dropped, nothing published
 * was stored, and no shard traded again until someone restarted a pod. A round whose calls fail
 * now asks the store, which recreates what is gone (the same code as openCluster).
 * Monotonic time is a manual clock.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster, type ClusterHandles } from './connect.js';
import { LeaseManager } from './leases.js';
import { Membership } from './membership.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
const TAKEOVER = 2_000; // lifetime 1200, renewal 300, margin 240

describe('NATS loses its store while every process keeps running', () => {
  it('the running shard recreates the buckets and the stream, and takes its symbol again (nobody restarts)', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    let h: ClusterHandles | undefined;
    let a: LeaseManager | undefined;
    try {
      const cfg = { ...clusterConfigSchema.parse({ name: 'norecreate', servers: [server.url], takeover_ms: TAKEOVER }), shard_id: 'a', budget_release_ms: TAKEOVER };
      let t = 0;
      const mono = () => t;
      const errors: string[] = [];
      h = await openCluster(cfg, 'a');
      h.store.onNotice = (m) => errors.push(m);
      const timings = h.timings;
      const membership = new Membership({ members: h.members, shardId: 'a', instance: 'a-1', timings, monoMs: mono, wallMs: () => Date.now(), onEpoch: () => {}, onError: (m) => errors.push(m), store: h.store });
      a = new LeaseManager({
        leases: h.leases, members: h.members, shardId: 'a', instance: 'a-1', timings, monoMs: mono, wallMs: () => Date.now(),
        candidates: [{ exchange: 'sim', symbol: 'BTCUSDT' }], onEvent: () => {}, openOrders: () => 0, position: () => 0,
        handoverMs: 3 * TAKEOVER, onError: (m) => errors.push(m), membership, store: h.store,
      });
      for (let k = 0; k < 10 && !a.holds('sim', 'BTCUSDT'); k++) {
        await a.tick();
        t += timings.tickMs;
      }
      expect(a.holds('sim', 'BTCUSDT')).toBe(true);

      // The server restarts with an empty store, same port: the client reconnects. No process starts.
      const port = server.port;
      await server.stop();
      server = await startNatsServer({ port, dir: mkdtempSync(join(tmpdir(), 'cwts-nats-')) });

      // Rounds as fast as the server answers: the first ones wait on call timeouts until the
      // client has reconnected and the store is recreated. 30 rounds = 7.5 lease lifetimes.
      let lostSeen = false;
      for (let k = 0; k < 30; k++) {
        await a.tick();
        t += timings.tickMs;
        if (!a.holds('sim', 'BTCUSDT')) lostSeen = true;
        else if (lostSeen) break;
      }
      expect(lostSeen).toBe(true); // the old lease could not be renewed in the empty store
      expect(a.holds('sim', 'BTCUSDT'), `never traded again; last errors: ${errors.slice(-3).join(' | ')}`).toBe(true);
      expect(errors.join('\n')).toMatch(/had no .*KV_cwts_norecreate_leases.*recreated/);
      // The stream too: what the shard publishes is stored again.
      const jsm = await jetstreamManager(h.nc);
      expect((await jsm.streams.info(h.names.stream)).config.subjects).toContain(h.names.all);
      expect((await h.control.status()).streamInfo.created).toBeTruthy();
    } finally {
      await a?.stop(false);
      await h?.nc.close();
      await server.stop();
    }
  });
});
