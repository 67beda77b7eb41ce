/** A small seeded PRNG for reproducible test data (mulberry32 + Box-Muller). Not for production. */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
  /** n float32 normals with the given mean and standard deviation. */
  normals(n: number, mean?: number, sd?: number): Float32Array;
  /** n float32 uniforms in [lo, hi). */
  uniforms(n: number, lo?: number, hi?: number): Float32Array;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  let spare: number | undefined;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u1 = (next() * 4294967296 + 0.5) / 4294967296;
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    normal,
    normals(n, mean = 0, sd = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = mean + sd * normal();
      return out;
    },
    uniforms(n, lo = 0, hi = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
      return out;
    },
  };
}
