import { requireLoopbackHost, type Route } from '@cwts/core/observability';
import { commonToNumber } from '@cwts/core/risk';
import type { AggregateSummary } from './aggregate.js';

/** What the aggregator publishes each round on `cwts.<c>.aggregate.risk-aggregator`, and serves on /status. */
export interface AggregateView extends AggregateSummary {
  reservedInKv: bigint | null;
  /** What is wrong with the budget key (an entry, the limit): the aggregator HALTs the cluster on it. */
  budgetError: string | null;
  limit: bigint | null;
  rejectedMessages: number;
  var: { method: string; confidence: number; value: number; cvar: number; observations: number; exposures: Record<string, number>; missing: string[]; at: number } | null;
  varError: string | null;
  maxVar: number | null;
  /** The cluster-wide REDUCING is set (by this aggregator or an operator). */
  reducing: boolean;
  /** The `reduce` record is set but cannot be read (not this aggregator's: it never clears it), or null. */
  reduceError: string | null;
  /**
   * Why this round could not read the control bucket (`budget`, `reduce`: cut off from NATS), or
   * null. While set, reservedInKv, budgetError, reducing and reduceError are the last values read
   * (as of controlReadAt), never a failed read's "none".
   */
  controlError: string | null;
  /** Wall ms of the last round that read both keys; null before the first. */
  controlReadAt: number | null;
  halted: string[];
  /** Where this aggregator serves /metrics (`[cluster] aggregator_port`), null when it does not. */
  metricsUrl: string | null;
}

const gauge = (name: string, help: string, value: number | null): string =>
  `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${value === null ? '' : `${name} ${Number.isFinite(value) ? value : 'NaN'}\n`}`;

/** Prometheus text exposition of the portfolio view (a handful of gauges: no registry needed). */
export function aggregateMetricsText(a: AggregateView | undefined): string {
  if (!a) return '';
  return [
    gauge('cwts_cluster_var', 'Portfolio VaR across shards (quote currency, one sampling period, at [risk] var_confidence); absent until enough returns', a.var?.value ?? null),
    gauge('cwts_cluster_cvar', 'Portfolio CVaR across shards (quote currency)', a.var?.cvar ?? null),
    gauge('cwts_cluster_var_limit', 'cluster.max_var (quote currency); absent when not configured', a.maxVar),
    // Never read (cut off since the start): absent, not 0; after a read, the last value read.
    gauge('cwts_cluster_reducing', '1 while the cluster-wide REDUCING is set (as last read: see cwts_cluster_control_stale)', a.controlReadAt === null && a.controlError !== null ? null : a.reducing ? 1 : 0),
    gauge('cwts_cluster_control_stale', '1 while the control bucket (budget, reduce) cannot be read: reducing and reserved are as last read', a.controlError === null ? 0 : 1),
    gauge('cwts_cluster_equity', 'Summed equity of every shard (quote currency)', commonToNumber(a.equity)),
    gauge('cwts_cluster_drawdown_ratio', 'Drawdown of the summed equity from its peak', a.drawdown),
    gauge('cwts_cluster_gross_exposure', 'Summed worst-case gross exposure (quote currency), stale shards included', commonToNumber(a.grossExposure)),
    gauge('cwts_cluster_reserved', 'Budget reservations in the KV (quote currency)', a.reservedInKv === null ? null : commonToNumber(a.reservedInKv)),
    gauge('cwts_cluster_shards', 'Shards with a published state', a.shards),
    gauge('cwts_cluster_stale_shards', 'Shards whose last state is older than takeover_ms', a.stale.length),
    gauge('cwts_cluster_halted_shards', 'Shards reporting HALTED', a.halted.length),
    gauge('cwts_cluster_rejected_messages', 'State messages rejected as malformed (counter semantics)', a.rejectedMessages),
  ].join('');
}

/**
 * /metrics always; /status (exposures by instrument, equity, drawdown) only when bound to loopback,
 * and then only for requests whose Host names loopback (requireLoopbackHost), as a shard's /status
 * without its token: a web page in a browser on the host reaches a loopback port by DNS rebinding,
 * but its requests name the page's host. `onRefused` sees each refused request.
 */
export function aggregatorRoutes(latest: () => AggregateView | undefined, status: boolean, onRefused?: (path: string, host: string) => void): Record<string, Route> {
  const routes: Record<string, Route> = {
    '/metrics': () => ({ status: 200, body: aggregateMetricsText(latest()), contentType: 'text/plain; version=0.0.4; charset=utf-8' }),
  };
  if (!status) return routes;
  const statusRoute: Route = () => {
    const a = latest();
    return a ? { status: 200, body: a } : { status: 503, body: { error: 'no aggregation round yet' } };
  };
  return { ...routes, ...requireLoopbackHost({ '/status': statusRoute }, onRefused) };
}
