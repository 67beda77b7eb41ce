/**
 * acme-compute-naive: a compute backend plugin written only against the public exports of
 * @cwts/core, as a third party would. It computes rolling moments directly, window by window
 * (two passes over each window: O(N x W), no sliding state to drift), in float32 and float64,
 * and declares exactly that: the conformance suite skips the kernels it does not list.
 *
 *   [compute]
 *   backends = ["naive", "js"]
 *   [compute.naive]
 *   plugin = "acme-compute-naive"     # or a path: "./node_modules/acme-compute-naive/dist/index.js"
 *   max_window = 5000                  # its own setting: larger windows are refused
 */
import { ComputeArgumentError, TOKENS, type BackendCapabilities, type BackendInitOptions, type ComputeBackend, type ComputeBackendProvider, type DeviceBuffer, type DeviceFacts, type MonteCarloVaRResult, type PatternScoresResult, type PluginManifest, type RollingMoments64Args, type RollingMoments64Result, type RollingMomentsArgs, type RollingMomentsResult } from '@cwts/core';
import { HostBuffers, prepareRollingMoments, prepareRollingMoments64 } from '@cwts/core/compute';
import { checkOptions } from '@cwts/core/config';
import { z } from 'zod';

export const NAIVE_BACKEND_NAME = 'naive';

/** `[compute.naive]`: unknown keys are errors, reported with their key path by core. */
export const naiveSettingsSchema = z.strictObject({
  /** Largest window accepted (the cost is N x W); default 100000. */
  max_window: z.int().min(1).default(100_000),
});
export type NaiveSettings = z.output<typeof naiveSettingsSchema>;

const DEVICE: DeviceFacts = { name: 'naive two-pass (JavaScript)', type: 'cpu', details: { method: 'per-window two-pass' } };

/** Mean and population variance of x[i, i + w); NaN for a window holding NaN/Inf; exact for equal values. */
function windowMoments(x: Float32Array | Float64Array, i: number, w: number): [mean: number, variance: number] {
  let sum = 0;
  let equal = true;
  for (let k = i; k < i + w; k++) {
    const v = x[k]!;
    if (!Number.isFinite(v)) return [Number.NaN, Number.NaN];
    sum += v;
    if (v !== x[i]) equal = false;
  }
  if (equal) return [x[i]!, 0];
  const mean = sum / w;
  let sq = 0;
  let dev = 0;
  for (let k = i; k < i + w; k++) {
    const d = x[k]! - mean;
    dev += d;
    sq += d * d;
  }
  // Corrected two-pass: the first pass's rounding in the mean cancels here.
  const m = dev / w;
  const variance = sq / w - m * m;
  // NaN (sums that overflowed) stays NaN: 0 would read as "no volatility" to a sizer
  return [mean + m, variance <= 0 ? 0 : variance];
}

export class NaiveBackend implements ComputeBackend {
  readonly name = NAIVE_BACKEND_NAME;
  readonly capabilities: BackendCapabilities = Object.freeze({
    kernels: ['rollingMoments', 'copy', 'noop'] as const,
    syncKernels: false,
    deviceMemory: false,
    maxBufferBytes: 2 ** 31,
    float64: true,
  });
  readonly device = DEVICE;
  readonly #buffers = new HostBuffers(NAIVE_BACKEND_NAME, 2 ** 31);
  readonly #settings: NaiveSettings;
  #disposed = false;

  constructor(settings: NaiveSettings) {
    this.#settings = settings;
  }

  createBuffer(byteLength: number): DeviceBuffer {
    this.#alive('createBuffer');
    return this.#buffers.create(byteLength);
  }

  async upload(dst: DeviceBuffer, src: ArrayBufferView, dstOffsetBytes = 0): Promise<void> {
    this.#alive('upload');
    this.#buffers.upload(dst, src, dstOffsetBytes);
  }

  async download(src: DeviceBuffer, dst: ArrayBufferView, srcOffsetBytes = 0): Promise<void> {
    this.#alive('download');
    this.#buffers.download(src, dst, srcOffsetBytes);
  }

  freeBuffer(buffer: DeviceBuffer): void {
    this.#alive('freeBuffer');
    this.#buffers.free(buffer);
  }

  async rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    this.#alive('rollingMoments');
    // Core's own argument rules, so this backend rejects exactly what the oracle rejects.
    const p = prepareRollingMoments(args, (k, name, arg, count, what) => this.#buffers.f32(k, name, arg, count, what));
    this.#checkWindow('rollingMoments', p.window);
    const mean = p.out?.mean ?? new Float32Array(p.outputs);
    const variance = p.out?.variance ?? new Float32Array(p.outputs);
    for (let i = 0; i < p.outputs; i++) [mean[i], variance[i]] = windowMoments(p.series, i, p.window);
    return { mean, variance };
  }

  async rollingMoments64(args: RollingMoments64Args): Promise<RollingMoments64Result> {
    this.#alive('rollingMoments64');
    const p = prepareRollingMoments64(args, (k, name, arg, count, what) => this.#buffers.f64(k, name, arg, count, what));
    this.#checkWindow('rollingMoments64', p.window);
    const mean = p.out?.mean ?? new Float64Array(p.outputs);
    const variance = p.meanOnly ? undefined : (p.out?.variance ?? new Float64Array(p.outputs));
    for (let i = 0; i < p.outputs; i++) {
      const [m, v] = windowMoments(p.series, i, p.window);
      mean[i] = m;
      if (variance) variance[i] = v;
    }
    return variance ? { mean, variance } : { mean };
  }

  async copy(src: DeviceBuffer, dst: DeviceBuffer, byteLength: number): Promise<void> {
    this.#alive('copy');
    const { from, to } = this.#buffers.copyRanges(src, dst, byteLength);
    to.set(from);
  }

  async noop(): Promise<void> {
    this.#alive('noop');
  }

  // Not in capabilities.kernels: callers (and the conformance suite) do not use them.
  async patternScores(): Promise<PatternScoresResult> {
    throw new ComputeArgumentError('patternScores', `not implemented by the ${NAIVE_BACKEND_NAME} backend (see capabilities.kernels)`);
  }

  async monteCarloVaR(): Promise<MonteCarloVaRResult> {
    throw new ComputeArgumentError('monteCarloVaR', `not implemented by the ${NAIVE_BACKEND_NAME} backend (see capabilities.kernels)`);
  }

  async sgemm(): Promise<void> {
    throw new ComputeArgumentError('sgemm', `not implemented by the ${NAIVE_BACKEND_NAME} backend (see capabilities.kernels)`);
  }

  async dispose(): Promise<void> {
    this.#buffers.clear();
    this.#disposed = true;
  }

  #checkWindow(kernel: string, window: number): void {
    if (window > this.#settings.max_window) {
      throw new ComputeArgumentError(kernel, `window ${window} exceeds [compute.${NAIVE_BACKEND_NAME}] max_window = ${this.#settings.max_window}`);
    }
  }

  #alive(op: string): void {
    if (this.#disposed) throw new Error(`${op}: the ${NAIVE_BACKEND_NAME} compute backend was disposed`);
  }
}

export const naiveProvider: ComputeBackendProvider = Object.freeze({
  name: NAIVE_BACKEND_NAME,
  // A CPU backend, preferred over js (0) and below the native CPU SIMD backend (50).
  priority: 10,
  gpu: false,
  async probe() {
    return { available: true as const, device: DEVICE };
  },
  async create(options: BackendInitOptions) {
    // Core validated these settings with validateOptions before startup; parse again for defaults.
    const r = checkOptions(naiveSettingsSchema, options.settings ?? {}, `compute.${NAIVE_BACKEND_NAME}`);
    if (!r.ok) throw new Error(r.issues.map((i) => `${i.path}: ${i.message}`).join('; '));
    return new NaiveBackend(r.value);
  },
});

export const plugin: PluginManifest = {
  name: 'acme-compute-naive',
  kind: 'backend',
  // The core API this plugin was built against and needs, as a literal. Never CORE_API_VERSION:
  // that is the installed core's (a peer dependency), so it would claim whatever core it is
  // installed beside and the loader's version check could never refuse it (docs/versioning.md).
  coreApi: '1.0',
  register(ctx) {
    ctx.registrar.value(TOKENS.ComputeBackendProvider, naiveProvider);
  },
  validateOptions(options, path) {
    const r = checkOptions(naiveSettingsSchema, options ?? {}, path);
    return r.ok ? [] : r.issues;
  },
};

export default plugin;
