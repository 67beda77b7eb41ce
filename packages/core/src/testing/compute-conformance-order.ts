/**
 * The call-order section of the compute conformance suite (called by describeComputeConformance):
 * the contract's "Order" (docs/writing-a-compute-backend.md). Calls on one backend take effect
 * in call order, awaited or not, whether they meet through DeviceBuffers or through host arrays:
 * a call reading bytes an earlier un-awaited call writes reads them written (two
 * `sgemm(c += A B)` on one host `c` add both products), a call takes its other inputs as they
 * were when it was called, and two calls writing the same bytes leave the later one's result.
 *
 * Every scenario is written once and run twice: on the backend under test and on the oracle,
 * whose async calls complete before they return (so un-awaited is one after the other). The
 * backend's results must match the oracle's: exactly where the data keeps float32 arithmetic
 * exact (sums of small integers), within the suite's tolerances elsewhere. Stale data (an input
 * read before an earlier call wrote it, an older result landing last) is far outside either.
 *
 * Sizes: the first call of a scenario is large enough (M^3 = 2M multiply-adds, or a 64K-value
 * series) that a CPU backend computing large calls off the JS thread (cpu-simd's
 * async_threshold) runs it on a worker, so the calls after it queue; a backend that completes
 * calls before they return (the oracle, a simple JS backend) passes trivially. Each test skips,
 * visibly, where the backend does not declare a kernel it needs.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { expectArgumentError, fail, isComputeArgumentError } from './compute-checks.js';
import type { ComputeBackend, DeviceBuffer, KernelName, MonteCarloVaRArgs, MonteCarloVaRResult, RollingMomentsResult } from '../contracts/compute.js';

export interface OrderSectionContext {
  /** The backend under test, or a visible skip (unavailable, or a listed kernel not declared). */
  use(ctx: TestContext, ...kernels: KernelName[]): ComputeBackend;
  /** A second instance of the backend under test, for dispose(); the test disposes it. */
  create(): Promise<ComputeBackend>;
  /** The oracle: every scenario also runs on it. */
  readonly ref: ComputeBackend;
  /** The suite's checks: rolling moments, patternScores scores and VaR results within its tolerances. */
  checkRolling(label: string, got: RollingMomentsResult, want: RollingMomentsResult): void;
  checkScores(label: string, got: Float32Array, want: Float32Array): void;
  checkVaR(label: string, got: MonteCarloVaRResult, want: MonteCarloVaRResult): void;
}

/** Rows, columns and depth of the large sgemm calls (M^3 = 2M multiply-adds). */
const M = 128;
/** Length of the large rollingMoments series (cpu-simd: 8 operations a value, above its 262144). */
const N = 1 << 16;

const filled = (n: number, v: number): Float32Array => new Float32Array(n).fill(v);
const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i);

/** Every element of `x` is `v`, or a message naming how many are not and the first. */
function expectEvery(label: string, x: ArrayLike<number>, v: number): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== v) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) fail(`${label}: ${bad} of ${x.length} elements are not ${v}; first at ${first}: ${x[first]}`);
}

/** `got` holds exactly the oracle's values (data on which float32 arithmetic is exact). */
function expectSame(label: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) fail(`${label}: ${bad} of ${want.length} elements differ from the oracle run in call order; first at ${first}: got ${got[first]}, expected ${want[first]}`);
}

/** Runs `body` with buffers of the given byte sizes, freeing those the body did not free. */
async function withBuffers<R>(b: ComputeBackend, sizes: readonly number[], body: (bufs: DeviceBuffer[]) => Promise<R>): Promise<R> {
  const bufs = sizes.map((bytes) => b.createBuffer(bytes));
  try {
    return await body(bufs);
  } finally {
    for (const buf of bufs) {
      try {
        b.freeBuffer(buf);
      } catch {
        // freed by the scenario
      }
    }
  }
}

/** A large sgemm on arrays of its own (ones x ones: M everywhere): work the calls after it queue behind. */
function head(b: ComputeBackend): { done: Promise<void>; c: Float32Array } {
  const c = new Float32Array(M * M);
  return { done: b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c }), c };
}

export function describeOrderSection(c: OrderSectionContext): void {
  /** Runs `scenario` on the backend under test, then on the oracle. */
  async function both<R>(backend: ComputeBackend, scenario: (b: ComputeBackend) => Promise<R>): Promise<{ got: R; want: R }> {
    const got = await scenario(backend);
    const want = await scenario(c.ref);
    return { got, want };
  }

  describe('order', () => {
    // -----------------------------------------------------------------------------------------
    // Through DeviceBuffers.

    it('a kernel called after an un-awaited upload reads the uploaded data; a download called after an un-awaited kernel reads its result', async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [M * M * 4, M * M * 4], async ([aBuf, cBuf]) => {
          const host = filled(M * M, -1);
          await Promise.all([
            b.upload(aBuf!, filled(M * M, 1)),
            b.upload(cBuf!, filled(M * M, 5)),
            b.sgemm({ m: M, n: M, k: M, a: aBuf!, b: filled(M * M, 1), c: cBuf!, beta: 1 }), // 5 + M
            b.download(cBuf!, host),
          ]);
          return host;
        }),
      );
      expectEvery('oracle', want, 5 + M);
      expectSame('C downloaded after the sgemm', got, want);
    });

    it("an upload called after an un-awaited kernel does not change that kernel's input, and lands after it", async (ctx) => {
      const backend = c.use(ctx, 'rollingMoments');
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [N * 4], async ([buf]) => {
          await b.upload(buf!, Float32Array.from({ length: N }, (_, i) => Math.sin(i / 10)));
          const back = new Float32Array(N);
          const [stats] = await Promise.all([
            b.rollingMoments({ series: buf!, length: N, window: 50 }),
            b.upload(buf!, filled(N, 1000)), // after the kernel in call order
            b.download(buf!, back),
          ]);
          return { stats, back };
        }),
      );
      c.checkRolling('windows computed on data uploaded after the call', got.stats, want.stats);
      expectEvery('the upload, downloaded after it', got.back, 1000);
    });

    it('async kernels run one after the other through buffers: the second reads what the first wrote, a small call after both reads the second', async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'rollingMoments');
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [M * M * 4, M * M * 4], async ([c1, c2]) => {
          const host = new Float32Array(M * M);
          const [, , small] = await Promise.all([
            b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: c1! }), // C1 = M
            b.sgemm({ m: M, n: M, k: M, a: c1!, b: filled(M * M, 1), c: c2! }), // C2 = C1 x ones = M * M
            b.rollingMoments({ series: c2!, length: 8, window: 8 }),
            b.download(c2!, host),
          ]);
          return { host, small };
        }),
      );
      expectEvery('oracle', want.host, M * M);
      expectSame('C2', got.host, want.host);
      c.checkRolling('a small rollingMoments over C2', got.small, want.small);
    });

    it('copy called after an un-awaited kernel copies its result', async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'copy');
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [M * M * 4, M * M * 4], async ([cBuf, dBuf]) => {
          const host = new Float32Array(M * M);
          await Promise.all([
            b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: cBuf! }),
            b.copy(cBuf!, dBuf!, M * M * 4),
            b.download(dBuf!, host),
          ]);
          return host;
        }),
      );
      expectEvery('oracle', want, M);
      expectSame('the copy of C', got, want);
    });

    it('freeBuffer after an un-awaited kernel: the kernel completes on the memory; later calls see the buffer freed', async (ctx) => {
      const backend = c.use(ctx, 'rollingMoments');
      const { got, want } = await both(backend, async (b) => {
        const series = b.createBuffer(N * 4);
        await b.upload(series, Float32Array.from({ length: N }, (_, i) => 3 + Math.cos(i / 7)));
        const p = b.rollingMoments({ series, length: N, window: 16 });
        b.freeBuffer(series);
        await expectArgumentError('a kernel called after freeBuffer', () => b.rollingMoments({ series, length: 16, window: 4 }));
        await expectArgumentError('a download called after freeBuffer', () => b.download(series, new Float32Array(4)));
        return p;
      });
      c.checkRolling('the kernel called before freeBuffer', got, want);
    });

    it('dispose() waits for the calls made before it', async (ctx) => {
      c.use(ctx, 'sgemm');
      const b = await c.create();
      let disposed = false;
      try {
        const cBuf = b.createBuffer(M * M * 4);
        const host = new Float32Array(M * M);
        const hostC = filled(M * M, 1);
        const calls = [
          b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: cBuf }),
          b.download(cBuf, host),
          b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: hostC, beta: 1 }),
        ];
        await b.dispose();
        disposed = true;
        await Promise.all(calls);
        expectEvery('C downloaded before dispose()', host, M);
        expectEvery('a host C written by a call before dispose()', hostC, 1 + 2 * M);
      } finally {
        if (!disposed) await b.dispose();
      }
    });

    // -----------------------------------------------------------------------------------------
    // Through host arrays: a call reading bytes an earlier un-awaited call writes reads them at
    // its turn, after that call's results land (the earlier call's output array or any other
    // view of those bytes); everything else it takes as it was when called.

    it('two accumulating sgemm calls on one host C (beta = 1) add both products; a small third on its corner adds after them', async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const { got, want } = await both(backend, async (b) => {
        const ones = filled(M * M, 1);
        const cHost = filled(M * M, 3);
        await Promise.all([
          b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c: cHost, beta: 1 }),
          b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c: cHost, beta: 1 }),
          b.sgemm({ m: 2, n: 2, k: 2, a: ones, b: ones, c: cHost, beta: 1 }), // C[0..4) as a 2 x 2 matrix
        ]);
        return cHost;
      });
      expectEvery('oracle: the 2 x 2 corner', want.subarray(0, 4), 3 + 2 * M + 2);
      expectEvery('oracle: the rest', want.subarray(4), 3 + 2 * M);
      expectSame('C after three accumulating calls', got, want);
    });

    it("a kernel reading an earlier kernel's host output reads it written (the same array or another view of its bytes); bytes beside it as they were at the call", async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const { got, want } = await both(backend, async (b) => {
        const ones = filled(M * M, 1);
        const mem = new ArrayBuffer(2 * M * M * 4);
        const tmp = new Float32Array(mem, 0, M * M); // zeros until the first sgemm writes M everywhere
        const sameBytes = new Float32Array(mem, 0, M * M); // another view of what tmp covers
        const beside = new Float32Array(mem, M * M * 4, M * M).fill(2); // the same ArrayBuffer, written by no call
        const out1 = new Float32Array(M * M), out2 = new Float32Array(M * M), out3 = new Float32Array(M * M);
        const calls: Promise<unknown>[] = [
          b.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c: tmp }),
          b.sgemm({ m: M, n: M, k: M, a: tmp, b: ones, c: out1 }), // tmp x ones = M * M
          b.sgemm({ m: M, n: M, k: M, a: sameBytes, b: ones, c: out2 }),
          b.sgemm({ m: M, n: M, k: M, a: beside, b: ones, c: out3 }), // 2 M: beside as at the call
        ];
        beside.fill(7); // after the call
        await Promise.all(calls);
        return { tmp, out1, out2, out3 };
      });
      expectEvery('oracle: tmp', want.tmp, M);
      expectEvery('oracle: from tmp', want.out1, M * M);
      expectEvery('oracle: from beside', want.out3, 2 * M);
      expectSame('tmp', got.tmp, want.tmp);
      expectSame('computed from tmp (stale: written before the first call wrote it)', got.out1, want.out1);
      expectSame('computed from another view of tmp', got.out2, want.out2);
      expectSame('computed from bytes beside tmp (stale: changed after the call)', got.out3, want.out3);
    });

    it("a small rollingMoments over a view of an un-awaited kernel's host output reads it written", async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'rollingMoments');
      const { got, want } = await both(backend, async (b) => {
        const mem = new ArrayBuffer(M * M * 4);
        const tmp = new Float32Array(mem);
        const [, small] = await Promise.all([
          b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: tmp }),
          b.rollingMoments({ series: new Float32Array(mem, 4, 8), length: 8, window: 8 }), // M at its turn
        ]);
        return small;
      });
      expectEvery('oracle', want.mean, M);
      c.checkRolling('windows over the view', got, want);
    });

    it("kernels and uploads reading a download's destination read it downloaded; an upload from an un-awaited kernel's host output carries that output", async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const rolling = backend.capabilities.kernels.includes('rollingMoments');
      const scores = backend.capabilities.kernels.includes('patternScores');
      const R = 256;
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [M * M * 4, M * M * 4, M * M * 4, R * 4], async ([cBuf, copyBuf, tmpBuf, rampBuf]) => {
          await b.upload(rampBuf!, ramp(R));
          const host = new Float32Array(M * M); // zeros until the download of C lands
          const rampHost = new Float32Array(R); // zeros (a constant row, scores 0) until its download lands
          const tmp = new Float32Array(M * M); // zeros until the second sgemm writes 2 M
          const back = new Float32Array(M * M), tmpBack = new Float32Array(M * M);
          const sgemm = b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: cBuf! }); // C = M
          const dl = b.download(cBuf!, host);
          const dlRamp = b.download(rampBuf!, rampHost);
          const stats = rolling ? b.rollingMoments({ series: host, length: M * M, window: 4 }) : undefined;
          const rampStats = rolling ? b.rollingMoments({ series: rampHost, length: R, window: R }) : undefined;
          const found = scores ? b.patternScores({ stored: rampHost, storedCount: 1, dim: R, queries: rampHost, queryCount: 1, topK: 1 }) : undefined;
          const up = b.upload(copyBuf!, host);
          const dlBack = b.download(copyBuf!, back);
          const product = b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: tmp });
          const upTmp = b.upload(tmpBuf!, tmp); // must carry the product, not zeros
          const dlTmp = b.download(tmpBuf!, tmpBack);
          await Promise.all([sgemm, dl, dlRamp, up, dlBack, product, upTmp, dlTmp]);
          return { host, back, tmpBack, stats: await stats, rampStats: await rampStats, found: await found };
        }),
      );
      expectEvery('oracle: the download of C', want.host, M);
      expectEvery('oracle: the upload of the product', want.tmpBack, 2 * M);
      expectSame('the download of C', got.host, want.host);
      expectSame('bytes uploaded from the download destination (stale: before the download wrote it)', got.back, want.back);
      expectSame("bytes uploaded from an un-awaited kernel's host output", got.tmpBack, want.tmpBack);
      if (got.stats && want.stats && got.rampStats && want.rampStats) {
        c.checkRolling('rollingMoments over the download destination', got.stats, want.stats);
        c.checkRolling('rollingMoments over the downloaded ramp', got.rampStats, want.rampStats);
      }
      if (got.found && want.found) {
        expect(want.found.scores[0]).toBeCloseTo(1, 5);
        c.checkScores('patternScores over the downloaded ramp (0 on the zeros before it)', got.found.scores.subarray(0, 1), want.found.scores.subarray(0, 1));
      }
    });

    it("an sgemm reads patternScores' out arrays as the earlier un-awaited call wrote them", async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'patternScores');
      const D = 8;
      const { got, want } = await both(backend, async (b) => {
        const h = head(b);
        const stored = Float32Array.from({ length: 4 * D }, (_, i) => Math.sin(i * 0.7));
        const out = { indices: new Int32Array(4), scores: new Float32Array(4) }; // zeros until written
        const sum = new Float32Array(1);
        await Promise.all([
          h.done,
          b.patternScores({ stored, storedCount: 4, dim: D, queries: stored.subarray(0, D), queryCount: 1, topK: 4, out }),
          b.sgemm({ m: 1, n: 1, k: 4, a: out.scores, b: filled(4, 1), c: sum }),
        ]);
        return { head: h.c, scores: out.scores, sum };
      });
      expectEvery('the first call', got.head, M);
      expect(want.scores[0]).toBeCloseTo(1, 5);
      c.checkScores('scores', got.scores, want.scores);
      const own = got.scores.reduce((s, x) => s + x, 0);
      if (!(Math.abs(got.sum[0]! - own) <= 1e-5)) fail(`the sum of the scores: got ${got.sum[0]}, the scores add to ${own} (zeros before patternScores wrote them: 0)`);
    });

    it("an sgemm reads rollingMoments' out arrays as the earlier un-awaited call wrote them", async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'rollingMoments');
      const { got, want } = await both(backend, async (b) => {
        const h = head(b);
        const series = ramp(20);
        const moments = { mean: new Float32Array(16), variance: new Float32Array(16) }; // zeros until written
        const meanSum = new Float32Array(1);
        await Promise.all([
          h.done,
          b.rollingMoments({ series, length: 20, window: 5, out: moments }), // means 2, 3, ..., 17
          b.sgemm({ m: 1, n: 1, k: 16, a: moments.mean, b: filled(16, 1), c: meanSum }),
        ]);
        return { head: h.c, moments, meanSum };
      });
      expectEvery('the first call', got.head, M);
      c.checkRolling('moments', got.moments, want.moments);
      expect(want.meanSum[0]).toBe(16 * 9.5);
      const own = got.moments.mean.reduce((s, x) => s + x, 0);
      if (!(Math.abs(got.meanSum[0]! - own) <= 1e-3)) fail(`the sum of the means: got ${got.meanSum[0]}, the means add to ${own} (zeros before rollingMoments wrote them: 0)`);
    });

    it('monteCarloVaR reads a factor an un-awaited sgemm writes (NaN before it), as the oracle run in order does', async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'monteCarloVaR');
      const { got, want } = await both(backend, async (b) => {
        const h = head(b);
        const factor = filled(4, Number.NaN); // rejected (not finite) if read at the call
        const scale = Float32Array.of(0.01, 0, 0, 0.02);
        const args: MonteCarloVaRArgs = { means: Float32Array.of(0, 0), factor, assets: 2, factors: 2, weights: Float32Array.of(100, 50), paths: 1000, confidence: 0.95, seed: 3 };
        const [, , result] = await Promise.all([
          h.done,
          b.sgemm({ m: 2, n: 2, k: 2, a: scale, b: Float32Array.of(1, 0, 0, 1), c: factor }),
          b.monteCarloVaR(args),
        ]);
        return { head: h.c, factor, result };
      });
      expectEvery('the first call', got.head, M);
      expectSame('the factor', got.factor, want.factor);
      c.checkVaR('VaR over the factor written by the sgemm', got.result, want.result);
    });

    it('a call that waits takes its other inputs as they were at the call; calls made while it waits keep call order', async (ctx) => {
      const backend = c.use(ctx, 'sgemm', 'rollingMoments');
      const { got, want } = await both(backend, async (b) => {
        // The second sgemm waits for tmp, which the first writes; its A (5s), which no call
        // writes, is changed by the caller after the call: it must compute on the 5s.
        const tmp = new Float32Array(M * M);
        const other = filled(M * M, 5);
        const dev = b.createBuffer(M * M * 4);
        let freed = false;
        try {
          await b.upload(dev, filled(M * M, 1));
          const out = new Float32Array(M * M);
          const calls: Promise<unknown>[] = [
            b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: tmp }), // tmp = M
            b.sgemm({ m: M, n: M, k: M, a: other, b: tmp, c: out }), // 5 x M x M
          ];
          other.fill(-1);
          // Made while the second sgemm waits for its turn: they queue behind it, in call order.
          const stats = b.rollingMoments({ series: dev, length: M * M, window: M * M }); // reads the 1s
          calls.push(b.upload(dev, filled(M * M, 9)));
          b.freeBuffer(dev); // at once for later calls; the calls above complete on its memory
          freed = true;
          await Promise.all(calls);
          return { out, stats: await stats };
        } finally {
          if (!freed) b.freeBuffer(dev);
        }
      });
      expectEvery('oracle', want.out, 5 * M * M);
      expectSame('computed from tmp as written and A as at the call', got.out, want.out);
      c.checkRolling('rollingMoments called before the upload', got.stats, want.stats);
    });

    it('sgemm with alpha = 0 over an A still being written (and NaN in B) gives beta C; the calls around it keep their order', async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const { got, want } = await both(backend, async (b) => {
        const a = filled(M * M, Number.NaN); // an earlier call writes a; alpha = 0 does not read it
        const cHost = filled(M * M, 4);
        const z = filled(M * M, Number.NaN);
        await Promise.all([
          b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: a }),
          b.sgemm({ m: M, n: M, k: M, a, b: filled(M * M, Number.NaN), c: cHost, alpha: 0, beta: 0.5 }),
          b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 2), c: z }),
        ]);
        return { a, cHost, z };
      });
      expectEvery('oracle: C', want.cHost, 2);
      expectSame('A', got.a, want.a);
      expectSame('C = beta C', got.cHost, want.cHost);
      expectSame('the call after', got.z, want.z);
    });

    it("two calls writing the same host bytes leave the later one's result", async (ctx) => {
      const backend = c.use(ctx, 'sgemm');
      const rolling = backend.capabilities.kernels.includes('rollingMoments');
      const half = (M * M) / 2;
      const { got, want } = await both(backend, (b) =>
        withBuffers(b, [half * 4, 16 * 4], async ([sevens, nines]) => {
          await b.upload(sevens!, filled(half, 7));
          await b.upload(nines!, filled(16, 9));
          const x = new Float32Array(M * M);
          const calls: Promise<unknown>[] = [
            b.sgemm({ m: M, n: M, k: M, a: filled(M * M, 1), b: filled(M * M, 1), c: x }), // x = M (large: lands last unless ordered)
            b.download(sevens!, x.subarray(half)), // second half 7
            b.sgemm({ m: 2, n: 2, k: 2, a: filled(4, 1), b: filled(4, 2), c: x.subarray(0, 4) }), // x[0..4) = 4
            b.download(nines!, x.subarray(half, half + 16)), // 9 over the 7s
          ];
          // x[8..24) = 0: the means of a constant zero series, over the sgemm's M.
          if (rolling) calls.push(b.rollingMoments({ series: new Float32Array(20), length: 20, window: 5, out: { mean: x.subarray(8, 24), variance: new Float32Array(16) } }));
          await Promise.all(calls);
          return x;
        }),
      );
      expectEvery('oracle: the small sgemm', want.subarray(0, 4), 4);
      expectEvery('oracle: the later download', want.subarray(half, half + 16), 9);
      expectEvery('oracle: the first download', want.subarray(half + 16), 7);
      expectSame('bytes written by several calls', got, want);
    });

    it('a host array detached while a call writing it and one reading it are pending: each resolves as in call order or rejects with ComputeArgumentError', async (ctx) => {
      // A backend that computes a call before it returns has written tmp and read it already; one
      // that writes host outputs at completion must not write into a detached array (the writer
      // rejects, naming it), and the reader, whose input is read at its turn, cannot read it.
      const backend = c.use(ctx, 'sgemm');
      const ones = filled(M * M, 1);
      const tmp = new Float32Array(M * M);
      const out = new Float32Array(M * M);
      const writer = backend.sgemm({ m: M, n: M, k: M, a: ones, b: ones, c: tmp });
      const reader = backend.sgemm({ m: M, n: M, k: M, a: tmp, b: ones, c: out });
      structuredClone(tmp.buffer, { transfer: [tmp.buffer] });
      const [w, r] = await Promise.allSettled([writer, reader]);
      for (const [name, s] of [['the writer', w], ['the reader', r]] as const) {
        if (s.status === 'rejected' && !isComputeArgumentError(s.reason)) {
          const e = s.reason as unknown;
          fail(`${name}: expected it to resolve or reject with a ComputeArgumentError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
      }
      if (r.status === 'fulfilled') expectEvery('the reader resolved: computed from tmp as the writer wrote it', out, M * M);
      // The backend goes on working.
      const after = new Float32Array(M * M);
      await backend.sgemm({ m: M, n: M, k: M, a: ones, b: filled(M * M, 3), c: after });
      expectEvery('a later call', after, 3 * M);
    });
  });
}
