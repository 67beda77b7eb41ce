import type { BackendInitOptions, ComputeBackend, ComputeBackendProvider, ProbeResult } from '@cwts/core';
import { GpuBackendError, GpuComputeBackend, formatVersion } from './gpu-backend.js';
import type { NativeGpuLoad, NativeGpuProbe } from './native.js';
import { parseGpuSettings } from './settings.js';

/** How one GPU runtime words its probe: CUDA (NVIDIA) or HIP (ROCm). */
export interface GpuRuntimeLabels {
  /** Backend name: 'cuda' or 'rocm'. */
  name: string;
  api: 'CUDA' | 'HIP' | 'Metal';
  vendor: string;
  /** 'cudaGetDeviceCount' / 'hipGetDeviceCount'. */
  countCall: string;
  /** What to install when there is no driver. */
  driverHint: string;
  /** How a device of this runtime is called in reasons: 'CUDA', 'ROCm'. */
  deviceKind: string;
  /** Extra options for the native context (Metal: where the generated MSL is). */
  contextOptions?: Readonly<Record<string, unknown>>;
}

export const CUDA_LABELS: GpuRuntimeLabels = Object.freeze({
  name: 'cuda',
  api: 'CUDA',
  vendor: 'NVIDIA',
  countCall: 'cudaGetDeviceCount',
  driverHint: 'install the NVIDIA driver',
  deviceKind: 'CUDA',
});

/** Turns the native probe into the contract's ProbeResult (pure; tested without a device). */
export function probeResultFrom(labels: GpuRuntimeLabels, p: NativeGpuProbe): ProbeResult {
  const call = `${labels.countCall} returned ${p.error} (${p.errorName}: ${p.errorString})`;
  if (!p.ok) {
    if (p.driverVersion === 0) {
      return { available: false, reason: `no ${labels.vendor} driver: ${call}; ${labels.driverHint} (runtime ${formatVersion(labels.api, p.runtimeVersion)})` };
    }
    return { available: false, reason: `no ${labels.deviceKind} device: ${call}` };
  }
  if (p.devices.length === 0) return { available: false, reason: `no ${labels.deviceKind} device: ${labels.countCall} reported 0 devices` };
  const d = p.devices[0]!;
  return {
    available: true,
    device: {
      name: d.name,
      type: d.integrated ? 'integrated-gpu' : 'discrete-gpu',
      driver: `${labels.api} driver ${formatVersion(labels.api, p.driverVersion)}, runtime ${formatVersion(labels.api, p.runtimeVersion)}`,
      memoryBytes: d.memoryBytes,
      computeUnits: d.computeUnits,
      details: {
        arch: d.arch,
        devices: p.devices.map((x) => `${x.index}: ${x.name} (${x.arch})`).join('; '),
      },
    },
  };
}

/** probe() of a GPU backend over its addon loader; never throws. */
export async function probeGpu(labels: GpuRuntimeLabels, load: () => NativeGpuLoad): Promise<ProbeResult> {
  const n = load();
  if (!n.addon) return { available: false, reason: n.reason };
  try {
    return probeResultFrom(labels, n.addon.probe());
  } catch (e) {
    return { available: false, reason: `${labels.api} probe failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** create() of a GPU backend: settings validated first, then the device chosen by index. */
export async function createGpuBackend(labels: GpuRuntimeLabels, load: () => NativeGpuLoad, options: BackendInitOptions = {}): Promise<GpuComputeBackend> {
  const settings = parseGpuSettings(`compute.${labels.name}`, options.settings);
  const n = load();
  if (!n.addon) throw new GpuBackendError(`${labels.name} backend unavailable: ${n.reason}`, `${labels.api}_UNAVAILABLE`);
  const probe = probeResultFrom(labels, n.addon.probe());
  if (!probe.available) throw new GpuBackendError(`${labels.name} backend unavailable: ${probe.reason}`, `${labels.api}_UNAVAILABLE`);
  const device = settings.device ?? 0;
  const devices = n.addon.probe().devices;
  if (!devices.some((d) => d.index === device)) {
    throw new GpuBackendError(
      `[compute.${labels.name}] device = ${device} does not exist; available: ${devices.map((d) => `${d.index}: ${d.name}`).join(', ')}`,
      `${labels.api}_NO_SUCH_DEVICE`,
    );
  }
  try {
    return new GpuComputeBackend(labels.name, new n.addon.GpuContext({ ...labels.contextOptions, device }));
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new GpuBackendError(`${labels.name} backend unavailable: ${err.message}`, err.code ?? `${labels.api}_UNAVAILABLE`);
  }
}

/** A frozen ComputeBackendProvider for one GPU runtime. */
export function gpuProvider(labels: GpuRuntimeLabels, priority: number, load: () => NativeGpuLoad): ComputeBackendProvider {
  return Object.freeze({
    name: labels.name,
    priority,
    gpu: true,
    probe: () => probeGpu(labels, load),
    create: (options: BackendInitOptions): Promise<ComputeBackend> => createGpuBackend(labels, load, options),
  });
}
