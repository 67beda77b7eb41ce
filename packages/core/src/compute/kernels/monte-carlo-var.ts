import { ComputeArgumentError, type MonteCarloVaRArgs, type MonteCarloVaRResult } from '../../contracts/compute.js';
import { normalsFromBlock, philox4x32, splitSeed } from '../philox.js';
import { describeValue, requireHostF32, requireInt, requireProduct } from '../validate.js';

const K = 'monteCarloVaR';
const MAX_U32 = 0xffffffff;

/**
 * Reference monteCarloVaR, float64 throughout.
 *
 * With v = factor^T weights and d = weights . means, path p's loss is
 *   L_p = -(horizon * d + sum_t sum_j v_j z[p][t][j]),
 * which equals -sum_t weights . (means + factor z_t); z is the contract's Philox draw.
 * VaR = the loss at ascending index ceil(confidence * paths) - 1 (found with a selection, not a
 * full sort), CVaR = mean of the losses from that index up, meanLoss = mean of all losses,
 * stdLoss = population standard deviation (divide by paths).
 *
 * Argument rules: assets, factors, paths, horizon integers in [1, 2^32 - 1]; confidence a number
 * in (0, 1); seed a bigint in [0, 2^64) or a non-negative safe integer; means, factor and
 * weights host Float32Arrays of at least A, A x F and A elements, all finite.
 */
/** Validated monteCarloVaR arguments, the seed split into Philox key words. */
export interface PreparedMonteCarloVaR {
  means: Float32Array;
  factor: Float32Array;
  weights: Float32Array;
  assets: number;
  factors: number;
  paths: number;
  horizon: number;
  confidence: number;
  seedLo: number;
  seedHi: number;
}

export function prepareMonteCarloVaR(args: MonteCarloVaRArgs): PreparedMonteCarloVaR {
  if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
  const assets = requireInt(K, 'assets', args.assets, 1, MAX_U32);
  const factors = requireInt(K, 'factors', args.factors, 1, MAX_U32);
  const paths = requireInt(K, 'paths', args.paths, 1, MAX_U32);
  const horizon = args.horizon === undefined ? 1 : requireInt(K, 'horizon', args.horizon, 1, MAX_U32);
  const confidence = args.confidence;
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
    throw new ComputeArgumentError(K, `confidence must be a number in (0, 1), got ${describeValue(confidence)}`);
  }
  let seedLo: number;
  let seedHi: number;
  try {
    [seedLo, seedHi] = splitSeed(args.seed);
  } catch (e) {
    throw new ComputeArgumentError(K, (e as Error).message);
  }
  const factorLen = requireProduct(K, 'assets x factors', assets, factors);
  const means = requireHostF32(K, 'means', args.means, assets, `assets ${assets}`);
  const factor = requireHostF32(K, 'factor', args.factor, factorLen, `assets ${assets} x factors ${factors}`);
  const weights = requireHostF32(K, 'weights', args.weights, assets, `assets ${assets}`);
  requireAllFinite(means, assets, 'means');
  requireAllFinite(factor, factorLen, 'factor');
  requireAllFinite(weights, assets, 'weights');
  return { means, factor, weights, assets, factors, paths, horizon, confidence, seedLo, seedHi };
}

export function runMonteCarloVaR(args: MonteCarloVaRArgs): MonteCarloVaRResult {
  const p = prepareMonteCarloVaR(args);
  const { drift, exposure } = portfolioExposure(p);
  const losses = simulateLosses(exposure, p.factors, drift, p.paths, p.horizon, p.seedLo, p.seedHi);
  return summariseLosses(losses, p.confidence);
}

/**
 * The portfolio seen by the factors, in float64: the horizon drift weights . means x horizon and
 * the factor exposure v = factor^T weights, so a path's loss is -(drift + sum_t v . z_t). Every
 * backend reduces the problem this way before drawing normals.
 */
export function portfolioExposure(p: PreparedMonteCarloVaR): { drift: number; exposure: Float64Array } {
  const { means, factor, weights, assets, factors, horizon } = p;
  let drift = 0;
  for (let a = 0; a < assets; a++) drift += weights[a] * means[a];
  drift *= horizon;
  const exposure = new Float64Array(factors);
  for (let a = 0; a < assets; a++) {
    const w = weights[a];
    const row = a * factors;
    for (let f = 0; f < factors; f++) exposure[f] += w * factor[row + f];
  }
  return { drift, exposure };
}

function requireAllFinite(x: Float32Array, count: number, name: string): void {
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(x[i])) throw new ComputeArgumentError(K, `${name}[${i}] is ${x[i]}; inputs must be finite`);
  }
}

function simulateLosses(
  v: Float64Array, factors: number, drift: number, paths: number, horizon: number, seedLo: number, seedHi: number,
): Float64Array {
  const losses = new Float64Array(paths);
  const x = new Uint32Array(4);
  const z = new Float64Array(4);
  const blocks = Math.ceil(factors / 4);
  for (let p = 0; p < paths; p++) {
    let acc = 0;
    for (let t = 0; t < horizon; t++) {
      for (let blk = 0; blk < blocks; blk++) {
        philox4x32(p, t, blk, 0, seedLo, seedHi, x);
        const j0 = blk * 4;
        const cnt = Math.min(4, factors - j0);
        normalsFromBlock(x, z, cnt);
        for (let i = 0; i < cnt; i++) acc += v[j0 + i] * z[i];
      }
    }
    losses[p] = -(drift + acc);
  }
  return losses;
}

/** VaR/CVaR/mean/std of `losses` per the contract's quantile rule. Reorders `losses`. */
export function summariseLosses(losses: Float64Array, confidence: number): MonteCarloVaRResult {
  const n = losses.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += losses[i];
  const meanLoss = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = losses[i] - meanLoss;
    ss += d * d;
  }
  const idx = Math.ceil(confidence * n) - 1;
  selectKth(losses, idx);
  let tail = 0;
  for (let i = idx; i < n; i++) tail += losses[i];
  return { var: losses[idx], cvar: tail / (n - idx), meanLoss, stdLoss: Math.sqrt(ss / n), paths: n };
}

/**
 * Rearranges `a` so that a[k] holds the k-th smallest value, everything before it is <= a[k] and
 * everything after it is >= a[k] (Hoare partition, median of three; falls back to sorting a
 * range that keeps partitioning badly). NaN-free input.
 */
export function selectKth(a: Float64Array, k: number): void {
  let l = 0;
  let r = a.length - 1;
  let budget = 2 * Math.ceil(Math.log2(a.length + 1)) + 16;
  while (r > l) {
    if (r - l < 16 || budget-- <= 0) {
      a.subarray(l, r + 1).sort();
      return;
    }
    const mid = (l + r) >>> 1;
    if (a[mid] < a[l]) swap(a, mid, l);
    if (a[r] < a[l]) swap(a, r, l);
    if (a[r] < a[mid]) swap(a, r, mid);
    const pivot = a[mid];
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (pivot < a[j]) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[l..j] <= pivot, a[i..r] >= pivot, and a[j+1..i-1] == pivot.
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
