import { parseDecimal, type Instrument } from '@cwts/core';

// Commission -> quote atoms is shared by every adapter: it lives in @cwts/core's adapter kit.
export { feeToQuoteAtoms } from '@cwts/core/adapter-kit';

/** A balance as whole lots, rounded toward zero (dust below one lot is not a position). */
export function lotsFloor(i: Instrument, amount: string): number {
  const d = parseDecimal(amount);
  // amount / (qm * 10^-qe) = m * 10^(qe - ex) / qm
  const shift = i.qtyScale.exponent - d.exponent;
  const num = shift >= 0 ? d.mantissa * 10n ** BigInt(shift) : d.mantissa;
  const den = (shift >= 0 ? 1n : 10n ** BigInt(-shift)) * i.qtyScale.mantissa;
  return Number(num / den);
}
