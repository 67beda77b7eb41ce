import { pow10n, type DecimalScale, type Instrument } from '../domain/instrument.js';

/**
 * Moving integer amounts between two definitions of one instrument (a venue changed its tick or
 * lot size between runs). A count of increments of one scale is an exact decimal, so it converts
 * exactly to another scale when it lies on that scale's grid; otherwise the caller decides which
 * way to round (docs/journal.md, "Tick or lot size changed between runs").
 */

/**
 * Component-state scope (journal `state` records) of each instrument's earlier definitions: a
 * venue changed the tick or lot size between runs. The key is `exchange:symbol`; the value
 * `{ segments: [{ instrument, events }] }` says that the journal's first `events` orders and
 * reports on the instrument (in journal order, cumulative) are counted in that definition; those
 * after the last segment are in the definition of the journal's `instruments` table. Counts, not
 * seqs: an export and import renumbers seqs but keeps the order. Written by the restore
 * (engine/rebuild.ts), read by it and by the journal report.
 */
export const GRID_HISTORY_SCOPE = 'cwts.instrument-grids';

/** units x num / den converts a count of `from` increments into `to` increments. */
export interface ScaleRatio {
  readonly num: bigint;
  readonly den: bigint;
}

/** from = mF x 10^-eF, to = mT x 10^-eT: units_to = units x mF x 10^eT / (mT x 10^eF). */
export function scaleRatio(from: DecimalScale, to: DecimalScale): ScaleRatio {
  let num = from.mantissa;
  let den = to.mantissa;
  if (to.exponent >= from.exponent) num *= pow10n(to.exponent - from.exponent);
  else den *= pow10n(from.exponent - to.exponent);
  return { num, den };
}

export const sameScale = (a: DecimalScale, b: DecimalScale): boolean => {
  const r = scaleRatio(a, b);
  return r.num === r.den;
};

/** Both definitions count prices and quantities in the same increments (ticks and lots mean the same). */
export const sameGrid = (a: Instrument, b: Instrument): boolean => sameScale(a.priceScale, b.priceScale) && sameScale(a.qtyScale, b.qtyScale);

/** units converted by `r`, exactly; undefined when not a whole number of the new increments. */
export function convertExact(units: bigint, r: ScaleRatio): bigint | undefined {
  const n = units * r.num;
  return n % r.den === 0n ? n / r.den : undefined;
}

/** units converted by `r`, rounded toward -infinity. */
export function convertFloor(units: bigint, r: ScaleRatio): bigint {
  const n = units * r.num;
  const q = n / r.den;
  return n % r.den !== 0n && n < 0n ? q - 1n : q;
}

/** units converted by `r`, rounded toward +infinity. */
export function convertCeil(units: bigint, r: ScaleRatio): bigint {
  const n = units * r.num;
  const q = n / r.den;
  return n % r.den !== 0n && n > 0n ? q + 1n : q;
}

/** "tick 0.01, lot 0.001": what an error names when two definitions differ. */
export const describeGrid = (i: Instrument): string => `tick ${i.tickSize}, lot ${i.lotSize}`;
