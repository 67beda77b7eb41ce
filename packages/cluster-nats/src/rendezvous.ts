import { createHash } from 'node:crypto';

/**
 * Highest-random-weight (rendezvous) choice of a symbol's preferred shard among the live ones:
 * every shard computes the same answer from the same member list, and a member joining or
 * leaving moves only the symbols it wins or held (about 1/N of them).
 */
export function preferredShard(key: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const m of members) {
    const s = createHash('sha256').update(m).update('\u0000').update(key).digest().readBigUInt64BE(0);
    if (s > bestScore || (s === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = s;
    }
  }
  return best;
}
