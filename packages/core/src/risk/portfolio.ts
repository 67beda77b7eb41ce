import type { Instrument } from '../domain/instrument.js';
import { formatScaled, lotsToQty, pow10n } from '../domain/instrument.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import type { ExecutionReport } from '../domain/orders.js';
import { describeGrid, sameGrid } from './grid.js';

/** Amounts from different instruments are summed at this exponent (quote units x 10^-18). */
export const COMMON_EXPONENT = 18;

/**
 * Quote atoms at `exponent` -> the common exponent: exact for an exponent up to 18. An instrument
 * whose tick x lot is finer (a tick of 1e-12 and a lot of 1e-8 on a low-priced token: 1e-20) is
 * rounded toward zero to 1e-18 quote units: what is lost is below any money, and equity, drawdown
 * and limits keep working (a throw here once stopped every evaluation, drawdown HALT included).
 */
export function toCommon(atoms: bigint, exponent: number): bigint {
  return exponent <= COMMON_EXPONENT ? atoms * pow10n(COMMON_EXPONENT - exponent) : atoms / pow10n(exponent - COMMON_EXPONENT);
}

export interface PositionSnapshot {
  exchange: string;
  symbol: string;
  /** Signed lots. */
  qty: number;
  /** Decimal strings in instrument units. */
  quantity: string;
  avgEntryPrice: string | null;
  realizedPnl: string;
  unrealizedPnl: string;
  fees: string;
}

interface Lot {
  price: number;
  qty: number;
}

/**
 * One instrument's position, booked first-in first-out so realized PnL is exact in integers:
 * every closed lot contributes (exit - entry) x qty ticks*lots, no averaging, no rounding.
 */
export class Position {
  qty = 0;
  /** Open lots, oldest first; all on the side of `qty`. */
  private readonly lots: Lot[] = [];
  /** Realized PnL in ticks x lots (of `instrument`'s grid; what came before a regrid is in `carriedRealized`). */
  realizedTicksLots = 0n;
  /** Sum of entry price x qty over `lots`, kept as they change (read on every equity evaluation). */
  private cost = 0n;
  feeAtoms = 0n;
  /**
   * The last fill's price in ticks (Portfolio.applyFill sets it): the mark while nothing better
   * is known. After a regrid that left it off the new tick grid, rounded against the position.
   */
  lastPrice: number | undefined;
  /**
   * The last fill's exact price, quote units x 10^-exponent per base unit, while it is off the
   * tick grid (a regrid moved the position onto a coarser tick): `lastPrice` holds it rounded.
   * The next fill clears it.
   */
  private lastFillExact: { value: bigint; exponent: number } | undefined;
  /**
   * Realized PnL and fees booked under an earlier definition of the instrument (before `regrid`),
   * x 10^-COMMON_EXPONENT: a quote amount needs no tick grid, and these cannot always be counted
   * in the new one.
   */
  carriedRealized = 0n;
  carriedFees = 0n;

  /** The definition the position's ticks and lots are counted in: only `regrid` moves it to another grid. */
  constructor(public instrument: Instrument) {}

  applyFill(side: 'buy' | 'sell', price: number, qty: number, feeAtoms: bigint): void {
    const dir = side === 'buy' ? 1 : -1;
    let remaining = qty;
    this.feeAtoms += feeAtoms;
    this.lastFillExact = undefined;
    // Close against opposite-side lots first.
    while (remaining > 0 && this.lots.length > 0 && Math.sign(this.qty) === -dir) {
      const lot = this.lots[0]!;
      const take = Math.min(lot.qty, remaining);
      // Long closed by a sell: (exit - entry); short closed by a buy: (entry - exit).
      this.realizedTicksLots += BigInt(dir === -1 ? price - lot.price : lot.price - price) * BigInt(take);
      this.cost -= BigInt(lot.price) * BigInt(take);
      lot.qty -= take;
      remaining -= take;
      this.qty += dir * take;
      if (lot.qty === 0) this.lots.shift();
    }
    if (remaining > 0) {
      this.lots.push({ price, qty: remaining });
      this.cost += BigInt(price) * BigInt(remaining);
      this.qty += dir * remaining;
    }
  }

  /** Sum of entry price x qty over open lots. */
  costTicksLots(): bigint {
    return this.cost;
  }

  /**
   * Puts the position on another definition of its instrument: a venue changed the tick or lot
   * size between runs, and from now on fills and marks come in the new increments. The holding
   * as a whole must be a whole number of the new lots; otherwise nothing changes and the problem
   * is returned (it can neither be booked nor traded). The FIFO lots are re-split into new lots
   * in their order: a new lot that takes quantity from several old ones (0.015 + 0.005 BTC at a
   * new lot of 0.01) gets their weighted entry. An entry price off the new tick grid is rounded
   * against the position (a long's up, a short's down) and the difference is carried into
   * realized PnL, so equity is unchanged to the atom and an unrealized gain is never overstated.
   * The last fill (a mark while nothing better is known) keeps its exact price: see
   * `lastFillResidualCommon`. Realized PnL and fees so far move to the carried amounts. The same
   * definition on another object (a restored position) is simply adopted.
   */
  regrid(to: Instrument): string | undefined {
    return this.move(to, true);
  }

  /** What `regrid(to)` would refuse, without changing anything. */
  regridProblem(to: Instrument): string | undefined {
    return this.move(to, false);
  }

  private move(to: Instrument, apply: boolean): string | undefined {
    const from = this.instrument;
    if (from === to) return undefined;
    if (sameGrid(from, to)) {
      if (!apply) return undefined;
      this.instrument = to;
      return undefined;
    }
    const dir = this.qty >= 0 ? 1n : -1n;
    // Both grids in one finer unit each: prices at 10^-px, quantities at 10^-qx (exact decimals).
    const px = Math.max(from.priceScale.exponent, to.priceScale.exponent);
    const qx = Math.max(from.qtyScale.exponent, to.qtyScale.exponent);
    const oldTick = from.priceScale.mantissa * pow10n(px - from.priceScale.exponent);
    const newTick = to.priceScale.mantissa * pow10n(px - to.priceScale.exponent);
    const oldLot = from.qtyScale.mantissa * pow10n(qx - from.qtyScale.exponent);
    const newLot = to.qtyScale.mantissa * pow10n(qx - to.qtyScale.exponent);
    const held = BigInt(Math.abs(this.qty)) * oldLot;
    if (held % newLot !== 0n || held / newLot > MAX_UNITS) {
      return `${from.exchange}:${from.symbol}: the open position of ${lotsToQty(from, this.qty)} ${from.base} is not a whole number of the new lot size (${describeGrid(from)} -> ${describeGrid(to)})`;
    }
    const moved: Lot[] = [];
    // what rounding the entries moved into realized PnL, x 10^-(px + qx)
    let carry = 0n;
    let problem: string | undefined;
    /** `count` new lots that cost `cost` (fine price x fine quantity) in all. */
    const book = (cost: bigint, count: bigint): void => {
      const whole = newTick * newLot * count;
      // cost > 0: the quotient is rounded down, a short's way; a long's is rounded up
      let price = cost / whole;
      if (cost % whole !== 0n) {
        if (dir > 0n) price += 1n;
        carry += dir * (price * whole - cost);
      }
      if (price <= 0n || price > MAX_UNITS) {
        problem ??= `${from.exchange}:${from.symbol}: an open lot's entry price of ${cost / (oldTick * newLot * count)} ticks has no place on the new grid (${describeGrid(from)} -> ${describeGrid(to)})`;
        return;
      }
      const last = moved[moved.length - 1];
      if (last !== undefined && last.price === Number(price)) last.qty += Number(count);
      else moved.push({ price: Number(price), qty: Number(count) });
    };
    // a new lot being filled from the old ones in FIFO order: its quantity and cost so far
    let partQty = 0n;
    let partCost = 0n;
    for (const lot of this.lots) {
      let rest = BigInt(lot.qty) * oldLot;
      const price = BigInt(lot.price) * oldTick;
      if (partQty > 0n) {
        const take = rest < newLot - partQty ? rest : newLot - partQty;
        partQty += take;
        partCost += take * price;
        rest -= take;
        if (partQty === newLot) {
          book(partCost, 1n);
          partQty = 0n;
          partCost = 0n;
        }
      }
      const whole = rest / newLot;
      if (whole > 0n) {
        book(price * whole * newLot, whole);
        rest -= whole * newLot;
      }
      if (rest > 0n) {
        partQty = rest;
        partCost = rest * price;
      }
    }
    if (problem !== undefined) return problem;
    if (!apply) return undefined;
    const fromExp = from.priceScale.exponent + from.qtyScale.exponent;
    this.carriedRealized += toCommon(this.realizedTicksLots * from.priceScale.mantissa * from.qtyScale.mantissa, fromExp) + toCommon(carry, px + qx);
    this.carriedFees += toCommon(this.feeAtoms, fromExp);
    this.realizedTicksLots = 0n;
    this.feeAtoms = 0n;
    this.lots.length = 0;
    this.cost = 0n;
    let open = 0;
    for (const lot of moved) {
      this.lots.push(lot);
      this.cost += BigInt(lot.price) * BigInt(lot.qty);
      open += lot.qty;
    }
    this.qty = dir > 0n ? open : -open;
    if (this.lastPrice !== undefined) {
      const exact = this.lastFillExact ?? { value: BigInt(this.lastPrice) * from.priceScale.mantissa, exponent: from.priceScale.exponent };
      const e = Math.max(exact.exponent, to.priceScale.exponent);
      const value = exact.value * pow10n(e - exact.exponent);
      const tick = to.priceScale.mantissa * pow10n(e - to.priceScale.exponent);
      if (value % tick === 0n) {
        this.lastPrice = Number(value / tick);
        this.lastFillExact = undefined;
      } else {
        // in ticks, rounded so that it never flatters the position (the limits mark it so);
        // equity values the position at the exact price (lastFillResidualCommon)
        this.lastPrice = Number(this.qty < 0 ? value / tick + 1n : value / tick);
        this.lastFillExact = exact;
      }
    }
    this.instrument = to;
    return undefined;
  }

  /**
   * What valuing the position at its exact last fill adds to valuing it at `lastPrice`, x
   * 10^-COMMON_EXPONENT (0 unless a regrid left the last fill off the tick grid). With it, a
   * position marked at its last fill is worth after a regrid what it was worth before (the entry
   * rounding is carried into realized PnL), so a restart across a tick change shows no false
   * drawdown.
   */
  lastFillResidualCommon(): bigint {
    const x = this.lastFillExact;
    if (x === undefined || this.lastPrice === undefined || this.qty === 0) return 0n;
    const i = this.instrument;
    const e = Math.max(x.exponent, i.priceScale.exponent);
    const diff = x.value * pow10n(e - x.exponent) - BigInt(this.lastPrice) * i.priceScale.mantissa * pow10n(e - i.priceScale.exponent);
    return toCommon(diff * BigInt(this.qty) * i.qtyScale.mantissa, e + i.qtyScale.exponent);
  }

  /**
   * `lastFillResidualCommon` where `mark` (from `markOf`) is the position's last fill, else 0. A
   * mark equal to 2 x `lastPrice` may be a book mid that happens to equal it: `markOf` is asked
   * again without the last fill, and only a position it then has no mark for is marked at it.
   */
  residualAtMark(mark: number, markOf: (p: Position) => number | undefined): bigint {
    if (this.lastFillExact === undefined || this.lastPrice === undefined || mark !== 2 * this.lastPrice) return 0n;
    const last = this.lastPrice;
    this.lastPrice = undefined;
    let other: number | undefined;
    try {
      other = markOf(this);
    } finally {
      this.lastPrice = last;
    }
    return other === undefined ? this.lastFillResidualCommon() : 0n;
  }

  /** Realized PnL x 10^-COMMON_EXPONENT, what was carried over a regrid included. */
  realizedCommon(): bigint {
    const i = this.instrument;
    return this.carriedRealized + toCommon(this.realizedTicksLots * i.priceScale.mantissa * i.qtyScale.mantissa, i.priceScale.exponent + i.qtyScale.exponent);
  }

  /** Fees x 10^-COMMON_EXPONENT, what was carried over a regrid included. */
  feesCommon(): bigint {
    const i = this.instrument;
    return this.carriedFees + toCommon(this.feeAtoms, i.priceScale.exponent + i.qtyScale.exponent);
  }

  /** Unrealized PnL in ticks*lots at a mark price given in half-ticks (so a mid needs no rounding). */
  unrealizedHalfTicksLots(markHalfTicks: number): bigint {
    if (this.qty === 0) return 0n;
    const cost2 = 2n * this.costTicksLots();
    const value2 = BigInt(markHalfTicks) * BigInt(Math.abs(this.qty));
    return this.qty > 0 ? value2 - cost2 : cost2 - value2;
  }
}

/**
 * Positions and PnL across venues, in integer units. Equity here is trading PnL (realized +
 * unrealized - fees) summed across instruments that share a quote currency; the risk engine
 * adds starting capital and cash per asset.
 */
export class Portfolio {
  private readonly positions = new InstrumentMap<Position>();

  /**
   * The position on `instrument`, made when new. An existing one counted in another tick or lot
   * grid is an error, never a silent mix of units (a fill in the venue's new ticks once went into
   * a position still counted in the old ones): `Position.regrid` first. The same definition on
   * another object is adopted.
   */
  position(instrument: Instrument): Position {
    let p = this.positions.get(instrument.exchange, instrument.symbol);
    if (!p) {
      p = new Position(instrument);
      this.positions.set(instrument.exchange, instrument.symbol, p);
    } else if (p.instrument !== instrument) {
      if (!sameGrid(p.instrument, instrument)) {
        throw new Error(`${instrument.exchange}:${instrument.symbol}: an amount in ${describeGrid(instrument)} for a position counted in ${describeGrid(p.instrument)}; the position must be regridded first`);
      }
      p.instrument = instrument;
    }
    return p;
  }

  find(exchange: string, symbol: string): Position | undefined {
    return this.positions.get(exchange, symbol);
  }

  qty(exchange: string, symbol: string): number {
    return this.positions.get(exchange, symbol)?.qty ?? 0;
  }

  applyFill(instrument: Instrument, report: ExecutionReport): void {
    const p = this.position(instrument);
    p.applyFill(report.side, report.lastPrice, report.lastQty, report.feeAtoms);
    p.lastPrice = report.lastPrice;
  }

  /** Every position this process has held, flat ones included, in the order first traded. */
  all(): readonly Position[] {
    return this.positions.values();
  }

  /**
   * Totals in quote units x 10^-COMMON_EXPONENT. `markHalfTicks` gives each position's mark
   * (2 x mid, or 2 x last price); positions without a mark count no unrealized PnL.
   */
  totals(markHalfTicks: (p: Position) => number | undefined): { realized: bigint; unrealized: bigint; fees: bigint; equity: bigint } {
    let realized = 0n;
    let unrealized = 0n;
    let fees = 0n;
    for (const p of this.positions.values()) {
      const i = p.instrument;
      const scale = i.priceScale.mantissa * i.qtyScale.mantissa;
      const exp = i.priceScale.exponent + i.qtyScale.exponent;
      realized += toCommon(p.realizedTicksLots * scale, exp) + p.carriedRealized;
      fees += toCommon(p.feeAtoms, exp) + p.carriedFees;
      const mark = markHalfTicks(p);
      if (mark !== undefined) {
        // Halves rounded toward -infinity: an unrealized gain is never overstated.
        const half = p.unrealizedHalfTicksLots(mark) * scale;
        const floorHalf = half >= 0n ? half / 2n : -((-half + 1n) / 2n);
        unrealized += toCommon(floorHalf, exp) + p.residualAtMark(mark, markHalfTicks);
      }
    }
    return { realized, unrealized, fees, equity: realized + unrealized - fees };
  }

  snapshot(markHalfTicks: (p: Position) => number | undefined): PositionSnapshot[] {
    const out: PositionSnapshot[] = [];
    for (const p of this.positions.values()) {
      const i = p.instrument;
      const scale = i.priceScale.mantissa * i.qtyScale.mantissa;
      const exp = i.priceScale.exponent + i.qtyScale.exponent;
      const absQty = Math.abs(p.qty);
      const mark = markHalfTicks(p);
      const half = mark === undefined ? 0n : p.unrealizedHalfTicksLots(mark) * scale;
      const floorHalf = half >= 0n ? half / 2n : -((-half + 1n) / 2n);
      const residual = mark === undefined ? 0n : p.residualAtMark(mark, markHalfTicks);
      out.push({
        exchange: i.exchange,
        symbol: i.symbol,
        qty: p.qty,
        quantity: formatScaled(BigInt(p.qty) * i.qtyScale.mantissa, i.qtyScale.exponent),
        // Average entry to the price precision x 10^4, display only.
        avgEntryPrice: absQty === 0 ? null : formatScaled((p.costTicksLots() * i.priceScale.mantissa * 10000n) / BigInt(absQty), i.priceScale.exponent + 4),
        // in the instrument's own units unless something was carried over a regrid (common units)
        realizedPnl: p.carriedRealized === 0n ? formatScaled(p.realizedTicksLots * scale, exp) : commonToDecimal(p.realizedCommon()),
        // marked at an exact last fill off the tick grid (after a regrid): in common units
        unrealizedPnl: residual === 0n ? formatScaled(floorHalf, exp) : commonToDecimal(toCommon(floorHalf, exp) + residual),
        fees: p.carriedFees === 0n ? formatScaled(p.feeAtoms, exp) : commonToDecimal(p.feesCommon()),
      });
    }
    return out;
  }
}

/** Largest count of ticks or lots an amount may have (numbers in the engine are safe integers). */
const MAX_UNITS = BigInt(Number.MAX_SAFE_INTEGER);

export const commonToNumber = (v: bigint): number => Number(v) / 10 ** COMMON_EXPONENT;
export const commonToDecimal = (v: bigint): string => formatScaled(v, COMMON_EXPONENT);
