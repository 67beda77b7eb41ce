import { ConfigError } from '../config/errors.js';
import { DEFAULT_PLUGIN_INIT_TIMEOUT_MS, DeadlineExceeded, withDeadline } from '../plugins/deadline.js';
import { locatePlugin } from '../plugins/resolve.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { CLUSTER_API_VERSION, type ClusterModule } from './contract.js';

/**
 * Imports the cluster implementation named by `[cluster] plugin`, resolved like every plugin
 * (from the config's directory). Called only when `[cluster]` is enabled, so a single-process
 * deployment never loads a broker client. The import is bounded like a plugin's
 * (`[system] plugin_init_timeout_ms`): a module whose top-level code never completes (a
 * top-level await on a broker that does not answer) would hang `run` and `validate-config` past
 * any signal; it cannot be cancelled, but the start need not wait for it.
 */
export async function loadClusterModule(cluster: ClusterConfig, configDir: string, timeoutMs: number = DEFAULT_PLUGIN_INIT_TIMEOUT_MS): Promise<ClusterModule> {
  const spec = cluster.plugin;
  const found = locatePlugin(spec, configDir);
  if ('searched' in found) {
    throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} is not installed (pnpm add ${spec}); looked in ${found.searched.join(', ')}` }]);
  }
  let mod: Record<string, unknown> = {};
  try {
    await withDeadline(async () => {
      mod = (await import(found.url)) as Record<string, unknown>;
    }, timeoutMs);
  } catch (err) {
    if (err instanceof DeadlineExceeded) {
      throw new ConfigError([{ path: 'cluster.plugin', message: `${spec} did not finish loading within ${err.ms} ms ([system] plugin_init_timeout_ms): its module's top-level code never completed; connect in createShard, not at import` }]);
    }
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
