#!/usr/bin/env node
// Device timings of the CUDA (or, with --backend rocm, ROCm) backend as one JSON object on
// stdout: our sgemm vs the vendor BLAS in the same run, device-to-device bandwidth, launch
// latency (native launch + synchronise, and the full async round trip through the JS API), with
// the goals where the device's peak figures are known. Needs the built addon and dist/.
import { performance } from 'node:perf_hooks';

const which = process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'cuda';
// In the repository the ROCm package sits next to this one (it depends on us, not we on it).
const mod = which === 'rocm' ? await import('../../backend-rocm/dist/index.js') : await import('../dist/index.js');
const provider = which === 'rocm' ? mod.rocmProvider : mod.cudaProvider;

// FP32 peak (non-tensor) and memory bandwidth of devices we have goals for, from vendor sheets.
const PEAKS = [
  { match: /H200/, fp32: 66.9e12, bandwidth: 4.8e12 },
  { match: /H100.*(SXM|HBM3)/, fp32: 66.9e12, bandwidth: 3.35e12 },
  { match: /H100.*PCIe/, fp32: 51.2e12, bandwidth: 2.0e12 },
  { match: /H100/, fp32: 66.9e12, bandwidth: 3.35e12 },
  { match: /A100/, fp32: 19.5e12, bandwidth: 2.0e12 },
];

const out = { backend: which, date: new Date().toISOString() };
const probe = await provider.probe();
out.probe = probe;
if (!probe.available) {
  console.log(JSON.stringify(out, null, 2));
  process.exit(2);
}
const backend = await provider.create({});
const n = backend.native;
const info = backend.info;
out.device = { name: info.name, arch: info.arch, sms: info.computeUnits, memoryBytes: info.memoryBytes, vendorBlas: info.vendorBlas, vendorBlasReason: info.vendorBlasReason };
const peak = PEAKS.find((p) => p.match.test(info.name));
const results = [];
const gflops = (m, nn, k, ms) => (2 * m * nn * k) / (ms / 1e3) / 1e9;

for (const size of [1024, 2048, 4096]) {
  const iters = size >= 4096 ? 20 : 50;
  const ours = n.benchSgemm(size, size, size, iters, false);
  const row = { name: `sgemm ${size}^3`, unit: 'GFLOPS', value: gflops(size, size, size, ours) };
  if (info.vendorBlas) {
    const vendor = n.benchSgemm(size, size, size, iters, true);
    row.peer = info.vendorBlas;
    row.peerValue = gflops(size, size, size, vendor);
    row.ofPeer = row.value / row.peerValue;
  }
  if (peak) row.ofPeak = (row.value * 1e9) / peak.fp32;
  results.push(row);
}
const bytes = 1 << 30;
const copyMs = n.benchCopy(bytes, 20);
// A copy reads and writes every byte.
const bw = { name: 'device copy 1 GiB', unit: 'GB/s', value: (2 * bytes) / (copyMs / 1e3) / 1e9 };
if (peak) bw.ofPeak = (bw.value * 1e9) / peak.bandwidth;
results.push(bw);
results.push({ name: 'launch + synchronise (native)', unit: 'us', value: n.benchLaunch(2000) });
for (let i = 0; i < 200; i++) await backend.noop();
const t0 = performance.now();
const reps = 2000;
for (let i = 0; i < reps; i++) await backend.noop();
results.push({ name: 'noop() round trip (JS API, async worker)', unit: 'us', value: ((performance.now() - t0) * 1e3) / reps });
out.results = results;
const s4096 = results.find((r) => r.name === 'sgemm 4096^3');
out.goals = {
  'sgemm 4096^3 >= 70% of FP32 peak': peak ? s4096.ofPeak >= 0.7 : 'peak unknown for this device',
  'sgemm 4096^3 >= 80% of the vendor BLAS': s4096.ofPeer === undefined ? 'no vendor BLAS' : s4096.ofPeer >= 0.8,
  'bandwidth >= 80% of the device': peak ? bw.ofPeak >= 0.8 : 'peak unknown for this device',
  'launch latency <= 10 us (native)': results[results.length - 2].value <= 10,
};
await backend.dispose();
console.log(JSON.stringify(out, null, 2));
