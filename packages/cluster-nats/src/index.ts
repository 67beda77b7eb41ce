import { CLUSTER_API_VERSION, type ClusterModule } from '@cwts/core/cluster';
import { haltCluster, resumeCluster, runAggregator } from './aggregator.js';
import { NatsShard } from './shard.js';

/** What `[cluster] plugin = "@cwts/cluster-nats"` loads (core's cluster/contract.ts). */
export const cluster: ClusterModule = {
  apiVersion: CLUSTER_API_VERSION,
  createShard: (opts) => new NatsShard(opts),
  runAggregator,
  haltCluster,
  resumeCluster,
};

export { NatsShard, type HaltDoc } from './shard.js';
export { LeaseManager, type LeaseEvent, type LeaseManagerOptions } from './leases.js';
export { BudgetLedger, parseBudgetDoc, type BudgetDoc, type BudgetEvent, type ParsedBudget } from './budget.js';
export { Membership, type MemberDoc, type MembershipOptions } from './membership.js';
export { PortfolioVaR, type PortfolioVaROptions, type PortfolioVaRResult } from './portfolio-var.js';
export { ClusterHaltGate, ClusterReduceGate, readHaltDoc, readReduceDoc, type ReduceDoc } from './gates.js';
export { PeakStore, type PeakDoc } from './peak.js';
export { aggregateMetricsText, type AggregateView } from './aggregator-http.js';
export { PortfolioAggregate, parseShardState, type ShardState, type AggregateSummary, type PortfolioAggregateOptions } from './aggregate.js';
export { worstGrossExposure } from './exposure.js';
export { ClusterStore, openCluster, type ClusterHandles, type KeptNow } from './connect.js';
export { clusterNames, leaseKey, leaseTimings, streamName, BUDGET_KEY, HALT_KEY, PEAK_KEY, REDUCE_KEY, type ClusterNames, type LeaseTimings, type PublishedKind } from './names.js';
export { assignKeys } from './rendezvous.js';
