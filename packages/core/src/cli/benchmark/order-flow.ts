/**
 * Deterministic order flow for one symbol (`pnpm bench microstructure`, `cwts-ultra benchmark`) (seeded PRNG, no clock):
 * ~60% limit orders near a drifting mid (some marketable), ~25% cancels of resting orders,
 * ~10% market orders, ~5% IOC/FOK; sizes heavy-tailed (Pareto, alpha 1.5, capped).
 * Cancels target orders that are resting at that point of the flow: the generator runs the
 * flow through a MatchingEngine while generating (a deterministic function of the seed).
 */
import { MatchingEngine } from '../../microstructure/matching-engine.js';
import { mulberry32 } from './venue-frames.js';

export const OP_LIMIT = 0;
export const OP_CANCEL = 1;
export const OP_MARKET = 2;
export const OP_IOC = 3;
export const OP_FOK = 4;

export interface Flow {
  n: number;
  type: Uint8Array;
  side: Uint8Array;
  price: Float64Array;
  qty: Float64Array;
  id: Float64Array;
  counts: Record<string, number>;
}

export function generateFlow(n: number, seed: number): Flow {
  const rnd = mulberry32(seed);
  const f: Flow = { n, type: new Uint8Array(n), side: new Uint8Array(n), price: new Float64Array(n), qty: new Float64Array(n), id: new Float64Array(n), counts: { limit: 0, marketableLimit: 0, cancel: 0, market: 0, ioc: 0, fok: 0 } };
  const e = new MatchingEngine('GEN', { initialOrders: 1 << 16 });
  const resting: number[] = [];
  let mid = 100_000;
  let nextId = 1;
  const size = () => Math.min(1000, Math.floor(1 / Math.pow(1 - rnd(), 1 / 1.5)));
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.02) mid += rnd() < 0.5 ? -1 : 1;
    const side = rnd() < 0.5 ? 0 : 1;
    let r = rnd();
    let type = OP_LIMIT;
    if (r < 0.6) type = OP_LIMIT;
    else if (r < 0.85) type = OP_CANCEL;
    else if (r < 0.95) type = OP_MARKET;
    else type = rnd() < 0.5 ? OP_IOC : OP_FOK;
    if (type === OP_CANCEL) {
      let id = -1;
      while (resting.length > 0) {
        const k = Math.floor(rnd() * resting.length);
        const cand = resting[k]!;
        resting[k] = resting[resting.length - 1]!;
        resting.pop();
        if (e.openQty(cand) > 0) {
          id = cand;
          break;
        }
      }
      if (id < 0) type = OP_LIMIT;
      else {
        f.type[i] = OP_CANCEL;
        f.id[i] = id;
        e.cancel(id);
        f.counts.cancel!++;
        continue;
      }
    }
    const id = nextId++;
    const q = size();
    let price = 0;
    if (type === OP_LIMIT || type === OP_IOC || type === OP_FOK) {
      // distance from mid: mostly passive (1..~30 ticks), ~8% of limits marketable
      const marketable = type !== OP_LIMIT ? rnd() < 0.7 : rnd() < 0.08;
      const d = Math.floor(-Math.log(1 - rnd()) * 6);
      price = side === 0 ? (marketable ? mid + 1 + (d % 5) : mid - 1 - d) : marketable ? mid - 1 - (d % 5) : mid + 1 + d;
      if (type === OP_LIMIT && marketable) f.counts.marketableLimit!++;
    }
    f.type[i] = type;
    f.side[i] = side;
    f.price[i] = price;
    f.qty[i] = q;
    f.id[i] = id;
    const kind = type === OP_LIMIT ? 0 : type === OP_MARKET ? 1 : type === OP_IOC ? 2 : 3;
    e.submit(id, side as 0 | 1, kind as 0 | 1 | 2 | 3, price, q);
    if (type === OP_LIMIT && e.result.restingQty > 0) resting.push(id);
    f.counts[type === OP_LIMIT ? 'limit' : type === OP_MARKET ? 'market' : type === OP_IOC ? 'ioc' : 'fok']!++;
  }
  return f;
}
