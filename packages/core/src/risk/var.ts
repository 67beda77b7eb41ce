import type { ComputeBackend } from '../contracts/compute.js';

/**
 * Value at risk and conditional value at risk (expected shortfall) of a linear portfolio.
 *
 * Conventions (docs/risk.md): `returns` is T rows (periods) x A columns (assets) of simple
 * returns; `weights` are exposures in currency per unit return (a weight of 1 means VaR comes
 * out as a fraction of one unit of capital). Portfolio P&L of a period is w . r; the loss is
 * its negative. VaR at confidence c is the c-quantile of the loss, CVaR the mean loss at or
 * beyond it. Both are reported as positive numbers when they are losses. Statistics are float64
 * (off the hot path; they never carry booked money).
 */
export type VaRMethod = 'historical' | 'parametric' | 'montecarlo';
export const VAR_METHODS: readonly VaRMethod[] = ['historical', 'parametric', 'montecarlo'];

export interface VaRResult {
  method: VaRMethod;
  confidence: number;
  horizon: number;
  var: number;
  cvar: number;
  /** Mean and standard deviation of the horizon loss the estimate is based on. */
  meanLoss: number;
  stdLoss: number;
  /** Historical: scenarios (overlapping horizon windows); Monte Carlo: paths; parametric: periods used for the moments. */
  observations: number;
  /** Monte Carlo: standard error of the VaR estimate (normal approximation); seed used. */
  standardError?: number;
  seed?: number;
  paths?: number;
}

export class VaRInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaRInputError';
  }
}

export function checkConfidence(c: unknown): number {
  if (typeof c !== 'number' || !Number.isFinite(c) || !(c > 0 && c < 1)) throw new VaRInputError(`confidence must be a number in (0, 1), got ${String(c)}`);
  return c;
}

function checkHorizon(h: unknown): number {
  if (typeof h !== 'number' || !Number.isInteger(h) || h < 1) throw new VaRInputError(`horizon must be a whole number of periods >= 1, got ${String(h)}`);
  return h;
}

function checkShape(returns: readonly (readonly number[])[], weights: readonly number[]): number {
  const A = weights.length;
  if (A === 0) throw new VaRInputError('no assets');
  if (returns.length === 0) throw new VaRInputError('no return observations');
  returns.forEach((row, t) => {
    if (row.length !== A) throw new VaRInputError(`row ${t + 1} has ${row.length} values, expected ${A} (one per weight)`);
    row.forEach((v, j) => {
      if (!Number.isFinite(v)) throw new VaRInputError(`row ${t + 1}, asset ${j + 1}: ${v} is not a finite number`);
    });
  });
  weights.forEach((w, j) => {
    if (!Number.isFinite(w)) throw new VaRInputError(`weight ${j + 1} is ${w}; weights must be finite`);
  });
  return A;
}

// ---- normal distribution ----------------------------------------------------------------------

export const normPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

/** Standard normal CDF through erfc, to about 1e-15 relative. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** erfc: the Maclaurin series of erf for |x| < 2.5, a Lentz continued fraction beyond. */
function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 2.5) {
    // erf series: erf(x) = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = 1 - (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Lentz continued fraction for erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
    let f = ax;
    let C = ax;
    let D = 0;
    for (let n = 1; n < 300; n++) {
      const an = n / 2;
      D = ax + an * D;
      D = D === 0 ? 1e-300 : 1 / D;
      C = ax + an / C;
      if (C === 0) C = 1e-300;
      const delta = C * D;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x >= 0 ? r : 2 - r;
}

/**
 * Inverse standard normal CDF: Acklam's rational approximation (relative error 1.15e-9)
 * refined by one Halley step on normCdf, giving about 1e-15.
 */
export function normInv(p: number): number {
  if (!(p > 0 && p < 1)) throw new VaRInputError(`normInv: p must be in (0, 1), got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  let x: number;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - plow) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = normCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

// ---- moments ------------------------------------------------------------------------------------

/** Sample means and the sample covariance (divisor T - 1; T = 1 gives a zero covariance). */
export function meanCov(returns: readonly (readonly number[])[], A: number): { means: Float64Array; cov: Float64Array } {
  const T = returns.length;
  const means = new Float64Array(A);
  for (const row of returns) for (let j = 0; j < A; j++) means[j] += row[j];
  for (let j = 0; j < A; j++) means[j] /= T;
  const cov = new Float64Array(A * A);
  if (T < 2) return { means, cov };
  for (const row of returns) {
    for (let i = 0; i < A; i++) {
      const di = row[i] - means[i];
      for (let j = i; j < A; j++) cov[i * A + j] += di * (row[j] - means[j]);
    }
  }
  for (let i = 0; i < A; i++) {
    for (let j = i; j < A; j++) {
      const v = cov[i * A + j] / (T - 1);
      cov[i * A + j] = v;
      cov[j * A + i] = v;
    }
  }
  return { means, cov };
}

/**
 * Lower-triangular L with L L^T = cov (row-major A x A). Positive semi-definite input is
 * accepted: a pivot that is zero up to rounding leaves its column zero (perfectly correlated or
 * constant assets). A clearly negative pivot (not a covariance) throws.
 */
export function cholesky(cov: Float64Array, A: number): Float64Array {
  const L = new Float64Array(A * A);
  let scale = 0;
  for (let i = 0; i < A; i++) scale = Math.max(scale, Math.abs(cov[i * A + i]));
  const tol = 1e-12 * (scale || 1);
  for (let j = 0; j < A; j++) {
    let s = cov[j * A + j];
    for (let k = 0; k < j; k++) s -= L[j * A + k] * L[j * A + k];
    if (s < -tol) throw new VaRInputError('covariance matrix is not positive semi-definite');
    const d = s > tol ? Math.sqrt(s) : 0;
    L[j * A + j] = d;
    for (let i = j + 1; i < A; i++) {
      let t = cov[i * A + j];
      for (let k = 0; k < j; k++) t -= L[i * A + k] * L[j * A + k];
      L[i * A + j] = d === 0 ? 0 : t / d;
    }
  }
  return L;
}

// ---- methods --------------------------------------------------------------------------------------

/** Index of the VaR order statistic in ascending losses: ceil(c n) - 1 (the kernel's rule). */
export const quantileIndex = (confidence: number, n: number): number => Math.min(n - 1, Math.max(0, Math.ceil(confidence * n - 1e-12) - 1));

/** VaR/CVaR of a loss sample (positive = loss). Does not modify `losses`. */
export function lossQuantiles(losses: ArrayLike<number>, confidence: number): { var: number; cvar: number; mean: number; std: number; n: number } {
  checkConfidence(confidence);
  const n = losses.length;
  if (n === 0) throw new VaRInputError('no scenarios');
  const s = Float64Array.from(losses).sort();
  const idx = quantileIndex(confidence, n);
  let tail = 0;
  for (let i = idx; i < n; i++) tail += s[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (s[i] - mean) ** 2;
  return { var: s[idx], cvar: tail / (n - idx), mean, std: Math.sqrt(ss / n), n };
}

/** Portfolio P&L per scenario: w . r summed over `horizon` consecutive periods (overlapping windows). */
export function horizonPnl(returns: readonly (readonly number[])[], weights: readonly number[], horizon: number): Float64Array {
  const A = weights.length;
  const T = returns.length;
  const per = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let j = 0; j < A; j++) s += weights[j] * returns[t][j];
    per[t] = s;
  }
  if (horizon === 1) return per;
  if (T < horizon) throw new VaRInputError(`historical VaR over ${horizon} periods needs at least ${horizon} rows, got ${T}`);
  const out = new Float64Array(T - horizon + 1);
  let acc = 0;
  for (let t = 0; t < T; t++) {
    acc += per[t];
    if (t >= horizon) acc -= per[t - horizon];
    if (t >= horizon - 1) out[t - horizon + 1] = acc;
  }
  return out;
}

/**
 * Historical simulation: the empirical loss distribution of the portfolio over the observed
 * periods (horizon > 1: overlapping sums of `horizon` consecutive periods). VaR is the sorted
 * loss at index ceil(c n) - 1, CVaR the mean of the losses from that index up.
 */
export function historicalVaR(returns: readonly (readonly number[])[], weights: readonly number[], confidence: number, horizon = 1): VaRResult {
  checkConfidence(confidence);
  checkHorizon(horizon);
  checkShape(returns, weights);
  const pnl = horizonPnl(returns, weights, horizon);
  const losses = new Float64Array(pnl.length);
  for (let i = 0; i < pnl.length; i++) losses[i] = -pnl[i];
  const q = lossQuantiles(losses, confidence);
  return { method: 'historical', confidence, horizon, var: q.var, cvar: q.cvar, meanLoss: q.mean, stdLoss: q.std, observations: q.n };
}

/**
 * Parametric (variance-covariance, normal): loss over h periods ~ N(-h w.mu, h w'Sigma w), so
 * VaR = -h w.mu + z_c sqrt(h) sigma_p and CVaR = -h w.mu + sqrt(h) sigma_p phi(z_c) / (1 - c),
 * with z_c = Phi^-1(c). mu and Sigma are the sample mean and covariance (divisor T - 1).
 */
export function parametricVaR(returns: readonly (readonly number[])[], weights: readonly number[], confidence: number, horizon = 1): VaRResult {
  checkConfidence(confidence);
  checkHorizon(horizon);
  const A = checkShape(returns, weights);
  const { means, cov } = meanCov(returns, A);
  return parametricFromMoments(means, cov, weights, confidence, horizon, returns.length);
}

export function parametricFromMoments(means: ArrayLike<number>, cov: ArrayLike<number>, weights: readonly number[], confidence: number, horizon: number, observations: number): VaRResult {
  const A = weights.length;
  let mu = 0;
  for (let j = 0; j < A; j++) mu += weights[j] * means[j];
  let v = 0;
  for (let i = 0; i < A; i++) for (let j = 0; j < A; j++) v += weights[i] * cov[i * A + j] * weights[j];
  const sigma = Math.sqrt(Math.max(0, v) * horizon);
  const z = normInv(confidence);
  const meanLoss = -horizon * mu;
  return {
    method: 'parametric', confidence, horizon,
    var: meanLoss + z * sigma,
    cvar: meanLoss + (sigma * normPdf(z)) / (1 - confidence),
    meanLoss, stdLoss: sigma, observations,
  };
}

export interface MonteCarloOptions {
  paths?: number;
  /** 64-bit seed; the same seed gives the same result on the same backend. */
  seed?: number;
}

/**
 * Monte Carlo through the ComputeBackend's `monteCarloVaR` kernel: normal returns with the
 * sample mean and covariance (its Cholesky factor), `paths` paths of `horizon` steps, Philox
 * draws from `seed`. The standard error of the VaR is sqrt(c (1 - c) / n) / phi(z_c) x sigma_L.
 */
export async function monteCarloVaR(
  backend: Pick<ComputeBackend, 'monteCarloVaR'>,
  returns: readonly (readonly number[])[],
  weights: readonly number[],
  confidence: number,
  horizon = 1,
  opts: MonteCarloOptions = {},
): Promise<VaRResult> {
  checkConfidence(confidence);
  checkHorizon(horizon);
  const A = checkShape(returns, weights);
  const { means, cov } = meanCov(returns, A);
  return monteCarloFromMoments(backend, means, cov, weights, confidence, horizon, opts);
}

export async function monteCarloFromMoments(
  backend: Pick<ComputeBackend, 'monteCarloVaR'>,
  means: ArrayLike<number>,
  cov: Float64Array,
  weights: readonly number[],
  confidence: number,
  horizon: number,
  opts: MonteCarloOptions = {},
): Promise<VaRResult> {
  const A = weights.length;
  const paths = opts.paths ?? 100_000;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(paths) || paths < 1) throw new VaRInputError(`paths must be a whole number >= 1, got ${paths}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new VaRInputError(`seed must be a non-negative whole number, got ${seed}`);
  // The kernel takes float32 inputs (a relative rounding of about 6e-8 on each).
  const L = cholesky(cov, A);
  const r = await backend.monteCarloVaR({
    means: Float32Array.from(means), factor: Float32Array.from(L), weights: Float32Array.from(weights),
    assets: A, factors: A, paths, horizon, confidence, seed,
  });
  const z = normInv(confidence);
  const se = (Math.sqrt((confidence * (1 - confidence)) / paths) / normPdf(z)) * r.stdLoss;
  return { method: 'montecarlo', confidence, horizon, var: r.var, cvar: r.cvar, meanLoss: r.meanLoss, stdLoss: r.stdLoss, observations: r.paths, standardError: se, seed, paths };
}

/** One entry point for the CLI and the scheduler. */
export async function computeVaR(
  method: VaRMethod,
  returns: readonly (readonly number[])[],
  weights: readonly number[],
  confidence: number,
  opts: { horizon?: number; backend?: Pick<ComputeBackend, 'monteCarloVaR'> } & MonteCarloOptions = {},
): Promise<VaRResult> {
  const h = opts.horizon ?? 1;
  switch (method) {
    case 'historical':
      return historicalVaR(returns, weights, confidence, h);
    case 'parametric':
      return parametricVaR(returns, weights, confidence, h);
    case 'montecarlo':
      if (!opts.backend) throw new VaRInputError('montecarlo needs a compute backend');
      return monteCarloVaR(opts.backend, returns, weights, confidence, h, opts);
    default:
      throw new VaRInputError(`unknown method ${String(method)} (expected ${VAR_METHODS.join(', ')})`);
  }
}
