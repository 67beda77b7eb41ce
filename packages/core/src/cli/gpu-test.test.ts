// `cwts-ultra gpu-test` measures only a GPU that auto-detection counts as one (the registry's
// onRealAccelerator): a GPU API on a CPU-emulated device (Vulkan on lavapipe/llvmpipe, device type
// 'cpu-device') measures the CPU rasterizer, so gpu-test says no GPU is available and exits 1.
// The backend here is a fake @cwts/backend-vulkan package installed in a temporary directory,
// with a fixed probe and kernels that do nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CORE_API_VERSION } from '../plugins/manifest.js';
import { gpuTestCommand } from './gpu-test.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A base directory where @cwts/backend-vulkan is a fake whose device has the given type. */
function withFakeVulkan(deviceType: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-gpu-test-'));
  dirs.push(dir);
  const pkg = join(dir, 'node_modules', '@cwts', 'backend-vulkan');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@cwts/backend-vulkan', version: '0.0.0', type: 'module', exports: { '.': './index.js' } }));
  writeFileSync(join(pkg, 'index.js'), `
const token = Object.freeze({ symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true });
let id = 0;
const backend = {
  name: 'vulkan', device: { name: 'Fake ${deviceType}', type: ${JSON.stringify(deviceType)} },
  capabilities: { kernels: ['sgemm', 'copy', 'noop'], syncKernels: false, deviceMemory: true, maxBufferBytes: 2 ** 30, float64: false },
  createBuffer(n) { return { backend: 'vulkan', id: ++id, byteLength: n }; },
  freeBuffer() {}, async upload() {}, async download() {},
  // A test may set globalThis.__cwtsFakeGpu = { ms, launches }: each kernel then moves that clock
  // by a fixed amount (sgemm 10 ms, a copy 0.1 ms, a launch 20 us; every 50th launch 250 us).
  async sgemm() { const c = globalThis.__cwtsFakeGpu; if (c) c.ms += 10; },
  async copy() { const c = globalThis.__cwtsFakeGpu; if (c) c.ms += 0.1; },
  async noop() { const c = globalThis.__cwtsFakeGpu; if (c) c.ms += ++c.launches % 50 === 0 ? 0.25 : 0.02; },
  async dispose() {},
};
const provider = Object.freeze({
  name: 'vulkan', priority: 80, gpu: true,
  async probe() { return { available: true, device: backend.device }; },
  async create() { return backend; },
});
export const plugin = { name: '@cwts/backend-vulkan', kind: 'backend', coreApi: ${JSON.stringify(CORE_API_VERSION)}, register(ctx) { ctx.registrar.value(token, provider); } };
export default plugin;
`);
  return dir;
}

describe('cwts-ultra gpu-test: only a real accelerator is a GPU', () => {
  it("a GPU API on a CPU-emulated device ('cpu-device', lavapipe) is not measured: no GPU, exit 1, and why", async () => {
    const lines: string[] = [];
    const code = await gpuTestCommand(withFakeVulkan('cpu-device'), (l) => lines.push(l));
    expect(code).toBe(1);
    expect(lines[0]).toBe('GPU Performance Results: no GPU backend available, nothing measured.');
    expect(lines).toContain('  - vulkan: Fake cpu-device is a CPU-emulated device (cpu-device), not a GPU');
    expect(lines.join('\n')).not.toMatch(/GFLOPS|GB\/s/);
  }, 60_000);

  it('the same backend on a discrete GPU is measured (exit 0)', async () => {
    const lines: string[] = [];
    const code = await gpuTestCommand(withFakeVulkan('discrete-gpu'), (l) => lines.push(l));
    expect(code, lines.join('\n')).toBe(0);
    expect(lines[0]).toBe('GPU Performance Results (vulkan: Fake discrete-gpu):');
    expect(lines.join('\n')).toMatch(/sgemm 1024x1024: .* GFLOPS/);
  }, 60_000);

  it('judges the launch target at p99 (p50 printed too) and counts a copy as bytes read + written', async () => {
    // 2% of launches take 250 us: p50 20 us, p99 250 us (the 100 us target is missed at p99)
    const clock = { ms: 0, launches: 0 };
    (globalThis as { __cwtsFakeGpu?: unknown }).__cwtsFakeGpu = clock;
    try {
      const lines: string[] = [];
      const code = await gpuTestCommand(withFakeVulkan('discrete-gpu'), (l) => lines.push(l), () => clock.ms);
      expect(code, lines.join('\n')).toBe(0);
      expect(lines).toContain('- Kernel Launch (empty dispatch, round trip, 1000 calls): p50 20.0 us, p99 250.0 us (above the 100 us target at p99)');
      // 10 copies of 64 MiB in 1 ms: 2 x 671 MB / 1 ms
      expect(lines).toContain('- Memory Bandwidth (device copy of 64 MiB, read + write bytes): 1342.2 GB/s (PASS the 400 GB/s target)');
      expect(lines).toContain('- sgemm 1024x1024: 214.7 GFLOPS (PASS the 100 GFLOPS target)');
    } finally {
      delete (globalThis as { __cwtsFakeGpu?: unknown }).__cwtsFakeGpu;
    }
  }, 60_000);
});
