import { SystemClock, type Clock } from '../contracts/clock.js';
import type { LoadedConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterShard } from './contract.js';
import { loadClusterModule } from './load.js';

/**
 * The cluster shard of a `run`, when `[cluster]` is enabled; undefined otherwise (and then no
 * cluster code is imported at all).
 */
export async function createClusterShard(loaded: LoadedConfig, logger: Logger, clock: Clock = new SystemClock()): Promise<ClusterShard | undefined> {
  const c = loaded.config.cluster;
  if (!c?.enabled) return undefined;
  const mod = await loadClusterModule(c, loaded.configDir, loaded.config.system.plugin_init_timeout_ms);
  return mod.createShard({ cluster: c, loaded, logger: logger.child({ component: 'cluster', shard: c.shard_id }), clock });
}
