import { describe, expect, it, vi } from 'vitest';
import type { BookLevel, MarketEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import { seededRandom } from '../testing/seeded-random.js';
import { CascadeDetector, parseCascadeSettings } from './cascade.js';
import { DetectorHarness } from './harness.js';

const BTC = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const LOT_VALUE_AT = (ticks: number): number => ticks * 0.01 * 0.00001; // quote value of one lot
const STEP_MS = 5;

interface CascadePlan {
  /** Venue ms (from 0) when the forced selling starts, and how long it lasts. */
  at: number;
  durationMs: number;
  /** Total move over the episode, bps (negative: down). */
  moveBps: number;
  liquidations: boolean;
}

/**
 * A crafted market: 200 steps per second (stamped `t0` + ms since the start); a mid random walk (~3 bps per sqrt(second)), a book of
 * 10 levels a side (16k quote each) sent as a snapshot every step, a 2k trade on 30% of steps.
 * During a cascade: the mid drifts by `moveBps`, every step has an aggressive trade of 3x on the
 * falling side, half of them with a forced order (when `liquidations`), the hit side is thin.
 */
function* market(totalMs: number, seed: number, cascades: CascadePlan[] = [], t0 = 0): Generator<MarketEvent> {
  const r = seededRandom(seed);
  let mid = 6_000_000;
  let tid = 0;
  for (let t = STEP_MS; t <= totalMs; t += STEP_MS) {
    const c = cascades.find((p) => t >= p.at && t < p.at + p.durationMs);
    mid *= 1 + (3e-4 / Math.sqrt(1000 / STEP_MS)) * r.normal();
    if (c) mid *= 1 + c.moveBps / 1e4 / (c.durationMs / STEP_MS);
    const m = Math.round(mid);
    const down = c ? c.moveBps < 0 : false;
    const lots = (notional: number): number => Math.max(1, Math.round(notional / LOT_VALUE_AT(m)));
    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    for (let i = 0; i < 10; i++) {
      const thinBid = c && down ? 0.25 : 1;
      const thinAsk = c && !down ? 0.25 : 1;
      bids.push({ price: m - 15 - 30 * i, qty: lots(16_000 * thinBid * Math.exp(0.3 * r.normal())) });
      asks.push({ price: m + 15 + 30 * i, qty: lots(16_000 * thinAsk * Math.exp(0.3 * r.normal())) });
    }
    const ts = t0 + t;
    yield { type: 'book_snapshot', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, seq: t, bids, asks, reason: 'resync' };
    if (c) {
      const side = down ? 'sell' : 'buy';
      const px = down ? m - 15 : m + 15;
      const q = lots(6000 * Math.exp(0.5 * r.normal()));
      if (c.liquidations && r.next() < 0.5) yield { type: 'liquidation', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, side, price: px, qty: q };
      yield { type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${++tid}`, price: px, qty: q, side };
    } else if (r.next() < 0.3) {
      const side = r.next() < 0.5 ? 'buy' : 'sell';
      yield { type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${++tid}`, price: side === 'buy' ? m + 15 : m - 15, qty: lots(2000 * Math.exp(0.6 * r.normal())), side };
    }
  }
}

function run(settings: Record<string, unknown>, events: Iterable<MarketEvent>): DetectorHarness {
  const d = new CascadeDetector('cascade', settings);
  const h = new DetectorHarness([d], [BTC]);
  for (const ev of events) h.feed(ev);
  return h;
}

describe('cascade detector', () => {
  it('walks calm -> building -> cascade -> exhaustion -> calm on a forced-selling episode, one signal per transition', () => {
    const plan = { at: 120_000, durationMs: 2500, moveBps: -60, liquidations: true };
    const h = run({}, market(150_000, 1, [plan]));
    const path = h.signals.map((s) => `${(s.evidence as { from: string }).from}->${(s.evidence as { to: string }).to}`);
    expect(path).toEqual(['calm->building', 'building->cascade', 'cascade->exhaustion', 'exhaustion->calm']);
    expect(h.signals.map((s) => s.kind)).toEqual(['cascade_building', 'cascade', 'cascade_exhaustion', 'cascade_calm']);
    for (const s of h.signals) expect(s.direction).toBe(-1);
    expect(h.signals.map((s) => s.id)).toEqual([1, 2, 3, 4].map((n) => `cascade:x:BTCUSDT:${n}`));
    const [building, cascade] = h.signals;
    // detected within a second of the first forced order, in the episode's direction
    expect(building.ts).toBeGreaterThanOrEqual(plan.at);
    expect(building.ts).toBeLessThanOrEqual(plan.at + 1000);
    expect(cascade.ts).toBeLessThanOrEqual(plan.at + 2000);
    expect(cascade.evidence.inputs).toEqual(['price', 'volume', 'book', 'liquidations']);
    expect(cascade.evidence.liquidationNotional as number).toBeGreaterThan(0);
    expect(cascade.evidence.moveBps as number).toBeGreaterThan(10);
    expect(cascade.evidence.depthRatio as number).toBeLessThan(0.6);
    expect(cascade.strength).toBeGreaterThanOrEqual(1);
  });

  it('detects an upward squeeze as direction +1', () => {
    const h = run({}, market(150_000, 2, [{ at: 100_000, durationMs: 2000, moveBps: 50, liquidations: true }]));
    expect(h.signals.length).toBeGreaterThanOrEqual(2);
    expect(h.signals[0].kind).toBe('cascade_building');
    expect(h.signals.every((s) => s.direction === 1)).toBe(true);
    expect(h.signals.some((s) => s.kind === 'cascade')).toBe(true);
  });

  it('works without a liquidation feed (price, volume and book) and says so', () => {
    const h = run({}, market(150_000, 3, [{ at: 120_000, durationMs: 2500, moveBps: -60, liquidations: false }]));
    const cascade = h.signalsOf('cascade');
    expect(cascade).toHaveLength(1);
    expect(cascade[0].evidence.inputs).toEqual(['price', 'volume', 'book']);
    expect(h.signals[0].ts).toBeLessThanOrEqual(121_000);
  });

  it('works from trades alone when the book is not used', () => {
    const h = run({ use_book: false }, market(150_000, 4, [{ at: 120_000, durationMs: 2500, moveBps: -60, liquidations: false }]));
    const cascade = h.signalsOf('cascade');
    expect(cascade).toHaveLength(1);
    expect(cascade[0].evidence.inputs).toEqual(['price', 'volume']);
  });

  it('stays calm on a long calm run (10 minutes)', () => {
    const h = run({}, market(600_000, 5));
    expect(h.signals).toHaveLength(0);
  });

  it('does not fire during warm-up', () => {
    const h = run({ warmup_ms: 60_000 }, market(70_000, 6, [{ at: 30_000, durationMs: 2500, moveBps: -60, liquidations: true }]));
    expect(h.signals).toHaveLength(0);
  });

  it('a small forced-selling blip below the thresholds does not start an episode', () => {
    const h = run({}, market(150_000, 7, [{ at: 120_000, durationMs: 250, moveBps: -1, liquidations: false }]));
    expect(h.signals).toHaveLength(0);
  });

  it('gives identical signals for identical input', () => {
    const plan = [{ at: 90_000, durationMs: 2000, moveBps: -50, liquidations: true }];
    const a = run({}, market(120_000, 8, plan)).signals;
    expect(a.length).toBeGreaterThan(0);
    expect(run({}, market(120_000, 8, plan)).signals).toEqual(a);
  });

  it('rejects bad settings with key paths', () => {
    expect(() => parseCascadeSettings({ bucket_ms: 0 })).toThrow('detectors.cascade.bucket_ms: expected an integer');
    expect(() => parseCascadeSettings({ volume_ratio: 1 })).toThrow('detectors.cascade.volume_ratio: expected a number > 1');
    expect(() => parseCascadeSettings({ liquidations: 'maybe' })).toThrow('detectors.cascade.liquidations: expected one of "auto", "on", "off"');
    expect(() => parseCascadeSettings({ calm_score: 2 })).toThrow('calm_score < building_score');
    expect(() => parseCascadeSettings({ thin_ratio: 1.5 }, 'liq')).toThrow('detectors.liq.thin_ratio');
  });
});

describe('cascade detector: periodic re-sum of the float rolling sums', () => {
  // The short-window sums (volume, forced orders) are kept by adding the new bucket and taking
  // the leaving one away; floats drift, so they are re-summed from the ring every 1024 buckets.
  // An idle gap fast-forwards the bucket count without moving the ring: the re-sum must still
  // come round, whatever the window length (a power of two divides 1024).
  it('keeps re-summing after an idle-gap fast-forward, for any window length', () => {
    for (const L of [2, 3, 4, 8, 64]) {
      for (const gap of [500, 501, 502, 503, 4 * 500 + 7]) {
        const det = new CascadeDetector('cascade', { window_buckets: L, bucket_ms: 100, warmup_ms: 0 });
        const h = new DetectorHarness([det], [BTC]);
        const resum = vi.spyOn(det as unknown as { resum: (st: unknown) => void }, 'resum');
        let tid = 0;
        const tradeAt = (b: number) => h.feed({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts: b * 100 + 50, recvTs: b * 100 + 50, tradeId: `t${++tid}`, price: 6_000_000, qty: 1000, side: tid % 2 ? 'buy' : 'sell' });
        let b = 0;
        for (; b < 3000; b++) tradeAt(b);
        expect(det.stateOf('x', 'BTCUSDT')).toBe('calm');
        b += gap; // an idle gap: fast-forwarded while calm
        const before = resum.mock.calls.length;
        const after = 4 * 1024 * L;
        for (let i = 0; i < after; i++, b++) tradeAt(b);
        // at least one re-sum per 1024 buckets (per L x 1024 at worst for a window not dividing 1024)
        expect({ L, gap, resums: resum.mock.calls.length - before >= 3 }).toEqual({ L, gap, resums: true });
      }
    }
  });
});

describe('cascade detector: event times that must not drive its clock', () => {
  /** Real venue time (epoch ms), as every live adapter stamps trades. */
  const T0 = 1_700_000_000_000;
  const PLAN = { at: 120_000, durationMs: 2500, moveBps: -60, liquidations: true };
  /** The adapter's initial snapshot (levels around the market's first mid). */
  const first = (ts: number, recvTs: number): MarketEvent => ({
    type: 'book_snapshot', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs, seq: 0, reason: 'initial',
    bids: [{ price: 5_999_985, qty: 26_667 }], asks: [{ price: 6_000_015, qty: 26_667 }],
  });
  const onsets = (h: DetectorHarness): string[] => h.signals.map((s) => `${s.kind}@${s.ts - T0}`);

  it('a first book snapshot with ts 0 (Binance spot REST depth has no event time; TinyEx and Kraken snapshots) does not void warm-up nor make calm flow look like a cascade', () => {
    // Control: the same calm market without that snapshot gives no episode at all.
    expect(run({}, market(180_000, 3, [], T0)).signals).toEqual([]);
    // Before: the clock started at bucket 0, the next event fast-forwarded ~6.8e9 empty buckets,
    // warm-up and the plain-mean start of the baselines were skipped: 35 false transitions.
    // recvTs 0 too (an event with no usable time at all) must not start the clock either.
    for (const recvTs of [T0, 0]) {
      const h = run({}, (function* () {
        yield first(0, recvTs);
        yield* market(180_000, 3, [], T0);
      })());
      expect({ recvTs, signals: onsets(h) }).toEqual({ recvTs, signals: [] });
    }
  });

  it('a first event stamped long before the rest (a stale snapshot time) does not stand in for warm-up', () => {
    // The venue time is in the past, so it is trusted; warm-up counts buckets seen with data,
    // not the day of empty buckets fast-forwarded after it.
    const h = run({}, (function* () {
      yield first(T0 - 86_400_000, T0);
      yield* market(180_000, 3, [], T0);
    })());
    expect(onsets(h)).toEqual([]);
  });

  it('a single future-stamped print (microseconds for milliseconds) does not blind the detector to a real cascade', () => {
    // Control: the cascade at 120 s is detected.
    expect(onsets(run({}, market(150_000, 1, [PLAN], T0)))).toContain('cascade_building@120250');
    const h = run({}, (function* () {
      for (const ev of market(150_000, 1, [PLAN], T0)) {
        yield ev;
        // at 100 s, one print whose venue time is in microseconds; received at 100 s
        if (ev.type === 'book_snapshot' && ev.ts === T0 + 100_000) {
          yield { type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts: (T0 + 100_000) * 1000, recvTs: T0 + 100_000, tradeId: 'glitch', price: 6_000_000, qty: 1, side: 'buy' };
        }
      }
    })());
    expect(h.signalsOf('cascade_building').length).toBeGreaterThan(0);
    expect(h.signalsOf('cascade').length).toBeGreaterThan(0);
  });
});
