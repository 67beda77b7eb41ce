/**
 * Which intake the End-to-End row measures, and how its line says so. The deployed default
 * (`[performance] intake = "worker"`) parses each venue on its own worker thread. The bench
 * stands in for the sockets by spinning each intake worker until its frame is due, so a paced
 * worker run needs a core per thread (the venues' workers, the engine thread, one spare): on
 * fewer cores the spinning workers starve each other and the figure is the harness's
 * (docs/performance.md, "Every venue on its own intake worker"). There the row measures inline
 * intake (every venue parsed on the engine thread) and its line names it.
 */
export type E2EIntakeMode = 'worker' | 'inline';

/** Cores a paced worker-intake run needs: one per venue worker, the engine thread, one spare. */
export const e2eWorkerIntakeCores = (venues: number): number => venues + 2;

export function e2eRowIntake(cores: number, venues: number): E2EIntakeMode {
  return cores >= e2eWorkerIntakeCores(venues) ? 'worker' : 'inline';
}

export function describeE2EIntake(mode: E2EIntakeMode, venues: number, cores: number): string {
  return mode === 'worker'
    ? `worker intake (the deployed default: each of the ${venues} venues parsed on its own worker thread)`
    : `inline intake (every venue parsed on the engine thread; the deployed default, worker intake, is measured on hosts with ${e2eWorkerIntakeCores(venues)}+ cores, this one has ${cores})`;
}
