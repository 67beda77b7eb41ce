import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendInitOptions, ComputeBackend, ComputeBackendProvider, ProbeResult } from '@cwts/core';
import { VULKAN_BACKEND_NAME, VulkanBackend, VulkanError } from './backend.js';
import { loadNative, shaderDir, type NativeContextOptions, type NativeProbe } from './native.js';

/**
 * `[compute.vulkan]` settings (snake_case as in TOML; camelCase accepted too):
 *  - device: index (number or digit string) or a case-insensitive substring of the device name.
 *    Default: the first discrete GPU, else integrated, virtual, then CPU devices (lavapipe).
 *  - validation: enable VK_LAYER_KHRONOS_validation (default: on in Debug builds of the addon
 *    or with CWTS_VULKAN_VALIDATION=1, when the layer is installed).
 *  - pipeline_cache: file path to load and save the VkPipelineCache (default: none).
 *  - memory_limit_mb: cap on the device memory this backend allocates; past it allocations fail
 *    with VulkanOutOfMemoryError (default: no cap beyond the device's).
 *  - kernel_timeout_ms: a submission not complete after this long marks the device hung and
 *    the backend unavailable (default 60000; 0 disables).
 */
export interface VulkanSettings {
  device?: number | string;
  validation?: boolean;
  pipelineCache?: string;
  memoryLimitMb?: number;
  kernelTimeoutMs?: number;
}

const KEYS: Record<string, keyof VulkanSettings> = {
  device: 'device',
  validation: 'validation',
  pipeline_cache: 'pipelineCache',
  pipelineCache: 'pipelineCache',
  memory_limit_mb: 'memoryLimitMb',
  memoryLimitMb: 'memoryLimitMb',
  kernel_timeout_ms: 'kernelTimeoutMs',
  kernelTimeoutMs: 'kernelTimeoutMs',
};

/** Validates `[compute.vulkan]`; throws an Error naming the key on anything unexpected. */
export function parseVulkanSettings(raw: Record<string, unknown> | undefined): VulkanSettings {
  const out: VulkanSettings = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    const k = KEYS[key];
    const bad = (want: string) => new Error(`[compute.vulkan] ${key} must be ${want}, got ${JSON.stringify(value)}`);
    if (k === undefined) throw new Error(`[compute.vulkan] unknown key '${key}' (known: device, validation, pipeline_cache, memory_limit_mb, kernel_timeout_ms)`);
    if (k === 'device') {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) out.device = value;
      else if (typeof value === 'string' && /^\d+$/.test(value.trim())) out.device = Number(value.trim());
      else if (typeof value === 'string' && value.trim() !== '') out.device = value.trim();
      else throw bad('a device index or a name substring');
    } else if (k === 'validation') {
      if (typeof value !== 'boolean') throw bad('true or false');
      out.validation = value;
    } else if (k === 'pipelineCache') {
      if (typeof value !== 'string' || value === '') throw bad('a file path');
      out.pipelineCache = value;
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad('a non-negative number');
      out[k] = value;
    }
  }
  return out;
}

/** Turns the native probe into the contract's ProbeResult (pure; tested without a device). */
export function probeResultFrom(p: NativeProbe): ProbeResult {
  if (!p.ok) return { available: false, reason: p.reason ?? 'Vulkan unavailable' };
  const devices = p.devices ?? [];
  if (devices.length === 0) return { available: false, reason: 'no Vulkan device: the loader and driver report no physical devices' };
  const idx = p.defaultIndex ?? -1;
  if (idx < 0) {
    return { available: false, reason: `no suitable Vulkan device (${devices.map((d) => `${d.name}: ${d.whyNot}`).join('; ')})` };
  }
  const d = devices[idx];
  return {
    available: true,
    device: {
      name: d.name,
      type: d.type,
      driver: [d.driverName, d.driverInfo].filter(Boolean).join(' '),
      memoryBytes: d.memoryBytes,
      details: {
        api: `Vulkan ${d.apiVersion}`,
        instance: p.instanceVersion ?? '',
        deviceIndex: d.index,
        subgroupSize: d.subgroupSize,
        subgroupArithmetic: d.subgroupArithmetic,
        maxWorkgroupInvocations: d.maxComputeWorkGroupInvocations,
        maxSharedMemory: d.maxComputeSharedMemorySize,
        maxBufferBytes: d.maxStorageBufferRange,
        devices: devices.map((x) => `${x.index}: ${x.name} (${x.type}${x.suitable ? '' : `, unusable: ${x.whyNot}`})`).join('; '),
      },
    },
  };
}

export async function probeVulkan(): Promise<ProbeResult> {
  const n = loadNative();
  if (!n.addon) return { available: false, reason: n.reason };
  try {
    return probeResultFrom(n.addon.probe());
  } catch (e) {
    return { available: false, reason: `Vulkan probe failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export async function createVulkanBackend(options: BackendInitOptions = {}): Promise<VulkanBackend> {
  const settings = parseVulkanSettings(options.settings);
  const n = loadNative();
  if (!n.addon) throw new VulkanError(`vulkan backend unavailable: ${n.reason}`, 'VULKAN_UNAVAILABLE');
  const validation = settings.validation ?? (n.debug || process.env.CWTS_VULKAN_VALIDATION === '1');
  const opts: NativeContextOptions = { shaderDir, validation };
  if (settings.device !== undefined) opts.device = settings.device;
  if (settings.memoryLimitMb !== undefined && settings.memoryLimitMb > 0) opts.memoryLimitBytes = Math.floor(settings.memoryLimitMb * 1024 * 1024);
  if (settings.kernelTimeoutMs !== undefined) opts.kernelTimeoutMs = settings.kernelTimeoutMs;
  const cachePath = settings.pipelineCache;
  if (cachePath) {
    try {
      opts.pipelineCache = readFileSync(cachePath);
    } catch {
      // first run: no cache yet
    }
  }
  let ctx;
  try {
    ctx = new n.addon.VulkanContext(opts);
  } catch (e) {
    const err = e as Error & { code?: string };
    throw new VulkanError(`vulkan backend unavailable: ${err.message}`, err.code ?? 'VULKAN_UNAVAILABLE');
  }
  return new VulkanBackend(ctx, {
    savePipelineCache: cachePath
      ? (data) => {
          mkdirSync(dirname(cachePath), { recursive: true });
          writeFileSync(cachePath, data);
        }
      : undefined,
  });
}

export const vulkanProvider: ComputeBackendProvider = Object.freeze({
  name: VULKAN_BACKEND_NAME,
  priority: 80,
  gpu: true,
  probe: probeVulkan,
  create: (options: BackendInitOptions): Promise<ComputeBackend> => createVulkanBackend(options),
});
