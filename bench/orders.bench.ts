/**
 * `pnpm bench orders`: the bookkeeping every order and fill goes through outside the matching
 * itself. (1) Windows of recent ids (applied trade ids, finished orders, report dedupe): core's
 * BoundedIdSet against the idiom it replaced, `set.add(id); if (set.size > cap)
 * set.delete(set.values().next().value)`, both full (the steady state of a long-running process),
 * the same fresh ids in the same order, alternating per repeat after a warm-up of each. (2) The
 * sim venue's paper execution alone: an IOC order submitted, matched against a 20-level venue
 * book and reported (ack, then one or two fills), its history kept. Figures are CPU time per
 * operation (process.cpuUsage), which a shared machine's scheduler does not stretch. Runs the
 * compiled packages (dist). Env: ORDERS_OPS (default 200000), ORDERS_REPEATS (5).
 */
import { BoundedIdSet, defineInstrument, type ExecutionReport, type Order } from '../packages/core/dist/index.js';
import { L2Book } from '../packages/core/dist/microstructure/index.js';
import { PaperExchange, type PaperVenue } from '../packages/exchange-sim/dist/paper.js';
import { forceGc, log, median, writeResults, type BenchResult } from './lib/harness.js';

const N = Number(process.env.ORDERS_OPS ?? 200_000);
const REPEATS = Number(process.env.ORDERS_REPEATS ?? 5);
const results: BenchResult[] = [];

const cpuNs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) * 1e3;
};
const spread = (xs: number[]): string => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;

// ---- (1) windows of recent ids ----------------------------------------------------------

interface IdWindow {
  add(id: string): boolean;
}

/** The idiom BoundedIdSet replaced (what Binance's and ccxt's adapters and the sim venue did). */
class IteratorEvictedSet implements IdWindow {
  private readonly set = new Set<string>();
  constructor(private readonly capacity: number) {}
  add(id: string): boolean {
    if (this.set.has(id)) return false;
    this.set.add(id);
    if (this.set.size > this.capacity) this.set.delete(this.set.values().next().value as string);
    return true;
  }
}

/** ns of CPU per add into a full window: `capacity` ids first (untimed), then `n` fresh ids. */
function timeWindow(w: IdWindow, capacity: number, ids: string[], n: number): number {
  for (let i = 0; i < capacity; i++) w.add(ids[i]!);
  const c0 = process.cpuUsage();
  for (let i = capacity; i < capacity + n; i++) w.add(ids[i]!);
  return cpuNs(c0) / n;
}

function idWindows(): void {
  for (const capacity of [4096, 65_536]) {
    // at least two windows' worth of adds: the idiom's cost climbs as deleted entries pile up
    // and drops at each rehash, so a shorter run would catch only part of that cycle
    const n = Math.max(N, 2 * capacity);
    const ids = Array.from({ length: capacity + n }, (_, i) => `BTCUSDT|${1_000_000_000 + i}`);
    timeWindow(new BoundedIdSet(capacity), capacity, ids, Math.min(n, 20_000));
    timeWindow(new IteratorEvictedSet(capacity), capacity, ids, Math.min(n, 2000));
    const ours: number[] = [];
    const idiom: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      forceGc();
      ours.push(timeWindow(new BoundedIdSet(capacity), capacity, ids, n));
      forceGc();
      idiom.push(timeWindow(new IteratorEvictedSet(capacity), capacity, ids, n));
    }
    log(`id window ${capacity}: BoundedIdSet ${Math.round(median(ours))} ns/add (${spread(ours)}), iterator eviction ${Math.round(median(idiom))} ns/add (${spread(idiom)})`);
    results.push({
      name: `id window of ${capacity}, full: add a new id`,
      metric: 'median of runs',
      unit: 'ns CPU/add',
      value: Math.round(median(ours)),
      peer: 'Set + delete(set.values().next().value) (the idiom replaced)',
      peerValue: Math.round(median(idiom)),
      note: `${n} fresh ids after ${capacity}, ${REPEATS} runs each, alternating; ours ${spread(ours)}, idiom ${spread(idiom)} ns; ratio ${(median(idiom) / median(ours)).toFixed(1)}x`,
    });
  }
}

// ---- (2) the sim venue's paper execution -------------------------------------------------

function paperIoc(): void {
  const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' });
  const book = new L2Book('sim', 'BTCUSDT');
  const levels = (best: number, dir: number) => Array.from({ length: 20 }, (_, d) => ({ price: best + dir * d * 50, qty: 50_000 + d * 100 }));
  const refill = (): void => book.applySnapshot({ seq: 1, bids: levels(5_999_900, -1), asks: levels(6_000_000, 1) });
  const venue: PaperVenue = { exchange: 'sim', instrument: (s) => (s === 'BTCUSDT' ? BTC : undefined), book: (s) => (s === 'BTCUSDT' ? book : undefined), onLiquidityTaken: () => {} };
  let reports = 0;
  let fills = 0;
  const run = (paper: PaperExchange, n: number, tag: string): number => {
    refill();
    const c0 = process.cpuUsage();
    for (let k = 0; k < n; k++) {
      const buy = (k & 1) === 0;
      // an order as OrderManager.create shapes it: 2,000 lots limited to the second level, so every
      // order fills (one or two fills) between two refills
      const order: Order = {
        exchange: 'sim', symbol: 'BTCUSDT', side: buy ? 'buy' : 'sell', type: 'limit', price: buy ? 6_000_050 : 5_999_850, qty: 2000, tif: 'IOC', reduceOnly: undefined, source: 'bench', reason: undefined,
        clientOrderId: `${tag}-${k}`, venueOrderId: undefined, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, rejectReason: undefined, text: undefined,
      };
      paper.submit(order, 0);
      paper.processDue(Infinity);
      if ((k & 63) === 63) refill(); // the venue's market refills what the orders took (timed: a book snapshot per 64 orders)
    }
    return cpuNs(c0) / n;
  };
  const paper = new PaperExchange(venue, { latencyMs: 0, makerFeeBps: '2', takerFeeBps: '5' });
  paper.setReportHandler((r: ExecutionReport) => {
    reports++;
    if (r.kind === 'fill') fills++;
  });
  run(paper, Math.min(N, 20_000), 'warm');
  const per: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    forceGc();
    per.push(run(paper, N, `r${r}`));
  }
  log(`paper IOC: ${Math.round(median(per))} ns CPU/order (${spread(per)}); ${reports} reports, ${fills} fills`);
  results.push({
    name: 'sim venue paper execution: IOC order -> ack and fills (history kept)',
    metric: 'median of runs',
    unit: 'ns CPU/order',
    value: Math.round(median(per)),
    note: `${N} orders x ${REPEATS} runs on one venue (its history fills to its 100,000-order bound), filled at one or two of 20 levels; runs ${spread(per)} ns; ${(1e9 / median(per)).toFixed(0)} orders per CPU second`,
  });
}

idWindows();
paperIoc();
log(`wrote ${writeResults('orders', results)}`);
