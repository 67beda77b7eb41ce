import { ConfigError } from '../config/errors.js';
import { locatePlugin } from '../plugins/resolve.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { CLUSTER_API_VERSION, type ClusterModule } from './contract.js';

/**
 * Imports the cluster implementation named by `[cluster] plugin`, resolved like every plugin
 * (from the config's directory). Called only when `[cluster]` is enabled, so a single-process
 * deployment never loads a broker client.
 */
export async function loadClusterModule(cluster: ClusterConfig, configDir: string): Promise<ClusterModule> {
  const spec = cluster.plugin;
  const found = locatePlugin(spec, configDir);
  if ('searched' in found) {
    throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} is not installed (pnpm add ${spec}); looked in ${found.searched.join(', ')}` }]);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(found.url)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} failed to load: ${(err as Error).message}` }]);
  }
  const m = mod.cluster as Partial<ClusterModule> | undefined;
  if (!m || typeof m.createShard !== 'function' || typeof m.runAggregator !== 'function') {
    throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} does not export a cluster module (\`export const cluster: ClusterModule\`)` }]);
  }
  if (m.apiVersion !== CLUSTER_API_VERSION) {
    throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} implements cluster API ${m.apiVersion}, this @cwts/core needs ${CLUSTER_API_VERSION}` }]);
  }
  return m as ClusterModule;
}
