/**
 * SIGTERM while the shard is still starting. `run` registers its signal handlers
 * before `shard.start(engine)`, and its stop calls `shard.stop()` at once; start() still has
 * openCluster (connect, buckets, stream) to await. stop() finds nothing to stop; start() then
 * goes on, starts the lease and state timers, takes leases and renews them for good: a stopped
 * process that never exits (its intervals and NATS connection keep it alive) and holds symbols
 * that nobody trades.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();

function fakeEngine() {
  return {
    started: false, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
  };
}

describe('a shard stopped while it starts', () => {
  it('takes no lease and leaves nothing running once stop() has returned', { timeout: 30_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'stopstart', servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'] }] } } as never, logger: silentLogger(), clock: new ManualClock() as never });
    const starting = shard.start(fakeEngine() as never);
    await shard.stop(); // SIGTERM during startup
    await starting.catch(() => {}); // whatever start() does now, it must not bring the shard up
    await new Promise((r) => setTimeout(r, 2000)); // several lease rounds (every 300 ms)
    const observer = await openCluster(cfg, 'observer');
    try {
      const keys = async (kv: typeof observer.leases) => {
        const out: string[] = [];
        for await (const k of await kv.keys()) out.push(k);
        return out;
      };
      const leases = await keys(observer.leases);
      const members = await keys(observer.members);
      const timers = (shard as unknown as { timers: unknown[] }).timers.length;
      const connected = !(shard as unknown as { h?: { nc: { isClosed(): boolean } } }).h?.nc.isClosed();
      expect(leases).toEqual([]);
      expect(members).toEqual([]);
      expect(connected).toBe(false);
      expect(timers).toBe(0); // no lease or state loop was ever started
    } finally {
      await observer.nc.close();
      await (shard as unknown as { h?: { nc: { close(): Promise<void> } } }).h?.nc.close();
      for (const t of (shard as unknown as { timers: NodeJS.Timeout[] }).timers) clearInterval(t);
    }
  });
});
