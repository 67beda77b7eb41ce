import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { IntakeWorkerSpec, MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import type { FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExponentialBackoff } from '../adapter-kit/backoff.js';
import { Engine } from '../engine/engine.js';
import type { Recorder } from '../engine/recorder.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { createLogger, silentLogger } from '../observability/logger.js';
import { BackpressureMonitor } from '../observability/backpressure.js';
import type { IntakeResume } from './protocol.js';
import { WorkerIntake, type WorkerIntakeOptions } from './worker-intake.js';

// Worker threads load compiled JavaScript: `tsc -b` (pnpm build) before vitest, as for the ring's worker tests.
const FIXTURE = new URL('./__fixtures__/intake-clients.mjs', import.meta.url).href;
const EX = 'venue';
const SYMBOL = 'BTCUSDT';
const instrument = defineInstrument({ exchange: EX, symbol: SYMBOL, base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

/**
 * The engine thread's client: instruments, and per worker start the args of the next worker (modes
 * in turn, the last repeats). Mode 'no-spec': building that worker's spec throws, as
 * compiledModuleUrl() does when the venue's compiled intake-worker.js is missing.
 */
function inlineClient(modes: string[], deltas = 0, canResync = false): MarketDataClient & { specs: number } {
  const c = {
    ...(canResync ? { requestResync: () => {} } : {}),
    exchange: EX,
    specs: 0,
    loadInstruments: async () => [instrument],
    start: async () => {
      throw new Error('the inline client is not started when the intake runs on a worker');
    },
    stop: async () => {},
    intakeWorker(): IntakeWorkerSpec {
      const mode = modes[Math.min(c.specs++, modes.length - 1)];
      if (mode === 'no-spec') throw new Error('/opt/cwts/packages/exchange-venue/src/intake-worker.js is missing; build the package first (pnpm build)');
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

async function setup(modes: string[], o: Partial<WorkerIntakeOptions> = {}, deltas = 0, beforeStart?: (intake: WorkerIntake, engine: Engine) => void, recorder?: Recorder, canResync = false) {
  const clock = new ManualClock(1_764_900_000_000);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const execution = new ScriptedVenue(EX, [instrument]);
  let monoNow = 0;
  const intake = new WorkerIntake(inlineClient(modes, deltas, canResync), {
    exchange: EX, logger: silentLogger(), clock, checkEveryMs: 0, hungAfterMs: 1000, restartBackoff: { initialMs: 0, maxMs: 0 }, now: () => monoNow, ...o,
  });
  const engine = new Engine({ clock, logger: silentLogger(), metrics, watchdog: false, recorder, venues: [{ name: EX, symbols: [SYMBOL], marketData: intake, execution }] });
  running.push({ engine, intake });
  // Hooks go in before the worker runs: its failure may be reported before its 'started' message.
  beforeStart?.(intake, engine);
  await engine.start();
  const book = () => engine.books.get(EX, SYMBOL)!;
  return { engine, intake, metrics, book, setNow: (t: number) => (monoNow = t) };
}

/** The `--record` recorder on a disk that fills up once: writeSync throws ENOSPC for the delta with seq `failAt`. */
function fullDiskRecorder(failAt: number): Recorder {
  let failed = false;
  return {
    open() {},
    write(ev: MarketEvent | FeedStatusEvent) {
      if (!failed && ev.type === 'book_delta' && ev.seq === failAt) {
        failed = true;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      }
    },
    flush() {},
    close() {},
  } as unknown as Recorder;
}

/** The restart delays the intake plans, as its backoff hands them out. */
function plannedDelays(intake: WorkerIntake): number[] {
  const delays: number[] = [];
  const backoff = (intake as unknown as { backoff: ExponentialBackoff }).backoff;
  const next = backoff.next.bind(backoff);
  backoff.next = () => {
    const d = next();
    delays.push(d);
    return d;
  };
  return delays;
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

  it("the engine's request for a snapshot (requestResync) crosses to the worker's client, whose resync reaches the book", async () => {
    const { intake, book } = await setup(['run'], {}, 0, undefined, undefined, true);
    await until('book synced', () => book().state === 'synced');
    const reason = 'sequence_gap: expected 101, got 103..103';
    intake.requestResync!(SYMBOL, reason);
    await until('the resync snapshot', () => book().book.seq === 500);
    expect(book().state).toBe('synced');
    expect(book().book.qtyAt('bid', 900)).toBe(reason.length);
    expect(book().resyncs).toBe(1);
  });

  it("offers requestResync only when the venue's own client does", async () => {
    const { intake } = await setup(['run']);
    expect(intake.requestResync).toBeUndefined();
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

  it("the engine's sink is handed to the engine thread's client for what it still reports (attachEngineSink), detached at stop", async () => {
    const attached: unknown[] = [];
    let detached = 0;
    let inline: MarketDataClient | undefined;
    const { engine, book, metrics } = await setup(['run'], {}, 0, (i) => {
      inline = (i as unknown as { inline: MarketDataClient }).inline;
      inline.attachEngineSink = (sink) => {
        attached.push(sink);
        return () => detached++;
      };
    });
    await until('synced', () => book().state === 'synced');
    expect(attached).toHaveLength(1);
    // What the engine-thread client reports through it lands in the engine's counters.
    (attached[0] as MarketEventSink).onFeedReject?.({ exchange: EX, symbol: SYMBOL, reason: 'venue_error', detail: 'private stream refused the subscribe' });
    expect(await metrics.text()).toMatch(/cwts_feed_errors_total\{[^}]*reason="venue_error"[^}]*\} 1/);
    await engine.stop('test');
    expect(detached).toBe(1);
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

  it("a replacement worker starts from what its predecessor left: the last trades the engine took and the venue's block, which the engine thread's client hears of too", async () => {
    const BANNED_UNTIL = 1_764_900_120_000;
    const told: number[] = [];
    let specs = 0;
    // intakeVenueBlocked is the contract's own optional member (core API 1.13), no longer a duck type.
    const inline: MarketDataClient = {
      exchange: EX,
      loadInstruments: async () => [instrument],
      start: async () => {},
      stop: async () => {},
      intakeVenueBlocked: (untilMs) => void told.push(untilMs),
      intakeWorker: (): IntakeWorkerSpec => ({
        module: FIXTURE, factory: 'scripted',
        args: specs++ === 0 ? { exchange: EX, symbol: SYMBOL, mode: 'hang', trades: ['1', '2', '3', 'x-4', '5'], blockedUntil: BANNED_UNTIL, reportResume: true } : { exchange: EX, symbol: SYMBOL, mode: 'run', reportResume: true },
      }),
    };
    let monoNow = 0;
    const intake = new WorkerIntake(inline, { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, hungAfterMs: 1000, restartBackoff: { initialMs: 0, maxMs: 0 }, now: () => monoNow });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    const resumes: IntakeResume[] = [];
    const errors: string[] = [];
    const sink: MarketEventSink = {
      onMarketEvent: () => {},
      onFeedStatus: () => {},
      onFeedError: (component, message) => void (component === 'fixture:resume' ? resumes.push(JSON.parse(message) as IntakeResume) : errors.push(message)),
    };
    await intake.start([SYMBOL], sink);
    await until('the first worker was banned and hangs', () => told.length === 1 && errors.includes('hanging now'));
    expect(resumes).toEqual([{ trades: {}, blockedUntilMs: 0 }]);
    expect(told).toEqual([BANNED_UNTIL]);
    monoNow = 10_000;
    intake.checkHealth();
    monoNow = 11_001;
    intake.checkHealth();
    expect(intake.failures).toBe(1);
    await until('the replacement said what it started from', () => resumes.length === 2);
    const left: IntakeResume = { trades: { [SYMBOL]: [{ tradeId: '2', ts: 11 }, { tradeId: '3', ts: 12 }, { tradeId: 'x-4', ts: 13 }, { tradeId: '5', ts: 14 }] }, blockedUntilMs: BANNED_UNTIL };
    expect(resumes[1]).toEqual(left);
    expect(intake.resume).toEqual(left);
    // a new session takes its first trades snapshot for history, as inline; the venue's ban is not over
    await intake.stop();
    await intake.start([SYMBOL], sink);
    await until("the next session's worker said what it started from", () => resumes.length === 3);
    expect(resumes[2]).toEqual({ trades: {}, blockedUntilMs: BANNED_UNTIL });
  });

  it('a worker replaced before its feed emitted a trade leaves the trades its feed marked as seen (its history snapshot): the replacement resumes after them', async () => {
    let specs = 0;
    const inline: MarketDataClient = {
      exchange: EX,
      loadInstruments: async () => [instrument],
      start: async () => {},
      stop: async () => {},
      intakeWorker: (): IntakeWorkerSpec => ({
        module: FIXTURE, factory: 'scripted',
        args: specs++ === 0 ? { exchange: EX, symbol: SYMBOL, mode: 'crash', marks: ['50', '51'], reportResume: true } : { exchange: EX, symbol: SYMBOL, mode: 'run', marks: [], trades: ['52'], reportResume: true },
      }),
    };
    const intake = new WorkerIntake(inline, { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, restartBackoff: { initialMs: 0, maxMs: 0 } });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    const resumes: IntakeResume[] = [];
    const trades: string[] = [];
    await intake.start([SYMBOL], {
      onMarketEvent: (ev) => void (ev.type === 'trade' && trades.push(ev.tradeId)),
      onFeedStatus: () => {},
      onFeedError: (component, message) => void (component === 'fixture:resume' && resumes.push(JSON.parse(message) as IntakeResume)),
    });
    await until('the replacement said what it started from and emitted its trade', () => resumes.length === 2 && trades.length === 1);
    expect(intake.failures).toBe(1);
    expect(resumes[1]!.trades).toEqual({ [SYMBOL]: [{ tradeId: '50', ts: 5 }, { tradeId: '51', ts: 6 }] });
    // a mark is no market event: the engine saw only the replacement's live trade
    expect(trades).toEqual(['52']);
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

  it('the fill ratio counts only what the engine has still to apply: records it consumed are not counted (the read counter is published lazily)', async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    const monitor = new BackpressureMonitor({ budgetMs: 10, metrics, logger: silentLogger(), now: () => 0, busy: () => 0 });
    const intake = new WorkerIntake(inlineClient(['run'], 300), {
      exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, ringRecords: 1024, pump: false, watchRing: (ex, fill) => monitor.watchRing(ex, fill),
    });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    await intake.start([SYMBOL], { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {} });
    // 606 records queued: a status and its text, 4 snapshot records, 300 deltas of 2 records
    await until('the worker wrote everything', () => intake.fillRatio() >= 606 / 1024);
    expect(intake.fillRatio()).toBe(606 / 1024);
    // The engine applies the status, the snapshot and 50 deltas (106 records, under the 128 that
    // publish the read counter): 500 are left, under the 50 % high-water mark.
    expect(intake.drainEvents(51)).toBe(51);
    monitor.sample();
    expect({ fill: intake.fillRatio(), backpressure: monitor.active }).toEqual({ fill: 500 / 1024, backpressure: false });
    expect(await metrics.text()).toMatch(/cwts_ring_fill_ratio\{exchange="venue"\} 0\.48828125\n/);
  });

  it("a worker taken down leaves no ring fill: the records the engine will never apply are released, and a halted venue does not hold BACKPRESSURE on for every venue", async () => {
    const metrics = new MetricsRegistry({ processMetrics: false });
    let t = 0;
    const monitor = new BackpressureMonitor({ budgetMs: 10, metrics, logger: silentLogger(), now: () => t, busy: () => 0, recoverAfterMs: 500 });
    const errors: string[] = [];
    const intake = new WorkerIntake(inlineClient(['run'], 300), {
      exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, ringRecords: 1024, pump: false, maxRestarts: 0,
      watchRing: (ex, fill) => monitor.watchRing(ex, fill),
    });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    // The engine throws on the first delta (the --record recorder on a full disk).
    await intake.start([SYMBOL], {
      onMarketEvent: (ev) => {
        if (ev.type === 'book_delta') throw new Error('ENOSPC: no space left on device, write');
      },
      onFeedStatus: () => {},
      onFeedError: (_c, m) => errors.push(m),
    });
    await until('the worker filled the ring', () => intake.fillRatio() >= 606 / 1024);
    monitor.sample();
    expect(monitor.active).toBe(true);
    // The status, the snapshot and the first delta are consumed; the other 299 deltas (598 records) never will be.
    intake.drainEvents();
    // maxRestarts 0: the first failure halts the venue.
    expect({ state: intake.state, failures: intake.failures }).toEqual({ state: 'halted', failures: 1 });
    expect(errors).toEqual([expect.stringMatching(/applying its records on the engine thread failed \(ENOSPC.*; 598 feed records it published were dropped; stopped after 1 failures in a row/)]);
    for (t = 10; t <= 600; t += 10) monitor.sample();
    expect({ active: monitor.active, fill: intake.fillRatio() }).toEqual({ active: false, fill: 0 });
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

  it('a failure after a sync restarts after the first delay, however many failures (each healed by a resync) came before', async () => {
    const FAILURES = 5;
    // every worker syncs (its snapshot reaches the engine) and then crashes; the last one runs
    let delays: number[] = [];
    const { intake, book } = await setup([...Array<string>(FAILURES).fill('crash'), 'run'], { maxRestarts: 2, restartBackoff: { initialMs: 40, maxMs: 5000 } }, 0, (i) => {
      delays = plannedDelays(i);
    });
    await until('resynced by the last worker', () => intake.starts === FAILURES + 1 && book().state === 'synced');
    expect({ failures: intake.failures, state: intake.state }).toEqual({ failures: FAILURES, state: 'running' });
    // "equal" jitter: the first delay is in [20, 40) ms; unreset, the 5th would be in [320, 640)
    expect(delays).toHaveLength(FAILURES);
    expect(delays.every((d) => d >= 20 && d < 40), `planned restart delays ${delays.join(', ')} ms`).toBe(true);
  });

  it('start() after stop() starts the backoff over', async () => {
    // no worker ever syncs; each restart is due >= 100 ms after its failure, well after the poll that sees it
    const intake = new WorkerIntake(inlineClient(['fail-start']), {
      exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, maxRestarts: 10, restartBackoff: { initialMs: 200, maxMs: 5000 },
    });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    const delays = plannedDelays(intake);
    const sink: MarketEventSink = { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {} };
    await intake.start([SYMBOL], sink);
    await until('two failures', () => intake.failures === 2);
    await intake.stop();
    await intake.start([SYMBOL], sink);
    await until('a failure after the new start', () => intake.failures === 3);
    await intake.stop();
    // "equal" jitter: [100, 200) ms, [200, 400), then [100, 200) again (unreset: [400, 800))
    expect(delays.map((d) => (d < 200 ? 'first' : 'later'))).toEqual(['first', 'later', 'first']);
  });
});

describe('WorkerIntake: nothing a worker does or fails to do throws on the engine thread', () => {
  // An exception thrown on the engine thread outside a request (a timer, a 'message' listener) ends the process.
  const escaped: string[] = [];
  const onEscape = (err: unknown) => escaped.push(String(err));
  beforeEach(() => {
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
  });
  afterEach(() => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    escaped.length = 0;
  });
  /** until(), failing at once on an escaped exception. */
  const untilClean = (what: string, cond: () => boolean, boundMs?: number) =>
    until(what, () => {
      if (escaped.length > 0) throw new Error(`escaped while waiting for ${what}: ${escaped[0]}`);
      return cond();
    }, boundMs);
  function capture() {
    const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (l: string) => (lines.push(JSON.parse(l)), true) } as unknown as NodeJS.WritableStream });
    return { lines, logger };
  }

  it('a restart whose worker cannot be built (the spec throws) is a failure: logged, counted, retried after the backoff; the next worker resyncs', async () => {
    const { lines, logger } = capture();
    const { intake, book } = await setup(['crash', 'no-spec', 'run'], { logger });
    await untilClean('resynced by the worker after the failed restart', () => intake.starts === 2 && book().state === 'synced');
    expect(intake.failures).toBe(2);
    expect(lines.filter((l) => l.msg.includes('intake worker restart failed')).map((l) => l.msg)).toEqual([
      'venue: intake worker restart failed: /opt/cwts/packages/exchange-venue/src/intake-worker.js is missing; build the package first (pnpm build)',
    ]);
    expect(escaped).toEqual([]);
  });

  it('a worker that can never be built again halts the venue after intake_max_restarts, like a crash loop', async () => {
    const { intake, book } = await setup(['crash', 'no-spec'], { maxRestarts: 2 });
    await untilClean('halted', () => intake.state === 'halted');
    expect({ failures: intake.failures, starts: intake.starts }).toEqual({ failures: 3, starts: 1 });
    expect(book().state).toBe('stopped');
    expect(book().reason).toMatch(/^venue intake worker restart failed: .*intake-worker\.js is missing.*; stopped after 3 failures in a row without a sync$/);
    await untilClean('threads gone', () => intake.threadsAlive === 0);
    expect(escaped).toEqual([]);
  });

  it('a first worker that cannot be built fails start() and leaves nothing running', async () => {
    const intake = new WorkerIntake(inlineClient(['no-spec']), { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 10 });
    await expect(intake.start([SYMBOL], { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {} })).rejects.toThrow(/intake-worker\.js is missing/);
    expect({ state: intake.state, threads: intake.threadsAlive, failures: intake.failures }).toEqual({ state: 'stopped', threads: 0, failures: 0 });
  });

  /** A venue whose plugin code on the worker posts on parentPort itself: `inStart` runs in its start(). */
  function posting(inStart: string): MarketDataClient {
    const module = 'data:text/javascript,' + encodeURIComponent(`import { parentPort } from 'node:worker_threads';
export function make() {
  return { exchange: ${JSON.stringify(EX)}, async loadInstruments() { return []; }, async start() { ${inStart} }, async stop() {} };
}`);
    return { exchange: EX, loadInstruments: async () => [], start: async () => {}, stop: async () => {}, intakeWorker: (): IntakeWorkerSpec => ({ module, factory: 'make', args: {} }) };
  }
  async function startPosting(inStart: string, o: Partial<WorkerIntakeOptions> = {}) {
    const statuses: string[] = [];
    const intake = new WorkerIntake(posting(inStart), { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), checkEveryMs: 0, restartBackoff: { initialMs: 0, maxMs: 0 }, ...o });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    await intake.start([SYMBOL], { onMarketEvent: () => {}, onFeedStatus: (st) => statuses.push(`${st.state}: ${st.reason}`), onFeedError: () => {} });
    return { intake, statuses };
  }

  it('messages of another shape (null, a number, an array, an unknown t) are ignored, counted and warned about once', async () => {
    const { lines, logger } = capture();
    const { intake } = await startPosting(`for (const m of [null, 42, [1], { t: 'reboot' }, {}]) parentPort.postMessage(m);`, { logger });
    // the worker's messages arrive in order: all were handled before its 'started'
    expect(escaped).toEqual([]);
    expect(intake.ignoredMessages).toBe(5);
    expect(intake.state).toBe('running');
    expect(intake.failures).toBe(0);
    expect(lines.filter((l) => l.msg.includes('message ignored')).map((l) => l.msg)).toEqual(['venue: intake worker message ignored: a message that is not an object (null)']);
  });

  it("a 'blocked' without a usable time is ignored and counted; the latest block is kept for the next worker, an earlier one does not shorten it", async () => {
    const { intake } = await startPosting(`for (const untilMs of ['soon', NaN, -1, null, 1e300, 5e12, 4e12]) parentPort.postMessage({ t: 'blocked', untilMs });`);
    expect(intake.ignoredMessages).toBe(5);
    expect(intake.resume.blockedUntilMs).toBe(5e12);
    expect(intake.failures).toBe(0);
  });

  it("a log line with a level the engine's logger has no method for is logged at info; known levels keep theirs", async () => {
    const { lines, logger } = capture();
    const { intake } = await startPosting(
      `parentPort.postMessage({ t: 'log', level: 'notice', obj: { a: 1 }, msg: 'hello' });
       parentPort.postMessage({ t: 'log', level: 'constructor', obj: null, msg: 'proto' });
       parentPort.postMessage({ t: 'log', level: 'warn', obj: { b: 2 }, msg: 'careful' });
       parentPort.postMessage({ t: 'log', level: 'fatal', msg: 7 });`,
      { logger },
    );
    expect(escaped).toEqual([]);
    const got = lines.filter((l) => l.intake === 'worker').map((l) => ({ level: l.level, msg: l.msg, workerLevel: l.workerLevel }));
    expect(got).toEqual([
      { level: 30, msg: 'hello', workerLevel: 'notice' },
      { level: 30, msg: 'proto', workerLevel: 'constructor' },
      { level: 40, msg: 'careful', workerLevel: undefined },
      { level: 50, msg: '7', workerLevel: undefined },
    ]);
    expect(intake.failures).toBe(0);
  });

  it("a 'start-failed' or second 'started' from a running worker is ignored: the worker is not taken down", async () => {
    const { intake, statuses } = await startPosting(`setTimeout(() => { parentPort.postMessage({ t: 'start-failed', message: 'stray' }); parentPort.postMessage({ t: 'started' }); }, 0);`);
    const thread = intake.threadId;
    await untilClean('both stray messages handled', () => intake.ignoredMessages === 2 || intake.failures > 0);
    expect({ failures: intake.failures, state: intake.state, threadId: intake.threadId, statuses }).toEqual({ failures: 0, state: 'running', threadId: thread, statuses: [] });
  });

  it("a worker that says 'start-failed' before it started and runs on is terminated: no thread left behind", async () => {
    const { intake, statuses } = await startPosting(`parentPort.postMessage({ t: 'start-failed', message: 'plugin gave up' });`, { maxRestarts: 0 });
    expect(intake.failures).toBe(1);
    expect(intake.state).toBe('halted');
    expect(statuses).toEqual(['stopped: venue intake worker failed to start: plugin gave up; stopped after 1 failures in a row without a sync']);
    // worker-main goes on to post 'started' and beat: only terminate() ends it
    await untilClean('the worker thread ended', () => intake.threadsAlive === 0, 10_000);
    expect(escaped).toEqual([]);
  });

  // Engine.onMarketEvent does not catch everything: books, the execution client, risk and the
  // recorder (writeSync on a full disk) can throw while the pump applies a worker's records.
  it('the engine throwing while the pump applies records: counted, the venue leaves SYNCED, the worker is replaced and the venue resyncs; nothing applied twice', async () => {
    const seen: string[] = [];
    // snapshot at 100, deltas 101..150 setting bid 998 to qty i; the recorder throws once, at 110
    const { engine, intake, book, metrics } = await setup(['run'], {}, 50, (i, e) => {
      i.onFailure = (r) => {
        seen.push(`${e.books.get(EX, SYMBOL)!.state}: ${r}`);
      };
    }, fullDiskRecorder(110));
    await untilClean('resynced by a fresh worker', () => intake.starts === 2 && book().state === 'synced' && book().book.qtyAt('bid', 998) === 50);
    // how many of deltas 111..150 the worker had published when the engine threw depends on the threads' timing: those are released unread
    expect(seen).toEqual([expect.stringMatching(/^disconnected: venue intake worker replaced: applying its records on the engine thread failed \(ENOSPC: no space left on device, write\)(; ([1-9]|[1-7]\d|80) feed records it published were dropped)?; restarting$/)]);
    // the first worker: its snapshot and deltas 101..110, the rest dropped; the second: its snapshot and all 50
    expect(engine.summary().events).toBe(11 + 51);
    expect(intake.failures).toBe(1);
    expect(await metrics.text()).toMatch(/cwts_errors_total\{component="venue:intake"\} 1/);
    await untilClean('only the replacement thread left', () => intake.threadsAlive === 1);
    expect(escaped).toEqual([]);
  });

  it("a worker that dies with records queued, and the engine throwing while they are delivered: the failure is still handled (disconnected, counted, restarted)", async () => {
    // pump off: nothing is applied before the worker dies, so its failure delivers the snapshot and deltas 101..105
    const { engine, intake, book } = await setup(['crash', 'run'], { pump: false }, 5, undefined, fullDiskRecorder(103));
    await untilClean('restarted', () => intake.failures === 1 && intake.starts === 2);
    // pump off: the replacement's records are not applied, so the venue still reads disconnected
    expect(book().state).toBe('disconnected');
    // deltas 104 and 105 (2 records each) and the fixture's error line (a header and a text record) are released unread
    expect(book().reason).toMatch(/^venue intake worker (failed: parser bug|exited \(code 1\)); applying its last records failed \(ENOSPC: no space left on device, write\); 6 feed records it published were dropped; restarting$/);
    // the snapshot and deltas 101..103; 104 and 105 came after the throw
    expect(engine.summary().events).toBe(4);
    expect(escaped).toEqual([]);
  });

  it('an engine that throws on every snapshot is a crash loop: no sync resets the count, the venue halts after intake_max_restarts', async () => {
    const recorder = { open() {}, flush() {}, close() {}, write: (ev: MarketEvent | FeedStatusEvent) => {
      if (ev.type === 'book_snapshot') throw new Error('ENOSPC: no space left on device, write');
    } } as unknown as Recorder;
    const { intake, book } = await setup(['run'], { maxRestarts: 2 }, 0, undefined, recorder);
    await untilClean('halted', () => intake.state === 'halted', 10_000);
    expect({ failures: intake.failures, starts: intake.starts, state: book().state }).toEqual({ failures: 3, starts: 3, state: 'stopped' });
    expect(book().reason).toMatch(/applying its records on the engine thread failed \(ENOSPC: .*\); stopped after 3 failures in a row without a sync$/);
    expect(escaped).toEqual([]);
  });

  it('a sink that throws while told of a failure costs neither the status nor the restart', async () => {
    const { lines, logger } = capture();
    const told: string[] = [];
    let snapshots = 0;
    const intake = new WorkerIntake(inlineClient(['crash', 'run']), { exchange: EX, logger, clock: new ManualClock(0), checkEveryMs: 0, restartBackoff: { initialMs: 0, maxMs: 0 } });
    running.push({ engine: { stop: () => intake.stop() } as unknown as Engine, intake });
    await intake.start([SYMBOL], {
      onMarketEvent: (ev) => void (ev.type === 'book_snapshot' && snapshots++),
      onFeedStatus: (st) => {
        if (st.symbol !== '') return;
        told.push(st.state);
        throw new Error('ENOSPC: no space left on device, write');
      },
      onFeedError: (c) => {
        if (c !== 'venue:intake') return;
        told.push('error');
        throw new Error('ENOSPC: no space left on device, write');
      },
    });
    await untilClean('resynced by the replacement', () => intake.starts === 2 && snapshots === 2);
    expect({ told, failures: intake.failures, state: intake.state }).toEqual({ told: ['error', 'disconnected'], failures: 1, state: 'running' });
    expect(lines.filter((l) => l.msg.includes('of its intake failed')).map((l) => l.msg)).toEqual([
      'venue: telling the engine the failure of its intake failed: ENOSPC: no space left on device, write',
      "venue: telling the engine the 'disconnected' status of its intake failed: ENOSPC: no space left on device, write",
    ]);
  });
});
