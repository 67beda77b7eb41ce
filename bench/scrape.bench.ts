/**
 * `pnpm bench scrape`: does scraping the app delay market events? The engine runs in a fresh
 * child process (bench/workers/scrape-engine.ts: the reference sim deployment at SCRAPE_RATE
 * events/s with /metrics and /status served as `cwts-ultra run` serves them) and measures its
 * own event-loop delay p99 (monitorEventLoopDelay, 1 ms resolution) over a window, in four
 * conditions, interleaved per repeat so a load spike on the machine hits each alike:
 *   idle        no scrapers
 *   paced       50 scrapers, each once per SCRAPE_PACE_MS (default 1000), against the app as shipped
 *   snapshot    50 concurrent scrapers of /metrics in closed loops, the app as shipped: a worker
 *               thread answers from a text the engine renders at most every 250 ms
 *   per-request the same 50 scrapers against the previous behaviour: every scrape renders on
 *               the engine thread
 * (SCRAPE_STATUS=1: every other scraper asks /status instead, served on the engine thread from
 * the snapshot hub.)
 * Goal: p99 with scrapers within 1 ms of idle p99 (checked for paced and closed-loop scrapers). The scrapers run in this process (another core's
 * worth of work on a 2-core machine: the figures include that contention). The load average is
 * recorded beside every run, as the machine is shared.
 * Env: SCRAPE_STATUS, SCRAPE_PACE_MS, SCRAPE_REPEATS (default 3), SCRAPE_RATE (2000, the sim option events_per_second; the measured events/s are reported), SCRAPE_WARMUP_MS (2000), SCRAPE_WINDOW_MS (5000), SCRAPE_CLIENTS (50).
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT, log, median, writeResults, type BenchResult } from './lib/harness.js';

const REPEATS = Number(process.env.SCRAPE_REPEATS ?? 3);
const CLIENTS = Number(process.env.SCRAPE_CLIENTS ?? 50);
const RATE = Number(process.env.SCRAPE_RATE ?? 2000);
const GOAL_MS = 1;
const WORKER = join(ROOT, 'bench/workers/scrape-engine.ts');

/** idle: no scrapers; paced: each scraper once per PACE_MS; snapshot / per-request: closed loops. */
type Condition = 'idle' | 'paced' | 'snapshot' | 'per-request';
const PACE_MS = Number(process.env.SCRAPE_PACE_MS ?? 1000);
const STATUS_TOO = process.env.SCRAPE_STATUS === '1';
interface EngineResult {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
  eventsPerSecond: number;
}
interface Run extends EngineResult {
  condition: Condition;
  scrapes: number;
  scrapeP99Ms: number;
  load1: number;
}

/** CLIENTS closed-loop scrapers on keep-alive connections until stop() is called. */
function scrapers(ports: { metrics: number; health: number }, paceMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  let running = true;
  let count = 0;
  const times: number[] = [];
  const one = (port: number, path: string) =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          count++;
          times.push(performance.now() - t);
          resolve();
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
  const loops = Array.from({ length: CLIENTS }, async (_, i) => {
    // Scrapers scrape /metrics; SCRAPE_STATUS=1 sends every other one to /status (served on the engine thread from its snapshot).
    const [port, path] = STATUS_TOO && i % 2 === 1 ? [ports.health, '/status'] : [ports.metrics, '/metrics'];
    // Paced scrapers start spread over the interval, like independent Prometheus servers.
    if (paceMs > 0) await new Promise((r) => setTimeout(r, (i * paceMs) / CLIENTS));
    while (running) {
      const t = performance.now();
      await one(port, path);
      if (paceMs > 0 && running) await new Promise((r) => setTimeout(r, Math.max(0, paceMs - (performance.now() - t))));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      const s = times.sort((a, b) => a - b);
      return { count, p99: s.length ? s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)]! : 0 };
    },
  };
}

async function runOnce(condition: Condition): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, condition === 'per-request' ? 'per-request' : 'snapshot'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SCRAPE_RATE: String(RATE) } });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = createInterface({ input: child.stdout! });
  let load: ReturnType<typeof scrapers> | undefined;
  let result: EngineResult | undefined;
  for await (const line of lines) {
    const msg = JSON.parse(line) as { ports?: { metrics: number; health: number }; result?: EngineResult };
    if (msg.ports && condition !== 'idle') load = scrapers(msg.ports, condition === 'paced' ? PACE_MS : 0);
    if (msg.result) {
      result = msg.result;
      break;
    }
  }
  const load1 = loadavg()[0]!;
  const scraped = load ? await load.stop() : { count: 0, p99: 0 };
  await exited;
  if (!result) throw new Error(`scrape engine (${condition}) exited without a result`);
  return { condition, ...result, scrapes: scraped.count, scrapeP99Ms: Math.round(scraped.p99 * 100) / 100, load1: Math.round(load1 * 100) / 100 };
}

const conditions: Condition[] = ['idle', 'paced', 'snapshot', 'per-request'];
const runs: Run[] = [];
for (let r = 0; r < REPEATS; r++) {
  for (const c of conditions) {
    const run = await runOnce(c);
    runs.push(run);
    log(`repeat ${r + 1}/${REPEATS} ${c.padEnd(11)} lag p50 ${run.p50} ms p99 ${run.p99} ms p99.9 ${run.p999} ms max ${run.max} ms, ${run.eventsPerSecond} events/s, ${run.scrapes} scrapes (scrape p99 ${run.scrapeP99Ms} ms), load1 ${run.load1}`);
  }
}

const of = (c: Condition) => runs.filter((r) => r.condition === c);
const med = (c: Condition, k: keyof EngineResult | 'scrapes' | 'load1') => median(of(c).map((r) => r[k] as number));
const idle = med('idle', 'p99');
const snap = med('snapshot', 'p99');
const perReq = med('per-request', 'p99');
const loads = runs.map((r) => r.load1);
const note = (c: Condition) =>
  `median of ${REPEATS} fresh processes (p99s ${of(c).map((r) => r.p99).join(', ')} ms; load1 ${of(c).map((r) => r.load1).join(', ')}); ${RATE} sim events/s; ${c === 'idle' ? 'no scrapers' : `${CLIENTS} ${c === 'paced' ? `scrapers, each every ${PACE_MS} ms` : 'closed-loop scrapers'} (${med(c, 'scrapes')} scrapes per run)`}`;
const results: BenchResult[] = [
  { name: 'event-loop lag p99, no scrapers', metric: 'engine event-loop delay p99 (median of runs)', unit: 'ms', value: idle, note: note('idle') },
  { name: `event-loop lag p99, ${CLIENTS} scrapers each every ${PACE_MS} ms (snapshot)`, metric: 'engine event-loop delay p99 (median of runs)', unit: 'ms', value: med('paced', 'p99'), peer: 'no scrapers', peerValue: idle, note: `${note('paced')}; goal: within ${GOAL_MS} ms of no scrapers: ${med('paced', 'p99') - idle <= GOAL_MS ? 'MET' : 'MISSED'} (+${Math.round((med('paced', 'p99') - idle) * 1000) / 1000} ms)` },
  { name: `event-loop lag p99, ${CLIENTS} closed-loop scrapers (snapshot)`, metric: 'engine event-loop delay p99 (median of runs)', unit: 'ms', value: snap, peer: 'no scrapers', peerValue: idle, note: `${note('snapshot')}; goal: within ${GOAL_MS} ms of no scrapers: ${snap - idle <= GOAL_MS ? 'MET' : 'MISSED'} (+${Math.round((snap - idle) * 1000) / 1000} ms)` },
  { name: `event-loop lag p99, ${CLIENTS} closed-loop scrapers (render per scrape)`, metric: 'engine event-loop delay p99 (median of runs)', unit: 'ms', value: perReq, peer: `${CLIENTS} closed-loop scrapers (snapshot)`, peerValue: snap, note: `${note('per-request')}; the behaviour before the snapshot` },
  { name: `event-loop lag max, ${CLIENTS} closed-loop scrapers (snapshot)`, metric: 'engine event-loop delay max (median of runs)', unit: 'ms', value: med('snapshot', 'max'), peer: 'no scrapers', peerValue: med('idle', 'max') },
];
const file = writeResults('scrape', results, { loadAverage: { min: Math.min(...loads), max: Math.max(...loads) }, runs });
log(`\n${results.map((r) => `${r.name.padEnd(52)} ${String(r.value).padStart(8)} ${r.unit}${r.peer ? `   (${r.peer}: ${r.peerValue} ${r.unit})` : ''}`).join('\n')}`);
log(`load average (1 min) during the runs: ${Math.min(...loads)} .. ${Math.max(...loads)}`);
log(`wrote ${file}`);
