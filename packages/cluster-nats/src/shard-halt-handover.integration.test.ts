/**
 * A handover started while the cluster is HALTed, on nats-server. The cluster_halt gate (and the
 * engine's own HALTED state, until resumed locally) refuse every order, reducing ones included,
 * so the handover's wait for a flat position could not succeed: after 3 x takeover_ms the shard
 * let the symbol go with its position, which stayed stranded here (never taken back for it) while
 * the new owner traded the symbol once the HALT was lifted. A shard joining during a HALT (a pod
 * restarted by k8s) stranded every position the others held on the symbols it was assigned. Now
 * the shard tells its lease manager it cannot flatten while HALTed: the handover waits, and starts
 * once the shard is resumed (docs/scale-out.md, "Failure cases"; leases-halt-handover.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster } from './connect.js';
import { HALT_KEY, leaseKey } from './names.js';
import { assignKeys } from './rendezvous.js';
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

describe('a handover during a cluster HALT', () => {
  it('does not let a symbol go with a position the HALT keeps it from flattening', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const cfg = { ...clusterConfigSchema.parse({ name: 'halthandover', servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 };
    const key = leaseKey('sim', 'BTCUSDT');
    // a newcomer the assignment gives sim.BTCUSDT to
    const newcomer = Array.from({ length: 64 }, (_, i) => `s${i + 2}`).find((m) => assignKeys([key], ['s1', m]).get(key) === m)!;
    const op = await openCluster(cfg, 'operator');
    let halted = false;
    let position = 5;
    const engine = {
      started: true, restored: true, isStopping: false,
      halt: () => { halted = true; },
      get riskState() { return { state: halted ? 'HALTED' : 'ACTIVE' }; },
      cancel: () => true, openOrders: () => [], allOpenOrders: () => [],
      positions: { qty: (_ex: string, sym: string) => (sym === 'BTCUSDT' ? position : 0) }, // a position the HALT keeps here
      allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
      totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, book: () => undefined,
      markHalfTicks: () => undefined, onFeedError: () => {},
    };
    const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
    const leaseEvents: { kind: string; key: string; why: string }[] = [];
    const sub = op.nc.subscribe(op.names.subject('lease', 's1'), { callback: (_err, m) => void leaseEvents.push(m.json()) });
    let beating = true;
    let beats: Promise<void> | undefined;
    try {
      await shard.start(engine as never);
      await until('s1 holding the symbol', async () => (await op.leases.get(key))?.json<{ shard?: string }>().shard === 's1');
      // The operator HALTs the cluster; s1 applies it (its engine is HALTED: no order, reducing or not).
      await op.control.put(HALT_KEY, JSON.stringify({ reason: 'operator halt', by: 'operator', ts: Date.now() }));
      await until('s1 halted', () => halted);
      // A shard joins while the HALT stands (a pod restarted meanwhile) and keeps its member key alive.
      beats = (async () => {
        while (beating) {
          await op.members.put(newcomer, JSON.stringify({ shard: newcomer, instance: `${newcomer}-1`, epoch: `${newcomer}-1.1`, ts: Date.now(), keys: [key] }));
          await sleep(200);
        }
      })();
      // handover wait (3 x takeover = 6 s) and some rounds more
      await sleep(9000);
      const released = leaseEvents.filter((e) => e.key === key && e.kind === 'released').map((e) => e.why);
      expect(released, `s1 let ${key} go to ${newcomer} during the HALT with 5 lots it could not flatten (stranded there)`).toEqual([]);
      expect((await op.leases.get(key))?.json<{ shard?: string }>().shard, 's1 keeps renewing the lease').toBe('s1');
      // --resume: the key goes, the cluster_halt gate opens; s1 still HALTED until resumed through its control endpoint.
      await op.control.delete(HALT_KEY);
      await sleep(1000);
      expect(leaseEvents.filter((e) => e.key === key && e.kind !== 'acquired'), 'a handover started while s1 is still HALTED locally').toEqual([]);
      // Resumed here: the handover starts, reducing orders flatten the position, the symbol goes as flat.
      halted = false;
      await until('the handover starting', () => leaseEvents.some((e) => e.key === key && e.kind === 'releasing'));
      position = 0;
      await until(`${key} handed over`, () => leaseEvents.some((e) => e.key === key && e.kind === 'released'));
      expect(leaseEvents.filter((e) => e.key === key && e.kind === 'released').map((e) => e.why)).toEqual([`handed over to ${newcomer}`]);
    } finally {
      beating = false;
      await beats?.catch(() => {});
      sub.unsubscribe();
      await shard.stop();
      await op.nc.close();
    }
  });
});
