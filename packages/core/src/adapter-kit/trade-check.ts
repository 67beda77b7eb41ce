/**
 * Checks of a venue's trade values before anything is booked from them, shared by every
 * execution adapter: what a venue sends may be off the grid, zero, negative, in exponent form,
 * or not a string at all. Nothing here throws.
 */
import { decimalToUnits, type DecimalScale, type Instrument } from '../domain/instrument.js';

const PLAIN_DECIMAL = /^\d{1,30}(?:\.\d{1,30})?$/;
const SIGNED_DECIMAL = /^-?\d{1,30}(?:\.\d{1,30})?$/;

/** A plain decimal string ("0.00500000"; with `signed`, "-0.1" too): no exponent, no sign otherwise, at most 30 + 30 digits. */
export function isPlainDecimal(text: unknown, signed = false): text is string {
  return typeof text === 'string' && (signed ? SIGNED_DECIMAL : PLAIN_DECIMAL).test(text);
}

/** Units of a plain non-negative decimal string on the grid of `scale`, or undefined when it is not one. */
export function gridUnits(text: unknown, scale: DecimalScale): number | undefined {
  if (!isPlainDecimal(text)) return undefined;
  try {
    return decimalToUnits(text, scale);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a trade's price and quantity on `i`, or undefined when nothing is: both
 * plain decimals, positive, on the instrument's grid, within 2^53 units.
 */
export function tradeValuesProblem(i: Instrument, price: unknown, qty: unknown): string | undefined {
  const lots = gridUnits(qty, i.qtyScale);
  if (lots === undefined || lots <= 0) return `trade quantity ${JSON.stringify(qty)?.slice(0, 40)} is not a positive quantity on the ${i.lotSize} grid`;
  const ticks = gridUnits(price, i.priceScale);
  if (ticks === undefined || ticks <= 0) return `trade price ${JSON.stringify(price)?.slice(0, 40)} is not a positive price on the ${i.tickSize} grid`;
  return undefined;
}

/**
 * A lookup table for words a venue sends (order states, time-in-force names, asset aliases):
 * frozen and without a prototype, so a hostile word such as "toString" or "__proto__" finds
 * nothing instead of an Object.prototype member.
 */
export function venueTable<V>(entries: Readonly<Record<string, V>>): Readonly<Record<string, V | undefined>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, V>, entries));
}
