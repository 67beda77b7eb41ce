/**
 * The smart order router's decision: how to split one marketable parent over venues.
 *
 * Pure and allocation-free once a RoutingProblem / RoutingDecision / RoutingScratch exist: every
 * input and output is a preallocated typed array, so a route costs no garbage on the hot path.
 * All quantities are in *common lots* and all prices in *common ticks*: the finest grid of the
 * venues being routed over (the router converts each venue's ticks and lots onto it), so one
 * venue's lot is `lotMult[v]` common lots.
 *
 * Objective (docs/routing.md): fill as much of the parent as the venues allow (up to `qty`,
 * within `limit`), and among the allocations that fill that much, for a buy the one with the
 * least sum(price x qty x (1 + taker fee + latency penalty)), for a sell the one with the most
 * sum(price x qty x (1 - taker fee - latency penalty)). Constraints per venue: at most one child
 * (an IOC sweep of its visible levels best first, limit = the deepest level it takes), quantity
 * a multiple of its lot, at least the venue's floor (the least quantity from which every larger
 * child meets limit x qty >= its minimum notional, what venues check on a limit order), visible
 * depth within the parent's limit, rate-limit headroom > 0, book healthy (SYNCED); at most
 * `maxChildren` children in all.
 *
 * Method:
 * - All venues on one lot grid: without the minimum notionals and the child cap the problem is
 *   convex (each venue's cost is piecewise linear and convex in its quantity) and a greedy sweep
 *   of every venue's levels merged by effective unit price solves it. A branch and bound adds the
 *   two non-convex constraints back: where the relaxed split gives a venue less than its floor
 *   (or uses too many venues) it branches on that venue (forced to its floor / excluded), pruning
 *   nodes whose relaxation cannot beat the best split found. Exact; usually one sweep.
 * - Lots that differ between venues (a knapsack): a dynamic program over (children, quantity)
 *   in units of the gcd of the lots. Exact, when it fits `dpCells` and 2^53; otherwise the greedy
 *   sweep with per-venue lot rounding, flagged `exact = false`.
 */

export const SIDE_BUY = 0;
export const SIDE_SELL = 1;
/** Fee and penalty rates are integers in millionths of notional: 1 bp = 100. */
export const RATE_ONE = 1_000_000;

export const DECISION_OK = 0;
/** The parent's qty x the highest price passes 2^53 common units: not decided (see docs/routing.md). */
export const DECISION_OUT_OF_RANGE = 1;
/** Malformed input (a non-integer, a rate >= 100%, ...). */
export const DECISION_INVALID = 2;

const TWO32 = 4294967296;

/** One parent to split, and the venues' side of the consolidated book. Reused between calls. */
export class RoutingProblem {
  readonly maxVenues: number;
  readonly maxLevels: number;
  /** SIDE_BUY (take asks) or SIDE_SELL (take bids). */
  side = SIDE_BUY;
  /** Parent quantity, common lots. */
  qty = 0;
  /** Parent limit, common ticks; 0 = none (market). */
  limit = 0;
  /** Most child orders in all. */
  maxChildren = 1;
  venueCount = 0;
  /** Per venue: levels given (best first: asks ascending for a buy, bids descending for a sell). */
  readonly levelCount: Int32Array;
  /** [venue * maxLevels + level]: price, common ticks. */
  readonly price: Float64Array;
  /** [venue * maxLevels + level]: visible quantity, common lots (a multiple of lotMult). */
  readonly depth: Float64Array;
  /** Taker fee, millionths of notional (may be negative: a rebate). */
  readonly feeRate: Int32Array;
  /** Latency penalty, millionths of notional (>= 0). */
  readonly latencyRate: Int32Array;
  /** The venue's lot in common lots (>= 1). */
  readonly lotMult: Float64Array;
  /** The venue's minimum order notional in common ticks x common lots (0 = none). */
  readonly minNotional: Float64Array;
  /** Child orders the venue's rate limit still allows now; 0 excludes the venue. */
  readonly headroom: Int32Array;
  /** 1 when the venue's book is SYNCED; 0 excludes the venue. */
  readonly healthy: Uint8Array;

  constructor(maxVenues: number, maxLevels: number) {
    if (!Number.isInteger(maxVenues) || maxVenues < 1 || maxVenues > 16) throw new RangeError(`maxVenues must be 1..16, got ${maxVenues}`);
    if (!Number.isInteger(maxLevels) || maxLevels < 1) throw new RangeError(`maxLevels must be a positive integer, got ${maxLevels}`);
    this.maxVenues = maxVenues;
    this.maxLevels = maxLevels;
    this.levelCount = new Int32Array(maxVenues);
    this.price = new Float64Array(maxVenues * maxLevels);
    this.depth = new Float64Array(maxVenues * maxLevels);
    this.feeRate = new Int32Array(maxVenues);
    this.latencyRate = new Int32Array(maxVenues);
    this.lotMult = new Float64Array(maxVenues).fill(1);
    this.minNotional = new Float64Array(maxVenues);
    this.headroom = new Int32Array(maxVenues);
    this.healthy = new Uint8Array(maxVenues);
  }

  /** Convenience for tests and setup (allocates nothing per level beyond the arrays given). */
  setVenue(
    v: number,
    spec: { levels: readonly (readonly [number, number])[]; feeRate?: number; latencyRate?: number; lotMult?: number; minNotional?: number; headroom?: number; healthy?: boolean },
  ): void {
    if (v < 0 || v >= this.maxVenues) throw new RangeError(`venue index ${v} out of range`);
    const n = Math.min(spec.levels.length, this.maxLevels);
    this.levelCount[v] = n;
    for (let l = 0; l < n; l++) {
      this.price[v * this.maxLevels + l] = spec.levels[l]![0];
      this.depth[v * this.maxLevels + l] = spec.levels[l]![1];
    }
    this.feeRate[v] = spec.feeRate ?? 0;
    this.latencyRate[v] = spec.latencyRate ?? 0;
    this.lotMult[v] = spec.lotMult ?? 1;
    this.minNotional[v] = spec.minNotional ?? 0;
    this.headroom[v] = spec.headroom ?? 1;
    this.healthy[v] = spec.healthy === false ? 0 : 1;
    if (v >= this.venueCount) this.venueCount = v + 1;
  }
}

/** The split. Reused between calls. */
export class RoutingDecision {
  status = DECISION_OK;
  /** Sum of childQty, common lots. */
  filledQty = 0;
  childCount = 0;
  /** False when the mixed-lot fallback decided (feasible, maybe not optimal). */
  exact = true;
  /** Per venue: child quantity (common lots, 0 = no child), its limit (common ticks), levels swept. */
  readonly childQty: Float64Array;
  readonly childLimit: Float64Array;
  readonly childLevels: Int32Array;
  /**
   * Objective in common ticks x common lots x millionths, as hi * 2^32 + lo (exact past 2^53):
   * for a buy the effective cost, for a sell the effective proceeds (fees and latency penalty in).
   */
  objectiveHi = 0;
  objectiveLo = 0;

  constructor(readonly maxVenues: number) {
    this.childQty = new Float64Array(maxVenues);
    this.childLimit = new Float64Array(maxVenues);
    this.childLevels = new Int32Array(maxVenues);
  }

  /** The objective as a bigint (allocates: not for the hot path). */
  objective(): bigint {
    return BigInt(this.objectiveHi) * BigInt(TWO32) + BigInt(this.objectiveLo);
  }
}

/** Working memory of decideRoute, sized once. */
export class RoutingScratch {
  readonly maxVenues: number;
  readonly maxLevels: number;
  readonly dpCells: number;
  // per venue
  readonly usable: Int32Array; // usable levels (within the limit)
  readonly hi: Float64Array; // usable depth
  readonly lo: Float64Array; // least child qty meeting the min notional (0 when excluded)
  readonly loLevel: Int32Array; // level that holds the lo-th lot
  readonly loRest: Float64Array; // qty of loLevel inside lo
  readonly loNotional: Float64Array; // sum p x q of the first lo lots
  readonly rate: Float64Array; // 1e6 + fee + penalty (buy) or 1e6 - fee - penalty (sell)
  readonly eligible: Int32Array; // venue indices
  readonly state: Uint8Array; // FREE / FORCED / EXCLUDED at the current branch-and-bound node
  readonly bestState: Uint8Array;
  readonly taken: Float64Array;
  readonly notional: Float64Array;
  // merged level order
  readonly orderVenue: Int32Array;
  readonly orderLevel: Int32Array;
  readonly cursor: Int32Array;
  readonly headKey: Float64Array;
  /** Entries of orderVenue / orderLevel merged so far, and the side they were merged for. */
  merged = 0;
  mergeBuy = true;
  // dynamic program
  readonly dpA: Float64Array;
  readonly dpB: Float64Array;
  readonly choice: Float64Array;
  /** The last objectiveOf, hi * 2^32 + lo. */
  objHi = 0;
  objLo = 0;
  /** Best feasible split found by the branch and bound. */
  found = false;
  bestT = 0;
  bestHi = 0;
  bestLo = 0;

  /** dpCells: (children + 1) x (quantity steps + 1) states the mixed-lot program may use (default 16384). */
  constructor(maxVenues: number, maxLevels: number, dpCells = 16_384) {
    this.maxVenues = maxVenues;
    this.maxLevels = maxLevels;
    this.dpCells = dpCells;
    this.usable = new Int32Array(maxVenues);
    this.hi = new Float64Array(maxVenues);
    this.lo = new Float64Array(maxVenues);
    this.loLevel = new Int32Array(maxVenues);
    this.loRest = new Float64Array(maxVenues);
    this.loNotional = new Float64Array(maxVenues);
    this.rate = new Float64Array(maxVenues);
    this.eligible = new Int32Array(maxVenues);
    this.state = new Uint8Array(maxVenues);
    this.bestState = new Uint8Array(maxVenues);
    this.taken = new Float64Array(maxVenues);
    this.notional = new Float64Array(maxVenues);
    this.orderVenue = new Int32Array(maxVenues * maxLevels);
    this.orderLevel = new Int32Array(maxVenues * maxLevels);
    this.cursor = new Int32Array(maxVenues);
    this.headKey = new Float64Array(maxVenues);
    this.dpA = new Float64Array(dpCells);
    this.dpB = new Float64Array(dpCells);
    this.choice = new Float64Array(dpCells * maxVenues);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Least q with q x price >= min (integers < 2^53), without trusting float division near 2^53. */
function ceilDiv(min: number, price: number): number {
  let q = Math.ceil(min / price);
  while (q > 0 && (q - 1) * price >= min) q--;
  while (q * price < min) q++;
  return q;
}

/**
 * Decides the split of `p` into `out`. Returns out.status. Never allocates; never throws on
 * bad input (DECISION_INVALID / DECISION_OUT_OF_RANGE leave no children).
 */
export function decideRoute(p: RoutingProblem, out: RoutingDecision, s: RoutingScratch): number {
  const V = p.venueCount;
  const L = p.maxLevels;
  out.filledQty = 0;
  out.childCount = 0;
  out.exact = true;
  out.objectiveHi = 0;
  out.objectiveLo = 0;
  for (let v = 0; v < V; v++) {
    out.childQty[v] = 0;
    out.childLimit[v] = 0;
    out.childLevels[v] = 0;
  }
  out.status = DECISION_INVALID;
  if (V > s.maxVenues || L > s.maxLevels || V > out.maxVenues) return out.status;
  const buy = p.side === SIDE_BUY;
  if (p.side !== SIDE_BUY && p.side !== SIDE_SELL) return out.status;
  if (!Number.isSafeInteger(p.qty) || p.qty < 0 || !Number.isSafeInteger(p.limit) || p.limit < 0) return out.status;
  const limit = p.limit;

  // ---- per venue: usable levels, depth, the min-notional floor, the effective rate ----------
  let E = 0;
  let maxPrice = 0;
  let maxUnit = 0;
  for (let v = 0; v < V; v++) {
    s.usable[v] = 0;
    s.hi[v] = 0;
    s.lo[v] = 0;
    const m = p.lotMult[v]!;
    if (p.healthy[v] !== 1 || p.headroom[v]! <= 0) continue;
    if (!Number.isSafeInteger(m) || m < 1) return out.status;
    const r = p.feeRate[v]! + p.latencyRate[v]!;
    if (p.latencyRate[v]! < 0 || r <= -RATE_ONE || r >= RATE_ONE) return out.status;
    const rate = buy ? RATE_ONE + r : RATE_ONE - r;
    s.rate[v] = rate;
    const base = v * L;
    const n = Math.min(p.levelCount[v]!, L);
    let usable = 0;
    let depth = 0;
    let prev = 0;
    for (let l = 0; l < n; l++) {
      const px = p.price[base + l]!;
      const q = p.depth[base + l]!;
      // integers in (0, 2^53): cheaper than Number.isSafeInteger on the hot path
      if (!(px > 0 && px <= Number.MAX_SAFE_INTEGER && Math.floor(px) === px)) return out.status;
      if (!(q >= 0 && q <= Number.MAX_SAFE_INTEGER && Math.floor(q) === q) || (m !== 1 && q % m !== 0)) return out.status;
      // best first, strictly: anything else ends the usable part (a crossed or unsorted view)
      if (l > 0 && (buy ? px <= prev : px >= prev)) break;
      if (limit > 0 && (buy ? px > limit : px < limit)) break;
      if (q === 0) break;
      prev = px;
      usable++;
      depth += q;
    }
    if (usable === 0) continue;
    const worst = p.price[base + usable - 1]!;
    const best = p.price[base]!;
    const top = buy ? worst : best;
    if (top > maxPrice) maxPrice = top;
    const unit = top * rate;
    if (unit > maxUnit) maxUnit = unit;
    // A child's limit is the deepest level it takes (writeChild), and the venue checks limit x
    // qty against its minimum notional. The floor is the least quantity from which every larger
    // one passes: for a buy that is the least that passes (limit x qty grows with qty); for a
    // sell a deeper level is a lower limit, and a small child at a high bid that passes while
    // the next lots, one level down, do not is left out (the solver needs {0} u [floor, depth]).
    // A limit at the worst usable level whatever the child took once made a market parent's
    // child carry a price far past the touch, and price_band refused the parent whole.
    const mn = p.minNotional[v]!;
    if (!Number.isSafeInteger(mn) || mn < 0) return out.status;
    let lastBad = 0;
    if (mn > 0) {
      let before = 0;
      for (let l = 0; l < usable; l++) {
        const px = p.price[base + l]!;
        const after = before + p.depth[base + l]!;
        if (px * (before + m) < mn) {
          // the lots of this level whose child is under the minimum: those short of ceil(mn / px)
          const bad = Math.floor((ceilDiv(mn, px) - 1) / m) * m;
          lastBad = bad < after ? bad : after;
        }
        before = after;
      }
    }
    const lo = lastBad + m;
    if (lo > depth) continue;
    s.usable[v] = usable;
    s.hi[v] = depth;
    s.lo[v] = lo;
    // the first lo lots: which level holds the lo-th, how much of it, their notional
    let need = lo;
    let notional = 0;
    let l = 0;
    for (; l < usable; l++) {
      const q = p.depth[base + l]!;
      if (q >= need) break;
      need -= q;
      notional += q * p.price[base + l]!;
    }
    s.loLevel[v] = l;
    s.loRest[v] = need;
    s.loNotional[v] = notional + need * p.price[base + l]!;
    s.eligible[E++] = v;
  }
  // Everything below stays exact while one venue's notional and every unit cost fit 2^53.
  if (p.qty * maxPrice > Number.MAX_SAFE_INTEGER || maxUnit > Number.MAX_SAFE_INTEGER) {
    out.status = DECISION_OUT_OF_RANGE;
    return out.status;
  }
  out.status = DECISION_OK;
  if (E === 0 || p.qty === 0 || p.maxChildren < 1) return out.status;

  // ---- merged order of every usable level by effective unit price (a V-way merge) -------------
  let total = 0;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    s.cursor[v] = 0;
    total += s.usable[v]!;
    const u = p.price[v * L]! * s.rate[v]!;
    s.headKey[v] = buy ? u : -u;
  }
  s.merged = 0;
  s.mergeBuy = buy;

  let sameLot = true;
  let g = p.lotMult[s.eligible[0]!]!;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    const m = p.lotMult[v]!;
    if (m !== p.lotMult[s.eligible[0]!]!) sameLot = false;
    g = gcd(g, m);
  }
  const kMax = Math.min(p.maxChildren, E);

  if (!sameLot) {
    const steps = Math.floor(p.qty / g);
    const cells = (kMax < E ? kMax + 1 : 1) * (steps + 1);
    if (cells <= s.dpCells && (steps * g) * maxPrice * 2 * RATE_ONE <= Number.MAX_SAFE_INTEGER) {
      solveByProgram(p, out, s, E, g, steps, kMax, buy);
      return out.status;
    }
    out.exact = false; // the sweep below with per-venue lot rounding: feasible, maybe not optimal
  }

  // ---- branch and bound over the min-notional floors and the child cap ------------------------
  // Relaxation at a node: venues FREE take any multiple of their lot from 0 (floor ignored),
  // FORCED ones start at their floor, EXCLUDED ones take nothing. With one lot grid the greedy
  // sweep solves it exactly, so it bounds its subtree: a node is split only while its relaxed
  // solution breaks a floor or the child cap, on one venue (excluded / forced), and pruned when
  // it cannot beat the best feasible split found. Most books end at the root.
  const qEff = sameLot ? Math.floor(p.qty / g) * g : p.qty;
  for (let e = 0; e < E; e++) s.state[s.eligible[e]!] = FREE;
  s.found = false;
  s.bestT = 0;
  branch(p, s, E, total, qEff, kMax, buy, 0);
  if (!s.found || s.bestT <= 0) return out.status;
  for (let e = 0; e < E; e++) s.state[s.eligible[e]!] = s.bestState[s.eligible[e]!]!;
  sweep(p, s, E, total, qEff);
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    if (s.taken[v]! > 0) writeChild(p, s, out, v, s.taken[v]!);
  }
  out.objectiveHi = s.bestHi;
  out.objectiveLo = s.bestLo;
  return out.status;
}

/**
 * Extends the merged order of levels (by effective unit price, a V-way merge of the venues'
 * best-first levels) to k + 1 entries. Lazy: a parent that sweeps a few levels merges a few.
 */
function mergeThrough(p: RoutingProblem, s: RoutingScratch, E: number, k: number): void {
  const L = p.maxLevels;
  const buy = s.mergeBuy;
  while (s.merged <= k) {
    let bestV = -1;
    let bestKey = Infinity;
    for (let e = 0; e < E; e++) {
      const v = s.eligible[e]!;
      const key = s.headKey[v]!; // Infinity once the venue's levels are all merged
      if (key < bestKey) {
        bestV = v;
        bestKey = key;
      }
    }
    const c = s.cursor[bestV]!;
    s.orderVenue[s.merged] = bestV;
    s.orderLevel[s.merged] = c;
    s.merged++;
    s.cursor[bestV] = c + 1;
    if (c + 1 < s.usable[bestV]!) {
      const u = p.price[bestV * L + c + 1]! * s.rate[bestV]!;
      s.headKey[bestV] = buy ? u : -u;
    } else {
      s.headKey[bestV] = Infinity;
    }
  }
}

const FREE = 0;
const FORCED = 1;
const EXCLUDED = 2;

/** (t, hi, lo) strictly better than the best found: more filled, then cheaper (sell: more proceeds). */
function beatsBest(s: RoutingScratch, t: number, hi: number, lo: number, buy: boolean): boolean {
  if (!s.found || t !== s.bestT) return !s.found || t > s.bestT;
  const cmp = hi !== s.bestHi ? hi - s.bestHi : lo - s.bestLo;
  return buy ? cmp < 0 : cmp > 0;
}

function branch(p: RoutingProblem, s: RoutingScratch, E: number, total: number, qEff: number, kMax: number, buy: boolean, forced: number): void {
  if (forced > kMax) return;
  const t = sweep(p, s, E, total, qEff);
  if (t < 0 || !beatsBest(s, t, s.objHi, s.objLo, buy)) return;
  let pick = -1;
  let active = 0;
  let leastFreeActive = -1;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    const q = s.taken[v]!;
    if (q === 0) continue;
    active++;
    if (s.state[v] !== FREE) continue;
    if (leastFreeActive < 0 || q < s.taken[leastFreeActive]!) leastFreeActive = v;
    if (q < s.lo[v]! && pick < 0) pick = v;
  }
  let excludeFirst = false;
  if (pick < 0 && active > kMax) {
    // Too many venues: the one taking least is the likeliest to go; trying that first finds a
    // good split early, and the bound then prunes most of the rest.
    pick = leastFreeActive;
    excludeFirst = true;
  }
  if (pick < 0) {
    s.found = true;
    s.bestT = t;
    s.bestHi = s.objHi;
    s.bestLo = s.objLo;
    for (let e = 0; e < E; e++) s.bestState[s.eligible[e]!] = s.state[s.eligible[e]!]!;
    return;
  }
  if (excludeFirst) {
    s.state[pick] = EXCLUDED;
    branch(p, s, E, total, qEff, kMax, buy, forced);
  }
  s.state[pick] = FORCED;
  branch(p, s, E, total, qEff, kMax, buy, forced + 1);
  if (!excludeFirst) {
    s.state[pick] = EXCLUDED;
    branch(p, s, E, total, qEff, kMax, buy, forced);
  }
  s.state[pick] = FREE;
}

/**
 * The relaxation of one node: forced venues start at their floor (their cheapest lo lots), then
 * every level of a forced or free venue is taken in merged order, each take a multiple of the
 * venue's lot. Returns the quantity taken (-1 when the forced floors do not fit), leaving each
 * venue's qty and notional in s.taken / s.notional and the objective in s.objHi / s.objLo.
 */
function sweep(p: RoutingProblem, s: RoutingScratch, E: number, total: number, qEff: number): number {
  let remaining = qEff;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    if (s.state[v] === FORCED) {
      remaining -= s.lo[v]!;
      s.taken[v] = s.lo[v]!;
      s.notional[v] = s.loNotional[v]!;
    } else {
      s.taken[v] = 0;
      s.notional[v] = 0;
    }
  }
  if (remaining < 0) return -1;
  for (let k = 0; k < total && remaining > 0; k++) {
    if (k >= s.merged) mergeThrough(p, s, E, k);
    const v = s.orderVenue[k]!;
    const st = s.state[v]!;
    if (st === EXCLUDED) continue;
    const l = s.orderLevel[k]!;
    const idx = v * p.maxLevels + l;
    let avail = p.depth[idx]!;
    if (st === FORCED) {
      const ll = s.loLevel[v]!;
      if (l < ll) continue;
      if (l === ll) avail -= s.loRest[v]!;
      if (avail <= 0) continue;
    }
    const m = p.lotMult[v]!;
    let take = avail < remaining ? avail : remaining;
    if (m !== 1) take -= take % m;
    if (take <= 0) continue;
    s.taken[v] = s.taken[v]! + take;
    s.notional[v] = s.notional[v]! + take * p.price[idx]!;
    remaining -= take;
  }
  objectiveOf(s, E);
  return qEff - remaining;
}

/** sum over venues of notional x rate, exact, into s.objHi * 2^32 + s.objLo. */
function objectiveOf(s: RoutingScratch, E: number): void {
  let hi = 0;
  let lo = 0;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    const n = s.notional[v]!;
    if (n === 0) continue;
    const rate = s.rate[v]!;
    const nh = Math.floor(n / TWO32);
    const nl = n - nh * TWO32;
    hi += nh * rate;
    lo += nl * rate;
    const carry = Math.floor(lo / TWO32);
    hi += carry;
    lo -= carry * TWO32;
  }
  s.objHi = hi;
  s.objLo = lo;
}

function writeChild(p: RoutingProblem, s: RoutingScratch, out: RoutingDecision, v: number, qty: number): void {
  const L = p.maxLevels;
  out.childQty[v] = qty;
  let need = qty;
  let l = 0;
  while (need > 0) need -= p.depth[v * L + l++]!;
  // no further than it takes: a limit past its last level would be refused by a price band
  // (docs/risk.md) for liquidity the child does not need
  out.childLimit[v] = p.price[v * L + l - 1]!;
  out.childLevels[v] = l;
  out.filledQty += qty;
  out.childCount++;
}

/**
 * Mixed lots: dp[c][t] = least effective cost (a sell: least negative proceeds) of t x g common
 * lots in c children over the venues seen so far. Values stay below 2^53 (checked by the caller).
 */
function solveByProgram(p: RoutingProblem, out: RoutingDecision, s: RoutingScratch, E: number, g: number, steps: number, kMax: number, buy: boolean): void {
  const L = p.maxLevels;
  const W = steps + 1;
  // The child count is a dimension only when the cap can bind (fewer allowed than venues).
  const counted = kMax < E;
  const layers = counted ? kMax + 1 : 1;
  const cells = layers * W;
  let cur = s.dpA;
  let nxt = s.dpB;
  cur.fill(Infinity, 0, cells);
  cur[0] = 0;
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    const m = p.lotMult[v]!;
    const rate = s.rate[v]!;
    const lo = s.lo[v]!;
    const hi = s.hi[v]!;
    const usable = s.usable[v]!;
    const stepLots = m / g;
    const ch = e * cells;
    for (let i = 0; i < cells; i++) {
      nxt[i] = cur[i]!;
      s.choice[ch + i] = 0;
    }
    for (let c = 0; c < (counted ? kMax : 1); c++) {
      const into = counted ? c + 1 : 0;
      for (let t = 0; t < W; t++) {
        const base = cur[c * W + t]!;
        if (base === Infinity) continue;
        let cost = 0;
        let q = 0;
        let level = 0;
        let left = p.depth[v * L]!;
        let tt = t;
        while (level < usable) {
          tt += stepLots;
          if (tt > steps || q + m > hi) break;
          // m lots more, possibly across levels (a level holds whole venue lots)
          let need = m;
          while (need > 0) {
            if (left === 0) {
              level++;
              left = p.depth[v * L + level]!;
            }
            const takeHere = left < need ? left : need;
            const u = p.price[v * L + level]! * rate;
            cost += buy ? takeHere * u : -takeHere * u;
            left -= takeHere;
            need -= takeHere;
          }
          q += m;
          if (q < lo) continue;
          const at = into * W + tt;
          const val = base + cost;
          if (val < nxt[at]!) {
            nxt[at] = val;
            s.choice[ch + at] = q;
          }
        }
      }
    }
    const tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
  // the largest quantity reachable, then the least cost over child counts
  let bestT = -1;
  let bestC = -1;
  for (let t = steps; t > 0 && bestT < 0; t--) {
    let bestVal = Infinity;
    for (let c = counted ? 1 : 0; c < layers; c++) {
      const val = cur[c * W + t]!;
      if (val < bestVal) {
        bestVal = val;
        bestC = c;
      }
    }
    if (bestVal !== Infinity) bestT = t;
  }
  if (bestT < 0) return;
  let c = bestC;
  let t = bestT;
  for (let e = E - 1; e >= 0; e--) {
    const q = s.choice[e * cells + c * W + t]!;
    const v = s.eligible[e]!;
    s.taken[v] = q;
    s.notional[v] = 0;
    if (q > 0) {
      if (counted) c--;
      t -= q / g;
    }
  }
  // notionals of the chosen children, then the exact objective
  for (let e = 0; e < E; e++) {
    const v = s.eligible[e]!;
    let need = s.taken[v]!;
    if (need === 0) continue;
    let n = 0;
    for (let l = 0; need > 0; l++) {
      const q = p.depth[v * L + l]!;
      const take = q < need ? q : need;
      n += take * p.price[v * L + l]!;
      need -= take;
    }
    s.notional[v] = n;
    writeChild(p, s, out, v, s.taken[v]!);
  }
  objectiveOf(s, E);
  out.objectiveHi = s.objHi;
  out.objectiveLo = s.objLo;
}
