/**
 * The risk aggregator cut off from NATS. Each round's read of `reduce` (and `budget`) failed,
 * and the round still replaced the served view with `reducing: false` and no reservation: /metrics
 * said cwts_cluster_reducing 0 (and /status `reducing: false`, `budgetError: null`) while the
 * cluster was REDUCING (the key set, every shard refusing what does not reduce). A failed read
 * now keeps the last values read and says so (`controlError`, cwts_cluster_control_stale 1).
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { clusterConfigSchema, type ClusterConfig } from '@cwts/core/cluster';
import { createLogger } from '@cwts/core/observability';
import { skipUnlessRequired } from '@cwts/core/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { runAggregator } from './aggregator.js';
import { openCluster, type ClusterHandles } from './connect.js';
import { BUDGET_KEY, clusterNames, REDUCE_KEY } from './names.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const E18 = 10n ** 18n;

describe('risk aggregator cut off from NATS', () => {
  it('does not report cwts_cluster_reducing 0 while the reduce key is set and unreadable', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    let stop: () => void = () => {};
    let running: Promise<void> | undefined;
    let h: ClusterHandles | undefined;
    let nc: NatsConnection | undefined;
    try {
      const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggpart', servers: [server.url], takeover_ms: 1000, publish_interval_ms: 50, aggregator_port: 0 }), shard_id: 'test', budget_release_ms: 1000 };
      const names = clusterNames('aggpart');
      h = await openCluster(cluster, 'test');
      await h.control.put(REDUCE_KEY, JSON.stringify({ reason: 'operator test', by: 'operator', ts: Date.now() }));
      await h.control.put(BUDGET_KEY, JSON.stringify({ limit: (10n * E18).toString(), shards: { a: (4n * E18).toString() } }));
      const until = new Promise<void>((r) => (stop = r));
      running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until });
      nc = await connect({ servers: server.url });
      let url: string | undefined;
      nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => (url ??= m.json<{ metricsUrl: string }>().metricsUrl) });
      const metrics = async () => {
        const text = await (await fetch(url!)).text();
        const read = (name: string) => new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
        return { reducing: read('cwts_cluster_reducing'), reserved: read('cwts_cluster_reserved'), stale: read('cwts_cluster_control_stale') };
      };
      const status = async () => (await (await fetch(url!.replace(/\/metrics$/, '/status'))).json()) as { reducing: boolean; controlError: string | null; controlReadAt: number | null };
      for (let k = 0; k < 200 && !(url && (await metrics()).reducing === '1'); k++) await sleep(50);
      expect(await metrics()).toMatchObject({ reducing: '1', reserved: '4' });
      await nc.close();
      await h.nc.close();

      // NATS goes away (the store is kept: the key is still set when it comes back).
      const port = server.port;
      await server.stop({ keepStore: true });
      // Until a round failed to read the keys (each call waits its 1 s timeout), then a few rounds more.
      for (let k = 0; k < 200; k++) {
        const m = await metrics();
        if (m.stale === '1' || m.reducing !== '1') break;
        await sleep(50);
      }
      const seen: Awaited<ReturnType<typeof metrics>>[] = [];
      for (let k = 0; k < 5; k++) {
        seen.push(await metrics());
        await sleep(300);
      }
      expect(seen.map((m) => m.reducing), 'cwts_cluster_reducing served while cut off').toEqual(['1', '1', '1', '1', '1']);
      expect(seen).toEqual(Array.from({ length: 5 }, () => ({ reducing: '1', reserved: '4', stale: '1' })));
      const cutOff = await status();
      expect(cutOff.reducing).toBe(true);
      expect(cutOff.controlError).toMatch(/not read this round .*as last read/);
      expect(cutOff.controlReadAt).not.toBeNull();

      // NATS back with its store: read again, no longer stale.
      server = await startNatsServer({ port, dir: server.dir });
      for (let k = 0; k < 300 && (await metrics()).stale !== '0'; k++) await sleep(50);
      expect(await metrics()).toEqual({ reducing: '1', reserved: '4', stale: '0' });
      expect((await status()).controlError).toBeNull();
    } finally {
      stop();
      // Bounded: with the server gone (a failure above) the aggregator's drain would wait on it.
      await Promise.race([running?.catch(() => {}), sleep(5000)]);
      await nc?.close().catch(() => {});
      await h?.nc.close().catch(() => {});
      await server.stop();
    }
  });
});
