/**
 * patternScores on finite windows far from 1 in magnitude: token amounts in base units
 * (1e19..1e36) overflow float32 sums of squares, and tiny values (1e-25) underflow them. Only
 * NaN/Infinity or zero variance may score 0 (the contract); every kernel set, both the
 * per-window (D >= 2 lanes) and the transposed (small D) paths, must match the float64 oracle.
 */
import { JsComputeBackend } from '@cwts/core/compute';
import { skipUnlessRequired } from '@cwts/core/testing';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { CpuSimdBackend } from './backend.js';
import { cpuSimdProvider, type Isa } from './index.js';

const ref = new JsComputeBackend();
const made: CpuSimdBackend[] = [];
afterAll(async () => {
  for (const b of made) await b.dispose();
});

async function variants(ctx: TestContext): Promise<CpuSimdBackend[]> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const isas = String(p.available ? p.device.details?.supported : 'scalar').split(',') as Isa[];
  const out: CpuSimdBackend[] = [];
  for (const isa of isas) {
    const b = (await cpuSimdProvider.create({ threadPoolSize: 2, settings: { isa, blas: false } })) as CpuSimdBackend;
    made.push(b);
    out.push(b);
  }
  return out;
}

describe('cpu-simd patternScores on large and tiny finite values', () => {
  for (const [D, scale] of [[64, 1e20], [8, 1e20], [64, 2e19], [8, 1e36], [3, 1e36], [17, 1e30], [64, 1e-25], [5, 1e-25]] as const) {
    it(`D=${D}, values ~${scale}: scores match the oracle on every kernel set`, async (ctx) => {
      for (const be of await variants(ctx)) {
        const K = 37, B = 5;
        const stored = new Float32Array(K * D), queries = new Float32Array(B * D);
        for (let k = 0; k < K; k++) {
          // Mixed store: most windows at `scale`, a few ordinary, one constant, one with NaN.
          const s = k % 5 === 4 ? 1 : scale;
          for (let d = 0; d < D; d++) stored[k * D + d] = k === 7 ? s : s * (Math.sin(d * (1 + k / 10) + k) + 2);
        }
        stored[11 * D + (D >> 1)] = NaN;
        for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) queries[b * D + d] = Math.sin(d * (1 + b / 7)) + 2;
        const args = { stored, storedCount: K, dim: D, queries, queryCount: B, topK: 4, returnAllScores: true };
        const got = await be.patternScores(args);
        const want = await ref.patternScores(args);
        for (let i = 0; i < B * K; i++) {
          expect(Math.abs(got.allScores![i] - want.allScores![i]), `${be.isa}: query ${Math.floor(i / K)} window ${i % K}: ${got.allScores![i]} vs oracle ${want.allScores![i]}`).toBeLessThanOrEqual(2e-4);
        }
        expect(got.allScores![7], 'constant window').toBe(0);
        expect(got.allScores![11], 'window with NaN').toBe(0);
        // The top-k agrees wherever the oracle's scores are not within the tolerance of a tie.
        expect(Array.from(got.scores).map((x) => Math.round(x * 1000))).toEqual(Array.from(want.scores).map((x) => Math.round(x * 1000)));
        // The sync path is the same code.
        const sync = be.sync.patternScores(args);
        expect(Array.from(sync.allScores!)).toEqual(Array.from(got.allScores!));
      }
    });
  }
});
