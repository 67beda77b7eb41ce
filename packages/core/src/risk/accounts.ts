import { formatScaled, notionalExponent, parseDecimal, pow10n, type Instrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import { COMMON_EXPONENT, toCommon } from './portfolio.js';

/** A decimal string or a finite number, as an amount x 10^-COMMON_EXPONENT, exactly. */
export function amountToCommon(amount: string | number): bigint {
  const text = typeof amount === 'number' ? numberToDecimal(amount) : amount.trim();
  const d = parseDecimal(text);
  if (d.exponent > COMMON_EXPONENT) throw new RangeError(`amount ${text} has more than ${COMMON_EXPONENT} decimals`);
  return d.mantissa * pow10n(COMMON_EXPONENT - d.exponent);
}

function numberToDecimal(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`amount must be finite, got ${x}`);
  return x.toFixed(12).replace(/\.?0+$/, '').replace(/^-0$/, '0');
}

export interface Balance {
  exchange: string;
  asset: string;
  /** Decimal string in asset units. */
  amount: string;
}

/**
 * Cash per venue and asset, booked from fills: a buy adds base and pays quote notional plus the
 * fee; a sell the reverse. Amounts are bigint at 10^-COMMON_EXPONENT, so nothing overflows.
 * Fees are in quote atoms (ExecutionReport.feeAtoms) and charged to the quote asset.
 */
export class CashLedger {
  private readonly cash = new Map<string, Map<string, bigint>>();

  constructor(initial: readonly Balance[] = []) {
    for (const b of initial) this.add(b.exchange, b.asset, amountToCommon(b.amount));
  }

  add(exchange: string, asset: string, common: bigint): void {
    let m = this.cash.get(exchange);
    if (!m) {
      m = new Map();
      this.cash.set(exchange, m);
    }
    m.set(asset, (m.get(asset) ?? 0n) + common);
  }

  applyFill(i: Instrument, r: Pick<ExecutionReport, 'side' | 'lastPrice' | 'lastQty' | 'feeAtoms'>): void {
    const base = toCommon(BigInt(r.lastQty) * i.qtyScale.mantissa, i.qtyScale.exponent);
    const exp = notionalExponent(i);
    const quote = toCommon(BigInt(r.lastPrice) * i.priceScale.mantissa * BigInt(r.lastQty) * i.qtyScale.mantissa, exp);
    const fee = toCommon(r.feeAtoms, exp);
    if (r.side === 'buy') {
      this.add(i.exchange, i.base, base);
      this.add(i.exchange, i.quote, -quote - fee);
    } else {
      this.add(i.exchange, i.base, -base);
      this.add(i.exchange, i.quote, quote - fee);
    }
  }

  /** Amount x 10^-COMMON_EXPONENT; 0 when never touched. */
  get(exchange: string, asset: string): bigint {
    return this.cash.get(exchange)?.get(asset) ?? 0n;
  }

  snapshot(): Balance[] {
    const out: Balance[] = [];
    for (const [exchange, m] of this.cash) for (const [asset, v] of m) out.push({ exchange, asset, amount: formatScaled(v, COMMON_EXPONENT) });
    return out;
  }
}

/** Drawdown thresholds are compared exactly in integers at this resolution (1e-9). */
const RATIO_SCALE = 1_000_000_000n;

/**
 * Equity, its running peak and the drawdown from that peak, all bigint at 10^-COMMON_EXPONENT.
 * Equity = starting capital + realized + unrealized - fees.
 */
export class EquityTracker {
  equity: bigint;
  peak: bigint;

  constructor(readonly startingCapital: bigint) {
    this.equity = startingCapital;
    this.peak = startingCapital;
  }

  /** Updates with trading PnL (realized + unrealized - fees); returns the new equity. */
  update(pnlCommon: bigint): bigint {
    this.equity = this.startingCapital + pnlCommon;
    if (this.equity > this.peak) this.peak = this.equity;
    return this.equity;
  }

  /** (peak - equity) / peak, in [0, 1] when peak > 0; 1 when the peak is not positive. */
  drawdownRatio(): number {
    if (this.peak <= 0n) return this.equity < this.peak ? 1 : 0;
    return Number(((this.peak - this.equity) * RATIO_SCALE) / this.peak) / Number(RATIO_SCALE);
  }

  /** Exact test drawdown >= threshold (threshold as a fraction, kept to 1e-9). */
  drawdownAtLeast(threshold: number): boolean {
    if (this.peak <= 0n) return this.equity < this.peak || threshold <= 0;
    // At the peak (after every fill that makes a new high) the drawdown is 0: no bigint products.
    if (this.equity >= this.peak) return this.scaledThreshold(threshold) <= 0n;
    return (this.peak - this.equity) * RATIO_SCALE >= this.scaledThreshold(threshold) * this.peak;
  }

  /** threshold x 1e9 as a bigint, for the last two thresholds asked (the hard and soft limits). */
  private scaledThreshold(threshold: number): bigint {
    if (threshold === this.t1) return this.s1;
    if (threshold === this.t2) return this.s2;
    this.t2 = this.t1;
    this.s2 = this.s1;
    this.t1 = threshold;
    this.s1 = BigInt(Math.round(threshold * 1e9));
    return this.s1;
  }
  private t1 = Number.NaN;
  private s1 = 0n;
  private t2 = Number.NaN;
  private s2 = 0n;

  /** After a manual resume the operator accepts the loss: the peak restarts at equity. */
  resetPeak(): void {
    this.peak = this.equity;
  }
}
