// The CUDA/HIP kernels themselves (native/kernels.cu, unchanged) run on the CPU under a small
// emulation of the CUDA execution model (test/kernel-emulation: fibers for threads, barriers for
// __syncthreads), so their indexing, tiling, edge handling, barriers and arithmetic are checked
// on every machine, GPU or not: sgemm, every variant (float4 and scalar paths, edge tiles, the
// swapped grid, B transposed, beta = 0 not reading C, the cp.async pipelines under the shim's
// deferred-copy model; the inline PTX itself only runs on a device), rolling moments (incl. the shortened runs of long
// windows, NaN and constant windows), normalisation + scores, and the Monte Carlo losses against
// the JS oracle's Philox draw. Device-specific behaviour (CUDA's libm, real concurrency, speed)
// is for the *.gpu.test.ts files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { normalAt } from '@cwts/core/compute';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cwts-kernels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface HarnessOutput {
  sgemm: { variant: number; m: number; n: number; k: number; transB: boolean; offset: number; worstOverTol: number }[];
  betaZeroIgnoresC: boolean;
  scaleOk: boolean;
  unknownVariantRejected: boolean;
  variants: string[];
  asyncLeftover: number;
  rolling: { N: number; W: number; worstMeanRel: number; worstVarRel: number; nanMismatch: number; constMismatch: number }[];
  scores: { variant: number; K: number; D: number; B: number; worstAbs: number; worstZeroRow: number }[];
  monteCarlo: { F: number; paths: number; horizon: number; seedLo: number; seedHi: number; drift: number; v: number[]; losses: number[] };
}

let out: HarnessOutput | undefined;
let why = '';

beforeAll(() => {
  const exe = join(dir, 'harness');
  const cc = spawnSync('g++', ['-std=c++20', '-O2', '-I', join(pkg, 'native'), join(pkg, 'test/kernel-emulation/harness.cpp'), '-o', exe], { encoding: 'utf8' });
  if (cc.error) {
    why = `no C++20 compiler (g++) to build the kernel emulation: ${cc.error.message}`;
    return;
  }
  if (cc.status !== 0) throw new Error(`kernel emulation failed to compile:\n${cc.stderr}`);
  const run = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`kernel emulation failed (status ${run.status}):\n${run.stderr}`);
  out = JSON.parse(run.stdout) as HarnessOutput;
}, 300_000);

function result(ctx: TestContext): HarnessOutput {
  if (!out) ctx.skip(why);
  return out!;
}

describe('CUDA/HIP kernels under CPU emulation', () => {
  it('sgemm is within the conformance tolerance on every variant, path and shape', (ctx) => {
    const r = result(ctx);
    // Variant 0 (the default) and the candidates in kernels.cu, each over the same cases.
    expect(r.variants.length).toBeGreaterThanOrEqual(6);
    const perVariant = r.sgemm.filter((c) => c.variant === 0).length;
    expect(perVariant).toBeGreaterThanOrEqual(14);
    for (let v = 0; v < r.variants.length; v++) expect(r.sgemm.filter((c) => c.variant === v).length, r.variants[v]).toBe(perVariant);
    expect(r.sgemm.some((c) => c.k === 1 && c.transB)).toBe(true);
    expect(r.sgemm.some((c) => c.offset !== 0 && c.transB)).toBe(true);
    for (const c of r.sgemm) {
      expect(c.worstOverTol, `variant ${c.variant} (${r.variants[c.variant]}) ${c.m}x${c.n}x${c.k} transB=${c.transB} offset=${c.offset}`).toBeLessThan(1);
    }
    expect(r.betaZeroIgnoresC).toBe(true);
    expect(r.scaleOk).toBe(true);
    expect(r.unknownVariantRejected).toBe(true);
    // Every cp.async copy issued was waited for before its block ended.
    expect(r.asyncLeftover).toBe(0);
  });

  it('rolling moments round once to float32 from float64 state; NaN and constant windows exact', (ctx) => {
    const r = result(ctx);
    for (const c of r.rolling) {
      expect(c.nanMismatch, `N=${c.N} W=${c.W}`).toBe(0);
      expect(c.constMismatch, `N=${c.N} W=${c.W}`).toBe(0);
      expect(c.worstMeanRel, `N=${c.N} W=${c.W}`).toBeLessThanOrEqual(1.2e-7);
      expect(c.worstVarRel, `N=${c.N} W=${c.W}`).toBeLessThanOrEqual(1e-6);
    }
  });

  it('normalised rows + transposed sgemm + clamp give Pearson correlations; flat and non-finite rows score 0', (ctx) => {
    const r = result(ctx);
    expect(new Set(r.scores.map((c) => c.variant)).size).toBe(r.variants.length);
    for (const c of r.scores) {
      expect(c.worstAbs, `variant ${c.variant}`).toBeLessThanOrEqual(1e-5);
      expect(c.worstZeroRow, `variant ${c.variant}`).toBe(0);
    }
  });

  it('Monte Carlo losses are the JS oracle\'s Philox4x32-10 + Box-Muller draw, path for path', (ctx) => {
    const { monteCarlo: mc } = result(ctx);
    expect(mc.losses.length).toBe(mc.paths);
    for (let p = 0; p < mc.paths; p++) {
      let acc = 0;
      let scale = Math.abs(mc.drift);
      for (let t = 0; t < mc.horizon; t++) {
        for (let j = 0; j < mc.F; j++) {
          const term = mc.v[j]! * normalAt(mc.seedLo, mc.seedHi, p, t, j);
          acc += term;
          scale += Math.abs(term);
        }
      }
      const want = -(mc.drift + acc);
      // Same words, same order, float64: only libm's last places (glibc vs V8) may differ.
      expect(Math.abs(mc.losses[p]! - want), `path ${p}`).toBeLessThanOrEqual(1e-13 * scale);
    }
  });
});
