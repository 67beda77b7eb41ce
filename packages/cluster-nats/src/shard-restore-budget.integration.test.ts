/**
 * A shard restarted with the same shard_id within budget_release_ms takes its reservation back
 * (docs/scale-out.md). `run` starts the shard before the engine, and the engine restores its
 * journal (positions) only inside start(), after every venue loaded its instruments (REST for a
 * real venue). Until then the engine is empty, not flat: the shard's rounds once valued its
 * exposure at 0 and gave the reservation backing the journaled positions back to the pool (where
 * another shard could reserve it), and its state messages reported an empty engine to the
 * aggregator (a false drawdown HALT, or REDUCING cleared). A SIGTERM before the restore did the
 * same in stop(). Until `engine.restored` the shard leaves its reservation alone (the new epoch
 * still takes it over) and publishes no state.
 */
import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { COMMON_EXPONENT, quoteToAtoms } from '@cwts/core/risk';
import { skipUnlessRequired } from '@cwts/core/testing';
import { openCluster, type ClusterHandles } from './connect.js';
import { BUDGET_KEY } from './names.js';
import { NatsShard } from './shard.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An engine as `run` hands it to shard.start(): composed, not started (journal not restored yet); `restored` is set by the test. */
function notYetRestoredEngine() {
  return {
    started: false, restored: false, halt: () => {}, openOrders: () => [], allOpenOrders: () => [], cancel: () => true, positions: { qty: () => 0 },
    allInstruments: () => [], instrument: () => undefined, portfolio: { all: () => [], find: () => undefined },
    totals: () => ({ equity: 0n, realized: 0n, unrealized: 0n, fees: 0n }), risk: undefined, riskState: { state: 'ACTIVE' }, book: () => undefined,
    markHalfTicks: () => undefined, onFeedError: () => {},
  };
}

const PREVIOUS_EPOCH = 'previous-instance.1';
const previous = quoteToAtoms(80_000, COMMON_EXPONENT); // what the previous run of s1 held: its positions (80k notional) need it

async function restartedShard(name: string) {
  const cfg = {
    ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: 2000, max_total_position: 100_000, budget_chunk: 10_000, publish_interval_ms: 100 }),
    shard_id: 's1',
    budget_release_ms: 60_000, // keep it for a restart of s1
  };
  const op = await openCluster(cfg, 'risk-aggregator');
  await op.control.put(BUDGET_KEY, JSON.stringify({ limit: quoteToAtoms(100_000, COMMON_EXPONENT).toString(), shards: { s1: previous.toString() }, epochs: { s1: PREVIOUS_EPOCH } }));
  const shard = new NatsShard({ cluster: cfg, loaded: { config: { venues: [{ name: 'sim', symbols: ['BTCUSDT'] }] } } as never, logger: silentLogger(), clock: new SystemClock() as never });
  // s1's reservation as written by this process's epochs (the takeover and what follows).
  const taken: bigint[] = [];
  const w = await op.control.watch({ key: BUDGET_KEY });
  void (async () => {
    for await (const e of w) {
      if (e.operation !== 'PUT') continue;
      const d = e.json<{ shards: Record<string, string>; epochs?: Record<string, string> }>();
      if (d.epochs?.s1 !== PREVIOUS_EPOCH) taken.push(BigInt(d.shards.s1 ?? '0'));
    }
  })();
  const states: unknown[] = [];
  const sub = op.nc.subscribe(op.names.subject('state', 's1'), { callback: (_err, m) => states.push(m.json()) });
  const close = async () => {
    w.stop();
    sub.unsubscribe();
    await shard.stop();
    await op.nc.close();
  };
  return { op, shard, taken, states, close };
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function reservation(op: ClusterHandles): Promise<{ amount: bigint | undefined; epoch: string | undefined }> {
  const d = (await op.control.get(BUDGET_KEY))!.json<{ shards: Record<string, string>; epochs?: Record<string, string> }>();
  return { amount: d.shards.s1 === undefined ? undefined : BigInt(d.shards.s1), epoch: d.epochs?.s1 };
}

describe('a shard restarted within budget_release_ms, its engine not restored yet', () => {
  it('keeps the reservation and publishes no state until the engine has restored its journal, then goes on as usual', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const { shard, taken, states, close } = await restartedShard('restorebudget');
    const engine = notYetRestoredEngine();
    try {
      // run: shard.start(engine), then engine.start() -> venues' loadInstruments (REST) -> journal restore.
      await shard.start(engine as never);
      await until('the new epoch taking the reservation over', () => taken.length > 0);
      // A venue's instrument load taking a few seconds: ~10 lease rounds (every 300 ms), ~30 state intervals.
      await sleep(3000);
      const lowest = taken.reduce((a, b) => (a < b ? a : b));
      expect(lowest, `s1's reservation went from ${previous} to ${lowest} before its engine restored the positions it backs (history ${taken.join(' -> ')})`).toBe(previous);
      expect(states, 'state of an engine that has not restored its journal published').toEqual([]);
      // Restored (this engine holds nothing): the rounds give the idle budget back, and state is published.
      engine.restored = true;
      await until('the idle reservation given back', () => taken[taken.length - 1]! < previous);
      await until('a state published', () => states.length > 0);
    } finally {
      await close();
    }
  });

  it('stopped (SIGTERM) before the engine restored its journal: gives none of the reservation back', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const { op, shard, taken, close } = await restartedShard('restorestop');
    const engine = notYetRestoredEngine();
    try {
      await shard.start(engine as never);
      await until('the new epoch taking the reservation over', () => taken.length > 0);
      const epoch = (await reservation(op)).epoch;
      expect(epoch).not.toBe(PREVIOUS_EPOCH);
      await shard.stop();
      // Left for the shard's next restart, or for the others to reclaim after budget_release_ms.
      expect(await reservation(op)).toEqual({ amount: previous, epoch });
    } finally {
      await close();
    }
  });
});
