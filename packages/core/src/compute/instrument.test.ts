import { describe, expect, it } from 'vitest';
import type { ComputeBackend, Float64KernelName, KernelName } from '../contracts/compute.js';
import { instrumentBackend } from './instrument.js';
import { JsComputeBackend } from './js-backend.js';

describe('instrumentBackend', () => {
  it('reports every async and sync kernel call with its duration', async () => {
    const seen: [KernelName, number][] = [];
    const inner = new JsComputeBackend();
    const b: ComputeBackend = instrumentBackend(inner, (k, s) => seen.push([k, s]));
    expect(b.name).toBe('js');
    expect(b.capabilities).toBe(inner.capabilities);
    const stored = new Float32Array([1, 2, 3, 3, 2, 1]);
    await b.patternScores({ stored, storedCount: 2, dim: 3, queries: stored, queryCount: 1, topK: 1 });
    await b.rollingMoments({ series: stored, length: 6, window: 2 });
    await b.monteCarloVaR({ means: new Float32Array(1), factor: new Float32Array([1]), weights: new Float32Array([1]), assets: 1, factors: 1, paths: 10, confidence: 0.9, seed: 1 });
    await b.sgemm({ m: 1, n: 1, k: 1, a: stored, b: stored, c: new Float32Array(1) });
    const x = b.createBuffer(8);
    const y = b.createBuffer(8);
    await b.copy(x, y, 8);
    await b.noop();
    b.sync!.patternScores({ stored, storedCount: 2, dim: 3, queries: stored, queryCount: 1, topK: 2 });
    b.sync!.rollingMoments({ series: stored, length: 6, window: 3 });
    b.sync!.sgemm({ m: 1, n: 1, k: 1, a: stored, b: stored, c: new Float32Array(1) });
    expect(seen.map(([k]) => k)).toEqual(['patternScores', 'rollingMoments', 'monteCarloVaR', 'sgemm', 'copy', 'noop', 'patternScores', 'rollingMoments', 'sgemm']);
    for (const [, s] of seen) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(5);
    }
    b.freeBuffer(x);
    b.freeBuffer(y);
    expect(inner.liveBuffers).toBe(0);
  });

  it('does not report failed calls and survives a throwing observer', async () => {
    let n = 0;
    const b = instrumentBackend(new JsComputeBackend(), () => {
      n++;
      throw new Error('metrics sink down');
    });
    await expect(b.rollingMoments({ series: new Float32Array(2), length: 2, window: 3 })).rejects.toThrow(/window/);
    expect(() => b.sync!.sgemm({ m: 0, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1), c: new Float32Array(1) })).toThrow(/m must be/);
    expect(n).toBe(0);
    await b.noop();
    expect(n).toBe(1);
  });

  it('has no sync when the inner backend has none', () => {
    const inner = new JsComputeBackend();
    const noSync = Object.create(inner, { sync: { value: undefined } }) as ComputeBackend;
    expect(instrumentBackend(noSync, () => {}).sync).toBeUndefined();
  });

  it('times rollingMoments64 (async and sync) and has it exactly when the inner backend does', async () => {
    const seen: (KernelName | Float64KernelName)[] = [];
    const b = instrumentBackend(new JsComputeBackend(), (k) => seen.push(k));
    const series = new Float64Array([30000.5, 30000.51, 30000.49, 30000.5]);
    const r = await b.rollingMoments64!({ series, length: 4, window: 2 });
    expect(r.mean[0]).toBeCloseTo(30000.505, 9);
    b.sync!.rollingMoments64!({ series, length: 4, window: 2, meanOnly: true });
    expect(seen).toEqual(['rollingMoments64', 'rollingMoments64']);
    const inner = new JsComputeBackend();
    const no64 = Object.create(inner, { rollingMoments64: { value: undefined }, sync: { value: { ...inner.sync, rollingMoments64: undefined } } }) as ComputeBackend;
    const w = instrumentBackend(no64, () => {});
    expect(w.rollingMoments64).toBeUndefined();
    expect(w.sync!.rollingMoments64).toBeUndefined();
  });
});
