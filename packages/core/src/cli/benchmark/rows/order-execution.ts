/**
 * "HFT Order Execution": an order from Engine.submit (the pre-trade risk chain, order creation,
 * hand-off) through the sim venue's execution client (@cwts/exchange-sim: PaperExchange, core's
 * MatchingEngine against the venue book) to its first execution report back in the engine (the
 * ack, or the fill of an IOC that takes liquidity): submit -> ack, per order. The venue's
 * simulated network latency is 0 and its queue is drained right after each submit, so the figure
 * is the software path both ways. The engine journals as the default config deploys it (fsync
 * "batch", wired through attachJournal as compose.ts wires it): each order and report is queued
 * for the journal's writer thread, and client ids come from its reservations, taken ahead of
 * need. Beside it, orders per CPU second (the process's own CPU time, which a shared machine's
 * scheduler does not stretch; the journal's writer thread counts in it) without per-order
 * timers: risk chain + sim matching alone (the goal: >= 2M orders/s through risk + matching; no
 * engine, so no journal), and the full round trip with the engine applying every report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../../../contracts/clock.js';
import type { ExecutionClient, MarketDataClient } from '../../../contracts/exchange.js';
import type { ExecutionReport, Order, OrderIntent } from '../../../domain/orders.js';
import { parseDecimal } from '../../../domain/instrument.js';
import { Engine } from '../../../engine/engine.js';
import { attachJournal } from '../../../engine/rebuild.js';
import { JournalStore } from '../../../journal/store.js';
import { MetricsRegistry } from '../../../observability/metrics.js';
import { silentLogger } from '../../../observability/logger.js';
import { RiskManager, runChain } from '../../../risk/index.js';
import { benchRiskConfig } from '../e2e-pipeline.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';
import { loadSimPackage } from '../sim-package.js';

/** CPU time (user + system) since `c0`, ms: on a shared machine, what this process itself spent. */
const cpuMs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
};

const dec = (s: string): number => {
  const d = parseDecimal(s);
  return Number(d.mantissa) / 10 ** d.exponent;
};

/** `[journal]` batch_ms's default. */
const JOURNAL_BATCH_MS = 50;

/** `journal: false`: the engine without a journal (what the row measured before 2026-12-07; comparisons). */
export async function measureOrderExecution(run: RowRun, opts: { journal?: boolean } = {}): Promise<RowMeasurement> {
  if (opts.journal === false) return measureRow(run, undefined);
  // The journal as the default config deploys it; a fresh file, removed at the end.
  const dir = mkdtempSync(join(tmpdir(), 'cwts-order-execution-journal-'));
  const errors: string[] = [];
  const journal = JournalStore.open(join(dir, 'journal.db'), { fsync: 'batch', batchMs: JOURNAL_BATCH_MS, onError: (e) => errors.push(e.message) });
  try {
    const m = await measureRow(run, journal);
    // A deployment halts on a journal failure: a figure measured past one is not what it runs.
    if (errors.length > 0) throw new Error(`order execution: the journal failed: ${errors.join('; ')}`);
    return m;
  } finally {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRow(run: RowRun, journal: JournalStore | undefined): Promise<RowMeasurement> {
  const n = iterations(run, 50_000, 500_000);
  const sim = await loadSimPackage(run.baseDir);
  const clock = new ManualClock(1_764_900_000_000);
  const venue = new sim.SimVenue({ exchange: 'sim', clock, options: sim.resolveSimOptions({ seed: 5, latency_ms: 0, drive: 'manual', events_per_second: 1000 }), symbols: ['BTCUSDT'] });
  const metrics = new MetricsRegistry({ processMetrics: false });
  const risk = new RiskManager({ risk: benchRiskConfig(), metrics, initialEquity: 1e9, timers: false });
  const logger = silentLogger();
  const engine = new Engine({
    clock,
    logger,
    metrics,
    watchdog: false,
    risk,
    riskChecks: risk.checks,
    journal,
    // As compose.ts: restore, then client ids from the journal's reservations.
    restore: journal ? (e) => attachJournal(e, journal, logger) : undefined,
    venues: [{ name: 'sim', symbols: ['BTCUSDT'], marketData: venue.marketData as MarketDataClient, execution: venue.execution as ExecutionClient }],
  });
  await engine.start();
  // The row's loops never yield to the event loop, where the journal's batch timer runs: the
  // hand-over is made here instead, between orders, once per batch_ms (as the timer would).
  let handOverAt = performance.now() + JOURNAL_BATCH_MS;
  const market = (ms: number): void => {
    clock.advance(ms);
    venue.advanceTo(clock.now());
    const now = performance.now();
    if (journal !== undefined && now >= handOverAt) {
      journal.handOver();
      handOverAt = now + JOURNAL_BATCH_MS;
    }
  };
  market(2000);
  const inst = engine.instrument('sim', 'BTCUSDT');
  const book = engine.book('sim', 'BTCUSDT');
  if (!inst || !book || book.bestAsk() === undefined) throw new Error('order execution: the sim book did not come up');
  // twice the minimum notional (at least 2 lots), alternating sides: the position stays flat
  const px = book.bestAsk()! * dec(inst.tickSize);
  const qty = Math.max(2, Math.ceil((2 * Math.max(dec(inst.minNotional), 1)) / (px * dec(inst.lotSize))));
  let waiting = '';
  let ackAt = -1;
  venue.paper.setReportHandler(((r: ExecutionReport) => {
    if (ackAt < 0 && r.clientOrderId === waiting) ackAt = performance.now();
    engine.onExecutionReport(r);
  }) as never);
  const intent = (i: number): OrderIntent => {
    const buy = (i & 1) === 0;
    const touch = buy ? book.bestAsk()! : book.bestBid()!;
    return { exchange: 'sim', symbol: 'BTCUSDT', side: buy ? 'buy' : 'sell', type: 'limit', price: buy ? touch + 5 : touch - 5, qty, tif: 'IOC', source: 'benchmark' };
  };
  const one = (i: number, timed: LatencySamples | undefined): void => {
    const it = intent(i);
    ackAt = -1;
    const t = performance.now();
    const res = engine.submit(it);
    if (!res.accepted) throw new Error(`order execution: order refused: ${res.reason} ${res.message ?? ''}`);
    waiting = res.clientOrderId!;
    venue.paper.processDue(Infinity);
    if (ackAt < 0) throw new Error('order execution: no report for the order');
    timed?.record((ackAt - t) * 1e6);
  };
  for (let i = 0; i < Math.min(n, 5000); i++) {
    one(i, undefined);
    if ((i & 255) === 255) market(20);
  }
  const s = new LatencySamples(n);
  for (let i = 0; i < n; i++) {
    one(i, s);
    // the venue's market moves on between orders (untimed), refilling what the orders took
    if ((i & 255) === 255) market(20);
    if ((i & 4095) === 0) run.progress((0.7 * i) / n);
  }
  // throughput: the same path, no per-order timer (market steps excluded from the time)
  let busy = 0;
  let cpuBusy = 0;
  let done = 0;
  while (done < n) {
    const batch = Math.min(256, n - done);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < batch; k++) {
      const res = engine.submit(intent(done + k));
      if (!res.accepted) throw new Error(`order execution: order refused: ${res.reason} ${res.message ?? ''}`);
      venue.paper.processDue(Infinity);
    }
    busy += performance.now() - t0;
    cpuBusy += cpuMs(c0);
    done += batch;
    market(20);
  }
  // risk + matching alone: the chain, then the sim venue's paper matching; its reports are
  // counted and dropped (the engine's report handling is the figure above, not this one)
  let reports = 0;
  venue.paper.setReportHandler((() => void reports++) as never);
  const chain = risk.checks;
  let narrowBusy = 0;
  let narrowCpu = 0;
  let k = 0;
  while (k < n) {
    const batch = Math.min(256, n - k);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = 0; j < batch; j++, k++) {
      const it = intent(k);
      const d = runChain(chain, it, engine);
      if (!d.ok) throw new Error(`order execution: risk refused: ${d.reason} ${d.message}`);
      // the shape OrderManager.create gives an order: `{ ...it, more keys }` would cost the loop
      // ~8 us an order of V8 slow-path stores, more than the path it measures
      const now = clock.now();
      const order: Order = {
        exchange: it.exchange, symbol: it.symbol, side: it.side, type: it.type, price: it.price, qty: it.qty, tif: it.tif, reduceOnly: undefined, source: it.source, reason: undefined,
        clientOrderId: `bench-${k}`, venueOrderId: undefined, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: now, updatedTs: now, rejectReason: undefined, text: undefined,
      };
      (venue.execution as ExecutionClient).submit(order);
      venue.paper.processDue(Infinity);
    }
    narrowBusy += performance.now() - t0;
    narrowCpu += cpuMs(c0);
    market(20);
  }
  venue.paper.setReportHandler(((r: ExecutionReport) => engine.onExecutionReport(r)) as never);
  run.progress(1);
  const summary = engine.summary();
  const ids = journal?.reservationStats;
  await engine.stop('benchmark');
  return {
    latency: s.summary(),
    what: `Engine.submit (risk chain) -> sim venue execution client (paper matching) -> first report in the engine, ${n} IOC orders of ${qty} lots (timer included); ${ids ? `journal on as deployed (fsync batch: ${ids.ahead} client id reservations taken ahead, ${ids.waits} waited for, longest ${(ids.maxWaitUs / 1000).toFixed(1)} ms)` : 'NO journal'}`,
    figures: [
      { name: 'orders per second through risk + sim matching', metric: 'orders/s per CPU second', unit: 'orders/s', value: Math.round((n * 1000) / narrowCpu), note: `${n} IOC orders: the pre-trade chain, then the sim venue's execution client and paper matching (no engine, so no journal); ${reports} reports produced and dropped; per second of the process's CPU time (wall clock: ${Math.round((n * 1000) / narrowBusy)}/s on this machine)` },
      { name: 'orders per second, full round trip', metric: 'orders/s per CPU second', unit: 'orders/s', value: Math.round((n * 1000) / cpuBusy), note: `${n} orders: Engine.submit, sim matching, and the engine applying every report (orders, positions, risk, metrics, the journal's queue; its writer thread's CPU counts in the process's); ${summary.fills} fills in the run; wall clock: ${Math.round((n * 1000) / busy)}/s` },
    ],
  };
}
