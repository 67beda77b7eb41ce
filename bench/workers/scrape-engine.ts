/**
 * One engine process for `pnpm bench scrape`: the reference app's sim deployment (sim venue at
 * SCRAPE_RATE events/s, its detectors, strategy and risk; no journal) with /metrics and /status
 * served as `cwts-ultra run` serves them. Prints `{"ports": ...}` once serving, then, after the
 * warm-up, measures its own event-loop delay (perf_hooks monitorEventLoopDelay, 1 ms resolution)
 * for the window and prints one JSON result line.
 * argv[2]: "snapshot" (the app: /metrics answered by a worker thread from a text rendered at
 * most every 250 ms, /status from the SnapshotHub) or "per-request" (the previous behaviour:
 * every scrape renders on the engine thread).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { loadConfigFile } from '../../packages/core/dist/config/index.js';
import { composeDeployment, engineHealth, engineStatus } from '../../packages/core/dist/engine/index.js';
import { HttpEndpoint, MetricsRegistry, MetricsSnapshot, OffThreadMetricsEndpoint, SnapshotHub, healthRoutes, metricsRoutes, silentLogger } from '../../packages/core/dist/observability/index.js';
import { ROOT } from '../lib/harness.js';

const mode = process.argv[2] === 'per-request' ? 'per-request' : 'snapshot';
const RATE = Number(process.env.SCRAPE_RATE ?? 2000);
const WARMUP_MS = Number(process.env.SCRAPE_WARMUP_MS ?? 2000);
const WINDOW_MS = Number(process.env.SCRAPE_WINDOW_MS ?? 5000);

const loaded = loadConfigFile(join(ROOT, 'examples/reference-app/config/sim.toml'));
const metrics = new MetricsRegistry();
const logger = silentLogger();
const dep = await composeDeployment({ loaded, logger, metrics, journal: false, venueOptionOverrides: { sim: { events_per_second: RATE } } });
const engine = dep.engine;
const components = () => engineHealth(engine, () => []);
const statusOf = () => engineStatus(engine, { system: 'bench', mode: 'paper', health: components() });
const hub = new SnapshotHub(statusOf);
// As `cwts-ultra run` serves it (a worker thread answering from a text rendered at most every
// 250 ms), or as it was before (every scrape rendered on the engine thread).
const metricsHttp = mode === 'snapshot' ? new OffThreadMetricsEndpoint(metrics) : new HttpEndpoint('metrics', metricsRoutes(new MetricsSnapshot(metrics, 0)));
const healthHttp = new HttpEndpoint('health', healthRoutes(components, mode === 'snapshot' ? () => hub.currentJson() : statusOf));
const metricsPort = await metricsHttp.listen(0, '127.0.0.1');
const healthPort = await healthHttp.listen(0, '127.0.0.1');
await engine.start();
process.stdout.write(JSON.stringify({ ports: { metrics: metricsPort, health: healthPort } }) + '\n');

await new Promise((r) => setTimeout(r, WARMUP_MS));
const h = monitorEventLoopDelay({ resolution: 1 });
const events0 = engine.summary().events;
h.enable();
await new Promise((r) => setTimeout(r, WINDOW_MS));
h.disable();
const events = engine.summary().events - events0;
const ms = (ns: number) => Math.round((ns / 1e6) * 1000) / 1000;
process.stdout.write(JSON.stringify({ result: { mode, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), samples: h.count, eventsPerSecond: Math.round(events / (WINDOW_MS / 1000)) } }) + '\n');
await dep.dispose();
await Promise.allSettled([metricsHttp.close(), healthHttp.close()]);
hub.close();
process.exit(0);
