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

// Shapes each sgemm variant must get right on the device before it is timed: nothing a multiple
// of a tile, odd k and n (scalar loads), k = 1, many k-slabs, beta = 0 over a NaN C (C must not
// be read), beta != 0, alpha = 0 over NaN A and B (C = beta C, A and B not read), B^T (as
// patternScores uses it) on both load paths, and a long k on a small C (split-k slices).
export const VARIANT_CHECKS = [
  { m: 131, n: 77, k: 67, alpha: 1, beta: 0, transB: false },
  { m: 257, n: 260, k: 100, alpha: 0.5, beta: -1.5, transB: false },
  { m: 300, n: 129, k: 1, alpha: 1, beta: 0.25, transB: false },
  { m: 517, n: 515, k: 513, alpha: 1, beta: 0, transB: false },
  { m: 64, n: 96, k: 2000, alpha: 1, beta: -0.5, transB: false },
  { m: 130, n: 300, k: 33, alpha: -1, beta: 0, transB: true },
  { m: 200, n: 136, k: 64, alpha: 1, beta: 2, transB: true },
  { m: 64, n: 68, k: 16, alpha: 0, beta: 2, transB: false },
];

/** Deterministic values in [-1, 1) (mulberry32), so a failure can be reproduced. */
function randomFloats(count, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/**
 * Runs every sgemm variant of `native` (a NativeGpuContext) on VARIANT_CHECKS and judges C
 * against a float64 reference with the conformance suite's tolerance (1e-4 of the sum of
 * |terms|, widened for k > 1024). Returns one row per variant: { variant, name, correct,
 * worstOverTol, failures } (the first failures, for the report).
 */
export function checkSgemmVariants(native, names = native.sgemmVariants(), cases = VARIANT_CHECKS) {
  return names.map((name, variant) => {
    let worst = 0;
    const failures = [];
    cases.forEach((c, i) => {
      const { m, n, k, alpha, beta, transB } = c;
      const a = randomFloats(m * k, 1 + i);
      const b = randomFloats(k * n, 101 + i);
      const c0 = beta === 0 ? new Float32Array(m * n).fill(Number.NaN) : randomFloats(m * n, 201 + i);
      if (alpha === 0) {
        a.fill(Number.NaN);
        b.fill(Number.NaN);
      }
      const out = Float32Array.from(c0);
      try {
        native.runSgemmVariant(variant, m, n, k, alpha, beta, transB, a, b, out);
      } catch (e) {
        failures.push(`${m}x${n}x${k} transB=${transB}: ${e.message}`);
        worst = Infinity;
        return;
      }
      let caseWorst = 0;
      let where = '';
      for (let r = 0; r < m; r++) {
        for (let col = 0; col < n; col++) {
          let sum = 0;
          let mag = 0;
          if (alpha !== 0) {
            for (let p = 0; p < k; p++) {
              const term = a[r * k + p] * (transB ? b[col * k + p] : b[p * n + col]);
              sum += term;
              mag += Math.abs(term);
            }
          }
          const prior = beta !== 0 ? c0[r * n + col] : 0;
          const want = alpha * sum + beta * prior;
          const tol = 1e-4 * Math.max(1, k / 1024) * (Math.abs(alpha) * mag + Math.abs(beta * prior)) + 1e-30;
          const got = out[r * n + col];
          const over = Number.isFinite(got) ? Math.abs(got - want) / tol : Infinity;
          if (over > caseWorst) {
            caseWorst = over;
            where = `C[${r}][${col}] = ${got}, want ${want}`;
          }
        }
      }
      worst = Math.max(worst, caseWorst);
      if (!(caseWorst < 1)) failures.push(`${m}x${n}x${k} alpha=${alpha} beta=${beta} transB=${transB}: ${where}`);
    });
    return { variant, name, correct: failures.length === 0, worstOverTol: worst, failures: failures.slice(0, 3) };
  });
}

/**
 * Every sgemm variant at 1024^3, 2048^3 and 4096^3, interleaved with the vendor BLAS in ROUNDS
 * rounds (median and range, as the main rows). A variant that failed checkSgemmVariants is not
 * timed: its rows say it is wrong. Returns { checks, variants: rows, best: per size the fastest
 * correct variant }.
 */
export function timeSgemmVariants(native, { vendorBlas, peakFp32, rounds = 5, sizes = [1024, 2048, 4096], cases = VARIANT_CHECKS }) {
  const gflops = (m, nn, k, ms) => (2 * m * nn * k) / (ms / 1e3) / 1e9;
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const checks = checkSgemmVariants(native, native.sgemmVariants(), cases);
  const rows = [];
  const best = {};
  for (const size of sizes) {
    const iters = size >= 4096 ? 20 : 50;
    const times = checks.map(() => []);
    const vendor = [];
    for (let r = 0; r < rounds; r++) {
      if (vendorBlas) vendor.push(gflops(size, size, size, native.benchSgemm(size, size, size, iters, true)));
      for (const c of checks) if (c.correct) times[c.variant].push(gflops(size, size, size, native.benchSgemm(size, size, size, iters, false, c.variant)));
    }
    for (const c of checks) {
      const row = { name: `sgemm ${size}^3 variant ${c.variant}`, variant: c.variant, kernel: c.name, size, timing: 'device events', unit: 'GFLOPS', correct: c.correct };
      if (!c.correct) {
        row.value = null;
        row.note = 'wrong on this device, not timed';
        rows.push(row);
        continue;
      }
      const xs = times[c.variant];
      row.value = median(xs);
      row.range = [Math.min(...xs), Math.max(...xs)];
      if (vendorBlas) {
        row.peer = vendorBlas;
        row.peerValue = median(vendor);
        row.peerRange = [Math.min(...vendor), Math.max(...vendor)];
        row.ofPeer = row.value / row.peerValue;
      }
      if (peakFp32) row.ofPeak = (row.value * 1e9) / peakFp32;
      rows.push(row);
      if (!best[size] || row.value > best[size].value) best[size] = { variant: c.variant, kernel: c.name, value: row.value, ofPeer: row.ofPeer, ofPeak: row.ofPeak };
    }
  }
  return { checks, variants: rows, best };
}

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
  // The candidate kernels (an addon built before variants existed has no sgemmVariants).
  if (typeof n.sgemmVariants === 'function') {
    const v = timeSgemmVariants(n, { vendorBlas: info.vendorBlas, peakFp32: peak?.fp32, rounds: ROUNDS });
    figures.variantChecks = v.checks;
    figures.variants = v.variants;
    figures.variantBest = v.best;
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
