import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BookView, DetectorContext } from '../contracts/trading.js';
import type { BookDeltaEvent, BookLevel, BookSnapshotEvent, MarketEvent, TradeEvent } from '../domain/events.js';
import { defineInstrument, type Instrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { L2Book } from '../microstructure/l2-book.js';
import { ConfigError } from '../config/errors.js';
import { seededRandom } from '../testing/seeded-random.js';
import { DetectorHarness } from './harness.js';
import { parseWhaleSettings, WhaleDetector } from './whale.js';
import { BurstSide } from './whale-symbol.js';
import { unknownSymbolKeys } from './settings.js';

// price in ticks of 0.01, qty in lots of 0.001: notional = ticks * lots * 1e-5
const BTC = defineInstrument({ exchange: 'x', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const ETH = defineInstrument({ exchange: 'x', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const PRICE = 6_000_000; // 60,000.00
/** Lots worth `notional` quote units at PRICE. */
const lotsFor = (notional: number): number => Math.round(notional / (PRICE * 1e-5));

let tid = 0;
function trade(ts: number, qty: number, side: 'buy' | 'sell' = 'buy', symbol = 'BTCUSDT', price = PRICE): TradeEvent {
  return { type: 'trade', exchange: 'x', symbol, ts, recvTs: ts, tradeId: `t${++tid}`, price, qty, side };
}

function harness(settings: Record<string, unknown>): { h: DetectorHarness; d: WhaleDetector } {
  const d = new WhaleDetector('whale', settings);
  return { h: new DetectorHarness([d], [BTC, ETH]), d };
}

/** n ordinary trades: log-normal notional around 2,000 (sigma 0.5), alternating sides, 50 ms apart. */
function ordinary(h: DetectorHarness, n: number, seed = 1, t0 = 0, symbol = 'BTCUSDT'): number {
  const r = seededRandom(seed);
  let ts = t0;
  for (let i = 0; i < n; i++) {
    ts += 50;
    h.feed(trade(ts, Math.max(1, lotsFor(2000 * Math.exp(0.5 * r.normal()))), i % 2 ? 'buy' : 'sell', symbol));
  }
  return ts;
}

describe('whale detector (a): single large trades', () => {
  it('fires on a trade far above the rolling distribution, with the trade as evidence', () => {
    const { h } = harness({ bursts: false, walls: false });
    const ts = ordinary(h, 1000);
    expect(h.signals).toHaveLength(0);
    const whale = trade(ts + 10, lotsFor(200_000), 'sell');
    h.feed(whale);
    expect(h.signals).toHaveLength(1);
    const s = h.signals[0];
    expect(s).toMatchObject({ id: 'whale:x:BTCUSDT:1', detector: 'whale', kind: 'whale_trade', exchange: 'x', symbol: 'BTCUSDT', ts: ts + 10, direction: -1 });
    expect(s.evidence.tradeId).toBe(whale.tradeId);
    expect(s.evidence.qty).toBe(whale.qty);
    expect(s.evidence.z as number).toBeGreaterThan(4);
    expect(s.evidence.baselineNotional as number).toBeGreaterThan(1500);
    expect(s.evidence.baselineNotional as number).toBeLessThan(2600);
  });

  it('does not fire on ordinary heavy-ish flow (5,000 log-normal trades)', () => {
    const { h } = harness({ bursts: false, walls: false });
    ordinary(h, 5000, 7);
    expect(h.signals).toHaveLength(0);
  });

  it('does not fire during warm-up, however large the trade', () => {
    const { h } = harness({ bursts: false, walls: false, warmup_trades: 100 });
    let ts = ordinary(h, 98);
    h.feed(trade(++ts, lotsFor(5_000_000)));
    expect(h.signals).toHaveLength(0);
    ts = ordinary(h, 5, 3, ts);
    h.feed(trade(++ts, lotsFor(5_000_000)));
    expect(h.signals).toHaveLength(1);
  });

  it('keeps the whale out of its own baseline (a second whale still fires)', () => {
    const { h } = harness({ bursts: false, walls: false });
    let ts = ordinary(h, 500);
    h.feed(trade(++ts, lotsFor(300_000)));
    h.feed(trade(++ts, lotsFor(300_000)));
    expect(h.signals.map((s) => s.id)).toEqual(['whale:x:BTCUSDT:1', 'whale:x:BTCUSDT:2']);
  });

  it('learns a lasting shift of the usual size (a market maker changing its clip) instead of flagging every trade for ever', () => {
    // One clip size: sigma sits at its 0.05 floor, so a clip +30% larger scores z ~ 5.2. A firing
    // trade is kept out of the baseline, so before, all 5,000 later clips fired (a follower
    // bought on each).
    const { h, d } = harness({ bursts: false, walls: false });
    let ts = 0;
    for (let i = 0; i < 1000; i++) h.feed(trade((ts += 50), lotsFor(30_000), i % 2 ? 'buy' : 'sell'));
    expect(h.signals).toHaveLength(0);
    for (let i = 0; i < 5000; i++) h.feed(trade((ts += 50), lotsFor(39_000), i % 2 ? 'buy' : 'sell'));
    expect(h.signals).toHaveLength(26); // then the share of firing trades passes 5%: learnt again
    expect(d.diagnostics().sizeRelearns).toBe(1);
    expect(h.signals[25].evidence.baselineNotional as number).toBeLessThan(31_000);
    // the new normal is the baseline now: a genuine whale still stands out, the usual clip does not
    h.feed(trade((ts += 50), lotsFor(400_000)));
    h.feed(trade((ts += 50), lotsFor(39_000)));
    expect(h.signals).toHaveLength(27);
    expect(h.signals[26].evidence.baselineNotional as number).toBeCloseTo(39_000, -2);
  });

  it('a run of whales shorter than a regime change (a sweep of 20 large prints) fires on each and keeps the baseline', () => {
    const { h, d } = harness({ bursts: false, walls: false });
    let ts = ordinary(h, 1000);
    for (let i = 0; i < 20; i++) h.feed(trade(++ts, lotsFor(300_000)));
    ts = ordinary(h, 200, 5, ts);
    h.feed(trade(++ts, lotsFor(300_000)));
    expect(h.signals).toHaveLength(21);
    expect(d.diagnostics().sizeRelearns).toBe(0);
  });

  // Warm-up on two alternating sizes a, b: median = mean of their logs, mean absolute deviation
  // = half their log distance, sigma = sqrt(pi/2) x that. A test trade's z is then known exactly.
  function edgeCase(zThreshold: number, minNotional: number, testNotional: number): number {
    const { h } = harness({ bursts: false, walls: false, warmup_trades: 10, z_threshold: zThreshold, min_notional: minNotional });
    for (let i = 0; i < 10; i++) h.feed(trade(i, i % 2 ? lotsFor(1000) : lotsFor(4000)));
    h.feed(trade(100, lotsFor(testNotional)));
    return h.signals.length;
  }
  const xa = Math.log(lotsFor(1000) * PRICE * 1e-5);
  const xb = Math.log(lotsFor(4000) * PRICE * 1e-5);
  const median = 0.5 * (xa + xb);
  const sigma = Math.sqrt(Math.PI / 2) * (Math.abs(xb - xa) / 2);
  const zOf = (notional: number): number => (Math.log(lotsFor(notional) * PRICE * 1e-5) - median) / sigma;

  it('z threshold at the edge: fires at z = threshold, not just above it', () => {
    const z = zOf(40_000);
    expect(edgeCase(z * (1 - 1e-9), 0, 40_000)).toBe(1);
    expect(edgeCase(z * (1 + 1e-9), 0, 40_000)).toBe(0);
  });

  it('min_notional at the edge: fires at exactly min_notional, not one lot below', () => {
    const notional = lotsFor(40_000) * PRICE * 1e-5;
    expect(edgeCase(1, notional, 40_000)).toBe(1);
    expect(edgeCase(1, notional + 0.06, 40_000)).toBe(0);
  });

  it('per-symbol thresholds override the defaults', () => {
    const { h } = harness({ bursts: false, walls: false, symbols: { ETHUSDT: { min_notional: 1_000_000 } } });
    let ts = ordinary(h, 400, 1, 0, 'BTCUSDT');
    ts = ordinary(h, 400, 2, ts, 'ETHUSDT');
    h.feed(trade(++ts, lotsFor(300_000), 'buy', 'BTCUSDT'));
    h.feed(trade(++ts, lotsFor(300_000), 'buy', 'ETHUSDT'));
    expect(h.signals.map((s) => s.symbol)).toEqual(['BTCUSDT']);
    expect(h.signals[0].evidence.minNotional).toBe(10_000);
  });
  it("signal ts is the detectors' clock time: a venue time far ahead of the receive time (microseconds for ms) is not taken", () => {
    // docs/detectors.md, Time: signal ts comes from clockTime, the receive time when the venue
    // time leads it by more than 5 s. A ts of 1.7e15 once kept the reference app's follower from
    // ever exiting or entering again (it timed its cooldown and exit from it).
    const { h } = harness({ bursts: false, walls: false });
    const T0 = 1_700_000_000_000;
    const t = ordinary(h, 1000, 1, T0);
    h.feed({ ...trade(t + 10, lotsFor(200_000)), ts: (t + 10) * 1000 });
    expect(h.signals).toHaveLength(1);
    expect(h.signals[0]!.ts).toBe(t + 10);
  });
});

describe('whale detector (b): bursts', () => {
  /** Ordinary two-sided flow: a 2,000 trade every 100 ms for `seconds`. */
  function flow(h: DetectorHarness, t0: number, seconds: number): number {
    let ts = t0;
    for (let i = 0; i < seconds * 10; i++) {
      ts += 100;
      h.feed(trade(ts, lotsFor(2000), i % 2 ? 'buy' : 'sell'));
    }
    return ts;
  }

  it('fires once when same-side trades inside the window cross the threshold, with the trades as evidence', () => {
    const { h } = harness({ trades: false, walls: false });
    let ts = flow(h, 0, 120);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const t = trade((ts += 50), lotsFor(30_000), 'buy');
      ids.push(t.tradeId);
      h.feed(t);
    }
    const bursts = h.signalsOf('whale_burst');
    expect(bursts).toHaveLength(1);
    const b = bursts[0];
    expect(b.direction).toBe(1);
    // 10,000 usual per side per second x 8 = 80,000 < 100,000 floor: fires on the 4th 30k trade
    expect(b.evidence.trades).toBeGreaterThanOrEqual(4);
    expect(b.evidence.notional as number).toBeGreaterThanOrEqual(100_000);
    expect(b.evidence.tradeIds as string[]).toEqual(expect.arrayContaining(ids.slice(0, 4)));
    expect(b.evidence.threshold).toBe(100_000);
  });

  it('does not fire when the same notional is spread over a longer time', () => {
    const { h } = harness({ trades: false, walls: false });
    let ts = flow(h, 0, 120);
    for (let i = 0; i < 6; i++) h.feed(trade((ts += 1500), lotsFor(30_000), 'buy'));
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
  });

  it('needs burst_min_trades trades (a single whale is not a burst)', () => {
    const { h } = harness({ trades: false, walls: false });
    const ts = flow(h, 0, 120);
    h.feed(trade(ts + 10, lotsFor(500_000), 'sell'));
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
  });

  it('does not fire before burst_warmup_windows', () => {
    const { h } = harness({ trades: false, walls: false, burst_warmup_windows: 60 });
    let ts = flow(h, 0, 30);
    for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
  });

  it('re-arms after the window sum fell below half the threshold', () => {
    const { h } = harness({ trades: false, walls: false });
    let ts = flow(h, 0, 120);
    for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
    ts = flow(h, ts, 3);
    for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
    expect(h.signalsOf('whale_burst')).toHaveLength(2);
  });

  describe('trade times that must not drive the burst clock', () => {
    /** Real venue time (epoch ms), as every live adapter stamps trades. */
    const T0 = 1_700_000_000_000;
    /** One small print whose venue time is in microseconds (x1000), received at `recvTs`. */
    const glitch = (recvTs: number): TradeEvent => ({ ...trade(recvTs * 1000, 1, 'buy'), recvTs });

    it('a single future-stamped print (a venue glitch: microseconds for milliseconds) neither fires bursts on ordinary flow nor blinds rule (b) afterwards', () => {
      // Before: the clock jumped to the glitch's time and never came back; the window stopped
      // evicting, U decayed to nothing and ordinary flow fired, then the rule stayed active.
      const { h } = harness({ trades: false, walls: false });
      let ts = flow(h, T0, 120);
      expect(h.signalsOf('whale_burst')).toHaveLength(0);
      h.feed(glitch(ts));
      // the same ordinary flow as before, for a minute: not a burst
      ts = flow(h, ts, 60);
      expect(h.signalsOf('whale_burst').map((s) => `${s.evidence.trades} trades, ${s.evidence.notional} USDT`)).toEqual([]);
      // a real burst (6 x 30,000 USDT of buys within 300 ms) is still reported, at its own time
      for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
      const bursts = h.signalsOf('whale_burst');
      expect(bursts).toHaveLength(1);
      expect(bursts[0]!.ts).toBeLessThanOrEqual(ts);
    });

    it('a first trade stamped 0 (a venue that sent no time) does not start the clock nor stand in for warm-up', () => {
      // Before: the clock started at window 0 and the next trade counted ~1.7e9 windows seen.
      for (const recvTs of [T0, 0]) {
        const { h } = harness({ trades: false, walls: false, burst_warmup_windows: 60 });
        h.feed({ ...trade(0, lotsFor(2000), 'sell'), recvTs });
        let ts = flow(h, T0, 30);
        for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
        expect({ recvTs, bursts: h.signalsOf('whale_burst').length }).toEqual({ recvTs, bursts: 0 });
      }
    });

    it('a first trade stamped long before the rest (a recent-trades snapshot on subscribe) does not stand in for warm-up', () => {
      // The venue's last print, sent on subscribe, 10 minutes old: in the past, so clockTime
      // trusts it. The 600 empty windows between it and the next trade once counted as windows
      // seen, and a burst fired after 30 s of flow with burst_warmup_windows = 60.
      const { h } = harness({ trades: false, walls: false, burst_warmup_windows: 60 });
      h.feed({ ...trade(T0 - 600_000, lotsFor(2000), 'sell'), recvTs: T0 });
      let ts = flow(h, T0, 30);
      for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
      expect(h.signalsOf('whale_burst')).toHaveLength(0);
      // warm once 60 windows with trades have been seen: the same burst then fires
      ts = flow(h, ts, 40);
      for (let i = 0; i < 6; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
      expect(h.signalsOf('whale_burst')).toHaveLength(1);
    });
  });
});

describe('whale detector (b): late trades (stamped before the newest one seen)', () => {
  /** Steady flow: every 1 s window, 5 buys of 60,000 USDT (300k per window, 1/5 each). */
  function steady(h: DetectorHarness, from: number, to: number): void {
    for (let w = from; w < to; w++) for (let j = 0; j < 5; j++) h.feed(trade(w * 1000 + 100 + 150 * j, lotsFor(60_000), 'buy'));
  }

  it('a late print does not move the bucket clock back: no baseline decay, no false bursts on unchanged flow', () => {
    // defaults: burst_ratio 8, burst_min_notional 100k, baseline 300 windows of 1 s, warm-up 60
    const { h } = harness({ trades: false, walls: false });
    steady(h, 0, 1500); // U -> ~300k, threshold 8 x U = 2.4M: no burst
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
    // three small late prints, each stamped 5 minutes in the past (out-of-order venue prints).
    // Before the fix each moved the bucket back 300 windows; the next trade decayed U by e^-1
    // again, U fell 20x, the threshold hit the 100k floor and the same flow fired whale_burst.
    for (let k = 0; k < 3; k++) {
      const w = 1500 + 10 * k;
      h.feed(trade((w - 300) * 1000 + 5, 1, 'sell'));
      steady(h, w, w + 10);
    }
    steady(h, 1530, 1540);
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
  });

  it('a late trade counts in the current window: a burst completed by one fires at the newest time', () => {
    const { h } = harness({ trades: false, walls: false });
    let ts = 0;
    for (let i = 0; i < 1200; i++) h.feed(trade((ts += 100), lotsFor(2000), i % 2 ? 'buy' : 'sell'));
    // three 30k buys inside the window, then a fourth stamped a minute earlier (late): the
    // window holds 120k >= the 100k floor with 4 trades
    for (let i = 0; i < 3; i++) h.feed(trade((ts += 50), lotsFor(30_000), 'buy'));
    expect(h.signalsOf('whale_burst')).toHaveLength(0);
    const late = trade(ts - 60_000, lotsFor(30_000), 'buy');
    h.feed(late);
    const bursts = h.signalsOf('whale_burst');
    expect(bursts).toHaveLength(1);
    expect(bursts[0]!.ts).toBe(ts);
    expect(bursts[0]!.evidence.lastTs).toBe(ts);
    expect((bursts[0]!.evidence.tradeIds as string[]).at(-1)).toBe(late.tradeId);
    expect(bursts[0]!.evidence.notional as number).toBeGreaterThanOrEqual(120_000);
  });
});

describe('whale detector (b): the usual flow U across outages and bad prints', () => {
  /** Real venue time (epoch ms), as every live adapter stamps trades. */
  const T0 = 1_700_000_000_000;
  /** Steady two-sided flow: per 1 s window, 5 buys and 5 sells of 60,000 (U ~ 300k per side). */
  function steady(h: DetectorHarness, from: number, to: number): void {
    for (let w = from; w < to; w++) {
      for (let j = 0; j < 5; j++) {
        h.feed(trade(T0 + w * 1000 + 100 + 150 * j, lotsFor(60_000), 'buy'));
        h.feed(trade(T0 + w * 1000 + 120 + 150 * j, lotsFor(60_000), 'sell'));
      }
    }
  }
  /** A real burst at the start of window `w`: 20 x 300,000 of buys within 400 ms (6M, 20x U). */
  function burst(h: DetectorHarness, w: number): void {
    for (let i = 0; i < 20; i++) h.feed(trade(T0 + w * 1000 + 20 * i, lotsFor(300_000), 'buy'));
  }
  const described = (h: DetectorHarness): string[] =>
    h.signalsOf('whale_burst').map((s) => `${s.direction} ${s.evidence.trades} trades ${s.evidence.notional} >= threshold ${s.evidence.threshold} (usual ${s.evidence.usualNotional})`);

  it('the same ordinary flow before and after a 30 min silence (an outage) fires no whale_burst', () => {
    // Before: U decayed by e^-6 across the silence, the threshold fell to the 100k floor and the
    // first window of the same flow fired whale_burst on both sides.
    const { h } = harness({ trades: false, walls: false });
    steady(h, 0, 1500); // threshold 8 x U = 2.4M
    expect(described(h)).toEqual([]);
    steady(h, 1500 + 1800, 1500 + 1800 + 120);
    expect(described(h)).toEqual([]);
  });

  it('after an outage, warm-up starts again: a burst fires once burst_warmup_windows have passed, not before', () => {
    const { h } = harness({ trades: false, walls: false });
    steady(h, 0, 1500);
    const back = 1500 + 1800;
    steady(h, back, back + 30);
    burst(h, back + 30); // 30 windows seen: still warming up
    steady(h, back + 31, back + 100);
    expect(described(h)).toEqual([]);
    burst(h, back + 100);
    expect(h.signalsOf('whale_burst').map((s) => s.direction)).toEqual([1]);
    // U learnt from the flow after the outage (300k, plus the first burst's share of the mean)
    const usual = h.signalsOf('whale_burst')[0]!.evidence.usualNotional as number;
    expect(usual).toBeGreaterThan(280_000);
    expect(usual).toBeLessThan(400_000);
  });

  it('trades stopping while the book keeps updating is a quiet market, not an outage: no fresh warm-up', () => {
    const { h } = harness({ trades: false, walls: false });
    steady(h, 0, 300);
    const lv = (price: number): BookLevel[] => [{ price, qty: lotsFor(50_000) }];
    // 10 minutes without a trade, the book updating every second
    for (let w = 300; w < 900; w++) {
      const ts = T0 + w * 1000;
      h.feed({ type: 'book_snapshot', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, seq: w, bids: lv(PRICE - 100), asks: lv(PRICE + 100), reason: 'resync' });
    }
    burst(h, 900);
    expect(h.signalsOf('whale_burst').map((s) => s.direction)).toEqual([1]);
  });

  it('ordinary flow that varies from window to window fires nothing once warm-up is over, at start and after an outage', () => {
    // U used to be an exponential mean from 0: at the end of warm-up it stood at 18% of the
    // flow, so the threshold (8 x U) was 1.5x the usual flow, and a busier second fired.
    const r = seededRandom(3);
    const { h } = harness({ trades: false, walls: false });
    const flow = (from: number, to: number): void => {
      for (let w = from; w < to; w++) {
        for (let j = 0; j < 5; j++) {
          h.feed(trade(T0 + w * 1000 + 100 + 150 * j, lotsFor(60_000 * Math.exp(0.5 * r.normal())), 'buy'));
          h.feed(trade(T0 + w * 1000 + 120 + 150 * j, lotsFor(60_000 * Math.exp(0.5 * r.normal())), 'sell'));
        }
      }
    };
    flow(0, 400);
    flow(400 + 1800, 400 + 1800 + 400);
    expect(described(h)).toEqual([]);
  });

  it('one print of a bad size (valid integer lots) does not blind rule (b) to a real burst 10 minutes later', () => {
    // Before: U learnt the print uncapped (x 1e7) and, at 1/300 per window, was still far above
    // the usual flow 10 minutes later: the threshold was out of reach.
    const runWith = (badPrint: boolean): number[] => {
      const { h } = harness({ trades: false, walls: false });
      steady(h, 0, 600);
      if (badPrint) h.feed(trade(T0 + 600_000, lotsFor(60_000) * 10_000_000, 'buy'));
      steady(h, 601, 1200);
      burst(h, 1200);
      return h.signalsOf('whale_burst').map((s) => s.direction);
    };
    expect(runWith(false)).toEqual([1]);
    expect(runWith(true)).toEqual([1]);
  });

  it('a market that got 30x busier for good is learnt within about 30 windows, the cap notwithstanding', () => {
    const { h } = harness({ trades: false, walls: false });
    steady(h, 0, 600);
    // from window 600 on, 30x the flow on both sides (5 x 1.8M a side per second)
    const busy = (from: number, to: number): void => {
      for (let w = from; w < to; w++) {
        for (let j = 0; j < 5; j++) {
          h.feed(trade(T0 + w * 1000 + 100 + 150 * j, lotsFor(1_800_000), 'buy'));
          h.feed(trade(T0 + w * 1000 + 120 + 150 * j, lotsFor(1_800_000), 'sell'));
        }
      }
    };
    busy(600, 632);
    // the change itself is news (one burst a side); 32 windows on, 8 x U has passed the new flow
    expect(h.signalsOf('whale_burst').map((s) => s.direction)).toEqual([1, -1]);
    // the same 9M a second plus half again, in one window, is no burst of the new market
    for (let j = 0; j < 5; j++) h.feed(trade(T0 + 632_000 + 100 + 150 * j, lotsFor(2_700_000), 'buy'));
    busy(633, 700);
    expect(h.signalsOf('whale_burst').map((s) => s.direction)).toEqual([1, -1]);
  });
});

describe('whale detector (c): walls', () => {
  const lv = (price: number, qty: number): BookLevel => ({ price, qty });
  const TOUCH_BID = PRICE - 100;
  const TOUCH_ASK = PRICE + 100;
  function snapshot(ts: number): BookSnapshotEvent {
    const bids: BookLevel[] = [];
    const asks: BookLevel[] = [];
    for (let i = 0; i < 10; i++) {
      bids.push(lv(TOUCH_BID - i * 300, lotsFor(15_000)));
      asks.push(lv(TOUCH_ASK + i * 300, lotsFor(15_000)));
    }
    lastSeq = 1;
    return { type: 'book_snapshot', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, seq: 1, bids, asks, reason: 'initial' };
  }
  // Deltas carry contiguous sequence numbers after the snapshot (seq 1), as a venue's would.
  let lastSeq = 1;
  const delta = (ts: number, bids: BookLevel[], asks: BookLevel[] = []): BookDeltaEvent => {
    lastSeq++;
    return { type: 'book_delta', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, firstSeq: lastSeq, seq: lastSeq, bids, asks };
  };

  /** Snapshot, then size changes on existing levels near the touch to learn the usual level size. */
  function warm(h: Pick<DetectorHarness, 'feed'>): number {
    h.feed(snapshot(0));
    const r = seededRandom(5);
    let ts = 0;
    for (let i = 0; i < 300; i++) {
      const k = r.int(8);
      const q = lotsFor(15_000 * Math.exp(0.3 * r.normal()));
      h.feed(delta(++ts, i % 2 ? [lv(TOUCH_BID - k * 300, q)] : [], i % 2 ? [] : [lv(TOUCH_ASK + k * 300, q)]));
    }
    return ts;
  }

  it('reports a large level appearing near the touch, then pulled without being hit (spoof-like)', () => {
    const { h } = harness({ trades: false, bursts: false });
    let ts = warm(h);
    expect(h.signals).toHaveLength(0);
    const wallPrice = TOUCH_BID - 300; // 2nd level, 0.67 bps from the touch
    h.feed(delta(++ts, [lv(wallPrice, lotsFor(2_000_000))]));
    const appeared = h.signalsOf('wall_appeared');
    expect(appeared).toHaveLength(1);
    expect(appeared[0]).toMatchObject({ direction: 1, ts });
    expect(appeared[0].evidence).toMatchObject({ side: 'bid', price: wallPrice, qty: lotsFor(2_000_000) });
    ts += 2000;
    h.feed(delta(ts, [lv(wallPrice, 0)]));
    const pulled = h.signalsOf('wall_pulled');
    expect(pulled).toHaveLength(1);
    expect(pulled[0].direction).toBe(-1);
    expect(pulled[0].evidence).toMatchObject({ side: 'bid', price: wallPrice, cancelledQty: lotsFor(2_000_000), tradedQty: 0, lifetimeMs: 2000 });
  });

  it('a wall eaten by trades is not reported as pulled', () => {
    const { h } = harness({ trades: false, bursts: false });
    let ts = warm(h);
    const wallPrice = TOUCH_ASK; // at the touch
    const q = lotsFor(2_000_000);
    h.feed(delta(++ts, [], [lv(wallPrice, q)]));
    expect(h.signalsOf('wall_appeared')).toHaveLength(1);
    expect(h.signalsOf('wall_appeared')[0].direction).toBe(-1);
    for (let i = 0; i < 4; i++) {
      h.feed(trade(++ts, q / 4, 'buy', 'BTCUSDT', wallPrice));
      h.feed(delta(ts, [], [lv(wallPrice, q - ((i + 1) * q) / 4)]));
    }
    expect(h.signalsOf('wall_pulled')).toHaveLength(0);
    expect(h.signals).toHaveLength(1);
  });

  it('ignores large levels beyond wall_depth_bps and before warm-up', () => {
    const { h } = harness({ trades: false, bursts: false, wall_depth_bps: 5 });
    h.feed(snapshot(0));
    // before warm-up: a huge level at the touch is not (yet) a wall
    h.feed(delta(1, [lv(TOUCH_BID, lotsFor(5_000_000))]));
    expect(h.signals).toHaveLength(0);
    const { h: h2 } = harness({ trades: false, bursts: false, wall_depth_bps: 5 });
    let ts = warm(h2);
    h2.feed(delta(++ts, [lv(TOUCH_BID - 6000, lotsFor(5_000_000))])); // 10 bps away
    expect(h2.signals).toHaveLength(0);
  });
  it('a wall signal takes its ts from the clock time, not a venue time far ahead of receipt', () => {
    const { h } = harness({ trades: false, bursts: false });
    let ts = warm(h);
    const wallPrice = TOUCH_BID - 300;
    h.feed({ ...delta(++ts, [lv(wallPrice, lotsFor(2_000_000))]), ts: ts * 1000 + 1e12 });
    expect(h.signalsOf('wall_appeared').map((s) => s.ts)).toEqual([ts]);
    h.feed({ ...delta(ts + 2000, [lv(wallPrice, 0)]), ts: (ts + 2000) * 1000 + 1e12 });
    const pulled = h.signalsOf('wall_pulled');
    expect(pulled.map((s) => s.ts)).toEqual([ts + 2000]);
    expect(pulled[0]!.evidence).toMatchObject({ lifetimeMs: 2000 });
  });

  describe('across a book resync (a snapshot replacing the book)', () => {
    /**
     * A resync snapshot of the book as it stands, with `changes` applied (qty 0 removes a level),
     * at a sequence past a gap; later deltas continue from it.
     */
    function resync(h: DetectorHarness, ts: number, changes: { bids?: BookLevel[]; asks?: BookLevel[] } = {}): void {
      const book = h.book('x', 'BTCUSDT')!;
      const out = Array.from({ length: 50 }, () => ({ price: 0, qty: 0 }));
      const side = (s: 'bid' | 'ask', edits: BookLevel[] = []): BookLevel[] => {
        const levels = new Map<number, number>();
        const n = book.topLevels(s, 50, out);
        for (let i = 0; i < n; i++) levels.set(out[i]!.price, out[i]!.qty);
        for (const e of edits) levels.set(e.price, e.qty);
        return [...levels].filter(([, q]) => q > 0).map(([price, qty]) => ({ price, qty }));
      };
      lastSeq += 50;
      h.feed({ type: 'book_snapshot', exchange: 'x', symbol: 'BTCUSDT', ts, recvTs: ts, seq: lastSeq, bids: side('bid', changes.bids), asks: side('ask', changes.asks), reason: 'resync' });
    }

    it('a wall the snapshot still shows is the same wall: not announced again, its pull later measured from its first appearance', () => {
      const { h } = harness({ trades: false, bursts: false });
      let ts = warm(h);
      const wallPrice = TOUCH_BID - 9 * 300; // deepest level: the warm-up deltas never touch it
      h.feed(delta(++ts, [lv(wallPrice, lotsFor(2_000_000))]));
      const appearedAt = ts;
      expect(h.signalsOf('wall_appeared')).toHaveLength(1);
      // a sequence gap: the venue's snapshot shows the same book, the wall resting where it was
      resync(h, (ts += 5000));
      expect(h.book('x', 'BTCUSDT')!.qtyAt('bid', wallPrice)).toBe(lotsFor(2_000_000));
      expect(h.signalsOf('wall_appeared').map((s) => ({ price: s.evidence.price, ts: s.ts }))).toEqual([{ price: wallPrice, ts: appearedAt }]);
      // still tracked: pulled after the resync, it is reported with its whole life
      h.feed(delta((ts += 1000), [lv(wallPrice, 0)]));
      expect(h.signalsOf('wall_pulled').map((s) => s.evidence)).toEqual([expect.objectContaining({ price: wallPrice, appearedTs: appearedAt, lifetimeMs: ts - appearedAt, cancelledQty: lotsFor(2_000_000) })]);
    });

    it('a wall the snapshot no longer shows is dropped without a signal; one it shows for the first time is announced', () => {
      const { h } = harness({ trades: false, bursts: false });
      let ts = warm(h);
      const gone = TOUCH_BID - 300;
      const fresh = TOUCH_ASK + 300;
      h.feed(delta(++ts, [lv(gone, lotsFor(2_000_000))]));
      expect(h.signalsOf('wall_appeared')).toHaveLength(1);
      // during the gap the bid wall went (traded or cancelled: no telling) and an ask wall came
      resync(h, (ts += 5000), { bids: [lv(gone, lotsFor(15_000))], asks: [lv(fresh, lotsFor(3_000_000))] });
      expect(h.signalsOf('wall_pulled')).toHaveLength(0);
      expect(h.signalsOf('wall_appeared').map((s) => ({ side: s.evidence.side, price: s.evidence.price, ts: s.ts }))).toEqual([
        { side: 'bid', price: gone, ts: ts - 5000 },
        { side: 'ask', price: fresh, ts },
      ]);
      // the dropped wall is no longer tracked: its level shrinking further is no pull
      h.feed(delta(++ts, [lv(gone, lotsFor(10_000))]));
      expect(h.signalsOf('wall_pulled')).toHaveLength(0);
    });
  });

  describe('book lookups (MarketContext.liveBooks)', () => {
    /**
     * Applies book events and runs the detector, as the harness does, but a snapshot replaces the
     * pair's book object (a resync into a fresh book) unless the context says its books are live.
     */
    class ReplacingContext implements DetectorContext {
      now = 0;
      readonly signals: Signal[] = [];
      lookups = 0;
      current = new L2Book('x', 'BTCUSDT');
      constructor(
        readonly detector: WhaleDetector,
        readonly liveBooks?: boolean,
      ) {}
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
      feed(ev: MarketEvent): void {
        if (ev.type === 'book_snapshot') {
          if (this.liveBooks !== true) this.current = new L2Book('x', 'BTCUSDT');
          this.current.applySnapshot(ev);
        } else if (ev.type === 'book_delta') this.current.applyDelta(ev);
        this.detector.onMarketEvent(ev, this);
      }
    }
    /** The standard book with an ask wall one level off the touch. */
    const withAskWall = (ts: number): BookSnapshotEvent => {
      const s = snapshot(ts);
      return { ...s, reason: 'resync', asks: s.asks.map((l) => (l.price === TOUCH_ASK + 300 ? lv(l.price, lotsFor(3_000_000)) : l)) };
    };

    it('without liveBooks, reads the book the context hands out now: a wall in the book a resync replaced it with is seen, and its pull', () => {
      const ctx = new ReplacingContext(new WhaleDetector('whale', { trades: false, bursts: false }));
      let ts = warm(ctx);
      ctx.feed(withAskWall((ts += 1000))); // a new book object
      expect(ctx.signals.map((s) => ({ kind: s.kind, price: s.evidence.price, ts: s.ts }))).toEqual([{ kind: 'wall_appeared', price: TOUCH_ASK + 300, ts }]);
      ctx.feed(delta((ts += 1000), [], [lv(TOUCH_ASK + 300, 0)]));
      expect(ctx.signals.map((s) => s.kind)).toEqual(['wall_appeared', 'wall_pulled']);
    });

    it('with liveBooks (the engine), looks the book up once and keeps it', () => {
      const ctx = new ReplacingContext(new WhaleDetector('whale', { trades: false, bursts: false }), true);
      let ts = warm(ctx);
      ctx.feed(withAskWall((ts += 1000)));
      expect(ctx.signals.map((s) => s.kind)).toEqual(['wall_appeared']);
      expect(ctx.lookups).toBe(1);
    });
  });

  it('a redelivered (old) book delta that the book drops is not read as the wall appearing again', () => {
    const { h } = harness({ trades: false, bursts: false });
    let ts = warm(h);
    const wallPrice = TOUCH_BID - 300;
    const appear = delta(++ts, [lv(wallPrice, lotsFor(2_000_000))]);
    h.feed(appear);
    h.feed(delta((ts += 2000), [lv(wallPrice, 0)]));
    expect(h.signalsOf('wall_appeared')).toHaveLength(1);
    expect(h.signalsOf('wall_pulled')).toHaveLength(1);
    // The venue redelivers the earlier delta (a reconnect, a duplicate frame): the book drops it
    // (its sequence is at or below the book's) and shows no level at wallPrice ...
    h.feed({ ...appear, recvTs: ts + 1 });
    expect(h.book('x', 'BTCUSDT')!.qtyAt('bid', wallPrice)).toBe(0);
    expect(h.book('x', 'BTCUSDT')!.synced).toBe(true);
    // ... so the detector sees no wall there: no second wall_appeared, and no second wall_pulled
    // when the level next changes for real.
    h.feed(delta((ts += 10), [lv(wallPrice, lotsFor(10_000))]));
    expect(h.signalsOf('wall_appeared')).toHaveLength(1);
    expect(h.signalsOf('wall_pulled')).toHaveLength(1);
  });
});

describe('whale detector: settings and determinism', () => {
  it('rejects bad settings with key paths, all at once', () => {
    expect(() => parseWhaleSettings({ z_threshold: -1 })).toThrow(ConfigError);
    try {
      parseWhaleSettings({ z_threshold: -1, min_notional: 'big', nope: 1, symbols: { BTCUSDT: { wall_ratio: 0, bogus: true } } });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('detectors.whale.z_threshold: expected a positive number');
      expect(msg).toContain('detectors.whale.min_notional: expected a non-negative number');
      expect(msg).toContain('detectors.whale.nope: unknown key');
      expect(msg).toContain('detectors.whale.symbols.BTCUSDT.wall_ratio: expected a positive number');
      expect(msg).toContain('detectors.whale.symbols.BTCUSDT.bogus: unknown key');
      return;
    }
    throw new Error('expected a ConfigError');
  });

  it('names per-symbol overrides that match no configured venue and symbol (unknownSymbolKeys)', () => {
    // Nothing checked the keys: a typo left the default min_notional in force, silently.
    const s = parseWhaleSettings({ symbols: { BTCUSDT: { min_notional: 1 }, BTCUSTD: { min_notional: 1 }, 'binance:ETHUSDT': { min_notional: 1 }, 'binance:ETHUSTD': { min_notional: 1 }, 'binanse:ETHUSDT': { min_notional: 1 }, DOGEUSDT: { min_notional: 1 } } });
    const venues = [
      { name: 'binance', symbols: ['BTCUSDT', 'ETHUSDT'] },
      { name: 'bybit', symbols: ['BTCUSDT'] },
    ];
    expect(unknownSymbolKeys(s.symbols.overrideKeys, venues, 'detectors.whale.symbols')).toEqual([
      { path: 'detectors.whale.symbols.BTCUSTD', message: 'no configured venue trades BTCUSTD (did you mean BTCUSDT?): the override would never apply' },
      { path: 'detectors.whale.symbols.binance:ETHUSTD', message: 'venue binance does not trade ETHUSTD (did you mean binance:ETHUSDT?): the override would never apply' },
      { path: 'detectors.whale.symbols.binanse:ETHUSDT', message: 'no configured venue binanse trades ETHUSDT (did you mean binance:ETHUSDT?): the override would never apply' },
      { path: 'detectors.whale.symbols.DOGEUSDT', message: 'no configured venue trades DOGEUSDT: the override would never apply' },
    ]);
    expect(unknownSymbolKeys(['BTCUSDT', 'bybit:BTCUSDT'], venues, 'detectors.whale.symbols')).toEqual([]);
  });

  it('uses the configured name in key paths and signal ids', () => {
    expect(() => parseWhaleSettings({ warmup_trades: 0.5 }, 'big_fish')).toThrow('detectors.big_fish.warmup_trades: expected an integer');
  });

  it('gives identical signals for identical input', () => {
    const run = (): unknown[] => {
      const { h } = harness({});
      tid = 0;
      const r = seededRandom(11);
      const evs: MarketEvent[] = [];
      let ts = 0;
      for (let i = 0; i < 3000; i++) {
        ts += 20;
        const big = r.next() < 0.01 ? 100 : 1;
        evs.push(trade(ts, Math.max(1, lotsFor(big * 2000 * Math.exp(0.6 * r.normal()))), r.next() < 0.5 ? 'buy' : 'sell'));
      }
      for (const e of evs) h.feed(e);
      return h.signals;
    };
    const a = run();
    expect(a.length).toBeGreaterThan(5);
    expect(run()).toEqual(a);
  });
});

describe('whale detector: the burst window ring', () => {
  it('holds the sum, the max and the trades of the window over any pushes and evictions, wrapping at every capacity', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 50 }), fc.boolean()), { maxLength: 150 }),
        (cap, steps) => {
          const b = new BurstSide(cap);
          let model: { ts: number; notional: number; id: string }[] = [];
          let ts = 0;
          for (const [dt, notional, evict] of steps) {
            ts += dt;
            if (evict) {
              b.evictBefore(ts - 3);
              model = model.filter((t) => t.ts >= ts - 3);
            }
            b.push(ts, notional, 1, `t${ts}-${notional}`);
            model.push({ ts, notional, id: `t${ts}-${notional}` });
            if (model.length > cap) model.shift();
            expect(b.len).toBe(model.length);
            expect(b.sum).toBe(model.reduce((s, t) => s + t.notional, 0));
            expect(b.max).toBe(Math.max(...model.map((t) => t.notional)));
            expect(b.recentIds(cap)).toEqual(model.map((t) => t.id));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
