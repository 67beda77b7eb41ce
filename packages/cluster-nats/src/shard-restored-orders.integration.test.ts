/**
 * Open orders on a symbol this shard does not lease. A shard restarted after a crash (or after a
 * stop whose cancels the venue did not confirm: exit code 3, keys left to expire) restores from
 * its journal an order still working at the venue, on a symbol another shard leased meanwhile.
 * The shard cancelled orders only on a lease event (lost / releasing / released) of a lease it
 * held in this process, so the restored order stayed working while the other shard traded the
 * symbol: two shards with live orders on one symbol. Likewise a lease lost while the engine was
 * still restoring cancelled nothing (the engine was empty then), and the orders restored later
 * stayed. Now every lease round, once the engine restored its journal, cancels the open orders on
 * the symbols it neither holds nor hands over, once per order while the cancel is pending
 * (docs/scale-out.md, "Failure cases").
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

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface WorkingOrder {
  clientOrderId: string;
  exchange: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: number;
  filledQty: number;
  price: number;
  status: 'open' | 'pending_cancel';
}

/** The parts of the engine a shard touches. A cancel marks the order pending until the test (the venue) answers. */
function fakeEngine(restored: boolean) {
  const working: WorkingOrder[] = [];
  const cancels: string[] = [];
  const engine = {
    started: true, restored, isStopping: false, halt: () => {},
    cancel: (id: string) => {
      cancels.push(id);
      const o = working.find((x) => x.clientOrderId === id);
      if (o) o.status = 'pending_cancel';
      return o !== undefined;
    },
    positions: { qty: () => 0 },
    openOrders: (ex: string, sym: string) => working.filter((o) => o.exchange === ex && o.symbol === sym),
    allOpenOrders: () => working,
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    markHalfTicks: () => undefined, onFeedError: () => {},
  };
  const order = (clientOrderId: string, symbol: string): WorkingOrder => ({ clientOrderId, exchange: 'sim', symbol, side: 'buy', qty: 1, filledQty: 0, price: 100, status: 'open' });
  return { engine, working, cancels, order };
}

/**
 * Another shard holding `key` (written over whoever holds it: s1's next renewal is refused) and
 * renewing it until stopped, every 100 ms: the key lives 1200 ms, so only a stall of this process
 * of over a second (a loaded machine) lets it expire and s1 take it.
 */
function holdLease(h: ClusterHandles, key: string, shard: string) {
  const value = () => JSON.stringify({ shard, instance: `${shard}-1`, ts: Date.now() });
  let on = true;
  const held = (async () => {
    let rev = await h.leases.put(key, value());
    while (on) {
      await sleep(100);
      rev = await h.leases.update(key, value(), rev);
    }
  })();
  return { held, stop: async () => { on = false; await held.catch(() => {}); } };
}

const shardFor = (cfg: ReturnType<typeof cfgFor>) =>
  new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });

function cfgFor(name: string) {
  // lease lifetime 1200 ms, renewed every 300 ms
  return { ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
}

describe('open orders on a symbol the shard does not lease', () => {
  it('a restored order on a symbol another shard holds is cancelled, once while its cancel is pending; orders on its own symbols stay', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = cfgFor('restoredorders1');
    const btc = leaseKey('sim', 'BTCUSDT');
    const eth = leaseKey('sim', 'ETHUSDT');
    // s2 took sim.BTCUSDT while s1 was down (s1's key expired), and keeps renewing it.
    const s2 = await openCluster(cfg, 's2');
    const other = holdLease(s2, btc, 's2');
    await until('s2 holding sim.BTCUSDT', async () => (await s2.leases.get(btc))?.json<{ shard: string }>().shard === 's2');
    // s1's engine restored its journal: an order of the previous run, reconciled as still open at the venue.
    const { engine, working, cancels, order } = fakeEngine(true);
    working.push(order('prev-run-1', 'BTCUSDT'));
    const shard = shardFor(cfg);
    try {
      await shard.start(engine as never);
      await until('s1 cancelling its restored order on sim.BTCUSDT, which s2 trades', () => cancels.includes('prev-run-1'), 5000);
      await until('s1 holding sim.ETHUSDT', async () => (await s2.leases.get(eth))?.json<{ shard: string }>().shard === 's1');
      // A strategy's order on the symbol s1 holds.
      working.push(order('mine-1', 'ETHUSDT'));
      // ~7 lease rounds with the cancel pending (no answer from the venue yet)
      await sleep(2000);
      expect(cancels.filter((id) => id === 'prev-run-1'), 'the cancel was sent again while pending').toHaveLength(1);
      // The venue refused the cancel (a rate limit): the order works again, and is cancelled again.
      working.find((o) => o.clientOrderId === 'prev-run-1')!.status = 'open';
      await until('the refused cancel sent again', () => cancels.filter((id) => id === 'prev-run-1').length === 2, 5000);
      // Confirmed: gone.
      working.splice(working.findIndex((o) => o.clientOrderId === 'prev-run-1'), 1);
      await sleep(1000);
      expect((await s2.leases.get(btc))?.json<{ shard: string }>().shard, 's2 still holds sim.BTCUSDT').toBe('s2');
      expect(cancels, 'an order on a symbol s1 holds was cancelled').not.toContain('mine-1');
      expect(cancels).toEqual(['prev-run-1', 'prev-run-1']);
    } finally {
      await other.stop();
      await shard.stop();
      await s2.nc.close();
    }
  });

  it('a lease lost while the engine restores: the orders restored afterwards are cancelled', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = cfgFor('restoredorders2');
    const btc = leaseKey('sim', 'BTCUSDT');
    const s2 = await openCluster(cfg, 's2');
    // run hands the shard an engine still loading the venues' instruments: nothing restored, no order known.
    const { engine, working, cancels, order } = fakeEngine(false);
    const shard = shardFor(cfg);
    const leaseEvents: { kind: string; key: string }[] = [];
    const sub = s2.nc.subscribe(s2.names.subject('lease', 's1'), { callback: (_err, m) => void leaseEvents.push(m.json()) });
    let other: ReturnType<typeof holdLease> | undefined;
    try {
      await shard.start(engine as never);
      await until('s1 holding sim.BTCUSDT', async () => (await s2.leases.get(btc))?.json<{ shard: string }>().shard === 's1');
      // s1 loses the lease (its renewal refused: s2 holds the key now) while its engine is still empty.
      other = holdLease(s2, btc, 's2');
      await until('s1 losing sim.BTCUSDT', () => leaseEvents.some((e) => e.key === btc && e.kind === 'lost'));
      expect(cancels, 'nothing to cancel: the engine is empty').toEqual([]);
      // The restore brings back an order of the previous run still working at the venue.
      working.push(order('prev-run-2', 'BTCUSDT'));
      engine.restored = true;
      await until('s1 cancelling the restored order on sim.BTCUSDT, which s2 holds', () => cancels.includes('prev-run-2'), 5000);
      expect((await s2.leases.get(btc))?.json<{ shard: string }>().shard).toBe('s2');
    } finally {
      sub.unsubscribe();
      await other?.stop();
      await shard.stop();
      await s2.nc.close();
    }
  });
});
