import { decimalToUnits, type DecimalScale, type Instrument } from '../domain/instrument.js';

/**
 * Decimal strings -> integer units at the adapter edge, without a float and without allocating.
 *
 * `unitsOf(s, start, end, scale)` reads the decimal text s[start, end) ("0.00240000", "12",
 * "-3.5") and returns the exact number of `scale` increments, or NaN when the text is not a
 * plain decimal, is off the increment's grid, or needs more than 2^53 increments. It reads the
 * characters directly (the venue's string never becomes a JS number), so "0.1" stays exactly
 * 1 tick of "0.1". The slow exact path (`decimalToUnits`, bigint) is the reference it is tested
 * against and the fallback for anything unusual.
 */
export interface FastScale {
  /** Digits after the point of the increment ("0.05" -> 2). */
  readonly exp: number;
  /** Increment in units of 10^-exp ("0.05" -> 5). */
  readonly mant: number;
  readonly scale: DecimalScale;
}

export function fastScale(scale: DecimalScale): FastScale {
  const mant = Number(scale.mantissa);
  if (!Number.isSafeInteger(mant) || mant <= 0) throw new RangeError('increment mantissa out of range');
  return { exp: scale.exponent, mant, scale };
}

const POW10: number[] = [];
for (let k = 0, p = 1; k <= 22; k++, p *= 10) POW10.push(p);

export function unitsOf(s: string, start: number, end: number, sc: FastScale): number {
  let i = start;
  let neg = false;
  if (i < end && s.charCodeAt(i) === 45 /* - */) {
    neg = true;
    i++;
  }
  if (i >= end) return NaN;
  let v = 0;
  let digits = 0;
  let frac = -1; // fraction digits kept; -1 before the point
  let fracSeen = 0;
  const exp = sc.exp;
  for (; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (frac >= 0 || digits === 0) return NaN;
      frac = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return NaN;
    digits++;
    if (frac >= 0) {
      fracSeen++;
      if (frac >= exp) {
        // finer than the increment's exponent: only zeros are on the grid
        if (d !== 0) return NaN;
        continue;
      }
      frac++;
    }
    v = v * 10 + d;
  }
  return finishUnits(v, digits, frac, fracSeen, neg, sc);
}

/**
 * The end of unitsOf, shared with JsonCursor.readUnits (which reads the digits while it scans
 * the string): `v` is the digits read as an integer, `frac` the fraction digits kept (-1 when
 * no point was read), `fracSeen` every fraction digit read.
 */
export function finishUnits(v: number, digits: number, frac: number, fracSeen: number, neg: boolean, sc: FastScale): number {
  if (digits === 0 || (frac >= 0 && fracSeen === 0)) return NaN;
  if (v > 9007199254740991) return NaN;
  const f = frac < 0 ? 0 : frac;
  if (f < sc.exp) {
    v *= POW10[sc.exp - f]!;
    if (v > 9007199254740991) return NaN;
  }
  if (sc.mant !== 1) {
    const q = Math.floor(v / sc.mant);
    if (q * sc.mant !== v) return NaN;
    v = q;
  }
  return neg ? -v : v;
}

/** Whole-string form of unitsOf. */
export function unitsOfString(text: string, sc: FastScale): number {
  return unitsOf(text, 0, text.length, sc);
}

/** Per-instrument fast scales for prices and quantities. */
export interface InstrumentScales {
  readonly instrument: Instrument;
  readonly price: FastScale;
  readonly qty: FastScale;
}

export function instrumentScales(i: Instrument): InstrumentScales {
  return { instrument: i, price: fastScale(i.priceScale), qty: fastScale(i.qtyScale) };
}

/** Exact (bigint) parse that throws a DecimalConversionError naming the problem; for error text. */
export function explainUnits(text: string, sc: FastScale, what: string): string {
  try {
    decimalToUnits(text, sc.scale, what);
    return `${what} ${JSON.stringify(text)} could not be parsed`;
  } catch (err) {
    return (err as Error).message;
  }
}
