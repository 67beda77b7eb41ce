/**
 * A shard's stop() (called by `run` on SIGTERM after the engine stopped) ends within its deadline
 * whatever NATS does ("Never throws", and SIGTERM exits 0 inside the service manager's 30 s stop
 * grace), and a clean stop with NATS up still deletes the leases and the member key at once.
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { NatsShard, STOP_DEADLINE_MS } from './shard.js';
import { natsServerMissing, startNatsServer } from '../test/nats-server.js';

const missing = natsServerMissing();
const SYMBOLS = Array.from({ length: 12 }, (_, i) => `S${i}USDT`);

function fakeEngine() {
  return {
    started: true, restored: true, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
  };
}

/** A shard on `url` holding all 12 symbols (takeover_ms 10000: every KV call times out after 3 s). */
async function shardHoldingAll(url: string, name: string) {
  const cfg = { ...clusterConfigSchema.parse({ name, servers: [url], takeover_ms: 10_000 }), shard_id: 's1', budget_release_ms: 10_000 };
  const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: SYMBOLS }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
  await shard.start(fakeEngine() as never);
  const observer = await openCluster(cfg, 'observer');
  const keys = async (kv: typeof observer.leases) => {
    const out: string[] = [];
    for await (const k of await kv.keys()) out.push(k);
    return out;
  };
  const end = Date.now() + 30_000; // a brand-new lease bucket is quarantined for a lease lifetime (6 s) first
  while ((await keys(observer.leases)).length < SYMBOLS.length) {
    if (Date.now() > end) throw new Error('the shard did not take every symbol');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { shard, observer, keys };
}

describe('shard stop', () => {
  // Deleting 12 leases one after another, each waiting the KV timeout, then the budget and the
  // member key, took 40 s with the server gone: SIGTERM ended in SIGKILL.
  it('returns within its deadline when the NATS server went away (leases left to expire)', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const server = await startNatsServer();
    try {
      const { shard, observer } = await shardHoldingAll(server.url, 'stophang');
      await observer.nc.close();
      await server.stop(); // NATS lost (node failure, network partition) ... then SIGTERM
      const t0 = performance.now();
      // Far above the deadline, far below what one timeout per lease adds up to.
      const done = await Promise.race([shard.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), STOP_DEADLINE_MS + 15_000))]);
      console.log(`stop with NATS gone: ${done} after ${(performance.now() - t0).toFixed(0)} ms`);
      expect(done).toBe('stopped');
    } finally {
      await server.stop();
    }
  });

  // A server that stopped answering without closing the connection (SIGSTOP: a hung process, a
  // black-holed network): the client does not know it is down, so only the deadline ends stop().
  it('returns within its deadline when the NATS server stops answering but the connection stays open', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const server = await startNatsServer();
    try {
      const { shard, observer } = await shardHoldingAll(server.url, 'stopfrozen');
      await observer.nc.close();
      server.child.kill('SIGSTOP');
      const t0 = performance.now();
      const done = await Promise.race([shard.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), STOP_DEADLINE_MS + 15_000))]);
      console.log(`stop with NATS frozen: ${done} after ${(performance.now() - t0).toFixed(0)} ms`);
      expect(done).toBe('stopped');
    } finally {
      server.child.kill('SIGCONT');
      await server.stop();
    }
  });

  it('with NATS up deletes every lease and its member key before it returns', { timeout: 90_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const server = await startNatsServer();
    try {
      const { shard, observer, keys } = await shardHoldingAll(server.url, 'stopclean');
      try {
        expect(await keys(observer.members)).toEqual(['s1']);
        await shard.stop();
        expect(await keys(observer.leases)).toEqual([]);
        expect(await keys(observer.members)).toEqual([]);
      } finally {
        await observer.nc.close();
      }
    } finally {
      await server.stop();
    }
  });
});
