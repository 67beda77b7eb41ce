import { ComputeArgumentError } from '../contracts/compute.js';
import { describeValue } from '../domain/describe-value.js';

export { describeValue };

/** An integer >= min (default 1) that is a safe integer; returns it. */
export function requireInt(kernel: string, name: string, v: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer in [${min}, ${max}]`;
    throw new ComputeArgumentError(kernel, `${name} must be ${range}, got ${describeValue(v)}`);
  }
  return v;
}

export function requireFinite(kernel: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ComputeArgumentError(kernel, `${name} must be a finite number, got ${describeValue(v)}`);
  }
  return v;
}

/** FLT_MAX and FLT_MIN (the smallest normal float32). */
const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 2 ** -126;

/**
 * A scalar of a float32 kernel (sgemm's alpha and beta): 0 or a normal float32 magnitude,
 * |v| in [2^-126, FLT_MAX]; returns it. Native and GPU backends narrow it to float: beyond
 * FLT_MAX it becomes Infinity (C = NaN/Inf where the float64 oracle gave ordinary values), below
 * the subnormal minimum 0 (C = beta C, the product gone), and a subnormal is flushed to 0 by
 * GPUs that do not preserve denormals (Vulkan leaves it to the implementation; CUDA with -ftz).
 * Rejected here, every backend agrees.
 */
export function requireFloat32Scalar(kernel: string, name: string, v: unknown): number {
  const x = requireFinite(kernel, name, v);
  const a = Math.abs(x);
  if (a > F32_MAX || (a !== 0 && a < F32_MIN_NORMAL)) {
    throw new ComputeArgumentError(kernel, `${name} must be 0 or a float32 magnitude in [2^-126, 3.4028234663852886e38] (a float32 kernel's scalar), got ${describeValue(v)}`);
  }
  return x;
}

/** A host Float32Array holding at least `count` elements. */
export function requireHostF32(kernel: string, name: string, v: unknown, count: number, what?: string): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new ComputeArgumentError(kernel, `${name} must be a Float32Array, got ${describeValue(v)}`);
  }
  if (v.length < count) {
    throw new ComputeArgumentError(kernel, `${name} has ${v.length} elements, needs at least ${count}${what ? ` (${what})` : ''}`);
  }
  return v;
}

/** A host Float64Array holding at least `count` elements. */
export function requireHostF64(kernel: string, name: string, v: unknown, count: number, what?: string): Float64Array {
  if (!(v instanceof Float64Array)) {
    throw new ComputeArgumentError(kernel, `${name} must be a Float64Array, got ${describeValue(v)}`);
  }
  if (v.length < count) {
    throw new ComputeArgumentError(kernel, `${name} has ${v.length} elements, needs at least ${count}${what ? ` (${what})` : ''}`);
  }
  return v;
}

export function requireHostI32(kernel: string, name: string, v: unknown, count: number, what?: string): Int32Array {
  if (!(v instanceof Int32Array)) {
    throw new ComputeArgumentError(kernel, `${name} must be an Int32Array, got ${describeValue(v)}`);
  }
  if (v.length < count) {
    throw new ComputeArgumentError(kernel, `${name} has ${v.length} elements, needs at least ${count}${what ? ` (${what})` : ''}`);
  }
  return v;
}

/**
 * Whether the first `xCount` elements of `x` and the first `yCount` elements of `y` share bytes
 * (two views over one ArrayBuffer). Each view is measured over the elements the kernel touches,
 * not over its own length: a series of N elements and an output of N - W + 1 overlap when the
 * output lies anywhere over the series' N elements.
 */
export function viewsOverlap(x: ArrayBufferView & { BYTES_PER_ELEMENT: number }, xCount: number, y: ArrayBufferView & { BYTES_PER_ELEMENT: number }, yCount: number): boolean {
  if (x.buffer !== y.buffer) return false;
  const xEnd = x.byteOffset + xCount * x.BYTES_PER_ELEMENT;
  const yEnd = y.byteOffset + yCount * y.BYTES_PER_ELEMENT;
  return x.byteOffset < yEnd && y.byteOffset < xEnd;
}

/** A product of sizes that must stay a safe integer (and fit a typed array). */
export function requireProduct(kernel: string, what: string, ...factors: number[]): number {
  let p = 1;
  for (const f of factors) p *= f;
  if (!Number.isSafeInteger(p) || p > 2 ** 32) {
    throw new ComputeArgumentError(kernel, `${what} = ${factors.join(' x ')} is too large`);
  }
  return p;
}

/**
 * Resolves a kernel's F32Arg (host array or backend buffer) to a Float32Array view holding at
 * least `count` elements, or throws ComputeArgumentError naming the argument.
 */
export type F32Resolver = (kernel: string, name: string, arg: unknown, count: number, what?: string) => Float32Array;

/** Resolves an F64Arg (host Float64Array or backend buffer) like F32Resolver does for float32. */
export type F64Resolver = (kernel: string, name: string, arg: unknown, count: number, what?: string) => Float64Array;
