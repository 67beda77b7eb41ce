/**
 * `pnpm bench cpu-simd`: the native CPU SIMD backend (@cwts/backend-cpu-simd) against, in the
 * same run and on the same inputs:
 *  - the JS reference backend (every kernel),
 *  - technicalindicators (SMA; a rolling mean + SD as Bollinger Bands and as SMA + SD, the goal
 *    judged against the faster, ours allocating its outputs as they do) and a plain JS
 *    sliding-sum loop (rollingMoments, 1M points; goals >= 100x technicalindicators, >= 3x the
 *    plain loop),
 *  - the machine's measured memory bandwidth (patternScores over 100k x 64 and 1M x 64 stored
 *    windows; goal >= 50% of it),
 *  - the linked BLAS (sgemm GFLOPS of our blocked kernel vs OpenBLAS),
 *  - per-call overhead of tiny inputs (sync fast path, async API, off-thread hop): the median of
 *    5 batches, ours and the peer's interleaved.
 * Writes bench/results/cpu-simd.json. Runs the compiled packages (dist), i.e. what ships.
 * Env: SIMD_REPEATS (default 5), SIMD_THREADS (default: all cores).
 */
import { availableParallelism } from 'node:os';
import { BollingerBands, SD, SMA } from 'technicalindicators';
import { JsComputeBackend } from '../packages/core/dist/compute/index.js';
import { CpuSimdBackend, cpuSimdProvider } from '../packages/backend-cpu-simd/dist/index.js';
import { log, median, now, recordUnavailable, writeResults, type BenchResult } from './lib/harness.js';

const REPEATS = Number(process.env.SIMD_REPEATS ?? 5);
const THREADS = Number(process.env.SIMD_THREADS ?? availableParallelism());
const results: BenchResult[] = [];
const PEER_TI = 'technicalindicators@3.1.0';
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(n: number, seed: number, mean = 0, sd = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}

/** Median wall time in ms of `reps` runs of `fn` after one warm-up. */
async function timeMs(fn: () => unknown, reps = REPEATS): Promise<{ med: number; runs: number[] }> {
  await fn();
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    await fn();
    runs.push(now() - t0);
  }
  return { med: median(runs), runs };
}

/** Per-call ns of a contender over its batches: the median, with the slowest and fastest batch as the spread. */
interface PerCall {
  med: number;
  min: number;
  max: number;
}

/**
 * ns per call of a tiny synchronous or async call, ours and the peer's: one warm-up batch each,
 * then 5 batches each, interleaved (ours, peer, peer, ours, ...) so both see the same host
 * state; the median batch, not the fastest.
 */
async function perCallNs(ours: () => unknown, peer: () => unknown, calls: number, isAsync = false): Promise<{ ours: PerCall; peer: PerCall }> {
  const batch = async (fn: () => unknown): Promise<number> => {
    const t0 = now();
    if (isAsync) for (let i = 0; i < calls; i++) await fn();
    else for (let i = 0; i < calls; i++) fn();
    return ((now() - t0) * 1e6) / calls;
  };
  await batch(ours);
  await batch(peer);
  const o: number[] = [];
  const p: number[] = [];
  for (let b = 0; b < 5; b++) {
    if (b % 2 === 0) {
      o.push(await batch(ours));
      p.push(await batch(peer));
    } else {
      p.push(await batch(peer));
      o.push(await batch(ours));
    }
  }
  const stat = (xs: number[]): PerCall => ({ med: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)) });
  return { ours: stat(o), peer: stat(p) };
}

/** One function's per-call ns alone (no peer): median of 5 batches after a warm-up one. */
async function perCallAloneNs(fn: () => unknown, calls: number, isAsync = false): Promise<PerCall> {
  return (await perCallNs(fn, () => undefined, calls, isAsync)).ours;
}

async function main(): Promise<void> {
  const probe = await cpuSimdProvider.probe();
  if (!probe.available) {
    // Keeps an existing cpu-simd.json: no addon here is no measurement, not an empty one.
    recordUnavailable('cpu-simd', probe.reason);
    return;
  }
  const simd = (await cpuSimdProvider.create({ threadPoolSize: THREADS })) as CpuSimdBackend;
  const simd1 = (await cpuSimdProvider.create({ threadPoolSize: 1 })) as CpuSimdBackend;
  const js = new JsComputeBackend();
  const facts = { isa: simd.isa, threads: simd.threads, blas: String(simd.device.details?.blas), sgemm: String(simd.device.details?.sgemm), cpu: probe.device.name };
  log(`cpu-simd: ${JSON.stringify(facts)}`);

  // ---------------------------------------------------------------- memory bandwidth (copy probe)
  const BW_BYTES = 256 << 20;
  const src = simd.createBuffer(BW_BYTES);
  const dst = simd.createBuffer(BW_BYTES);
  await simd.upload(src, new Uint8Array(BW_BYTES).fill(7));
  await simd.upload(dst, new Uint8Array(BW_BYTES).fill(1));
  const cp = await timeMs(() => simd.copy(src, dst, BW_BYTES));
  // STREAM "Copy" convention: bytes read + bytes written.
  const bandwidthGBs = (2 * BW_BYTES) / (cp.med / 1e3) / 1e9;
  // Touch the peer's buffers first (fresh zero pages would make its reads free).
  await js.upload(jsBuf(js, BW_BYTES), new Uint8Array(BW_BYTES).fill(7));
  await js.upload(jsBuf(js, BW_BYTES, 1), new Uint8Array(BW_BYTES).fill(1));
  const jsCp = await timeMs(() => js.copy(jsBuf(js, BW_BYTES), jsBuf(js, BW_BYTES, 1), BW_BYTES), 3);
  results.push({ name: 'memory.bandwidth.copy', metric: 'median', unit: 'GB/s', value: r3(bandwidthGBs), peer: 'js backend copy (Uint8Array.set)', peerValue: r3((2 * BW_BYTES) / (jsCp.med / 1e3) / 1e9), note: `256 MiB device-to-device copy, (read + write bytes) / time, ${simd.threads} threads, non-temporal stores; runs ms: ${cp.runs.map(r3).join(',')}` });
  simd.freeBuffer(src);
  simd.freeBuffer(dst);
  // Read-only streaming bandwidth (what patternScores needs: it only reads the store).
  const rdArr = new Float32Array(BW_BYTES / 4).fill(1);
  const rd = await timeMs(() => simd.readProbe(rdArr));
  const readGBs = BW_BYTES / (rd.med / 1e3) / 1e9;
  results.push({ name: 'memory.bandwidth.read', metric: 'median', unit: 'GB/s', value: r3(readGBs), note: `256 MiB read-only streaming pass (sum), ${simd.threads} threads; runs ms: ${rd.runs.map(r3).join(',')}` });
  log(`memory bandwidth: copy ${r3(bandwidthGBs)} GB/s (read+write), read ${r3(readGBs)} GB/s`);

  // ---------------------------------------------------------------- rollingMoments, 1M points
  {
    const N = 1_000_000;
    const W = 20;
    const series = new Float32Array(N);
    const z = normals(N, 1);
    let p = 30000;
    for (let i = 0; i < N; i++) series[i] = p += z[i]! * 2;
    const values = Array.from(series);
    const args = { series, length: N, window: W };
    const outMean = new Float32Array(N - W + 1);
    const outVar = new Float32Array(N - W + 1);
    // Allocation policy, the same for both sides of each comparison: against the JS reference
    // and the plain loop every contender writes into outputs allocated once; technicalindicators
    // can only return new arrays, so against it ours allocates its outputs too (the backend's own
    // arrays, no `out`).
    const refMean = new Float32Array(N - W + 1);
    const refVar = new Float32Array(N - W + 1);
    const ours = await timeMs(() => simd.rollingMoments({ ...args, out: { mean: outMean, variance: outVar } }), REPEATS * 4);
    const oursSync = await timeMs(() => simd1.sync.rollingMoments({ ...args, out: { mean: outMean, variance: outVar } }), REPEATS * 4);
    const oursAlloc = await timeMs(() => simd.rollingMoments(args), REPEATS * 4);
    const ref = await timeMs(() => js.rollingMoments({ ...args, out: { mean: refMean, variance: refVar } }), REPEATS);
    const plain = await timeMs(() => plainRolling(series, W, outMean, outVar), REPEATS * 2);
    // technicalindicators: a rolling mean + SD two ways, BollingerBands and SMA.calculate +
    // SD.calculate, timed interleaved; the goal is judged against the faster of the two.
    const sma = await timeMs(() => SMA.calculate({ period: W, values }), 3);
    const bbRuns: number[] = [];
    const smaSdRuns: number[] = [];
    const bbCall = () => BollingerBands.calculate({ period: W, values, stdDev: 2 });
    const smaSdCall = () => [SMA.calculate({ period: W, values }), SD.calculate({ period: W, values })] as const;
    bbCall();
    const [tiMean, tiSd] = smaSdCall();
    for (let i = 0; i < 3; i++) {
      const order = i % 2 === 0 ? [bbCall, smaSdCall] : [smaSdCall, bbCall];
      for (const f of order) {
        const t0 = now();
        f();
        (f === bbCall ? bbRuns : smaSdRuns).push(now() - t0);
      }
    }
    const bb = { med: median(bbRuns), runs: bbRuns };
    const smaSd = { med: median(smaSdRuns), runs: smaSdRuns };
    const ti = smaSd.med <= bb.med ? { ...smaSd, name: 'SMA.calculate + SD.calculate' } : { ...bb, name: 'BollingerBands' };
    // Same answer: technicalindicators' mean and SD against ours (float32 outputs near 30000: half
    // an ulp is ~1e-3) at every output.
    const mine = await simd.rollingMoments(args);
    let worstMean = 0;
    let worstSd = 0;
    for (let i = 0; i < tiMean.length; i++) {
      worstMean = Math.max(worstMean, Math.abs(tiMean[i]! - mine.mean[i]!) / Math.abs(tiMean[i]!));
      worstSd = Math.max(worstSd, Math.abs(tiSd[i]! - Math.sqrt(mine.variance[i]!)) / Math.max(1, tiSd[i]!));
    }
    if (tiMean.length !== mine.mean.length || !(worstMean <= 1e-7) || !(worstSd <= 1e-3)) throw new Error(`rollingMoments and technicalindicators disagree: mean rel ${worstMean}, SD rel ${worstSd}`);
    const spread = (t: { runs: number[] }): string => `runs ${t.runs.map(r3).join(',')} ms`;
    const note = `N=${N} W=${W}, mean + population variance into outputs allocated once (ours and the peer alike); median of runs`;
    const tiNote = `N=${N} W=${W}; ours allocates its outputs as technicalindicators does (median ${r3(oursAlloc.med)} ms, ${spread(oursAlloc)}); same mean and SD as ours (worst relative difference ${worstMean.toExponential(1)} / ${worstSd.toExponential(1)})`;
    results.push({ name: 'rollingMoments.1M.vs_js_reference', metric: 'median', unit: 'ms', value: r3(ours.med), peer: 'js reference backend (into outputs allocated once)', peerValue: r3(ref.med), note: `${note}; ours ${spread(ours)}; reference ${spread(ref)}` });
    results.push({ name: 'rollingMoments.1M.vs_plain_loop', metric: 'median', unit: 'ms', value: r3(ours.med), peer: 'plain JS sliding-sum loop (Float64 sums)', peerValue: r3(plain.med), note: `${note}; plain loop ${spread(plain)}` });
    results.push({ name: 'rollingMoments.1M.vs_technicalindicators', metric: 'median', unit: 'ms', value: r3(oursAlloc.med), peer: `${PEER_TI} ${ti.name} (the faster of BollingerBands and SMA + SD in this run)`, peerValue: r3(ti.med), note: `${tiNote}; peer ${spread(ti)}` });
    results.push({ name: 'rollingMoments.1M.vs_technicalindicators_bollinger', metric: 'median', unit: 'ms', value: r3(oursAlloc.med), peer: `${PEER_TI} BollingerBands`, peerValue: r3(bb.med), note: `${tiNote}; BollingerBands gives SMA and SD (what rollingMoments computes); ${spread(bb)}` });
    results.push({ name: 'rollingMoments.1M.vs_technicalindicators_sma_sd', metric: 'median', unit: 'ms', value: r3(oursAlloc.med), peer: `${PEER_TI} SMA.calculate + SD.calculate`, peerValue: r3(smaSd.med), note: `${tiNote}; ${spread(smaSd)}` });
    results.push({ name: 'rollingMoments.1M.vs_technicalindicators_sma', metric: 'median', unit: 'ms', value: r3(oursAlloc.med), peer: `${PEER_TI} SMA`, peerValue: r3(sma.med), note: `${tiNote}; SMA gives the mean only` });
    results.push({ name: 'rollingMoments.1M.single_thread_sync', metric: 'median', unit: 'ms', value: r3(oursSync.med), peer: 'plain JS sliding-sum loop (Float64 sums)', peerValue: r3(plain.med), note: `sync fast path, 1 thread (the JS thread); ${spread(oursSync)}` });
    results.push({ name: 'rollingMoments.1M.speedup_vs_technicalindicators', metric: 'ratio', unit: 'x', value: r1(ti.med / oursAlloc.med), note: `goal >= 100x; against ${ti.name}, the faster technicalindicators path in this run; both allocate their outputs` });
    results.push({ name: 'rollingMoments.1M.speedup_vs_bollinger', metric: 'ratio', unit: 'x', value: r1(bb.med / oursAlloc.med), note: 'both allocate their outputs; the goal is judged by speedup_vs_technicalindicators' });
    results.push({ name: 'rollingMoments.1M.speedup_vs_sma', metric: 'ratio', unit: 'x', value: r1(sma.med / oursAlloc.med) });
    results.push({ name: 'rollingMoments.1M.speedup_vs_plain_loop', metric: 'ratio', unit: 'x', value: r1(plain.med / ours.med), note: 'goal >= 3x' });
    results.push({ name: 'rollingMoments.1M.throughput', metric: 'median', unit: 'Mpoints/s', value: r1(N / (ours.med / 1e3) / 1e6) });
    log(`rollingMoments 1M: ours ${r3(ours.med)} ms (allocating ${r3(oursAlloc.med)}, 1 thread ${r3(oursSync.med)}), js ref ${r3(ref.med)}, plain ${r3(plain.med)}, TI SMA ${r3(sma.med)}, TI BB ${r3(bb.med)}, TI SMA+SD ${r3(smaSd.med)}: ${r1(ti.med / oursAlloc.med)}x the faster TI path`);
  }

  // ---------------------------------------------------------------- patternScores vs bandwidth
  for (const K of [100_000, 1_000_000]) {
    const D = 64;
    const stored = normals(K * D, 2 + K, 100, 3);
    const store = simd.createBuffer(K * D * 4);
    await simd.upload(store, stored);
    for (const B of [1, 8]) {
      const queries = normals(B * D, 3, 100, 3);
      const args = { stored: store, storedCount: K, dim: D, queries, queryCount: B, topK: 10 };
      const ours = await timeMs(() => simd.patternScores(args), REPEATS);
      const gbs = (K * D * 4) / (ours.med / 1e3) / 1e9;
      const refReps = K >= 1_000_000 ? 1 : 3;
      const ref = await timeMs(() => js.patternScores({ ...args, stored }), refReps);
      const tag = `${K >= 1e6 ? '1M' : '100k'}x64.B${B}`;
      results.push({ name: `patternScores.${tag}.vs_js_reference`, metric: 'median', unit: 'ms', value: r3(ours.med), peer: 'js reference backend', peerValue: r3(ref.med), note: `K=${K} D=${D} B=${B} topK=10; store resident in a backend buffer` });
      results.push({ name: `patternScores.${tag}.store_read_bandwidth`, metric: 'median', unit: 'GB/s', value: r3(gbs), peer: 'measured memory read bandwidth', peerValue: r3(readGBs) });
      results.push({ name: `patternScores.${tag}.fraction_of_read_bandwidth`, metric: 'ratio', unit: '%', value: r1((100 * gbs) / readGBs), note: 'goal >= 50%' });
      results.push({ name: `patternScores.${tag}.fraction_of_copy_bandwidth`, metric: 'ratio', unit: '%', value: r1((100 * gbs) / bandwidthGBs), note: 'against STREAM-copy (read + write bytes) bandwidth' });
      results.push({ name: `patternScores.${tag}.throughput`, metric: 'median', unit: 'Mwindows/s', value: r1((K * B) / (ours.med / 1e3) / 1e6) });
      log(`patternScores ${tag}: ours ${r3(ours.med)} ms (${r3(gbs)} GB/s, ${r1((100 * gbs) / readGBs)}% of read bw, ${r1((100 * gbs) / bandwidthGBs)}% of copy bw), js ${r3(ref.med)} ms`);
    }
    simd.freeBuffer(store);
  }

  // ---------------------------------------------------------------- sgemm GFLOPS
  for (const n of [128, 512, 1024]) {
    const a = normals(n * n, 5);
    const b = normals(n * n, 6);
    const c = new Float32Array(n * n);
    const flops = 2 * n * n * n;
    const args = { m: n, n, k: n, a, b, c };
    const own = await timeMs(() => simd.sgemmNative(args), REPEATS);
    const gf = (ms: number): number => r1(flops / (ms / 1e3) / 1e9);
    if (simd.usesBlas) {
      const blas = await timeMs(() => simd.sgemm(args), REPEATS);
      results.push({ name: `sgemm.${n}.gflops.vs_blas`, metric: 'median', unit: 'GFLOPS', value: gf(own.med), peer: String(simd.device.details?.blas), peerValue: gf(blas.med), note: `own blocked ${simd.isa} kernel (6x${2 * (simd.device.details?.lanes as number)} micro-tile, packed A/B) vs the BLAS linked at build time, ${simd.threads} threads` });
      log(`sgemm ${n}: own ${gf(own.med)} GFLOPS, blas ${gf(blas.med)} GFLOPS`);
    }
    if (n <= 512) {
      const ref = await timeMs(() => js.sgemm(args), n >= 512 ? 1 : 3);
      results.push({ name: `sgemm.${n}.gflops.vs_js_reference`, metric: 'median', unit: 'GFLOPS', value: gf(own.med), peer: 'js reference backend', peerValue: gf(ref.med) });
    }
  }

  // ---------------------------------------------------------------- monteCarloVaR
  {
    const A = 10;
    const args = {
      means: normals(A, 7, 0.0003, 0.0002),
      factor: normals(A * A, 8, 0, 0.01),
      weights: normals(A, 9, 10000, 2000),
      assets: A,
      factors: A,
      paths: 100_000,
      horizon: 1,
      confidence: 0.99,
      seed: 42,
    };
    const ours = await timeMs(() => simd.monteCarloVaR(args), REPEATS);
    const ref = await timeMs(() => js.monteCarloVaR(args), 3);
    const a1 = await simd.monteCarloVaR(args);
    const a2 = await js.monteCarloVaR(args);
    results.push({ name: 'monteCarloVaR.100k_paths.10_assets', metric: 'median', unit: 'ms', value: r3(ours.med), peer: 'js reference backend', peerValue: r3(ref.med), note: `same seed; VaR ours ${a1.var.toFixed(4)} vs reference ${a2.var.toFixed(4)}` });
    log(`monteCarloVaR 100k x 10: ours ${r3(ours.med)} ms, js ${r3(ref.med)} ms`);
  }

  // ---------------------------------------------------------------- per-call overhead, tiny inputs
  {
    const series = normals(16, 10);
    const rm = { series, length: 16, window: 4, out: { mean: new Float32Array(13), variance: new Float32Array(13) } };
    const ps = { stored: normals(32, 11), storedCount: 4, dim: 8, queries: normals(8, 12), queryCount: 1, topK: 2, out: { indices: new Int32Array(2), scores: new Float32Array(2) } };
    const gm = { m: 4, n: 4, k: 4, a: normals(16, 13), b: normals(16, 14), c: new Float32Array(16) };
    const CALLS = 200_000;
    const rows: [string, () => unknown, () => unknown, boolean][] = [
      ['sync.rollingMoments(16, W=4)', () => simd.sync.rollingMoments(rm), () => js.sync.rollingMoments(rm), false],
      ['sync.patternScores(K=4, D=8, B=1)', () => simd.sync.patternScores(ps), () => js.sync.patternScores(ps), false],
      ['sync.sgemm(4x4x4)', () => simd.sync.sgemm(gm), () => js.sync.sgemm(gm), false],
      ['async rollingMoments(16, W=4) (settled on the calling thread)', () => simd.rollingMoments(rm), () => js.rollingMoments(rm), true],
      ['noop()', () => simd.noop(), () => js.noop(), true],
    ];
    for (const [name, ours, peer, isAsync] of rows) {
      const { ours: o, peer: p } = await perCallNs(ours, peer, isAsync ? CALLS / 4 : CALLS, isAsync);
      results.push({ name: `overhead.${name}`, metric: 'median of 5 batches', unit: 'ns', value: o.med, peer: 'js reference backend', peerValue: p.med, note: `per call, ${isAsync ? CALLS / 4 : CALLS} calls a batch, ours and the peer's batches interleaved; batches: ours ${o.min}-${o.max} ns, peer ${p.min}-${p.max} ns` });
      log(`overhead ${name}: ours ${o.med} ns (${o.min}-${o.max}), js ${p.med} ns (${p.min}-${p.max})`);
    }
    // Off-thread path for the same tiny call: the cost of the N-API async worker hop.
    const hop = (await cpuSimdProvider.create({ threadPoolSize: THREADS, settings: { async_threshold: 0 } })) as CpuSimdBackend;
    const h = await perCallAloneNs(() => hop.rollingMoments(rm), 20_000, true);
    results.push({ name: 'overhead.async rollingMoments(16, W=4) forced off-thread', metric: 'median of 5 batches', unit: 'ns', value: h.med, note: `per call; batches ${h.min}-${h.max} ns; N-API async worker + Promise; why small calls stay on the calling thread` });
    log(`overhead forced off-thread: ${h.med} ns (${h.min}-${h.max})`);
    await hop.dispose();
  }

  const file = writeResults('cpu-simd', results, { backend: facts });
  log(`wrote ${file}`);
  await simd.dispose();
  await simd1.dispose();
  await js.dispose();
}

const jsBufs = new Map<string, ReturnType<JsComputeBackend['createBuffer']>>();
function jsBuf(js: JsComputeBackend, bytes: number, tag = 0): ReturnType<JsComputeBackend['createBuffer']> {
  const key = `${bytes}:${tag}`;
  let b = jsBufs.get(key);
  if (!b) jsBufs.set(key, (b = js.createBuffer(bytes)));
  return b;
}

/** The "plain JS loop" peer: sliding Float64 sums of x and x^2. */
function plainRolling(x: Float32Array, w: number, mean: Float32Array, variance: Float32Array): void {
  let s = 0;
  let q = 0;
  for (let i = 0; i < w; i++) {
    s += x[i]!;
    q += x[i]! * x[i]!;
  }
  const n = x.length - w + 1;
  for (let i = 0; ; i++) {
    const m = s / w;
    mean[i] = m;
    variance[i] = Math.max(q / w - m * m, 0);
    if (i + 1 >= n) break;
    const xin = x[i + w]!;
    const xout = x[i]!;
    s += xin - xout;
    q += xin * xin - xout * xout;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
