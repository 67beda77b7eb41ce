/**
 * `[performance] intake = "worker"` gives the engine exactly what inline intake gives it: the
 * same Binance frames (valid updates, gaps, duplicates, hostile frames, snapshots good and bad)
 * through BinanceFeed inline, and through BinanceFeed -> feed records on an SPSC ring -> the
 * engine thread's reader, produce the same sink calls in the same order and the same books.
 * Property-tested on one thread (a small ring that wraps and fills mid-event), then through a
 * real worker thread.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { defineInstrument, ManualClock, type IntakeWorkerSpec } from '@cwts/core';
import { IntakeRecordReader, IntakeRecordWriter, WorkerIntake } from '@cwts/core/intake';
import { FEED_RECORD_BYTES, SpscRing } from '@cwts/core/microstructure';
import { silentLogger } from '@cwts/core/observability';
import { IntakeObserver } from '@cwts/core/testing';
import { playBinanceScript, type BinanceScript, type BinanceScriptStep } from '../src/index.js';

const EX = 'binance';
const BTC = defineInstrument({ exchange: EX, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const ETH = defineInstrument({ exchange: EX, symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.0001' });
const SYMBOLS = [BTC.symbol, ETH.symbol];

/** Every sink call as plain data, and the books the engine's store builds from them. */
class Observed extends IntakeObserver {
  constructor() {
    super(EX, SYMBOLS);
  }
}

// ---- random Binance streams --------------------------------------------------------------------

const px = (ticks: number, scale = 2) => (ticks / 10 ** scale).toFixed(scale);
const level = (lo: number, hi: number) => fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: 300_000 })).map(([p, q]) => [px(p), px(q, 5)] as [string, string]);
/** Bids below 65000, asks above (a book crosses only when a hostile snapshot says so). */
const bid = level(6_400_000, 6_499_999);
const ask = level(6_500_000, 6_600_000);
const lvl = fc.oneof(bid, ask);
const hostileLevel = fc.constantFrom<[string, string]>(['65000.001', '1.0'], ['-1.00', '1.0'], ['65000.00', '-0.5'], ['1e5', '1'], ['65000.00', '99999999999999999999']);

type Cmd =
  | { k: 'depth'; sym: number; span: number; skip: number; b: [string, string][]; a: [string, string][] }
  | { k: 'trade'; sym: number; id: number; p: [string, string]; buyerMaker: boolean }
  | { k: 'snapshot'; sym: number; offset: number; b: [string, string][]; a: [string, string][] }
  | { k: 'raw'; text: string }
  | { k: 'binary'; n: number }
  | { k: 'reconnect' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ k: fc.constant('depth' as const), sym: fc.integer({ min: 0, max: 1 }), span: fc.integer({ min: 0, max: 3 }), skip: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -4, max: 6 }) }), b: fc.array(fc.oneof({ weight: 12, arbitrary: bid }, { weight: 1, arbitrary: hostileLevel }), { maxLength: 6 }), a: fc.array(ask, { maxLength: 6 }) }) },
  { weight: 9, arbitrary: fc.record({ k: fc.constant('trade' as const), sym: fc.integer({ min: 0, max: 1 }), id: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 5 }) }), p: fc.oneof({ weight: 8, arbitrary: lvl }, { weight: 1, arbitrary: hostileLevel }), buyerMaker: fc.boolean() }) },
  { weight: 9, arbitrary: fc.record({ k: fc.constant('snapshot' as const), sym: fc.integer({ min: 0, max: 1 }), offset: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }), b: fc.array(fc.oneof({ weight: 20, arbitrary: bid }, { weight: 1, arbitrary: ask }), { minLength: 1, maxLength: 30 }), a: fc.array(ask, { minLength: 1, maxLength: 30 }) }) },
  { weight: 2, arbitrary: fc.constantFrom('garbage', '{"e":"depthUpdate","s":"BTC', '{"unknown":true}', '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"XRPUSDT","U":1,"u":2,"b":[],"a":[]}}', '{"code":-1121,"msg":"Invalid symbol."}', '{"result":null,"id":1}', '').map((text) => ({ k: 'raw' as const, text })) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }).map((n) => ({ k: 'binary' as const, n })) },
  { weight: 1, arbitrary: fc.constant({ k: 'reconnect' as const }) },
);

/** Turns commands into frames with plausible update and trade ids (kept per symbol). */
function toScript(cmds: Cmd[]): BinanceScript {
  const nextU = [1000, 5000];
  const nextT = [70_000, 90_000];
  const steps: BinanceScriptStep[] = [];
  for (const c of cmds) {
    if (c.k === 'raw') steps.push({ frame: c.text });
    else if (c.k === 'binary') steps.push({ binary: c.n });
    else if (c.k === 'reconnect') steps.push({ reconnect: 'connection reset' });
    else {
      const sym = SYMBOLS[c.sym]!;
      if (c.k === 'depth') {
        const U = nextU[c.sym]! + c.skip;
        const u = U + c.span;
        nextU[c.sym] = Math.max(nextU[c.sym]!, u + 1);
        steps.push({ frame: JSON.stringify({ stream: `${sym.toLowerCase()}@depth@100ms`, data: { e: 'depthUpdate', E: 1_764_900_000_000 + U, s: sym, U, u, b: c.b, a: c.a } }) });
      } else if (c.k === 'trade') {
        const t = nextT[c.sym]! + c.id - 1;
        nextT[c.sym] = Math.max(nextT[c.sym]!, t + 1);
        steps.push({ frame: JSON.stringify({ stream: `${sym.toLowerCase()}@trade`, data: { e: 'trade', E: 1_764_900_000_000, s: sym, t, p: c.p[0], q: c.p[1], T: 1_764_900_000_000, m: c.buyerMaker, M: true } }) });
      } else {
        steps.push({ snapshot: { symbol: sym, body: { lastUpdateId: nextU[c.sym]! - 1 + c.offset, bids: c.b, asks: c.a } } });
      }
    }
  }
  return { exchange: EX, instruments: [BTC, ETH], steps, nowMs: 1_764_900_000_500 };
}

function inline(script: BinanceScript): Observed {
  const o = new Observed();
  playBinanceScript(script, o);
  o.onEndOfStream(EX);
  return o;
}

/** The worker's path on one thread: a full ring is drained by the "engine" before the feed goes on. */
function throughRing(script: BinanceScript, ringRecords: number): Observed {
  const o = new Observed();
  const ring = SpscRing.create(ringRecords, FEED_RECORD_BYTES);
  const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, o);
  const writer = new IntakeRecordWriter(ring, SYMBOLS, () => reader.drain(7) > 0);
  playBinanceScript(script, writer);
  writer.onEndOfStream();
  while (reader.drain() > 0);
  expect(reader.invalid).toBe(0);
  expect(writer.dropped).toBe(0);
  return o;
}

const scripts = fc.array(cmd, { minLength: 30, maxLength: 150 }).map(toScript);

describe('Binance intake: worker path == inline path', () => {
  it('the same frames give the same sink calls and the same books (random streams with gaps and hostile frames, rings that wrap and fill)', () => {
    let synced = 0;
    let rejected = 0;
    fc.assert(
      fc.property(scripts, fc.constantFrom(8, 64, 4096), (script, ringRecords) => {
        const a = inline(script);
        const b = throughRing(script, ringRecords);
        expect(b.calls).toEqual(a.calls);
        expect(b.bookView()).toEqual(a.bookView());
        if (a.calls.some((c) => (c as { status?: { state: string } }).status?.state === 'synced')) synced++;
        if (a.calls.some((c) => typeof c === 'object' && c !== null && 'reject' in c)) rejected++;
      }),
      { numRuns: 200, seed: 16 },
    );
    // the streams exercised what they are for: books that synced, and hostile input rejected
    expect(synced).toBeGreaterThan(50);
    expect(rejected).toBeGreaterThan(20);
  });
});

describe('Binance intake on a real worker thread', () => {
  const intakes: WorkerIntake[] = [];
  afterEach(async () => {
    for (const i of intakes.splice(0)) {
      await i.stop();
      expect(i.threadsAlive).toBe(0);
    }
  });

  it('delivers what inline intake delivers, in order, through createBinanceScriptIntake on a worker', async () => {
    const samples = fc.sample(scripts, { numRuns: 4, seed: 7 });
    for (const script of samples) {
      const expected = inline(script);
      const got = new Observed();
      const spec: IntakeWorkerSpec = { module: new URL('../dist/intake-worker.js', import.meta.url).href, factory: 'createBinanceScriptIntake', args: script };
      const intake = new WorkerIntake(
        { exchange: EX, loadInstruments: async () => [BTC, ETH], start: async () => {}, stop: async () => {}, intakeWorker: () => spec },
        { exchange: EX, logger: silentLogger(), clock: new ManualClock(0), ringRecords: 1024, checkEveryMs: 0 },
      );
      intakes.push(intake);
      await intake.start(SYMBOLS, got);
      const t0 = Date.now();
      while (!got.ended) {
        if (Date.now() - t0 > 20_000) throw new Error('the worker did not end its stream');
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(got.calls).toEqual(expected.calls);
      expect(got.bookView()).toEqual(expected.bookView());
      await intake.stop();
      expect(intake.threadsAlive).toBe(0);
    }
  });
});
