/**
 * The config digest a run journals and `report --config` recomputes. It must name what the
 * operator configured, not the host it was loaded on: a report is usually made on another machine
 * (an analysis box, a restored backup), where a default taken from the host (thread_pool_size from
 * the cores, the cluster shard_id from the hostname) differs while the file and environment do
 * not.
 */
import { createHash } from 'node:crypto';
import { isHostDefault } from './host-defaults.js';
import type { CwtsConfig } from './types.js';

/**
 * sha256 (hex) of the loaded config's canonical JSON, leaving out the keys filled in from the
 * host (see markHostDefaults): one function for the writer (engine/core-services.ts) and the
 * reader (cli/report.ts), so the two cannot drift apart. Bigints are written as journalStringify
 * writes them.
 */
export function configDigest(config: CwtsConfig): string {
  const json = JSON.stringify(config, function (this: object, key: string, value: unknown) {
    if (isHostDefault(this, key)) return undefined;
    return typeof value === 'bigint' ? `${value}n` : value;
  });
  return createHash('sha256').update(json).digest('hex');
}
