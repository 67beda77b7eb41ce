import { describe, expect, it } from 'vitest';
import { parseShardState, PortfolioAggregate } from './aggregate.js';
import { MAX_GAP_SAMPLES, PortfolioVaR } from './portfolio-var.js';

const E18 = 10n ** 18n;
/** A shard's published state with positions valued in quote units and marks as decimal strings. */
const state = (shard: string, ts: number, positions: Record<string, number>, marks: Record<string, string>) =>
  parseShardState({
    shard, instance: `${shard}-1`, seq: ts, ts, equity: (100_000n * E18).toString(), grossExposure: '0', reserved: null, riskState: 'ACTIVE',
    positions: Object.entries(positions).map(([k, v]) => ({ exchange: k.split(':')[0], symbol: k.split(':')[1], qty: Math.sign(v), value: (BigInt(v) * E18).toString() })),
    marks,
  })!;

// Marks giving returns A: +10 %, -10 %, +5 %, -5 %; B: +2 %, +4 %, -2 %, 0 %.
const A = ['100', '110', '99', '103.95', '98.7525'];
const B = ['50', '51', '53.04', '51.9792', '51.9792'];

describe('portfolio VaR across shards', () => {
  it('historical: the positions of all shards summed per instrument, at the confidence given', async () => {
    let now = 0;
    const agg = new PortfolioAggregate({ monoMs: () => now, staleAfterMs: 5000 });
    const v = new PortfolioVaR({ confidence: 0.75, method: 'historical', window: 500, minReturns: 4 });
    for (let t = 0; t < A.length; t++) {
      now = t * 1000;
      // s1 holds 600 of A; s2 holds 400 of A and is short 500 of B: the portfolio is A +1000, B -500.
      agg.update(state('s1', t * 1000, { 'sim:A': 600 }, { 'sim:A': A[t]!, 'sim:B': B[t]! }));
      agg.update(state('s2', t * 1000, { 'sim:A': 400, 'sim:B': -500 }, { 'sim:A': A[t]!, 'sim:B': B[t]! }));
      v.sample(agg.marks());
    }
    const { exposures } = agg.exposures();
    expect(Object.fromEntries(exposures)).toEqual({ 'sim:A': 1000, 'sim:B': -500 });
    // P&L per period 1000 rA - 500 rB = 90, -120, 60, -50: losses sorted -90, -60, 50, 120.
    // c = 0.75: index ceil(0.75 x 4) - 1 = 2 -> VaR 50, CVaR mean(50, 120) = 85.
    const r = (await v.compute(exposures))!;
    expect(r.var).toBeCloseTo(50, 9);
    expect(r.cvar).toBeCloseTo(85, 9);
    expect(r.observations).toBe(4);
    expect(r.missing).toEqual([]);
    // At 0.99 the worst period: 120.
    const v99 = new PortfolioVaR({ confidence: 0.99, method: 'historical', window: 500, minReturns: 4 });
    for (let t = 0; t < A.length; t++) v99.sample(new Map([['sim:A', Number(A[t])], ['sim:B', Number(B[t])]]));
    expect((await v99.compute(exposures))!.var).toBeCloseTo(120, 9);
  });

  it('parametric: z_c x sigma of the exposure-weighted return', async () => {
    const v = new PortfolioVaR({ confidence: 0.99, method: 'parametric', window: 500, minReturns: 4 });
    // Returns +1 %, -1 %, +1 %, -1 %: mean 0, sample sd sqrt(4 x 0.0001 / 3).
    for (const m of [100, 101, 99.99, 100.9899, 99.980001]) v.sample(new Map([['sim:A', m]]));
    const r = (await v.compute(new Map([['sim:A', 1000]])))!;
    const sd = Math.sqrt((4 * 0.0001) / 3);
    expect(r.var).toBeCloseTo(2.3263478740408408 * 1000 * sd, 6); // 26.86
  });

  it('no VaR before min returns; a position without history is named as missing; a long gap restarts the series', async () => {
    const v = new PortfolioVaR({ confidence: 0.75, method: 'historical', window: 3, minReturns: 2 });
    v.sample(new Map([['sim:A', 100], ['sim:B', 50]]));
    v.sample(new Map([['sim:A', 110], ['sim:B', 51]]));
    expect(await v.compute(new Map([['sim:A', 1000]]))).toBeUndefined();
    // B has no fresh mark for more than MAX_GAP_SAMPLES samples: its series starts again.
    for (let k = 0; k <= MAX_GAP_SAMPLES; k++) v.sample(new Map([['sim:A', 99]]));
    expect(v.returnsOf('sim:B')).toEqual([]);
    v.sample(new Map([['sim:A', 99], ['sim:B', 52]]));
    expect(v.returnsOf('sim:B')).toEqual([]); // its first mark again: no return yet
    const r = (await v.compute(new Map([['sim:A', 1000], ['sim:B', -500]])))!;
    expect(r.missing).toEqual(['sim:B']);
    expect(Object.keys(r.exposures)).toEqual(['sim:A']);
    for (const m of [100, 101, 102, 103]) v.sample(new Map([['sim:A', m]]));
    expect(v.returnsOf('sim:A')).toHaveLength(3); // the window
  });

  it('a short gap in a mark keeps the series: the next return spans the gap', async () => {
    expect(MAX_GAP_SAMPLES).toBeGreaterThanOrEqual(1);
    const v = new PortfolioVaR({ confidence: 0.75, method: 'historical', window: 10, minReturns: 2 });
    v.sample(new Map([['sim:A', 100]]));
    v.sample(new Map([['sim:A', 110]]));
    v.sample(new Map([['sim:A', 99]]));
    for (let k = 0; k < MAX_GAP_SAMPLES; k++) v.sample(new Map()); // no fresh state carries A
    expect(v.returnsOf('sim:A')).toEqual([110 / 100 - 1, 99 / 110 - 1]);
    // Still in the VaR during the gap (its exposure counts from the stale shard's positions).
    expect((await v.compute(new Map([['sim:A', 1000]])))!.missing).toEqual([]);
    v.sample(new Map([['sim:A', 89.1]]));
    expect(v.returnsOf('sim:A')).toEqual([110 / 100 - 1, 99 / 110 - 1, 89.1 / 99 - 1]);
  });

  it('marks come from the freshest shard that is not stale; a stale shard\'s positions still count', () => {
    let now = 1000; // the aggregator's receive time
    const agg = new PortfolioAggregate({ monoMs: () => now, staleAfterMs: 5000 });
    agg.update(state('s1', 1000, { 'sim:A': 100 }, { 'sim:A': '90' }));
    now = 8000;
    agg.update(state('s2', 8000, {}, { 'sim:A': '95' }));
    now = 9000;
    expect(agg.marks()).toEqual(new Map([['sim:A', 95]]));
    now = 20_000;
    expect(agg.marks()).toEqual(new Map());
    expect(agg.exposures().exposures).toEqual(new Map([['sim:A', 100]]));
  });

  it('a state with a malformed mark or position is rejected whole', () => {
    const base = { shard: 's', instance: 'i', seq: 1, ts: 1, equity: '0', riskState: 'ACTIVE' };
    expect(parseShardState({ ...base, marks: { 'sim:A': 'NaN' } })).toBeUndefined();
    expect(parseShardState({ ...base, marks: { 'sim:A': '-1' } })).toBeUndefined();
    expect(parseShardState({ ...base, marks: { 'sim:A': '0' } })).toBeUndefined();
    expect(parseShardState({ ...base, positions: [{ exchange: 'sim', symbol: 'A', qty: 1, value: '1.5' }] })).toBeUndefined();
    expect(parseShardState({ ...base, positions: [{ exchange: 'sim', symbol: 'A', qty: 0.5, value: '1' }] })).toBeUndefined();
    expect(parseShardState({ ...base, positions: {} })).toBeUndefined();
    expect(parseShardState({ ...base, positions: [{ exchange: 'sim', symbol: 'A', qty: 1, value: null }] })!.positions.get('sim:A')).toBeUndefined();
  });
});
