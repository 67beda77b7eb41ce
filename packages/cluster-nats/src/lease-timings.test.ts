import { describe, expect, it } from 'vitest';
import { leaseTimings, leaseTimingsWithin } from './names.js';

describe('leaseTimingsWithin', () => {
  it('is the configured timings when the buckets keep keys at least that long, or forever (0)', () => {
    expect(leaseTimingsWithin(10_000, 6000)).toEqual(leaseTimings(10_000));
    expect(leaseTimingsWithin(10_000, 60_000)).toEqual(leaseTimings(10_000));
    expect(leaseTimingsWithin(10_000, 0)).toEqual(leaseTimings(10_000));
  });

  // A bucket whose max_age could not be raised: a lease counted past the server's expiry is a
  // symbol two shards may trade at once.
  it('follows a bucket that keeps keys for less than takeover_ms asks: never counts a lease past the bucket\'s max_age', () => {
    const t = leaseTimingsWithin(10_000, 2400);
    expect(t).toEqual(leaseTimings(4000));
    expect(t.ttlMs - t.marginMs).toBeLessThan(2400);
    expect(t.tickMs).toBeLessThan(t.ttlMs - t.marginMs);
    const tiny = leaseTimingsWithin(10_000, 300);
    expect(tiny.ttlMs).toBe(300);
    expect(tiny.tickMs).toBeLessThan(tiny.ttlMs - tiny.marginMs);
  });
});
