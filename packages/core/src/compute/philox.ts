/**
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11), the counter-based generator behind `monteCarloVaR`, and the exact normal draw the
 * compute contract defines so that every backend draws the same numbers from a seed.
 *
 * All words are unsigned 32-bit integers held in JS numbers. Low halves of 32x32 products come
 * from Math.imul; high halves are computed exactly from 16-bit limbs (a double cannot hold the
 * 64-bit product).
 */

export const PHILOX_M0 = 0xd2511f53;
export const PHILOX_M1 = 0xcd9e8d57;
export const PHILOX_W0 = 0x9e3779b9;
export const PHILOX_W1 = 0xbb67ae85;
export const PHILOX_ROUNDS = 10;

const TWO_POW_32 = 4294967296;
const TWO_PI = 2 * Math.PI;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers, exactly. */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  // Each partial product is < 2^32, so it is exact in a double.
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  // Bits 16..47 of the product before the final carry: < 2^16 + 2^16 + 2^32, exact.
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + loHi;
  return (hiHi + (hiLo >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** Low 32 bits of the product of two unsigned 32-bit integers. */
export function mullo32(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

/**
 * One Philox4x32 block: encrypts counter (c0, c1, c2, c3) under key (k0, k1) with `rounds`
 * rounds (10 for Philox4x32-10) and writes the four output words to `out`.
 */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number,
  k0: number, k1: number,
  out: Uint32Array = new Uint32Array(4),
  rounds: number = PHILOX_ROUNDS,
): Uint32Array {
  c0 >>>= 0; c1 >>>= 0; c2 >>>= 0; c3 >>>= 0; k0 >>>= 0; k1 >>>= 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    const hi0 = mulhi32(PHILOX_M0, c0);
    const lo0 = Math.imul(PHILOX_M0, c0) >>> 0;
    const hi1 = mulhi32(PHILOX_M1, c2);
    const lo1 = Math.imul(PHILOX_M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/**
 * Splits a 64-bit seed into the Philox key words: lo = seed mod 2^32, hi = floor(seed / 2^32).
 * Accepts a bigint in [0, 2^64) or a non-negative safe integer; throws a RangeError otherwise.
 */
export function splitSeed(seed: bigint | number): [lo: number, hi: number] {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new RangeError(`seed must be in [0, 2^64), got ${seed}`);
    return [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer or a bigint in [0, 2^64), got ${String(seed)}`);
  }
  return [seed % TWO_POW_32, Math.floor(seed / TWO_POW_32)];
}

/**
 * The contract's four normals from one Philox output block x0..x3 (counter (p, t, b, 0)):
 * out[i] is z for j = 4b + i. Pair h = i >> 1 gives u1 = (x[2h] + 0.5) / 2^32,
 * u2 = (x[2h+1] + 0.5) / 2^32, and z = sqrt(-2 ln u1) * (i even ? cos(2 pi u2) : sin(2 pi u2)).
 * `count` (1..4) limits how many are computed.
 */
export function normalsFromBlock(x: Uint32Array, out: Float64Array, count = 4): Float64Array {
  const r0 = Math.sqrt(-2 * Math.log((x[0] + 0.5) / TWO_POW_32));
  const a0 = TWO_PI * ((x[1] + 0.5) / TWO_POW_32);
  out[0] = r0 * Math.cos(a0);
  if (count > 1) out[1] = r0 * Math.sin(a0);
  if (count > 2) {
    const r1 = Math.sqrt(-2 * Math.log((x[2] + 0.5) / TWO_POW_32));
    const a1 = TWO_PI * ((x[3] + 0.5) / TWO_POW_32);
    out[2] = r1 * Math.cos(a1);
    if (count > 3) out[3] = r1 * Math.sin(a1);
  }
  return out;
}

const scratch = new Uint32Array(4);

/**
 * z[p][t][j] exactly as the compute contract defines it: Philox4x32-10 with key
 * (seedLo, seedHi) and counter (p, t, floor(j / 4), 0), then Box-Muller on pair (j % 4) >> 1.
 */
export function normalAt(seedLo: number, seedHi: number, p: number, t: number, j: number): number {
  const x = philox4x32(p, t, Math.floor(j / 4), 0, seedLo, seedHi, scratch);
  const h = (j & 3) >> 1;
  const u1 = (x[2 * h] + 0.5) / TWO_POW_32;
  const u2 = (x[2 * h + 1] + 0.5) / TWO_POW_32;
  const r = Math.sqrt(-2 * Math.log(u1));
  const a = TWO_PI * u2;
  return (j & 1) === 0 ? r * Math.cos(a) : r * Math.sin(a);
}
