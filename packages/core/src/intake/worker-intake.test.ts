import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { IntakeWorkerSpec, MarketDataClient } from '../contracts/exchange.js';
import { defineInstrument } from '../domain/instrument.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';
import { BackpressureMonitor } from '../observability/backpressure.js';
import { WorkerIntake, type WorkerIntakeOptions } from './worker-intake.js';

// Worker threads load compiled JavaScript: `tsc -b` (pnpm build) before vitest, as for the ring's worker tests.
const FIXTURE = new URL('./__fixtures__/intake-clients.mjs', import.meta.url).href;
const EX = 'venue';
const SYMBOL = 'BTCUSDT';
const instrument = defineInstrument({ exchange: EX, symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

/** The engine thread's client: instruments, and per worker start the args of the next worker (modes in turn, the last repeats). */
function inlineClient(modes: string[], deltas = 0): MarketDataClient & { specs: number } {
  const c = {
    exchange: EX,
    specs: 0,
    loadInstruments: async () => [instrument],
    start: async () => {
      throw new Error('the inline client is not started when the intake runs on a worker');
    },
    stop: async () => {},
    intakeWorker(): IntakeWorkerSpec {
      const mode = modes[Math.min(c.specs++, modes.length - 1)];
      return { module: FIXTURE, factory: 'scripted', args: { exchange: EX, symbol: SYMBOL, mode, deltas } };
    },
  };
  return c;
}

/** Waits for a condition that the worker's messages make true; the bound only ends a broken run. */
async function until(what: string, cond: () => boolean, boundMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > boundMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const running: { engine: Engine; intake: WorkerIntake }[] = [];

async function setup(modes: string[], o: Partial<WorkerIntakeOptions> = {}, deltas = 0, beforeStart?: (intake: WorkerIntake, engine: Engine) => void) {
  const clock = new ManualClock(1_764_900_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const execution = new ScriptedVenue(EX, [instrument]);
  let monoNow = 0;
  const intake = new WorkerIntake(inlineClient(modes, deltas), {
    exchange: EX, logger: silentLogger(), clock, checkEveryMs: 0, hungAfterMs: 1000, restartBackoff: { initialMs: 0, maxMs: 0 }, now: () => monoNow, ...o,
  });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, venues: [{ name: EX, symbols: [SYMBOL], marketData: intake, execution }] });
  running.push({ engine, intake });
  // Hooks go in before the worker runs: its failure may be reported before its 'started' message.
  beforeStart?.(intake, engine);
  await engine.start();
  const book = () => engine.books.get(EX, SYMBOL)!;
  return { engine, intake, metrics, book, setNow: (t: number) => (monoNow = t) };
}

afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.engine.stop('test end');
    expect(r.intake.threadsAlive).toBe(0);
  }
});

describe('WorkerIntake: a venue intake on a worker thread', () => {
  it('delivers the worker feed to the engine: the book syncs with the venue levels, deltas apply in order', async () => {
    const { engine, intake, book } = await setup(['run'], {}, 50);
    await until('book synced with all deltas', () => book().state === 'synced' && engine.summary().events === 51);
    expect(book().book.bestBid()).toBe(1000);
    expect(book().book.bestAsk()).toBe(1001);
    expect([1000, 999, 998].map((p) => book().book.qtyAt('bid', p))).toEqual([5, 7, 50]);
    expect(book().book.levelCount('bid')).toBe(3);
    expect(intake.threadId).toBeTypeOf('number');
    expect(intake.failures).toBe(0);
  });

  it('stop() ends delivery and leaves no thread running', async () => {
    const { engine, intake, book } = await setup(['run']);
    await until('synced', () => book().state === 'synced');
    await engine.stop('test');
    expect(intake.threadsAlive).toBe(0);
    expect(intake.threadId).toBeUndefined();
    expect(intake.state).toBe('stopped');
  });

  it("the pairs' trading status stays with the engine thread's client: asked through the intake, kept fresh from start to stop", async () => {
    let status: 'open' | 'closed' = 'open';
    const refreshing: string[][] = [];
    let refreshStopped = 0;
    const { engine, intake, book } = await setup(['run'], {}, 0, (i) => {
      const inline = (i as unknown as { inline: MarketDataClient }).inline;
      inline.tradingStatus = () => status;
      inline.keepTradingStatusFresh = (symbols) => {
        refreshing.push([...symbols]);
        return () => refreshStopped++;
      };
    });
    await until('synced', () => book().state === 'synced');
    expect(refreshing).toEqual([[SYMBOL]]);
    expect(intake.tradingStatus(SYMBOL)).toBe('open');
    // The venue halts the pair (the engine thread's client re-read it): the engine refuses new risk on it.
    status = 'closed';
    const refused = engine.submit({ exchange: EX, symbol: SYMBOL, side: 'buy', type: 'limit', price: 1001, qty: 1, tif: 'IOC', source: 'test' });
    expect(refused).toMatchObject({ accepted: false, reason: 'VENUE_NOT_TRADING' });
    await engine.stop('test');
    expect(refreshStopped).toBe(1);
  });

  it('a worker that crashes: the venue leaves SYNCED at once, the failure is counted, a fresh worker resyncs it', async () => {
    const seen: string[] = [];
    const { engine, intake, book, metrics } = await setup(['crash', 'run'], {}, 0, (i, e) => {
      i.onFailure = (r) => {
        seen.push(`${e.books.get(EX, SYMBOL)!.state}: ${r}`);
      };
    });
    await until('first failure', () => intake.failures === 1);
    expect(seen[0]).toMatch(/^disconnected: venue intake worker failed: parser bug; restarting$/);
    const refused = engine.submit({ exchange: EX, symbol: SYMBOL, side: 'buy', type: 'limit', price: 1001, qty: 1, tif: 'IOC', source: 'test' });
    // Either still disconnected or already resynced by the replacement; never trading on the dead worker's book.
    if (book().state !== 'synced') expect(refused).toMatchObject({ accepted: false, reason: 'BOOK_NOT_SYNCED' });
    await until('resynced by the second worker', () => intake.starts === 2 && book().state === 'synced');
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="venue:intake"\} 1/);
    // the crashed thread's exit may be reported after its replacement synced
    await until('only the replacement thread left', () => intake.threadsAlive === 1);
  });

  it('a hung worker (no heartbeat for hung_after_ms) is terminated, the venue not SYNCED, and replaced', async () => {
    const errors: string[] = [];
    const { intake, book, setNow } = await setup(['hang', 'run'], { hungAfterMs: 1000 }, 0, (_i, engine) => {
      const sink = engine as unknown as { onFeedError(c: string, m: string): void };
      const orig = sink.onFeedError.bind(engine);
      sink.onFeedError = (c, m) => {
        errors.push(m);
        orig(c, m);
      };
    });
    await until('the worker says it hangs', () => errors.includes('hanging now'));
    expect(book().state).toBe('synced');
    setNow(10_000);
    intake.checkHealth();
    expect(intake.failures).toBe(0);
    setNow(10_999);
    intake.checkHealth();
    expect(intake.failures).toBe(0);
    setNow(11_001);
    intake.checkHealth();
    expect(intake.failures).toBe(1);
    expect(book().state).toBe('disconnected');
    expect(book().reason).toMatch(/hung \(no heartbeat for 1001 ms\); restarting/);
    await until('resynced by the second worker', () => intake.starts === 2 && book().state === 'synced');
  });

  it('the ring fill ratio is cwts_ring_fill_ratio{exchange} and, over the high-water mark, BACKPRESSURE until drained', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    let t = 0;
    const monitor = new BackpressureMonitor({ budgetMs: 10, metrics, logger: silentLogger(), now: () => t, busy: () => 0, recoverAfterMs: 500 });
    const events: string[] = [];
    const intake = new WorkerIntake(inlineClient(['run'], 300), {
      exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, ringRecords: 1024, pump: false, watchRing: (ex, fill) => monitor.watchRing(ex, fill),
    });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    await intake.start([SYMBOL], { onMarketEvent: (ev) => events.push(ev.type), onFeedStatus: () => {}, onFeedError: () => {} });
    // the worker writes 1 status + 4 snapshot records + 300 deltas of 2 records: 605 of 1024 (nothing drains: pump off)
    await until('the worker filled the ring', () => intake.fillRatio() >= 605 / 1024);
    monitor.sample();
    expect(monitor.active).toBe(true);
    expect(await metrics.text()).toMatch(/cwts_ring_fill_ratio\{exchange="venue"\} 0\.59/);
    expect(intake.drainEvents()).toBe(301);
    expect(events.filter((e) => e === 'book_delta')).toHaveLength(300);
    t = 10;
    monitor.sample();
    t = 520;
    monitor.sample();
    expect(intake.fillRatio()).toBe(0);
    expect(monitor.active).toBe(false);
    expect(await metrics.text()).toMatch(/cwts_ring_fill_ratio\{exchange="venue"\} 0\n/);
  });

  it('a worker waiting for ring space keeps beating: never taken for hung, and nothing is lost when the engine catches up', async () => {
    let now = 0;
    const events: string[] = [];
    const intake = new WorkerIntake(inlineClient(['run'], 300), {
      exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, ringRecords: 64, pump: false, hungAfterMs: 1000, heartbeatMs: 10, now: () => now,
    });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    await intake.start([SYMBOL], { onMarketEvent: (ev) => events.push(ev.type), onFeedStatus: () => {}, onFeedError: () => {} });
    await until('the ring is full', () => intake.fillRatio() > 0.75);
    intake.checkHealth();
    for (let round = 0; round < 3; round++) {
      const beat = intake.heartbeats;
      await until('a heartbeat while the worker waits for space', () => intake.heartbeats !== beat);
      now += 1001;
      intake.checkHealth();
      expect(intake.failures).toBe(0);
    }
    expect(intake.fillRatio()).toBeGreaterThan(0.75);
    await until('every event delivered', () => {
      intake.drainEvents();
      return events.length === 301;
    });
    expect(events.filter((e) => e === 'book_delta')).toHaveLength(300);
    expect(intake.failures).toBe(0);
  });

  it('a crash loop (failures without a sync in between) stops after intake_max_restarts: the venue stays stopped', async () => {
    const { intake, book } = await setup(['fail-start'], { maxRestarts: 2 });
    await until('halted', () => intake.state === 'halted');
    expect(intake.failures).toBe(3);
    expect(intake.starts).toBe(3);
    expect(book().state).toBe('stopped');
    expect(book().reason).toMatch(/failed to start: no route to the venue; stopped after 3 failures in a row without a sync/);
    await until('threads gone', () => intake.threadsAlive === 0);
  });
});
