/**
 * Argument checks, mirroring the JS reference backend's rules (packages/core/src/compute/) so that
 * a call the reference rejects is rejected here with the same kind of message, and a call it
 * accepts is accepted. Every failure is a ComputeArgumentError naming the kernel and argument;
 * the native layer re-checks sizes so that nothing reads or writes past a buffer.
 */

// The argument checks every backend shares live in core, so a call the reference rejects is
// rejected here with the same message.
export { describeValue, requireInt, requireFinite, requireFloat32Scalar, requireHostF32, requireHostI32, requireProduct } from '@cwts/core/compute';

/** Do two float views over `xLen` / `yLen` elements share bytes? */
export function overlaps(x: Float32Array, xLen: number, y: Float32Array, yLen: number): boolean {
  if (x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + yLen * 4 && y.byteOffset < x.byteOffset + xLen * 4;
}
