import { describe, expect, it } from 'vitest';
import { defineInstrument, type DetectorContext, type Signal, type TradeEvent } from '@cwts/core';
import { parseWhaleSettings, RobustWhaleDetector } from './robust-whale.js';

const I = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });

function harness() {
  const signals: Signal[] = [];
  const ctx = { now: 0, instrument: () => I, book: () => undefined, emit: (s: Signal) => signals.push(s) } as unknown as DetectorContext;
  let n = 0;
  // Deterministic lognormal-ish sizes around 0.03 BTC at 60,000 (about 1,800 USDT).
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const trade = (lots: number, side: 'buy' | 'sell' = 'buy'): TradeEvent => ({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: ++n, recvTs: n, tradeId: String(n), price: 6_000_000, qty: lots, side });
  const normal = () => trade(Math.max(1, Math.round(3000 * Math.exp(0.6 * (rand() + rand() + rand() - 1.5)))));
  return { signals, ctx, trade, normal };
}

describe('RobustWhaleDetector', () => {
  const settings = parseWhaleSettings({ z_threshold: 4, warmup_trades: 200, min_notional: 10_000 });

  it('stays silent during warm-up even for a huge trade', () => {
    const h = harness();
    const d = new RobustWhaleDetector('whale', settings);
    for (let i = 0; i < 100; i++) d.onMarketEvent(h.normal(), h.ctx);
    d.onMarketEvent(h.trade(500_000), h.ctx);
    expect(h.signals).toHaveLength(0);
  });

  it('fires on a trade far above the learned distribution, with its evidence and direction', () => {
    const h = harness();
    const d = new RobustWhaleDetector('whale', settings);
    for (let i = 0; i < 1000; i++) d.onMarketEvent(h.normal(), h.ctx);
    expect(h.signals).toHaveLength(0);
    d.onMarketEvent(h.trade(200_000, 'sell'), h.ctx); // 2 BTC = 120,000 USDT
    expect(h.signals).toHaveLength(1);
    const s = h.signals[0]!;
    expect(s).toMatchObject({ detector: 'whale', kind: 'whale_trade', direction: -1, id: 'whale:sim:BTCUSDT:1' });
    expect(s.strength).toBeGreaterThan(4);
    expect(s.evidence).toMatchObject({ qty: 200_000, price: 6_000_000, notional: 120_000 });
  });

  it('does not fire below the absolute notional floor', () => {
    const h = harness();
    const d = new RobustWhaleDetector('whale', parseWhaleSettings({ z_threshold: 4, warmup_trades: 200, min_notional: 200_000 }));
    for (let i = 0; i < 1000; i++) d.onMarketEvent(h.normal(), h.ctx);
    d.onMarketEvent(h.trade(200_000), h.ctx);
    expect(h.signals).toHaveLength(0);
  });

  it('does not call a trade a whale because it is 3% larger than a symbol whose prints are all one clip size', () => {
    // Before: the spread of identical sizes decayed to nothing (floor 1e-6) and the larger clip
    // scored z ~ 19,937. The spread is floored at 0.05 in log notional, as in core's detector.
    const h = harness();
    const d = new RobustWhaleDetector('whale', settings);
    // a quiet pair whose public prints are a market maker's / TWAP's fixed 20,000 USDT clip
    for (let i = 0; i < 1000; i++) d.onMarketEvent(h.trade(33_334), h.ctx); // 0.33334 BTC x 60,000
    d.onMarketEvent(h.trade(34_334), h.ctx); // 20,600 USDT
    expect(h.signals.map((s) => ({ z: s.strength, notional: s.evidence.notional }))).toEqual([]);
    // a clip well past the floor's reach (+30%, z ~ 5.2) still fires
    d.onMarketEvent(h.trade(43_334), h.ctx);
    expect(h.signals).toHaveLength(1);
    expect(h.signals[0]!.strength).toBeCloseTo(Math.log(43_334 / 33_334) / 0.05, 0);
  });

  it('learns a lasting shift of the usual clip size instead of flagging every later trade', () => {
    // Before: a firing trade never entered the baseline, so after the market maker's clip grew
    // 30% all 5,000 later clips were whales (the follower bought every cooldown_ms to max_position).
    const h = harness();
    const d = new RobustWhaleDetector('whale', settings);
    for (let i = 0; i < 1000; i++) d.onMarketEvent(h.trade(50_000), h.ctx); // 0.5 BTC, 30,000 USDT
    for (let i = 0; i < 5000; i++) d.onMarketEvent(h.trade(65_000), h.ctx); // 0.65 BTC from now on
    expect(h.signals).toHaveLength(26); // the share of firing trades passed 5%: learnt again
    // the new clip is the usual size now; a genuine whale still fires, with a fresh id
    d.onMarketEvent(h.trade(65_000), h.ctx);
    d.onMarketEvent(h.trade(500_000), h.ctx);
    expect(h.signals).toHaveLength(27);
    expect(h.signals[26]).toMatchObject({ id: 'whale:sim:BTCUSDT:27' });
    expect(h.signals[26]!.evidence.baselineNotional).toBeCloseTo(39_000, -2);
  });

  it('keeps the baseline through a run of whales shorter than a regime change (a sweep of 20 prints)', () => {
    const h = harness();
    const d = new RobustWhaleDetector('whale', settings);
    for (let i = 0; i < 1000; i++) d.onMarketEvent(h.normal(), h.ctx);
    for (let i = 0; i < 20; i++) d.onMarketEvent(h.trade(200_000), h.ctx);
    for (let i = 0; i < 100; i++) d.onMarketEvent(h.normal(), h.ctx);
    d.onMarketEvent(h.trade(200_000), h.ctx);
    expect(h.signals).toHaveLength(21);
  });

  it('rejects unknown or invalid settings with the key path', () => {
    expect(() => parseWhaleSettings({ z_treshold: 4 })).toThrowError(/detectors.whale.z_treshold: unknown key/);
    expect(() => parseWhaleSettings({ z_threshold: -1 })).toThrowError(/detectors.whale.z_threshold: expected a positive number/);
    expect(() => parseWhaleSettings({ learning_rate: 1.5 })).toThrowError(/detectors.whale.learning_rate: expected a number in \(0, 1\], got 1.5/);
    expect(parseWhaleSettings({ learning_rate: 1 }).learningRate).toBe(1);
  });
});
