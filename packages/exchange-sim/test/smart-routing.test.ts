/**
 * A multi-venue paper run: three simulated venues (recorded books replayed, paper matching with
 * each venue's own taker fee, lot size and latency) behind one engine with the SmartOrderRouter.
 * A parent is split to the cheapest effective prices, and the venues' fills prove it: the
 * children fill exactly the optimum the brute force finds on the same books.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type OrderIntent } from '@cwts/core';
import { Engine } from '@cwts/core/engine';
import { MetricsRegistry, silentLogger } from '@cwts/core/observability';
import { RoutingProblem, SIDE_BUY, SIDE_SELL, SmartOrderRouter, routingSchema } from '@cwts/core/routing';
import { bruteForceRoute } from '@cwts/core/testing';
import { resolveSimOptions } from '../src/options.js';
import { SimVenue } from '../src/venue.js';

const T0 = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sor-'));

interface VenueSpec {
  name: string;
  takerFeeBps: number;
  latencyMs: number;
  lotSize: string;
  /** Asks in the venue's ticks (0.01) and lots. */
  asks: [number, number][];
  /** Bids likewise (default: one level far below). */
  bids?: [number, number][];
  /** Book changes recorded after the snapshot, at T0 + 1. */
  later?: { asks: [number, number][] };
}

/**
 * x: cheapest price, dearest fee (10 bps). y: 1 bp. z: 4 bps, lots of 0.01 BTC (10 of x's and y's
 * 0.001). Effective asks (ticks x (1 + fee)): y1 6_000_900, z1 6_002_550, y2 6_002_600,
 * z2 6_002_800, x1 6_006_000, x2 6_006_100.
 */
const VENUES: VenueSpec[] = [
  { name: 'x', takerFeeBps: 10, latencyMs: 2, lotSize: '0.001', asks: [[6_000_000, 5], [6_000_100, 10]] },
  { name: 'y', takerFeeBps: 1, latencyMs: 5, lotSize: '0.001', asks: [[6_000_300, 3], [6_002_000, 10]] },
  { name: 'z', takerFeeBps: 4, latencyMs: 3, lotSize: '0.01', asks: [[6_000_150, 1], [6_000_400, 10]] },
];
const lotMult = (v: string): number => (v === 'z' ? 10 : 1);

function recording(v: VenueSpec): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: v.name, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: v.lotSize, minNotional: '5' }] };
  const level = ([price, qty]: [number, number]) => ({ price, qty });
  const lines: unknown[] = [
    header,
    { type: 'book_snapshot', exchange: v.name, symbol: 'BTCUSDT', ts: T0, recvTs: T0, seq: 1, reason: 'initial', bids: (v.bids ?? [[5_990_000, 1000]]).map(level), asks: v.asks.map(level) },
  ];
  if (v.later) lines.push({ type: 'book_delta', exchange: v.name, symbol: 'BTCUSDT', ts: T0 + 1, recvTs: T0 + 1, firstSeq: 2, seq: 2, bids: [], asks: v.later.asks.map(level) });
  // keeps the stream open past the orders
  lines.push({ type: 'trade', exchange: v.name, symbol: 'BTCUSDT', ts: T0 + 60_000, recvTs: T0 + 60_000, tradeId: 't1', price: 6_000_000, qty: 1, side: 'buy' });
  const file = join(dir, `${v.name}-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.stop('test');
  engine = undefined;
});

async function paperRun(specs: VenueSpec[]) {
  const clock = new ManualClock(T0);
  const sims = specs.map((v) => new SimVenue({ exchange: v.name, clock, options: resolveSimOptions({ drive: 'manual', replay_file: recording(v), taker_fee_bps: v.takerFeeBps, latency_ms: v.latencyMs }), symbols: ['BTCUSDT'] }));
  const config = routingSchema.parse({ enabled: true, venue: Object.fromEntries(specs.map((v) => [v.name, { taker_fee_bps: v.takerFeeBps }])) });
  const router = new SmartOrderRouter({ config, venues: specs.map((v) => v.name) });
  const reports: ExecutionReport[] = [];
  engine = new Engine({
    clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, router,
    venues: sims.map((s) => ({ name: s.exchange, symbols: ['BTCUSDT'], marketData: s.marketData, execution: s.execution })),
    observer: { fill: (r) => reports.push(r) },
  });
  await engine.start();
  for (const s of sims) s.advanceTo(T0);
  const advance = (ts: number) => {
    // twice: a re-route sent while one venue reports reaches a venue already advanced
    for (let k = 0; k < 2; k++) for (const s of sims) s.advanceTo(ts);
  };
  return { engine, router, sims, reports, advance };
}

const parent: OrderIntent = { exchange: 'x', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_003_000, qty: 20, tif: 'IOC', source: 'test' };

/** The same books on the common grid (x's lots), for the brute force. */
function problemOf(specs: VenueSpec[], intent = parent): RoutingProblem {
  const p = new RoutingProblem(specs.length, 4);
  p.side = intent.side === 'buy' ? SIDE_BUY : SIDE_SELL;
  p.qty = intent.qty;
  p.limit = intent.price!;
  p.maxChildren = 4;
  specs.forEach((v, i) => {
    const mult = lotMult(v.name);
    // min notional 5 USDT in ticks (0.01) x common lots (0.001): 5 / 1e-5
    p.setVenue(i, { levels: (intent.side === 'buy' ? v.asks : v.bids!).map(([px, q]) => [px, q * mult] as [number, number]), feeRate: v.takerFeeBps * 100, lotMult: mult, minNotional: 500_000, headroom: 1 });
  });
  return p;
}

describe('multi-venue paper run with the SmartOrderRouter', () => {
  it('routes a parent to the cheapest effective prices, and the fills equal the brute-force optimum', async () => {
    const { engine, router, reports, advance } = await paperRun(VENUES);
    const res = engine.submit(parent);
    expect(res.accepted).toBe(true);
    advance(T0 + 20);
    const filled = (venue: string) => reports.filter((r) => r.exchange === venue).reduce((a, r) => a + r.lastQty * lotMult(venue), 0);
    // y's 3 at 60003.00, z's one lot (10) at 60001.50, then 7 of y's second level: x gets nothing
    // although its 60000.00 is the best price shown (10 bps of fee make it the dearest).
    expect([filled('x'), filled('y'), filled('z')]).toEqual([0, 10, 10]);
    const fills = reports.map((r) => [r.exchange, r.lastPrice, r.lastQty]).sort();
    expect(fills).toEqual([['y', 6_000_300, 3], ['y', 6_002_000, 7], ['z', 6_000_150, 1]]);
    const bf = bruteForceRoute(problemOf(VENUES));
    expect(bf.filledQty).toBe(20);
    expect(bf.childQty).toEqual([0, 10, 10]);
    // fees as the venues charged them, each fill rounded up: 1 bp on y (atoms of 1e-5 USDT), 4 bps
    // on z (atoms of 1e-4 USDT: 10 common atoms each)
    const fee = (venue: string) => reports.filter((r) => r.exchange === venue).reduce((a, r) => a + r.feeAtoms, 0n);
    expect(fee('y')).toBe(1801n + 4202n);
    expect(fee('z')).toBe(2401n);
    const p = router.parent(res.clientOrderId!)!;
    expect(p.status).toBe('filled');
    expect(p.filledQty).toBe(20);
    expect(p.filledNotional).toBe(3n * 6_000_300n + 7n * 6_002_000n + 10n * 6_000_150n);
    expect(p.feeAtoms).toBe(fee('y') + fee('z') * 10n);
    expect(router.averagePrice(res.clientOrderId!, 2)).toBe('60008.2'); // 120_016_400 / 20 ticks
    // effective cost (ticks x lots x (1 + fee) in 1e-4 bp units) against a best-price-first split
    const eff = (fills: [number, number, number][]) => fills.reduce((a, [px, q, bps]) => a + BigInt(px) * BigInt(q) * BigInt(10_000 + bps), 0n);
    const routed = eff([[6_000_300, 3, 1], [6_002_000, 7, 1], [6_000_150, 10, 4]]);
    const bestPriceFirst = eff([[6_000_000, 5, 10], [6_000_100, 10, 10], [6_000_300, 3, 1], [6_002_000, 2, 1]]);
    expect(routed).toBeLessThan(bestPriceFirst);
  });

  it('re-routes what an IOC child could not fill (the book moved) to the next best venue, once', async () => {
    // y's second level is gone before y's child arrives: it fills 3 and cancels 7. z's lot (10) is
    // too big for 7: the re-route goes to x, best price, dearest fee.
    const specs = VENUES.map((v) => (v.name === 'y' ? { ...v, later: { asks: [[6_002_000, 0]] as [number, number][] } } : v));
    const { engine, router, reports, advance } = await paperRun(specs);
    const res = engine.submit(parent);
    advance(T0 + 20);
    const p = router.parent(res.clientOrderId!)!;
    expect(p.reroutes).toBe(1);
    const at = (venue: string) => reports.filter((r) => r.exchange === venue).map((r) => [r.lastPrice, r.lastQty]);
    expect(at('y')).toEqual([[6_000_300, 3]]);
    expect(at('z')).toEqual([[6_000_150, 1]]);
    expect(at('x')).toEqual([[6_000_000, 5], [6_000_100, 2]]);
    expect(p.status).toBe('filled');
    expect(p.filledQty).toBe(20);
  });

  it('sells where the net proceeds are best, even against the greedy by price: the lot sizes decide', async () => {
    // Net bids: y1 5_998_900, y2 5_998_400, z1 5_997_300 (a lot of 10), x1 5_993_900, x2 5_993_800.
    // Greedy by net price: y 13, then x 7 (z's lot of 10 does not fit). Better: y 10 + z 10.
    const specs: VenueSpec[] = VENUES.map((v) => ({
      ...v,
      bids: ({ x: [[5_999_900, 5], [5_999_800, 10]], y: [[5_999_500, 3], [5_999_000, 10]], z: [[5_999_700, 1], [5_999_600, 10]] } as Record<string, [number, number][]>)[v.name]!,
    }));
    const sell: OrderIntent = { ...parent, side: 'sell', price: 5_999_000 };
    const { engine, router, reports, advance } = await paperRun(specs);
    const res = engine.submit(sell);
    advance(T0 + 20);
    const at = (venue: string) => reports.filter((r) => r.exchange === venue).map((r) => [r.lastPrice, r.lastQty]);
    expect(at('y')).toEqual([[5_999_500, 3], [5_999_000, 7]]);
    expect(at('z')).toEqual([[5_999_700, 1]]);
    expect(at('x')).toEqual([]);
    const bf = bruteForceRoute(problemOf(specs, sell));
    expect(bf.childQty).toEqual([0, 10, 10]);
    expect(router.parent(res.clientOrderId!)!.status).toBe('filled');
  });
});
