/**
 * a NATS server restarted with an empty store (replicas = 1 lost its disk, an
 * emptyDir, a replaced node). docs/scale-out.md says to restart the aggregator with it, which
 * recreates the buckets (openCluster): the running shards then take their leases again and trade,
 * but their HALT watch never comes back, so a global HALT never reaches them. And a REDUCING a
 * running shard observed before the loss stayed in force for good: the recreated control bucket
 * has no `reduce` record, and the aggregator deletes only a record it sees, while a shard started
 * now is not REDUCING. A HALT observed before the loss stays in force (docs/scale-out.md).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock, type OrderIntent, type RiskContext } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { haltCluster, resumeCluster } from './aggregator.js';
import { openCluster } from './connect.js';
import { HALT_KEY, REDUCE_KEY } from './names.js';
import { NatsShard } from './shard.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();

function fakeEngine() {
  const halts: string[] = [];
  return {
    started: true, restored: true, halts, halt: (r: string) => halts.push(r), openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
  };
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe('NATS restarted with its store lost', () => {
  it('a HALT broadcast after the buckets were recreated still reaches a running shard', { timeout: 120_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    const cfg = { ...clusterConfigSchema.parse({ name: 'storeloss', servers: [server.url], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const control = { cluster: cfg, logger: silentLogger(), clock: new ManualClock(1) as never };
    const engine = fakeEngine();
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    await shard.start(engine as never);
    const leaseKeys = async (h: Awaited<ReturnType<typeof openCluster>>) => {
      const out: string[] = [];
      for await (const k of await h.leases.keys()) out.push(k);
      return out;
    };
    let op: Awaited<ReturnType<typeof openCluster>> | undefined;
    try {
      // Normal life first: a HALT reaches the shard, an operator resumes.
      await haltCluster(control, 'first');
      expect(await waitFor(() => engine.halts.length === 1, 10_000)).toBe(true);
      await resumeCluster(control);

      // The server restarts on the same port with an empty store.
      const port = server.port;
      await server.stop();
      server = await startNatsServer({ port, dir: mkdtempSync(join(tmpdir(), 'cwts-nats-')) });
      // "restart the aggregator with it": its openCluster recreates the buckets and the stream.
      op = await openCluster(cfg, 'risk-aggregator');
      // The shard trades again: it holds its lease in the new bucket (after its quarantine).
      expect(await waitFor(async () => (await leaseKeys(op!)).includes('sim.BTCUSDT'), 20_000)).toBe(true);

      // Now the global kill switch.
      await haltCluster(control, 'drawdown after the NATS incident');
      const reached = await waitFor(() => engine.halts.length === 2, 20_000);
      expect(reached, 'the running shard never saw the HALT (its halt watch died with the old store)').toBe(true);
      const gate = shard.riskChecks.find((c) => c.name === 'cluster_halt')!;
      expect(gate.check({} as never, {} as never)).toMatchObject({ ok: false, reason: 'KILL_SWITCH' });
    } finally {
      await op?.nc.close();
      await shard.stop();
      await server.stop();
    }
  });

  it('a REDUCING observed before the loss is cleared in the recreated control bucket (as a shard started now has none); a HALT stays in force', { timeout: 120_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    let server: NatsServer = await startNatsServer();
    const cfg = { ...clusterConfigSchema.parse({ name: 'reduceloss', servers: [server.url], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const mk = (id: string) => new NatsShard({ cluster: { ...cfg, shard_id: id }, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    const buy: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't' };
    const opens = (shard: NatsShard, name: string, engine: ReturnType<typeof fakeEngine>) => () => shard.riskChecks.find((c) => c.name === name)!.check(buy, engine as unknown as RiskContext).ok;
    const e1 = fakeEngine();
    const s1 = mk('s1');
    await s1.start(e1 as never);
    let s2: NatsShard | undefined;
    let op: Awaited<ReturnType<typeof openCluster>> | undefined;
    try {
      const reduceOpen1 = opens(s1, 'cluster_reducing', e1);
      const haltOpen1 = opens(s1, 'cluster_halt', e1);
      op = await openCluster(cfg, 'risk-aggregator');
      await op.control.put(REDUCE_KEY, JSON.stringify({ reason: 'portfolio VaR 9000 > cluster.max_var 5000', by: 'risk-aggregator', ts: 1 }));
      await op.control.put(HALT_KEY, JSON.stringify({ reason: 'before the incident', by: 'operator', ts: 1 }));
      expect(await waitFor(() => !reduceOpen1() && !haltOpen1(), 10_000)).toBe(true);
      await op.nc.close();
      op = undefined;

      // The server restarts on the same port with an empty store; the aggregator's restart recreates the buckets.
      const port = server.port;
      await server.stop();
      server = await startNatsServer({ port, dir: mkdtempSync(join(tmpdir(), 'cwts-nats-')) });
      op = await openCluster(cfg, 'risk-aggregator');
      expect(await op.control.get(REDUCE_KEY)).toBeNull();

      // A shard started now is not REDUCING ...
      const e2 = fakeEngine();
      s2 = mk('s2');
      await s2.start(e2 as never);
      expect(opens(s2, 'cluster_reducing', e2)()).toBe(true);
      // ... nor, once it found the bucket recreated, is the shard that ran through the loss.
      expect(await waitFor(reduceOpen1, 20_000), 's1 stayed REDUCING on a record of the lost store').toBe(true);
      // Its HALT stays in force (the engine stays HALTED until resumed locally anyway).
      expect(haltOpen1()).toBe(false);

      // The aggregator, its VaR still over, writes `reduce` again: the shard's new watch sees it.
      await op.control.put(REDUCE_KEY, JSON.stringify({ reason: 'portfolio VaR 9000 > cluster.max_var 5000', by: 'risk-aggregator', ts: 2 }));
      expect(await waitFor(() => !reduceOpen1(), 10_000)).toBe(true);
    } finally {
      await s2?.stop();
      await s1.stop();
      await op?.nc.close();
      await server.stop();
    }
  });
});
