/**
 * "Lock-free Buffer": one 64-byte record main thread -> worker -> main thread over two SpscRing
 * buffers (microstructure/ring-buffer.ts), both sides spinning: the round trip, per record.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../../../microstructure/ring-buffer.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';

const WORDS = 16;

/** The compiled ring module for the worker (a worker cannot load TypeScript: use dist when run from src). */
function ringModuleUrl(): string {
  const here = fileURLToPath(new URL('../../../microstructure/ring-buffer.js', import.meta.url));
  if (existsSync(here)) return pathToFileURL(here).href;
  const built = here.replace(/([\\/])src([\\/])microstructure/, '$1dist$2microstructure');
  if (existsSync(built)) return pathToFileURL(built).href;
  throw new Error(`ring buffer module not found at ${here} (build @cwts/core first)`);
}

const ECHO = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.ringUrl).then(({ SpscRing }) => {
  const inR = new SpscRing(workerData.a);
  const outR = new SpscRing(workerData.b);
  const buf = new Int32Array(${WORDS});
  parentPort.postMessage('ready');
  for (;;) {
    if (inR.read(buf, 0, 1) === 0) {
      if (inR.closed) break;
      continue;
    }
    while (outR.write(buf, 0, 1) === 0) {}
  }
  outR.close();
});
`;

export async function measureRing(run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 100_000, 1_000_000);
  const a = SpscRing.create(1024, WORDS * 4);
  const b = SpscRing.create(1024, WORDS * 4);
  const worker = new Worker(ECHO, { eval: true, workerData: { a: a.buffer, b: b.buffer, ringUrl: ringModuleUrl() } });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    const rec = new Int32Array(WORDS);
    const back = new Int32Array(WORDS);
    const s = new LatencySamples(n);
    const warm = Math.min(20_000, n);
    for (let i = 0; i < warm + n; i++) {
      rec[0] = i;
      const t = performance.now();
      while (a.write(rec, 0, 1) === 0) {}
      while (b.read(back, 0, 1) === 0) {}
      const dt = performance.now() - t;
      if (back[0] !== i) throw new Error(`ring: record ${i} came back as ${back[0]}`);
      if (i >= warm) s.record(dt * 1e6);
      if ((i & 8191) === 0) run.progress(i / (warm + n));
    }
    return { latency: s.summary(), what: `one 64-byte record main -> worker -> main over two SpscRings, ${n} round trips (timer included)` };
  } finally {
    a.close();
    await worker.terminate();
  }
}
