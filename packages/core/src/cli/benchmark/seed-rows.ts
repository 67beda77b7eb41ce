/**
 * The seed's performance validation table (SEED-deployment-guide.md, "Performance Validation"):
 * nine rows, each with the seed's budget (a per-operation latency, compared with our p99) and,
 * where the project set one, our own goal. Each row names the code that measures it.
 */
import type { RowMeasurement, RowRun } from './row.js';
import { allEventsP99, measureDetector } from './rows/detector.js';
import { measureE2E } from './rows/e2e.js';
import { measureMatching } from './rows/matching.js';
import { measureOrderExecution } from './rows/order-execution.js';
import { measurePattern } from './rows/pattern.js';
import { measurePool } from './rows/pool.js';
import { measureRing } from './rows/ring.js';
import { measureRouting } from './rows/routing.js';

export interface OurGoal {
  text: string;
  met(m: RowMeasurement): boolean;
}

export interface SeedRow {
  key: string;
  label: string;
  /** The seed's figure for the row, microseconds. */
  budgetUs: number;
  /** The `pnpm bench` suite with the fuller measurement of the same thing. */
  suite: string;
  goal?: OurGoal;
  measure(run: RowRun): Promise<RowMeasurement>;
}

const p99AtMost = (ns: number, text: string): OurGoal => ({ text, met: (m) => m.latency.p99 <= ns });
const figureAtLeast = (name: string, min: number, text: string): OurGoal => ({ text, met: (m) => (m.figures?.find((f) => f.name === name)?.value ?? 0) >= min });
/** A figure at most `max`; a missing figure misses. */
const figureAtMost = (name: string, max: number, text: string): OurGoal => ({ text, met: (m) => (m.figures?.find((f) => f.name === name)?.value ?? Infinity) <= max });

export const SEED_ROWS: readonly SeedRow[] = [
  // The seed's detector budgets are per detection (the row's p99, over the calls that emit a
  // signal); our goal is per event, over every call (a figure of the row).
  { key: 'whale', label: 'Whale Detection', budgetUs: 234, suite: 'detectors', goal: figureAtMost(allEventsP99('whale'), 1000, 'p99 <= 1 us per event, all events'), measure: (r) => measureDetector('whale', r) },
  {
    key: 'order-execution',
    label: 'HFT Order Execution',
    budgetUs: 156,
    suite: 'risk',
    goal: figureAtLeast('orders per second through risk + sim matching', 2_000_000, '>= 2M orders/s through risk + matching'),
    measure: measureOrderExecution,
  },
  { key: 'matching', label: 'Atomic Order Matching', budgetUs: 412, suite: 'microstructure', goal: p99AtMost(1000, 'p99 <= 1 us per operation'), measure: measureMatching },
  { key: 'cascade', label: 'Cascade Detection', budgetUs: 189, suite: 'detectors', goal: figureAtMost(allEventsP99('cascade'), 1000, 'p99 <= 1 us per event, all events'), measure: (r) => measureDetector('cascade', r) },
  { key: 'ring', label: 'Lock-free Buffer', budgetUs: 98, suite: 'microstructure', measure: measureRing },
  { key: 'pattern', label: 'Pattern Store SIMD', budgetUs: 567, suite: 'detectors', measure: measurePattern },
  { key: 'routing', label: 'Smart Order Routing', budgetUs: 823, suite: 'routing', goal: p99AtMost(5000, 'p99 <= 5 us, 4 venues x 20 levels, worst of 3 book shapes'), measure: measureRouting },
  { key: 'pool', label: 'Memory Allocation', budgetUs: 45, suite: 'microstructure', measure: measurePool },
  { key: 'e2e', label: 'End-to-End Flow', budgetUs: 2341, suite: 'e2e', goal: p99AtMost(50_000, 'tick-to-order p99 <= 50 us at 100k events/s'), measure: measureE2E },
];
