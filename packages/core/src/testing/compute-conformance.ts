/**
 * The compute conformance suite: one vitest suite that every compute backend package runs
 * against itself (`describeComputeConformance('vulkan', () => vulkanProvider)`).
 *
 * Every test compares the backend with an independent calculation written here (textbook
 * Pearson, per-window two-pass moments, triple-loop sgemm, per-path Monte Carlo from the
 * contract's Philox draw) and, where useful, with the pure-TypeScript oracle, within the
 * tolerances in CONFORMANCE_TOLERANCES (set for float32 devices).
 *
 * Skips come from the backend itself, inside each test with the reason visible: an unavailable
 * backend (its probe reason), a kernel not in `capabilities.kernels`, no sync kernels, and
 * `capabilities.float64: false` for the float64 section (compute-conformance-float64.ts).
 *
 * The order section (compute-conformance-order.ts) holds the contract's call order: un-awaited
 * calls meeting through buffers or host arrays, run on the backend and on the oracle in call order.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import {
  ALL_KERNELS,
  type BackendInitOptions,
  type ComputeBackend,
  type ComputeBackendProvider,
  type DeviceBuffer,
  type F32Arg,
  type KernelName,
  type MonteCarloVaRArgs,
  type MonteCarloVaRResult,
  type PatternScoresArgs,
  type PatternScoresResult,
  type RollingMomentsArgs,
  type RollingMomentsResult,
  type SgemmArgs,
  type SyncKernels,
} from '../contracts/compute.js';
import { JsComputeBackend } from '../compute/js-backend.js';
import { normalAt, splitSeed } from '../compute/philox.js';
import { describeFloat64Section } from './compute-conformance-float64.js';
import { describeOrderSection } from './compute-conformance-order.js';
import { expectArgumentError, fail, isComputeArgumentError } from './compute-checks.js';
import { skipUnlessRequired } from './require.js';
import { seededRandom, type SeededRandom } from './seeded-random.js';

export interface ComputeConformanceOptions {
  /** Passed to `provider.create`. */
  createOptions?: BackendInitOptions;
}

/** The tolerances the suite applies (float32 data, any accumulation precision). */
export const CONFORMANCE_TOLERANCES = Object.freeze({
  /** patternScores: absolute, on correlations in [-1, 1]; top-k may differ only among scores this close. */
  patternScoreAbs: 2e-4,
  /** patternScores: |score| of a zero-variance or non-finite window. */
  zeroScoreAbs: 1e-6,
  /** rollingMoments: mean within rel * (|mean| + sd), variance within rel * (variance + mean^2). */
  rollingRel: 1e-4,
  /** sgemm: per element, rel * max(1, k / 1024) * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|). */
  sgemmRel: 1e-4,
  /** monteCarloVaR vs the oracle (same seed): rel * max(|oracle value|, oracle stdLoss). */
  varRel: 2e-3,
});

const T = CONFORMANCE_TOLERANCES;

/** patternScores out arrays for 2 queries x topK 3 (6 elements each) whose scores start `scoresByte` bytes into the indices. */
function overlappingPatternOut(scoresByte: number): { indices: Int32Array; scores: Float32Array } {
  const bytes = new ArrayBuffer(scoresByte + 6 * 4);
  return { indices: new Int32Array(bytes, 0, 6), scores: new Float32Array(bytes, scoresByte, 6) };
}

// ---------------------------------------------------------------------------------------------
// Independent calculations (deliberately written differently from the js backend).

/** Textbook Pearson: (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2)(n Syy - Sy^2)); 0 for zero variance or non-finite data. */
export function naivePearson(stored: Float32Array, K: number, D: number, queries: Float32Array, B: number): Float64Array {
  const out = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (let d = 0; d < D; d++) {
        const x = queries[b * D + d];
        const y = stored[k * D + d];
        sx += x; sy += y; sxx += x * x; syy += y * y; sxy += x * y;
      }
      const vx = D * sxx - sx * sx;
      const vy = D * syy - sy * sy;
      const cov = D * sxy - sx * sy;
      let r = 0;
      if (Number.isFinite(vx) && Number.isFinite(vy) && Number.isFinite(cov) && !allEqual(queries, b * D, D) && !allEqual(stored, k * D, D)) {
        r = vx > 0 && vy > 0 ? cov / Math.sqrt(vx * vy) : 0;
      }
      out[b * K + k] = Math.max(-1, Math.min(1, r));
    }
  }
  return out;
}

function allEqual(x: Float32Array, off: number, n: number): boolean {
  for (let i = 1; i < n; i++) if (x[off + i] !== x[off]) return false;
  return true;
}

/** Two-pass mean and population variance of every window; NaN for windows holding a non-finite value. */
export function naiveRolling(x: Float32Array, N: number, W: number): { mean: Float64Array; variance: Float64Array } {
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
      mean[i] = NaN;
      variance[i] = NaN;
      continue;
    }
    const m = s / W;
    let v = 0;
    for (let j = i; j < i + W; j++) v += (x[j] - m) * (x[j] - m);
    mean[i] = m;
    variance[i] = v / W;
  }
  return { mean, variance };
}

/**
 * Simple returns of a tick-by-tick price near 30000 (|r| ~ 3e-7) with one print at 1000x the
 * price at `spikeAt` (a decimal-shift fat finger: returns +999, then -0.999), or none when
 * undefined: the series after which a float32 sliding variance keeps the spike's rounding unless
 * it restarts (docs/writing-a-compute-backend.md). Deterministic for a seed.
 */
export function fatFingerReturns(n: number, spikeAt: number | undefined, seed = 4242): Float32Array {
  let s = seed >>> 0;
  const r = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const p: number[] = [];
  let px = 30000;
  for (let i = 0; i <= n; i++) {
    px += Math.round(r() * 4) / 100;
    p.push(i === spikeAt ? px * 1000 : px);
  }
  return Float32Array.from({ length: n }, (_, i) => p[i + 1]! / p[i]! - 1);
}

/** Triple-loop C = alpha A B + beta C in float64, plus the magnitude sum used for the tolerance. */
export function naiveSgemm(
  m: number, n: number, k: number, alpha: number, beta: number, a: Float32Array, b: Float32Array, c: Float32Array,
): { value: Float64Array; magnitude: Float64Array } {
  const value = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        s += a[i * k + p] * b[p * n + j];
        mag += Math.abs(a[i * k + p] * b[p * n + j]);
      }
      const cij = beta === 0 ? 0 : beta * c[i * n + j];
      value[i * n + j] = alpha * s + cij;
      magnitude[i * n + j] = Math.abs(alpha) * mag + Math.abs(cij);
    }
  }
  return { value, magnitude };
}

/** Per-path losses straight from the contract's definition: -sum_t weights . (means + factor z). */
export function naiveMonteCarloLosses(args: MonteCarloVaRArgs): Float64Array {
  const [lo, hi] = splitSeed(args.seed);
  const A = args.assets;
  const F = args.factors;
  const H = args.horizon ?? 1;
  const losses = new Float64Array(args.paths);
  const z = new Float64Array(F);
  for (let p = 0; p < args.paths; p++) {
    let pnl = 0;
    for (let t = 0; t < H; t++) {
      for (let j = 0; j < F; j++) z[j] = normalAt(lo, hi, p, t, j);
      for (let a = 0; a < A; a++) {
        let r = args.means[a];
        for (let j = 0; j < F; j++) r += args.factor[a * F + j] * z[j];
        pnl += args.weights[a] * r;
      }
    }
    losses[p] = -pnl;
  }
  return losses;
}

/** VaR/CVaR/mean/std from losses by a full sort (the contract's quantile rule). */
export function summariseBySort(losses: Float64Array, confidence: number): MonteCarloVaRResult {
  const sorted = Float64Array.from(losses).sort();
  const n = sorted.length;
  const idx = Math.ceil(confidence * n) - 1;
  let tail = 0;
  for (let i = idx; i < n; i++) tail += sorted[i];
  let s = 0;
  for (const l of sorted) s += l;
  const mean = s / n;
  let v = 0;
  for (const l of sorted) v += (l - mean) ** 2;
  return { var: sorted[idx], cvar: tail / (n - idx), meanLoss: mean, stdLoss: Math.sqrt(v / n), paths: n };
}

// ---------------------------------------------------------------------------------------------
// Checks that report the first mismatch with context instead of thousands of expect() calls
// (fail and the argument-error checks: compute-checks.ts).

function checkAll(label: string, n: number, ok: (i: number) => boolean, describeAt: (i: number) => string): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (!ok(i)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) fail(`${label}: ${bad} of ${n} values out of tolerance; first at ${first}: ${describeAt(first)}`);
}

function checkScores(label: string, got: Float32Array, expected: ArrayLike<number>, tol: number): void {
  expect(got.length, `${label}: length`).toBe(expected.length);
  checkAll(label, expected.length, (i) => Math.abs(got[i] - expected[i]) <= tol, (i) => `got ${got[i]}, expected ${expected[i]} +- ${tol}`);
}

/**
 * Top-k of one query against the independent scores `naive` (length K): ranks agree with the
 * naive ranking within `tol`, returned indices are distinct and in range, scores are sorted
 * descending, exact ties ordered by lower index, and no stored window left out clearly beats
 * one that was kept.
 */
function checkTopK(label: string, idx: Int32Array, sc: Float32Array, off: number, topK: number, naive: Float64Array, nOff: number, K: number, tol: number): void {
  const ranked = Array.from({ length: K }, (_, i) => i).sort((x, y) => naive[nOff + y] - naive[nOff + x] || x - y);
  const seen = new Set<number>();
  for (let r = 0; r < topK; r++) {
    const i = idx[off + r];
    const s = sc[off + r];
    if (!(Number.isInteger(i) && i >= 0 && i < K)) fail(`${label}: rank ${r} index ${i} out of [0, ${K})`);
    if (seen.has(i)) fail(`${label}: index ${i} returned twice`);
    seen.add(i);
    if (Math.abs(s - naive[nOff + i]) > tol) fail(`${label}: rank ${r} index ${i} has score ${s}, independent score ${naive[nOff + i]}`);
    const want = naive[nOff + ranked[r]];
    if (Math.abs(s - want) > tol) fail(`${label}: rank ${r} score ${s} (index ${i}), expected ${want} (index ${ranked[r]})`);
    if (r > 0) {
      const prev = sc[off + r - 1];
      if (prev < s) fail(`${label}: scores not descending at rank ${r}: ${prev} then ${s}`);
      if (prev === s && idx[off + r - 1] > i) fail(`${label}: tie ${s} at rank ${r} not broken by the lower index (${idx[off + r - 1]} before ${i})`);
    }
  }
  const kth = naive[nOff + ranked[topK - 1]];
  for (let i = 0; i < K; i++) {
    if (!seen.has(i) && naive[nOff + i] > kth + 2 * tol) fail(`${label}: index ${i} (score ${naive[nOff + i]}) missing from the top ${topK}`);
  }
}

function checkRolling(label: string, got: RollingMomentsResult, exp: { mean: Float64Array; variance: Float64Array }, rel: number): void {
  const n = exp.mean.length;
  expect(got.mean.length, `${label}: mean length`).toBeGreaterThanOrEqual(n);
  expect(got.variance.length, `${label}: variance length`).toBeGreaterThanOrEqual(n);
  checkAll(`${label} mean`, n, (i) => {
    const e = exp.mean[i];
    if (Number.isNaN(e)) return Number.isNaN(got.mean[i]);
    return Math.abs(got.mean[i] - e) <= rel * (Math.abs(e) + Math.sqrt(exp.variance[i])) + 1e-30;
  }, (i) => `got ${got.mean[i]}, expected ${exp.mean[i]}`);
  checkAll(`${label} variance`, n, (i) => {
    const e = exp.variance[i];
    if (Number.isNaN(e)) return Number.isNaN(got.variance[i]);
    return got.variance[i] >= 0 && Math.abs(got.variance[i] - e) <= rel * (e + exp.mean[i] ** 2) + 1e-30;
  }, (i) => `got ${got.variance[i]}, expected ${exp.variance[i]} (variance must also be >= 0)`);
}

function checkSgemm(label: string, got: Float32Array, off: number, exp: { value: Float64Array; magnitude: Float64Array }, k: number): void {
  const scale = T.sgemmRel * Math.max(1, k / 1024);
  checkAll(label, exp.value.length, (i) => {
    const e = exp.value[i];
    if (Number.isNaN(e)) return Number.isNaN(got[off + i]);
    return Math.abs(got[off + i] - e) <= scale * exp.magnitude[i] + 1e-30;
  }, (i) => `got ${got[off + i]}, expected ${exp.value[i]} +- ${scale * exp.magnitude[i]}`);
}

function checkVaR(label: string, got: MonteCarloVaRResult, want: MonteCarloVaRResult, rel: number): void {
  expect(got.paths, `${label}: paths`).toBe(want.paths);
  for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) {
    const tol = rel * Math.max(Math.abs(want[key]), want.stdLoss);
    if (!(Math.abs(got[key] - want[key]) <= tol)) fail(`${label}: ${key} = ${got[key]}, expected ${want[key]} +- ${tol}`);
  }
}

function expectSyncArgumentError(label: string, call: () => unknown): void {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  if (error === undefined) fail(`${label}: expected sync code to throw a ComputeArgumentError`);
  if (!isComputeArgumentError(error)) fail(`${label}: expected a ComputeArgumentError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}

// ---------------------------------------------------------------------------------------------
// Test data.

interface PatternData {
  B: number; K: number; D: number; topK: number;
  stored: Float32Array; queries: Float32Array;
}

/** Windows with varied offsets and scales, a few constant windows, and queries copied from the store. */
function patternData(rng: SeededRandom, B: number, K: number, D: number, topK: number): PatternData {
  const stored = new Float32Array(K * D);
  for (let k = 0; k < K; k++) {
    const offset = 3 * rng.normal();
    const scale = 0.5 + 1.5 * rng.next();
    for (let d = 0; d < D; d++) stored[k * D + d] = offset + scale * rng.normal();
  }
  if (K >= 8 && D > 1) {
    stored.fill(0.1, 2 * D, 3 * D); // constant windows (0.1 is not exact in binary)
    stored.fill(-7, 5 * D, 6 * D);
  }
  const queries = rng.normals(B * D);
  for (let b = 0; b < B; b += 2) {
    // Every other query is a (noisy) copy of a stored window, so high correlations occur.
    const src = rng.int(K);
    for (let d = 0; d < D; d++) queries[b * D + d] = 2 * stored[src * D + d] + 1 + (b % 4 === 0 ? 0 : 0.05 * rng.normal());
  }
  return { B, K, D, topK, stored, queries };
}

function padded(data: Float32Array, before: number, after: number): Float32Array {
  const big = new Float32Array(before + data.length + after).fill(Number.NaN);
  big.set(data, before);
  return big.subarray(before, before + data.length);
}

function portfolio(rng: SeededRandom, A: number, F: number): { means: Float32Array; factor: Float32Array; weights: Float32Array } {
  const means = new Float32Array(A);
  const factor = new Float32Array(A * F);
  const weights = new Float32Array(A);
  for (let a = 0; a < A; a++) {
    means[a] = 0.0005 * rng.normal();
    weights[a] = 1000 * (0.5 + rng.next());
    for (let f = 0; f < F; f++) factor[a * F + f] = f <= a ? 0.01 * (0.2 + rng.next()) : 0;
  }
  return { means, factor, weights };
}

// ---------------------------------------------------------------------------------------------

export function describeComputeConformance(
  label: string,
  getProvider: () => ComputeBackendProvider | Promise<ComputeBackendProvider>,
  options: ComputeConformanceOptions = {},
): void {
  describe(`compute conformance: ${label}`, () => {
    const ref = new JsComputeBackend();
    const state: { provider?: ComputeBackendProvider; backend?: ComputeBackend; unavailable?: string; createError?: unknown } = {};

    beforeAll(async () => {
      const provider = await getProvider();
      state.provider = provider;
      let probe;
      try {
        probe = await provider.probe();
      } catch (e) {
        state.unavailable = `backend '${provider.name}' probe threw: ${e instanceof Error ? e.message : String(e)}`;
        return;
      }
      if (!probe.available) {
        state.unavailable = `backend '${provider.name}' unavailable: ${probe.reason}`;
        return;
      }
      try {
        state.backend = await provider.create(options.createOptions ?? {});
      } catch (e) {
        state.createError = e;
      }
    });

    afterAll(async () => {
      await state.backend?.dispose();
      await ref.dispose();
    });

    /** The backend under test, or a visible skip (unavailable / a listed kernel not declared). */
    function use(ctx: TestContext, ...kernels: KernelName[]): ComputeBackend {
      // An unavailable backend fails instead where CI requires it (CWTS_REQUIRE=<backend name>).
      if (state.unavailable !== undefined) skipUnlessRequired(ctx, state.provider?.name ?? label, state.unavailable);
      if (state.createError !== undefined || state.backend === undefined) {
        const e = state.createError;
        throw new Error(`backend '${state.provider?.name}' probed available but create() failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      const backend = state.backend;
      for (const kernel of kernels) {
        if (!backend.capabilities.kernels.includes(kernel)) ctx.skip(`kernel ${kernel} not declared by backend ${backend.name}`);
      }
      return backend;
    }

    function useSync(ctx: TestContext, kernel: 'patternScores' | 'rollingMoments' | 'sgemm'): ComputeBackend & { sync: NonNullable<ComputeBackend['sync']> } {
      const backend = use(ctx, kernel);
      if (!backend.capabilities.syncKernels) ctx.skip(`backend ${backend.name} declares no sync kernels`);
      if (backend.sync === undefined) fail(`backend ${backend.name} declares syncKernels but has no sync object`);
      return backend as ComputeBackend & { sync: NonNullable<ComputeBackend['sync']> };
    }

    /**
     * The entry points a data-dependent case runs through: the async kernel, and with it the sync
     * kernel (wrapped in a promise) where the backend declares syncKernels. Sync kernels take host
     * arrays, so cases with DeviceBuffers stay on the async path.
     */
    type Path<A, R> = [path: string, run: (a: A) => Promise<R>];
    function syncOf(backend: ComputeBackend): SyncKernels | undefined {
      if (!backend.capabilities.syncKernels) return undefined;
      if (backend.sync === undefined) fail(`backend ${backend.name} declares syncKernels but has no sync object`);
      return backend.sync;
    }
    function patternPaths(backend: ComputeBackend): Path<PatternScoresArgs, PatternScoresResult>[] {
      const sync = syncOf(backend);
      const out: Path<PatternScoresArgs, PatternScoresResult>[] = [['async', (a) => backend.patternScores(a)]];
      if (sync) out.push(['sync', async (a) => sync.patternScores(a)]);
      return out;
    }
    function rollingPaths(backend: ComputeBackend): Path<RollingMomentsArgs, RollingMomentsResult>[] {
      const sync = syncOf(backend);
      const out: Path<RollingMomentsArgs, RollingMomentsResult>[] = [['async', (a) => backend.rollingMoments(a)]];
      if (sync) out.push(['sync', async (a) => sync.rollingMoments(a)]);
      return out;
    }
    function sgemmPaths(backend: ComputeBackend): Path<SgemmArgs, void>[] {
      const sync = syncOf(backend);
      const out: Path<SgemmArgs, void>[] = [['async', (a) => backend.sgemm(a)]];
      if (sync) out.push(['sync', async (a) => sync.sgemm(a)]);
      return out;
    }

    /** Runs `body` with buffers it creates through `alloc`, freeing them afterwards. */
    async function withBuffers<R>(backend: ComputeBackend, body: (alloc: (data: Float32Array | number, pad?: number) => Promise<DeviceBuffer>) => Promise<R>): Promise<R> {
      const made: DeviceBuffer[] = [];
      const alloc = async (data: Float32Array | number, pad = 0): Promise<DeviceBuffer> => {
        const bytes = typeof data === 'number' ? data : data.byteLength + pad * 4;
        const buf = backend.createBuffer(bytes);
        made.push(buf);
        if (typeof data !== 'number') await backend.upload(buf, data);
        return buf;
      };
      try {
        return await body(alloc);
      } finally {
        for (const b of made) {
          try {
            backend.freeBuffer(b);
          } catch {
            // already freed by the test
          }
        }
      }
    }

    // -------------------------------------------------------------------------------------------
    describe('backend', () => {
      it('probe and capabilities are consistent', (ctx) => {
        const backend = use(ctx);
        expect(typeof backend.name).toBe('string');
        expect(backend.name).toBe(state.provider?.name);
        expect(typeof backend.device.name).toBe('string');
        expect(backend.device.name.length).toBeGreaterThan(0);
        expect(typeof backend.device.type).toBe('string');
        const kernels = backend.capabilities.kernels;
        for (const k of kernels) expect(ALL_KERNELS, `unknown kernel ${k}`).toContain(k);
        expect(new Set(kernels).size, 'kernels listed twice').toBe(kernels.length);
        expect(typeof backend.capabilities.deviceMemory).toBe('boolean');
        expect(backend.capabilities.maxBufferBytes).toBeGreaterThan(0);
        expect(backend.capabilities.syncKernels, 'syncKernels must be true exactly when sync is provided').toBe(backend.sync !== undefined);
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('buffers', () => {
      it('upload and download round-trip, with offsets and host views', async (ctx) => {
        const backend = use(ctx);
        const rng = seededRandom(101);
        const buf = backend.createBuffer(1028);
        try {
          expect(buf.byteLength).toBe(1028);
          expect(buf.backend).toBe(backend.name);
          const data = rng.normals(257);
          await backend.upload(buf, data);
          const back = new Float32Array(257);
          await backend.download(buf, back);
          expect(new Uint32Array(back.buffer)).toEqual(new Uint32Array(data.buffer));

          // A host view with a byteOffset, uploaded at a device offset.
          const part = padded(rng.normals(16), 5, 3);
          await backend.upload(buf, part, 64);
          const region = new Float32Array(16);
          await backend.download(buf, region, 64);
          expect(Array.from(region)).toEqual(Array.from(part));
          const before = new Float32Array(16);
          await backend.download(buf, before, 0);
          expect(Array.from(before), 'bytes before the upload offset changed').toEqual(Array.from(data.subarray(0, 16)));
          const after = new Float32Array(4);
          await backend.download(buf, after, 128);
          expect(Array.from(after), 'bytes after the uploaded range changed').toEqual(Array.from(data.subarray(32, 36)));

          // Download into a view: only the view is written.
          const host = new Float32Array(10).fill(-1);
          await backend.download(buf, host.subarray(2, 6), 64);
          expect(Array.from(host)).toEqual([-1, -1, ...Array.from(part.subarray(0, 4)), -1, -1, -1, -1]);

          // Other element types move bytes unchanged.
          const ints = new Uint8Array([1, 2, 3, 250, 251, 252, 253, 254]);
          await backend.upload(buf, ints, 1020);
          const intsBack = new Uint8Array(8);
          await backend.download(buf, intsBack, 1020);
          expect(Array.from(intsBack)).toEqual(Array.from(ints));
        } finally {
          backend.freeBuffer(buf);
        }
      });

      it('rejects transfers out of range and bad sizes', async (ctx) => {
        const backend = use(ctx);
        const buf = backend.createBuffer(64);
        try {
          await expectArgumentError('upload past the end', () => backend.upload(buf, new Float32Array(2), 60));
          await expectArgumentError('upload larger than the buffer', () => backend.upload(buf, new Float32Array(17)));
          await expectArgumentError('download past the end', () => backend.download(buf, new Float32Array(4), 52));
          await expectArgumentError('negative offset', () => backend.upload(buf, new Float32Array(1), -4));
          await expectArgumentError('fractional offset', () => backend.download(buf, new Float32Array(1), 1.5));
        } finally {
          backend.freeBuffer(buf);
        }
        expectSyncArgumentError('createBuffer(0)', () => backend.createBuffer(0));
        expectSyncArgumentError('createBuffer(-8)', () => backend.createBuffer(-8));
        expectSyncArgumentError('createBuffer(1.5)', () => backend.createBuffer(1.5));
        expectSyncArgumentError('createBuffer(NaN)', () => backend.createBuffer(Number.NaN));
      });

      it('rejects freed buffers and buffers of another backend instance', async (ctx) => {
        const backend = use(ctx);
        const buf = backend.createBuffer(256);
        backend.freeBuffer(buf);
        await expectArgumentError('upload to a freed buffer', () => backend.upload(buf, new Float32Array(4)));
        await expectArgumentError('download from a freed buffer', () => backend.download(buf, new Float32Array(4)));
        expectSyncArgumentError('freeing twice', () => backend.freeBuffer(buf));
        if (backend.capabilities.kernels.includes('rollingMoments')) {
          await expectArgumentError('kernel input from a freed buffer', () => backend.rollingMoments({ series: buf, length: 16, window: 4 }));
        }
        const foreign = ref.createBuffer(256);
        try {
          await expectArgumentError('upload to a foreign buffer', () => backend.upload(foreign, new Float32Array(4)));
          if (backend.capabilities.kernels.includes('rollingMoments')) {
            await expectArgumentError('kernel input from a foreign buffer', () => backend.rollingMoments({ series: foreign, length: 16, window: 4 }));
          }
        } finally {
          ref.freeBuffer(foreign);
        }
      });

      it('copy moves bytes device to device', async (ctx) => {
        const backend = use(ctx, 'copy');
        const rng = seededRandom(102);
        const src = rng.normals(1024);
        const dstInit = rng.normals(1024);
        await withBuffers(backend, async (alloc) => {
          const s = await alloc(src);
          const d = await alloc(dstInit);
          await backend.copy(s, d, 1024);
          const got = new Float32Array(1024);
          await backend.download(d, got);
          expect(Array.from(got.subarray(0, 256))).toEqual(Array.from(src.subarray(0, 256)));
          expect(Array.from(got.subarray(256)), 'bytes past byteLength changed').toEqual(Array.from(dstInit.subarray(256)));
          await backend.copy(s, d, 4096);
          await backend.download(d, got);
          expect(Array.from(got)).toEqual(Array.from(src));
          const small = await alloc(64);
          await expectArgumentError('copy larger than dst', () => backend.copy(s, small, 128));
          await expectArgumentError('copy larger than src', () => backend.copy(small, d, 128));
          await expectArgumentError('copy of 0 bytes', () => backend.copy(s, d, 0));
          await expectArgumentError('copy onto itself', () => backend.copy(s, s, 64));
        });
      });

      it('noop resolves, repeatedly', async (ctx) => {
        const backend = use(ctx, 'noop');
        for (let i = 0; i < 50; i++) await backend.noop();
        await Promise.all(Array.from({ length: 20 }, () => backend.noop()));
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('patternScores', () => {
      const shapes: [B: number, K: number, D: number, topK: number][] = [
        [3, 33, 17, 5],
        [2, 1023, 33, 16],
        [1, 1, 8, 1],
        [4, 17, 16, 17],
        [5, 64, 1, 3],
        [6, 100, 64, 1],
        [1, 257, 2, 10],
      ];
      for (const [B, K, D, topK] of shapes) {
        it(`B=${B} K=${K} D=${D} topK=${topK} matches an independent Pearson and the oracle`, async (ctx) => {
          const backend = use(ctx, 'patternScores');
          const data = patternData(seededRandom(1000 + K * 7 + D), B, K, D, topK);
          const args: PatternScoresArgs = { stored: data.stored, storedCount: K, dim: D, queries: data.queries, queryCount: B, topK, returnAllScores: true };
          const got = await backend.patternScores(args);
          const naive = naivePearson(data.stored, K, D, data.queries, B);
          const oracle = await ref.patternScores(args);
          expect(got.indices.length).toBeGreaterThanOrEqual(B * topK);
          expect(got.scores.length).toBeGreaterThanOrEqual(B * topK);
          expect(got.allScores, 'returnAllScores: true must return allScores').toBeDefined();
          checkScores('allScores vs independent', got.allScores!, naive, T.patternScoreAbs);
          checkScores('allScores vs oracle', got.allScores!, oracle.allScores!, T.patternScoreAbs);
          for (let b = 0; b < B; b++) checkTopK(`query ${b}`, got.indices, got.scores, b * topK, topK, naive, b * K, K, T.patternScoreAbs);
          if (D === 1) {
            // Every window is constant: all scores 0, so the tie rule gives indices 0..topK-1.
            for (let b = 0; b < B; b++) expect(Array.from(got.indices.subarray(b * topK, b * topK + topK))).toEqual(Array.from({ length: topK }, (_, i) => i));
          }
        });
      }

      it('top-k without allScores', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const d = patternData(seededRandom(1100), 7, 300, 24, 9);
        const got = await backend.patternScores({ stored: d.stored, storedCount: 300, dim: 24, queries: d.queries, queryCount: 7, topK: 9 });
        const naive = naivePearson(d.stored, 300, 24, d.queries, 7);
        for (let b = 0; b < 7; b++) checkTopK(`query ${b}`, got.indices, got.scores, b * 9, 9, naive, b * 300, 300, T.patternScoreAbs);
      });

      it('exact duplicate windows tie and keep the lower index first', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const rng = seededRandom(1101);
        const D = 20;
        const K = 40;
        const stored = rng.normals(K * D);
        const x = rng.normals(D);
        for (const k of [9, 2, 31]) stored.set(x, k * D);
        const got = await backend.patternScores({ stored, storedCount: K, dim: D, queries: x, queryCount: 1, topK: 3, returnAllScores: true });
        expect(new Set(got.indices), 'the three copies are the top 3').toEqual(new Set([2, 9, 31]));
        for (let r = 0; r < 3; r++) expect(Math.abs(got.scores[r] - 1)).toBeLessThanOrEqual(T.patternScoreAbs);
        const naive = naivePearson(stored, K, D, x, 1);
        checkTopK('duplicates', got.indices, got.scores, 0, 3, naive, 0, K, T.patternScoreAbs);
      });

      it('zero-variance windows and queries score 0', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const rng = seededRandom(1102);
        const D = 33;
        const K = 12;
        const stored = rng.normals(K * D);
        stored.fill(0.1, 0, D);
        stored.fill(1e3, 4 * D, 5 * D);
        stored.fill(-3.3, 11 * D, 12 * D);
        const queries = new Float32Array(3 * D);
        queries.set(rng.normals(D), 0);
        queries.fill(0.7, D, 2 * D); // a constant query
        queries.set(stored.subarray(2 * D, 3 * D), 2 * D);
        for (const [path, run] of patternPaths(backend)) {
          const got = await run({ stored, storedCount: K, dim: D, queries, queryCount: 3, topK: K, returnAllScores: true });
          const all = got.allScores!;
          for (let b = 0; b < 3; b++) {
            for (const k of [0, 4, 11]) expect(Math.abs(all[b * K + k]), `${path}: query ${b} vs constant window ${k}`).toBeLessThanOrEqual(T.zeroScoreAbs);
          }
          for (let k = 0; k < K; k++) expect(Math.abs(all[K + k]), `${path}: constant query vs window ${k}`).toBeLessThanOrEqual(T.zeroScoreAbs);
          const naive = naivePearson(stored, K, D, queries, 3);
          checkScores(`${path}: scores`, all, naive, T.patternScoreAbs);
          for (let b = 0; b < 3; b++) checkTopK(`${path}: query ${b}`, got.indices, got.scores, b * K, K, naive, b * K, K, T.patternScoreAbs);
        }
      });

      it('a window holding NaN or Infinity scores 0 (treated as zero-variance)', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const rng = seededRandom(1103);
        const D = 16;
        const K = 10;
        const B = 3;
        const stored = rng.normals(K * D);
        stored[3 * D + 5] = Number.NaN;
        stored[6 * D] = Number.POSITIVE_INFINITY;
        stored[8 * D + 15] = Number.NEGATIVE_INFINITY;
        const queries = rng.normals(B * D);
        queries[D + 7] = Number.NaN;
        for (const [path, run] of patternPaths(backend)) {
          const got = await run({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 4, returnAllScores: true });
          const all = got.allScores!;
          for (let b = 0; b < B; b++) {
            for (const k of [3, 6, 8]) expect(Math.abs(all[b * K + k]), `${path}: query ${b} vs window ${k}`).toBeLessThanOrEqual(T.zeroScoreAbs);
          }
          for (let k = 0; k < K; k++) expect(Math.abs(all[K + k]), `${path}: NaN query vs window ${k}`).toBeLessThanOrEqual(T.zeroScoreAbs);
          const naive = naivePearson(stored, K, D, queries, B);
          checkScores(`${path}: scores`, all, naive, T.patternScoreAbs);
          for (let b = 0; b < B; b++) checkTopK(`${path}: query ${b}`, got.indices, got.scores, b * 4, 4, naive, b * K, K, T.patternScoreAbs);
          for (let i = 0; i < B * 4; i++) expect(Number.isFinite(got.scores[i]), `${path}: top-k score ${i}`).toBe(true);
        }
      });

      // Token amounts in base units (1e19..1e36) overflow a float32 sum of squares and tiny values
      // underflow it; such a window must score as the oracle, not 0 (only NaN/Infinity or zero
      // variance may). Short windows and long ones (backends often have a kernel for each).
      for (const [D, scale] of [[64, 1e20], [8, 1e36], [300, 1e36], [17, 1e-25], [777, 1e-25]] as const) {
        it(`finite values far from 1 (D=${D}, values ~${scale}) score as the oracle`, async (ctx) => {
          const backend = use(ctx, 'patternScores');
          const K = 23, B = 4;
          const stored = new Float32Array(K * D);
          const queries = new Float32Array(B * D);
          for (let k = 0; k < K; k++) {
            // Most windows at `scale`, a few ordinary, one constant, one holding NaN.
            const s = k % 5 === 4 ? 1 : scale;
            for (let d = 0; d < D; d++) stored[k * D + d] = k === 7 ? s : s * (Math.sin(d * (1 + k / 10) + k) + 2);
          }
          stored[11 * D + (D >> 1)] = Number.NaN;
          for (let b = 0; b < B; b++) {
            const s = b % 2 === 0 ? 1 : scale;
            for (let d = 0; d < D; d++) queries[b * D + d] = s * (Math.sin(d * (1 + b / 7)) + 2);
          }
          const args: PatternScoresArgs = { stored, storedCount: K, dim: D, queries, queryCount: B, topK: 4, returnAllScores: true };
          const got = await backend.patternScores(args);
          const oracle = await ref.patternScores(args);
          checkScores('allScores vs oracle', got.allScores!, oracle.allScores!, T.patternScoreAbs);
          for (let b = 0; b < B; b++) {
            expect(Math.abs(got.allScores![b * K + 7]), `query ${b} vs the constant window`).toBeLessThanOrEqual(T.zeroScoreAbs);
            expect(Math.abs(got.allScores![b * K + 11]), `query ${b} vs the window with NaN`).toBeLessThanOrEqual(T.zeroScoreAbs);
          }
          const naive = naivePearson(stored, K, D, queries, B);
          for (let b = 0; b < B; b++) checkTopK(`query ${b}`, got.indices, got.scores, b * 4, 4, naive, b * K, K, T.patternScoreAbs);
        });
      }

      it('accepts DeviceBuffers (resident store) and host views with offsets', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const d = patternData(seededRandom(1104), 4, 129, 33, 7);
        const naive = naivePearson(d.stored, 129, 33, d.queries, 4);
        const base = { storedCount: 129, dim: 33, queryCount: 4, topK: 7, returnAllScores: true };
        await withBuffers(backend, async (alloc) => {
          const storedBuf = await alloc(d.stored, 11); // larger than needed
          const queriesBuf = await alloc(d.queries);
          const variants: [string, F32Arg, F32Arg][] = [
            ['buffer + buffer', storedBuf, queriesBuf],
            ['buffer + host', storedBuf, d.queries],
            ['host view + buffer', padded(d.stored, 3, 5), queriesBuf],
            ['host views', padded(d.stored, 1, 0), padded(d.queries, 9, 2)],
          ];
          for (const [name, stored, queries] of variants) {
            const got = await backend.patternScores({ ...base, stored, queries });
            checkScores(`${name}: allScores`, got.allScores!, naive, T.patternScoreAbs);
            for (let b = 0; b < 4; b++) checkTopK(`${name}: query ${b}`, got.indices, got.scores, b * 7, 7, naive, b * 129, 129, T.patternScoreAbs);
          }
          // host views through every path (the sync kernel too: views start past byte 0 of their buffer)
          for (const [path, run] of patternPaths(backend)) {
            const got = await run({ ...base, stored: padded(d.stored, 3, 5), queries: padded(d.queries, 9, 2) });
            checkScores(`${path}: host views: allScores`, got.allScores!, naive, T.patternScoreAbs);
            for (let b = 0; b < 4; b++) checkTopK(`${path}: host views: query ${b}`, got.indices, got.scores, b * 7, 7, naive, b * 129, 129, T.patternScoreAbs);
          }
          // The store stays resident: a second query batch against the same buffer.
          const q2 = seededRandom(1105).normals(2 * 33);
          const got2 = await backend.patternScores({ ...base, stored: storedBuf, queries: q2, queryCount: 2 });
          checkScores('second batch', got2.allScores!, naivePearson(d.stored, 129, 33, q2, 2), T.patternScoreAbs);
        });
      });

      it('fills the given out arrays', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const d = patternData(seededRandom(1106), 3, 50, 12, 4);
        const naive = naivePearson(d.stored, 50, 12, d.queries, 3);
        for (const [path, run] of patternPaths(backend)) {
          // out arrays as views past byte 0 of a larger buffer
          const outBytes = new ArrayBuffer(4 * (12 + 3 + 12 + 2));
          const out = { indices: new Int32Array(outBytes, 3 * 4, 12).fill(-1), scores: new Float32Array(outBytes, (12 + 3 + 2) * 4, 12).fill(Number.NaN) };
          const got = await run({ stored: d.stored, storedCount: 50, dim: 12, queries: d.queries, queryCount: 3, topK: 4, out });
          expect(Array.from(out.indices), `${path}: out.indices`).toEqual(Array.from(got.indices.subarray(0, 12)));
          expect(Array.from(out.scores), `${path}: out.scores`).toEqual(Array.from(got.scores.subarray(0, 12)));
          for (let b = 0; b < 3; b++) checkTopK(`${path}: query ${b}`, out.indices, out.scores, b * 4, 4, naive, b * 50, 50, T.patternScoreAbs);
        }
      });

      it('rejects bad arguments with ComputeArgumentError', async (ctx) => {
        const backend = use(ctx, 'patternScores');
        const d = patternData(seededRandom(1107), 2, 10, 8, 3);
        const ok: PatternScoresArgs = { stored: d.stored, storedCount: 10, dim: 8, queries: d.queries, queryCount: 2, topK: 3 };
        await backend.patternScores(ok);
        const bad: [string, Partial<PatternScoresArgs>][] = [
          ['storedCount 0', { storedCount: 0 }],
          ['storedCount -1', { storedCount: -1 }],
          ['storedCount 1.5', { storedCount: 1.5 }],
          ['storedCount NaN', { storedCount: Number.NaN }],
          ['dim 0', { dim: 0 }],
          ['queryCount 0', { queryCount: 0 }],
          ['topK 0', { topK: 0 }],
          ['topK > storedCount', { topK: 11 }],
          ['topK 2.5', { topK: 2.5 }],
          ['stored too short', { stored: d.stored.subarray(0, 79) }],
          ['queries too short', { queries: d.queries.subarray(0, 15) }],
          ['storedCount x dim beyond stored', { storedCount: 11, topK: 3 }],
          ['out.indices too short', { out: { indices: new Int32Array(5), scores: new Float32Array(6) } }],
          ['out.scores too short', { out: { indices: new Int32Array(6), scores: new Float32Array(5) } }],
          // Over the same bytes the scores' float bits would come back as indices.
          ['out.indices and out.scores over the same bytes', { out: overlappingPatternOut(0) }],
          ['out.scores starting inside out.indices', { out: overlappingPatternOut(20) }],
        ];
        for (const [name, patch] of bad) await expectArgumentError(name, () => backend.patternScores({ ...ok, ...patch }));
        await withBuffers(backend, async (alloc) => {
          const small = await alloc(d.stored.subarray(0, 79));
          await expectArgumentError('stored buffer too small', () => backend.patternScores({ ...ok, stored: small }));
        });
      });

      it('sync.patternScores matches the async kernel', async (ctx) => {
        const backend = useSync(ctx, 'patternScores');
        const d = patternData(seededRandom(1108), 3, 77, 19, 6);
        const args: PatternScoresArgs = { stored: d.stored, storedCount: 77, dim: 19, queries: d.queries, queryCount: 3, topK: 6, returnAllScores: true };
        const s = backend.sync.patternScores(args);
        const a = await backend.patternScores(args);
        checkScores('sync vs async', s.allScores!, a.allScores!, T.patternScoreAbs);
        const naive = naivePearson(d.stored, 77, 19, d.queries, 3);
        for (let b = 0; b < 3; b++) checkTopK(`sync query ${b}`, s.indices, s.scores, b * 6, 6, naive, b * 77, 77, T.patternScoreAbs);
        expectSyncArgumentError('sync topK 0', () => backend.sync.patternScores({ ...args, topK: 0 }));
        expectSyncArgumentError('sync stored too short', () => backend.sync.patternScores({ ...args, stored: d.stored.subarray(1) }));
        const shared = new ArrayBuffer(3 * 6 * 4);
        expectSyncArgumentError('sync out.indices and out.scores over the same bytes', () => backend.sync.patternScores({ ...args, out: { indices: new Int32Array(shared), scores: new Float32Array(shared) } }));
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('rollingMoments', () => {
      const shapes: [N: number, W: number][] = [[1023, 17], [1023, 1], [1023, 1023], [1, 1], [33, 16], [4097, 100], [2, 1], [2, 2]];
      for (const [N, W] of shapes) {
        it(`N=${N} W=${W} matches a two-pass calculation`, async (ctx) => {
          const backend = use(ctx, 'rollingMoments');
          const series = seededRandom(2000 + N + W).normals(N, 0.5, 1);
          const got = await backend.rollingMoments({ series, length: N, window: W });
          const exp = naiveRolling(series, N, W);
          checkRolling('vs two-pass', got, exp, T.rollingRel);
          checkRolling('vs oracle', got, naiveFrom(await ref.rollingMoments({ series, length: N, window: W })), T.rollingRel);
          if (W === 1) for (let i = 0; i < N; i++) expect(got.variance[i]).toBe(0);
        });
      }

      it('a random walk with drifting level and volatility', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const rng = seededRandom(2001);
        const N = 3000;
        const series = new Float32Array(N);
        let level = 0;
        for (let i = 0; i < N; i++) {
          level += 0.1 * rng.normal();
          series[i] = level + (1 + Math.sin(i / 200)) * rng.normal();
        }
        const got = await backend.rollingMoments({ series, length: N, window: 50 });
        checkRolling('walk', got, naiveRolling(series, N, 50), T.rollingRel);
      });

      // Tick returns (variance ~1e-13) with one decimal-shift print (+999, then -0.999): a
      // sliding update that keeps the spike's rounding after it leaves is off by up to 1e5x the
      // tolerance for up to a thousand windows (docs/writing-a-compute-backend.md, the restart rule).
      for (const [W, spikeAt] of [[20, 1500], [300, 1500], [60, 1]] as const) {
        it(`a fat-finger outlier leaving the window (W=${W}, spike at ${spikeAt}) keeps every window within tolerance`, async (ctx) => {
          const backend = use(ctx, 'rollingMoments');
          const series = fatFingerReturns(4000, spikeAt);
          const got = await backend.rollingMoments({ series, length: series.length, window: W });
          const want = naiveRolling(series, series.length, W);
          checkRolling('after the outlier', got, want, T.rollingRel);
          if (backend.sync) checkRolling('sync, after the outlier', backend.sync.rollingMoments({ series, length: series.length, window: W }), want, T.rollingRel);
        });
      }

      // A fat-finger print reverting over a few ticks (+1, -1/3, +1/9, ...) among tick returns of
      // sd 1e-4: each step removes ~9x what is left, so a restart rule that looks at one step at a
      // time never fires, and M2 keeps the spike's rounding (Vulkan was 3.5x off at W=8).
      for (const W of [8, 60]) {
        it(`a spike reverting over a few ticks (W=${W}) keeps every window within tolerance`, async (ctx) => {
          const backend = use(ctx, 'rollingMoments');
          const rng = seededRandom(5);
          const series = new Float32Array(3000);
          for (let i = 0; i < series.length; i++) series[i] = 1e-4 * rng.normal();
          for (let j = 0; j < 20; j++) series[1000 + j] += (-1 / 3) ** j;
          checkRolling('reverting spike', await backend.rollingMoments({ series, length: series.length, window: W }), naiveRolling(series, series.length, W), T.rollingRel);
        });
      }

      // A volatility drop: 2000 values of N(0, 1), then N(0, 1e-4). Windows holding both are
      // summed over large terms followed by many small ones; a plain float32 sum drops every term
      // below half an ulp of its running total (Vulkan was 15x the tolerance at W=4000).
      for (const [W, drop] of [[1000, 1e-4], [4000, 1e-4], [300, 1e-3]] as const) {
        it(`a volatility drop to ${drop} (W=${W}): windows of large then small values keep tolerance`, async (ctx) => {
          const backend = use(ctx, 'rollingMoments');
          const rng = seededRandom(2010);
          const N = 8000;
          const series = new Float32Array(N);
          for (let i = 0; i < N; i++) series[i] = rng.normal() * (i < 2000 ? 1 : drop);
          checkRolling('volatility drop', await backend.rollingMoments({ series, length: N, window: W }), naiveRolling(series, N, W), T.rollingRel);
        });
      }

      // Token amounts in base units: values near 1e19 have a variance (~1e38) that float32 holds,
      // while W x variance (a float32 M2) does not; and one such spike in an ordinary series.
      for (const W of [8, 64]) {
        it(`values near 1e19 (W=${W}): the finite variance, not Infinity`, async (ctx) => {
          const backend = use(ctx, 'rollingMoments');
          const N = 2000;
          const series = new Float32Array(N);
          for (let i = 0; i < N; i++) series[i] = 1e19 * (Math.sin(i / 3) + 2 + Math.cos(i / 17));
          checkRolling('values near 1e19', await backend.rollingMoments({ series, length: N, window: W }), naiveRolling(series, N, W), T.rollingRel);
        });
      }

      it('a 3e19 spike in an ordinary series: finite variance while it is in the window, ordinary after', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const N = 3000;
        const series = new Float32Array(N);
        for (let i = 0; i < N; i++) series[i] = 100 + Math.sin(i / 7);
        series[1500] = 3e19;
        checkRolling('3e19 spike', await backend.rollingMoments({ series, length: N, window: 40 }), naiveRolling(series, N, 40), T.rollingRel);
      });

      it('constant stretches have (near) zero, never negative, variance', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const rng = seededRandom(2002);
        const series = rng.normals(600, 0.5, 1);
        series.fill(0.1, 100, 300);
        series.fill(1234.5, 400, 520);
        for (const [path, run] of rollingPaths(backend)) {
          const got = await run({ series, length: 600, window: 16 });
          checkRolling(`${path}: constant stretches`, got, naiveRolling(series, 600, 16), T.rollingRel);
          for (const [from, to, value] of [[100, 300, 0.1], [400, 520, 1234.5]] as const) {
            for (let i = from; i + 16 <= to; i++) {
              expect(Math.abs(got.mean[i] - Math.fround(value)), `${path}: mean at ${i}`).toBeLessThanOrEqual(1e-6 * value);
              expect(got.variance[i], `${path}: variance at ${i}`).toBeGreaterThanOrEqual(0);
              expect(got.variance[i], `${path}: variance at ${i}`).toBeLessThanOrEqual(T.rollingRel * value * value);
            }
          }
        }
      });

      it('NaN or Infinity makes every window containing it NaN, and only those', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const series = seededRandom(2003).normals(700, 0.5, 1);
        series[100] = Number.NaN;
        series[400] = Number.POSITIVE_INFINITY;
        series[401] = Number.NEGATIVE_INFINITY;
        series[699] = Number.NaN;
        const W = 25;
        const exp = naiveRolling(series, 700, W);
        for (let i = 0; i < exp.mean.length; i++) {
          const hit = (i <= 100 && 100 < i + W) || (i <= 401 && 400 < i + W) || i + W > 699;
          expect(Number.isNaN(exp.mean[i])).toBe(hit);
        }
        for (const [path, run] of rollingPaths(backend)) {
          checkRolling(`${path}: with non-finite values`, await run({ series, length: 700, window: W }), exp, T.rollingRel);
          // the same values as a view past byte 0 of a larger buffer
          checkRolling(`${path}: with non-finite values, host view`, await run({ series: padded(series, 5, 3), length: 700, window: W }), exp, T.rollingRel);
        }
      });

      it('accepts a DeviceBuffer and host views with offsets; fills out arrays', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const series = seededRandom(2004).normals(1000, -0.25, 2);
        const exp = naiveRolling(series, 1000, 33);
        await withBuffers(backend, async (alloc) => {
          const buf = await alloc(series, 7);
          checkRolling('buffer', await backend.rollingMoments({ series: buf, length: 1000, window: 33 }), exp, T.rollingRel);
          // length shorter than the buffer: only the first `length` values count.
          checkRolling('buffer prefix', await backend.rollingMoments({ series: buf, length: 500, window: 33 }), naiveRolling(series, 500, 33), T.rollingRel);
        });
        for (const [path, run] of rollingPaths(backend)) {
          checkRolling(`${path}: host view`, await run({ series: padded(series, 13, 2), length: 1000, window: 33 }), exp, T.rollingRel);
          const out = { mean: new Float32Array(968).fill(Number.NaN), variance: new Float32Array(968).fill(Number.NaN) };
          await run({ series, length: 1000, window: 33, out });
          checkRolling(`${path}: out arrays`, out, exp, T.rollingRel);
          // out arrays as views past byte 0 of one larger buffer, not overlapping
          const outBytes = new ArrayBuffer(4 * (5 + 968 + 3 + 968));
          const outViews = { mean: new Float32Array(outBytes, 5 * 4, 968).fill(Number.NaN), variance: new Float32Array(outBytes, (5 + 968 + 3) * 4, 968).fill(Number.NaN) };
          await run({ series: padded(series, 1, 0), length: 1000, window: 33, out: outViews });
          checkRolling(`${path}: out views`, outViews, exp, T.rollingRel);
        }
      });

      it('rejects bad arguments with ComputeArgumentError', async (ctx) => {
        const backend = use(ctx, 'rollingMoments');
        const series = seededRandom(2005).normals(64);
        const ok: RollingMomentsArgs = { series, length: 64, window: 8 };
        await backend.rollingMoments(ok);
        const bad: [string, Partial<RollingMomentsArgs>][] = [
          ['length 0', { length: 0 }],
          ['length 1.5', { length: 1.5 }],
          ['window 0', { window: 0 }],
          ['window -3', { window: -3 }],
          ['window > length', { window: 65 }],
          ['window 2.5', { window: 2.5 }],
          ['series too short', { length: 65, window: 8 }],
          ['out.mean too short', { out: { mean: new Float32Array(56), variance: new Float32Array(57) } }],
          ['out.variance too short', { out: { mean: new Float32Array(57), variance: new Float32Array(56) } }],
          // outputs over the input: a kernel writing window by window overwrites values later windows read
          ['out.mean over the series', { out: { mean: new Float32Array(series.buffer, series.byteOffset, 57), variance: new Float32Array(57) } }],
          ['out.variance over the series tail', { out: { mean: new Float32Array(57), variance: new Float32Array(series.buffer, series.byteOffset + 7 * 4, 57) } }],
          ['out.mean and out.variance over the same bytes', { out: (() => { const b = new ArrayBuffer(57 * 4); return { mean: new Float32Array(b), variance: new Float32Array(b) }; })() }],
          ['out.variance starting inside out.mean', { out: (() => { const b = new ArrayBuffer(80 * 4); return { mean: new Float32Array(b, 0, 57), variance: new Float32Array(b, 20 * 4, 57) }; })() }],
        ];
        for (const [path, run] of rollingPaths(backend)) {
          for (const [name, patch] of bad) await expectArgumentError(`${path}: ${name}`, () => run({ ...ok, ...patch }));
        }
        await withBuffers(backend, async (alloc) => {
          const small = await alloc(series.subarray(0, 63));
          await expectArgumentError('series buffer too small', () => backend.rollingMoments({ ...ok, series: small }));
        });
      });

      it('sync.rollingMoments matches the async kernel', async (ctx) => {
        const backend = useSync(ctx, 'rollingMoments');
        const series = seededRandom(2006).normals(517, 1, 0.5);
        const args = { series, length: 517, window: 31 };
        const s = backend.sync.rollingMoments(args);
        checkRolling('sync vs async', s, naiveFrom(await backend.rollingMoments(args)), T.rollingRel);
        checkRolling('sync vs two-pass', s, naiveRolling(series, 517, 31), T.rollingRel);
        expectSyncArgumentError('sync window 0', () => backend.sync.rollingMoments({ ...args, window: 0 }));
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('monteCarloVaR', () => {
      function args(seed: bigint | number, A: number, F: number, paths: number, horizon: number, confidence: number, dataSeed: number): MonteCarloVaRArgs {
        return { ...portfolio(seededRandom(dataSeed), A, F), assets: A, factors: F, paths, horizon, confidence, seed };
      }

      it('matches the oracle with the same seed', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        for (const a of [
          args(42, 4, 4, 20000, 1, 0.99, 3001),
          args(2n ** 40n + 5n, 5, 3, 5000, 3, 0.975, 3002),
          args(7, 2, 9, 3000, 2, 0.95, 3003),
        ]) {
          const got = await backend.monteCarloVaR(a);
          const want = await ref.monteCarloVaR(a);
          checkVaR(`A=${a.assets} F=${a.factors} paths=${a.paths}`, got, want, T.varRel);
        }
      });

      it('matches per-path losses computed from the contract definition', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        for (const confidence of [0.5, 0.9, 0.99, 0.999]) {
          const a = args(123456789, 3, 5, 257, 2, confidence, 3004);
          const want = summariseBySort(naiveMonteCarloLosses(a), confidence);
          checkVaR(`confidence ${confidence}`, await backend.monteCarloVaR(a), want, T.varRel);
        }
        const two = args(99, 2, 2, 2, 1, 0.5, 3005);
        checkVaR('paths=2, confidence 0.5 takes the smaller loss', await backend.monteCarloVaR(two), summariseBySort(naiveMonteCarloLosses(two), 0.5), T.varRel);
      });

      it('is reproducible from the seed; different seeds differ', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        const a = args(2024, 3, 3, 4000, 1, 0.99, 3006);
        const r1 = await backend.monteCarloVaR(a);
        const r2 = await backend.monteCarloVaR(a);
        for (const key of ['var', 'cvar', 'meanLoss', 'stdLoss'] as const) expect(Object.is(r1[key], r2[key]), `${key} differs between identical runs`).toBe(true);
        const asBigint = await backend.monteCarloVaR({ ...a, seed: 2024n });
        expect(asBigint.var, 'seed 2024 and 2024n must draw the same numbers').toBe(r1.var);
        const other = await backend.monteCarloVaR({ ...a, seed: 2025 });
        expect(other.var).not.toBe(r1.var);
        const highWord = await backend.monteCarloVaR({ ...a, seed: 2 ** 32 + 2024 });
        expect(highWord.var, 'the high 32 bits of the seed must matter').not.toBe(r1.var);
        const highBig = await backend.monteCarloVaR({ ...a, seed: 2n ** 32n + 2024n });
        expect(highBig.var).toBe(highWord.var);
      });

      it('zero factor: every loss is -horizon * weights . means', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        const a = args(5, 4, 2, 1000, 10, 0.99, 3007);
        a.factor = new Float32Array(8);
        let wm = 0;
        for (let i = 0; i < 4; i++) wm += a.weights[i] * a.means[i];
        const expected = -10 * wm;
        const got = await backend.monteCarloVaR(a);
        for (const key of ['var', 'cvar', 'meanLoss'] as const) expect(Math.abs(got[key] - expected), key).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
        expect(got.stdLoss).toBeLessThanOrEqual(1e-5 * Math.abs(expected));
      });

      it('edge sizes: one path, one asset, one factor', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        const one = args(11, 1, 1, 1, 1, 0.99, 3008);
        const r = await backend.monteCarloVaR(one);
        const want = summariseBySort(naiveMonteCarloLosses(one), 0.99);
        checkVaR('paths=1', r, want, T.varRel);
        expect(r.stdLoss).toBe(0);
        expect(r.var).toBe(r.cvar);
        const wide = args(12, 1, 1, 1001, 1, 0.9, 3009);
        checkVaR('A=F=1', await backend.monteCarloVaR(wide), summariseBySort(naiveMonteCarloLosses(wide), 0.9), T.varRel);
      });

      it('rejects bad arguments with ComputeArgumentError', async (ctx) => {
        const backend = use(ctx, 'monteCarloVaR');
        const ok = args(1, 3, 2, 100, 1, 0.99, 3010);
        await backend.monteCarloVaR(ok);
        const bad: [string, Partial<MonteCarloVaRArgs>][] = [
          ['paths 0', { paths: 0 }],
          ['paths 1.5', { paths: 1.5 }],
          ['confidence 0', { confidence: 0 }],
          ['confidence 1', { confidence: 1 }],
          ['confidence -0.5', { confidence: -0.5 }],
          ['confidence 1.5', { confidence: 1.5 }],
          ['confidence NaN', { confidence: Number.NaN }],
          ['assets 0', { assets: 0 }],
          ['factors 0', { factors: 0 }],
          ['horizon 0', { horizon: 0 }],
          ['horizon 1.5', { horizon: 1.5 }],
          ['means too short', { means: new Float32Array(2) }],
          ['factor too short', { factor: new Float32Array(5) }],
          ['weights too short', { weights: new Float32Array(2) }],
          ['assets beyond the arrays', { assets: 4 }],
          ['seed -1', { seed: -1 }],
          ['seed 1.5', { seed: 1.5 }],
          ['seed -1n', { seed: -1n }],
          ['seed 2^64', { seed: 2n ** 64n }],
          ['NaN in means', { means: new Float32Array([0, Number.NaN, 0]) }],
          ['Infinity in factor', { factor: new Float32Array([1, 0, 0, Number.POSITIVE_INFINITY, 0, 0]) }],
        ];
        for (const [name, patch] of bad) await expectArgumentError(name, () => backend.monteCarloVaR({ ...ok, ...patch }));
      });
    });

    // -------------------------------------------------------------------------------------------
    describe('sgemm', () => {
      const shapes: [m: number, n: number, k: number][] = [[1, 1, 1], [17, 33, 9], [33, 17, 65], [64, 64, 64], [3, 1023, 5], [16, 16, 1023], [1, 257, 1], [100, 1, 31]];
      const scalars: [alpha: number | undefined, beta: number | undefined][] = [[undefined, undefined], [0.5, 2], [-1.5, 0.25]];
      for (const [m, n, k] of shapes) {
        it(`m=${m} n=${n} k=${k} matches a triple loop (alpha/beta variants)`, async (ctx) => {
          const backend = use(ctx, 'sgemm');
          const rng = seededRandom(4000 + m * 31 + n * 7 + k);
          const a = rng.normals(m * k);
          const b = rng.normals(k * n);
          const c0 = rng.normals(m * n);
          for (const [alpha, beta] of scalars) {
            const exp = naiveSgemm(m, n, k, alpha ?? 1, beta ?? 0, a, b, c0);
            const c = Float32Array.from(c0);
            await backend.sgemm({ m, n, k, a, b, c, alpha, beta });
            checkSgemm(`alpha=${alpha} beta=${beta}`, c, 0, exp, k);
            const cr = Float32Array.from(c0);
            await ref.sgemm({ m, n, k, a, b, c: cr, alpha, beta });
            checkSgemm(`alpha=${alpha} beta=${beta} vs oracle`, c, 0, { value: Float64Array.from(cr), magnitude: exp.magnitude }, k);
          }
        });
      }

      it('beta = 0 ignores NaN and Infinity already in C; alpha = 0 scales C without reading A or B; SharedArrayBuffer host arrays', async (ctx) => {
        const backend = use(ctx, 'sgemm');
        const rng = seededRandom(4001);
        const [m, n, k] = [5, 7, 3];
        const a = rng.normals(m * k);
        const b = rng.normals(k * n);
        const c0 = rng.normals(m * n);
        for (const [path, run] of sgemmPaths(backend)) {
          const c = new Float32Array(m * n).fill(Number.NaN);
          c[3] = Number.POSITIVE_INFINITY;
          await run({ m, n, k, a, b, c, beta: 0 });
          for (let i = 0; i < m * n; i++) expect(Number.isFinite(c[i]), `${path}: C[${i}]`).toBe(true);
          checkSgemm(`${path}: beta=0`, c, 0, naiveSgemm(m, n, k, 1, 0, a, b, c), k);
          const aBad = Float32Array.from(a);
          aBad[0] = Number.NaN;
          const c1 = Float32Array.from(c0);
          await run({ m, n, k, a: aBad, b, c: c1, alpha: 0, beta: 3 });
          for (let i = 0; i < m * n; i++) expect(Math.abs(c1[i] - 3 * c0[i]), `${path}: alpha=0, C[${i}]`).toBeLessThanOrEqual(1e-6 * Math.abs(3 * c0[i]));
          // a NaN in A reaches exactly the row of C it multiplies into
          const c3 = Float32Array.from(c0);
          await run({ m, n, k, a: aBad, b, c: c3, alpha: 1, beta: 1 });
          for (let i = 0; i < m * n; i++) expect(Number.isNaN(c3[i]), `${path}: NaN in A[0] reaches C[${i}]`).toBe(i < n);
        }
        const c2 = Float32Array.from(c0);
        // alpha = 0 reads neither A nor B: 0 x NaN (or Infinity) there must not reach C
        const aBad = Float32Array.from(a);
        aBad[0] = Number.NaN;
        aBad[4] = Number.POSITIVE_INFINITY;
        const bBad = Float32Array.from(b);
        bBad[2] = Number.NEGATIVE_INFINITY;
        await backend.sgemm({ m, n, k, a: aBad, b: bBad, c: c2, alpha: 0, beta: 3 });
        for (let i = 0; i < m * n; i++) expect(Math.abs(c2[i] - 3 * c0[i])).toBeLessThanOrEqual(1e-6 * Math.abs(3 * c0[i]));
        // host arrays over a SharedArrayBuffer are host arrays like any other
        const shared = (x: Float32Array): Float32Array => {
          const v = new Float32Array(new SharedArrayBuffer(x.byteLength));
          v.set(x);
          return v;
        };
        const cShared = shared(c0);
        await backend.sgemm({ m, n, k, a: shared(a), b: shared(b), c: cShared, alpha: 1, beta: 0.5 });
        checkSgemm('SharedArrayBuffer arrays', cShared, 0, naiveSgemm(m, n, k, 1, 0.5, a, b, c0), k);
      });

      it('accepts DeviceBuffers and host views with offsets; C is written in place', async (ctx) => {
        const backend = use(ctx, 'sgemm');
        const rng = seededRandom(4002);
        const [m, n, k] = [19, 23, 37];
        const a = rng.normals(m * k);
        const b = rng.normals(k * n);
        const c0 = rng.normals(m * n);
        const exp = naiveSgemm(m, n, k, 0.75, -0.5, a, b, c0);
        await withBuffers(backend, async (alloc) => {
          const aBuf = await alloc(a, 3);
          const bBuf = await alloc(b);
          const cBuf = await alloc(c0, 5);
          const tail = Float32Array.from([1, 2, 3, 4, 5]);
          await backend.upload(cBuf, tail, m * n * 4);
          await backend.sgemm({ m, n, k, a: aBuf, b: bBuf, c: cBuf, alpha: 0.75, beta: -0.5 });
          const got = new Float32Array(m * n + 5);
          await backend.download(cBuf, got);
          checkSgemm('buffers', got, 0, exp, k);
          expect(Array.from(got.subarray(m * n)), 'bytes past m x n in C changed').toEqual(Array.from(tail));
          const cHost = Float32Array.from(c0);
          await backend.sgemm({ m, n, k, a: aBuf, b, c: cHost, alpha: 0.75, beta: -0.5 });
          checkSgemm('buffer a, host b and c', cHost, 0, exp, k);
        });
        // C as a view into a larger array: neighbours untouched (the sync kernel too).
        for (const [path, run] of sgemmPaths(backend)) {
          const cBig = new Float32Array(m * n + 20).fill(42);
          cBig.set(c0, 11);
          const cView = cBig.subarray(11, 11 + m * n);
          await run({ m, n, k, a: padded(a, 2, 1), b: padded(b, 7, 0), c: cView, alpha: 0.75, beta: -0.5 });
          checkSgemm(`${path}: host views`, cBig, 11, exp, k);
          expect(Array.from(cBig.subarray(0, 11)), `${path}: before C`).toEqual(new Array(11).fill(42));
          expect(Array.from(cBig.subarray(11 + m * n)), `${path}: after C`).toEqual(new Array(9).fill(42));
        }
      });

      it('rejects bad arguments with ComputeArgumentError', async (ctx) => {
        const backend = use(ctx, 'sgemm');
        const rng = seededRandom(4003);
        const A = rng.normals(24);
        const Bm = rng.normals(30);
        const ok: SgemmArgs = { m: 4, n: 5, k: 6, a: A, b: Bm, c: new Float32Array(20) };
        await backend.sgemm(ok);
        const bad: [string, Partial<SgemmArgs>][] = [
          ['m 0', { m: 0 }],
          ['n -1', { n: -1 }],
          ['k 1.5', { k: 1.5 }],
          ['m NaN', { m: Number.NaN }],
          ['a too short', { a: new Float32Array(23) }],
          ['b too short', { b: new Float32Array(29) }],
          ['c too short', { c: new Float32Array(19) }],
          ['k beyond a', { k: 7 }],
          // C over an input: a kernel writing C as it goes overwrites values it has still to read
          ['c is a', { c: new Float32Array(A.buffer, A.byteOffset, 20) }],
          ['c is b', { c: new Float32Array(Bm.buffer, Bm.byteOffset, 20) }],
          ['c a view over a\'s bytes, 2 elements in', { c: new Float32Array(A.buffer, A.byteOffset + 8, 20) }],
          ['c over the tail of b', { c: new Float32Array(Bm.buffer, Bm.byteOffset + 10 * 4, 20) }],
        ];
        for (const [path, run] of sgemmPaths(backend)) {
          for (const [name, patch] of bad) await expectArgumentError(`${path}: ${name}`, () => run({ ...ok, ...patch }));
        }
        await withBuffers(backend, async (alloc) => {
          const small = await alloc(new Float32Array(19));
          await expectArgumentError('c buffer too small', () => backend.sgemm({ ...ok, c: small }));
        });
      });

      it('sync.sgemm matches the async kernel', async (ctx) => {
        const backend = useSync(ctx, 'sgemm');
        const rng = seededRandom(4004);
        const [m, n, k] = [17, 9, 33];
        const a = rng.normals(m * k);
        const b = rng.normals(k * n);
        const c0 = rng.normals(m * n);
        const cs = Float32Array.from(c0);
        backend.sync.sgemm({ m, n, k, a, b, c: cs, alpha: 2, beta: 1 });
        const ca = Float32Array.from(c0);
        await backend.sgemm({ m, n, k, a, b, c: ca, alpha: 2, beta: 1 });
        const exp = naiveSgemm(m, n, k, 2, 1, a, b, c0);
        checkSgemm('sync', cs, 0, exp, k);
        checkSgemm('async', ca, 0, exp, k);
        expectSyncArgumentError('sync m 0', () => backend.sync.sgemm({ m: 0, n, k, a, b, c: cs }));
      });
    });

    // -------------------------------------------------------------------------------------------
    describeOrderSection({
      use,
      create: async () => {
        if (state.provider === undefined) fail('no provider');
        return state.provider.create(options.createOptions ?? {});
      },
      ref,
      checkRolling: (label, got, want) => checkRolling(label, got, naiveFrom(want), T.rollingRel),
      checkScores: (label, got, want) => checkScores(label, got, want, T.patternScoreAbs),
      checkVaR: (label, got, want) => checkVaR(label, got, want, T.varRel),
    });

    // -------------------------------------------------------------------------------------------
    describeFloat64Section({
      use: (ctx) => use(ctx),
      async withBuffer(backend, data, padBytes, body) {
        const buf = backend.createBuffer(data.byteLength + padBytes);
        try {
          await backend.upload(buf, data);
          return await body(buf);
        } finally {
          backend.freeBuffer(buf);
        }
      },
    });
  });
}

function naiveFrom(r: RollingMomentsResult): { mean: Float64Array; variance: Float64Array } {
  return { mean: Float64Array.from(r.mean), variance: Float64Array.from(r.variance) };
}

