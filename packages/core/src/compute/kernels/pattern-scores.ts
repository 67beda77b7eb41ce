import { ComputeArgumentError, type PatternScoresArgs, type PatternScoresResult } from '../../contracts/compute.js';
import { requireHostF32, requireHostI32, requireInt, requireProduct, viewsOverlap, type F32Resolver } from '../validate.js';

const K = 'patternScores';

/**
 * Reference patternScores, float64 throughout.
 *
 * Each window is centred and scaled once (two-pass mean and sum of squares); a score is the dot
 * product of the centred stored window with the unit-normalised centred query, times the stored
 * window's inverse norm, clamped to [-1, 1] and rounded to float32. The top-k selection and its
 * tie rule (score descending, lower index first) act on the float32-rounded scores, so the
 * returned order agrees with the returned values. Per query a bounded heap of topK entries; no
 * sort of K.
 *
 * Zero variance: a window whose values are all equal has a sum of squared deviations of exactly
 * 0 here (a float64 sum of D <= 2^29 equal float32 values is exact), and scores 0.
 * Non-finite values: a window (stored or query) containing NaN or +-Infinity is treated as a
 * zero-variance window: it scores 0 against everything.
 */
/** Validated, resolved patternScores arguments (see `preparePatternScores`). */
export interface PreparedPatternScores {
  stored: Float32Array;
  queries: Float32Array;
  storedCount: number;
  dim: number;
  queryCount: number;
  topK: number;
  returnAllScores: boolean;
  out?: { indices: Int32Array; scores: Float32Array };
}

/**
 * Checks patternScores arguments (throws ComputeArgumentError naming the problem) and resolves
 * the F32Args through `resolve`. Shared by every backend that wants the oracle's rules.
 */
export function preparePatternScores(args: PatternScoresArgs, resolve: F32Resolver): PreparedPatternScores {
  if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
  const storedCount = requireInt(K, 'storedCount', args.storedCount);
  const dim = requireInt(K, 'dim', args.dim);
  const queryCount = requireInt(K, 'queryCount', args.queryCount);
  const topK = requireInt(K, 'topK', args.topK);
  if (topK > storedCount) {
    throw new ComputeArgumentError(K, `topK must be in [1, storedCount = ${storedCount}], got ${topK}`);
  }
  const storedLen = requireProduct(K, 'storedCount x dim', storedCount, dim);
  const queryLen = requireProduct(K, 'queryCount x dim', queryCount, dim);
  const outLen = requireProduct(K, 'queryCount x topK', queryCount, topK);
  const returnAllScores = args.returnAllScores === true;
  if (returnAllScores) requireProduct(K, 'queryCount x storedCount', queryCount, storedCount);
  const stored = resolve(K, 'stored', args.stored, storedLen, `storedCount ${storedCount} x dim ${dim}`);
  const queries = resolve(K, 'queries', args.queries, queryLen, `queryCount ${queryCount} x dim ${dim}`);
  let out: PreparedPatternScores['out'];
  if (args.out !== undefined) {
    if (args.out === null || typeof args.out !== 'object') throw new ComputeArgumentError(K, 'out must be { indices, scores }');
    out = {
      indices: requireHostI32(K, 'out.indices', args.out.indices, outLen, `queryCount ${queryCount} x topK ${topK}`),
      scores: requireHostF32(K, 'out.scores', args.out.scores, outLen, `queryCount ${queryCount} x topK ${topK}`),
    };
    // Two views of the same bytes: the scores' float bits would come back as indices.
    if (viewsOverlap(out.indices, outLen, out.scores, outLen)) throw new ComputeArgumentError(K, 'out.indices and out.scores overlap');
  }
  return { stored, queries, storedCount, dim, queryCount, topK, returnAllScores, out };
}

export function runPatternScores(args: PatternScoresArgs, resolve: F32Resolver): PatternScoresResult {
  const p = preparePatternScores(args, resolve);
  const outLen = p.queryCount * p.topK;
  const indices = p.out?.indices ?? new Int32Array(outLen);
  const scores = p.out?.scores ?? new Float32Array(outLen);
  const allScores = p.returnAllScores ? new Float32Array(p.queryCount * p.storedCount) : undefined;
  patternScoresKernel(p.stored, p.storedCount, p.dim, p.queries, p.queryCount, p.topK, indices, scores, allScores);
  return allScores ? { indices, scores, allScores } : { indices, scores };
}

/** Centres window `src[off .. off + d)` into `dst` (float64); returns the sum of squares, 0 for an invalid window. */
function centre(src: Float32Array, off: number, d: number, dst: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < d; i++) sum += src[off + i];
  // A float64 sum of finite float32 values cannot overflow, so a non-finite sum means a NaN or an
  // infinity in the window.
  if (!Number.isFinite(sum)) return 0;
  const mean = sum / d;
  let ss = 0;
  for (let i = 0; i < d; i++) {
    const v = src[off + i] - mean;
    dst[i] = v;
    ss += v * v;
  }
  return ss;
}

export function patternScoresKernel(
  stored: Float32Array, storedCount: number, dim: number,
  queries: Float32Array, queryCount: number, topK: number,
  outIndices: Int32Array, outScores: Float32Array, allScores?: Float32Array,
): void {
  const B = queryCount;
  const D = dim;
  // Unit-normalised centred queries; a zero row marks an invalid (zero-variance) query.
  const qz = new Float64Array(B * D);
  const qValid = new Uint8Array(B);
  const tmp = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const ss = centre(queries, b * D, D, tmp);
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let i = 0; i < D; i++) qz[b * D + i] = tmp[i] * inv;
      qValid[b] = 1;
    }
  }
  // Per-query min-heaps of the best topK so far; the root is the worst kept entry.
  const heapScore = new Float64Array(B * topK);
  const heapIndex = new Int32Array(B * topK);
  const heapSize = new Int32Array(B);
  const sc = new Float64Array(D);

  for (let k = 0; k < storedCount; k++) {
    const ss = centre(stored, k * D, D, sc);
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let b = 0; b < B; b++) {
      let score = 0;
      if (inv !== 0 && qValid[b] === 1) {
        const qo = b * D;
        let dot = 0;
        for (let i = 0; i < D; i++) dot += sc[i] * qz[qo + i];
        score = dot * inv;
        if (score > 1) score = 1;
        else if (score < -1) score = -1;
        score = Math.fround(score);
      }
      if (allScores !== undefined) allScores[b * storedCount + k] = score;
      heapOffer(heapScore, heapIndex, b * topK, heapSize, b, topK, score, k);
    }
  }
  for (let b = 0; b < B; b++) heapDrain(heapScore, heapIndex, b * topK, heapSize[b], outIndices, outScores, b * topK);
}

/** a is worse than b: lower score, or the same score and a higher index. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

function siftDown(hs: Float64Array, hi: Int32Array, base: number, size: number, pos: number): void {
  const s = hs[base + pos];
  const idx = hi[base + pos];
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    let c = l;
    const r = l + 1;
    if (r < size && worse(hs[base + r], hi[base + r], hs[base + l], hi[base + l])) c = r;
    if (!worse(hs[base + c], hi[base + c], s, idx)) break;
    hs[base + pos] = hs[base + c];
    hi[base + pos] = hi[base + c];
    pos = c;
  }
  hs[base + pos] = s;
  hi[base + pos] = idx;
}

function heapOffer(
  hs: Float64Array, hi: Int32Array, base: number, sizes: Int32Array, q: number, cap: number, score: number, index: number,
): void {
  let size = sizes[q];
  if (size < cap) {
    let pos = size++;
    sizes[q] = size;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!worse(score, index, hs[base + parent], hi[base + parent])) break;
      hs[base + pos] = hs[base + parent];
      hi[base + pos] = hi[base + parent];
      pos = parent;
    }
    hs[base + pos] = score;
    hi[base + pos] = index;
    return;
  }
  // Indices arrive in increasing order, so a candidate with the root's score is worse than it.
  if (!worse(hs[base], hi[base], score, index)) return;
  hs[base] = score;
  hi[base] = index;
  siftDown(hs, hi, base, size, 0);
}

/** Pops worst-first into the output from the back, leaving it best-first. */
function heapDrain(
  hs: Float64Array, hi: Int32Array, base: number, size: number, outI: Int32Array, outS: Float32Array, outBase: number,
): void {
  for (let n = size; n > 0; n--) {
    outI[outBase + n - 1] = hi[base];
    outS[outBase + n - 1] = hs[base];
    hs[base] = hs[base + n - 1];
    hi[base] = hi[base + n - 1];
    siftDown(hs, hi, base, n - 1, 0);
  }
}
