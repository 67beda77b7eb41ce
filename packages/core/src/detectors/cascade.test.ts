import { describe, expect, it, vi } from 'vitest';
import type { BookView, DetectorContext } from '../contracts/trading.js';
import type { BookLevel, MarketEvent, TradeEvent } from '../domain/events.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { L2Book } from '../microstructure/l2-book.js';
import { seededRandom } from '../testing/seeded-random.js';
import { CascadeDetector, parseCascadeSettings } from './cascade.js';
import { DetectorHarness } from './harness.js';

const BTC = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const LOT_VALUE_AT = (ticks: number): number => ticks * 0.01 * 0.00001; // quote value of one lot
const STEP_MS = 5;
/** Real venue time (epoch ms), as every live adapter stamps trades. */
const T0 = 1_700_000_000_000;

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

const onsetsOf = (signals: readonly Signal[]): string[] => signals.map((s) => `${s.kind}@${s.ts - T0}`);
/** The detector's per-symbol state, for the tests that check what a bucket recorded. */
const stateOf = (det: CascadeDetector): { lastPrice: number; sumBuy: number; sumSell: number } =>
  (det as unknown as { table: { get(e: string, s: string): { lastPrice: number; sumBuy: number; sumSell: number } } }).table.get('x', 'BTCUSDT');

describe('cascade detector: trades stamped before the current bucket (a backfill after a disconnect)', () => {
  /**
   * A trade tape, one print every 50 ms: a calm random walk (balanced flow) for 120 s, then 30 s
   * of a mild drift down (10 bps over 30 s) with 70% sells at the usual rate, then calm again.
   */
  function tape(): TradeEvent[] {
    const r = seededRandom(42);
    const out: TradeEvent[] = [];
    let px = 6_000_000;
    let id = 0;
    for (let t = 50; t <= 200_000; t += 50) {
      const drifting = t > 120_000 && t <= 150_000;
      px += r.normal() * 1.5;
      if (drifting) px -= (6_000_000 * 10e-4) / (30_000 / 50);
      const sell = r.next() < (drifting ? 0.7 : 0.5);
      out.push({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts: T0 + t, recvTs: T0 + t, tradeId: `t${++id}`, price: Math.round(px), qty: 10_000, side: sell ? 'sell' : 'buy' });
    }
    return out;
  }

  it('the same trades give the same verdict whether they arrive live or as a backfill after a 30 s disconnect', () => {
    const trades = tape();
    const live = new DetectorHarness([new CascadeDetector('cascade', {})], [BTC]);
    for (const ev of trades) live.feed(ev);
    expect(onsetsOf(live.signals)).toEqual([]); // the mild drift is no cascade

    // Disconnected from 120 s to 150 s: the venue (Coinbase's market_trades snapshot, ccxt)
    // backfills the missed prints, in id order, with their own venue times, received at 150.05 s,
    // after one book update at 150 s (the book channel came back first).
    const backfilled = new DetectorHarness([new CascadeDetector('cascade', {})], [BTC]);
    for (const ev of trades) {
      const t = ev.ts - T0;
      if (t > 120_000 && t <= 150_000) continue;
      if (t === 150_050) {
        backfilled.feed({ type: 'book_delta', exchange: 'x', symbol: 'BTCUSDT', ts: T0 + 150_000, recvTs: T0 + 150_000, firstSeq: 2, seq: 2, bids: [], asks: [] });
        for (const m of trades) {
          const mt = m.ts - T0;
          if (mt > 120_000 && mt <= 150_000) backfilled.feed({ ...m, recvTs: T0 + 150_050 });
        }
      }
      backfilled.feed(ev);
    }
    // Before: the 30 s of flow landed in one 250 ms bucket (surge 33.6x, aggressor share 0.7):
    // calm -> building -> cascade, stamped 150.25 s, young enough for a strategy's age check.
    expect(onsetsOf(backfilled.signals)).toEqual([]);
  });

  it('a print older than the short window is left out; a late one inside it counts in the volume but does not replace a newer print as the price', () => {
    const det = new CascadeDetector('cascade', { use_book: false, warmup_ms: 0 }); // 250 ms buckets, window of 4
    const h = new DetectorHarness([det], [BTC]);
    const trade = (ms: number, price: number, side: 'buy' | 'sell'): void =>
      h.feed({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts: T0 + ms, recvTs: T0 + 2_010, tradeId: `t${ms}`, price, qty: 100_000, side });
    trade(10, 6_000_000, 'buy');
    trade(2_010, 6_000_000, 'buy'); // bucket 8: the window is buckets 5-8
    trade(1_990, 5_990_000, 'sell'); // bucket 7, late but inside the window
    trade(500, 5_900_000, 'buy'); // bucket 2: before the window
    trade(2_260, 6_000_000, 'buy'); // closes bucket 8
    const st = stateOf(det);
    expect(st.lastPrice).toBe(6_000_000);
    expect(st.sumBuy).toBeCloseTo(6_000_000 * 0.01 * 100_000 * 0.00001, 6);
    expect(st.sumSell).toBeCloseTo(5_990_000 * 0.01 * 100_000 * 0.00001, 6);
  });
});

describe('cascade detector: a long feed outage (detectors never see the feed status)', () => {
  /** Balanced calm flow (random walk, 50/50 aggressors), a print every 50 ms, 300 s of data; the data after 150 s is stamped `outageMs` later. */
  function calm(seed: number, outageMs: number): TradeEvent[] {
    const r = seededRandom(seed);
    const out: TradeEvent[] = [];
    let px = 6_000_000;
    let id = 0;
    for (let t = 50; t <= 300_000; t += 50) {
      px += r.normal() * 1.5;
      const sell = r.next() < 0.5;
      const ts = T0 + t + (t > 150_000 ? outageMs : 0);
      out.push({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${++id}`, price: Math.round(px), qty: 10_000, side: sell ? 'sell' : 'buy' });
    }
    return out;
  }
  const run = (events: TradeEvent[]): string[] => {
    const h = new DetectorHarness([new CascadeDetector('cascade', {})], [BTC]);
    for (const ev of events) h.feed(ev);
    return onsetsOf(h.signals);
  };

  it('the same calm flow before and after a 30 min silence starts no episode', () => {
    expect(run(calm(2, 0))).toEqual([]); // control: no gap, no episode
    // Before: the fast-forward decayed the volume baseline by (1 - 250/300000)^7200 ~ e^-6 and
    // it relearnt at 1/1200 per bucket, so ordinary flow long after the gap scored a surge of 7x;
    // once building, the baselines stopped learning: calm -> building -> cascade on unchanged flow.
    expect(run(calm(2, 1_800_000))).toEqual([]);
  });

  it('an episode open when the data stops is closed to calm when data returns, and nothing fires during the fresh warm-up', () => {
    const plan = { at: 120_000, durationMs: 2500, moveBps: -60, liquidations: true };
    const gapMs = 1_800_000;
    const h = new DetectorHarness([new CascadeDetector('cascade', {})], [BTC]);
    for (const ev of market(121_500, 1, [plan], T0)) h.feed(ev); // the feed stops mid-cascade
    expect(onsetsOf(h.signals)).toEqual(['cascade_building@120250', 'cascade@120750']);
    const resume = 121_500 + gapMs;
    for (const ev of market(90_000, 9, [], T0 + resume)) h.feed(ev); // 90 s of calm market after it
    // The buckets that flush the short window are evaluated as ever (the flow stopped: the score
    // fell, exhaustion); then the silence restarts warm-up, closing the episode where data returns.
    expect(onsetsOf(h.signals).slice(2)).toEqual(['cascade_exhaustion@122500', `cascade_calm@${resume}`]);
    expect(h.signals[3].evidence).toMatchObject({ from: 'exhaustion', to: 'calm', reason: 'no data for longer than the baseline half-life: warm-up restarted' });
  });
});

describe('cascade detector: the price of a bucket with a forced order and no trade', () => {
  /** Calm, balanced flow; at 150.1 s one 600k forced sell at `liqPriceFactor` x the market; no print from 150.0 s to 150.3 s. */
  function withForcedSell(liqPriceFactor: number): string[] {
    // use_book = false: price and volume alone, the price the last trade (as while the book resyncs)
    const r = seededRandom(5);
    const h = new DetectorHarness([new CascadeDetector('cascade', { use_book: false, liquidations: 'on' })], [BTC]);
    let px = 6_000_000;
    let id = 0;
    for (let t = 50; t <= 180_000; t += 50) {
      const ts = T0 + t;
      if (t === 150_100) h.feed({ type: 'liquidation', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, side: 'sell', price: Math.round(px * liqPriceFactor), qty: 1_000_000 });
      if (t >= 150_000 && t < 150_300) continue;
      px += r.normal() * 1.5;
      h.feed({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${++id}`, price: Math.round(px), qty: 10_000, side: r.next() < 0.5 ? 'sell' : 'buy' });
    }
    return onsetsOf(h.signals);
  }

  it('a forced order priced away from the market (Bybit allLiquidation "p" is the bankruptcy price) is not read as the market price', () => {
    expect(withForcedSell(1)).toEqual([]); // control: priced at the market, nothing starts
    // Priced 60 bps below: before, that bucket's price was the forced order's (a 60 bps drop,
    // velocity z in the thousands), and with the forced-order component it started an episode.
    expect(withForcedSell(1 - 0.006)).toEqual([]);
  });
});

describe('cascade detector: book lookups (MarketContext.liveBooks)', () => {
  /** A context that hands out `current` as the pair's book; a resync replaces it (not live unless `liveBooks`). */
  class ReplacingContext implements DetectorContext {
    now = 0;
    readonly signals: Signal[] = [];
    lookups = 0;
    current = ReplacingContext.bookAt(6_000_000);
    constructor(readonly liveBooks?: boolean) {}
    static bookAt(mid: number): L2Book {
      const b = new L2Book('x', 'BTCUSDT');
      b.applySnapshot({ seq: 1, bids: [{ price: mid - 50, qty: 100_000 }], asks: [{ price: mid + 50, qty: 100_000 }] });
      return b;
    }
    instrument(exchange: string, symbol: string): Instrument | undefined {
      return exchange === BTC.exchange && symbol === BTC.symbol ? BTC : undefined;
    }
    book(): BookView | undefined {
      this.lookups++;
      return this.current;
    }
    emit(s: Signal): void {
      this.signals.push(s);
    }
  }
  const trade = (ms: number): MarketEvent => ({ type: 'trade', exchange: 'x', symbol: 'BTCUSDT', ts: T0 + ms, recvTs: T0 + ms, tradeId: `t${ms}`, price: 6_000_000, qty: 1, side: 'buy' });

  it('without liveBooks, reads the book the context hands out now, not the first one it saw', () => {
    const det = new CascadeDetector('cascade', { warmup_ms: 0 });
    const ctx = new ReplacingContext();
    det.onMarketEvent(trade(10), ctx);
    det.onMarketEvent(trade(300), ctx); // closes bucket 0: the price is the book's mid
    expect(stateOf(det).lastPrice).toBe(6_000_000);
    // a resync into a new book object: the old one is no longer updated, and still says synced
    ctx.current = ReplacingContext.bookAt(5_900_000);
    det.onMarketEvent(trade(600), ctx); // closes bucket 1
    expect(stateOf(det).lastPrice).toBe(5_900_000);
  });

  it('with liveBooks (the engine), looks the book up once and keeps it', () => {
    const det = new CascadeDetector('cascade', { warmup_ms: 0 });
    const ctx = new ReplacingContext(true);
    for (let ms = 10; ms < 5_000; ms += 100) det.onMarketEvent(trade(ms), ctx);
    expect(ctx.lookups).toBe(1);
  });
});

describe('cascade detector: one print of a bad size and the flow baselines', () => {
  const plan = { at: 120_000, durationMs: 2500, moveBps: -60, liquidations: false };
  /** The market with one copy of its first trade (or forced order) after 90 s at `scale` x its size: a mis-scaled size, still valid integer lots. */
  function* withBadPrint(events: Iterable<MarketEvent>, type: 'trade' | 'liquidation', scale: number): Generator<MarketEvent> {
    let injected = false;
    for (const ev of events) {
      yield ev;
      if (!injected && ev.type === 'trade' && ev.ts >= T0 + 90_000) {
        injected = true;
        yield type === 'trade' ? { ...ev, tradeId: 'fat', qty: ev.qty * scale } : { type: 'liquidation', exchange: ev.exchange, symbol: ev.symbol, ts: ev.ts, recvTs: ev.recvTs, side: ev.side, price: ev.price, qty: ev.qty * scale };
      }
    }
  }
  const kinds = (h: DetectorHarness): string[] => h.signals.map((s) => s.kind);

  it('a trade 1e7 x too large does not blind the volume input (trades only) to a real cascade 30 s later', () => {
    // Before: the volume baseline learnt it uncapped (x 1e7 / 1200 per bucket) and decayed at
    // 1/1200 per bucket: the cascade's surge read as nothing, for hours.
    expect(kinds(run({ use_book: false }, market(150_000, 4, [plan], T0)))).toContain('cascade'); // control
    expect(kinds(run({ use_book: false }, withBadPrint(market(150_000, 4, [plan], T0), 'trade', 10_000_000)))).toContain('cascade');
  });

  it('a forced order 1e7 x too large does not blind the forced-order input to a real cascade 30 s later', () => {
    // A venue that sends forced orders all along (a small one every 2 s), so the forced-order
    // baseline has learnt something before the bad one.
    function* withForcedOrders(events: Iterable<MarketEvent>): Generator<MarketEvent> {
      let next = T0 + 2000;
      for (const ev of events) {
        yield ev;
        if (ev.type === 'trade' && ev.ts >= next) {
          next += 2000;
          yield { type: 'liquidation', exchange: ev.exchange, symbol: ev.symbol, ts: ev.ts, recvTs: ev.recvTs, side: ev.side, price: ev.price, qty: ev.qty };
        }
      }
    }
    // 15 bps: price and volume alone stay below cascade_score, the forced orders take it over
    const liq = { ...plan, moveBps: -15, liquidations: true };
    const settings = { use_book: false, liquidations: 'on' };
    expect(kinds(run(settings, withForcedOrders(market(150_000, 4, [liq], T0))))).toContain('cascade'); // control
    // Before: the baseline learnt it uncapped and put the forced-order reference out of reach.
    expect(kinds(run(settings, withBadPrint(withForcedOrders(market(150_000, 4, [liq], T0)), 'liquidation', 10_000_000)))).toContain('cascade');
  });
});
