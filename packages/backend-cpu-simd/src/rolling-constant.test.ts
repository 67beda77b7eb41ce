// cpu-simd float32 rollingMoments: windows whose values are all equal (constant windows) must come
// out exact (mean = the value, variance 0) wherever they fall. The vector kernels count the
// breaks (x[j] != x[j-1]) of each window only in blocks of 64 outputs that may hold a constant
// window, found from a bit mask of equal pairs per block and a run of equal pairs carried from
// block to block (rolling_range in native/kernels_impl.h); a block judged wrongly would write
// such a window from the sliding sums. Here the values around the runs span six decades, so
// the sums do not reproduce a constant window exactly: a missed one shows as a mean off by an
// ulp or a variance that is not 0.
//
// The runs hold exactly W values (W - 1 equal pairs, one constant window), W + 1 (two), W - 1
// (none: every window is within tolerance and none is constant) and 3W + 70 (many, across
// several blocks and, for W > 64, whole 64-bit masks of equal pairs). Their first constant window
// falls on a block's first output, its last, one after the first, one before the last; three
// more sit around the second sub-chunk's start. Checked for every kernel set, synchronously (one
// task from output 0) and off-thread split into three tasks (other block alignments).
import { naiveRolling, seededRandom, skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider, type Isa } from './index.js';

const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

/** One backend per kernel set this machine supports: single-thread and two-thread off-thread. */
async function variants(ctx: TestContext): Promise<{ isa: Isa; one: CpuSimdBackend; split: CpuSimdBackend }[]> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const isas = String(p.available ? p.device.details?.supported : 'scalar').split(',') as Isa[];
  const out: { isa: Isa; one: CpuSimdBackend; split: CpuSimdBackend }[] = [];
  for (const isa of isas) {
    const one = (await cpuSimdProvider.create({ threadPoolSize: 1, settings: { isa } })) as CpuSimdBackend;
    const split = (await cpuSimdProvider.create({ threadPoolSize: 2, settings: { isa, async_threshold: 0 } })) as CpuSimdBackend;
    made.push(one, split);
    out.push({ isa, one, split });
  }
  return out;
}

const N = 40_000; // 3 off-thread tasks (one per 16384 outputs), two sub-chunks of 4096 or more
const SUB_CHUNK = 4096;

/** Noise over six decades with runs of equal values placed against block and sub-chunk edges. */
function seriesWithRuns(W: number, seed: number): { x: Float32Array; constantWindows: number } {
  const r = seededRandom(seed);
  const x = new Float32Array(N);
  const noisy = (): number => r.normal() * 10 ** (r.next() * 6 - 3);
  for (let i = 0; i < N; i++) x[i] = noisy();
  /** Values x[first .. first + len) equal: windows first .. first + len - W are constant. */
  const place = (first: number, len: number): void => {
    const v = noisy();
    for (let j = first; j < first + len && j < N; j++) x[j] = v;
  };
  // Windows c - 1, c and c + 1 around the second sub-chunk's start c (no restarts on this
  // series): the first sub-chunk's last output (after its last full vector), the exact window,
  // the first output of the vectors.
  const second = Math.max(SUB_CHUNK, 2 * W);
  place(second - 1, W + 2);
  const lengths = [W, W + 1, W - 1, 3 * W + 70];
  const offsets = [0, -1, 1, 62]; // from a block's first output (blocks start at 1 + 64 m)
  for (let k = 0, pos = 2 * W + 8; ; k++) {
    const block = 1 + 64 * Math.ceil((pos - 1) / 64);
    const first = block + offsets[k % offsets.length]!;
    const len = lengths[Math.floor(k / offsets.length) % lengths.length]!;
    if (first + len + W >= N) break;
    pos = first + len + W + 1 + 64 * (k % 3);
    if (first + len + W >= second - 1 && first <= second + 2 * W + 2) continue; // keep clear of it
    place(first, len);
  }
  let constantWindows = 0;
  const want = naiveRolling(x, N, W);
  for (let i = 0; i < want.variance.length; i++) if (want.variance[i] === 0) constantWindows++;
  return { x, constantWindows };
}

/** The first window that is wrong: constant windows exactly, the others within tolerance. */
function firstWrong(label: string, x: Float32Array, W: number, got: { mean: Float32Array; variance: Float32Array }): string {
  const want = naiveRolling(x, N, W);
  for (let i = 0; i < want.mean.length; i++) {
    let constant = true;
    for (let j = i + 1; j < i + W && constant; j++) constant = x[j] === x[i];
    if (constant) {
      if (got.mean[i] !== x[i] || got.variance[i] !== 0) {
        return `${label}: window ${i} holds ${W} copies of ${x[i]}, got mean ${got.mean[i]}, variance ${got.variance[i]}`;
      }
      continue;
    }
    const v = want.variance[i]!;
    const m = want.mean[i]!;
    if (!(got.variance[i]! >= 0 && Math.abs(got.variance[i]! - v) <= 1e-4 * (v + m * m))) {
      return `${label}: window ${i}: variance ${got.variance[i]}, two-pass ${v}`;
    }
    if (!(Math.abs(got.mean[i]! - m) <= 1e-4 * (Math.abs(m) + Math.sqrt(v)))) {
      return `${label}: window ${i}: mean ${got.mean[i]}, two-pass ${m}`;
    }
  }
  return '';
}

describe('cpu-simd rollingMoments: constant windows next to block and sub-chunk edges', () => {
  for (const W of [2, 3, 19, 20, 63, 64, 65, 66, 130, 300]) {
    it(`W=${W}: every constant window exact, every other within tolerance; sync and split off-thread, every kernel set`, async (ctx) => {
      const { x, constantWindows } = seriesWithRuns(W, 1000 + W);
      // The series does what it claims: many constant windows to get right.
      expect(constantWindows).toBeGreaterThan(50);
      for (const { isa, one, split } of await variants(ctx)) {
        const sync = one.sync.rollingMoments({ series: x, length: N, window: W });
        expect(firstWrong(`${isa} sync`, x, W, sync)).toBe('');
        const off = await split.rollingMoments({ series: x, length: N, window: W });
        expect(firstWrong(`${isa} off-thread, 3 tasks`, x, W, off)).toBe('');
      }
    });
  }
});
