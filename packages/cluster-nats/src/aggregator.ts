import { formatScaled } from '@cwts/core';
import { type AggregatorOptions, type ClusterControlOptions } from '@cwts/core/cluster';
import { COMMON_EXPONENT, quoteToAtoms } from '@cwts/core/risk';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { PortfolioAggregate, parseShardState } from './aggregate.js';
import { parseBudgetDoc, reservedTotal } from './budget.js';
import { openCluster } from './connect.js';
import { errorText } from './errors.js';
import { readReduceDoc, type ReduceDoc } from './gates.js';
import { BUDGET_KEY, clusterNames, HALT_KEY, REDUCE_KEY } from './names.js';
import { PeakStore, resetPeak } from './peak.js';
import { PortfolioVaR, type PortfolioVaRResult } from './portfolio-var.js';
import { aggregatorRoutes, type AggregateView } from './aggregator-http.js';
import { HttpEndpoint, LogThrottle } from '@cwts/core/observability';
import { isLoopback } from '@cwts/core/config';
import { bigintText, ShardPublisher } from './publisher.js';
import type { HaltDoc } from './gates.js';

const AGGREGATOR_ID = 'risk-aggregator';

/**
 * `cwts-ultra risk-aggregator`: reads every shard's state, publishes the portfolio-wide view on
 * `cwts.<cluster>.aggregate.risk-aggregator`, and HALTs the whole cluster when the summed equity
 * draws down past `[cluster] max_drawdown`. It also watches the budget key: reservations above
 * `max_total_position` would be a bug, logged as an error and answered with a HALT. Every
 * `var_sample_ms` it samples the marks the shards publish and computes the VaR of the summed
 * positions; above `[cluster] max_var` it puts the cluster in REDUCING (the `reduce` key: only
 * orders that reduce a position, no reservation grows) and clears it when the VaR is back under
 * with every exposed instrument in it (one left out makes the figure a lower bound).
 * The drawdown peak is kept in the control bucket (`peak`), so a restart measures from it.
 * Shard clocks are only displayed: states are ordered by `seq` and aged by the receive time on
 * this process's monotonic clock (PortfolioAggregate).
 */
export async function runAggregator(o: AggregatorOptions): Promise<void> {
  const c = o.cluster;
  const log = o.logger;
  const h = await openCluster(c, AGGREGATOR_ID);
  for (const n of h.notices) log.warn(`cluster ${c.name}: ${n}`);
  h.store.onNotice = (n) => log.warn(`cluster ${c.name}: ${n}`);
  const pub = new ShardPublisher(h.nc, h.names, AGGREGATOR_ID, AGGREGATOR_ID, () => o.clock.now());
  const mono = () => Number(o.clock.monoNs() / 1000n) / 1000;
  const agg = new PortfolioAggregate({ monoMs: mono, staleAfterMs: c.takeover_ms });
  // The drawdown reference survives a restart; without one the shards' own peaks seed it (cautious).
  const peaks = new PeakStore(h.control, AGGREGATOR_ID, () => o.clock.now());
  const onPeakRead = (r: Awaited<ReturnType<PeakStore['read']>>) => {
    if (r.kind === 'peak') agg.setPeak(r.peak);
    else if (r.kind === 'reset') {
      log.warn(`cluster drawdown peak reset by ${r.by}: it restarts at the summed equity`);
      agg.resetPeak();
    } else if (r.kind === 'unreadable') log.warn(`the stored drawdown peak is unreadable (${r.why}); it is rewritten from this aggregator's`);
  };
  try {
    onPeakRead(await peaks.read());
  } catch (err) {
    // Unknown: the shards' published peaks seed it, and the next round reads the key again.
    log.warn(`reading the drawdown peak failed: ${errorText(err)}`);
  }
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
  /**
   * The shards known before this process started: each one's last state in the stream (kept 7
   * days). Without them a restart forgets every shard that no longer publishes, although its
   * positions are still at the venue: the VaR leaves them out (and REDUCING is cleared) and the
   * summed equity drops below the stored peak (a false HALT). No round runs until they are read.
   */
  let known = false;
  const loadKnown = async () => {
    const jsm = await jetstreamManager(h.nc);
    const info = await jsm.streams.info(h.names.stream, { subjects_filter: h.names.allOf('state') });
    let restored = 0;
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const m = await jsm.streams.getMessage(h.names.stream, { last_by_subj: subject });
      if (!m) continue; // gone since the listing (max_age)
      let s;
      try {
        s = parseShardState(m.json());
      } catch {
        s = undefined;
      }
      if (!s) agg.rejected++;
      else if (agg.restore(s)) restored++;
    }
    known = true;
    log.info(`cluster ${c.name}: ${restored} shard(s) known from the stream before this start (stale until they publish again)`);
  };
  const ensureKnown = async (): Promise<boolean> => {
    if (known) return true;
    try {
      await loadKnown();
      return true;
    } catch (err) {
      log.warn(`reading the shards' last states from stream ${h.names.stream} failed: ${errorText(err)}; no round (drawdown, VaR, REDUCING) until it is read`);
      await h.store.recover();
      return false;
    }
  };
  await ensureKnown();
  const limit = c.max_total_position !== undefined ? quoteToAtoms(c.max_total_position, COMMON_EXPONENT) : undefined;
  const pvar = new PortfolioVaR({ confidence: o.varConfidence ?? 0.99, method: c.var_method, window: c.var_window, minReturns: c.var_min_returns });
  let lastSample: number | undefined;
  let lastVar: (PortfolioVaRResult & { at: number }) | undefined;
  let varError: string | undefined;
  let lastLog: number | undefined;
  let latest: AggregateView | undefined;
  /**
   * What the control bucket said when last read (`budget` and `reduce`): served while a read
   * fails, with `controlError` set, instead of "no reservation" and "not REDUCING", which is
   * what a failed read used to show (cwts_cluster_reducing 0 while every shard was REDUCING).
   */
  const control = { reservedInKv: null as bigint | null, budgetError: null as string | null, reducing: false, reduceError: null as string | null, readAt: null as number | null };
  /** The revision of the unreadable `reduce` record last logged (once each). */
  let unreadableReduce: number | undefined;
  /** The instruments left out of the VaR last logged as keeping REDUCING (once per set). */
  let heldFor: string | undefined;
  /**
   * Enforces cluster.max_var: sets the `reduce` key above it, deletes it (only if the aggregator
   * set it) once under. `leftOut`: exposed instruments the VaR could not include (too short a
   * return history, no mark, no value): the figure is then only a lower bound, enough to set
   * REDUCING but never to clear it (the instrument left out may be the one that caused it).
   */
  const enforceVar = async (v: number, leftOut: readonly string[]) => {
    if (c.max_var === undefined) return;
    const e = await h.control.get(REDUCE_KEY);
    const set = e?.operation === 'PUT';
    if (set && v <= c.max_var && leftOut.length > 0) {
      if (leftOut.join() !== heldFor) log.warn(`cluster REDUCING kept: portfolio VaR ${v.toFixed(2)} <= cluster.max_var ${c.max_var} leaves out ${leftOut.join(', ')} (no return history, mark or value): a lower bound clears nothing`);
      heldFor = leftOut.join();
      return;
    }
    heldFor = undefined;
    if (v > c.max_var && !set) {
      const doc: ReduceDoc = { reason: `portfolio VaR ${v.toFixed(2)} > cluster.max_var ${c.max_var}`, by: AGGREGATOR_ID, ts: o.clock.now(), var: v, limit: c.max_var };
      log.error(`cluster REDUCING: ${doc.reason}`);
      await h.control.put(REDUCE_KEY, JSON.stringify(doc));
    } else if (v <= c.max_var && set && readReduceDoc(() => e.json<unknown>())?.by === AGGREGATOR_ID) {
      // A record that cannot be read is not one this aggregator wrote: left for `--resume` (round() reports it).
      log.warn(`cluster REDUCING cleared: portfolio VaR ${v.toFixed(2)} <= cluster.max_var ${c.max_var}`);
      await h.control.delete(REDUCE_KEY, { previousSeq: e.revision });
    }
  };
  const varRound = async (now: number) => {
    const t = mono();
    if (lastSample !== undefined && t - lastSample < c.var_sample_ms) return;
    lastSample = t;
    pvar.sample(agg.marks());
    const { exposures, unvalued } = agg.exposures();
    try {
      const r = await pvar.compute(exposures);
      lastVar = r ? { ...r, missing: [...new Set([...r.missing, ...unvalued])].sort(), at: now } : undefined;
      varError = undefined;
    } catch (err) {
      varError = errorText(err);
      lastVar = undefined;
      log.warn(`portfolio VaR failed: ${varError}`);
    }
    // Flat everywhere: nothing is at risk, whatever the history.
    const flat = unvalued.length === 0 && [...exposures.values()].every((w) => w === 0);
    if (lastVar) await enforceVar(lastVar.var, lastVar.missing);
    else if (flat) await enforceVar(0, []);
  };
  // Once per HALT: while the key is set nothing is written again; after a --resume it can trip anew.
  const halt = async (reason: string) => {
    if ((await h.control.get(HALT_KEY))?.operation === 'PUT') return;
    log.error(`global HALT: ${reason}`);
    await putHalt(h.control, reason, AGGREGATOR_ID, o.clock.now());
  };
  const round = async () => {
    if (!(await ensureKnown())) return;
    const now = o.clock.now();
    // The peak key first: a reset by --resume applies to this round's drawdown.
    try {
      onPeakRead(await peaks.read());
    } catch (err) {
      log.warn(`reading the drawdown peak failed: ${errorText(err)}`);
    }
    const s = agg.summary();
    if (s.shards > 0 && s.peak !== peaks.stored) await peaks.save(s.peak, (m) => log.warn(m));
    let reservedInKv: bigint | undefined;
    let budgetProblems: string[] = [];
    const unread: string[] = [];
    try {
      const e = await h.control.get(BUDGET_KEY);
      if (e && e.operation === 'PUT') {
        const doc = parseBudgetDoc(() => e.json<unknown>());
        budgetProblems = doc.problems;
        // An entry that cannot be read counts as the whole limit (as the shards count it).
        reservedInKv = reservedTotal(doc, limit ?? doc.limit ?? 0n);
      }
      control.reservedInKv = reservedInKv ?? null;
      control.budgetError = budgetProblems.length > 0 ? budgetProblems.join('; ') : null;
    } catch (err) {
      unread.push(`budget: ${errorText(err)}`);
      log.warn(`reading the budget failed: ${errorText(err)}`);
    }
    // Apart from the checks below: a failing REDUCING write must not cost the drawdown and budget HALTs.
    try {
      await varRound(now);
    } catch (err) {
      log.warn(`portfolio VaR round failed: ${errorText(err)}`);
    }
    const portfolioVar = lastVar
      ? { method: lastVar.method, confidence: lastVar.confidence, value: lastVar.var, cvar: lastVar.cvar, observations: lastVar.observations, exposures: lastVar.exposures, missing: lastVar.missing, at: lastVar.at }
      : null;
    try {
      const e = await h.control.get(REDUCE_KEY);
      const reducing = e?.operation === 'PUT';
      let reduceError: string | null = null;
      if (e && reducing && readReduceDoc(() => e.json<unknown>()) === undefined) {
        reduceError = `the reduce record (revision ${e.revision}) cannot be read: the shards are REDUCING, and only --resume clears it`;
        if (e.revision !== unreadableReduce) log.warn(`cluster REDUCING: ${reduceError}`);
        unreadableReduce = e.revision;
      }
      control.reducing = reducing;
      control.reduceError = reduceError;
    } catch (err) {
      unread.push(`reduce: ${errorText(err)}`);
      log.warn(`reading the REDUCING key failed: ${errorText(err)}`);
    }
    if (unread.length === 0) control.readAt = now;
    // The server may have lost its store: recreated, the next round reads the new bucket.
    else await h.store.recover();
    const controlError = unread.length > 0 ? `control bucket not read this round (${unread.join('; ')}): reservedInKv, budgetError, reducing and reduceError are as last read${control.readAt === null ? ' (never: unknown)' : ''}` : null;
    latest = {
      ...s,
      reservedInKv: control.reservedInKv,
      budgetError: control.budgetError,
      limit: limit ?? null,
      rejectedMessages: agg.rejected,
      var: portfolioVar,
      varError: varError ?? null,
      maxVar: c.max_var ?? null,
      reducing: control.reducing,
      reduceError: control.reduceError,
      controlError,
      controlReadAt: control.readAt,
      metricsUrl,
    };
    pub.publish('aggregate', { ...latest });
    if (lastLog === undefined || mono() - lastLog >= 10_000) {
      lastLog = mono();
      log.info(
        { shards: s.shards, stale: s.stale, drawdown: s.drawdown, var: lastVar?.var ?? null },
        `cluster ${c.name}: ${s.shards} shard(s), equity ${formatScaled(s.equity, COMMON_EXPONENT)}, drawdown ${(s.drawdown * 100).toFixed(2)} %, gross exposure ${formatScaled(s.grossExposure, COMMON_EXPONENT)}${limit !== undefined ? ` of ${c.max_total_position}` : ''}, VaR ${lastVar ? lastVar.var.toFixed(2) : 'n/a'}${c.max_var !== undefined ? ` of ${c.max_var}` : ''}`,
      );
    }
    if (budgetProblems.length > 0) await halt(`budget key unreadable: ${budgetProblems.join('; ')}`);
    // Unless an operator reset the peak since this round read it (a --resume racing this round).
    if (c.max_drawdown !== undefined && s.drawdown >= c.max_drawdown && (await peaks.unchanged())) await halt(`portfolio drawdown ${(s.drawdown * 100).toFixed(2)} % >= cluster.max_drawdown ${(c.max_drawdown * 100).toFixed(2)} %`);
    if (limit !== undefined && reservedInKv !== undefined && reservedInKv > limit) await halt(`budget reservations ${formatScaled(reservedInKv, COMMON_EXPONENT)} exceed max_total_position ${c.max_total_position}`);
  };
  let http: HttpEndpoint | undefined;
  let metricsUrl: string | null = null;
  if (c.aggregator_port !== undefined) {
    const host = o.bindAddress ?? '127.0.0.1';
    // A refused /status (a Host that is not loopback) is logged at most once per 10 s: any web page can send them as fast as it likes.
    const refusals = new LogThrottle(() => performance.now());
    const onRefused = (path: string, requestHost: string): void => {
      const more = refusals.take('host');
      if (more !== undefined) log.warn({ path, host: requestHost }, `risk aggregator: ${path} refused (403): Host ${JSON.stringify(requestHost)} is not loopback${more}`);
    };
    http = new HttpEndpoint('risk-aggregator', aggregatorRoutes(() => latest, isLoopback(host), onRefused));
    const port = await http.listen(c.aggregator_port, host).catch(async (err: unknown) => {
      sub.unsubscribe();
      await h.nc.close();
      throw err;
    });
    metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
    log.info({ port, host }, `risk aggregator metrics on ${metricsUrl}`);
  }
  log.info(`risk aggregator for cluster ${c.name} on ${c.servers.join(', ')}`);
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= round().catch((err) => log.warn(`aggregation round failed: ${errorText(err)}`)).finally(() => (running = undefined));
  }, c.publish_interval_ms);
  await o.until;
  clearInterval(timer);
  await running;
  await http?.close();
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
    // The drawdown reference first: the HALT is gone only once the aggregator's next round measures from the new peak.
    await resetPeak(control, 'operator', o.clock.now());
    await control.delete(HALT_KEY);
    await control.delete(REDUCE_KEY);
  } finally {
    await nc.drain();
  }
}
