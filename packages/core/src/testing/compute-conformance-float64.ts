/**
 * The float64 section of the compute conformance suite (called by describeComputeConformance).
 * A backend whose `capabilities.float64` is false skips every test here, visibly, except the one
 * that checks the declaration is truthful (no float64 methods on a backend that says false).
 *
 * The reference is a per-window two-pass calculation in float64 written here; the tolerance is
 * the contract's: mean within 1e-12 * (|mean| + sd), variance within 1e-12 * variance, and
 * windows of equal values exactly (mean = the value, variance 0). The data includes what feeds
 * deliver: prices around 30000 moving by one tick, where sums of raw values lose ~9 digits.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import type { ComputeBackend, DeviceBuffer, RollingMoments64Args, RollingMoments64Result } from '../contracts/compute.js';
import { seededRandom } from './seeded-random.js';

export const FLOAT64_TOLERANCES = Object.freeze({
  /** rollingMoments64: mean within rel * (|mean| + sd), variance within rel * variance. */
  rollingRel: 1e-12,
});

const REL = FLOAT64_TOLERANCES.rollingRel;

/** Two-pass mean and population variance of every window in float64; NaN for windows holding a non-finite value. */
export function naiveRolling64(x: Float64Array, N: number, W: number): { mean: Float64Array; variance: Float64Array } {
  const n = N - W + 1;
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let bad = false;
    for (let j = i; j < i + W; j++) {
      if (!Number.isFinite(x[j])) bad = true;
      s += x[j];
    }
    if (bad) {
      mean[i] = Number.NaN;
      variance[i] = Number.NaN;
      continue;
    }
    const m = s / W;
    let v = 0;
    let allEqual = true;
    for (let j = i; j < i + W; j++) {
      v += (x[j] - m) * (x[j] - m);
      if (x[j] !== x[i]) allEqual = false;
    }
    mean[i] = allEqual ? x[i] : m;
    variance[i] = allEqual ? 0 : v / W;
  }
  return { mean, variance };
}

/**
 * naiveRolling64 with each non-constant window refined: mean m + d / W and variance
 * (q - d^2 / W) / W from TwoSum-compensated d = sum(x - m), q = sum((x - m)^2), which cancels the
 * rounding of the naive mean m (that rounding enters the plain two-pass variance squared, and is
 * not within 1e-12 where a window's variance is tiny next to its level).
 */
export function refinedRolling64(x: Float64Array, N: number, W: number): { mean: Float64Array; variance: Float64Array } {
  const exp = naiveRolling64(x, N, W);
  const twoSum = (acc: [number, number], v: number): void => {
    const t = acc[0] + v;
    const bb = t - acc[0];
    acc[1] += acc[0] - (t - bb) + (v - bb);
    acc[0] = t;
  };
  for (let i = 0; i < exp.mean.length; i++) {
    if (Number.isNaN(exp.mean[i]) || exp.variance[i] === 0) continue;
    const m = exp.mean[i]!;
    const d: [number, number] = [0, 0];
    const q: [number, number] = [0, 0];
    for (let j = i; j < i + W; j++) {
      const y = x[j]! - m;
      twoSum(d, y);
      twoSum(q, y * y);
    }
    const ds = d[0] + d[1];
    exp.mean[i] = m + ds / W;
    exp.variance[i] = Math.max(0, (q[0] + q[1] - (ds * ds) / W) / W);
  }
  return exp;
}

/**
 * refinedRolling64 for values of any finite size: a window whose largest |x| is above 2^256 is
 * computed scaled by 2^-e (e: that value's exponent), which is exact, and scaled back, so windows
 * whose sums or squares overflow float64 (|x| from ~1e154, or sums near 1e308) get their true mean
 * and variance; a variance above the largest double is Infinity, its correctly rounded value.
 * `sd` is each window's standard deviation (finite where the variance is not), for the mean's
 * tolerance.
 */
export function scaledRolling64(x: Float64Array, N: number, W: number): { mean: Float64Array; variance: Float64Array; sd: Float64Array } {
  const exp = naiveRolling64(x, N, W);
  const sd = new Float64Array(exp.mean.length);
  const up = (v: number, e: number): number => (e > 1000 ? v * 2 ** 1000 * 2 ** (e - 1000) : v * 2 ** e);
  for (let i = 0; i < exp.mean.length; i++) {
    if (Number.isNaN(exp.mean[i]) || exp.variance[i] === 0) continue;
    let amax = 0;
    for (let j = i; j < i + W; j++) amax = Math.max(amax, Math.abs(x[j]!));
    const e = amax > 2 ** 256 ? Math.ceil(Math.log2(amax)) : 0;
    const down = 2 ** -e;
    let s = 0;
    for (let j = i; j < i + W; j++) s += x[j]! * down;
    const m = s / W;
    let d = 0;
    let dc = 0;
    let q = 0;
    let qc = 0;
    for (let j = i; j < i + W; j++) {
      const y = x[j]! * down - m;
      let t = d + y;
      let bb = t - d;
      dc += d - (t - bb) + (y - bb);
      d = t;
      t = q + y * y;
      bb = t - q;
      qc += q - (t - bb) + (y * y - bb);
      q = t;
    }
    const ds = d + dc;
    const v = Math.max(0, (q + qc - (ds * ds) / W) / W);
    exp.mean[i] = up(m + ds / W, e);
    exp.variance[i] = up(up(v, e), e);
    sd[i] = up(Math.sqrt(v), e);
  }
  return { ...exp, sd };
}

/**
 * Finite values near the top of float64, whose sums or squares overflow, between ordinary prices:
 * +-1.2e154 alternating (variance 1.44e308, finite) and +-1.5e154 (2.25e308: Infinity), normals
 * around 1e154 (sd 4e153), ticks near 1.5e308 (the mean is finite, the variance is not), runs of
 * +-Number.MAX_VALUE (exact: the value and 0), +-1.6e308 alternating (the differences overflow
 * too). Segments of 2W + 40 values (runs W + 40), so the vector paths of a native kernel see them.
 */
export function nearTheTopOfFloat64(N: number, W: number, seed: number): Float64Array {
  const rng = seededRandom(seed);
  const x = new Float64Array(N);
  const seg = 2 * W + 40;
  let price = 30000.5;
  let ticks = 0;
  for (let at = 0, k = 0; at < N; k++) {
    const kind = k % 8;
    const len = kind === 3 || kind === 5 ? W + 40 : seg;
    for (let j = 0; j < len && at < N; j++, at++) {
      if (kind === 0) x[at] = j % 2 ? 1.2e154 : -1.2e154;
      else if (kind === 1) x[at] = 1e154 + 4e153 * rng.normal();
      else if (kind === 2) {
        ticks += Math.floor(rng.next() * 7) - 3;
        x[at] = 1.5e308 + ticks * 2 ** 975; // 16 ulps a tick
      } else if (kind === 3) x[at] = Number.MAX_VALUE;
      else if (kind === 4) x[at] = price += 0.01 * (Math.floor(rng.next() * 5) - 2);
      else if (kind === 5) x[at] = -Number.MAX_VALUE;
      else if (kind === 6) x[at] = j % 2 ? -1.5e154 : 1.5e154;
      else x[at] = j % 3 ? 1.6e308 : -1.6e308;
    }
  }
  return x;
}

/**
 * check64 for values near the top of float64 (exp from scaledRolling64). Windows whose W x
 * max|x|^2 exceeds the largest double are where any sum of squares can overflow: a backend may
 * give their true results (core's JS backend and CPU SIMD do, scaled by a power of two) or, the
 * documented limit, NaN or an infinity (an honest "not computed": a mean NaN or +-Infinity, a
 * variance NaN or +Infinity) for what it cannot compute; never a finite wrong value, and never a variance of 0 where the values differ (the NaN
 * of Inf - Inf clamped by "never negative": a sizer reads 0 as no volatility). Elsewhere, and on
 * windows of equal values, the contract's tolerance and exactness hold as in check64.
 */
function checkNearTheTop64(label: string, got: RollingMoments64Result, x: Float64Array, W: number, exp: { mean: Float64Array; variance: Float64Array; sd: Float64Array }, meanOnly = false): void {
  const n = exp.mean.length;
  const notComputed = (v: number): boolean => Number.isNaN(v) || v === Number.POSITIVE_INFINITY;
  const limit = Math.sqrt(Number.MAX_VALUE / W);
  let bad = 0;
  let first = '';
  for (let i = 0; i < n; i++) {
    const em = exp.mean[i]!;
    const ev = exp.variance[i]!;
    const gm = got.mean[i]!;
    const gv = meanOnly ? ev : got.variance![i]!;
    let amax = 0;
    for (let j = i; j < i + W; j++) amax = Math.max(amax, Math.abs(x[j]!));
    const mayOverflow = amax > limit;
    let why = '';
    if (ev === 0) {
      if (gm !== em || gv !== 0) why = 'expected exactly the value and 0 (constant window)';
    } else {
      const scale = Math.abs(em) + exp.sd[i]!;
      if (!(Math.abs(gm - em) <= REL * scale) && !(mayOverflow && !Number.isFinite(gm))) why = `mean off (rel ${Math.abs(gm - em) / scale})`;
      else if (ev === Number.POSITIVE_INFINITY ? !notComputed(gv) : !(gv >= 0 && Math.abs(gv - ev) <= REL * ev) && !(mayOverflow && notComputed(gv))) why = 'variance off';
    }
    if (why !== '' && bad++ === 0) first = `${why} at ${i}: mean ${gm}, variance ${meanOnly ? '-' : gv}; expected ${em}, ${ev}`;
  }
  if (bad > 0) throw new Error(`${label}: ${bad} of ${n} windows wrong; first: ${first}`);
}

function check64(label: string, got: RollingMoments64Result, exp: { mean: Float64Array; variance: Float64Array }, meanOnly = false): void {
  const n = exp.mean.length;
  expect(got.mean, `${label}: mean`).toBeInstanceOf(Float64Array);
  expect(got.mean.length, `${label}: mean length`).toBeGreaterThanOrEqual(n);
  if (meanOnly) expect(got.variance, `${label}: meanOnly returns no variance`).toBeUndefined();
  else {
    expect(got.variance, `${label}: variance`).toBeInstanceOf(Float64Array);
    expect(got.variance!.length, `${label}: variance length`).toBeGreaterThanOrEqual(n);
  }
  let bad = 0;
  let first = '';
  const note = (i: number, what: string): void => {
    if (bad++ === 0) first = `${what} at ${i}`;
  };
  for (let i = 0; i < n; i++) {
    const em = exp.mean[i];
    const ev = exp.variance[i];
    const gm = got.mean[i];
    if (Number.isNaN(em)) {
      if (!Number.isNaN(gm)) note(i, `mean ${gm}, expected NaN`);
      if (!meanOnly && !Number.isNaN(got.variance![i])) note(i, `variance ${got.variance![i]}, expected NaN`);
      continue;
    }
    if (ev === 0) {
      // A window of equal values: exact.
      if (gm !== em) note(i, `mean ${gm}, expected exactly ${em} (constant window)`);
      if (!meanOnly && got.variance![i] !== 0) note(i, `variance ${got.variance![i]}, expected exactly 0 (constant window)`);
      continue;
    }
    if (!(Math.abs(gm - em) <= REL * (Math.abs(em) + Math.sqrt(ev)))) note(i, `mean ${gm}, expected ${em} (rel ${Math.abs(gm - em) / (Math.abs(em) + Math.sqrt(ev))})`);
    if (!meanOnly) {
      const gv = got.variance![i];
      if (!(gv >= 0 && Math.abs(gv - ev) <= REL * ev)) note(i, `variance ${gv}, expected ${ev} (rel ${Math.abs(gv - ev) / ev})`);
    }
  }
  if (bad > 0) throw new Error(`${label}: ${bad} of ${n} windows outside 1e-12; first: ${first}`);
}

/** Prices as a feed delivers them: a level near `level` moving by whole ticks, with quiet stretches. */
export function tickPrices(seed: number, n: number, level: number, tick: number): Float64Array {
  const rng = seededRandom(seed);
  const x = new Float64Array(n);
  let ticks = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    if (u < 0.3) ticks -= 1 + Math.floor(rng.next() * 3);
    else if (u > 0.7) ticks += 1 + Math.floor(rng.next() * 3);
    // (0.3, 0.7): unchanged, so short constant stretches occur naturally.
    x[i] = level + ticks * tick;
  }
  return x;
}

/**
 * Normals around 5 (sd 1, plus 1e-7 x (i mod 7) so that no two are equal) broken by runs of one
 * repeated value, W - 1 to 3W + 7 long, with a NaN inside some runs and just after others. A
 * window of a run's value but a few has a variance far below its neighbours', and a sliding
 * kernel restarts where a NaN leaves: the case where a restart window's rounding must not grow
 * with W. Around 5 rather than 30000, so that a mean computed from the sums of a constant window
 * is not the value by luck. `dense`: no 5000-long runs, runs to the end, and NaNs in 1 run in 3
 * and after 1 in 4 (instead of 1 in 9 and 1 in 11), which packs the case into fewer values.
 */
export function equalValueRuns(seed: number, n: number, w: number, dense = false): Float64Array {
  const x = Float64Array.from(seededRandom(seed).normals(n, 5, 1), (v, i) => v + 1e-7 * (i % 7));
  const lengths = dense ? [w - 1, w, w + 1, w + 2, 2 * w + 3, 3 * w + 7] : [w - 1, w, w + 1, w + 2, 2 * w + 3, 3 * w + 7, 5000];
  for (let at = 50, k = 0; at < n - (dense ? w : 6000); k++) {
    const len = lengths[k % lengths.length]!;
    x.fill([4.1, 5 + 1 / 3, x[at]!, 3.3, 6.7][k % 5]!, at, at + len);
    if (dense ? k % 3 === 1 : k % 9 === 4) x[at + Math.floor(len / 2)] = Number.NaN;
    if (dense ? k % 4 === 2 : k % 11 === 6) x[at + len] = Number.NaN;
    at += len + 1 + (k % 13) * 3;
  }
  return x;
}

// ---- levels that fall, cross zero or step: where sliding sums lose the tolerance ---------------
// The sliding sums' rounding is relative to the largest sums since the last exact window (and
// its centre), not to the current window. These series move the level by orders of magnitude
// within a few windows, so a later window is far smaller than the ones the error was made on.
// Every float64 rollingMoments64 kernel is tested on them against refinedRolling64.

/** Stretches at levels from 30000 down to 1e-3 (and back), each with noise of 1e-4 of its level, falling over 20 values. */
function falls(N: number, W: number, seed: number): Float64Array {
  const rng = seededRandom(seed);
  const levels = [30000.5, 1.25, 64123.37, 1e-3, 30000.5, 0.5, 2500, 1e-2];
  const x = new Float64Array(N);
  let at = 0;
  for (let k = 0; at < N; k++) {
    const level = levels[k % levels.length]!;
    const len = [Math.floor(1.7 * W) + 300, 2 * W + 777, 3 * W + 1234][k % 3]!;
    const from = at === 0 ? level : x[at - 1]!;
    for (let j = 0; j < len && at < N; j++, at++) {
      const base = j < 20 ? from + ((level - from) * (j + 1)) / 20 : level;
      x[at] = base + 1e-4 * level * rng.normal();
    }
  }
  // A NaN just after the first fall: its chunk goes to the careful path, which must keep the
  // guarantee on the windows around it too.
  x[Math.floor(1.7 * W) + 300 + 25] = Number.NaN;
  return x;
}
/** From prices near 30000 to noise around 0 (sd 0.01, and 1e-6), across zero, and back: mean ~0 windows after huge ones. */
function crossesZero(N: number, W: number, seed: number): Float64Array {
  const rng = seededRandom(seed);
  const x = new Float64Array(N);
  const seg = Math.max(2 * W + 500, 3000);
  for (let i = 0; i < N; i++) {
    const phase = Math.floor(i / seg) % 4;
    if (phase === 0) x[i] = 30000.5 + 0.01 * Math.round(50 * rng.normal());
    else if (phase === 1) x[i] = 0.01 * rng.normal();
    else if (phase === 2) x[i] = -64123.25 + 0.5 * rng.normal();
    else x[i] = 1e-6 * rng.normal();
  }
  x[5 * seg + 30] = Number.NaN;  // just after prices fall to noise around 0, in the careful path
  return x;
}
/** Step changes between levels of either sign and very different sizes, stretches from W/2 to 3W. */
function steps(N: number, W: number, seed: number): Float64Array {
  const rng = seededRandom(seed);
  const levels = [1e5, 1, -1e5, 1e-3, 250.5, -0.75, 3e7, 0];
  const x = new Float64Array(N);
  let at = 0;
  for (let k = 0; at < N; k++) {
    const level = levels[k % levels.length]!;
    const len = Math.max(3, Math.floor(W * (0.5 + 2.5 * rng.next())));
    const noise = 1e-3 * Math.max(Math.abs(level), 1e-3);
    for (let j = 0; j < len && at < N; j++, at++) x[at] = level + noise * rng.normal();
  }
  return x;
}
/** A random walk with a drift far larger than its steps: from +1e5 through zero to -1e5. */
function drift(N: number, _W: number, seed: number): Float64Array {
  const rng = seededRandom(seed);
  const x = new Float64Array(N);
  let v = 1e5;
  const d = (2e5 / N) * 1.0001;
  for (let i = 0; i < N; i++) {
    v += -d + 0.01 * d * rng.normal();
    x[i] = v;
  }
  return x;
}

/** The four series above by name: (N, W, seed) -> N values. */
export const HOSTILE_LEVEL_SERIES: readonly (readonly [name: string, make: (N: number, W: number, seed: number) => Float64Array])[] = [
  ['falls by orders of magnitude', falls],
  ['crosses zero after prices', crossesZero],
  ['step changes', steps],
  ['random walk with large drift', drift],
];

/**
 * Random segments at random levels (either sign, 1e-6 to 1e7, one in ten 0), noise from 1e-9 to
 * 10 of the level (none in 15%), lengths from 1 to 4W: 6000-12000 values.
 */
export function randomHostileSegments(seed: number, W: number): { x: Float64Array; N: number; W: number } {
  const rng = seededRandom(seed);
  const N = 6000 + rng.int(6000);
  const x = new Float64Array(N);
  for (let at = 0; at < N; ) {
    const level = (rng.next() < 0.5 ? -1 : 1) * 10 ** (-6 + 13 * rng.next()) * (rng.next() < 0.1 ? 0 : 1);
    const noise = rng.next() < 0.15 ? 0 : Math.abs(level || 1) * 10 ** (-9 + 10 * rng.next());
    const len = 1 + rng.int(4 * W);
    for (let j = 0; j < len && at < N; j++, at++) x[at] = level + noise * rng.normal();
  }
  return { x, N, W };
}

export interface Float64SectionContext {
  /** The backend under test, or a visible skip when it is unavailable. */
  use(ctx: TestContext): ComputeBackend;
  /** Runs `body` with backend buffers holding `data`, freed afterwards. */
  withBuffer<R>(backend: ComputeBackend, data: Float64Array, padBytes: number, body: (buf: DeviceBuffer) => Promise<R>): Promise<R>;
}

type Float64Backend = ComputeBackend & { rollingMoments64: NonNullable<ComputeBackend['rollingMoments64']> };
type RollingMoments64Path = [name: string, call: (args: RollingMoments64Args) => Promise<RollingMoments64Result>];

/** The async kernel, and the sync one (in a promise) where the backend declares syncKernels. */
function paths64(backend: Float64Backend): RollingMoments64Path[] {
  const out: RollingMoments64Path[] = [['async', (a) => backend.rollingMoments64(a)]];
  const sync = backend.capabilities.syncKernels ? backend.sync?.rollingMoments64 : undefined;
  if (sync !== undefined) out.push(['sync', async (a) => sync(a)]);
  return out;
}

export function describeFloat64Section(c: Float64SectionContext): void {
  function use64(ctx: TestContext): Float64Backend {
    const backend = c.use(ctx);
    if (!backend.capabilities.float64) ctx.skip(`backend ${backend.name} declares float64: false`);
    return backend as Float64Backend;
  }

  async function expectArgumentError(label: string, call: () => unknown): Promise<void> {
    let error: unknown;
    try {
      await call();
    } catch (e) {
      error = e;
    }
    if (error === undefined) throw new Error(`${label}: expected a ComputeArgumentError, but the call succeeded`);
    if (!(error instanceof Error) || error.name !== 'ComputeArgumentError') {
      throw new Error(`${label}: expected a ComputeArgumentError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  }

  describe('float64', () => {
    it('capabilities.float64 is truthful (methods present exactly when declared)', (ctx) => {
      const backend = c.use(ctx);
      expect(typeof backend.capabilities.float64, 'capabilities.float64 must be declared').toBe('boolean');
      expect(typeof backend.rollingMoments64 === 'function', 'rollingMoments64 present exactly when float64').toBe(backend.capabilities.float64);
      if (backend.sync !== undefined) {
        expect(typeof backend.sync.rollingMoments64 === 'function', 'sync.rollingMoments64 present exactly when float64').toBe(backend.capabilities.float64);
      }
    });

    const shapes: [N: number, W: number][] = [[1023, 17], [1023, 1], [1023, 1023], [1, 1], [33, 16], [4097, 100], [2, 1], [2, 2], [5000, 2]];
    for (const [N, W] of shapes) {
      it(`N=${N} W=${W} matches a float64 two-pass calculation to 1e-12`, async (ctx) => {
        const backend = use64(ctx);
        const rng = seededRandom(6000 + N + W);
        const series = Float64Array.from(rng.normals(N, 0.5, 1), (v, i) => v + 1e-9 * i);
        check64('normals', await backend.rollingMoments64({ series, length: N, window: W }), naiveRolling64(series, N, W));
      });
    }

    for (const W of [2, 5, 20, 200, 3000]) {
      it(`tick prices near 30000 (W=${W}): no precision lost to the level`, async (ctx) => {
        const backend = use64(ctx);
        const N = 40_000;
        const series = tickPrices(6100 + W, N, 30000.5, 0.01);
        const exp = naiveRolling64(series, N, W);
        check64('prices', await backend.rollingMoments64({ series, length: N, window: W }), exp);
        check64('prices, meanOnly', await backend.rollingMoments64({ series, length: N, window: W, meanOnly: true }), exp, true);
      });
    }

    it('a steady trend and a level jump keep 1e-12', async (ctx) => {
      const backend = use64(ctx);
      const N = 20_000;
      const series = new Float64Array(N);
      const rng = seededRandom(6200);
      for (let i = 0; i < N; i++) series[i] = 1000 + 0.05 * i + (i > 12_000 ? 5000 : 0) + 0.01 * rng.normal();
      for (const W of [3, 64, 1000]) check64(`trend W=${W}`, await backend.rollingMoments64({ series, length: N, window: W }), naiveRolling64(series, N, W));
    });

    it('constant stretches give exactly the value and variance 0', async (ctx) => {
      const backend = use64(ctx);
      const series = Float64Array.from(seededRandom(6300).normals(3000, 100, 1));
      series.fill(0.1, 100, 900);
      series.fill(64123.37, 1200, 2600);
      const got = await backend.rollingMoments64({ series, length: 3000, window: 16 });
      check64('constant stretches', got, naiveRolling64(series, 3000, 16));
      for (let i = 1200; i + 16 <= 2600; i++) {
        expect(got.mean[i]).toBe(64123.37);
        expect(got.variance![i]).toBe(0);
      }
    });

    it('windows of equal values but a few, where a NaN has just left, keep 1e-12', async (ctx) => {
      // A sliding kernel restarts where a NaN leaves, on a window of noisy values, and the windows
      // a few steps on hold mostly a run of equal values: their variance is a small part of the
      // restart window's, so that window's rounding must not grow with W (plain two-pass sums:
      // 2.5x the tolerance).
      const backend = use64(ctx);
      const N = 12_000;
      const W = 1000;
      const series = equalValueRuns(2, N, W, true);
      check64('runs and NaNs', await backend.rollingMoments64({ series, length: N, window: W }), refinedRolling64(series, N, W));
    });

    it('NaN or Infinity makes every window containing it NaN, and only those', async (ctx) => {
      const backend = use64(ctx);
      const series = tickPrices(6400, 3000, 250.25, 0.05);
      series[100] = Number.NaN;
      series[1400] = Number.POSITIVE_INFINITY;
      series[1401] = Number.NEGATIVE_INFINITY;
      series[2999] = Number.NaN;
      const W = 25;
      const exp = naiveRolling64(series, 3000, W);
      for (let i = 0; i < exp.mean.length; i++) {
        const hit = (i <= 100 && 100 < i + W) || (i <= 1401 && 1400 < i + W) || i + W > 2999;
        expect(Number.isNaN(exp.mean[i])).toBe(hit);
      }
      check64('non-finite', await backend.rollingMoments64({ series, length: 3000, window: W }), exp);
      check64('non-finite, meanOnly', await backend.rollingMoments64({ series, length: 3000, window: W, meanOnly: true }), exp, true);
    });

    it('a run of equal infinities (+Infinity or -Infinity) is NaN, not the infinity with variance 0', async (ctx) => {
      // Infinity === Infinity: a kernel that finds windows of equal values by comparing
      // neighbours sees a constant window there, and wrote mean Infinity, variance 0 (the JS
      // oracle up to W = 8, CPU SIMD up to W = 24). A run longer than W + 2 vectors of outputs.
      const backend = use64(ctx);
      for (const W of [2, 3, 8, 20, 25, 64, 200]) {
        const N = 6 * W + 300;
        const series = tickPrices(6450 + W, N, 250.25, 0.05);
        series.fill(Number.POSITIVE_INFINITY, 50, 50 + W + 40);
        series.fill(Number.NEGATIVE_INFINITY, 3 * W + 150, 4 * W + 190);
        const exp = naiveRolling64(series, N, W);
        for (const [path, call] of paths64(backend)) {
          check64(`${path} W=${W}`, await call({ series, length: N, window: W }), exp);
          check64(`${path} W=${W} meanOnly`, await call({ series, length: N, window: W, meanOnly: true }), exp, true);
        }
      }
    });

    it('finite values whose sums or squares overflow: the true mean and variance, or NaN/Infinity, never 0', async (ctx) => {
      // +-1.2e154 alternating has variance 1.44e308, but its squares sum past the largest double:
      // the sums gave Inf - Inf = NaN, which "never negative" turned into 0 (both shipped float64
      // kernels, and the third-party example); a variance of 0 reads as "no volatility". Where
      // W x max|x|^2 exceeds the largest double a backend gives the true results (core's JS and
      // CPU SIMD compute such windows scaled by a power of two; their own tests hold them to it)
      // or NaN / Infinity; a variance above the largest double is Infinity (or NaN).
      const backend = use64(ctx);
      for (const W of [2, 3, 4, 8, 20, 25, 64, 128, 200]) {
        const N = 20 * W + 400;
        const series = nearTheTopOfFloat64(N, W, 6480 + W);
        const exp = scaledRolling64(series, N, W);
        for (const [path, call] of paths64(backend)) {
          checkNearTheTop64(`${path} W=${W}`, await call({ series, length: N, window: W }), series, W, exp);
          checkNearTheTop64(`${path} W=${W} meanOnly`, await call({ series, length: N, window: W, meanOnly: true }), series, W, exp, true);
        }
      }
    });

    it('accepts a DeviceBuffer of doubles and host views with offsets; fills out arrays', async (ctx) => {
      const backend = use64(ctx);
      const series = tickPrices(6500, 2000, 101.5, 0.001);
      const exp = naiveRolling64(series, 2000, 33);
      await c.withBuffer(backend, series, 24, async (buf) => {
        check64('buffer', await backend.rollingMoments64({ series: buf, length: 2000, window: 33 }), exp);
        check64('buffer prefix', await backend.rollingMoments64({ series: buf, length: 700, window: 33 }), naiveRolling64(series, 700, 33));
      });
      const big = new Float64Array(2000 + 19).fill(Number.NaN);
      big.set(series, 11);
      check64('host view', await backend.rollingMoments64({ series: big.subarray(11, 2011), length: 2000, window: 33 }), exp);
      const out = { mean: new Float64Array(1968).fill(Number.NaN), variance: new Float64Array(1968).fill(Number.NaN) };
      const r = await backend.rollingMoments64({ series, length: 2000, window: 33, out });
      expect(r.mean).toBe(out.mean);
      expect(r.variance).toBe(out.variance);
      check64('out arrays', out, exp);
      const meanOut = { mean: new Float64Array(1968) };
      const rm = await backend.rollingMoments64({ series, length: 2000, window: 33, meanOnly: true, out: meanOut });
      expect(rm.mean).toBe(meanOut.mean);
      check64('meanOnly out', rm, exp, true);
    });

    it('rejects bad arguments with ComputeArgumentError', async (ctx) => {
      const backend = use64(ctx);
      const series = tickPrices(6600, 64, 10, 0.5);
      const ok: RollingMoments64Args = { series, length: 64, window: 8 };
      await backend.rollingMoments64(ok);
      const bad: [string, Partial<RollingMoments64Args> | Record<string, unknown>][] = [
        ['length 0', { length: 0 }],
        ['window 0', { window: 0 }],
        ['window > length', { window: 65 }],
        ['window 2.5', { window: 2.5 }],
        ['series too short', { length: 65, window: 8 }],
        ['float32 series', { series: new Float32Array(64) }],
        ['meanOnly not boolean', { meanOnly: 1 }],
        ['out.mean too short', { out: { mean: new Float64Array(56), variance: new Float64Array(57) } }],
        ['out.variance missing', { out: { mean: new Float64Array(57) } }],
        ['out.mean float32', { out: { mean: new Float32Array(57), variance: new Float64Array(57) } }],
        ['out overlaps series', { out: { mean: series, variance: new Float64Array(57) } }],
      ];
      for (const [name, patch] of bad) await expectArgumentError(name, () => backend.rollingMoments64({ ...ok, ...patch } as RollingMoments64Args));
      await c.withBuffer(backend, series.subarray(0, 63), 0, async (small) => {
        await expectArgumentError('series buffer too small', () => backend.rollingMoments64({ ...ok, series: small }));
      });
    });

    it('sync.rollingMoments64 matches the async kernel', async (ctx) => {
      const backend = use64(ctx);
      if (!backend.capabilities.syncKernels || backend.sync?.rollingMoments64 === undefined) ctx.skip(`backend ${backend.name} declares no sync kernels`);
      const series = tickPrices(6700, 5171, 42000, 0.1);
      const args = { series, length: 5171, window: 31 };
      const s = backend.sync!.rollingMoments64!(args);
      check64('sync vs two-pass', s, naiveRolling64(series, 5171, 31));
      const a = await backend.rollingMoments64(args);
      expect(Array.from(s.mean)).toEqual(Array.from(a.mean));
      let threw = false;
      try {
        backend.sync!.rollingMoments64!({ ...args, window: 0 });
      } catch (e) {
        threw = (e as Error).name === 'ComputeArgumentError';
      }
      expect(threw, 'sync window 0 throws ComputeArgumentError').toBe(true);
    });
  });
}
