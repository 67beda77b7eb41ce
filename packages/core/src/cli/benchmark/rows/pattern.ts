/**
 * "Pattern Store SIMD": one pattern query (Pearson correlation of a 64-sample window against
 * 10,000 stored windows, top 16) through the SIMD backend, @cwts/backend-cpu-simd, when it is
 * installed and its probe says available; otherwise through core's js backend, and the row says
 * so (a SIMD row measured without SIMD is not hidden).
 */
import { performance } from 'node:perf_hooks';
import type { ComputeBackend, ComputeBackendProvider } from '../../../contracts/compute.js';
import { JsComputeBackend } from '../../../compute/index.js';
import { PatternStore } from '../../../detectors/pattern-store.js';
import { locatePlugin } from '../../../plugins/resolve.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';
import { mulberry32 } from '../venue-frames.js';

const SIMD_PACKAGE = '@cwts/backend-cpu-simd';

async function simdBackend(baseDir: string): Promise<{ backend?: ComputeBackend; why?: string }> {
  const where = locatePlugin(SIMD_PACKAGE, baseDir);
  if (!('url' in where)) return { why: `${SIMD_PACKAGE} not installed` };
  try {
    const mod = (await import(where.url)) as { cpuSimdProvider?: ComputeBackendProvider };
    if (!mod.cpuSimdProvider) return { why: `${SIMD_PACKAGE} has no cpuSimdProvider` };
    const probe = await mod.cpuSimdProvider.probe();
    if (!probe.available) return { why: `${SIMD_PACKAGE} unavailable: ${probe.reason ?? 'no reason given'}` };
    return { backend: await mod.cpuSimdProvider.create({}) };
  } catch (err) {
    return { why: `${SIMD_PACKAGE} failed to load: ${String((err as Error).message ?? err).split('\n')[0]}` };
  }
}

function normals(n: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return out;
}

export async function measurePattern(run: RowRun): Promise<RowMeasurement> {
  const D = 64;
  const K = 16;
  const N = 10_000;
  const q = iterations(run, 2_000, 20_000, 20);
  const simd = await simdBackend(run.baseDir);
  const backend = simd.backend ?? new JsComputeBackend();
  try {
    const store = new PatternStore({ dim: D, capacity: N });
    const src = normals((N + 1) * D, 1);
    for (let i = 0; i < N; i++) store.add(src, i * D, 0, i);
    const queries = normals(16 * D, 2);
    const one = new Float32Array(D);
    for (let k = 0; k < 5; k++) await store.query(backend, queries.subarray(0, D), 1, K);
    const s = new LatencySamples(q);
    for (let i = 0; i < q; i++) {
      one.set(queries.subarray((i & 15) * D, ((i & 15) + 1) * D));
      const t = performance.now();
      await store.query(backend, one, 1, K);
      s.record((performance.now() - t) * 1e6);
      if ((i & 127) === 0) run.progress(i / q);
    }
    return {
      latency: s.summary(),
      what: `PatternStore.query on backend ${backend.name}: 1 query of 64 samples vs ${N} stored windows, top ${K}, ${q} queries${simd.backend ? '' : ` (NOT SIMD: ${simd.why})`}`,
      figures: [{ name: `pattern backend ${backend.name}`, metric: 'simd', unit: 'bool', value: simd.backend ? 1 : 0, note: simd.why }],
    };
  } finally {
    await backend.dispose();
  }
}
