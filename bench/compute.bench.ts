/**
 * `pnpm bench compute`: float64 rolling mean (simple moving average) on 1M prices, one thread:
 * the CPU SIMD backend's `rollingMoments64({ meanOnly: true })` against a plain JS sliding-sum
 * loop into a preallocated Float64Array, on the same input (goal: >= 3x the loop). Also, for
 * context: the loop multiplying by 1/W instead of dividing, CPU SIMD mean + variance, and the
 * float32 path a Float64 user had before (convert into a preallocated Float32Array, then
 * `rollingMoments`).
 *
 * Fairness: every measurement runs in a fresh process (no JIT or allocator state shared between
 * contenders), processes of the different contenders are interleaved round by round (load on a
 * shared machine hits all alike), each process warms up before timing, outputs go into arrays
 * allocated once, and the input is the same deterministic series everywhere. Reported: wall p10 /
 * p50 / p90 of all timed runs per contender with the ratios at p50 and p10, and the median
 * process CPU time per run (which leaves out time the process spent preempted: on a shared,
 * overloaded machine a longer run is preempted more often, which inflates the wall p50 ratio).
 * Env: COMPUTE_ROUNDS (fresh processes per contender, default 6), COMPUTE_RUNS (timed runs per
 * process, default 40), COMPUTE_WINDOWS (comma-separated, default 20,200,3000), COMPUTE_ISA
 * (the CPU SIMD kernel set, e.g. avx2 on an AVX-512 host, to measure what an AVX2-only host
 * runs; default: the best the CPU has). Writes bench/results/compute.json, or
 * compute-<isa>.json when COMPUTE_ISA is set. COMPUTE_REPEAT: the probability that a tick
 * repeats the previous price (default 0.4; trade prints repeat far more often), which decides
 * how predictable the kernel's run tracking is; a non-default value adds `-repeat<p>` to the
 * file name.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { log, machine, writeResults, type BenchResult } from './lib/harness.js';

const N = 1_000_000;
const WINDOWS = (process.env.COMPUTE_WINDOWS ?? '20,200,3000').split(',').map(Number);
for (const w of WINDOWS) if (!Number.isInteger(w) || w < 1 || w > N) throw new Error(`COMPUTE_WINDOWS: ${w} is not a window length in 1..${N}`);
const ROUNDS = Number(process.env.COMPUTE_ROUNDS ?? 6);
const RUNS = Number(process.env.COMPUTE_RUNS ?? 40);
const WARMUP = 15;
const ISA = process.env.COMPUTE_ISA;
const REPEAT = Number(process.env.COMPUTE_REPEAT ?? 0.4);
if (!(REPEAT >= 0 && REPEAT < 1)) throw new Error(`COMPUTE_REPEAT: ${process.env.COMPUTE_REPEAT} is not a probability in [0, 1)`);

type Contender = 'js-loop' | 'js-loop-mul' | 'simd-mean' | 'simd-mean-var' | 'f32-convert';
const CONTENDERS: Contender[] = ['js-loop', 'simd-mean', 'js-loop-mul', 'simd-mean-var', 'f32-convert'];

/** 1M prices near 30000 moving by whole ticks of 0.01 (the same series in every process); a tick repeats the price with probability REPEAT. */
function prices(n: number): Float64Array {
  let s = 12345;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const x = new Float64Array(n);
  let ticks = 0;
  for (let i = 0; i < n; i++) {
    const u = next();
    if (u < (1 - REPEAT) / 2) ticks--;
    else if (u >= (1 + REPEAT) / 2) ticks++;
    x[i] = 30000.5 + ticks * 0.01;
  }
  return x;
}

/** The plain loop a user would write: sliding sum, divide by W, into a preallocated array. */
function jsLoop(x: Float64Array, n: number, w: number, out: Float64Array): void {
  let s = 0;
  for (let j = 0; j < w; j++) s += x[j];
  out[0] = s / w;
  for (let i = 1; i <= n - w; i++) {
    s += x[i + w - 1] - x[i - 1];
    out[i] = s / w;
  }
}

function jsLoopMul(x: Float64Array, n: number, w: number, out: Float64Array): void {
  const inv = 1 / w;
  let s = 0;
  for (let j = 0; j < w; j++) s += x[j];
  out[0] = s * inv;
  for (let i = 1; i <= n - w; i++) {
    s += x[i + w - 1] - x[i - 1];
    out[i] = s * inv;
  }
}

async function child(contender: Contender, w: number): Promise<void> {
  const x = prices(N);
  const mean = new Float64Array(N - w + 1);
  const variance = new Float64Array(N - w + 1);
  let run: () => void;
  let info = '';
  let check = (): number => mean[12345]!;
  if (contender === 'js-loop') run = () => jsLoop(x, N, w, mean);
  else if (contender === 'js-loop-mul') run = () => jsLoopMul(x, N, w, mean);
  else {
    const { cpuSimdProvider } = await import('../packages/backend-cpu-simd/dist/index.js');
    const probe = await cpuSimdProvider.probe();
    if (!probe.available) {
      process.stdout.write(JSON.stringify({ unavailable: probe.reason }) + '\n');
      return;
    }
    const backend = await cpuSimdProvider.create({ threadPoolSize: 1, ...(ISA ? { settings: { isa: ISA } } : {}) });
    const sync = backend.sync!;
    info = String(backend.device.details?.simd ?? '');
    if (contender === 'simd-mean') run = () => void sync.rollingMoments64!({ series: x, length: N, window: w, meanOnly: true, out: { mean } });
    else if (contender === 'simd-mean-var') run = () => void sync.rollingMoments64!({ series: x, length: N, window: w, out: { mean, variance } });
    else {
      const f32 = new Float32Array(N);
      const m32 = new Float32Array(N - w + 1);
      const v32 = new Float32Array(N - w + 1);
      check = () => m32[12345]!;
      run = () => {
        f32.set(x);
        sync.rollingMoments({ series: f32, length: N, window: w, out: { mean: m32, variance: v32 } });
      };
    }
  }
  for (let i = 0; i < WARMUP; i++) run();
  const ms: number[] = [];
  const cpuMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  process.stdout.write(JSON.stringify({ ms, cpuMs, info, check: check() }) + '\n');
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))]!;
}

async function parent(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const results: BenchResult[] = [];
  const summary: Record<string, unknown> = {};
  log(`compute: float64 rolling mean, N = ${N}, 1 thread, ${ROUNDS} interleaved fresh processes x ${RUNS} timed runs per contender`);
  for (const w of WINDOWS) {
    const samples = new Map<Contender, number[]>(CONTENDERS.map((c) => [c, []]));
    const cpuSamples = new Map<Contender, number[]>(CONTENDERS.map((c) => [c, []]));
    const checks = new Map<Contender, number>();
    let isa = '';
    let unavailable: string | undefined;
    for (let r = 0; r < ROUNDS && unavailable === undefined; r++) {
      // Rotate the order each round so no contender always runs first or last.
      const order = CONTENDERS.map((_, i) => CONTENDERS[(i + r) % CONTENDERS.length]!);
      for (const c of order) {
        const p = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', c, String(w)], { encoding: 'utf8', env: process.env });
        if (p.status !== 0) throw new Error(`child ${c} failed: ${p.stderr}`);
        const out = JSON.parse(p.stdout.trim().split('\n').pop()!) as { ms?: number[]; cpuMs?: number[]; info?: string; check?: number; unavailable?: string };
        if (out.unavailable !== undefined) {
          unavailable = out.unavailable;
          break;
        }
        samples.get(c)!.push(...out.ms!);
        cpuSamples.get(c)!.push(...out.cpuMs!);
        checks.set(c, out.check!);
        if (out.info) isa = out.info;
      }
    }
    if (unavailable !== undefined) {
      log(`  W=${w}: cpu-simd unavailable (${unavailable}); no comparison`);
      results.push({ name: `rolling mean float64 W=${w}`, metric: 'unavailable', unit: '', value: 0, note: unavailable });
      continue;
    }
    const stats = new Map<Contender, { p10: number; p50: number; p90: number; cpu50: number }>();
    for (const [c, xs] of samples) {
      const s = [...xs].sort((a, b) => a - b);
      const cs = [...cpuSamples.get(c)!].sort((a, b) => a - b);
      stats.set(c, { p10: pct(s, 0.1), p50: pct(s, 0.5), p90: pct(s, 0.9), cpu50: pct(cs, 0.5) });
    }
    const baseCpu = stats.get('js-loop')!.cpu50;
    const base = stats.get('js-loop')!.p50;
    const base10 = stats.get('js-loop')!.p10;
    // Same input, same answer: the mean at one index agrees to 1e-9 between all contenders.
    const ref = checks.get('js-loop')!;
    for (const [c, v] of checks) if (Math.abs(v - ref) > 1e-9 * Math.abs(ref) + (c === 'f32-convert' ? 1e-2 : 0)) throw new Error(`${c} disagrees: ${v} vs ${ref}`);
    log(`  W=${w} (cpu-simd kernel set: ${isa}):`);
    for (const c of CONTENDERS) {
      const s = stats.get(c)!;
      const speedup = base / s.p50;
      log(`    ${c.padEnd(14)} wall p10 ${s.p10.toFixed(3)} / p50 ${s.p50.toFixed(3)} / p90 ${s.p90.toFixed(3)} ms (${speedup.toFixed(2)}x at p50, ${(base10 / s.p10).toFixed(2)}x at p10)  cpu p50 ${s.cpu50.toFixed(3)} ms (${(baseCpu / s.cpu50).toFixed(2)}x)`);
      results.push({
        name: `rolling mean float64 1M W=${w}: ${c}`,
        metric: 'p50 ms',
        unit: 'ms',
        value: Math.round(s.p50 * 1000) / 1000,
        peer: 'plain JS loop (divide) into a preallocated Float64Array',
        peerValue: Math.round(base * 1000) / 1000,
        note: `wall p10 ${s.p10.toFixed(3)} / p90 ${s.p90.toFixed(3)} ms; ${(base / s.p50).toFixed(2)}x at p50, ${(base10 / s.p10).toFixed(2)}x at p10; process CPU time p50 ${s.cpu50.toFixed(3)} ms (${(baseCpu / s.cpu50).toFixed(2)}x); ${ROUNDS} fresh processes x ${RUNS} runs; kernel set ${isa}`,
      });
    }
    const m = stats.get('simd-mean')!;
    summary[`W${w}`] = { speedupWallP50: base / m.p50, speedupWallP10: base10 / m.p10, speedupCpuP50: baseCpu / m.cpu50, goal: 3, isa };
  }
  const file = writeResults(`compute${ISA ? `-${ISA}` : ''}${REPEAT !== 0.4 ? `-repeat${REPEAT}` : ''}`, results, { summary, setup: { N, windows: WINDOWS, rounds: ROUNDS, runs: RUNS, warmup: WARMUP, threads: 1, repeat: REPEAT, isa: ISA ?? 'best' } });
  log(`compute: wrote ${file} (${machine().cpu})`);
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1] as Contender, Number(process.argv[i + 2]));
else await parent();
