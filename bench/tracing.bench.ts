/**
 * What tracing costs the engine's dispatch: tracing off (the default: no hook call at all)
 * against on at the default ratio (1 in 1000 events) and on for every event, with a no-op
 * exporter behind the batch processor, so the figure is the engine side only. Fresh processes,
 * modes interleaved, median of the repeats (bench/workers/tracing-dispatch.worker.mjs).
 * Env: TRACING_REPEATS (default 5), TRACING_EVENTS (default 100000).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, writeResults, type BenchResult } from './lib/harness.js';

const REPEATS = Number(process.env.TRACING_REPEATS ?? 5);
const EVENTS = Number(process.env.TRACING_EVENTS ?? 100_000);
const WORKER = join(ROOT, 'bench/workers/tracing-dispatch.worker.mjs');
const MODES = ['off', '0.001', '1'] as const;
const LABEL: Record<(typeof MODES)[number], string> = { off: 'tracing off', '0.001': 'tracing on, 1 in 1000 sampled', '1': 'tracing on, every event sampled' };

interface Sample {
  p50us: number;
  p99us: number;
  p999us: number;
}
const samples = new Map<string, Sample[]>(MODES.map((m) => [m, []]));
for (let r = 0; r < REPEATS; r++) {
  for (const m of MODES) {
    const out = execFileSync(process.execPath, [WORKER, ROOT, m, String(EVENTS)], { cwd: ROOT, encoding: 'utf8' });
    samples.get(m)!.push(JSON.parse(out.trim().split('\n').pop()!) as Sample);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number) => Math.round(x * 100) / 100;
const results: BenchResult[] = [];
for (const m of MODES) {
  for (const k of ['p50us', 'p99us', 'p999us'] as const) {
    const xs = samples.get(m)!.map((s) => s[k]);
    const off = median(samples.get('off')!.map((s) => s[k]));
    results.push({
      name: `dispatch ${k.slice(0, -2)}, ${LABEL[m]}`,
      metric: `${k.slice(0, -2)} of one market event's dispatch (book, detectors, strategy, order path)`,
      unit: 'us',
      value: round(median(xs)),
      ...(m === 'off' ? {} : { peer: `dispatch ${k.slice(0, -2)}, tracing off`, peerValue: round(off) }),
      note: `median of ${REPEATS} fresh processes, ${EVENTS} events each (samples ${xs.map(round).join(', ')})`,
    });
  }
}
for (const r of results) console.log(r.name.padEnd(52), String(r.value).padStart(8), r.unit, ' ', r.note);
console.log(`wrote ${writeResults('tracing', results)}`);
