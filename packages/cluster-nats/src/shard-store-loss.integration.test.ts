/**
 * a NATS server restarted with an empty store (replicas = 1 lost its disk, an
 * emptyDir, a replaced node). docs/scale-out.md says to restart the aggregator with it, which
 * recreates the buckets (openCluster): the running shards then take their leases again and trade,
 * but their HALT watch never comes back, so a global HALT never reaches them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { haltCluster, resumeCluster } from './aggregator.js';
import { openCluster } from './connect.js';
import { NatsShard } from './shard.js';
import { natsServerMissing, startNatsServer, type NatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();

function fakeEngine() {
  const halts: string[] = [];
  return {
    started: true, halts, halt: (r: string) => halts.push(r), openOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
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
});
