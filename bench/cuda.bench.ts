/**
 * `pnpm bench cuda`: the CUDA backend on an NVIDIA GPU.
 *   - the shared GPU suite (bench/lib/gpu-suite.ts): each kernel end to end through the JS API
 *     against the JS reference backend and, when it probes available, the CPU SIMD backend, on
 *     the same inputs in the same run; launch latency; upload, download and copy bandwidth;
 *   - the device figures (packages/backend-cuda/scripts/device-figures.mjs): our sgemm at 1024^3
 *     to 4096^3 against cuBLAS (opened with dlopen where the host has it) interleaved in the same
 *     run, device copy bandwidth and native launch latency, with the goals.
 * Without a GPU it writes an empty result naming the probe's reason. Runs the compiled packages.
 */
import { runGpuSuite } from './lib/gpu-suite.js';
import { cudaProvider, type GpuComputeBackend } from '../packages/backend-cuda/dist/index.js';
// @ts-expect-error: a plain ESM script of the package, without types.
import { deviceFigures } from '../packages/backend-cuda/scripts/device-figures.mjs';

interface DeviceRow { name: string; timing: string; unit: string; value: number; range?: [number, number]; peer?: string; peerValue?: number; peerRange?: [number, number]; ofPeer?: number; ofPeak?: number }

await runGpuSuite({
  suite: 'cuda',
  provider: cudaProvider,
  describe: (b) => ({ ...(b as GpuComputeBackend).info }),
  extra: async (b, push, notes) => {
    const figures = (await deviceFigures(b)) as { results: DeviceRow[]; goals: Record<string, unknown>; device: Record<string, unknown> };
    for (const r of figures.results) {
      const spread = r.range ? ` (rounds ${r.range.map((x) => x.toFixed(1)).join('..')})` : '';
      push(`${r.name}, ${r.timing}${spread}`, r.ofPeak !== undefined ? `median, ${(r.ofPeak * 100).toFixed(1)}% of peak` : 'median', r.unit, r.value, r.peer ? [[r.peer, r.peerValue]] : []);
    }
    notes.deviceFigures = figures;
  },
});
