import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildPipeline } from './e2e-pipeline.js';
import { E2E_STAGES, runE2EStages } from './e2e-stages.js';
import { loadE2EVenues } from './e2e-venues.js';
import { generateFrames, runE2E } from './e2e.js';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

// What the e2e figures stand on: real venue feeds stay SYNCED, and the parents really go
// through the router to several venues' execution clients. Never a speed.
describe('e2e pipeline (pnpm bench e2e, cwts-ultra benchmark End-to-End Flow)', { timeout: 120_000 }, () => {
  it('four venue feeds sync the engine books; parents are split over several venues through risk and the router; every order is journaled, its id reserved ahead', async () => {
    const intakes = await loadE2EVenues(ROOT);
    expect(intakes.map((v) => v.exchange)).toEqual(['binance', 'coinbase', 'kraken', 'bybit-spot']);
    const frames = generateFrames(intakes, 400);
    const p = await buildPipeline(intakes, { triggerEvery: 10 });
    const venues = new Set<string>();
    let parents = 0;
    for (let i = 0; i < 1600; i++) {
      p.times.reset();
      p.feeds[i % 4]!(frames.perVenue[i % 4]![Math.floor(i / 4)]!);
      if (p.times.first >= 0) parents++;
      for (const o of p.times.pending) venues.add(o.order.exchange);
      p.settle();
    }
    for (const v of intakes) expect(p.engine.books.get(v.exchange, v.instrument.symbol)?.state).toBe('synced');
    expect(p.rejected()).toBe(0);
    // every 10th book update is a parent, and each one reached at least one venue
    expect(parents).toBe(160);
    expect(p.times.orders).toBeGreaterThan(parents);
    expect(venues.size).toBeGreaterThanOrEqual(3);
    expect(p.engine.summary().rejected).toBe(0);
    // The journal as deployed: every child order and its report committed, client ids from its
    // reservations, taken ahead of need (the first block at attach, the next at half of it).
    const journal = p.journal!;
    journal.flush();
    expect(journal.database.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(p.times.orders);
    expect(journal.reservationStats.ahead).toBeGreaterThanOrEqual(1);
    expect(journal.durableClientIds).toBeGreaterThanOrEqual(p.engine.orders.nextIdNumber - 1);
    await p.stop();
  });

  it('paced and staged runs report finite latencies for every stage', async () => {
    const intakes = await loadE2EVenues(ROOT);
    const frames = generateFrames(intakes, 300);
    const r = await runE2E(intakes, frames, 50_000, { events: 800, warmup: 200, triggerEvery: 20 });
    expect(r.events).toBe(800);
    expect(r.parents).toBe(40);
    for (const v of [r.tickToOrder.p50, r.tickToOrder.p99, r.tickToOrder.max, r.achievedRate, r.cpuNsPerEvent]) expect(Number.isFinite(v) && v > 0).toBe(true);
    expect(r.tickToLastOrder.p99).toBeGreaterThanOrEqual(r.tickToOrder.p99);
    const s = await runE2EStages(intakes, frames, { events: 800, warmup: 200, triggerEvery: 20 });
    expect(s.parents).toBe(40);
    for (const st of E2E_STAGES) expect(Number.isFinite(s.stages[st].p50) && s.stages[st].count > 0, st).toBe(true);
  });

  it('with Binance intake on a worker thread the engine sees the same events in the same slots: the same child orders, one by one, and the same books', async () => {
    const intakes = await loadE2EVenues(ROOT);
    const frames = generateFrames(intakes, 500);
    const run = async (worker: boolean) => {
      // The journal is orthogonal to where the intake runs: left out here (the first test has it).
      const p = await buildPipeline(intakes, { triggerEvery: 10, journal: false, ...(worker ? { workers: [{ venue: 0, venues: 4, warm: 0, baseDir: ROOT, frames: frames.perVenue[0]! }] } : {}) });
      p.go(0, 0);
      const orders: string[] = [];
      for (let i = 0; i < 2000; i++) {
        p.times.reset();
        p.feeds[i % 4]!(frames.perVenue[i % 4]![Math.floor(i / 4)]!);
        for (const o of p.times.pending) orders.push(`${i} ${o.order.exchange} ${o.order.side} ${o.order.qty}@${o.order.price}`);
        p.settle();
      }
      const books = intakes.map((v) => {
        const b = p.engine.books.get(v.exchange, v.instrument.symbol)!;
        return [b.state, b.book.bestBid(), b.book.bestAsk(), b.book.levelCount('bid'), b.book.levelCount('ask')];
      });
      await p.stop();
      return { orders, books, rejected: p.rejected() };
    };
    const inline = await run(false);
    const worker = await run(true);
    expect(inline.orders.length).toBeGreaterThan(200);
    expect(worker.orders).toEqual(inline.orders);
    expect(worker.books).toEqual(inline.books);
    expect(worker.rejected).toBe(0);
  });

  it('with Binance intake on a worker thread (E2E_INTAKE=worker) the run makes the same decisions as inline', async () => {
    const intakes = await loadE2EVenues(ROOT);
    const frames = generateFrames(intakes, 300);
    for (const rate of [50_000, 'max'] as const) {
      const inline = await runE2E(intakes, frames, rate, { events: 800, warmup: 200, triggerEvery: 20, journal: false });
      const worker = await runE2E(intakes, frames, rate, { events: 800, warmup: 200, triggerEvery: 20, journal: false, workerIntake: { baseDir: ROOT } });
      // runE2E itself throws unless every book ended SYNCED with no frame rejected
      expect(worker.events).toBe(800);
      expect(worker.parents).toBe(inline.parents);
      expect(worker.orders).toBe(inline.orders);
      expect(worker.signals).toBe(inline.signals);
      expect(Number.isFinite(worker.tickToOrder.p99) && worker.tickToOrder.p99 > 0).toBe(true);
    }
  });

  it('with every venue on its own intake worker (E2E_INTAKE_VENUE=all, the deployed default) the run makes the same decisions as inline', async () => {
    const intakes = await loadE2EVenues(ROOT);
    const frames = generateFrames(intakes, 300);
    const all = intakes.map((_, k) => k);
    expect(all.length).toBe(4);
    for (const rate of [50_000, 'max'] as const) {
      const inline = await runE2E(intakes, frames, rate, { events: 800, warmup: 200, triggerEvery: 20, journal: false });
      const workers = await runE2E(intakes, frames, rate, { events: 800, warmup: 200, triggerEvery: 20, journal: false, workerIntake: { baseDir: ROOT, venues: all } });
      expect(workers.events).toBe(800);
      expect(workers.parents).toBe(inline.parents);
      expect(workers.orders).toBe(inline.orders);
      expect(workers.signals).toBe(inline.signals);
    }
  });
});
