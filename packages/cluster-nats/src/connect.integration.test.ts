import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const missing = nats.missing;

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
});
