/**
 * The config of one load-test step: the simulated venue at the step's event rate, the load
 * strategy, the built-in detectors, and risk limits sized so that the load is what is measured
 * (not the default 50 orders/s limit). Ports are 0: the app picks free ones and logs them.
 */
import { fileURLToPath } from 'node:url';
import { locatePlugin } from '../../plugins/resolve.js';

/** The sim venue's largest events_per_second (exchange-sim's option schema); the "max" step offers it. */
export const MAX_SIM_EVENTS_PER_SECOND = 1_000_000;

export interface StepConfigOptions {
  eventsPerSecond: number;
  eventsPerOrder: number;
  symbols: readonly string[];
  /** `[journal] fsync` of the app under load ("batch" is the default deployments use). */
  fsync: 'always' | 'batch' | 'never';
  /** Where plugins are resolved from (the directory the command runs in). */
  baseDir: string;
}

/** The load strategy's module, as built (src/ and dist/ sit at the same depth in the package). */
export function loadStrategyPath(): string {
  return fileURLToPath(new URL('../../../dist/cli/load-test/load-strategy.js', import.meta.url));
}

/** The sim venue's module, resolved as the app would resolve it; a clear error when absent. */
export function simPluginPath(baseDir: string): string {
  const found = locatePlugin('@cwts/exchange-sim', baseDir);
  if ('url' in found) return fileURLToPath(found.url);
  throw new Error(`load-test drives the simulated venue: @cwts/exchange-sim is not installed (pnpm add @cwts/exchange-sim); looked in ${found.searched.join(', ')}`);
}

const q = (s: string) => JSON.stringify(s);

export function stepConfigToml(o: StepConfigOptions): string {
  return `# Written by cwts-ultra load-test for one step; deleted afterwards.
[system]
name = "cwts-load-test"
log_level = "info"
mode = "paper"
on_shutdown = "cancel"

[performance]
thread_pool_size = 1

[exchanges]
enabled = ["sim"]

[sim]
plugin = ${q(simPluginPath(o.baseDir))}
symbols = [${o.symbols.map(q).join(', ')}]

[sim.options]
seed = 1
events_per_second = ${o.eventsPerSecond}

[risk]
# Sized for the load: the strategy's IOCs never fill, so positions stay flat; the rate and
# open-order limits are far above what any step offers.
max_position = 1000000
max_drawdown = 0.5
var_confidence = 0.99
max_open_orders = 1000000
orders_per_second = 100000000

[monitoring]
metrics_port = 0
health_check_port = 0
bind_address = "127.0.0.1"
control_port = 0

[compute]
backends = ["js"]

[detectors.whale]
enabled = true

[detectors.cascade]
enabled = true

[strategy]
plugin = ${q(loadStrategyPath())}
events_per_order = ${o.eventsPerOrder}

[journal]
fsync = ${q(o.fsync)}
`;
}
