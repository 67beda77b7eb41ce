/**
 * A shard and the global HALT, on nats-server: the `cluster_halt` gate shuts as soon as the
 * shard sees the `halt` key (before its engine started, if need be), a record it cannot read is
 * still a HALT, and no record, however bad, ends the watch.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, type OrderIntent, type RiskContext } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { HALT_KEY } from './names.js';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();

/** The parts of the engine a shard touches; `started` is set by the test. */
function fakeEngine(started: boolean) {
  const halts: string[] = [];
  return {
    started,
    restored: started,
    halts,
    halt: (r: string) => halts.push(r),
    openOrders: () => [],
    allOpenOrders: () => [],
    cancel: () => true,
    positions: { qty: () => 0 },
    allInstruments: () => [],
    instrument: () => undefined,
    portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }),
    risk: undefined,
    riskState: { state: 'ACTIVE' },
    book: () => undefined,
  };
}

const buy: OrderIntent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't' };

function cfgFor(name: string) {
  return { ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
}

function shardFor(cfg: ReturnType<typeof cfgFor>) {
  return new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new ManualClock() as never });
}

const haltGate = (shard: NatsShard) => shard.riskChecks.find((c) => c.name === 'cluster_halt')!;

describe('a shard and the global HALT', () => {
  it('a HALT set before the shard starts shuts the cluster_halt gate before start() returns, before the engine runs; the engine halts once started', async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = cfgFor('shhalt1');
    const op = await openCluster(cfg, 'operator');
    await op.control.put(HALT_KEY, JSON.stringify({ reason: 'operator halt', by: 'operator', ts: 1 }));
    // engine.start() still running (reconcile, a second venue connecting) while a first venue already streams to strategies.
    const engine = fakeEngine(false);
    const shard = shardFor(cfg);
    await shard.start(engine as never);
    try {
      expect(shard.riskChecks[0]!.name, 'the first of the shard\'s checks').toBe('cluster_halt');
      const ctxOf = engine as unknown as RiskContext;
      expect(haltGate(shard).check(buy, ctxOf)).toEqual({ ok: false, reason: 'KILL_SWITCH', message: 'cluster HALT by operator: operator halt' });
      expect(engine.halts).toEqual([]); // the engine is not running yet: the gate holds the line
      engine.started = true;
      await waitFor(() => engine.halts.length === 1);
      expect(engine.halts).toEqual(['cluster HALT by operator: operator halt']);
      expect(haltGate(shard).check(buy, ctxOf).ok).toBe(false); // still set
      // --resume deletes the key: the gate opens (the engine stays HALTED until resumed locally).
      await op.control.delete(HALT_KEY);
      await waitFor(() => haltGate(shard).check(buy, ctxOf).ok);
      expect(engine.halts).toHaveLength(1);
    } finally {
      await op.nc.close();
      await shard.stop();
    }
  });

  it('a HALT record whose body is JSON null is a HALT ("unreadable HALT record"), and the watch still obeys the next HALT', async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = cfgFor('shhalt2');
    const engine = fakeEngine(true);
    const shard = shardFor(cfg);
    await shard.start(engine as never);
    const op = await openCluster(cfg, 'operator');
    const ctxOf = engine as unknown as RiskContext;
    try {
      expect(haltGate(shard).check(buy, ctxOf).ok).toBe(true);
      await op.control.put(HALT_KEY, 'null');
      await waitFor(() => engine.halts.length === 1);
      expect(engine.halts[0]).toMatch(/^cluster HALT by \?: unreadable HALT record/);
      expect(haltGate(shard).check(buy, ctxOf)).toMatchObject({ ok: false, reason: 'KILL_SWITCH' });
      await op.control.put(HALT_KEY, JSON.stringify({ reason: 'drawdown', by: 'operator', ts: 2 }));
      await waitFor(() => engine.halts.length === 2);
      expect(engine.halts[1]).toBe('cluster HALT by operator: drawdown');
    } finally {
      await op.nc.close();
      await shard.stop();
    }
  });

  it('a record it cannot read while the engine is not started yet is applied once it runs (no exception escapes a timer)', async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = cfgFor('shhalt3');
    const engine = fakeEngine(false);
    const shard = shardFor(cfg);
    await shard.start(engine as never);
    const op = await openCluster(cfg, 'operator');
    const ctxOf = engine as unknown as RiskContext;
    try {
      await op.control.put(HALT_KEY, '[1,2]');
      await waitFor(() => !haltGate(shard).check(buy, ctxOf).ok);
      engine.started = true;
      await waitFor(() => engine.halts.length === 1);
      expect(engine.halts[0]).toMatch(/unreadable HALT record \(\[1,2\]\)/);
    } finally {
      await op.nc.close();
      await shard.stop();
    }
  });
});

/** Polls a condition (the watch delivers asynchronously); fails the test after `ms`. */
async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
