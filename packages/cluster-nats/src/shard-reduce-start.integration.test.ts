/**
 * a shard that starts while the cluster is REDUCING (the aggregator's `reduce` key
 * is set) returns from start() with its `cluster_reducing` gate open: unlike `halt`, which
 * start() reads before it returns (docs/scale-out.md: "the engine passes market data to
 * strategies before it counts as started"), `reduce` is only watched, and the watch's first
 * delivery lands some time later. Until then orders that add exposure pass, and the first
 * epoch's budget request is not refused for REDUCING either.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, type OrderIntent, type RiskContext } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { REDUCE_KEY } from './names.js';
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

const buy: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't' };

describe('a shard starting while the cluster is REDUCING', () => {
  it('refuses an order that adds exposure as soon as start() has returned', { timeout: 30_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'reducestart', servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const op = await openCluster(cfg, 'risk-aggregator');
    await op.control.put(REDUCE_KEY, JSON.stringify({ reason: 'portfolio VaR 9000 > cluster.max_var 5000', by: 'risk-aggregator', ts: 1 }));
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new ManualClock() as never });
    const engine = fakeEngine();
    try {
      await shard.start(engine as never);
      const gate = shard.riskChecks.find((c) => c.name === 'cluster_reducing')!;
      expect(gate.check(buy, engine as unknown as RiskContext)).toMatchObject({ ok: false, reason: 'RISK_STATE' });
      // Cleared by the aggregator: the watch (whose first delivery repeated the record read) opens it.
      await op.control.delete(REDUCE_KEY);
      const end = Date.now() + 10_000;
      while (!gate.check(buy, engine as unknown as RiskContext).ok) {
        if (Date.now() > end) throw new Error('REDUCING never cleared');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await shard.stop();
      await op.nc.close();
    }
  });
});
