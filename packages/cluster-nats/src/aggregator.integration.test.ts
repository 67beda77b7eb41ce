import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { clusterConfigSchema, type ClusterConfig } from '@cwts/core/cluster';
import { createLogger } from '@cwts/core/observability';
import { skipUnlessRequired } from '@cwts/core/testing';
import { connect } from '@nats-io/transport-node';
import { runAggregator } from './aggregator.js';
import { openCluster } from './connect.js';
import { clusterNames, HALT_KEY } from './names.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
let server: NatsServer | undefined;
beforeAll(async () => {
  if (!missing) server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

const E18 = 10n ** 18n;

describe('risk aggregator', () => {
  it('HALTs every shard when the summed equity draws down past cluster.max_drawdown, and ignores malformed state', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'agg', servers: [server!.url], publish_interval_ms: 50, max_drawdown: 0.1 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('agg');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: server!.url });
    const aggregates: Record<string, unknown>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    const state = (shard: string, equity: bigint) => nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq: 1, ts: Date.now(), equity: (equity * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE' }));
    try {
      state('s1', 100_000n);
      state('s2', 100_000n);
      nc.publish(names.subject('state', 'evil'), JSON.stringify({ shard: 'evil', equity: 'lots' }));
      await until2(() => aggregates.some((a) => a.shards === 2 && a.rejectedMessages === 1));
      expect(await h.control.get(HALT_KEY)).toBeNull();
      // s2 loses 25 %: the portfolio is down 12.5 % from its peak.
      state('s2', 75_000n);
      await until2(async () => (await h.control.get(HALT_KEY))?.operation === 'PUT');
      const doc = (await h.control.get(HALT_KEY))!.json<{ reason: string; by: string }>();
      expect(doc.by).toBe('risk-aggregator');
      expect(doc.reason).toMatch(/drawdown 12\.50 %/);
    } finally {
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });
});

async function until2(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
