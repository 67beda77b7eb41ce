/**
 * SIGTERM while the engine restores its journal. `run` starts the shard before the engine, which
 * restores its journal (positions, open orders) only after every venue loaded its instruments;
 * meanwhile the shard renews and takes leases. A stop then read every symbol as without open
 * orders (the engine, empty, says 0) and deleted every key: another shard took the symbols at
 * its next tick, while the journal may hold positions there and orders of an earlier run still
 * working at the venue (never reconciled: the restore did not happen). Now the keys are left to
 * expire by max_age, as for a symbol with orders open at a clean stop: no other shard takes one
 * before this shard has been gone a lease lifetime (docs/scale-out.md, "Symbol leases").
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** As `run` hands it to shard.start(): its start() still loading the venues' instruments, nothing restored. */
function restoringEngine() {
  return {
    started: false, restored: false, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    markHalfTicks: () => undefined, onFeedError: () => {},
  };
}

describe('a shard stopped while its engine restores its journal', () => {
  it('deletes no lease: another shard takes the symbol only once the key expired', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'stoprestore', servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    const observer = await openCluster(cfg, 'other-shard');
    const key = leaseKey('sim', 'BTCUSDT');
    // Every record the lease bucket stores, in order: a DEL (or PURGE) of the key is s1 letting it
    // go at once; a key expired by max_age leaves no record. Independent of how long s1's rounds
    // stall on a loaded machine (a stall past the lease lifetime lets the key expire before the stop).
    const records: { key: string; operation: string; shard?: string }[] = [];
    const w = await observer.leases.watch();
    void (async () => {
      for await (const e of w) records.push({ key: e.key, operation: e.operation, shard: e.operation === 'PUT' ? e.json<{ shard?: string }>().shard : undefined });
    })();
    try {
      await shard.start(restoringEngine() as never);
      await until('s1 taking its lease', () => records.some((r) => r.key === key && r.operation === 'PUT' && r.shard === 's1'));
      await shard.stop(); // SIGTERM: run stopped the engine first, its restore never ran
      // Stored after anything s1 wrote: once the watch delivers it, it has delivered all of that.
      await observer.leases.put('sentinel', JSON.stringify({ shard: 'observer' }));
      await until('the watch catching up', () => records.some((r) => r.key === 'sentinel'));
      const deleted = records.filter((r) => r.key === key && r.operation !== 'PUT');
      expect(deleted, 's1 let sim.BTCUSDT go at once (another shard takes it at its next tick), not knowing what its journal holds there').toEqual([]);
      // Not held for good: the key expires a lease lifetime (1.2 s) after s1's last renewal.
      await until(`${key} free again`, () => observer.leases.create(key, JSON.stringify({ shard: 's2' })).then(() => true, () => false));
    } finally {
      w.stop();
      await shard.stop();
      await observer.nc.close();
    }
  });
});
