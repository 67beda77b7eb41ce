/**
 * The worker-intake scenarios every venue with `intakeWorker()` runs against its own feed
 * (docs/performance.md, "Venue intake on worker threads"): the same script of frames played
 * inline, through feed records on a one-thread SPSC ring (rings small enough to wrap and fill
 * mid-event), and on a real worker thread (the venue's script factory) gives the same sink calls
 * in the same order and the same books; a worker that dies or hangs takes the venue's books
 * out of SYNCED at once, is counted, and a fresh worker resyncs them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { FeedReject, IntakeWorkerSpec, MarketDataClient, MarketEventSink } from '../contracts/exchange.js';
import { copyMarketEvent, type FeedStatusEvent, type MarketEvent } from '../domain/events.js';
import { IntakeRecordReader, IntakeRecordWriter } from '../intake/records.js';
import { SCRIPT_HANG_COMPONENT, type IntakeScriptBase, type IntakeScriptStep } from '../intake/script-intake.js';
import { WorkerIntake } from '../intake/worker-intake.js';
import { FEED_RECORD_BYTES } from '../microstructure/feed-records.js';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { BookStore } from '../microstructure/venue-books.js';
import { silentLogger } from '../observability/logger.js';
import { waitUntil } from './exchange-conformance.js';

/**
 * The steps of a venue's script under construction: venue tests extend it with their own frame
 * builders (book, trade, ...) and get the steps every venue shares from here.
 */
export class IntakeScriptSteps {
  readonly steps: IntakeScriptStep[] = [];
  /** A text frame as it is (hostile or truncated frames included). */
  raw(text: string): this {
    this.steps.push({ frame: text });
    return this;
  }
  /** A binary frame of n bytes. */
  binary(n: number): this {
    this.steps.push({ binary: n });
    return this;
  }
  /** The connection drops and comes back. */
  reconnect(why: string): this {
    this.steps.push({ reconnect: why });
    return this;
  }
}

/** Every sink call as plain data, and the books the engine's store builds from them. */
export class IntakeObserver implements MarketEventSink {
  readonly calls: unknown[] = [];
  readonly books = new BookStore();
  ended = false;
  constructor(
    private readonly exchange: string,
    private readonly symbols: readonly string[],
  ) {}
  onMarketEvent(ev: MarketEvent): void {
    this.calls.push(JSON.parse(JSON.stringify(copyMarketEvent(ev))));
    if (ev.type === 'book_snapshot') this.books.applySnapshot(ev, ev.recvTs);
    else if (ev.type === 'book_delta') this.books.applyDelta(ev, ev.recvTs);
  }
  onFeedStatus(st: FeedStatusEvent): void {
    this.calls.push({ status: { ...st } });
    this.books.applyStatus(st);
  }
  onFeedReject(r: FeedReject): void {
    this.calls.push({ reject: { ...r } });
  }
  onFeedError(component: string, message: string): void {
    this.calls.push({ error: [component, message] });
  }
  onEndOfStream(exchange: string): void {
    this.ended = true;
    this.calls.push({ end: exchange });
  }
  state(symbol: string): string | undefined {
    return this.books.get(this.exchange, symbol)?.state;
  }
  /** State, reason and every level of each book. */
  bookView(): unknown[] {
    return this.symbols.map((s) => {
      const r = this.books.get(this.exchange, s);
      if (!r) return { s, none: true };
      const side = (code: 0 | 1) => {
        const n = r.book.levelCount(code === 0 ? 'bid' : 'ask');
        const p = new Float64Array(n);
        const q = new Float64Array(n);
        r.book.topInto(code, n, p, q);
        return [...p].map((x, i) => [x, q[i]]);
      };
      return { s, state: r.state, reason: r.reason, bids: side(0), asks: side(1) };
    });
  }
  /** Feed statuses seen, as `symbol:state` ('' for the whole venue). */
  statuses(): string[] {
    return this.calls.flatMap((c) => {
      const st = (c as { status?: FeedStatusEvent }).status;
      return st ? [`${st.symbol}:${st.state}`] : [];
    });
  }
  /** Rejection reasons seen. */
  rejections(): string[] {
    return this.calls.flatMap((c) => {
      const r = (c as { reject?: FeedReject }).reject;
      return r ? [r.reason] : [];
    });
  }
}

export interface IntakeParityScript<S extends IntakeScriptBase> {
  name: string;
  script: S;
  /** Proves the script exercised what it is named for, on the inline result (a gap seen, a checksum failed...). */
  check?: (inline: IntakeObserver) => void;
}

export interface IntakeParitySuiteOptions<S extends IntakeScriptBase> {
  exchange: string;
  symbols: string[];
  /** The venue's script player on this thread (`play<Venue>Script`). */
  play(script: S, sink: MarketEventSink): void;
  /** File URL of the venue's compiled intake-worker module, and its script factory's export. */
  module: string;
  factory: string;
  /** The same script factory imported from the venue's source (the worker loads the compiled module). */
  scriptFactory: (args: unknown) => MarketDataClient;
  scripts: IntakeParityScript<S>[];
  /** A script after which every symbol's book is SYNCED (the dead and hung worker cases play it). */
  syncing: S;
  /** Bound on waiting for a worker (default 30 s: a loaded 2-core machine). */
  boundMs?: number;
}

function inline<S extends IntakeScriptBase>(o: IntakeParitySuiteOptions<S>, script: S): IntakeObserver {
  const obs = new IntakeObserver(o.exchange, o.symbols);
  o.play(script, obs);
  obs.onEndOfStream(o.exchange);
  return obs;
}

/** The worker's path on one thread: a full ring is drained by the "engine" before the feed goes on. */
function throughRing<S extends IntakeScriptBase>(o: IntakeParitySuiteOptions<S>, script: S, ringRecords: number): IntakeObserver {
  const obs = new IntakeObserver(o.exchange, o.symbols);
  const ring = SpscRing.create(ringRecords, FEED_RECORD_BYTES);
  const reader = new IntakeRecordReader(new SpscRing(ring.buffer), o.exchange, o.symbols, obs);
  const writer = new IntakeRecordWriter(ring, o.symbols, () => reader.drain(7) > 0);
  o.play(script, writer);
  writer.onEndOfStream();
  while (reader.drain() > 0);
  expect(reader.invalid).toBe(0);
  expect(writer.dropped).toBe(0);
  return obs;
}

export function describeIntakeParity<S extends IntakeScriptBase>(o: IntakeParitySuiteOptions<S>): void {
  const bound = o.boundMs ?? 30_000;
  const intakes: WorkerIntake[] = [];
  /** A WorkerIntake whose workers play `scripts` in turn (the last repeats), as a venue's intakeWorker() would name them. */
  const intakeOf = (scripts: S[], extra: { now?: () => number; hungAfterMs?: number } = {}): WorkerIntake => {
    let n = 0;
    const spec = (): IntakeWorkerSpec => ({ module: o.module, factory: o.factory, args: scripts[Math.min(n++, scripts.length - 1)] });
    const client: MarketDataClient = { exchange: o.exchange, loadInstruments: async () => o.syncing.instruments, start: async () => {}, stop: async () => {}, intakeWorker: spec };
    const intake = new WorkerIntake(client, {
      exchange: o.exchange, logger: silentLogger(), clock: new ManualClock(0), ringRecords: 1024, checkEveryMs: 0, restartBackoff: { initialMs: 0, maxMs: 0 }, ...extra,
    });
    intakes.push(intake);
    return intake;
  };

  describe(`${o.exchange} intake: worker path == inline path`, () => {
    afterEach(async () => {
      for (const i of intakes.splice(0)) {
        await i.stop();
        expect(i.threadsAlive).toBe(0);
      }
    });

    for (const sc of o.scripts) {
      it(`${sc.name}: the same sink calls and books through a ring that wraps and fills (8, 64, 4096 records)`, () => {
        const a = inline(o, sc.script);
        sc.check?.(a);
        for (const records of [8, 64, 4096]) {
          const b = throughRing(o, sc.script, records);
          expect(b.calls).toEqual(a.calls);
          expect(b.bookView()).toEqual(a.bookView());
        }
      });

      it(`${sc.name}: the script factory, as the worker loads it, plays the same on this thread and ends its stream`, async () => {
        // The factory is what a worker thread runs; here it runs where V8 coverage and a debugger reach it.
        const expected = inline(o, sc.script);
        const mod = (await import(o.module)) as Record<string, unknown>;
        expect(typeof mod[o.factory]).toBe('function');
        const client = o.scriptFactory(structuredClone(sc.script));
        expect(client.exchange).toBe(o.exchange);
        expect(await client.loadInstruments(o.symbols)).toEqual(sc.script.instruments);
        const got = new IntakeObserver(o.exchange, o.symbols);
        await client.start(o.symbols, got);
        await waitUntil(() => got.ended, 'the script ends its stream', bound);
        await client.stop();
        expect(got.calls).toEqual(expected.calls);
        expect(got.bookView()).toEqual(expected.bookView());
      });

      it(`${sc.name}: the same sink calls and books from the script factory on a real worker thread`, async () => {
        const expected = inline(o, sc.script);
        const got = new IntakeObserver(o.exchange, o.symbols);
        const intake = intakeOf([sc.script]);
        await intake.start(o.symbols, got);
        await waitUntil(() => got.ended, 'the worker ends its stream', bound);
        expect(got.calls).toEqual(expected.calls);
        expect(got.bookView()).toEqual(expected.bookView());
        expect(intake.failures).toBe(0);
        await intake.stop();
        expect(intake.threadsAlive).toBe(0);
      });
    }
  });

  describe(`${o.exchange} intake: a worker that dies or hangs`, () => {
    afterEach(async () => {
      for (const i of intakes.splice(0)) {
        await i.stop();
        expect(i.threadsAlive).toBe(0);
      }
    });

    it('a worker that crashes after syncing: every book leaves SYNCED at once, the failure is counted, a fresh worker resyncs', async () => {
      const got = new IntakeObserver(o.exchange, o.symbols);
      const intake = intakeOf([{ ...o.syncing, after: 'crash' }, o.syncing]);
      const atFailure: (string | undefined)[][] = [];
      intake.onFailure = () => atFailure.push(o.symbols.map((s) => got.state(s)));
      await intake.start(o.symbols, got);
      await waitUntil(() => intake.failures === 1, 'the first worker fails', bound);
      // what the dead worker published was delivered (its books synced) before the venue went down
      const synced = got.statuses();
      for (const s of o.symbols) expect(synced).toContain(`${s}:synced`);
      expect(atFailure[0]).toEqual(o.symbols.map(() => 'disconnected'));
      expect(got.calls).toContainEqual({ error: [`${o.exchange}:intake`, expect.stringMatching(/intake worker failed: .*crashing as the script asks; restarting$/)] });
      await waitUntil(() => got.ended, 'the replacement worker plays its script to the end', bound);
      expect(intake.starts).toBe(2);
      for (const s of o.symbols) expect(got.state(s)).toBe('synced');
    });

    it('a hung worker (no heartbeat for hung_after_ms) is terminated: every book leaves SYNCED, a fresh worker resyncs', async () => {
      let now = 0;
      const got = new IntakeObserver(o.exchange, o.symbols);
      const intake = intakeOf([{ ...o.syncing, after: 'hang' }, o.syncing], { now: () => now, hungAfterMs: 1000 });
      await intake.start(o.symbols, got);
      await waitUntil(() => got.calls.some((c) => (c as { error?: string[] }).error?.[0] === SCRIPT_HANG_COMPONENT), 'the worker says it hangs', bound);
      for (const s of o.symbols) expect(got.state(s)).toBe('synced');
      intake.checkHealth();
      now = 1000;
      intake.checkHealth();
      expect(intake.failures).toBe(0);
      now = 1001;
      intake.checkHealth();
      expect(intake.failures).toBe(1);
      for (const s of o.symbols) {
        expect(got.state(s)).toBe('disconnected');
        expect(got.books.get(o.exchange, s)!.reason).toMatch(/hung \(no heartbeat for 1001 ms\); restarting/);
      }
      await waitUntil(() => got.ended, 'the replacement worker plays its script to the end', bound);
      for (const s of o.symbols) expect(got.state(s)).toBe('synced');
    });
  });
}
