import { formatScaled } from '@cwts/core';
import { type AggregatorOptions, type ClusterControlOptions } from '@cwts/core/cluster';
import { COMMON_EXPONENT, quoteToAtoms } from '@cwts/core/risk';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { PortfolioAggregate, parseShardState } from './aggregate.js';
import type { BudgetDoc } from './budget.js';
import { openCluster } from './connect.js';
import { errorText } from './errors.js';
import { BUDGET_KEY, clusterNames, HALT_KEY } from './names.js';
import { bigintText, ShardPublisher } from './publisher.js';
import type { HaltDoc } from './shard.js';

const AGGREGATOR_ID = 'risk-aggregator';

/**
 * `cwts-ultra risk-aggregator`: reads every shard's state, publishes the portfolio-wide view on
 * `cwts.<cluster>.aggregate.risk-aggregator`, and HALTs the whole cluster when the summed equity
 * draws down past `[cluster] max_drawdown`. It also watches the budget key: reservations above
 * `max_total_position` would be a bug, logged as an error and answered with a HALT.
 */
export async function runAggregator(o: AggregatorOptions): Promise<void> {
  const c = o.cluster;
  const log = o.logger;
  const h = await openCluster(c, AGGREGATOR_ID);
  const pub = new ShardPublisher(h.nc, h.names, AGGREGATOR_ID, AGGREGATOR_ID, () => o.clock.now());
  const agg = new PortfolioAggregate();
  const sub = h.nc.subscribe(h.names.allOf('state'), {
    callback: (err, msg) => {
      if (err) return;
      let s;
      try {
        s = parseShardState(msg.json());
      } catch {
        s = undefined;
      }
      if (s) agg.update(s);
      else agg.rejected++;
    },
  });
  const limit = c.max_total_position !== undefined ? quoteToAtoms(c.max_total_position, COMMON_EXPONENT) : undefined;
  let lastLog = 0;
  // Once per HALT: while the key is set nothing is written again; after a --resume it can trip anew.
  const halt = async (reason: string) => {
    if ((await h.control.get(HALT_KEY))?.operation === 'PUT') return;
    log.error(`global HALT: ${reason}`);
    await putHalt(h.control, reason, AGGREGATOR_ID, o.clock.now());
  };
  const round = async () => {
    const now = o.clock.now();
    const s = agg.summary(now, c.takeover_ms);
    let reservedInKv: bigint | undefined;
    try {
      const e = await h.control.get(BUDGET_KEY);
      if (e && e.operation === 'PUT') reservedInKv = Object.values(e.json<BudgetDoc>().shards).reduce((a, v) => a + BigInt(v), 0n);
    } catch (err) {
      log.warn(`reading the budget failed: ${errorText(err)}`);
    }
    pub.publish('aggregate', { ...s, reservedInKv: reservedInKv ?? null, limit: limit ?? null, rejectedMessages: agg.rejected });
    if (now - lastLog >= 10_000) {
      lastLog = now;
      log.info(
        { shards: s.shards, stale: s.stale, drawdown: s.drawdown },
        `cluster ${c.name}: ${s.shards} shard(s), equity ${formatScaled(s.equity, COMMON_EXPONENT)}, drawdown ${(s.drawdown * 100).toFixed(2)} %, gross exposure ${formatScaled(s.grossExposure, COMMON_EXPONENT)}${limit !== undefined ? ` of ${c.max_total_position}` : ''}`,
      );
    }
    if (c.max_drawdown !== undefined && s.drawdown >= c.max_drawdown) await halt(`portfolio drawdown ${(s.drawdown * 100).toFixed(2)} % >= cluster.max_drawdown ${(c.max_drawdown * 100).toFixed(2)} %`);
    if (limit !== undefined && reservedInKv !== undefined && reservedInKv > limit) await halt(`budget reservations ${formatScaled(reservedInKv, COMMON_EXPONENT)} exceed max_total_position ${c.max_total_position}`);
  };
  log.info(`risk aggregator for cluster ${c.name} on ${c.servers.join(', ')}`);
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= round().catch((err) => log.warn(`aggregation round failed: ${errorText(err)}`)).finally(() => (running = undefined));
  }, c.publish_interval_ms);
  await o.until;
  clearInterval(timer);
  await running;
  sub.unsubscribe();
  await h.nc.drain();
}

async function putHalt(control: import('@nats-io/kv').KV, reason: string, by: string, ts: number): Promise<void> {
  const doc: HaltDoc = { reason, by, ts };
  await control.put(HALT_KEY, JSON.stringify(doc, bigintText));
}

async function openControl(o: ClusterControlOptions) {
  const nc = await connect({ servers: o.cluster.servers, name: 'cwts-cluster-control', timeout: 5000 });
  const control = await new Kvm(nc).create(clusterNames(o.cluster.name).control, { history: 5, replicas: o.cluster.replicas });
  return { nc, control };
}

export async function haltCluster(o: ClusterControlOptions, reason: string): Promise<void> {
  const { nc, control } = await openControl(o);
  try {
    await putHalt(control, reason, 'operator', o.clock.now());
    o.logger.warn(`cluster ${o.cluster.name}: global HALT broadcast: ${reason}`);
  } finally {
    await nc.drain();
  }
}

export async function resumeCluster(o: ClusterControlOptions): Promise<void> {
  const { nc, control } = await openControl(o);
  try {
    await control.delete(HALT_KEY);
  } finally {
    await nc.drain();
  }
}
