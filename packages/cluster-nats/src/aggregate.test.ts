import { describe, expect, it } from 'vitest';
import { parseShardState, PortfolioAggregate } from './aggregate.js';

const E18 = 10n ** 18n;
const state = (shard: string, ts: number, equity: bigint, gross = 0n, riskState = 'ACTIVE') =>
  parseShardState({ shard, instance: `${shard}-i`, ts, equity: (equity * E18).toString(), grossExposure: (gross * E18).toString(), reserved: null, riskState })!;

describe('PortfolioAggregate', () => {
  it('sums equity and exposure over shards; drawdown from the peak of the sum', () => {
    const a = new PortfolioAggregate();
    a.update(state('s1', 1000, 100_000n, 5000n));
    a.update(state('s2', 1000, 100_000n, 3000n));
    let s = a.summary(1000, 5000);
    expect(s.equity).toBe(200_000n * E18);
    expect(s.grossExposure).toBe(8000n * E18);
    expect(s.drawdown).toBe(0);
    a.update(state('s1', 2000, 90_000n));
    s = a.summary(2000, 5000);
    expect(s.peak).toBe(200_000n * E18);
    expect(s.drawdown).toBeCloseTo(0.05, 6);
  });

  it('a shard that stopped reporting keeps its last exposure (its positions are still at the venue) and is named stale', () => {
    const a = new PortfolioAggregate();
    a.update(state('s1', 1000, 100_000n, 5000n));
    a.update(state('s2', 9000, 100_000n, 1000n));
    const s = a.summary(10_000, 5000);
    expect(s.stale).toEqual(['s1']);
    expect(s.grossExposure).toBe(6000n * E18);
  });

  it('ignores an older message of the same process arriving late', () => {
    const a = new PortfolioAggregate();
    a.update(state('s1', 2000, 50_000n));
    a.update(state('s1', 1000, 100_000n));
    expect(a.summary(2000, 5000).equity).toBe(50_000n * E18);
  });

  it('malformed state is refused, never summed', () => {
    expect(parseShardState(null)).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', ts: 1, equity: 1.5, riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', ts: '1', equity: '1', riskState: 'ACTIVE' })).toBeUndefined();
    expect(parseShardState({ shard: 's1', instance: 'i', ts: 1, equity: '12e3', riskState: 'ACTIVE' })).toBeUndefined();
  });
});
