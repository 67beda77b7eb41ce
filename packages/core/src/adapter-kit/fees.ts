import { notionalExponent, parseDecimal, type Instrument } from '../domain/instrument.js';

/**
 * a / 10^k rounded toward +infinity: a fee is never understated and a rebate (negative) never
 * overstated, the same rule as core's feeAtoms (domain/instrument.ts).
 */
function divPow10Ceil(a: bigint, k: number): bigint {
  if (k <= 0) return a * 10n ** BigInt(-k);
  const d = 10n ** BigInt(k);
  const q = a / d; // bigint division truncates toward zero: already the ceiling for negatives
  return a > 0n && a % d !== 0n ? q + 1n : q;
}

/**
 * A venue commission (amount in `asset`) as quote atoms (the unit of ExecutionReport.feeAtoms:
 * 10^-notionalExponent quote). Quote-asset fees convert exactly; base-asset fees are valued at
 * the fill price. A third asset (BNB) has no price here: undefined, and the caller reports the
 * fee by its asset and amount instead. A negative amount (a maker rebate) stays negative and rounds toward zero.
 */
export function feeToQuoteAtoms(i: Instrument, amount: string, asset: string | null | undefined, priceTicks: number): bigint | undefined {
  const d = parseDecimal(amount);
  if (d.mantissa === 0n) return 0n;
  const e = notionalExponent(i);
  if (!asset || asset === i.quote) return divPow10Ceil(d.mantissa, d.exponent - e);
  if (asset === i.base) {
    // amount x price = m*10^-ex x ticks*pm*10^-pe, in units of 10^-e
    return divPow10Ceil(d.mantissa * BigInt(priceTicks) * i.priceScale.mantissa, d.exponent + i.priceScale.exponent - e);
  }
  return undefined;
}
