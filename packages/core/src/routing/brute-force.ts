/**
 * The judge for decideRoute: every combination of child quantities, in bigint. Exponential: for
 * tests on small books only (it refuses more than 2 million combinations).
 */
import { RATE_ONE, SIDE_BUY, type RoutingProblem } from './decision.js';

export interface BruteForceResult {
  filledQty: number;
  /** Effective cost (buy) or proceeds (sell) in common ticks x lots x millionths. */
  objective: bigint;
  /** Child quantity per venue (one optimum of possibly several). */
  childQty: number[];
}

/** What a venue may be sent: 0 or a feasible child quantity, with its objective contribution. */
export function venueOptions(p: RoutingProblem, v: number): { qty: number; value: bigint }[] {
  const opts = [{ qty: 0, value: 0n }];
  if (p.healthy[v] !== 1 || p.headroom[v]! <= 0) return opts;
  const buy = p.side === SIDE_BUY;
  const L = p.maxLevels;
  const levels: [number, number][] = [];
  for (let l = 0; l < p.levelCount[v]!; l++) {
    const px = p.price[v * L + l]!;
    const q = p.depth[v * L + l]!;
    if (l > 0 && (buy ? px <= levels[l - 1]![0] : px >= levels[l - 1]![0])) break;
    if (p.limit > 0 && (buy ? px > p.limit : px < p.limit)) break;
    if (q === 0) break;
    levels.push([px, q]);
  }
  if (levels.length === 0) return opts;
  const rate = BigInt(buy ? RATE_ONE + p.feeRate[v]! + p.latencyRate[v]! : RATE_ONE - p.feeRate[v]! - p.latencyRate[v]!);
  const depth = levels.reduce((a, [, q]) => a + q, 0);
  const m = p.lotMult[v]!;
  // A child's limit is the deepest level it takes; the venue's floor is the least quantity from
  // which every larger child has limit x qty >= the minimum notional (decision.ts).
  const min = BigInt(p.minNotional[v]!);
  let floor = m;
  let before = 0;
  for (const [px, d] of levels) {
    for (let q = before + m; q <= before + d; q += m) if (BigInt(px) * BigInt(q) < min) floor = q + m;
    before += d;
  }
  for (let q = floor; q <= depth; q += m) {
    let need = q;
    let value = 0n;
    for (const [px, d] of levels) {
      const take = Math.min(d, need);
      value += BigInt(take) * BigInt(px) * rate;
      need -= take;
      if (need === 0) break;
    }
    opts.push({ qty: q, value });
  }
  return opts;
}

export function bruteForceRoute(p: RoutingProblem): BruteForceResult {
  const buy = p.side === SIDE_BUY;
  const options = Array.from({ length: p.venueCount }, (_, v) => venueOptions(p, v));
  const combos = options.reduce((a, o) => a * o.length, 1);
  if (combos > 2_000_000) throw new Error(`brute force: ${combos} combinations is too many`);
  let best: BruteForceResult = { filledQty: 0, objective: 0n, childQty: new Array<number>(p.venueCount).fill(0) };
  const pick = new Array<number>(p.venueCount).fill(0);
  const walk = (v: number, qty: number, children: number, value: bigint): void => {
    if (v === p.venueCount) {
      const better = qty > best.filledQty || (qty === best.filledQty && qty > 0 && (buy ? value < best.objective : value > best.objective));
      if (better) best = { filledQty: qty, objective: value, childQty: [...pick] };
      return;
    }
    for (const o of options[v]!) {
      if (qty + o.qty > p.qty) continue;
      if (o.qty > 0 && children + 1 > p.maxChildren) continue;
      pick[v] = o.qty;
      walk(v + 1, qty + o.qty, children + (o.qty > 0 ? 1 : 0), value + o.value);
    }
    pick[v] = 0;
  };
  walk(0, 0, 0, 0n);
  return best;
}
