/**
 * The venues one parent can be split over (the same instrument on each: same base and quote),
 * put on one grid: the common tick and lot are the finest increments that divide every venue's
 * (the gcd at the largest decimal exponent), so each venue's tick and lot are whole multiples of
 * them and every price and quantity converts exactly. Built once per (venue, symbol) and reused
 * with its preallocated decision buffers.
 */
import type { BookView, MarketContext } from '../contracts/trading.js';
import { parseDecimal, type DecimalScale, type Instrument } from '../domain/instrument.js';
import type { RoutingConfig } from '../config/routing-schema.js';
import type { OrderIntent } from '../domain/orders.js';
import { RoutingDecision, RoutingProblem, RoutingScratch } from './decision.js';

export interface GroupVenue {
  readonly name: string;
  /** This venue's symbol for the instrument. */
  readonly symbol: string;
  readonly instrument: Instrument;
  /** Venue tick / lot in common ticks / lots. */
  readonly tickMult: number;
  readonly lotMult: number;
  /** Minimum notional in common ticks x common lots (rounded up). */
  readonly minNotional: number;
  /** Taker fee and fixed latency penalty, millionths of notional. */
  readonly feeRate: number;
  readonly fixedPenaltyRate: number;
  /** Quote atoms of this venue (notionalAtoms) -> common quote atoms: multiply by this. */
  readonly feeScale: bigint;
  /** Reused level buffer for BookView.topLevels. */
  readonly levels: { price: number; qty: number }[];
  /**
   * A child-shaped order on this venue (limit IOC; the side set per parent), reused to ask the
   * host whether the venue would take one (RouterHost.venueRefusal) without an object per ask.
   */
  readonly probe: OrderIntent;
}

export interface RouteGroup {
  readonly venues: GroupVenue[];
  /** Index in venues of the parent's own venue. */
  readonly parentIndex: number;
  readonly commonTick: DecimalScale;
  readonly commonLot: DecimalScale;
  readonly problem: RoutingProblem;
  readonly decision: RoutingDecision;
  readonly scratch: RoutingScratch;
}

function gcdBig(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The finest increment dividing every one of `scales`, and each scale as a multiple of it. */
export function commonScale(scales: readonly DecimalScale[]): { common: DecimalScale; mults: number[] } {
  const exponent = Math.max(...scales.map((s) => s.exponent));
  const mants = scales.map((s) => s.mantissa * 10n ** BigInt(exponent - s.exponent));
  const g = mants.reduce((a, b) => gcdBig(a, b));
  const mults = mants.map((m) => Number(m / g));
  if (mults.some((m) => !Number.isSafeInteger(m))) throw new RangeError('increments too far apart to share a grid');
  return { common: { mantissa: g, exponent }, mults };
}

/** Minimum notional (a decimal in quote units) in common ticks x lots, rounded up. */
function minNotionalUnits(minNotional: string, tick: DecimalScale, lot: DecimalScale): number {
  const d = parseDecimal(minNotional);
  if (d.mantissa <= 0n) return 0;
  // value = mant x 10^-exp; unit = tick.m x lot.m x 10^-(tick.e + lot.e)
  const shift = tick.exponent + lot.exponent - d.exponent;
  let num = d.mantissa;
  let den = tick.mantissa * lot.mantissa;
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den *= 10n ** BigInt(-shift);
  const units = (num + den - 1n) / den;
  return units > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(units);
}

/**
 * The group for a parent on (exchange, symbol), or undefined when the parent's venue is not
 * routed over or its instrument is unknown. Venues without the instrument are left out.
 */
export function buildRouteGroup(cfg: RoutingConfig, routedVenues: readonly string[], exchange: string, symbol: string, ctx: MarketContext): RouteGroup | undefined {
  if (!routedVenues.includes(exchange)) return undefined;
  const parent = ctx.instrument(exchange, symbol);
  if (!parent) return undefined;
  const found: { name: string; symbol: string; instrument: Instrument }[] = [];
  for (const name of routedVenues) {
    const sym = name === exchange ? symbol : (cfg.venue[name]?.symbols[symbol] ?? symbol);
    const inst = ctx.instrument(name, sym);
    if (!inst || inst.base !== parent.base || inst.quote !== parent.quote) continue;
    found.push({ name, symbol: sym, instrument: inst });
  }
  const ticks = commonScale(found.map((f) => f.instrument.priceScale));
  const lots = commonScale(found.map((f) => f.instrument.qtyScale));
  const commonAtomsExp = ticks.common.exponent + lots.common.exponent;
  const venues: GroupVenue[] = found.map((f, i) => {
    const vc = cfg.venue[f.name];
    const venueAtomsExp = f.instrument.priceScale.exponent + f.instrument.qtyScale.exponent;
    return {
      name: f.name,
      symbol: f.symbol,
      instrument: f.instrument,
      tickMult: ticks.mults[i]!,
      lotMult: lots.mults[i]!,
      minNotional: minNotionalUnits(f.instrument.minNotional, ticks.common, lots.common),
      feeRate: vc?.taker_fee_bps ?? cfg.default_taker_fee_bps,
      fixedPenaltyRate: vc?.latency_penalty_bps ?? 0,
      feeScale: 10n ** BigInt(commonAtomsExp - venueAtomsExp),
      levels: Array.from({ length: cfg.depth_levels }, () => ({ price: 0, qty: 0 })),
      probe: { exchange: f.name, symbol: f.symbol, side: 'buy', type: 'limit', price: 1, qty: 1, tif: 'IOC', source: 'router' },
    };
  });
  const n = venues.length;
  return {
    venues,
    parentIndex: venues.findIndex((v) => v.name === exchange),
    commonTick: ticks.common,
    commonLot: lots.common,
    problem: new RoutingProblem(n, cfg.depth_levels),
    decision: new RoutingDecision(n),
    scratch: new RoutingScratch(n, cfg.depth_levels, cfg.max_program_cells),
  };
}

/** Copies one venue's side of its book onto the group's grid; 0 levels when the book is missing. */
export function loadVenueLevels(g: RouteGroup, v: number, book: BookView | undefined, side: 'bid' | 'ask'): void {
  const p = g.problem;
  const gv = g.venues[v]!;
  if (!book) {
    p.levelCount[v] = 0;
    p.healthy[v] = 0;
    return;
  }
  const n = book.topLevels(side, p.maxLevels, gv.levels);
  const base = v * p.maxLevels;
  for (let l = 0; l < n; l++) {
    p.price[base + l] = gv.levels[l]!.price * gv.tickMult;
    p.depth[base + l] = gv.levels[l]!.qty * gv.lotMult;
  }
  p.levelCount[v] = n;
  p.healthy[v] = book.synced ? 1 : 0;
}
