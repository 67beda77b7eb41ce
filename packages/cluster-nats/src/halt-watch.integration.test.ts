import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { HALT_KEY } from './names.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();

// Every shard obeys the global HALT through a watch on the `halt` key (shard.ts): that watch must
// outlive a restart of the server, or a shard would silently stop hearing HALTs.
describe('the HALT watch', () => {
  it('still delivers a HALT written after the server restarted', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    const cfg = { ...clusterConfigSchema.parse({ name: 'hw', servers: [server.url], takeover_ms: 2000 }), shard_id: 'a', budget_release_ms: 2000 };
    const shard = await openCluster(cfg, 'shard');
    const seen: string[] = [];
    const w = await shard.control.watch({ key: HALT_KEY });
    void (async () => { for await (const e of w) seen.push(`${e.operation}:${e.operation === 'PUT' ? e.string() : ''}`); })();
    try {
      await shard.control.put(HALT_KEY, 'first');
      await waitFor(() => seen.includes('PUT:first'));
      await server.stop({ keepStore: true });
      server = await startNatsServer({ port: server.port, dir: server.dir });
      const operator = await openCluster(cfg, 'operator');
      await operator.control.delete(HALT_KEY);
      await operator.control.put(HALT_KEY, 'second');
      await operator.nc.close();
      await waitFor(() => seen.includes('PUT:second'));
      expect(seen).toEqual(['PUT:first', 'DEL:', 'PUT:second']);
    } finally {
      w.stop();
      await shard.nc.close();
      await server.stop();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
