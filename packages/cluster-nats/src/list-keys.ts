import type { KV } from '@nats-io/kv';

/**
 * The keys of a KV bucket, each once, or a rejection after `ms`. `kv.keys()` (@nats-io/kv 3.4)
 * reads them through an ordered push consumer and ends when a message arrives with nothing
 * pending after it; written to meanwhile (renewals, heartbeats: history 1 replaces the message the
 * consumer was to deliver) it may never see that, and hangs, for as long as the writes go on (its
 * idle heartbeat never comes), listing some keys twice. A lease round (or a budget reclaim) awaiting it never ended, and
 * the shard's later rounds never started: no renewal (every lease lost at the end of its
 * validity), no symbol taken, no open order on an unleased symbol cancelled. Safe to give up on:
 * a key read as free is only taken by an atomic create, and the round is retried next tick.
 */
export async function listKeys(kv: Pick<KV, 'keys'>, ms: number): Promise<string[]> {
  let late = false;
  let it: { stop?(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const listing = (async () => {
    const keys = await kv.keys();
    it = keys as { stop?(): void };
    if (late) return [];
    const out = new Set<string>();
    for await (const k of keys) out.add(k);
    return [...out];
  })();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`listing the keys took over ${ms} ms (retried next round)`)), ms);
  });
  try {
    return await Promise.race([listing, deadline]);
  } finally {
    late = true;
    clearTimeout(timer);
    listing.then(() => it?.stop?.(), () => {});
    it?.stop?.(); // its consumer goes (a listing that ended is stopped already)
  }
}
