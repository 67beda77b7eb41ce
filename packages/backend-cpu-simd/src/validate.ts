/**
 * Argument checks, mirroring the JS reference backend's rules (packages/core/src/compute/) so that
 * a call the reference rejects is rejected here with the same kind of message, and a call it
 * accepts is accepted. Every failure is a ComputeArgumentError naming the kernel and argument;
 * the native layer re-checks sizes so that nothing reads or writes past a buffer.
 */
import { ComputeArgumentError, describeValue } from '@cwts/core';

// The argument checks every backend shares live in core, so a call the reference rejects is
// rejected here with the same message.
export { describeValue, requireInt, requireFinite, requireHostF32, requireHostI32, requireProduct } from '@cwts/core';

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
