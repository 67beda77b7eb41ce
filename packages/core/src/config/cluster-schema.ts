/**
 * `[cluster]`: makes this process one shard of many (docs/scale-out.md). Absent, the deployment
 * is a single process with no broker and nothing of the cluster package is loaded.
 */
import { z } from 'zod';
import { hostname } from 'node:os';
import { markHostDefaults } from './host-defaults.js';
import { checkOptions } from './zod-options.js';
import type { ConfigIssue } from './errors.js';

/** NATS subject tokens and KV bucket names accept these; '.' separates tokens. */
const TOKEN = /^[A-Za-z0-9_-]+$/;
const TOKEN_RULE = 'letters, digits, _ and - only';

export const CLUSTER_PLUGIN_DEFAULT = '@cwts/cluster-nats';

export const clusterConfigSchema = z.strictObject({
  /** A [cluster] table turns clustering on; `enabled = false` keeps the table but runs alone. */
  enabled: z.boolean().default(true),
  /** The package (or path) implementing the cluster; loaded only when enabled. */
  plugin: z.string().min(1).default(CLUSTER_PLUGIN_DEFAULT),
  /** The cluster's name: prefixes every bucket, stream and subject, so clusters can share a server. */
  name: z.string().regex(TOKEN, TOKEN_RULE).max(32).default('cwts'),
  /** This shard's stable id (a StatefulSet pod name); a restart with the same id keeps its budget. */
  shard_id: z.string().regex(TOKEN, TOKEN_RULE).max(64).optional(),
  /** NATS servers, e.g. ["nats://10.0.0.5:4222"]; credentials go in the URL through ${VAR}. */
  servers: z.array(z.string().regex(/^(nats|tls):\/\/\S+$/, 'a nats:// or tls:// URL')).min(1).default(['nats://127.0.0.1:4222']),
  /**
   * Upper bound on how long a dead shard's symbols stay untraded before a live shard takes them
   * over. The lease lifetime (the KV bucket's max_age) is 60 % of it, the renewal and takeover
   * poll run every 15 %.
   */
  takeover_ms: z.number().int().min(1000).max(600_000).default(10_000),
  /** Positions, equity and risk state are published this often (fills at once). */
  publish_interval_ms: z.number().int().min(50).max(60_000).default(1000),
  /**
   * Portfolio-wide gross position notional (quote units, all shards together). Shards reserve
   * it in chunks; no order is sent that would take a shard past what it holds. Off when absent.
   */
  max_total_position: z.number().positive().optional(),
  /** Budget is reserved in chunks of this many quote units (default a tenth of max_total_position). */
  budget_chunk: z.number().positive().optional(),
  /** Portfolio-wide drawdown (0..1) from the peak of summed equity at which the aggregator HALTs every shard. */
  max_drawdown: z.number().gt(0).lt(1).optional(),
  /**
   * Upper bound on how long a dead shard's reserved budget stays out of the pool (from its last
   * heartbeat). Default takeover_ms; longer keeps it for a restart with the same shard_id (which
   * takes it over with its journaled positions). Never shorter than takeover_ms.
   */
  budget_release_ms: z.number().int().min(1000).max(3_600_000).optional(),
  /**
   * Portfolio-wide VaR (quote units, at [risk] var_confidence, one sampling period) above which
   * the aggregator puts the whole cluster in REDUCING: only orders that reduce a position pass,
   * no reservation grows. Off when absent (the VaR is still computed and published).
   */
  max_var: z.number().positive().optional(),
  /** How the aggregator computes the portfolio VaR (Monte Carlo needs a compute backend: use a shard's own VaR for it). */
  var_method: z.enum(['historical', 'parametric']).default('historical'),
  /** The aggregator samples every symbol's mark this often; the VaR is over one such period. */
  var_sample_ms: z.number().int().min(50).max(3_600_000).default(60_000),
  /** Returns kept per symbol (the VaR's history window). */
  var_window: z.number().int().min(2).max(100_000).default(500),
  /** Fewer common returns than this: no portfolio VaR yet (and no VaR limit enforced). */
  var_min_returns: z.number().int().min(2).max(100_000).default(30),
  /** `cwts-ultra risk-aggregator` serves /metrics (and /status on loopback) on this port at [monitoring] bind_address; 0 picks a free one; off when absent. */
  aggregator_port: z.number().int().min(0).max(65535).optional(),
  /** KV and stream replicas (1 for a single nats-server; 3 for a NATS cluster). */
  replicas: z.number().int().min(1).max(5).default(1),
});

export type ClusterConfig = z.output<typeof clusterConfigSchema> & { shard_id: string; budget_release_ms: number };

/**
 * Validates `[cluster]` (undefined when the table is absent). Issues carry full key paths
 * (`cluster.takeover_ms`) and are pushed onto `issues`. `onShutdown` is `[system] on_shutdown`.
 */
export function readClusterConfig(value: unknown, issues: ConfigIssue[], systemName: string, onShutdown?: string): ClusterConfig | undefined {
  if (value === undefined) return undefined;
  if (onShutdown === 'keep') {
    // A stopped shard's symbols go to another shard within a lease lifetime, while the orders it
    // kept can still fill at the venue: two shards would trade one symbol.
    issues.push({ path: 'system.on_shutdown', message: '"keep" cannot be used with [cluster]: another shard takes a stopped shard\'s symbols within a lease lifetime while the kept orders can still fill; use "cancel"' });
  }
  const r = checkOptions(clusterConfigSchema, value, 'cluster');
  if (!r.ok) {
    issues.push(...r.issues);
    return undefined;
  }
  const v = r.value;
  if (v.budget_chunk !== undefined && v.max_total_position === undefined) {
    issues.push({ path: 'cluster.budget_chunk', message: 'needs cluster.max_total_position (the budget it is a chunk of)' });
  }
  if (v.budget_chunk !== undefined && v.max_total_position !== undefined && v.budget_chunk > v.max_total_position) {
    issues.push({ path: 'cluster.budget_chunk', message: `must be at most cluster.max_total_position (${v.max_total_position})` });
  }
  if (v.budget_release_ms !== undefined && v.budget_release_ms < v.takeover_ms) {
    issues.push({ path: 'cluster.budget_release_ms', message: `must be at least cluster.takeover_ms (${v.takeover_ms}): a dead shard's budget cannot be released before its member key expires` });
  }
  if (v.var_min_returns > v.var_window) {
    issues.push({ path: 'cluster.var_min_returns', message: `must be at most cluster.var_window (${v.var_window})` });
  }
  const fallbackId = `${systemName}-${hostname()}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const c = { ...v, shard_id: v.shard_id ?? fallbackId, budget_release_ms: v.budget_release_ms ?? v.takeover_ms };
  if (v.shard_id === undefined) markHostDefaults(c, ['shard_id']);
  return c;
}
