import { describe, expect, it } from 'vitest';
import { BASELINE_WINSOR, clockTime, MAX_VENUE_LEAD_MS, winsorized } from './common.js';

describe('clockTime: the time an event gives a detector clock', () => {
  const R = 1_700_000_000_000;
  it('takes the venue time when it is positive and not too far ahead of the receive time', () => {
    expect(clockTime({ ts: R - 250, recvTs: R })).toBe(R - 250); // behind: the network path
    expect(clockTime({ ts: R - 86_400_000, recvTs: R })).toBe(R - 86_400_000); // late prints are the detectors' business
    expect(clockTime({ ts: R + MAX_VENUE_LEAD_MS, recvTs: R })).toBe(R + MAX_VENUE_LEAD_MS); // clock skew, inclusive
  });

  it('takes the receive time for a venue time that is missing or far in the future', () => {
    expect(clockTime({ ts: 0, recvTs: R })).toBe(R);
    expect(clockTime({ ts: -1, recvTs: R })).toBe(R);
    expect(clockTime({ ts: Number.NaN, recvTs: R })).toBe(R);
    expect(clockTime({ ts: R + MAX_VENUE_LEAD_MS + 1, recvTs: R })).toBe(R);
    expect(clockTime({ ts: R * 1000, recvTs: R })).toBe(R); // microseconds for milliseconds
  });

  it('takes the venue time as it is without a receive time, and 0 when neither is usable', () => {
    expect(clockTime({ ts: 1500, recvTs: 0 })).toBe(1500);
    expect(clockTime({ ts: 0, recvTs: 0 })).toBe(0);
    expect(clockTime({ ts: Number.NaN, recvTs: Number.NaN })).toBe(0);
  });
});

describe('winsorized: what a flow baseline learns from one sample', () => {
  /** An exponential mean with the share of non-empty samples, as the cascade and whale bursts keep it. */
  class Baseline {
    mean = 0;
    share = 0;
    constructor(readonly w: number) {}
    learn(x: number): void {
      this.mean += this.w * (winsorized(x, this.mean, this.share) - this.mean);
      this.share += this.w * ((x > 0 ? 1 : 0) - this.share);
    }
  }
  const settled = (w: number, sample: (i: number) => number, n: number): Baseline => {
    const b = new Baseline(w);
    b.mean = sample(0);
    b.share = 1;
    for (let i = 0; i < n; i++) b.learn(sample(i));
    return b;
  };

  it('one sample 1e7 x the usual lifts the baseline by at most (25 - 1) x its weight', () => {
    for (const w of [1 / 300, 1 / 1200]) {
      const b = settled(w, () => 100, 5000);
      b.learn(100 * 1e7);
      expect(b.mean).toBeCloseTo(100 * (1 + (BASELINE_WINSOR - 1) * w), 6);
    }
  });

  it('a sparse series (one non-empty sample in 50, each 50x the mean) is learnt at its mean, not capped down to nothing', () => {
    // Capped at 25x the mean itself, every non-empty sample was capped: the mean fell ~2% per
    // 50 samples, towards 0.
    const b = settled(1 / 1200, (i) => (i % 50 === 0 ? 5000 : 0), 60_000);
    expect(b.mean).toBeGreaterThan(90);
    expect(b.mean).toBeLessThan(110);
  });

  it('a sustained 30x regime is learnt as fast as without the cap, bar a sample (the cap binds 3 times at w = 1/300)', () => {
    const windowsTo = (target: number, cap: boolean): number => {
      const b = new Baseline(1 / 300);
      b.mean = 1;
      b.share = 1;
      let n = 0;
      while (b.mean < target) {
        n++;
        if (cap) b.learn(30);
        else b.mean += b.w * (30 - b.mean);
      }
      return n;
    };
    // 8 x U (burst_ratio) passes the new flow after 31 windows (30 uncapped)
    expect(windowsTo(30 / 8, true)).toBe(31);
    expect(windowsTo(30 / 8, false)).toBe(30);
  });
});
