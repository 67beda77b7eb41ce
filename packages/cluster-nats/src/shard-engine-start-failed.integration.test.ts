/**
 * engine.start() fails (a venue's instruments cannot be loaded, an execution client refuses to
 * start). `run` starts the shard first, so the shard has joined and holds leases by then. An
 * engine that failed before restoring its journal stays `restored` false, and the shard hands
 * nothing over until it is true: a shard left running (its process not exiting: a stop that
 * hangs, an embedder that goes on) renewed its leases for good, and its symbols were traded by
 * nobody. Now a failed engine.start() stops the shard as a SIGTERM does (`run` tells it through
 * ClusterShard.engineStartFailed, core API 1.13: core's run-engine-start-failed.test.ts checks
 * that run calls it): before the restore the keys are left to expire by max_age (what the journal
 * holds is unknown), after it they are deleted as at a clean stop; either way the symbols go to
 * the other shards (docs/scale-out.md, "Failure cases").
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster, type ClusterHandles } from './connect.js';
import { leaseKey } from './names.js';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY = leaseKey('sim', 'BTCUSDT');

/** An engine whose start() fails, after restoring its journal (an empty one) or before. */
function failingEngine(restoresFirst: boolean) {
  const engine = {
    started: false, restored: false, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    markHalfTicks: () => undefined, onFeedError: () => {},
    async start(): Promise<void> {
      if (restoresFirst) engine.restored = true;
      throw new Error(restoresFirst ? 'sim: execution client refused to start' : 'sim: loading instruments failed (HTTP 503)');
    },
  };
  return engine;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function keys(kv: ClusterHandles['leases']): Promise<string[]> {
  const out: string[] = [];
  for await (const k of await kv.keys()) out.push(k);
  return out;
}

/** `run`'s order: shard.start(engine), then engine.start(), which fails, then shard.engineStartFailed(err); nothing calls shard.stop(). */
async function failedStart(name: string, restoresFirst: boolean) {
  const cfg = { ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
  const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
  const observer = await openCluster(cfg, 'other-shard');
  const engine = failingEngine(restoresFirst);
  await shard.start(engine as never);
  // A brand-new bucket: a lease lifetime (1.2 s) of quarantine first.
  await until('s1 taking its lease', async () => (await observer.leases.get(KEY))?.operation === 'PUT', 20_000);
  const failure = await engine.start().then(() => undefined, (err: unknown) => err);
  expect(String(failure)).toMatch(/failed|refused/);
  shard.engineStartFailed(failure);
  const closed = () => (shard as unknown as { h?: { nc: { isClosed(): boolean } } }).h?.nc.isClosed() === true;
  return { shard, observer, closed };
}

describe('engine.start() failing after the shard joined', () => {
  it('before the restore: the shard leaves, its lease expires by max_age and the symbol goes to another shard', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const { shard, observer, closed } = await failedStart('startfailed', false);
    try {
      // A lease lifetime (1.2 s) after its last renewal, and more: renewed every 300 ms, it would never be.
      await until('sim.BTCUSDT free for another shard', () => observer.leases.create(KEY, JSON.stringify({ shard: 's2' })).then(() => true, () => false), 15_000);
      await until('s1 closing its connection', closed, 15_000);
      expect(await keys(observer.members), 's1 still a member').toEqual([]);
    } finally {
      await shard.stop();
      await observer.nc.close();
    }
  });

  it('after the restore: the shard leaves as at a clean stop (a flat symbol is let go at once)', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const { shard, observer, closed } = await failedStart('startfailedrestored', true);
    try {
      await until('s1 closing its connection', closed, 15_000);
      expect(await keys(observer.leases), 'a flat symbol without orders is deleted, not left to expire').toEqual([]);
      expect(await keys(observer.members), 's1 still a member').toEqual([]);
    } finally {
      await shard.stop();
      await observer.nc.close();
    }
  });
});
