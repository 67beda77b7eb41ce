import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { defineInstrument, instrumentKey, notionalExponent } from '../domain/instrument.js';
import { commonToDecimal, toCommon } from '../risk/portfolio.js';
import { detectorFollowUps, firstAfter, firstAtOrAfter } from './follow-ups.js';
import type { SessionRecord } from './session.js';

const inst = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '0' });
const eth = defineInstrument({ exchange: 'sim', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', minNotional: '0' });

/** Reads of the numbered elements of `arr`, counted. */
function counted<T>(arr: T[]): { view: T[]; reads: () => number } {
  let n = 0;
  const view = new Proxy(arr, {
    get(target, p, receiver) {
      if (typeof p === 'string' && /^\d+$/.test(p)) n++;
      return Reflect.get(target, p, receiver);
    },
  });
  return { view, reads: () => n };
}

/** What followed each detector's signals, the plain way: every signal against every fill. */
function reference(s: SessionRecord, h: number) {
  const out = [];
  for (const detector of [...new Set(s.signals.map((x) => x.detector))].sort()) {
    const mine = s.signals.filter((x) => x.detector === detector);
    const fills = new Set<number>();
    let withFills = 0;
    for (const sig of mine) {
      let any = false;
      s.fills.forEach((f, i) => {
        if (instrumentKey(f.exchange, f.symbol) === instrumentKey(sig.exchange, sig.symbol) && f.ts >= sig.ts && f.ts <= sig.ts + h) {
          fills.add(i);
          any = true;
        }
      });
      if (any) withFills++;
    }
    // fee atoms are distinct per fill: the sum tells which fills were counted
    const fees = [...fills].reduce((a, i) => a + toCommon(s.fills[i]!.feeAtoms, notionalExponent(inst)), 0n);
    out.push({ detector, signals: mine.length, signalsWithFills: withFills, fills: fills.size, fees: commonToDecimal(fees) });
  }
  return out;
}

describe('detector follow-ups', () => {
  it('binary searches read O(log n) elements, whatever the array', () => {
    const n = 1_000_000;
    const ts = Array.from({ length: n }, (_, k) => 2 * k);
    for (const t of [-1, 0, 1, 2, 999_999, 1_000_000, 2 * n - 2, 2 * n]) {
      const a = counted(ts);
      const lo = firstAtOrAfter(a.view, t);
      expect(lo).toBe(ts.findIndex((x) => x >= t) === -1 ? n : ts.findIndex((x) => x >= t));
      expect(a.reads()).toBeLessThanOrEqual(21); // ceil(log2(n + 1))
      const b = counted(ts);
      const hi = firstAfter(b.view, t);
      expect(hi).toBe(ts.findIndex((x) => x > t) === -1 ? n : ts.findIndex((x) => x > t));
      expect(b.reads()).toBeLessThanOrEqual(21);
    }
  });

  it('reads each fill a bounded number of times, not once per signal (a day of a signal and a fill every second took minutes)', () => {
    const n = 2_000;
    const fills: SessionRecord['fills'] = [];
    const signals: SessionRecord['signals'] = [];
    for (let k = 0; k < n; k++) {
      fills.push({ ts: k * 1000, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `c${k}`, side: k % 2 ? 'sell' : 'buy', price: 1_000_000, qty: 1, feeAtoms: 0n });
      signals.push({ ts: k * 1000, id: `s${k}`, detector: 'whale', exchange: 'sim', symbol: 'BTCUSDT', direction: 1, strength: 1 });
    }
    const counter = counted(fills);
    const rec: SessionRecord = { instruments: [inst], initialEquity: 0n, start: 0, end: n * 1000, pnl: [], fills: counter.view, signals, marks: {}, finalMarks: {}, risk: [] };
    // a horizon over the whole session: every signal is followed by every later fill
    const [got] = detectorFollowUps(rec, n * 1000);
    expect(got).toMatchObject({ signals: n, signalsWithFills: n, fills: n });
    // once to group, once to sort, once for the mark-out (signals x fills would be 4,000,000)
    expect(counter.reads()).toBeLessThanOrEqual(4 * n);
  });

  it('counts the same fills and signals as comparing every signal with every fill', () => {
    const fill = fc.record({ ts: fc.integer({ min: 0, max: 200 }), eth: fc.boolean(), side: fc.constantFrom('buy' as const, 'sell' as const) });
    const signal = fc.record({ ts: fc.integer({ min: 0, max: 200 }), eth: fc.boolean(), detector: fc.constantFrom('whale', 'cascade') });
    fc.assert(
      fc.property(fc.array(fill, { maxLength: 40 }), fc.array(signal, { maxLength: 40 }), fc.integer({ min: 0, max: 60 }), (fs, ss, h) => {
        const rec: SessionRecord = {
          instruments: [inst, eth],
          initialEquity: 0n,
          start: 0,
          end: 300,
          pnl: [],
          // in journal order, which a clock step can leave out of time order
          fills: fs.map((f, k) => ({ ts: f.ts, exchange: 'sim', symbol: f.eth ? 'ETHUSDT' : 'BTCUSDT', clientOrderId: `c${k}`, side: f.side, price: 1_000_000, qty: 1 + k, feeAtoms: 1n << BigInt(k) })),
          signals: ss.map((x, k) => ({ ts: x.ts, id: `s${k}`, detector: x.detector, exchange: 'sim', symbol: x.eth ? 'ETHUSDT' : 'BTCUSDT', direction: 1, strength: 1 })),
          marks: {},
          finalMarks: { 'sim:BTCUSDT': 2_000_100, 'sim:ETHUSDT': 1_999_900 },
          risk: [],
        };
        const got = detectorFollowUps(rec, h);
        expect(got.map(({ detector, signals, signalsWithFills, fills, fees }) => ({ detector, signals, signalsWithFills, fills, fees }))).toEqual(reference(rec, h));
      }),
    );
  });
});
