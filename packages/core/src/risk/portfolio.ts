import type { Instrument } from '../domain/instrument.js';
import { formatScaled, pow10n } from '../domain/instrument.js';
import { InstrumentMap } from '../domain/instrument-map.js';
import type { ExecutionReport } from '../domain/orders.js';

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
  /** Realized PnL in ticks x lots. */
  realizedTicksLots = 0n;
  /** Sum of entry price x qty over `lots`, kept as they change (read on every equity evaluation). */
  private cost = 0n;
  feeAtoms = 0n;
  lastPrice: number | undefined;

  constructor(readonly instrument: Instrument) {}

  applyFill(side: 'buy' | 'sell', price: number, qty: number, feeAtoms: bigint): void {
    const dir = side === 'buy' ? 1 : -1;
    let remaining = qty;
    this.feeAtoms += feeAtoms;
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

  position(instrument: Instrument): Position {
    let p = this.positions.get(instrument.exchange, instrument.symbol);
    if (!p) {
      p = new Position(instrument);
      this.positions.set(instrument.exchange, instrument.symbol, p);
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
      realized += toCommon(p.realizedTicksLots * scale, exp);
      fees += toCommon(p.feeAtoms, exp);
      const mark = markHalfTicks(p);
      if (mark !== undefined) {
        // Halves rounded toward -infinity: an unrealized gain is never overstated.
        const half = p.unrealizedHalfTicksLots(mark) * scale;
        const floorHalf = half >= 0n ? half / 2n : -((-half + 1n) / 2n);
        unrealized += toCommon(floorHalf, exp);
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
      out.push({
        exchange: i.exchange,
        symbol: i.symbol,
        qty: p.qty,
        quantity: formatScaled(BigInt(p.qty) * i.qtyScale.mantissa, i.qtyScale.exponent),
        // Average entry to the price precision x 10^4, display only.
        avgEntryPrice: absQty === 0 ? null : formatScaled((p.costTicksLots() * i.priceScale.mantissa * 10000n) / BigInt(absQty), i.priceScale.exponent + 4),
        realizedPnl: formatScaled(p.realizedTicksLots * scale, exp),
        unrealizedPnl: formatScaled(half >= 0n ? half / 2n : -((-half + 1n) / 2n), exp),
        fees: formatScaled(p.feeAtoms, exp),
      });
    }
    return out;
  }
}

export const commonToNumber = (v: bigint): number => Number(v) / 10 ** COMMON_EXPONENT;
export const commonToDecimal = (v: bigint): string => formatScaled(v, COMMON_EXPONENT);
