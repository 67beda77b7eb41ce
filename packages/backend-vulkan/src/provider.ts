import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendInitOptions, ComputeBackend, ComputeBackendProvider, ProbeResult } from '@cwts/core';
import { checkOptions } from '@cwts/core/config';
import { z } from 'zod';
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

const mustBe = (want: string) => ({ error: (iss: { input?: unknown }) => `must be ${want}, got ${JSON.stringify(iss.input)}` });
const device = z.union(
  [
    z.int().nonnegative(),
    z.string().trim().regex(/^\d+$/).transform(Number),
    z.string().trim().min(1),
  ],
  mustBe('a device index or a name substring'),
);
const filePath = z.string().min(1, mustBe('a file path'));
const nonNegative = z.number(mustBe('a non-negative number')).nonnegative(mustBe('a non-negative number'));

/** `[compute.vulkan]`: each key in snake_case as in TOML, or camelCase. */
const vulkanSettingsSchema = z.strictObject({
  device: device.optional(),
  validation: z.boolean(mustBe('true or false')).optional(),
  pipeline_cache: filePath.optional(),
  pipelineCache: filePath.optional(),
  memory_limit_mb: nonNegative.optional(),
  memoryLimitMb: nonNegative.optional(),
  kernel_timeout_ms: nonNegative.optional(),
  kernelTimeoutMs: nonNegative.optional(),
});

/** Problems in `[compute.vulkan]`, each with its key path under `path`; empty when valid. */
export function checkVulkanSettings(raw: unknown, path = 'compute.vulkan'): { path: string; message: string }[] {
  const r = checkOptions(vulkanSettingsSchema, raw ?? {}, path);
  return r.ok ? [] : r.issues;
}

/** Validates `[compute.vulkan]`; throws an Error naming each bad key. */
export function parseVulkanSettings(raw: Record<string, unknown> | undefined): VulkanSettings {
  const r = checkOptions(vulkanSettingsSchema, raw ?? {}, '');
  if (!r.ok) throw new Error(`[compute.vulkan] ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const o = r.value;
  const out: VulkanSettings = {};
  if (o.device !== undefined) out.device = o.device;
  if (o.validation !== undefined) out.validation = o.validation;
  const pipelineCache = o.pipeline_cache ?? o.pipelineCache;
  if (pipelineCache !== undefined) out.pipelineCache = pipelineCache;
  const memoryLimitMb = o.memory_limit_mb ?? o.memoryLimitMb;
  if (memoryLimitMb !== undefined) out.memoryLimitMb = memoryLimitMb;
  const kernelTimeoutMs = o.kernel_timeout_ms ?? o.kernelTimeoutMs;
  if (kernelTimeoutMs !== undefined) out.kernelTimeoutMs = kernelTimeoutMs;
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
