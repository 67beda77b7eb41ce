export { clusterConfigSchema, readClusterConfig, CLUSTER_PLUGIN_DEFAULT, type ClusterConfig } from '../config/cluster-schema.js';
export { CLUSTER_API_VERSION, combineObservers, type ClusterModule, type ClusterShard, type ClusterShardOptions, type AggregatorOptions, type ClusterControlOptions } from './contract.js';
export { loadClusterModule } from './load.js';
