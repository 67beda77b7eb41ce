/**
 * Argument checks, mirroring the JS reference backend's rules (packages/core/src/compute/) so that
 * a call the reference rejects is rejected here with the same kind of message, and a call it
 * accepts is accepted. Every failure is a ComputeArgumentError naming the kernel and argument;
 * the native layer re-checks sizes so that nothing reads or writes past a buffer.
 */
import { ComputeArgumentError } from '@cwts/core';

export function describeValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

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

export function requireHostF32(kernel: string, name: string, v: unknown, count: number, what?: string): Float32Array {
  if (!(v instanceof Float32Array)) throw new ComputeArgumentError(kernel, `${name} must be a Float32Array, got ${describeValue(v)}`);
  if (v.length < count) {
    throw new ComputeArgumentError(kernel, `${name} has ${v.length} elements, needs at least ${count}${what ? ` (${what})` : ''}`);
  }
  return v;
}

export function requireHostI32(kernel: string, name: string, v: unknown, count: number, what?: string): Int32Array {
  if (!(v instanceof Int32Array)) throw new ComputeArgumentError(kernel, `${name} must be an Int32Array, got ${describeValue(v)}`);
  if (v.length < count) {
    throw new ComputeArgumentError(kernel, `${name} has ${v.length} elements, needs at least ${count}${what ? ` (${what})` : ''}`);
  }
  return v;
}

/** A product of sizes that must stay a safe integer and fit a typed array (<= 2^32 elements). */
export function requireProduct(kernel: string, what: string, ...factors: number[]): number {
  let p = 1;
  for (const f of factors) p *= f;
  if (!Number.isSafeInteger(p) || p > 2 ** 32) throw new ComputeArgumentError(kernel, `${what} = ${factors.join(' x ')} is too large`);
  return p;
}

/** Do two float views over `xLen` / `yLen` elements share bytes? */
export function overlaps(x: Float32Array, xLen: number, y: Float32Array, yLen: number): boolean {
  if (x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + yLen * 4 && y.byteOffset < x.byteOffset + xLen * 4;
}

/** Splits a 64-bit seed into Philox key words (lo, hi); same rule as core's splitSeed. */
export function splitSeed(kernel: string, seed: unknown): [number, number] {
  if (typeof seed === 'bigint') {
    if (seed < 0n || seed >= 1n << 64n) throw new ComputeArgumentError(kernel, `seed must be in [0, 2^64), got ${seed}`);
    return [Number(seed & 0xffffffffn), Number(seed >> 32n)];
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ComputeArgumentError(kernel, `seed must be a non-negative safe integer or a bigint in [0, 2^64), got ${describeValue(seed)}`);
  }
  return [seed % 4294967296, Math.floor(seed / 4294967296)];
}

export function requireAllFinite(kernel: string, x: Float32Array, count: number, name: string): void {
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(x[i])) throw new ComputeArgumentError(kernel, `${name}[${i}] is ${x[i]}; inputs must be finite`);
  }
}
