import type { Clock } from './clock.js';

/**
 * Whole milliseconds of a clock's monoNs(), rounded: ManualClock's come back as its exact ms, so
 * replay decides exactly as on its ms. Internal (not re-exported): the risk checks, the risk
 * manager's timers and the router's interval time share it.
 */
export function monoMs(clock: Pick<Clock, 'monoNs'>): number {
  return Number((clock.monoNs() + 500_000n) / 1_000_000n);
}
