/**
 * `pnpm bench risk`: the pre-trade check chain built from `[risk]` (risk_state, instrument_rules,
 * book_health, price_band, max_order_notional, max_position incl. total, max_open_orders,
 * self_trade, order_rate), run against a live Engine as its RiskContext: synced book, positions
 * in 3 instruments, 4 of our orders resting on the symbol. Per-call latency of the whole chain
 * (accepted path: every check runs) and of a rejected intent, with HdrHistogram; the engine's
 * full submit path (chain + order creation + hand-off to the execution client) beside it; GC
 * and heap growth over the run. `check chain p99` is what `cwts-ultra benchmark` shows on the
 * seed's "HFT Order Execution" row. Goal: p99 <= 1 us per chain.
 * Env: RISK_ITERS (default 2_000_000), RISK_REPEATS (default 5).
 */
import { performance } from 'node:perf_hooks';
import { ManualClock, defineInstrument } from '../packages/core/dist/index.js';
import { MetricsRegistry, silentLogger } from '../packages/core/dist/observability/index.js';
import { Engine } from '../packages/core/dist/engine/index.js';
import { ScriptedVenue } from '../packages/core/dist/engine/test-venue.js';
import { RiskManager, runChain } from '../packages/core/dist/risk/index.js';
import { GcWatch, forceGc, heapUsedMiB, histogram, log, median, percentiles, timerOverheadNs, writeResults, type BenchResult } from './lib/harness.js';

const ITERS = Number(process.env.RISK_ITERS ?? 2_000_000);
const REPEATS = Number(process.env.RISK_REPEATS ?? 5);
const results: BenchResult[] = [];
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

const INSTR = [
  defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }),
  defineInstrument({ exchange: 'sim', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.0001', minNotional: '5' }),
  defineInstrument({ exchange: 'sim', symbol: 'SOLUSDT', base: 'SOL', quote: 'USDT', tickSize: '0.001', lotSize: '0.01', minNotional: '5' }),
];
const MIDS = [6_000_000, 300_000, 150_000];

async function setup() {
  const venue = new ScriptedVenue('sim', INSTR);
  const clock = new ManualClock(1_700_000_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({
    risk: { max_position: 1_000_000, max_total_position: 5_000_000, max_order_notional: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 1_000_000, price_band_bps: 500, orders_per_second: 1e12 },
    metrics, initialEquity: 1_000_000, timers: false,
  });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, venues: [{ name: 'sim', symbols: INSTR.map((i) => i.symbol), marketData: venue, execution: venue }] });
  await engine.start();
  INSTR.forEach((i, k) => {
    const bids = Array.from({ length: 20 }, (_, d) => ({ price: MIDS[k]! - 1 - d, qty: 1000 + d }));
    const asks = Array.from({ length: 20 }, (_, d) => ({ price: MIDS[k]! + 1 + d, qty: 1000 + d }));
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'sim', symbol: i.symbol, ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids, asks });
  });
  // Positions in every instrument (filled orders), then 4 resting orders on BTC away from the touch.
  INSTR.forEach((i, k) => {
    const res = engine.submit({ exchange: 'sim', symbol: i.symbol, side: 'buy', type: 'limit', price: MIDS[k]! + 1, qty: 5000, tif: 'IOC', source: 'bench' });
    if (!res.accepted) throw new Error(`setup order refused: ${res.reason} ${res.message}`);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: o.qty, cumQty: o.qty, leavesQty: 0, tradeId: `f${k}` });
  });
  for (let k = 0; k < 4; k++) {
    const side = k % 2 === 0 ? 'buy' : 'sell';
    const res = engine.submit({ exchange: 'sim', symbol: 'BTCUSDT', side, type: 'limit', price: side === 'buy' ? MIDS[0]! - 500 - k : MIDS[0]! + 500 + k, qty: 100, tif: 'GTC', source: 'bench' });
    if (!res.accepted) throw new Error(`setup resting order refused: ${res.reason} ${res.message}`);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: 100 });
  }
  return { engine, risk, venue };
}

async function main(): Promise<void> {
  const { engine, risk, venue } = await setup();
  const chain = risk.checks;
  const overhead = timerOverheadNs();
  log(`chain: ${chain.map((c) => c.name).join(' -> ')}; timer overhead p50 ${overhead} ns`);
  // Accepted path: a buy and a sell inside every limit, between our resting orders (no self-trade).
  const intents = [
    { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy' as const, type: 'limit' as const, price: MIDS[0]! - 10, qty: 200, tif: 'GTC' as const, source: 'bench' },
    { exchange: 'sim', symbol: 'BTCUSDT', side: 'sell' as const, type: 'limit' as const, price: MIDS[0]! + 10, qty: 200, tif: 'GTC' as const, source: 'bench' },
    { exchange: 'sim', symbol: 'ETHUSDT', side: 'buy' as const, type: 'limit' as const, price: MIDS[1]! - 3, qty: 1000, tif: 'GTC' as const, source: 'bench' },
    { exchange: 'sim', symbol: 'SOLUSDT', side: 'sell' as const, type: 'market' as const, qty: 100, tif: 'IOC' as const, source: 'bench' },
  ];
  for (const i of intents) {
    const d = runChain(chain, i, engine);
    if (!d.ok) throw new Error(`bench intent refused: ${d.reason} ${d.message}`);
  }
  const fat = { ...intents[0]!, price: MIDS[0]! * 2 }; // price band rejection, 4th check

  // Warm up (JIT).
  for (let k = 0; k < 200_000; k++) runChain(chain, intents[k & 3]!, engine);

  const p99s: number[] = [];
  const p50s: number[] = [];
  const p999s: number[] = [];
  const rejP99s: number[] = [];
  const batchNs: number[] = [];
  const gc = new GcWatch();
  forceGc();
  const heap0 = heapUsedMiB();
  gc.start();
  for (let rep = 0; rep < REPEATS; rep++) {
    const h = histogram();
    for (let k = 0; k < ITERS; k++) {
      const it = intents[k & 3]!;
      const t = performance.now();
      runChain(chain, it, engine);
      h.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
    }
    const p = percentiles(h);
    p50s.push(p.p50);
    p99s.push(p.p99);
    p999s.push(p.p999);
    const hr = histogram();
    for (let k = 0; k < ITERS / 4; k++) {
      const t = performance.now();
      runChain(chain, fat, engine);
      hr.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
    }
    rejP99s.push(percentiles(hr).p99);
    const t0 = performance.now();
    for (let k = 0; k < ITERS; k++) runChain(chain, intents[k & 3]!, engine);
    batchNs.push(((performance.now() - t0) * 1e6) / ITERS);
    log(`repeat ${rep + 1}: chain p50 ${p.p50} ns, p99 ${p.p99} ns, p99.9 ${p.p999} ns, max ${p.max} ns; rejected p99 ${rejP99s.at(-1)} ns; batch mean ${batchNs.at(-1)!.toFixed(1)} ns/chain`);
  }
  await gc.stop();
  forceGc();
  const heap1 = heapUsedMiB();
  const chainCalls = REPEATS * ITERS * 2.25;

  // The engine's whole submit path: checks, order creation, journal-less hand-off to the venue.
  const hs = histogram();
  const SUBMITS = Math.min(ITERS, 300_000);
  for (let k = 0; k < SUBMITS; k++) {
    const t = performance.now();
    const r = engine.submit(intents[k & 3]!);
    hs.recordValue(Math.max(1, Math.round((performance.now() - t) * 1e6)));
    if (!r.accepted) throw new Error(`submit refused: ${r.reason} ${r.message}`);
    // Keep the venue's and the engine's open set flat: cancel right away.
    engine.cancel(r.clientOrderId!);
    if (venue.submitted.length > 10_000) venue.submitted.length = 0;
    if (venue.cancelled.length > 10_000) venue.cancelled.length = 0;
  }
  const sp = percentiles(hs);

  const note = `median of ${REPEATS} repeats x ${ITERS} chains; per-call timing includes the timer (p50 ${overhead} ns); ${chain.length} checks, 3 positions, 4 resting orders`;
  results.push(
    { name: 'check chain p99', metric: 'p99 latency', unit: 'ns', value: median(p99s), note },
    { name: 'check chain p50', metric: 'p50 latency', unit: 'ns', value: median(p50s), note },
    { name: 'check chain p99.9', metric: 'p99.9 latency', unit: 'ns', value: median(p999s), note },
    { name: 'check chain rejected (price band) p99', metric: 'p99 latency', unit: 'ns', value: median(rejP99s) },
    { name: 'check chain mean (batch, no per-call timer)', metric: 'mean latency', unit: 'ns', value: r3(median(batchNs)) },
    { name: 'engine submit incl. checks p99', metric: 'p99 latency', unit: 'ns', value: sp.p99, note: `${SUBMITS} submits, each cancelled at once (p50 ${sp.p50} ns)` },
    { name: 'timer overhead p50', metric: 'p50', unit: 'ns', value: overhead },
    { name: 'check chain GC count', metric: 'count', unit: 'gc', value: gc.count, note: `${chainCalls} chains; total pause ${r3(gc.totalMs)} ms, max ${r3(gc.maxMs)} ms` },
    { name: 'check chain heap growth', metric: 'heap used delta', unit: 'MiB', value: r3(heap1 - heap0) },
  );
  const file = writeResults('risk', results, { goal: 'check chain p99 <= 1 us' });
  log(`check chain p99 ${median(p99s)} ns (goal <= 1000 ns); GCs ${gc.count} over ${chainCalls} chains; heap ${heap0} -> ${heap1} MiB`);
  log(`wrote ${file}`);
  await engine.stop('bench');
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
