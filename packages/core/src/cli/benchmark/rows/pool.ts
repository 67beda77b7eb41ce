/** "Memory Allocation": ObjectPool acquire + release of a preallocated event object, per operation. */
import { performance } from 'node:perf_hooks';
import { ObjectPool } from '../../../microstructure/pool.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';

interface Ev {
  type: number;
  price: number;
  qty: number;
  seq: number;
  ts: number;
}

export async function measurePool(run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 500_000, 5_000_000);
  const pool = new ObjectPool<Ev>({ create: () => ({ type: 0, price: 0, qty: 0, seq: 0, ts: 0 }), initial: 1024 });
  const held: Ev[] = new Array(64);
  for (let k = 0; k < 64; k++) held[k] = pool.acquire();
  const s = new LatencySamples(n);
  const created0 = pool.created;
  for (let i = 0; i < n; i++) {
    const k = i & 63;
    const t = performance.now();
    pool.release(held[k]!);
    const e = pool.acquire();
    e.price = i;
    e.seq = i;
    held[k] = e;
    s.record((performance.now() - t) * 1e6);
    if ((i & 65535) === 0) run.progress(i / n);
  }
  return {
    latency: s.summary(),
    what: `ObjectPool release + acquire with 64 live objects, ${n} operations (timer included)`,
    figures: [{ name: 'pool objects created during the run', metric: 'count', unit: 'objects', value: pool.created - created0 }],
  };
}
