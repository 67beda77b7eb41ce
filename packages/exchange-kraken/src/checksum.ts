import type { Instrument } from '@cwts/core';
import type { MirrorBook } from '@cwts/core/adapter-kit';

/**
 * Kraken's book checksum (WebSocket v2 "Book checksum" guide): CRC32 of the top 10 asks (low to
 * high) then the top 10 bids (high to low), each level written as price then qty, each value
 * formatted with the pair's precision, its "." removed and its leading zeros stripped. Trailing
 * zeros count ("0.00100000" -> "100000"), which is why the precision must come from the
 * `instrument` channel: the wire numbers (0.001) have lost them.
 *
 * A value formatted with `precision` decimals, point removed, leading zeros stripped, is simply
 * the integer count of 10^-precision units, so the checksum text is built from our integer ticks
 * and lots times a per-instrument multiplier, with no decimal strings at all.
 */
export const CHECKSUM_LEVELS = 10;

export interface KrakenPrecision {
  /** Digits after the point in Kraken's price formatting (instrument `price_precision`). */
  readonly pricePrecision: number;
  readonly qtyPrecision: number;
  /** One tick in units of 10^-pricePrecision (tick 0.5 at precision 1 -> 5). */
  readonly priceMult: number;
  readonly qtyMult: number;
}

/** The multipliers for an instrument; throws when its increment is finer than the precision. */
export function krakenPrecision(i: Instrument, pricePrecision: number, qtyPrecision: number): KrakenPrecision {
  const mult = (scale: { mantissa: bigint | number; exponent: number }, precision: number, what: string): number => {
    const shift = precision - scale.exponent;
    if (shift < 0) throw new Error(`${i.symbol}: ${what} increment has more decimals (${scale.exponent}) than its precision (${precision})`);
    return Number(scale.mantissa) * 10 ** shift;
  };
  return { pricePrecision, qtyPrecision, priceMult: mult(i.priceScale, pricePrecision, 'price'), qtyMult: mult(i.qtyScale, qtyPrecision, 'qty') };
}

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC32 (ISO 3309 / zlib) of an ASCII string, unsigned. */
export function crc32(text: string): number {
  let c = -1;
  for (let i = 0; i < text.length; i++) c = TABLE[(c ^ text.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function digits(units: number, mult: number): string {
  const v = units * mult;
  return Number.isSafeInteger(v) ? String(v) : (BigInt(units) * BigInt(mult)).toString();
}

/** The checksum text of a book (tests and diagnostics; the hot path never builds it). */
export function checksumText(book: MirrorBook, p: KrakenPrecision): string {
  let s = '';
  const a = book.asks;
  for (let i = 0, n = Math.min(CHECKSUM_LEVELS, a.n); i < n; i++) s += digits(a.priceAt(i), p.priceMult) + digits(a.qtyAt(i), p.qtyMult);
  const b = book.bids;
  for (let i = 0, n = Math.min(CHECKSUM_LEVELS, b.n); i < n; i++) s += digits(b.priceAt(i), p.priceMult) + digits(b.qtyAt(i), p.qtyMult);
  return s;
}

const DIGITS = new Uint8Array(24);

/** CRC32 update with the decimal digits of units * mult, without building a string. */
function crcDigits(crc: number, units: number, mult: number): number {
  let v = units * mult;
  if (!Number.isSafeInteger(v) || v < 0) {
    const t = (BigInt(units) * BigInt(mult)).toString();
    for (let i = 0; i < t.length; i++) crc = TABLE[(crc ^ t.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
    return crc;
  }
  let n = 0;
  // above 2^31 in float division, below it in int32 (most values: several times faster)
  while (v > 0x7fffffff) {
    const q = Math.floor(v / 10);
    DIGITS[n++] = 48 + (v - q * 10);
    v = q;
  }
  let w = v | 0;
  do {
    const q = (w / 10) | 0;
    DIGITS[n++] = 48 + (w - q * 10);
    w = q;
  } while (w > 0);
  while (n > 0) crc = TABLE[(crc ^ DIGITS[--n]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** Kraken's checksum of the book's top 10 levels (hot path: no allocation). */
export function krakenChecksum(book: MirrorBook, p: KrakenPrecision): number {
  let c = -1;
  const a = book.asks;
  for (let i = 0, n = Math.min(CHECKSUM_LEVELS, a.n); i < n; i++) c = crcDigits(crcDigits(c, a.priceAt(i), p.priceMult), a.qtyAt(i), p.qtyMult);
  const b = book.bids;
  for (let i = 0, n = Math.min(CHECKSUM_LEVELS, b.n); i < n; i++) c = crcDigits(crcDigits(c, b.priceAt(i), p.priceMult), b.qtyAt(i), p.qtyMult);
  return (c ^ -1) >>> 0;
}
