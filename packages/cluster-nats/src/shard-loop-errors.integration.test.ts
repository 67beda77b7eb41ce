/**
 * A shard's background loops (the state publisher on its timer, the lease and budget round) that
 * throw are counted (cwts_errors_total{component}, through the engine) and run again at their next
 * interval: an exception thrown from a timer callback or an unhandled rejection of the round is a
 * process fault to `run` (the engine HALTs and the process stops), which a valuation error once
 * caused for a whole cluster (an instrument finer than 1e-18 quote units, exposure.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();

/** An engine that cannot list its instruments: every valuation (state, budget round) throws. */
function failingEngine(reported: { component: string; message: string }[]) {
  return {
    started: true, restored: true, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => {
      throw new RangeError('valuation failed');
    },
    instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    onFeedError: (component: string, message: string) => reported.push({ component, message }),
  };
}

describe('shard background loops that throw', () => {
  it('count the failure through the engine and keep running, with no process fault', { timeout: 30_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'loopfail', servers: [nats.url()], takeover_ms: 2000, publish_interval_ms: 50, max_total_position: 1000 }), shard_id: 's1', budget_release_ms: 2000 };
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    const reported: { component: string; message: string }[] = [];
    const faults: unknown[] = [];
    const onFault = (err: unknown) => faults.push(err);
    process.on('uncaughtException', onFault);
    process.on('unhandledRejection', onFault);
    try {
      await shard.start(failingEngine(reported) as never);
      const count = (c: string) => reported.filter((r) => r.component === c).length;
      const end = Date.now() + 20_000;
      // Two of each: the loops ran again after a failure.
      while (count('cluster:state') < 2 || count('cluster:round') < 2) {
        if (faults.length > 0) throw new Error(`a loop's failure reached the process (${faults.length} uncaught): ${String(faults[0])}`);
        if (Date.now() > end) throw new Error(`failures not reported: ${JSON.stringify(reported)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(reported.find((r) => r.component === 'cluster:state')!.message).toMatch(/state publish failed.*valuation failed/);
      expect(reported.find((r) => r.component === 'cluster:round')!.message).toMatch(/lease and budget round failed.*valuation failed/);
    } finally {
      await shard.stop();
      process.off('uncaughtException', onFault);
      process.off('unhandledRejection', onFault);
    }
    expect(faults).toEqual([]);
  });
});
