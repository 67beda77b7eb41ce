import { describe, expect, it } from 'vitest';
import type { MarketEvent } from '@cwts/core';
import { L2Book } from '@cwts/core/microstructure';
import { SyntheticMarket, type SimEvent } from './generator.js';
import { resolveSimOptions } from './options.js';
import { Prng } from './prng.js';

const START = 1_700_000_000_000;

function run(options: Record<string, unknown>, seconds: number, symbols = ['BTCUSDT', 'ETHUSDT']): { events: SimEvent[]; market: SyntheticMarket } {
  const market = new SyntheticMarket({ exchange: 'sim', symbols, options: resolveSimOptions(options), startTs: START });
  const events: SimEvent[] = [];
  market.attach((ev) => events.push(ev));
  market.generate(START + seconds * 1000);
  return { events, market };
}

describe('Prng', () => {
  it('is reproducible per (seed, stream) and differs across seeds and streams', () => {
    const seq = (seed: number, s: string) => Array.from({ length: 8 }, ((r) => () => r.nextU32())(new Prng(seed, s)));
    expect(seq(1, 'a')).toEqual(seq(1, 'a'));
    expect(seq(1, 'a')).not.toEqual(seq(2, 'a'));
    expect(seq(1, 'a')).not.toEqual(seq(1, 'b'));
    const r = new Prng(3);
    for (let i = 0; i < 1000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });
});

describe('SyntheticMarket', () => {
  it('same seed gives an identical event sequence; another seed differs', () => {
    const a = JSON.stringify(run({ seed: 42 }, 20).events);
    const b = JSON.stringify(run({ seed: 42 }, 20).events);
    const c = JSON.stringify(run({ seed: 43 }, 20).events);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a.length).toBeGreaterThan(10_000);
  });

  it('does not depend on how generation is sliced (step() vs generate())', () => {
    const whole = run({ seed: 5 }, 5).events;
    const market = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions({ seed: 5 }), startTs: START });
    const sliced: SimEvent[] = [];
    market.attach((ev) => sliced.push(ev));
    for (let t = START; t <= START + 5000; t += 37) market.generate(t);
    market.generate(START + 5000);
    expect(JSON.stringify(sliced)).toBe(JSON.stringify(whole));
  });

  it('starts with an initial snapshot and synced status per symbol, then deltas with increasing seq; books never cross', () => {
    const { events } = run({ seed: 9, cascade_probability: 0.002, whale_probability: 0.005, levels: 10 }, 12, ['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    const first = events.slice(0, 6);
    expect(first.map((e) => e.type)).toEqual(['book_snapshot', 'feed_status', 'book_snapshot', 'feed_status', 'book_snapshot', 'feed_status']);
    for (const e of first) if (e.type === 'book_snapshot') expect(e.reason).toBe('initial');
    for (const e of first) if (e.type === 'feed_status') expect(e.state).toBe('synced');

    const books = new Map<string, { bids: Map<number, number>; asks: Map<number, number>; seq: number }>();
    let lastTs = 0;
    const best = (m: Map<number, number>, max: boolean) => {
      let b: number | undefined;
      for (const p of m.keys()) if (b === undefined || (max ? p > b : p < b)) b = p;
      return b;
    };
    for (const ev of events) {
      expect(ev.ts).toBeGreaterThanOrEqual(lastTs);
      lastTs = ev.ts;
      if (ev.type === 'feed_status') continue;
      const e = ev as MarketEvent;
      expect(e.exchange).toBe('sim');
      if (e.type === 'book_snapshot') {
        books.set(e.symbol, { bids: new Map(e.bids.map((l) => [l.price, l.qty])), asks: new Map(e.asks.map((l) => [l.price, l.qty])), seq: e.seq });
        expect(e.bids.length).toBe(10);
        expect(e.asks.length).toBe(10);
      } else if (e.type === 'book_delta') {
        const b = books.get(e.symbol)!;
        expect(e.firstSeq).toBe(b.seq + 1);
        expect(e.seq).toBeGreaterThan(b.seq);
        b.seq = e.seq;
        for (const l of e.bids) {
          expect(Number.isSafeInteger(l.price) && Number.isSafeInteger(l.qty) && l.qty >= 0).toBe(true);
          if (l.qty === 0) b.bids.delete(l.price);
          else b.bids.set(l.price, l.qty);
        }
        for (const l of e.asks) {
          if (l.qty === 0) b.asks.delete(l.price);
          else b.asks.set(l.price, l.qty);
        }
        const bb = best(b.bids, true);
        const ba = best(b.asks, false);
        if (bb !== undefined && ba !== undefined) expect(bb).toBeLessThan(ba);
        expect(b.bids.size).toBeLessThanOrEqual(10);
        expect(b.asks.size).toBeLessThanOrEqual(10);
      } else {
        expect(Number.isSafeInteger(e.price) && e.price > 0).toBe(true);
        expect(Number.isSafeInteger(e.qty) && e.qty > 0).toBe(true);
      }
    }
  });

  it('records whale and cascade episodes whose events match the ground truth', () => {
    const { events, market } = run({ seed: 11, whale_probability: 0.002, cascade_probability: 0.0005 }, 120);
    const whales = market.episodes.filter((e) => e.kind === 'whale');
    const cascades = market.episodes.filter((e) => e.kind === 'cascade');
    expect(whales.length).toBeGreaterThan(5);
    expect(cascades.length).toBeGreaterThan(2);

    const trades = events.filter((e): e is Extract<SimEvent, { type: 'trade' }> => e.type === 'trade');
    const median = (sym: string) => {
      const q = trades.filter((t) => t.symbol === sym).map((t) => t.qty).sort((a, b) => a - b);
      return q[Math.floor(q.length / 2)]!;
    };
    for (const w of whales) {
      expect(w.startTs).toBe(w.endTs);
      const hit = trades.find((t) => t.symbol === w.symbol && t.ts === w.startTs && t.side === w.side && t.qty === w.qty);
      expect(hit, `whale trade for ${JSON.stringify(w)}`).toBeDefined();
      expect(hit!.qty).toBeGreaterThan(10 * median(w.symbol));
    }
    // no non-whale trade is as large as the smallest whale of its symbol (clean ground truth)
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      const ws = whales.filter((w) => w.symbol === sym);
      if (ws.length === 0) continue;
      const minWhale = Math.min(...ws.map((w) => w.qty));
      const big = trades.filter((t) => t.symbol === sym && t.qty >= minWhale);
      expect(big.length).toBe(ws.length);
    }
    const liqs = events.filter((e): e is Extract<SimEvent, { type: 'liquidation' }> => e.type === 'liquidation');
    for (const c of cascades) {
      expect(c.endTs).toBeGreaterThan(c.startTs);
      const inside = liqs.filter((l) => l.symbol === c.symbol && l.ts >= c.startTs && l.ts <= c.endTs);
      expect(inside.length).toBeGreaterThan(10);
      expect(inside.every((l) => l.side === c.side)).toBe(true);
      expect(inside.reduce((s, l) => s + l.qty, 0)).toBe(c.qty);
      // price moved in the direction of the forced orders
      const tr = trades.filter((t) => t.symbol === c.symbol && t.ts >= c.startTs && t.ts <= c.endTs);
      expect(tr.filter((t) => t.side === c.side).length).toBe(tr.length);
      const move = tr[tr.length - 1]!.price - tr[0]!.price;
      expect(c.side === 'sell' ? move < 0 : move > 0).toBe(true);
    }
    // every liquidation belongs to a cascade
    for (const l of liqs) {
      expect(cascades.some((c) => c.symbol === l.symbol && l.ts >= c.startTs && l.ts <= c.endTs)).toBe(true);
    }
  });

  it('switches volatility regimes', () => {
    const { market } = run({ seed: 3, regimes: { calm: { mean_duration_s: 1 }, normal: { mean_duration_s: 1 }, volatile: { mean_duration_s: 1 } } }, 0);
    const seen = new Set<string>();
    for (let s = 1; s <= 60; s++) {
      market.generate(START + s * 1000);
      seen.add(market.regime('BTCUSDT')!);
    }
    expect([...seen].sort()).toEqual(['calm', 'normal', 'volatile']);
  });

  it('uses the configured and default instruments', () => {
    const m = new SyntheticMarket({
      exchange: 'sim',
      symbols: ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'XRPUSDT'],
      options: resolveSimOptions({ instruments: { XRPUSDT: { tick_size: '0.0001', lot_size: '0.1', min_notional: '5' } }, start_price: { XRPUSDT: 0.5 } }),
      startTs: START,
    });
    expect(m.instruments().map((i) => [i.symbol, i.tickSize, i.lotSize, i.base, i.quote])).toEqual([
      ['BTCUSDT', '0.01', '0.00001', 'BTC', 'USDT'],
      ['ETHUSDT', '0.01', '0.0001', 'ETH', 'USDT'],
      ['SOLUSDT', '0.01', '0.001', 'SOL', 'USDT'],
      ['XRPUSDT', '0.0001', '0.1', 'XRP', 'USDT'],
    ]);
    m.begin();
    expect(m.book('XRPUSDT')!.bestBid()).toBeGreaterThan(4900);
    expect(m.book('XRPUSDT')!.bestAsk()).toBeLessThan(5100);
  });

  // A $0.20 coin on the 0.01 grid (20 ticks) with one regime quoted 60 ticks wide (options
  // allow 1..1e6 per regime): the mid floor only covered the volatile regime's spread, so a wide
  // calm or normal regime quoted bids at -10 ticks, printed trades there, and an engine book
  // showed them SYNCED.
  for (const regime of ['calm', 'normal', 'volatile'] as const) {
    it(`never publishes a book level, a trade or a liquidation at a price <= 0 (${regime} regime quoted wider than the floor)`, () => {
      const warnings: string[] = [];
      const market = new SyntheticMarket({
        exchange: 'sim',
        symbols: ['XUSDT'],
        // regimes switching every few steps, whales and cascades pushing the mid down
        options: resolveSimOptions({
          seed: 3,
          start_price: { XUSDT: '0.2' },
          whale_probability: 0.02,
          cascade_probability: 0.005,
          regimes: { calm: { mean_duration_s: 0.05 }, normal: { mean_duration_s: 0.05 }, volatile: { mean_duration_s: 0.05 }, [regime]: { spread_ticks: 60, mean_duration_s: 0.05 } },
        }),
        startTs: START,
        onWarning: (symbol, message) => warnings.push(`${symbol}: ${message}`),
      });
      const engineBook = new L2Book('sim', 'XUSDT');
      const bad: string[] = [];
      const seen = new Set<string>();
      market.attach((e) => {
        if (e.type === 'book_snapshot' || e.type === 'book_delta') {
          if (e.type === 'book_snapshot') engineBook.applySnapshot(e);
          else engineBook.applyDelta(e);
          for (const l of [...e.bids, ...e.asks]) if (l.price <= 0) bad.push(`${e.type} seq ${e.seq}: level at ${l.price} ticks`);
          if (!engineBook.synced) bad.push(`engine book ${engineBook.state} after seq ${e.seq}: ${engineBook.stateReason}`);
        } else if ((e.type === 'trade' || e.type === 'liquidation') && e.price <= 0) bad.push(`${e.type} at ${e.price} ticks`);
        seen.add(market.regime('XUSDT')!);
      });
      market.generate(START + 10_000);
      expect(bad.slice(0, 3)).toEqual([]);
      expect([...seen].sort()).toEqual(['calm', 'normal', 'volatile']);
      // the start was raised to 4x the widest spread (240 ticks), and said so
      expect(market.book('XUSDT')!.bestBid()).toBeGreaterThan(60);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('XUSDT: sim: start price 0.2 of XUSDT is 20 ticks');
      expect(warnings[0]).toContain('the market starts at 2.4');
    });
  }

  it('keeps a start price above the floor as configured, without a warning', () => {
    const warnings: string[] = [];
    const m = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT'], options: resolveSimOptions({ regimes: { calm: { spread_ticks: 60 } } }), startTs: START, onWarning: (_s, msg) => warnings.push(msg) });
    m.begin();
    expect(warnings).toEqual([]);
    expect(m.book('BTCUSDT')!.bestBid()).toBe(6_000_000 - 1); // normal regime (2 ticks) around 60000
  });
});
