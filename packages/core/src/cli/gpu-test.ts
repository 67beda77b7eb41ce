import { performance } from 'node:perf_hooks';
import { onRealAccelerator } from '../compute/index.js';
import { createProgress } from '../observability/progress.js';
import { discoverBackends } from './backends.js';

const GPU = ['cuda', 'rocm', 'metal', 'vulkan'];
/** Empty launches timed (p99 is the 10th slowest). */
const LAUNCHES = 1000;

/** GB/s of copying `copiedBytes` in `ms`: bytes read + bytes written, i.e. 2 x the bytes copied. */
export function copyBandwidthGBs(copiedBytes: number, ms: number): number {
  return (2 * copiedBytes) / (ms / 1000) / 1e9;
}

/** Nearest-rank p50 and p99 of latencies (any unit), as the benchmark's rows take them. */
export function launchPercentiles(samples: readonly number[]): { p50: number; p99: number } {
  const s = [...samples].sort((x, y) => x - y);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/**
 * `cwts-ultra gpu-test`: on the first available GPU backend, measures sgemm GFLOPS, device copy
 * bandwidth and empty-kernel launch latency against the seed's targets. A GPU is what the
 * registry's auto-detection counts as one (onRealAccelerator): a GPU API on a CPU-emulated device
 * (Vulkan on lavapipe/llvmpipe) measures the CPU, so it is not used. Without a GPU it says which
 * backends were tried and why none is usable (exit 1); it never prints a figure it did not measure.
 *
 * Copy bandwidth counts the bytes read plus the bytes written (2 x the buffer per copy), as STREAM
 * and CUDA's bandwidthTest count a device-to-device copy: it is memory traffic, comparable with a
 * device's memory bandwidth (an H100's 3.35 TB/s counts reads and writes) and with the seed's
 * "Memory Bandwidth". Launch latency is judged at p99, as the seed's table is (p50 printed too).
 * `now` is a millisecond clock (performance.now by default; tests pass their own).
 */
export async function gpuTestCommand(baseDir: string, out: (line: string) => void, now: () => number = () => performance.now()): Promise<number> {
  const { registry, missing } = await discoverBackends(baseDir, GPU);
  const status = await registry.status();
  const providers = registry.providers();
  const candidates = status.filter((s) => providers.find((p) => p.name === s.name)?.gpu === true);
  const usable = candidates.filter((s) => s.available && s.device !== undefined && onRealAccelerator(providers.find((p) => p.name === s.name)!, { available: true, device: s.device }));
  if (usable.length === 0) {
    out('GPU Performance Results: no GPU backend available, nothing measured.');
    for (const s of candidates) {
      if (!s.available) out(`  - ${s.name}: ${s.reason}`);
      else out(`  - ${s.name}: ${s.device!.name} is a CPU-emulated device (${s.device!.type}), not a GPU`);
    }
    for (const m of missing) out(`  - ${m.name}: ${m.reason}`);
    await registry.dispose();
    return 1;
  }
  const { backend } = await registry.resolve([usable[0]!.name], {});
  // Measured steps: 10 sgemm, 10 copies, LAUNCHES empty launches (stderr; the results stay on stdout).
  const progress = createProgress({ label: `gpu-test ${backend.name}`, total: 20 + LAUNCHES, unit: 'steps' });
  try {
    out(`GPU Performance Results (${backend.name}: ${backend.device.name}):`);
    const n = 1024;
    const a = new Float32Array(n * n).fill(1);
    const bufA = backend.createBuffer(a.byteLength);
    const bufB = backend.createBuffer(a.byteLength);
    const bufC = backend.createBuffer(a.byteLength);
    await backend.upload(bufA, a);
    await backend.upload(bufB, a);
    await backend.sgemm({ m: n, n, k: n, a: bufA, b: bufB, c: bufC, beta: 0 });
    const reps = 10;
    let t0 = now();
    for (let i = 0; i < reps; i++) {
      await backend.sgemm({ m: n, n, k: n, a: bufA, b: bufB, c: bufC, beta: 0 });
      progress.increment();
    }
    const gflops = (2 * n * n * n * reps) / ((now() - t0) / 1000) / 1e9;
    out(`- sgemm ${n}x${n}: ${gflops.toFixed(1)} GFLOPS (${gflops > 100 ? 'PASS' : 'below'} the 100 GFLOPS target)`);
    const bytes = 64 * 2 ** 20;
    const src = backend.createBuffer(bytes);
    const dst = backend.createBuffer(bytes);
    await backend.copy(src, dst, bytes);
    t0 = now();
    for (let i = 0; i < reps; i++) {
      await backend.copy(src, dst, bytes);
      progress.increment();
    }
    const gbs = copyBandwidthGBs(bytes * reps, now() - t0);
    out(`- Memory Bandwidth (device copy of ${bytes / 2 ** 20} MiB, read + write bytes): ${gbs.toFixed(1)} GB/s (${gbs > 400 ? 'PASS' : 'below'} the 400 GB/s target)`);
    // Warm-up (first dispatches pay pipeline and worker start-up), then one call at a time.
    for (let i = 0; i < 50; i++) await backend.noop();
    const lat: number[] = [];
    for (let i = 0; i < LAUNCHES; i++) {
      const s = now();
      await backend.noop();
      lat.push((now() - s) * 1000);
      progress.increment();
    }
    const { p50, p99 } = launchPercentiles(lat);
    out(`- Kernel Launch (empty dispatch, round trip, ${LAUNCHES} calls): p50 ${p50.toFixed(1)} us, p99 ${p99.toFixed(1)} us (${p99 < 100 ? 'PASS' : 'above'} the 100 us target at p99)`);
    for (const b of [bufA, bufB, bufC, src, dst]) backend.freeBuffer(b);
    return 0;
  } finally {
    progress.stop();
    await backend.dispose();
  }
}
