/**
 * a clean stop deletes every lease at once, even for a symbol on which the stopping
 * shard's orders are still working at the venue (`[system] on_shutdown = "keep"`, or cancels the
 * venue did not confirm within the engine's 5 s wait: exit code 3). Another shard creates the key
 * at its next tick and trades the symbol while those orders can still fill. A handover, by
 * contrast, waits for the shard's orders on the symbol to be gone before it deletes the key.
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { leaseKey } from './names.js';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();

describe('a shard stopping with orders still working', () => {
  it('does not hand the symbol to another shard while its own orders on it are open', { timeout: 30_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'stopopen', servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const working = [{ clientOrderId: 'c1', exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', qty: 1, filledQty: 0, price: 100 }];
    const engine = {
      started: true, restored: true, halt: () => {}, cancel: () => true, positions: { qty: () => 0 },
      // the engine has stopped; on_shutdown = keep (or a cancel the venue has not confirmed): still open
      openOrders: (ex: string, sym: string) => working.filter((o) => o.exchange === ex && o.symbol === sym),
      allOpenOrders: () => working,
      allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
      totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    };
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    const observer = await openCluster(cfg, 'other-shard');
    try {
      await shard.start(engine as never);
      const key = leaseKey('sim', 'BTCUSDT');
      const end = Date.now() + 10_000; // a brand-new bucket: a lease lifetime (1.2 s) of quarantine first
      while ((await observer.leases.get(key))?.operation !== 'PUT') {
        if (Date.now() > end) throw new Error('no lease taken');
        await new Promise((r) => setTimeout(r, 50));
      }
      await shard.stop();
      // Right after the stop another shard's next tick tries kv.create on the key.
      const taken = await observer.leases.create(key, JSON.stringify({ shard: 's2' })).then(() => true, () => false);
      expect(taken, 'another shard took sim.BTCUSDT while s1 still has an order working on it').toBe(false);
      // The key is left to expire by max_age (the lease lifetime): the venue gets that long more.
      expect((await observer.leases.get(key))?.json<{ shard: string }>().shard).toBe('s1');
    } finally {
      await observer.nc.close();
    }
  });
});
