// `pnpm bench cuda` / `pnpm bench vulkan` compare the GPU's empty-dispatch latency with the js
// and cpu-simd backends'. Each backend gets the same 50 untimed calls before its 1,000 timed
// ones: the GPU alone used to be warmed up, so its peers' figures were the colder ones. The
// backends here are fakes whose kernels do nothing; only the calls are counted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const noopCalls = { gpu: 0, js: 0, simd: 0 };

function fakeBackend(name: 'gpu' | 'js' | 'simd') {
  let id = 0;
  return {
    name,
    device: { name: `fake ${name}`, type: name === 'gpu' ? 'discrete-gpu' : 'cpu' },
    capabilities: { kernels: [], syncKernels: false, deviceMemory: true, maxBufferBytes: 2 ** 30, float64: false },
    createBuffer: (n: number) => ({ backend: name, id: ++id, byteLength: n }),
    freeBuffer() {},
    async upload() {},
    async download() {},
    async copy() {},
    async patternScores() {
      return { scores: new Float32Array(0), indices: new Int32Array(0) };
    },
    async rollingMoments() {
      return { mean: new Float32Array(0), variance: new Float32Array(0) };
    },
    async sgemm() {},
    async monteCarloVaR() {
      return { var: 0, cvar: 0 };
    },
    async noop() {
      noopCalls[name]++;
    },
    async dispose() {},
  };
}

vi.mock('../../packages/core/dist/compute/index.js', () => ({ jsBackendProvider: { name: 'js', probe: async () => ({ available: true }), create: async () => fakeBackend('js') } }));
vi.mock('../../packages/backend-cpu-simd/dist/index.js', () => ({ cpuSimdProvider: { name: 'cpu-simd', probe: async () => ({ available: true }), create: async () => fakeBackend('simd') } }));

const dir = mkdtempSync(join(tmpdir(), 'cwts-gpu-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GPU suite launch latency: the same warm-up for every backend', () => {
  it('the GPU, js and cpu-simd each get 50 untimed empty dispatches before their 1,000 timed ones', { timeout: 60_000 }, async () => {
    const { runGpuSuite } = await import('../../bench/lib/gpu-suite.js');
    const gpu = fakeBackend('gpu');
    const provider = { name: 'fake-gpu', priority: 1, gpu: true, probe: async () => ({ available: true, device: gpu.device }), create: async () => gpu };
    await runGpuSuite({ suite: 'test-gpu-suite-warmup', provider: provider as never, resultsDir: dir });
    // js and cpu-simd: 50 + 1000; the GPU also runs the 1,000-dispatch burst afterwards
    expect(noopCalls).toEqual({ gpu: 50 + 1000 + 1000, js: 50 + 1000, simd: 50 + 1000 });
  });
});
