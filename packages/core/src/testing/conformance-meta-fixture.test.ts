/**
 * FIXTURE for conformance-meta.test.ts, which runs it in a child vitest with
 * CWTS_CONFORMANCE_META set; in an ordinary run it registers one empty test.
 *
 * 'compute': the public compute conformance suite against the oracle (JsComputeBackend) with ONE
 * deliberate defect each, defects a native or GPU backend could plausibly have:
 *   broken-alias     sgemm / rollingMoments compute in place when an output overlaps an input
 *   broken-syncview  the sync kernels read host views from byte 0 of their buffer
 *   broken-syncnan   the sync kernels read NaN / Infinity as 0
 * 'repeat-trade': the malformed-input section against the TinyEx example's frame harness with
 * its trade-id guard replaced by one that only refuses non-positive and far-ahead ids (a repeated
 * trade is emitted again); CWTS_CONFORMANCE_META_HARNESS names that module.
 */
import { JsComputeBackend } from '../compute/js-backend.js';
import type { ComputeBackend, ComputeBackendProvider, PatternScoresArgs, RollingMomentsArgs, RollingMomentsResult, SgemmArgs } from '../contracts/compute.js';
import { it } from 'vitest';
import { describeComputeConformance } from './compute-conformance.js';
import { describeMalformedInput } from './malformed-input.js';

const overlaps = (x: unknown, y: unknown): boolean => {
  if (!ArrayBuffer.isView(x) || !ArrayBuffer.isView(y) || x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
};

/** In-place triple loop with no alias check (what a native kernel writing C directly does). */
function sgemmInPlace(a: SgemmArgs): void {
  const A = a.a as Float32Array, B = a.b as Float32Array, C = a.c as Float32Array;
  const alpha = a.alpha ?? 1, beta = a.beta ?? 0;
  for (let i = 0; i < a.m; i++) for (let j = 0; j < a.n; j++) {
    let s = 0;
    for (let p = 0; p < a.k; p++) s += A[i * a.k + p]! * B[p * a.n + j]!;
    C[i * a.n + j] = alpha * s + (beta === 0 ? 0 : beta * C[i * a.n + j]!);
  }
}

/** Window-by-window, writing each output as it goes, with no alias check. */
function rollingInPlace(a: RollingMomentsArgs): RollingMomentsResult {
  const x = a.series as Float32Array, W = a.window, n = a.length - W + 1;
  const mean = a.out!.mean, variance = a.out!.variance;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i; j < i + W; j++) s += x[j]!;
    const m = s / W;
    let v = 0;
    for (let j = i; j < i + W; j++) v += (x[j]! - m) ** 2;
    mean[i] = m;
    variance[i] = v / W;
  }
  return { mean, variance };
}

/** Defect 'alias': no check that an output overlaps an input (sgemm's C over A/B, rolling out over the series). */
class NoAliasCheckBackend extends JsComputeBackend {
  override async sgemm(args: SgemmArgs): Promise<void> {
    if (overlaps(args.c, args.a) || overlaps(args.c, args.b)) return sgemmInPlace(args);
    return super.sgemm(args);
  }
  override async rollingMoments(args: RollingMomentsArgs): Promise<RollingMomentsResult> {
    if (args.out && (overlaps(args.out.mean, args.series) || overlaps(args.out.variance, args.series))) return rollingInPlace(args);
    return super.rollingMoments(args);
  }
}

/** Defect 'syncview': the synchronous fast path reads host arrays from byte 0 of their ArrayBuffer (byteOffset ignored). */
class SyncIgnoresByteOffsetBackend extends JsComputeBackend {
  // the async kernels keep the correct path (JsComputeBackend's async methods call this.sync)
  readonly orig!: JsComputeBackend['sync'];
  override async rollingMoments(a: RollingMomentsArgs) {
    return this.orig.rollingMoments(a);
  }
  override async patternScores(a: PatternScoresArgs) {
    return this.orig.patternScores(a);
  }
  constructor() {
    super();
    const inner = this.sync;
    (this as { orig: unknown }).orig = inner;
    const whole = (x: unknown): unknown => (x instanceof Float32Array ? new Float32Array(x.buffer, 0, x.length) : x);
    (this as { sync: unknown }).sync = Object.freeze({
      ...inner,
      rollingMoments: (a: RollingMomentsArgs) => inner.rollingMoments({ ...a, series: whole(a.series) as Float32Array }),
      patternScores: (a: PatternScoresArgs) => inner.patternScores({ ...a, stored: whole(a.stored) as Float32Array, queries: whole(a.queries) as Float32Array }),
    });
  }
}

/** Defect 'syncnan': the synchronous fast path reads NaN/Infinity as 0 (windows holding them come back finite). */
class SyncNanAsZeroBackend extends JsComputeBackend {
  // the async kernels keep the correct path (JsComputeBackend's async methods call this.sync)
  readonly orig!: JsComputeBackend['sync'];
  override async rollingMoments(a: RollingMomentsArgs) {
    return this.orig.rollingMoments(a);
  }
  override async patternScores(a: PatternScoresArgs) {
    return this.orig.patternScores(a);
  }
  constructor() {
    super();
    const inner = this.sync;
    (this as { orig: unknown }).orig = inner;
    const clean = (x: unknown): unknown => (x instanceof Float32Array ? x.map((v) => (Number.isFinite(v) ? v : 0)) : x);
    (this as { sync: unknown }).sync = Object.freeze({
      ...inner,
      rollingMoments: (a: RollingMomentsArgs) => inner.rollingMoments({ ...a, series: clean(a.series) as Float32Array }),
      patternScores: (a: PatternScoresArgs) => inner.patternScores({ ...a, stored: clean(a.stored) as Float32Array, queries: clean(a.queries) as Float32Array }),
    });
  }
}

const provider = (make: () => ComputeBackend): ComputeBackendProvider => ({
  name: 'js',
  priority: 1,
  gpu: false,
  async probe() {
    return { available: true as const, device: { name: 'broken js', type: 'cpu' } };
  },
  async create() {
    return make();
  },
});

const which = process.env.CWTS_CONFORMANCE_META;
if (which === 'compute') {
  describeComputeConformance('broken-alias', () => provider(() => new NoAliasCheckBackend()));
  describeComputeConformance('broken-syncview', () => provider(() => new SyncIgnoresByteOffsetBackend()));
  describeComputeConformance('broken-syncnan', () => provider(() => new SyncNanAsZeroBackend()));
} else if (which === 'repeat-trade') {
  describeMalformedInput({ frameHarness: { module: process.env.CWTS_CONFORMANCE_META_HARNESS!, export: 'createRepeatingHarness' }, venue: 'tinyex-repeats' });
} else {
  it('is a fixture: conformance-meta.test.ts runs it in a child vitest with CWTS_CONFORMANCE_META set', () => {});
}
