import { constants as bufferConstants } from 'node:buffer';
import { ALL_KERNELS, type BackendCapabilities, type DeviceBuffer } from '../contracts/compute.js';
import { HostBuffers } from './host-buffers.js';

/**
 * What every backend that computes in host memory shares (the JS oracle, CPU SIMD): the
 * contract's buffer calls over HostBuffers (its "device" memory is ArrayBuffers held by id), the
 * capabilities that follow from that, and a dispose flag every call checks, so each host backend
 * rejects exactly the same misuse with the same words.
 */
export abstract class HostMemoryBackend {
  readonly capabilities: BackendCapabilities;
  protected readonly buffers: HostBuffers;
  #disposed = false;

  /** `copiesHostInputs`: whether async calls copy the caller's arrays (see BackendCapabilities). */
  protected constructor(readonly name: string, options: { copiesHostInputs?: boolean } = {}) {
    this.capabilities = Object.freeze({
      kernels: ALL_KERNELS,
      syncKernels: true,
      deviceMemory: false,
      maxBufferBytes: bufferConstants.MAX_LENGTH,
      // Host memory backends compute in float64 where asked (the JS oracle, CPU SIMD).
      float64: true,
      copiesHostInputs: options.copiesHostInputs === true,
    });
    this.buffers = new HostBuffers(name, bufferConstants.MAX_LENGTH);
  }

  /** Number of live buffers (for leak checks in tests). */
  get liveBuffers(): number {
    return this.buffers.size;
  }

  createBuffer(byteLength: number): DeviceBuffer {
    this.alive('createBuffer');
    return this.buffers.create(byteLength);
  }

  async upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    this.alive('upload');
    this.buffers.upload(dst, src, dstOffsetBytes);
  }

  async download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    this.alive('download');
    this.buffers.download(src, dst, srcOffsetBytes);
  }

  freeBuffer(buffer: DeviceBuffer): void {
    this.alive('freeBuffer');
    // Memory an in-flight native kernel still uses stays alive through the addon's references.
    this.buffers.free(buffer);
  }

  protected get disposed(): boolean {
    return this.#disposed;
  }

  /** Marks the backend disposed; false when it already was (dispose is idempotent). */
  protected markDisposed(): boolean {
    if (this.#disposed) return false;
    this.#disposed = true;
    return true;
  }

  /** Throws when the backend was disposed, naming the operation. */
  protected alive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: the ${this.name} compute backend was disposed`);
  }
}
