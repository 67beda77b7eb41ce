/**
 * "Atomic Order Matching": MatchingEngine (microstructure/matching-engine.ts) per operation on
 * the deterministic flow of `pnpm bench microstructure` (limits near a drifting mid, cancels of
 * resting orders, market, IOC and FOK orders; heavy-tailed sizes). Beside it, the throughput of
 * the same flow without per-operation timers.
 */
import { performance } from 'node:perf_hooks';
import { MatchingEngine } from '../../../microstructure/matching-engine.js';
import { OP_CANCEL, OP_IOC, OP_LIMIT, OP_MARKET, generateFlow, type Flow } from '../order-flow.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';

function op(e: MatchingEngine, f: Flow, i: number): void {
  const t = f.type[i]!;
  if (t === OP_CANCEL) e.cancel(f.id[i]!);
  else e.submit(f.id[i]!, f.side[i] as 0 | 1, (t === OP_LIMIT ? 0 : t === OP_MARKET ? 1 : t === OP_IOC ? 2 : 3) as 0 | 1 | 2 | 3, f.price[i]!, f.qty[i]!);
}

const engine = (): MatchingEngine => new MatchingEngine('BENCH', { initialOrders: 1 << 16, initialLevels: 1 << 12 });

export async function measureMatching(run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 200_000, 1_000_000);
  const flow = generateFlow(n, 42);
  run.progress(0.3);
  const warm = engine();
  for (let i = 0; i < n; i++) op(warm, flow, i);
  const e = engine();
  const s = new LatencySamples(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    op(e, flow, i);
    s.record((performance.now() - t) * 1e6);
  }
  run.progress(0.7);
  const e2 = engine();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) op(e2, flow, i);
  const ms = performance.now() - t0;
  return {
    latency: s.summary(),
    what: `MatchingEngine submit/cancel per operation, ${n} operations of a mixed flow (timer included)`,
    figures: [{ name: 'matching throughput', metric: 'ops/s', unit: 'ops/s', value: Math.round((n * 1000) / ms), note: 'the same flow, no per-operation timer' }],
  };
}
