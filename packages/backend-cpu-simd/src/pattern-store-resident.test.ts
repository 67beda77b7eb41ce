// Async calls copy their host inputs (README, "Calls, threads and memory"), so the backend says
// so (`copiesHostInputs`) and core's pattern store keeps its slab in a DeviceBuffer, used in
// place: a 1M x 64 store passed as a host array was 256 MB copied on every query.
import { JsComputeBackend } from '@cwts/core/compute';
import { PatternStore } from '@cwts/core/detectors';
import { skipUnlessRequired } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { cpuSimdProvider } from './index.js';
import type { CpuSimdBackend } from './backend.js';

describe('cpu-simd and the pattern store', () => {
  it('declares that async calls copy host inputs; a pattern store queried on it keeps one resident buffer and finds what the JS oracle finds', async (ctx) => {
    const p = await cpuSimdProvider.probe();
    if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
    const simd = (await cpuSimdProvider.create({})) as CpuSimdBackend;
    const js = new JsComputeBackend();
    try {
      expect(simd.capabilities.copiesHostInputs).toBe(true);
      const D = 32;
      const store = new PatternStore({ dim: D, capacity: 4096 });
      let seed = 7;
      const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
      const row = new Float64Array(D);
      for (let i = 0; i < 3000; i++) {
        for (let j = 0; j < D; j++) row[j] = rnd();
        store.add(row, 0, 0, i);
      }
      const q = Float32Array.from({ length: 4 * D }, rnd);
      const a = await store.query(simd, q, 4, 5);
      expect(simd.liveBuffers).toBe(1);
      const b = await store.query(simd, q, 4, 5);
      expect(simd.liveBuffers).toBe(1);
      const ref = await store.query(js, q, 4, 5);
      expect(Array.from(a.indices)).toEqual(Array.from(ref.indices));
      expect(Array.from(b.indices)).toEqual(Array.from(ref.indices));
      store.releaseDevice();
      expect(simd.liveBuffers).toBe(0);
    } finally {
      await simd.dispose();
      await js.dispose();
    }
  });
});
