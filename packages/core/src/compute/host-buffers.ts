import { ComputeArgumentError, type DeviceBuffer } from '../contracts/compute.js';
import { describeValue, requireInt } from './validate.js';

class HostDeviceBuffer implements DeviceBuffer {
  constructor(
    readonly backend: string,
    readonly id: number,
    readonly byteLength: number,
  ) {
    Object.freeze(this);
  }
}

export function isDeviceBufferLike(v: unknown): v is DeviceBuffer {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)
    && typeof (v as DeviceBuffer).backend === 'string' && typeof (v as DeviceBuffer).id === 'number';
}

/**
 * "Device memory" for backends that compute in host memory (the JS oracle, CPU SIMD): plain
 * ArrayBuffers held by id, with the contract's checks (freed, foreign or other-instance
 * buffers, ranges) in one place so every host backend rejects exactly the same misuse.
 */
export class HostBuffers {
  private readonly buffers = new Map<number, { handle: DeviceBuffer; bytes: ArrayBuffer }>();
  private readonly freed = new WeakSet<DeviceBuffer>();
  private nextId = 1;

  constructor(
    readonly backend: string,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.buffers.size;
  }

  create(byteLength: number): DeviceBuffer {
    requireInt('createBuffer', 'byteLength', byteLength, 1, this.maxBytes);
    const handle = new HostDeviceBuffer(this.backend, this.nextId++, byteLength);
    this.buffers.set(handle.id, { handle, bytes: new ArrayBuffer(byteLength) });
    return handle;
  }

  upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): void {
    const bytes = this.bytes('upload', 'dst', dst);
    if (!ArrayBuffer.isView(src)) throw new ComputeArgumentError('upload', `src must be a typed array or DataView, got ${describeValue(src)}`);
    const off = requireInt('upload', 'dstOffsetBytes', dstOffsetBytes, 0);
    if (off + src.byteLength > bytes.byteLength) {
      throw new ComputeArgumentError('upload', `${src.byteLength} bytes at offset ${off} do not fit buffer #${dst.id} of ${bytes.byteLength} bytes`);
    }
    new Uint8Array(bytes, off, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  }

  download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): void {
    const bytes = this.bytes('download', 'src', src);
    if (!ArrayBuffer.isView(dst)) throw new ComputeArgumentError('download', `dst must be a typed array or DataView, got ${describeValue(dst)}`);
    const off = requireInt('download', 'srcOffsetBytes', srcOffsetBytes, 0);
    if (off + dst.byteLength > bytes.byteLength) {
      throw new ComputeArgumentError('download', `${dst.byteLength} bytes at offset ${off} exceed buffer #${src.id} of ${bytes.byteLength} bytes`);
    }
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(bytes, off, dst.byteLength));
  }

  free(buffer: DeviceBuffer): void {
    this.bytes('freeBuffer', 'buffer', buffer);
    this.buffers.delete(buffer.id);
    this.freed.add(buffer);
  }

  /** Checks a copy's arguments and returns the two byte ranges. */
  copyRanges(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): { from: Uint8Array; to: Uint8Array } {
    const s = this.bytes('copy', 'src', src);
    const d = this.bytes('copy', 'dst', dst);
    if (src === dst) throw new ComputeArgumentError('copy', 'src and dst must be different buffers');
    const n = requireInt('copy', 'byteLength', byteLength);
    if (n > s.byteLength || n > d.byteLength) {
      throw new ComputeArgumentError('copy', `byteLength ${n} exceeds src (${s.byteLength} bytes) or dst (${d.byteLength} bytes)`);
    }
    return { from: new Uint8Array(s, 0, n), to: new Uint8Array(d, 0, n) };
  }

  clear(): void {
    this.buffers.clear();
  }

  /** The memory behind a buffer of this table, or a ComputeArgumentError saying what is wrong. */
  bytes(kernel: string, name: string, buffer: unknown): ArrayBuffer {
    if (!isDeviceBufferLike(buffer)) throw new ComputeArgumentError(kernel, `${name} must be a DeviceBuffer, got ${describeValue(buffer)}`);
    if (buffer.backend !== this.backend) {
      throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} belongs to backend '${buffer.backend}', not '${this.backend}'`);
    }
    const entry = this.buffers.get(buffer.id);
    if (entry === undefined || entry.handle !== buffer) {
      if (this.freed.has(buffer)) throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} was freed`);
      throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${buffer.id} was not created by this ${this.backend} backend instance`);
    }
    return entry.bytes;
  }

  /** An F64Arg (host array or one of our buffers) as a Float64Array of at least `count` doubles. */
  f64(kernel: string, name: string, arg: unknown, count: number, what?: string): Float64Array {
    const suffix = what ? ` (${what})` : '';
    if (arg instanceof Float64Array) {
      if (arg.length < count) throw new ComputeArgumentError(kernel, `${name} has ${arg.length} elements, needs at least ${count}${suffix}`);
      return arg;
    }
    if (isDeviceBufferLike(arg)) {
      const bytes = this.bytes(kernel, name, arg);
      if (bytes.byteLength < count * 8) {
        throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${arg.id} has ${bytes.byteLength} bytes, needs at least ${count * 8} (${count} doubles${what ? `, ${what}` : ''})`);
      }
      return new Float64Array(bytes, 0, count);
    }
    throw new ComputeArgumentError(kernel, `${name} must be a Float64Array or a DeviceBuffer, got ${describeValue(arg)}`);
  }

  /** An F32Arg (host array or one of our buffers) as a Float32Array of at least `count` floats. */
  f32(kernel: string, name: string, arg: unknown, count: number, what?: string): Float32Array {
    const suffix = what ? ` (${what})` : '';
    if (arg instanceof Float32Array) {
      if (arg.length < count) throw new ComputeArgumentError(kernel, `${name} has ${arg.length} elements, needs at least ${count}${suffix}`);
      return arg;
    }
    if (isDeviceBufferLike(arg)) {
      const bytes = this.bytes(kernel, name, arg);
      if (bytes.byteLength < count * 4) {
        throw new ComputeArgumentError(kernel, `${name}: DeviceBuffer #${arg.id} has ${bytes.byteLength} bytes, needs at least ${count * 4} (${count} floats${what ? `, ${what}` : ''})`);
      }
      return new Float32Array(bytes, 0, count);
    }
    throw new ComputeArgumentError(kernel, `${name} must be a Float32Array or a DeviceBuffer, got ${describeValue(arg)}`);
  }
}
