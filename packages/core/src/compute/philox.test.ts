import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { mulhi32, normalAt, normalsFromBlock, philox4x32, splitSeed } from './philox.js';

const hex = (a: ArrayLike<number>): string[] => Array.from(a, (v) => (v >>> 0).toString(16).padStart(8, '0'));

/** Philox4x32 written independently with BigInt arithmetic (exact 64-bit products). */
function philoxBig(ctr: number[], key: number[], rounds = 10): number[] {
  const M0 = 0xd2511f53n;
  const M1 = 0xcd9e8d57n;
  const W0 = 0x9e3779b9n;
  const W1 = 0xbb67ae85n;
  const mask = 0xffffffffn;
  let [c0, c1, c2, c3] = ctr.map(BigInt);
  let [k0, k1] = key.map(BigInt);
  for (let r = 0; r < rounds; r++) {
    const p0 = M0 * c0;
    const p1 = M1 * c2;
    [c0, c1, c2, c3] = [((p1 >> 32n) ^ c1 ^ k0) & mask, p1 & mask, ((p0 >> 32n) ^ c3 ^ k1) & mask, p0 & mask];
    k0 = (k0 + W0) & mask;
    k1 = (k1 + W1) & mask;
  }
  return [c0, c1, c2, c3].map(Number);
}

describe('Philox4x32-10', () => {
  // Random123 kat_vectors: "philox4x32 10 <ctr x4> <key x2> <expected x4>".
  const kat: [number[], number[], string[]][] = [
    [[0, 0, 0, 0], [0, 0], ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], ['d16cfe09', '94fdcceb', '5001e420', '24126ea1']],
  ];
  for (const [ctr, key, want] of kat) {
    it(`known answer ctr=${hex(ctr).join(' ')} key=${hex(key).join(' ')}`, () => {
      expect(hex(philox4x32(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]))).toEqual(want);
      expect(hex(philoxBig(ctr, key))).toEqual(want);
    });
  }

  it('agrees with an independent BigInt implementation on random inputs', () => {
    const rng = seededRandom(7);
    const word = (): number => (rng.next() * 4294967296) >>> 0;
    const out = new Uint32Array(4);
    for (let i = 0; i < 2000; i++) {
      const ctr = [word(), word(), word(), word()];
      const key = [word(), word()];
      philox4x32(ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out);
      expect(Array.from(out)).toEqual(philoxBig(ctr, key));
    }
  });

  it('mulhi32 is exact', () => {
    const rng = seededRandom(8);
    const edges = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0xd2511f53, 0xcd9e8d57];
    const values = [...edges, ...Array.from({ length: 500 }, () => (rng.next() * 4294967296) >>> 0)];
    for (const a of values) {
      for (const b of edges) {
        expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
        expect(mulhi32(b, a)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
      }
    }
  });
});

describe('splitSeed', () => {
  it('splits numbers and bigints the same way', () => {
    expect(splitSeed(0)).toEqual([0, 0]);
    expect(splitSeed(12345)).toEqual([12345, 0]);
    expect(splitSeed(2 ** 32 + 7)).toEqual([7, 1]);
    expect(splitSeed(2n ** 32n + 7n)).toEqual([7, 1]);
    expect(splitSeed(Number.MAX_SAFE_INTEGER)).toEqual([0xffffffff, 0x1fffff]);
    expect(splitSeed(2n ** 64n - 1n)).toEqual([0xffffffff, 0xffffffff]);
  });
  it('rejects seeds outside [0, 2^64) and non-integers', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53, -1n, 2n ** 64n]) expect(() => splitSeed(bad)).toThrow(RangeError);
    expect(() => splitSeed('1' as unknown as number)).toThrow(RangeError);
  });
});

describe('normalAt (the contract draw)', () => {
  it('follows the definition: counter (p, t, j / 4, 0), pair (j % 4) >> 1, cos for even j', () => {
    const [lo, hi] = [0x1234567, 0x89abcdef];
    const x = philox4x32(5, 3, 2, 0, lo, hi);
    const u = (w: number): number => (w + 0.5) / 2 ** 32;
    const r0 = Math.sqrt(-2 * Math.log(u(x[0])));
    const r1 = Math.sqrt(-2 * Math.log(u(x[2])));
    expect(normalAt(lo, hi, 5, 3, 8)).toBe(r0 * Math.cos(2 * Math.PI * u(x[1])));
    expect(normalAt(lo, hi, 5, 3, 9)).toBe(r0 * Math.sin(2 * Math.PI * u(x[1])));
    expect(normalAt(lo, hi, 5, 3, 10)).toBe(r1 * Math.cos(2 * Math.PI * u(x[3])));
    expect(normalAt(lo, hi, 5, 3, 11)).toBe(r1 * Math.sin(2 * Math.PI * u(x[3])));
  });

  it('normalsFromBlock gives the same numbers as normalAt', () => {
    const z = new Float64Array(4);
    for (let p = 0; p < 50; p++) {
      for (let j0 = 0; j0 < 12; j0 += 4) {
        normalsFromBlock(philox4x32(p, 1, j0 / 4, 0, 42, 0), z);
        for (let i = 0; i < 4; i++) expect(z[i]).toBe(normalAt(42, 0, p, 1, j0 + i));
      }
    }
  });

  it('draws standard normals: moments, tails and independence of the cos/sin pair', () => {
    const n = 100_000;
    let s = 0, s2 = 0, s3 = 0, s4 = 0, cross = 0, tail = 0;
    for (let p = 0; p < n / 2; p++) {
      const a = normalAt(99, 1, p, 0, 0);
      const b = normalAt(99, 1, p, 0, 1);
      for (const z of [a, b]) {
        s += z; s2 += z * z; s3 += z ** 3; s4 += z ** 4;
        if (z > 2.3263478740408408) tail++;
      }
      cross += a * b;
    }
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    // Standard errors: mean 1/sqrt(n) = 0.0032, variance sqrt(2/n) = 0.0045, skew sqrt(15/n), kurtosis sqrt(96/n).
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(Math.abs(s3 / n)).toBeLessThan(0.06);
    expect(Math.abs(s4 / n - 3)).toBeLessThan(0.15);
    expect(Math.abs(cross / (n / 2))).toBeLessThan(0.025);
    // P(z > z_0.99) = 0.01; binomial sd of the count is sqrt(n * 0.0099) = 31.
    expect(Math.abs(tail - 0.01 * n)).toBeLessThan(5 * 31.5);
  });
});
