/**
 * The GPU compute benchmark shared by `pnpm bench vulkan` and `pnpm bench cuda`: one backend
 * against the JS reference backend and, when it probes available, the CPU SIMD backend, all in
 * the same run, on the same inputs.
 *   - per kernel: end-to-end call time (host arrays in and out, transfers included; the
 *     pattern store both resident on the device and moved per call) and, where the backend
 *     reports it (`lastKernelTimeNs`), device kernel time;
 *   - launch latency of an empty dispatch (noop, awaited one at a time);
 *   - copy bandwidth (device to device), upload and download bandwidth.
 * Writes bench/results/<suite>.json; where the backend is unavailable it measures nothing and keeps
 * an existing results file (figures from a machine that has the device). Env: GPU_BENCH_REPEATS
 * (5; VK_BENCH_REPEATS still read).
 */
import { log, median, now, percentiles, histogram, recordUnavailable, writeResults, type BenchResult } from './harness.js';
import { type ComputeBackend, type ComputeBackendProvider } from '../../packages/core/dist/index.js';
import { jsBackendProvider } from '../../packages/core/dist/compute/index.js';

/** The backend under test; `lastKernelTimeNs` is read after each call where the backend has it. */
export type GpuUnderTest = ComputeBackend & { readonly lastKernelTimeNs?: number };

export interface GpuSuiteOptions {
  /** Results file name and log label: bench/results/<suite>.json. */
  suite: string;
  provider: ComputeBackendProvider;
  /** Backend-specific choices recorded in the results' notes (tile sizes, subgroup size...). */
  describe?: (backend: GpuUnderTest) => Record<string, unknown>;
  /** Backend-specific rows, run last on the same backend. */
  extra?: (backend: GpuUnderTest, push: Push, notes: Record<string, unknown>) => Promise<void>;
  /** Where the results file goes; default bench/results (tests point it at a temporary folder). */
  resultsDir?: string;
}

const REPEATS = Number(process.env.GPU_BENCH_REPEATS ?? process.env.VK_BENCH_REPEATS ?? 5);
const results: BenchResult[] = [];
const notes: Record<string, unknown> = {};

function rand(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + scale * (s / 2 ** 32 - 0.5);
  }
  return out;
}

async function timeMs(fn: () => Promise<unknown>, repeats = REPEATS, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    await fn();
    xs.push(now() - t0);
  }
  return median(xs);
}

/** Median end-to-end ms and, where the backend reports it, median device kernel ms. */
async function timeGpu(gpu: GpuUnderTest, fn: () => Promise<unknown>, repeats = REPEATS): Promise<{ e2e: number; kernel: number }> {
  await fn();
  const e2e: number[] = [];
  const kern: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = now();
    await fn();
    e2e.push(now() - t0);
    kern.push(gpu.lastKernelTimeNs === undefined ? NaN : gpu.lastKernelTimeNs / 1e6);
  }
  return { e2e: median(e2e), kernel: median(kern) };
}

async function cpuSimdPeer(): Promise<ComputeBackend | undefined> {
  try {
    const mod = (await import('../../packages/backend-cpu-simd/dist/index.js')) as Record<string, unknown>;
    const provider = Object.values(mod).find(
      (v): v is ComputeBackendProvider => typeof v === 'object' && v !== null && typeof (v as ComputeBackendProvider).probe === 'function' && typeof (v as ComputeBackendProvider).create === 'function',
    );
    if (!provider) {
      notes.cpuSimd = 'no provider exported by @cwts/backend-cpu-simd (not built yet)';
      return undefined;
    }
    const p = await provider.probe();
    if (!p.available) {
      notes.cpuSimd = `unavailable: ${p.reason}`;
      return undefined;
    }
    return await provider.create({});
  } catch (e) {
    notes.cpuSimd = `not loadable: ${e instanceof Error ? e.message : String(e)}`;
    return undefined;
  }
}

export type Push = (name: string, metric: string, unit: string, value: number, peers?: [string, number | undefined][]) => void;

function push(name: string, metric: string, unit: string, value: number, peers: [string, number | undefined][] = []): void {
  // A backend without kernel timestamps gives NaN device times: no row rather than a made-up one.
  if (Number.isNaN(value)) return;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const withPeers = peers.filter(([, v]) => v !== undefined);
  if (withPeers.length === 0) results.push({ name, metric, unit, value: round(value) });
  for (const [peer, v] of withPeers) results.push({ name, metric, unit, value: round(value), peer, peerValue: round(v!) });
  log(`${name.padEnd(58)} ${metric.padEnd(28)} ${round(value)} ${unit}${withPeers.map(([p, v]) => `  | ${p} ${round(v!)}`).join('')}`);
}

export async function runGpuSuite(opts: GpuSuiteOptions): Promise<void> {
  const { suite, provider } = opts;
  const probe = await provider.probe();
  if (!probe.available) {
    recordUnavailable(suite, probe.reason, opts.resultsDir);
    return;
  }
  const gpu = (await provider.create({})) as GpuUnderTest;
  const js = await jsBackendProvider.create({});
  const simd = await cpuSimdPeer();
  const peers: [string, ComputeBackend][] = [['js', js]];
  if (simd) peers.push([`cpu-simd`, simd]);
  log(`${suite} device: ${gpu.device.name}; peers: ${peers.map(([n]) => n).join(', ')}`);
  notes.device = { ...gpu.device };
  if (opts.describe) notes.choices = opts.describe(gpu);

  // ---------------------------------------------------------------- patternScores
  {
    const K = 20000, D = 64, B = 8, topK = 10;
    const stored = rand(K * D, 1, 2);
    const queries = rand(B * D, 2, 2);
    const name = `patternScores K=${K} D=${D} B=${B} top${topK}`;
    const storeBuf = gpu.createBuffer(stored.byteLength);
    await gpu.upload(storeBuf, stored);
    const res = await timeGpu(gpu, () => gpu.patternScores({ stored: storeBuf, storedCount: K, dim: D, queries, queryCount: B, topK }));
    const host = await timeGpu(gpu, () => gpu.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK }));
    const peerTimes: [string, number][] = [];
    for (const [pn, pb] of peers) {
      const buf = pb.createBuffer(stored.byteLength);
      await pb.upload(buf, stored);
      peerTimes.push([pn, await timeMs(() => pb.patternScores({ stored: buf, storedCount: K, dim: D, queries, queryCount: B, topK }), pn === 'js' ? 3 : REPEATS)]);
      pb.freeBuffer(buf);
    }
    push(`${name} (resident store)`, 'end-to-end ms (median)', 'ms', res.e2e, peerTimes);
    push(`${name} (resident store)`, 'device kernel ms (timestamps)', 'ms', res.kernel);
    push(`${name} (store moved per call)`, 'end-to-end ms (median)', 'ms', host.e2e, peerTimes);
    push(`${name} (store moved per call)`, 'device kernel ms (timestamps)', 'ms', host.kernel);
    gpu.freeBuffer(storeBuf);
  }

  // ---------------------------------------------------------------- rollingMoments
  {
    const N = 1_000_000, W = 64;
    const series = rand(N, 3, 1, 100);
    const name = `rollingMoments N=${N} W=${W}`;
    const res = await timeGpu(gpu, () => gpu.rollingMoments({ series, length: N, window: W }));
    const peerTimes: [string, number][] = [];
    for (const [pn, pb] of peers) peerTimes.push([pn, await timeMs(() => pb.rollingMoments({ series, length: N, window: W }))]);
    push(name, 'end-to-end ms (median)', 'ms', res.e2e, peerTimes);
    push(name, 'device kernel ms (timestamps)', 'ms', res.kernel);
  }

  // ---------------------------------------------------------------- sgemm
  {
    const n = 512;
    const a = rand(n * n, 4), b = rand(n * n, 5), c = new Float32Array(n * n);
    const name = `sgemm ${n}x${n}x${n}`;
    const res = await timeGpu(gpu, () => gpu.sgemm({ m: n, n, k: n, a, b, c }));
    const peerTimes: [string, number][] = [];
    for (const [pn, pb] of peers) peerTimes.push([pn, await timeMs(() => pb.sgemm({ m: n, n, k: n, a, b, c }), pn === 'js' ? 3 : REPEATS)]);
    push(name, 'end-to-end ms (median)', 'ms', res.e2e, peerTimes);
    push(name, 'device kernel ms (timestamps)', 'ms', res.kernel);
    const gflop = (2 * n * n * n) / 1e9;
    push(name, 'device GFLOP/s', 'GFLOP/s', gflop / (res.kernel / 1e3), peerTimes.map(([p, t]) => [p, gflop / (t / 1e3)] as [string, number]));
  }

  // ---------------------------------------------------------------- monteCarloVaR
  {
    const A = 16, F = 16, P = 100_000;
    const means = rand(A, 6, 0.001);
    const factor = rand(A * F, 7, 0.02);
    const weights = rand(A, 8, 1000, 1000);
    const name = `monteCarloVaR A=F=${A} paths=${P}`;
    const args = { means, factor, weights, assets: A, factors: F, paths: P, confidence: 0.99, seed: 42 };
    const res = await timeGpu(gpu, () => gpu.monteCarloVaR(args));
    const peerTimes: [string, number][] = [];
    for (const [pn, pb] of peers) peerTimes.push([pn, await timeMs(() => pb.monteCarloVaR(args), 3)]);
    push(name, 'end-to-end ms (median)', 'ms', res.e2e, peerTimes);
    push(name, 'device kernel ms (timestamps)', 'ms', res.kernel);
  }

  // ---------------------------------------------------------------- launch latency
  {
    // The same 50 untimed calls before each backend's 1000 (first calls pay JIT, pipeline or
    // worker start-up): a warm-up for the GPU alone made its peers' figures the colder ones.
    const LAUNCH_WARMUP = 50;
    const h = histogram();
    for (let i = 0; i < LAUNCH_WARMUP; i++) await gpu.noop();
    const kern: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = now();
      await gpu.noop();
      h.recordValue(Math.max(1, Math.round((now() - t0) * 1e6)));
      kern.push(gpu.lastKernelTimeNs);
    }
    const p = percentiles(h);
    const hj = histogram();
    for (let i = 0; i < LAUNCH_WARMUP; i++) await js.noop();
    for (let i = 0; i < 1000; i++) {
      const t0 = now();
      await js.noop();
      hj.recordValue(Math.max(1, Math.round((now() - t0) * 1e6)));
    }
    const pj = percentiles(hj);
    const peerP50: [string, number][] = [['js', pj.p50 / 1e3]];
    const peerP99: [string, number][] = [['js', pj.p99 / 1e3]];
    if (simd) {
      const hs = histogram();
      for (let i = 0; i < LAUNCH_WARMUP; i++) await simd.noop();
      for (let i = 0; i < 1000; i++) {
        const t0 = now();
        await simd.noop();
        hs.recordValue(Math.max(1, Math.round((now() - t0) * 1e6)));
      }
      peerP50.push(['cpu-simd', percentiles(hs).p50 / 1e3]);
      peerP99.push(['cpu-simd', percentiles(hs).p99 / 1e3]);
    }
    push('noop (empty dispatch), awaited one at a time', 'launch latency p50', 'us', p.p50 / 1e3, peerP50);
    push('noop (empty dispatch), awaited one at a time', 'launch latency p99', 'us', p.p99 / 1e3, peerP99);
    push('noop (empty dispatch)', 'device time p50 (timestamps)', 'us', median(kern) / 1e3);
    const burst = 1000;
    const t0 = now();
    await Promise.all(Array.from({ length: burst }, () => gpu.noop()));
    push('noop x1000 submitted without awaiting', 'throughput', 'dispatches/s', burst / ((now() - t0) / 1e3));
  }

  // ---------------------------------------------------------------- bandwidth
  {
    const bytes = 64 << 20;
    const src = gpu.createBuffer(bytes);
    const dst = gpu.createBuffer(bytes);
    const host = new Uint8Array(bytes).fill(7);
    const gbs = (ms: number) => bytes / 1e9 / (ms / 1e3);
    // a device-to-device copy reads and writes every byte: counted twice, as CUDA's bandwidthTest,
    // STREAM Copy, the device's peak figure and `cwts-ultra gpu-test` count it (uploads and
    // downloads move each byte once over the bus)
    const copyGbs = (ms: number) => (2 * bytes) / 1e9 / (ms / 1e3);
    const up = await timeGpu(gpu, () => gpu.upload(src, host));
    const cp = await timeGpu(gpu, () => gpu.copy(src, dst, bytes));
    const back = new Uint8Array(bytes);
    const down = await timeGpu(gpu, () => gpu.download(dst, back));
    const js1 = js.createBuffer(bytes), js2 = js.createBuffer(bytes);
    const jsCopy = await timeMs(() => js.copy(js1, js2, bytes));
    const jsUp = await timeMs(() => js.upload(js1, host));
    const simdCopy = simd
      ? await (async () => {
          const a = simd.createBuffer(bytes), b = simd.createBuffer(bytes);
          const t = await timeMs(() => simd.copy(a, b, bytes));
          simd.freeBuffer(a);
          simd.freeBuffer(b);
          return t;
        })()
      : undefined;
    push('copy 64 MiB device to device', 'bandwidth (read + write), end-to-end', 'GB/s', copyGbs(cp.e2e), [['js', copyGbs(jsCopy)], ['cpu-simd', simdCopy === undefined ? undefined : copyGbs(simdCopy)]]);
    push('copy 64 MiB device to device', 'bandwidth (read + write), device timestamps', 'GB/s', copyGbs(cp.kernel));
    push('upload 64 MiB host to device', 'bandwidth, end-to-end', 'GB/s', gbs(up.e2e), [['js', gbs(jsUp)]]);
    push('download 64 MiB device to host', 'bandwidth, end-to-end', 'GB/s', gbs(down.e2e));
    js.freeBuffer(js1);
    js.freeBuffer(js2);
    gpu.freeBuffer(src);
    gpu.freeBuffer(dst);
  }

  if (opts.extra) await opts.extra(gpu, push, notes);
  await gpu.dispose();
  await js.dispose();
  await simd?.dispose();
  const file = writeResults(suite, results, { notes }, opts.resultsDir);
  log(`wrote ${file}`);
}
