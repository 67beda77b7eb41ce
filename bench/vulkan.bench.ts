/**
 * `pnpm bench vulkan`: the Vulkan backend (lavapipe on CI machines) against the JS reference
 * backend and, when it probes available, the CPU SIMD backend, all in the same run
 * (bench/lib/gpu-suite.ts), with device kernel times from timestamp queries around the
 * dispatches. Writes bench/results/vulkan.json. Runs the compiled packages (dist).
 */
import { runGpuSuite } from './lib/gpu-suite.js';
import { vulkanProvider, type VulkanBackend } from '../packages/backend-vulkan/dist/index.js';

await runGpuSuite({
  suite: 'vulkan',
  provider: vulkanProvider,
  describe: (b) => {
    const vk = b as VulkanBackend;
    return { type: vk.device.type, driver: vk.device.driver, workgroupSize: vk.info.workgroupSize, sgemmTile: vk.info.sgemmTile, subgroupSize: vk.info.subgroupSize, subgroupArithmetic: vk.info.subgroupArithmetic, unifiedMemory: vk.info.unifiedMemory };
  },
});
