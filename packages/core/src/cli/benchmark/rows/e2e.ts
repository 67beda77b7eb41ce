/**
 * "End-to-End Flow": tick-to-order p99 at 100k events/s over 4 venues, the `pnpm bench e2e`
 * path (e2e.ts): frames as text through the four venue adapters' own feeds, the engine,
 * detectors, strategy, risk checks and the smart order router to the execution client's submit,
 * timed from each frame's scheduled arrival. Intake on workers (the deployed default) where the
 * host has a core per thread, inline otherwise; the row's line says which (rows/e2e-intake.ts).
 * The journal is on as the default config deploys it (fsync "batch": every order and report
 * queued for its writer thread, client ids from its reservations; e2e-pipeline.ts).
 */
import { availableParallelism } from 'node:os';
import { loadE2EVenues } from '../e2e-venues.js';
import { generateFrames, runE2E } from '../e2e.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { describeE2EIntake, e2eRowIntake } from './e2e-intake.js';

export const E2E_ROW_RATE = 100_000;

export async function measureE2E(run: RowRun): Promise<RowMeasurement> {
  const events = iterations(run, 50_000, 300_000, 200);
  const warmup = iterations(run, 20_000, 40_000, 200);
  const intakes = await loadE2EVenues(run.baseDir);
  const frames = generateFrames(intakes, Math.ceil((events + warmup) / intakes.length));
  run.progress(0.3);
  const cores = availableParallelism();
  const intake = e2eRowIntake(cores, intakes.length);
  const workerIntake = intake === 'worker' ? { workerIntake: { baseDir: run.baseDir, venues: intakes.map((_, k) => k) } } : {};
  const r = await runE2E(intakes, frames, E2E_ROW_RATE, { events, warmup, triggerEvery: 20, ...workerIntake, onProgress: (k) => run.progress(0.3 + (0.7 * k) / events) });
  return {
    latency: r.tickToOrder,
    what: `${describeE2EIntake(intake, intakes.length, cores)}: frame (scheduled at ${E2E_ROW_RATE / 1000}k events/s over ${intakes.length} venues) -> feed -> engine -> detectors -> strategy -> risk -> SOR -> submit, journal on as deployed (fsync batch), ${r.events} events, ${r.parents} parents -> ${r.orders} orders; ran at ${Math.round(r.achievedRate)} events/s`,
    figures: [
      { name: 'e2e achieved rate', metric: 'events/s', unit: 'events/s', value: Math.round(r.achievedRate), note: `scheduled ${E2E_ROW_RATE}; lag at end ${r.lagAtEndMs.toFixed(1)} ms` },
      { name: 'e2e tick-to-last-child p99', metric: 'p99 latency', unit: 'ns', value: Math.round(r.tickToLastOrder.p99) },
      { name: 'e2e process CPU time per event', metric: 'mean', unit: 'ns', value: Math.round(r.cpuNsPerEvent), note: 'user + system CPU over the paced run (its spin-waits included) / events' },
    ],
  };
}
