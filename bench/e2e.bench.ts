/**
 * `pnpm bench e2e`: the full hot path in one process, 4 venues (Binance, Coinbase, Kraken, Bybit
 * spot): book update frames as text -> each venue's own I/O-free feed -> Engine (book store,
 * whale + cascade detectors, strategy) -> pre-trade risk checks -> SmartOrderRouter (4 venues x
 * 20 levels) -> the execution client's submit (a test client that records the time). The
 * measuring code is core's (packages/core/src/cli/benchmark/e2e*.ts), shared with
 * `cwts-ultra benchmark`'s "End-to-End Flow" row.
 *
 * Paced at 10k and 100k events/s and unpaced ("max"): tick-to-order is timed from the frame's
 * scheduled arrival to the first child order handed to its execution client, so queueing counts.
 * A staged run (each component called by the bench under its own timer) gives the breakdown.
 * Goals: tick-to-order p99 <= 50 us at 100k events/s; SOR decision p99 <= 5 us (4 x 20, the
 * `routing` suite and the route stage here).
 * Env: E2E_SECONDS (seconds per paced rate, default 3), E2E_MAX_EVENTS (default 300_000),
 * E2E_REPEATS (default 3), E2E_TRIGGER_EVERY (a parent per this many book updates, default 20),
 * E2E_INTAKE=worker (Binance's intake on a worker thread, its events over the feed ring, as
 * `[performance] intake = "worker"`; writes bench/results/e2e-worker-intake.json, no staged run),
 * E2E_INTAKE_VENUE (with E2E_INTAKE=worker: which venues' intakes run on workers, one thread
 * each, by name, comma-separated: binance (default), coinbase, kraken, bybit-spot; or "all", the
 * deployed default, every venue on its own worker),
 * E2E_RATES (comma-separated, e.g. "100000,max"; default 10000,100000,max).
 */
import { loadE2EVenues } from '../packages/core/dist/cli/benchmark/e2e-venues.js';
import { generateFrames, observeGc, runE2E, stopObservingGc, type E2ERate, type E2ERunResult } from '../packages/core/dist/cli/benchmark/e2e.js';
import { E2E_STAGES, runE2EStages } from '../packages/core/dist/cli/benchmark/e2e-stages.js';
import { medianOf, timerFloorNs } from '../packages/core/dist/cli/benchmark/samples.js';
import { ROOT, log, writeResults, type BenchResult } from './lib/harness.js';
import { loadavg } from 'node:os';

const SECONDS = Number(process.env.E2E_SECONDS ?? 3);
const MAX_EVENTS = Number(process.env.E2E_MAX_EVENTS ?? 300_000);
const REPEATS = Number(process.env.E2E_REPEATS ?? 3);
const TRIGGER_EVERY = Number(process.env.E2E_TRIGGER_EVERY ?? 20);
const WARMUP = 40_000;
const INTAKE = process.env.E2E_INTAKE === 'worker' ? 'worker' : 'inline';
const RATES: E2ERate[] = (process.env.E2E_RATES ?? '10000,100000,max').split(',').map((r) => (r.trim() === 'max' ? 'max' : Number(r)));
const us = (ns: number): number => Math.round(ns / 10) / 100;

async function main(): Promise<void> {
  const load0 = loadavg();
  const intakes = await loadE2EVenues(ROOT);
  const rates: E2ERate[] = RATES;
  const eventsFor = (r: E2ERate): number => (r === 'max' ? MAX_EVENTS : Math.round(r * SECONDS));
  const maxEvents = Math.max(...rates.map(eventsFor)) + WARMUP;
  log(`e2e: generating ${Math.ceil(maxEvents / intakes.length)} frames per venue (${intakes.map((v) => v.exchange).join(', ')})...`);
  const frames = generateFrames(intakes, Math.ceil(maxEvents / intakes.length));
  const floor = timerFloorNs();
  const wanted = process.env.E2E_INTAKE_VENUE ?? intakes[0]!.exchange;
  const workerVenues = wanted === 'all' ? intakes.map((_, k) => k) : wanted.split(',').map((name) => intakes.findIndex((v) => v.exchange === name.trim()));
  if (workerVenues.some((k) => k < 0)) throw new Error(`E2E_INTAKE_VENUE=${wanted}: not "all" or names from ${intakes.map((v) => v.exchange).join(', ')}`);
  const onWorkers = workerVenues.map((k) => intakes[k]!.exchange).join(', ');
  const opts = { triggerEvery: TRIGGER_EVERY, warmup: WARMUP, ...(INTAKE === 'worker' ? { workerIntake: { baseDir: ROOT, venues: workerVenues } } : {}) };
  log(`e2e: intake ${INTAKE === 'worker' ? `of ${onWorkers} on worker threads (feed rings, one each)${workerVenues.length < intakes.length ? ', the others inline' : ''}` : 'inline (every venue on the engine thread)'}`);
  observeGc();
  // JIT warm-up on a throwaway pipeline
  await runE2E(intakes, frames, 'max', { ...opts, events: 60_000 });
  const runs = new Map<E2ERate, E2ERunResult[]>();
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const rate of rates) {
      const r = await runE2E(intakes, frames, rate, { ...opts, events: eventsFor(rate) });
      (runs.get(rate) ?? runs.set(rate, []).get(rate)!).push(r);
      const t = r.tickToOrder;
      log(`  repeat ${rep + 1} ${String(rate).padStart(6)} ev/s: ran at ${Math.round(r.achievedRate)} ev/s, ${r.parents} parents -> ${r.orders} orders; tick-to-order p50 ${us(t.p50)} us, p99 ${us(t.p99)} us, p99.9 ${us(t.p999)} us, max ${us(t.max)} us; lag at end ${r.lagAtEndMs.toFixed(1)} ms; CPU ${Math.round(r.cpuNsPerEvent)} ns/event; GCs ${r.gcCount}`);
    }
  }
  const stages = INTAKE === 'inline' ? await runE2EStages(intakes, frames, { ...opts, events: MAX_EVENTS }) : undefined;
  stopObservingGc();
  const load1 = loadavg();
  const results: BenchResult[] = [];
  for (const rate of rates) {
    const rs = runs.get(rate)!;
    const med = (f: (r: E2ERunResult) => number): number => medianOf(rs.map(f));
    const label = rate === 'max' ? 'max rate (unpaced)' : `${rate / 1000}k events/s`;
    const goal = rate === 100_000 ? `; goal p99 <= 50 us: ${med((r) => r.tickToOrder.p99) <= 50_000 ? 'met' : 'MISSED'}` : '';
    const note = `${INTAKE === 'worker' ? `intake of ${onWorkers} on worker threads; ` : ''}median of ${REPEATS} runs of ${rs[0]!.events} events over 4 venues, ${rs[0]!.parents} parents -> ${rs[0]!.orders} child orders per run; ran at ${Math.round(med((r) => r.achievedRate))} events/s; from the frame's scheduled arrival to the first child order's hand-off${goal}`;
    results.push(
      { name: `e2e tick-to-order ${label} p99`, metric: 'p99 latency', unit: 'ns', value: Math.round(med((r) => r.tickToOrder.p99)), note },
      { name: `e2e tick-to-order ${label} p50`, metric: 'p50 latency', unit: 'ns', value: Math.round(med((r) => r.tickToOrder.p50)) },
      { name: `e2e tick-to-order ${label} p99.9`, metric: 'p99.9 latency', unit: 'ns', value: Math.round(med((r) => r.tickToOrder.p999)) },
      { name: `e2e tick-to-order ${label} max`, metric: 'max latency', unit: 'ns', value: Math.round(med((r) => r.tickToOrder.max)) },
      { name: `e2e tick-to-last-child ${label} p99`, metric: 'p99 latency', unit: 'ns', value: Math.round(med((r) => r.tickToLastOrder.p99)) },
      { name: `e2e achieved rate ${label}`, metric: 'events/s', unit: 'events/s', value: Math.round(med((r) => r.achievedRate)), note: `GCs per run: ${rs.map((r) => r.gcCount).join(', ')}; lag at end (ms): ${rs.map((r) => r.lagAtEndMs.toFixed(1)).join(', ')}` },
    );
    if (rate === 'max') {
      const cpuNs = med((r) => r.cpuNsPerEvent);
      results.push(
        { name: 'e2e CPU time per event (max rate)', metric: 'mean', unit: 'ns', value: Math.round(cpuNs), note: "the process's user + system CPU time over the unpaced run / events (GC and the execution reports included); independent of how often a shared machine's scheduler ran this process" },
        { name: 'e2e events/s one core could sustain (1e9 / CPU ns per event)', metric: 'rate', unit: 'events/s', value: Math.round(1e9 / cpuNs), note: 'the ceiling without queueing; the 100k events/s goal needs <= 10 us of CPU per event' },
      );
    }
  }
  for (const st of stages ? E2E_STAGES : []) {
    const s = stages!.stages[st];
    const per = st === 'route' || st === 'risk' || st === 'submit' ? 'per parent order (all children)' : 'per event';
    results.push({ name: `e2e stage ${st} p50`, metric: 'p50 latency', unit: 'ns', value: Math.round(s.p50), note: `${per}; staged run of ${stages!.events} events, ${stages!.parents} parents; includes the timer floor (${Math.round(floor)} ns)` });
    results.push({ name: `e2e stage ${st} p99`, metric: 'p99 latency', unit: 'ns', value: Math.round(s.p99) });
  }
  results.push({ name: 'timer floor p50', metric: 'p50', unit: 'ns', value: Math.round(floor) });
  const file = writeResults(INTAKE === 'worker' ? 'e2e-worker-intake' : 'e2e', results, {
    goal: 'tick-to-order p99 <= 50 us at 100k events/s',
    intake: INTAKE,
    loadavg: { before: load0.map((x) => Math.round(x * 100) / 100), after: load1.map((x) => Math.round(x * 100) / 100) },
  });
  if (stages) log('stage breakdown (unpaced, ns): ' + E2E_STAGES.map((s) => `${s} p50 ${Math.round(stages.stages[s].p50)} / p99 ${Math.round(stages.stages[s].p99)}`).join('; '));
  log(`load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${load1.map((x) => x.toFixed(2)).join(' ')}`);
  log(`wrote ${file}`);
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
