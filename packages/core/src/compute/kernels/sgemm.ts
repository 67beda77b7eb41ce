import { ComputeArgumentError, type SgemmArgs } from '../../contracts/compute.js';
import { requireFloat32Scalar, requireInt, requireProduct, viewsOverlap, type F32Resolver } from '../validate.js';

const K = 'sgemm';

/**
 * Reference sgemm: C = alpha * A x B + beta * C, row-major, float64 accumulation, one rounding
 * to float32 per element of C.
 *  - alpha and beta default to 1 and 0 and must be 0 or normal float32 magnitudes (|x| in
 *    [2^-126, FLT_MAX], requireFloat32Scalar): the contract is float32 sgemm and backends take
 *    them as float. Within that range the oracle applies them in float64, a backend in float.
 *  - beta = 0: C is write-only (NaN or Infinity already in C does not propagate), as in BLAS.
 *  - alpha = 0: A and B are not read; C = beta * C (zeros when beta = 0), as in BLAS.
 *  - Otherwise IEEE arithmetic: NaN/Infinity in A or B propagate to the affected elements.
 *  - C must not overlap A or B (same DeviceBuffer, or host views over overlapping bytes).
 */
/** Validated, resolved sgemm arguments. */
export interface PreparedSgemm {
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
}

/** `sameBuffer(x, y)`: whether two F32Args are the same backend buffer. */
export function prepareSgemm(args: SgemmArgs, resolve: F32Resolver, sameBuffer: (x: unknown, y: unknown) => boolean): PreparedSgemm {
  if (args === null || typeof args !== 'object') throw new ComputeArgumentError(K, 'arguments object is required');
  const m = requireInt(K, 'm', args.m);
  const n = requireInt(K, 'n', args.n);
  const k = requireInt(K, 'k', args.k);
  const alpha = args.alpha === undefined ? 1 : requireFloat32Scalar(K, 'alpha', args.alpha);
  const beta = args.beta === undefined ? 0 : requireFloat32Scalar(K, 'beta', args.beta);
  const aLen = requireProduct(K, 'm x k', m, k);
  const bLen = requireProduct(K, 'k x n', k, n);
  const cLen = requireProduct(K, 'm x n', m, n);
  const a = resolve(K, 'a', args.a, aLen, `m ${m} x k ${k}`);
  const b = resolve(K, 'b', args.b, bLen, `k ${k} x n ${n}`);
  const c = resolve(K, 'c', args.c, cLen, `m ${m} x n ${n}`);
  if (sameBuffer(args.c, args.a) || viewsOverlap(c, cLen, a, aLen)) throw new ComputeArgumentError(K, 'c must not overlap a');
  if (sameBuffer(args.c, args.b) || viewsOverlap(c, cLen, b, bLen)) throw new ComputeArgumentError(K, 'c must not overlap b');
  return { m, n, k, alpha, beta, a, b, c };
}

export function runSgemm(args: SgemmArgs, resolve: F32Resolver, sameBuffer: (x: unknown, y: unknown) => boolean): void {
  const p = prepareSgemm(args, resolve, sameBuffer);
  sgemmKernel(p.m, p.n, p.k, p.alpha, p.beta, p.a, p.b, p.c);
}

const JB = 256;

export function sgemmKernel(
  m: number, n: number, k: number, alpha: number, beta: number,
  a: Float32Array, b: Float32Array, c: Float32Array,
): void {
  if (alpha === 0) {
    const len = m * n;
    if (beta === 0) c.fill(0, 0, len);
    else for (let i = 0; i < len; i++) c[i] = beta * c[i];
    return;
  }
  const acc = new Float64Array(Math.min(n, JB));
  // Column blocks of B (k x JB) stay in cache while every row of A streams past them.
  for (let j0 = 0; j0 < n; j0 += JB) {
    const jn = Math.min(JB, n - j0);
    for (let i = 0; i < m; i++) {
      acc.fill(0, 0, jn);
      const aRow = i * k;
      for (let p = 0; p < k; p++) {
        const aip = a[aRow + p];
        const bRow = p * n + j0;
        for (let j = 0; j < jn; j++) acc[j] += aip * b[bRow + j];
      }
      const cRow = i * n + j0;
      if (beta === 0) for (let j = 0; j < jn; j++) c[cRow + j] = alpha * acc[j];
      else for (let j = 0; j < jn; j++) c[cRow + j] = alpha * acc[j] + beta * c[cRow + j];
    }
  }
}
