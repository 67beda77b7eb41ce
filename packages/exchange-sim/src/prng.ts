/**
 * Seeded pseudo-random numbers for the synthetic market. sfc32 (Chris Doty-Humphrey's Small Fast
 * Counting generator, 128-bit state) seeded through xmur3-style string hashing, so a (seed, stream
 * name) pair always yields the same sequence on every platform. Never Math.random.
 *
 * The distributions use Math.log/Math.exp/Math.cos, which V8 implements with the fdlibm ports:
 * bit-identical across machines for one Node major.
 */

/** 32-bit string hash (xmur3) used to derive independent streams from one seed. */
function hash32(text: string): () => number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /** `seed` is any integer; `stream` names an independent sub-sequence (e.g. the symbol). */
  constructor(seed: number, stream = '') {
    const h = hash32(`${seed}|${stream}`);
    this.a = h();
    this.b = h();
    this.c = h();
    this.d = h();
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  float(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in (0, 1]: safe for log(). */
  floatOpen(): number {
    return (this.nextU32() + 1) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box-Muller, the spare value cached). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    const u = this.floatOpen();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  lognormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** Pareto with scale xm and shape alpha (heavy tail for alpha < 2). */
  pareto(xm: number, alpha: number): number {
    return xm / Math.pow(this.floatOpen(), 1 / alpha);
  }

  exponential(mean: number): number {
    return -mean * Math.log(this.floatOpen());
  }
}
