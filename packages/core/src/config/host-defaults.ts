/**
 * Keys of the loaded config whose default was taken from the host (thread_pool_size from the
 * cores, the cluster shard_id from the hostname) rather than written: configDigest leaves them
 * out. Its own file, free of imports, since the schemas that fill those defaults in are imported
 * by the config types that digest.ts needs.
 */
const hostDefaulted = new WeakMap<object, readonly string[]>();

/** Marks `keys` of `table` (an object of the loaded config) as filled in from the host, not written. */
export function markHostDefaults(table: object, keys: readonly string[]): void {
  if (keys.length > 0) hostDefaulted.set(table, [...(hostDefaulted.get(table) ?? []), ...keys]);
}

/** Whether `key` of `table` holds a default markHostDefaults marked. */
export function isHostDefault(table: object, key: string): boolean {
  return hostDefaulted.get(table)?.includes(key) ?? false;
}
