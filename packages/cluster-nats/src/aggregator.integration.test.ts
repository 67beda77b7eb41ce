import { describe, expect, it } from 'vitest';
import { SystemClock } from '@cwts/core';
import { clusterConfigSchema, type ClusterConfig } from '@cwts/core/cluster';
import { createLogger } from '@cwts/core/observability';
import { skipUnlessRequired } from '@cwts/core/testing';
import { connect } from '@nats-io/transport-node';
import { resumeCluster, runAggregator } from './aggregator.js';
import { openCluster } from './connect.js';
import { BUDGET_KEY, clusterNames, HALT_KEY, PEAK_KEY, REDUCE_KEY } from './names.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const missing = nats.missing;

const E18 = 10n ** 18n;

describe('risk aggregator', () => {
  it('HALTs every shard when the summed equity draws down past cluster.max_drawdown, and ignores malformed state', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'agg', servers: [nats.url()], publish_interval_ms: 50, max_drawdown: 0.1 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('agg');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, unknown>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let seq = 0;
    const state = (shard: string, equity: bigint) => nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq: ++seq, ts: Date.now(), equity: (equity * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE' }));
    try {
      // The aggregator subscribes to shard state before its first round publishes: once an
      // aggregate arrives, state published from here on reaches it (core NATS keeps no backlog).
      await until2(() => aggregates.length > 0);
      state('s1', 100_000n);
      state('s2', 100_000n);
      nc.publish(names.subject('state', 'evil'), JSON.stringify({ shard: 'evil', equity: 'lots' }));
      await until2(() => aggregates.some((a) => a.shards === 2 && a.rejectedMessages === 1));
      expect(await h.control.get(HALT_KEY)).toBeNull();
      // s2 loses 25 %: the portfolio is down 12.5 % from its peak.
      state('s2', 75_000n);
      await until2(async () => (await h.control.get(HALT_KEY))?.operation === 'PUT');
      const doc = (await h.control.get(HALT_KEY))!.json<{ reason: string; by: string }>();
      expect(doc.by).toBe('risk-aggregator');
      expect(doc.reason).toMatch(/drawdown 12\.50 %/);
    } finally {
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });

  it('publishes the portfolio VaR of all shards\' positions and puts the cluster in REDUCING above cluster.max_var, then clears it', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggvar', servers: [nats.url()], publish_interval_ms: 50, var_sample_ms: 50, var_min_returns: 4, max_var: 50, aggregator_port: 0 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggvar');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until, varConfidence: 0.99 });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let holdings: Record<string, number> = { s1: 600, s2: 400 };
    let tick = 0;
    // The mark of A alternates 100 / 110: returns +10 % and -9.09 %.
    const publisher = setInterval(() => {
      const mark = tick++ % 2 === 0 ? '100' : '110';
      for (const [shard, v] of Object.entries(holdings)) {
        const positions = v === 0 ? [] : [{ exchange: 'sim', symbol: 'A', qty: 1, value: (BigInt(v) * E18).toString() }];
        nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq: tick, ts: Date.now(), equity: (100_000n * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', positions, marks: { 'sim:A': mark } }));
      }
    }, 40);
    try {
      // 1000 long A: the worst period loses 1000 x 1/11 = 90.9 > 50.
      await until2(async () => (await h.control.get(REDUCE_KEY))?.operation === 'PUT');
      const doc = (await h.control.get(REDUCE_KEY))!.json<{ reason: string; by: string; var: number }>();
      expect(doc.by).toBe('risk-aggregator');
      expect(doc.var).toBeCloseTo(1000 / 11, 6);
      // The key is written inside a round; that round's aggregate is published right after it
      // and reaches this subscriber a little later.
      await until2(() => aggregates.some((a) => a.var !== null && a.reducing === true));
      const published = aggregates.filter((a) => a.var !== null);
      expect(published.at(-1)!.var).toMatchObject({ method: 'historical', confidence: 0.99, exposures: { 'sim:A': 1000 }, missing: [] });
      expect(published.at(-1)!.maxVar).toBe(50);
      // The same figures on the aggregator's /metrics (port 0: the URL is in every aggregate).
      const url = published.at(-1)!.metricsUrl as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      let text = '';
      await until2(async () => /^cwts_cluster_reducing 1$/m.test((text = await (await fetch(url)).text())));
      expect(Number(/^cwts_cluster_var (\S+)$/m.exec(text)![1])).toBeCloseTo(1000 / 11, 6);
      expect(text).toMatch(/^cwts_cluster_var_limit 50$/m);
      expect((await (await fetch(url.replace('/metrics', '/status'))).json()).var.exposures).toEqual({ 'sim:A': 1000 });
      // s2 closes and s1 shrinks to 100: VaR 9.1, under the limit: cleared.
      holdings = { s1: 100, s2: 0 };
      await until2(async () => (await h.control.get(REDUCE_KEY))?.operation !== 'PUT');
      // The round that cleared it publishes its figures right after.
      await until2(() => Math.abs((aggregates.at(-1)!.var?.value ?? 0) - 100 / 11) < 1e-6 && aggregates.at(-1)!.reducing === false);
    } finally {
      clearInterval(publisher);
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });
});

describe('risk aggregator: a VaR that leaves an exposed instrument out', () => {
  // An instrument whose mark no fresh state carries loses its return history (a long gap), is
  // listed as `missing` and left out of the VaR: the figure is a lower bound. Clearing REDUCING
  // on it once let the very exposure that caused REDUCING grow again.
  it('keeps REDUCING while the instrument over max_var is only missing from the VaR, and clears it once the VaR covers every exposure', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggvarmissing', servers: [nats.url()], takeover_ms: 1000, publish_interval_ms: 50, var_sample_ms: 50, var_min_returns: 4, max_var: 50 }), shard_id: 'test', budget_release_ms: 1000 };
    const names = clusterNames('aggvarmissing');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until, varConfidence: 0.99 });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let s1: 'holding' | 'dead' | 'flat' = 'holding';
    let tick = 0;
    const pub = (shard: string, positions: unknown[], marks: Record<string, string>) =>
      nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq: tick, ts: Date.now(), equity: (100_000n * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', positions, marks }));
    const publisher = setInterval(() => {
      tick++;
      const a = tick % 2 === 0 ? '100' : '110'; // A: +10 % / -9.09 % each period
      const b = tick % 2 === 0 ? '100' : '100.1'; // B: nearly flat
      // s1: 1000 long A (VaR 90.9 > max_var 50), marks for A and B
      if (s1 === 'holding') pub('s1', [{ exchange: 'sim', symbol: 'A', qty: 1, value: (1000n * E18).toString() }], { 'sim:A': a, 'sim:B': b });
      if (s1 === 'flat') pub('s1', [], { 'sim:A': a, 'sim:B': b });
      // s2: 10 long B, and no mark for A (A not in its config, or its A feed is down)
      pub('s2', [{ exchange: 'sim', symbol: 'B', qty: 1, value: (10n * E18).toString() }], { 'sim:B': b });
    }, 40);
    try {
      await until2(async () => (await h.control.get(REDUCE_KEY))?.operation === 'PUT', 20_000);
      // s1 dies: its 1000 of A stay at the venue and in the VaR's exposures, and no fresh state
      // carries a mark for A any more.
      s1 = 'dead';
      const n0 = aggregates.length;
      const leftOut = () => aggregates.slice(n0).filter((x) => x.var !== null && x.var.missing.includes('sim:A') && x.var.exposures['sim:A'] === undefined);
      await until2(() => leftOut().length >= 10, 20_000);
      expect(leftOut().at(-1)!.var.value).toBeLessThan(50); // the lower bound: B alone
      expect((await h.control.get(REDUCE_KEY))?.operation, 'REDUCING cleared while 1000 of A (VaR 90.9 > 50) are still held').toBe('PUT');
      expect(aggregates.at(-1)!.reducing).toBe(true);
      // s1 comes back flat: every exposure (B) is in the VaR, under the limit: cleared.
      s1 = 'flat';
      await until2(async () => (await h.control.get(REDUCE_KEY))?.operation !== 'PUT', 20_000);
      // The round that cleared it publishes its figures right after.
      await until2(() => aggregates.slice(n0).some((x) => x.reducing === false));
      expect(aggregates.slice(n0).find((x) => x.reducing === false)!.var).toMatchObject({ missing: [], exposures: { 'sim:B': 10 } });
    } finally {
      clearInterval(publisher);
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });
});

describe('risk aggregator: drawdown peak and budget key', () => {
  it('keeps the drawdown peak in the control bucket: a restarted aggregator HALTs on the drawdown from it; --resume resets it', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggpeak', servers: [nats.url()], publish_interval_ms: 50, max_drawdown: 0.1 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggpeak');
    const logger = createLogger({ level: 'silent' });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let equity = 100_000n;
    let seq = 0;
    // The shard publishes no peak of its own: only the stored one can carry the drawdown over a restart.
    const publisher = setInterval(() => {
      nc.publish(names.subject('state', 's1'), JSON.stringify({ shard: 's1', instance: 's1-1', seq: ++seq, ts: Date.now(), equity: (equity * E18).toString(), peak: null, grossExposure: '0', reserved: null, riskState: 'ACTIVE' }));
    }, 20);
    const storedPeak = async () => (await h.control.get(PEAK_KEY))?.json<{ peak: string | null }>().peak;
    const start = () => {
      let stop!: () => void;
      const until = new Promise<void>((r) => (stop = r));
      return { stop, running: runAggregator({ cluster, logger, clock: new SystemClock(), until }) };
    };
    let agg = start();
    try {
      await until2(async () => (await storedPeak()) === (100_000n * E18).toString());
      equity = 92_000n; // 8 %: under cluster.max_drawdown
      await until2(() => aggregates.some((a) => a.equity === (92_000n * E18).toString()));
      agg.stop();
      await agg.running;
      expect(await h.control.get(HALT_KEY)).toBeNull();
      // The aggregator restarts; meanwhile the shard lost more: 15 % from the stored peak.
      equity = 85_000n;
      agg = start();
      await until2(async () => (await h.control.get(HALT_KEY))?.operation === 'PUT');
      expect((await h.control.get(HALT_KEY))!.json<{ reason: string }>().reason).toMatch(/drawdown 15\.00 %/);
      // --resume: the operator accepts the drawdown; the peak restarts at the summed equity and no HALT follows.
      await resumeCluster({ cluster, logger, clock: new SystemClock() });
      await until2(async () => (await storedPeak()) === (85_000n * E18).toString());
      const n = aggregates.length;
      await until2(() => aggregates.length >= n + 3);
      expect(aggregates.at(-1)).toMatchObject({ peak: (85_000n * E18).toString(), drawdown: 0 });
      expect((await h.control.get(HALT_KEY))?.operation ?? null).not.toBe('PUT');
    } finally {
      clearInterval(publisher);
      agg.stop();
      await agg.running;
      await nc.close();
      await h.nc.close();
    }
  });

  it('HALTs the cluster on a budget entry it cannot read (a negative one), counting it as the whole limit', async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggbudget', servers: [nats.url()], publish_interval_ms: 50, max_total_position: 1000 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggbudget');
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    try {
      const limit = (1000n * E18).toString();
      // The sum of the entries (600 - 500 = 100) looks within the limit.
      await h.control.put(BUDGET_KEY, JSON.stringify({ limit, shards: { a: (600n * E18).toString(), b: (-500n * E18).toString() } }));
      await until2(async () => (await h.control.get(HALT_KEY))?.operation === 'PUT');
      const doc = (await h.control.get(HALT_KEY))!.json<{ reason: string; by: string }>();
      expect(doc.by).toBe('risk-aggregator');
      expect(doc.reason).toMatch(/^budget key unreadable: entry of b "-500\d+" is not a non-negative integer/);
      await until2(() => aggregates.some((a) => a.budgetError !== null));
      expect(aggregates.find((a) => a.budgetError !== null)!.reservedInKv).toBe((1600n * E18).toString());
    } finally {
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });
});

describe('risk aggregator: restarted while a shard is dead', () => {
  // The aggregator kept shard state only in memory, fed by a plain subscription: a restart forgot
  // every shard that no longer publishes, although its last state is in the stream and its
  // positions are still at the venue.
  it('still counts the dead shard\'s position in the portfolio VaR (and keeps REDUCING) after the aggregator restarts', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggrestart', servers: [nats.url()], publish_interval_ms: 50, var_sample_ms: 50, var_min_returns: 4, max_var: 50 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggrestart');
    const logger = createLogger({ level: 'silent' });
    const h = await openCluster(cluster, 'test'); // creates the stream, as every shard does
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let alive: Record<string, number> = { s1: 900, s2: 100 };
    let tick = 0;
    const publisher = setInterval(() => {
      const mark = tick++ % 2 === 0 ? '100' : '110';
      for (const [shard, v] of Object.entries(alive)) {
        nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq: tick, ts: Date.now(), equity: (100_000n * E18).toString(), grossExposure: (BigInt(v) * E18).toString(), reserved: null, riskState: 'ACTIVE', positions: [{ exchange: 'sim', symbol: 'A', qty: 1, value: (BigInt(v) * E18).toString() }], marks: { 'sim:A': mark } }));
      }
    }, 40);
    const start = () => {
      let stop!: () => void;
      const until = new Promise<void>((r) => (stop = r));
      return { stop, running: runAggregator({ cluster, logger, clock: new SystemClock(), until, varConfidence: 0.99 }) };
    };
    let agg = start();
    try {
      // 1000 long A over both shards: VaR 90.9 > 50, REDUCING.
      await until2(async () => (await h.control.get(REDUCE_KEY))?.operation === 'PUT');
      // s1 dies (SIGKILL, node lost): its 900 stay at the venue.
      alive = { s2: 100 };
      await new Promise((r) => setTimeout(r, 1000));
      expect((await h.control.get(REDUCE_KEY))?.operation).toBe('PUT');
      // The aggregator is restarted (a deploy, its pod rescheduled).
      agg.stop();
      await agg.running;
      // every aggregate the old aggregator published reaches this subscriber before the flush's
      // answer (one server, in order): none of them is counted as the restarted one's
      await nc.flush();
      const n = aggregates.length;
      agg = start();
      await until2(() => aggregates.slice(n).filter((a) => a.var !== null).length >= 10, 30_000);
      const last = aggregates.at(-1)!;
      expect((await h.control.get(REDUCE_KEY))?.operation, 'REDUCING must not be cleared while the portfolio VaR is still above max_var').toBe('PUT');
      expect(last.var.exposures['sim:A'], 'the dead shard\'s position is still at the venue').toBe(1000);
      expect(aggregates.slice(n).every((a) => a.shards === 2 && a.stale.includes('s1')), 'counted, and stale, from the first round on').toBe(true);
    } finally {
      clearInterval(publisher);
      agg.stop();
      await agg.running;
      await nc.close();
      await h.nc.close();
    }
  });

  it('does not HALT the cluster on a phantom drawdown: a restarted aggregator still counts a dead shard\'s equity', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggrestartdd', servers: [nats.url()], publish_interval_ms: 50, max_drawdown: 0.1 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggrestartdd');
    const logger = createLogger({ level: 'silent' });
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let alive = ['s1', 's2'];
    let seq = 0;
    // Equity never moves: there is no drawdown at all.
    const publisher = setInterval(() => {
      seq++;
      for (const shard of alive) nc.publish(names.subject('state', shard), JSON.stringify({ shard, instance: `${shard}-1`, seq, ts: Date.now(), equity: (100_000n * E18).toString(), peak: (100_000n * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', positions: [] }));
    }, 20);
    const start = () => {
      let stop!: () => void;
      const until = new Promise<void>((r) => (stop = r));
      return { stop, running: runAggregator({ cluster, logger, clock: new SystemClock(), until }) };
    };
    let agg = start();
    try {
      await until2(async () => (await h.control.get(PEAK_KEY))?.json<{ peak: string | null }>().peak === (200_000n * E18).toString());
      alive = ['s2']; // s1 dies; its account and positions are unchanged at the venue
      await new Promise((r) => setTimeout(r, 500));
      expect(await h.control.get(HALT_KEY)).toBeNull();
      agg.stop();
      await agg.running;
      await nc.flush(); // the old aggregator's last aggregates are in before n is taken
      const n = aggregates.length;
      agg = start();
      await until2(() => aggregates.length >= n + 20, 30_000);
      expect((await h.control.get(HALT_KEY))?.operation ?? null, `HALT after restart: ${JSON.stringify((await h.control.get(HALT_KEY))?.json())}`).toBeNull();
      expect(aggregates.at(-1)).toMatchObject({ shards: 2, stale: ['s1'], equity: (200_000n * E18).toString(), drawdown: 0 });
    } finally {
      clearInterval(publisher);
      agg.stop();
      await agg.running;
      await nc.close();
      await h.nc.close();
    }
  });
});

describe('risk aggregator: a reduce record it cannot read', () => {
  // Shards count such a record as REDUCING (shard.ts); the aggregator read it with a throwing
  // `json().by` inside its VaR step, before publishing and before the HALT checks: every round
  // was dropped, and a drawdown past cluster.max_drawdown never HALTed the cluster.
  it('still publishes and HALTs the cluster on max_drawdown while the reduce key holds a record it cannot read, and leaves that record alone', { timeout: 60_000 }, async (ctx) => {
    if (missing) skipUnlessRequired(ctx, 'nats-server', missing);
    const cluster: ClusterConfig = { ...clusterConfigSchema.parse({ name: 'aggbadreduce', servers: [nats.url()], publish_interval_ms: 100, var_sample_ms: 50, max_var: 50, max_drawdown: 0.1 }), shard_id: 'test', budget_release_ms: 10_000 };
    const names = clusterNames('aggbadreduce');
    const h = await openCluster(cluster, 'test');
    const nc = await connect({ servers: nats.url() });
    const aggregates: Record<string, any>[] = [];
    nc.subscribe(names.allOf('aggregate'), { callback: (_e, m) => aggregates.push(m.json()) });
    let stop!: () => void;
    const until = new Promise<void>((r) => (stop = r));
    const running = runAggregator({ cluster, logger: createLogger({ level: 'silent' }), clock: new SystemClock(), until, varConfidence: 0.99 });
    let equity = 100_000n;
    let seq = 0;
    // Flat: the VaR step would clear a REDUCING it set.
    const publisher = setInterval(() => {
      nc.publish(names.subject('state', 's1'), JSON.stringify({ shard: 's1', instance: 's1-1', seq: ++seq, ts: Date.now(), equity: (equity * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE', positions: [] }));
    }, 20);
    try {
      await until2(() => aggregates.some((a) => a.shards === 1));
      // A record the shards read as REDUCING (hand-written, or truncated).
      await h.control.put(REDUCE_KEY, 'REDUCE NOW');
      await until2(() => aggregates.some((a) => a.reducing === true && /cannot be read/.test(a.reduceError ?? '')));
      equity = 50_000n; // a 50 % drawdown
      await until2(async () => (await h.control.get(HALT_KEY))?.operation === 'PUT');
      expect((await h.control.get(HALT_KEY))!.json<{ reason: string }>().reason).toMatch(/drawdown 50\.00 %/);
      const n = aggregates.length;
      await until2(() => aggregates.length >= n + 3);
      const reduce = await h.control.get(REDUCE_KEY);
      expect(reduce?.operation, 'not the aggregator\'s record: only --resume clears it').toBe('PUT');
      expect(reduce!.string()).toBe('REDUCE NOW');
    } finally {
      clearInterval(publisher);
      stop();
      await running;
      await nc.close();
      await h.nc.close();
    }
  });
});

async function until2(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
