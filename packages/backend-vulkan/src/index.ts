/**
 * @cwts/backend-vulkan: the Vulkan compute backend (GLSL compute shaders compiled to SPIR-V,
 * a Node-API addon over the Vulkan C API). Importing registers nothing; enable the plugin in
 * the config (`plugins`/`[compute] backends = ["vulkan", ...]`) or register `plugin` yourself.
 */
import { TOKENS, type PluginManifest } from '@cwts/core';
import { checkVulkanSettings, vulkanProvider } from './provider.js';

export { vulkanProvider, probeVulkan, createVulkanBackend, parseVulkanSettings, checkVulkanSettings, probeResultFrom, type VulkanSettings } from './provider.js';
export { VulkanBackend, VulkanError, VulkanDeviceLostError, VulkanOutOfMemoryError, VULKAN_BACKEND_NAME, type VulkanBackendOptions } from './backend.js';
export type { NativeDeviceInfo } from './native.js';

export const plugin: PluginManifest = {
  name: '@cwts/backend-vulkan',
  kind: 'backend',
  // 1.4: it checks sgemm scalars with requireFloat32Scalar from @cwts/core/compute
  coreApi: '1.8',
  register(ctx) {
    ctx.registrar.value(TOKENS.ComputeBackendProvider, vulkanProvider);
  },
  // `[compute.vulkan]`, checked by run and validate-config before anything starts.
  validateOptions(options, path) {
    return checkVulkanSettings(options, path);
  },
};

export default plugin;
