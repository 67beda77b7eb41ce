import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsComputeBackend } from '../compute/js-backend.js';
import type { ComputeBackend } from '../contracts/compute.js';
import type { TradeEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { seededRandom } from '../testing/seeded-random.js';
import { DetectorHarness } from './harness.js';
import { parsePatternSettings, PatternDetector } from './pattern.js';
import { PatternStore } from './pattern-store.js';
import { ConfigError } from '../config/errors.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC'];
const INSTRUMENTS = SYMBOLS.map((s) => defineInstrument({ exchange: 'x', symbol: s, base: s, quote: 'USD', tickSize: '0.01', lotSize: '1' }));
const D = 16;
const H = 4;
const BASE = { dim: D, horizon: H, bar_ms: 1000, top_k: 5, min_patterns: 100, capacity: 10_000, min_correlation: 0.5, min_agreement: 0.8 };

/**
 * Bar returns: blocks of D + H bars; motif UP (a fixed shape followed by H rising bars), motif
 * DOWN (another shape followed by H falling bars) or noise. Returns the returns and, per bar,
 * which motif ends there (for checking forecasts).
 */
function series(blocks: number, seed: number): { r: number[]; ends: Map<number, 1 | -1> } {
  const rnd = seededRandom(seed);
  const up = Array.from({ length: D }, (_, i) => 1e-3 * Math.sin((2 * Math.PI * i) / 8));
  const down = Array.from({ length: D }, (_, i) => 1e-3 * (i % 4 < 2 ? 1 : -1));
  const r: number[] = [];
  const ends = new Map<number, 1 | -1>();
  for (let b = 0; b < blocks; b++) {
    const kind = b % 3;
    for (let i = 0; i < D; i++) r.push(kind === 2 ? 1e-3 * rnd.normal() : (kind === 0 ? up[i] : down[i]) + 1e-4 * rnd.normal());
    if (kind !== 2) ends.set(r.length - 1, kind === 0 ? 1 : -1);
    for (let i = 0; i < H; i++) r.push(kind === 2 ? 1e-3 * rnd.normal() : kind === 0 ? 2e-3 : -2e-3);
  }
  return { r, ends };
}

/** One trade per bar per symbol (symbols 10 ms apart), at 500 ms into the bar. */
function* trades(r: number[], symbols = ['AAA']): Generator<TradeEvent> {
  const px = symbols.map(() => 1_000_000);
  for (let i = 0; i <= r.length; i++) {
    for (let s = 0; s < symbols.length; s++) {
      const ts = i * 1000 + 500 + 10 * s;
      yield { type: 'trade', exchange: 'x', symbol: symbols[s], ts, recvTs: ts, tradeId: `${i}`, price: Math.round(px[s]), qty: 1, side: 'buy' };
      if (i < r.length) px[s] *= Math.exp(r[i]);
    }
  }
}

function checkForecasts(signals: Signal[], ends: Map<number, 1 | -1>): { right: number; wrong: number; atMotif: number } {
  let right = 0;
  let wrong = 0;
  let atMotif = 0;
  for (const s of signals) {
    // return r[j] is the close of bar j + 1 over bar j: it is pushed when bar j + 1 ends, at (j + 2) s
    const want = ends.get(s.ts / 1000 - 2);
    if (want === undefined) continue;
    atMotif++;
    if (s.direction === want) right++;
    else wrong++;
  }
  return { right, wrong, atMotif };
}

describe('pattern detector', () => {
  it('learns motifs online and forecasts their outcome (sync queries)', () => {
    const { r, ends } = series(120, 1);
    const d = new PatternDetector('pattern', { ...BASE, query_mode: 'sync' }, { backend: new JsComputeBackend() });
    const h = new DetectorHarness([d], INSTRUMENTS);
    for (const ev of trades(r)) h.feed(ev);
    const stats = d.diagnostics();
    expect(stats.bars).toBe(r.length);
    expect(stats.patterns).toBe(r.length - D - H + 1 - 1); // the first bar has no previous close
    const f = checkForecasts(h.signals, ends);
    expect(f.atMotif).toBeGreaterThan(40);
    expect(f.wrong).toBe(0);
    const s = h.signals.find((x) => ends.has(x.ts / 1000 - 2))!;
    expect(s).toMatchObject({ detector: 'pattern', kind: 'knn_forecast', exchange: 'x', symbol: 'AAA' });
    expect(s.id).toMatch(/^pattern:x:AAA:\d+$/);
    expect(s.evidence).toMatchObject({ k: 5, horizonBars: H, barMs: 1000, dim: D });
    expect(Math.abs(s.evidence.expectedMoveBps as number)).toBeGreaterThan(30);
    expect(s.evidence.agreement as number).toBeGreaterThanOrEqual(0.8);
    expect((s.evidence.neighbours as unknown[]).length).toBe(5);
  });

  it('async queries off the hot path give the same signals when each result is back before the next event', async () => {
    const { r } = series(60, 2);
    const sync = new PatternDetector('pattern', { ...BASE, query_mode: 'sync' }, { backend: new JsComputeBackend() });
    const hs = new DetectorHarness([sync], INSTRUMENTS);
    for (const ev of trades(r)) hs.feed(ev);
    const asyncD = new PatternDetector('pattern', BASE, { backend: new JsComputeBackend() });
    const ha = new DetectorHarness([asyncD], INSTRUMENTS);
    for (const ev of trades(r)) {
      ha.feed(ev);
      await asyncD.idle();
    }
    expect(hs.signals.length).toBeGreaterThan(10);
    expect(ha.signals).toEqual(hs.signals);
  });

  it('keeps the hot path synchronous: results arrive later, adds made meanwhile are queued, nothing is lost', async () => {
    const { r, ends } = series(60, 3);
    const d = new PatternDetector('pattern', BASE, { backend: new JsComputeBackend() });
    const h = new DetectorHarness([d], INSTRUMENTS);
    for (const ev of trades(r)) h.feed(ev); // no await: the first query stays in flight throughout
    expect(d.diagnostics().batches).toBe(1);
    expect(h.signals).toHaveLength(0);
    await d.idle();
    const st = d.diagnostics();
    expect(st.pendingAdds).toBeGreaterThan(0);
    expect(st.droppedAdds).toBe(0);
    expect(st.patterns).toBe(r.length - D - H);
    expect(checkForecasts(h.signals, ends).wrong).toBe(0);
  });

  it('batches the queries of several symbols into one kernel call', async () => {
    const { r } = series(40, 4);
    const d = new PatternDetector('pattern', { ...BASE, batch_wait_ms: 100 }, { backend: new JsComputeBackend() });
    const h = new DetectorHarness([d], INSTRUMENTS);
    for (const ev of trades(r, SYMBOLS)) {
      h.feed(ev);
      await d.idle();
    }
    const st = d.diagnostics();
    expect(st.maxBatchSeen).toBe(3);
    expect(st.queries).toBe(3 * st.batches);
    const bySymbol = new Map<string, number>();
    for (const s of h.signals) bySymbol.set(s.symbol, (bySymbol.get(s.symbol) ?? 0) + 1);
    expect([...bySymbol.keys()].sort()).toEqual(SYMBOLS);
  });

  it('loads its store from a file at start and saves it on close', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-pattern-')), 'store.bin');
    const { r } = series(30, 5);
    const a = new PatternDetector('pattern', { ...BASE, query_mode: 'sync' }, { backend: new JsComputeBackend() });
    const h = new DetectorHarness([a], INSTRUMENTS);
    for (const ev of trades(r)) h.feed(ev);
    await a.close(path);
    const b = new PatternDetector('pattern', { ...BASE, file: path, learn: false }, { backend: new JsComputeBackend() });
    expect(b.store.count).toBe(a.store.count);
    expect(Array.from(b.store.outcomes.subarray(0, 5))).toEqual(a.store.slotsInOrder().slice(0, 5).map((s) => a.store.outcomes[s]));
  });

  it('refuses at start a pattern file learnt with another horizon', () => {
    const store = new PatternStore({ dim: D, capacity: 100, horizon: 32 });
    const r = seededRandom(1);
    for (let i = 0; i < 50; i++) store.add(Array.from({ length: D }, () => r.normal()), 0, r.normal() * 1e-2, 1_700_000_000_000 + i * 1000);
    const file = join(mkdtempSync(join(tmpdir(), 'cwts-h-')), 'h32.bin');
    store.save(file);
    // 32-bar outcomes would be reported as 4-bar forecasts (evidence.horizonBars = 4), and
    // learn = true would mix the detector's own 4-bar outcomes with them
    expect(() => new PatternDetector('pattern', { ...BASE, file }, { backend: new JsComputeBackend() })).toThrow(/outcomes are log returns over 32 bars, this store forecasts 4 bars/);
    expect(new PatternDetector('pattern', { ...BASE, horizon: 32, file }, { backend: new JsComputeBackend() }).store.count).toBe(50);
  });

  it('never emits a forecast whose expected move is not finite (skipped and counted)', () => {
    const N = 8;
    const shape = Array.from({ length: N }, (_, i) => 1e-3 * Math.sin((2 * Math.PI * i) / N) + (i === 0 ? 2e-4 : 0));
    const store = new PatternStore({ dim: N, capacity: 100, horizon: 2 });
    for (let i = 0; i < 20; i++) store.add(shape, 0, -1e-3, i);
    const file = join(mkdtempSync(join(tmpdir(), 'cwts-nf-')), 'p.bin');
    store.save(file);
    const run = (poison: boolean) => {
      const d = new PatternDetector('pattern', { dim: N, horizon: 2, top_k: 5, min_patterns: 10, learn: false, file, query_mode: 'sync', min_correlation: 0.5, min_agreement: 0.5 }, { backend: new JsComputeBackend() });
      // a non-finite outcome in the store (the file and add() refuse them; this stands for
      // whatever else could put one there)
      if (poison) d.store.outcomes[2] = -Infinity;
      const h = new DetectorHarness([d], [INSTRUMENTS[0]!]);
      let px = 1_000_000;
      for (let i = 0; i <= 3 * N; i++) {
        h.feed({ type: 'trade', exchange: 'x', symbol: 'AAA', ts: i * 1000 + 500, recvTs: i * 1000 + 500, tradeId: `${i}`, price: Math.round(px), qty: 1, side: 'buy' });
        px *= Math.exp(shape[i % N]!);
      }
      return { signals: h.signals.filter((s) => s.kind === 'knn_forecast'), stats: d.diagnostics() };
    };
    const clean = run(false);
    expect(clean.signals.length).toBeGreaterThan(0); // the same flow forecasts with finite outcomes
    expect(clean.signals.every((s) => s.direction === -1 && s.strength >= 1)).toBe(true);
    const poisoned = run(true);
    expect(poisoned.signals).toEqual([]);
    expect(poisoned.stats.nonFinite).toBe(clean.signals.length);
  });

  it('a single future-stamped print (microseconds for milliseconds) does not stop its bars', () => {
    // Before: the bar clock jumped to the print's time; every later event fell in that bar,
    // which never closed: no more returns, patterns or forecasts for the symbol.
    const T0 = 1_700_000_000_000;
    const d = new PatternDetector('pattern', { ...BASE, query_mode: 'sync' }, { backend: new JsComputeBackend() });
    const h = new DetectorHarness([d], [INSTRUMENTS[0]!]);
    const feed = (i: number, ts: number, recvTs = ts) => h.feed({ type: 'trade', exchange: 'x', symbol: 'AAA', ts, recvTs, tradeId: `${i}`, price: 1_000_000 + 10 * (i % 7), qty: 1, side: 'buy' });
    for (let i = 0; i < 100; i++) feed(i, T0 + i * 1000 + 500);
    feed(-1, (T0 + 99_700) * 1000, T0 + 99_700);
    for (let i = 100; i < 200; i++) feed(i, T0 + i * 1000 + 500);
    // a bar closed per second: 199 bars, 198 returns, a pattern per return from the (D + H)th on
    expect(d.diagnostics().bars).toBe(199);
    expect(d.store.count).toBe(198 - (D + H) + 1);
  });

  it('a late print (stamped in a closed bar, or before a newer print of its bar) does not set the close', () => {
    // Before: the last print received was the bar's close whatever its time: a print of bar 0
    // delivered at the end of bar 3 (out of order, or a backfill after a reconnect) made bar 3
    // close 10% lower, a move that never happened, stored as a pattern and in the query window.
    const prices = [10_000, 10_100, 10_300, 10_200, 10_400, 10_500, 10_300, 10_600];
    const run = (late: (i: number, ts: number) => TradeEvent[]): number[] => {
      const d = new PatternDetector('pattern', { dim: 2, horizon: 1, bar_ms: 1000, top_k: 1, min_patterns: 1_000_000, capacity: 100 }, { backend: new JsComputeBackend() });
      const h = new DetectorHarness([d], [INSTRUMENTS[0]!]);
      for (let i = 0; i < prices.length; i++) {
        const ts = i * 1000 + 500;
        h.feed({ type: 'trade', exchange: 'x', symbol: 'AAA', ts, recvTs: ts, tradeId: `t${i}`, price: prices[i]!, qty: 1, side: 'buy' });
        for (const ev of late(i, ts)) h.feed(ev);
      }
      return d.store.slotsInOrder().map((s) => d.store.outcomes[s]!);
    };
    const print = (id: string, ts: number, recvTs: number, price: number): TradeEvent => ({ type: 'trade', exchange: 'x', symbol: 'AAA', ts, recvTs, tradeId: id, price, qty: 1, side: 'buy' });
    const clean = run(() => []);
    // outcome of window j = the log return of bar j + 3 over bar j + 2
    expect(clean).toEqual(prices.slice(3, -1).map((p, j) => Math.fround(Math.log(p / prices[j + 2]!)))); // the last bar never closes
    // a print of bar 0 received at the end of bar 3
    expect(run((i, ts) => (i === 3 ? [print('late', 400, ts + 100, 9_000)] : []))).toEqual(clean);
    // a print of the current bar stamped before the one already seen (out of order in the bar)
    expect(run((i, ts) => (i === 3 ? [print('early', ts - 300, ts + 100, 9_000)] : []))).toEqual(clean);
    // in order, a later print of the bar is its close
    const moved = run((i, ts) => (i === 3 ? [print('after', ts + 100, ts + 100, 10_250)] : []));
    expect(moved[0]).toBe(Math.fround(Math.log(10_250 / 10_300)));
  });

  it('validates its settings with key paths', () => {
    expect(() => parsePatternSettings({ dim: 1 })).toThrow('detectors.pattern.dim: expected an integer between 2 and 4096, got 1');
    expect(() => parsePatternSettings({ top_k: 0, weighting: 'loud' })).toThrow(/top_k[\s\S]*weighting/);
    expect(() => parsePatternSettings({ min_correlation: 2 })).toThrow('detectors.pattern.min_correlation: expected a number in [-1, 1]');
    expect(() => parsePatternSettings({ capacity: 2e9 })).toThrow('detectors.pattern.capacity');
    // each key in range alone, but the slab the constructor allocates (rows x dim floats) too large
    expect(() => parsePatternSettings({ dim: 4096, max_pending_adds: 16_777_216, capacity: 1000 })).toThrow(
      'detectors.pattern.max_pending_adds: expected an integer between 0 and 262143 at dim 4096 (max_pending_adds x dim must stay within 1073741823 floats), got 16777216',
    );
    expect(() => parsePatternSettings({ dim: 4096, max_pending_adds: 262_144, capacity: 262_144 })).toThrow(/capacity: expected[\s\S]*max_pending_adds: expected/);
    expect(() => new PatternDetector('pattern', { dim: 4096, max_pending_adds: 16_777_216, capacity: 1000 }, { backend: new JsComputeBackend() })).toThrow(ConfigError);
    expect(parsePatternSettings({ dim: 4096, max_pending_adds: 262_143, capacity: 1000 }).maxPendingAdds).toBe(262_143);
    expect(parsePatternSettings({ dim: 4096 }).maxPendingAdds).toBe(65_536); // the defaults fit at the largest dim
    const noSync = { ...new JsComputeBackend(), name: 'gpu', sync: undefined } as unknown as ComputeBackend;
    expect(() => new PatternDetector('pattern', { query_mode: 'sync' }, { backend: noSync })).toThrow('detectors.pattern.query_mode: "sync" needs a backend with synchronous kernels');
  });
});
