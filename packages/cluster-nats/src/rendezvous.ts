import { createHash } from 'node:crypto';

function score(member: string, key: string): bigint {
  return createHash('sha256').update(member).update('\u0000').update(key).digest().readBigUInt64BE(0);
}

/**
 * Which live shard should hold each symbol: every key goes to its highest-scoring member
 * (rendezvous hashing) that still has room: each member gets floor(keys / members) keys and some one more. Every shard
 * computes the same answer from the same member list and key set; with few symbols plain
 * rendezvous can leave a shard with nothing, which the capacity bound prevents.
 */
export function assignKeys(keys: readonly string[], members: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (members.length === 0) return out;
  const sortedMembers = [...new Set(members)].sort();
  const unique = [...new Set(keys)];
  // Exact balance: every member gets floor(n/m) keys, and n mod m of them one more.
  const floor = Math.floor(unique.length / sortedMembers.length);
  let extra = unique.length % sortedMembers.length;
  const load = new Map<string, number>(sortedMembers.map((m) => [m, 0]));
  // Keys in a fixed order (by their best score) so the result does not depend on list order.
  const ranked = unique.map((k) => {
    const byScore = sortedMembers.map((m) => ({ m, s: score(m, k) })).sort((a, b) => (a.s === b.s ? (a.m < b.m ? -1 : 1) : a.s > b.s ? -1 : 1));
    return { k, byScore };
  });
  ranked.sort((a, b) => (a.byScore[0]!.s === b.byScore[0]!.s ? (a.k < b.k ? -1 : 1) : a.byScore[0]!.s > b.byScore[0]!.s ? -1 : 1));
  for (const { k, byScore } of ranked) {
    const m = byScore.find((x) => load.get(x.m)! < floor || (load.get(x.m)! === floor && extra > 0))!.m;
    if (load.get(m)! === floor) extra--;
    load.set(m, load.get(m)! + 1);
    out.set(k, m);
  }
  return out;
}

/**
 * assignKeys where each key may only go to some of the members (`eligible(key)`: those whose
 * configs list it, a rolling deploy that adds a symbol). Keys with the same eligible members are
 * balanced among those members; a key no member is eligible for is left out. Every shard
 * computes the same answer from the same member lists.
 */
export function assignKeysAmong(keys: readonly string[], eligible: (key: string) => readonly string[]): Map<string, string> {
  const groups = new Map<string, { members: string[]; keys: string[] }>();
  for (const k of new Set(keys)) {
    const members = [...new Set(eligible(k))].sort();
    const id = members.join('\u0000');
    const g = groups.get(id) ?? { members, keys: [] };
    g.keys.push(k);
    groups.set(id, g);
  }
  const out = new Map<string, string>();
  for (const g of groups.values()) for (const [k, m] of assignKeys(g.keys, g.members)) out.set(k, m);
  return out;
}
