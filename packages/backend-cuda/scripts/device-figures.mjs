// The device figures of a CUDA or ROCm backend (ours, not the JS API's): sgemm at 1024^3 to
// 4096^3 against the vendor BLAS in the same run, device-to-device bandwidth, launch latency
// (native launch + synchronise, and the full async round trip through the JS API), with the
// issue's goals where the device's peak figures are known. Shared by scripts/gpu-bench.mjs
// (one JSON object, for gpu-check.sh) and the repository's `pnpm bench cuda`.
import { performance } from 'node:perf_hooks';

// FP32 peak (non-tensor) and memory bandwidth of devices we have goals for, from vendor sheets.
export const PEAKS = [
  { match: /H200/, fp32: 66.9e12, bandwidth: 4.8e12 },
  { match: /H100.*(SXM|HBM3)/, fp32: 66.9e12, bandwidth: 3.35e12 },
  { match: /H100.*PCIe/, fp32: 51.2e12, bandwidth: 2.0e12 },
  { match: /H100/, fp32: 66.9e12, bandwidth: 3.35e12 },
  { match: /A100/, fp32: 19.5e12, bandwidth: 2.0e12 },
];


/** Measures `backend` (a created GpuComputeBackend with its `native` context); never prints. */
export async function deviceFigures(backend) {
  const figures = {};
  const n = backend.native;
  const info = backend.info;
  figures.device = { name: info.name, arch: info.arch, sms: info.computeUnits, memoryBytes: info.memoryBytes, vendorBlas: info.vendorBlas, vendorBlasReason: info.vendorBlasReason };
  const peak = PEAKS.find((p) => p.match.test(info.name));
  const results = [];
  const gflops = (m, nn, k, ms) => (2 * m * nn * k) / (ms / 1e3) / 1e9;

  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  // Ours and the vendor's interleaved, ROUNDS times each: the value is the median round, and the
  // range of the rounds is kept so a reader sees the spread (clocks and heat move between rounds).
  const ROUNDS = 5;
  for (const size of [1024, 2048, 4096]) {
    const iters = size >= 4096 ? 20 : 50;
    const ours = [];
    const vendor = [];
    for (let r = 0; r < ROUNDS; r++) {
      ours.push(gflops(size, size, size, n.benchSgemm(size, size, size, iters, false)));
      if (info.vendorBlas) vendor.push(gflops(size, size, size, n.benchSgemm(size, size, size, iters, true)));
    }
    const row = { name: `sgemm ${size}^3`, timing: 'device events', unit: 'GFLOPS', value: median(ours), range: [Math.min(...ours), Math.max(...ours)] };
    if (info.vendorBlas) {
      row.peer = info.vendorBlas;
      row.peerValue = median(vendor);
      row.peerRange = [Math.min(...vendor), Math.max(...vendor)];
      row.ofPeer = row.value / row.peerValue;
    }
    if (peak) row.ofPeak = (row.value * 1e9) / peak.fp32;
    results.push(row);
  }
  const bytes = 1 << 30;
  const copyMs = n.benchCopy(bytes, 20);
  // A copy reads and writes every byte.
  const bw = { name: 'device copy 1 GiB', timing: 'device events', unit: 'GB/s', value: (2 * bytes) / (copyMs / 1e3) / 1e9 };
  if (peak) bw.ofPeak = (bw.value * 1e9) / peak.bandwidth;
  results.push(bw);
  results.push({ name: 'launch + synchronise (native)', timing: 'host clock', unit: 'us', value: n.benchLaunch(2000) });
  for (let i = 0; i < 200; i++) await backend.noop();
  const t0 = performance.now();
  const reps = 2000;
  for (let i = 0; i < reps; i++) await backend.noop();
  results.push({ name: 'noop() round trip (JS API, async worker)', timing: 'host clock', unit: 'us', value: ((performance.now() - t0) * 1e3) / reps });
  figures.results = results;
  const s4096 = results.find((r) => r.name === 'sgemm 4096^3');
  figures.goals = {
    'sgemm 4096^3 >= 70% of FP32 peak': peak ? s4096.ofPeak >= 0.7 : 'peak unknown for this device',
    'sgemm 4096^3 >= 80% of the vendor BLAS': s4096.ofPeer === undefined ? 'no vendor BLAS' : s4096.ofPeer >= 0.8,
    'bandwidth >= 80% of the device': peak ? bw.ofPeak >= 0.8 : 'peak unknown for this device',
    'launch latency <= 10 us (native)': results[results.length - 2].value <= 10,
  };
  return figures;
}
