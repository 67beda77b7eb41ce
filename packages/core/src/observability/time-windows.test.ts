import { describe, expect, it } from 'vitest';
import { PercentileWindow, RateWindow } from './time-windows.js';

describe('RateWindow', () => {
  it('reads rates far above any sample count (100,000/s over 10 s)', () => {
    const w = new RateWindow(10_000, 100);
    let t = 5_000;
    for (let i = 0; i < 1_000_000; i++) w.record((t += 0.01));
    expect(w.rate(t)).toBeCloseTo(100_000, -1);
  });

  it('forgets what is older than the window, the oldest slice in proportion', () => {
    const w = new RateWindow(10_000, 100);
    // 100 events in the slice [1000, 1100) ms
    for (let i = 0; i < 100; i++) w.record(1000 + i);
    expect(w.rate(1100)).toBe(10); // 100 in 10 s
    expect(w.rate(10_999)).toBe(10); // the slice is still whole inside the window
    expect(w.rate(11_050)).toBeCloseTo(5, 9); // half of it is older than 10 s
    expect(w.rate(11_100)).toBe(0);
    expect(w.rate(60_000)).toBe(0);
  });

  it('reuses a ring position for a new slice', () => {
    const w = new RateWindow(1000, 100);
    for (let i = 0; i < 10; i++) w.record(50);
    w.record(1150); // 11 slices later: the same ring position (ring of 11)
    expect(w.rate(1150)).toBe(1);
  });
});

describe('PercentileWindow', () => {
  it('a window of one value reads it exactly', () => {
    const w = new PercentileWindow(60_000, 1000);
    expect(w.percentile(99, 0)).toBe(0);
    w.record(0.0123, 10);
    expect(w.percentile(99, 10)).toBe(0.0123);
    expect(w.percentile(50, 10)).toBe(0.0123);
  });

  it('is within 1/64 (1.6 %) of the exact nearest-rank percentile', () => {
    const w = new PercentileWindow(60_000, 1000);
    const xs: number[] = [];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const v = 0.001 * 10 ** (rnd() * 7); // 1 us .. 10 s, in ms
      xs.push(v);
      w.record(v, i * 2);
    }
    xs.sort((a, b) => a - b);
    for (const p of [1, 10, 50, 90, 99, 99.9]) {
      const exact = xs[Math.ceil((p / 100) * xs.length) - 1]!;
      expect(Math.abs(w.percentile(p, 40_000) / exact - 1)).toBeLessThanOrEqual(1 / 64);
    }
  });

  it('covers the whole 60 s at any rate, and nothing older than 61 s', () => {
    const w = new PercentileWindow(60_000, 1000);
    // 1,000 slow samples (20 ms, just over 1 %) in one second, then 2,000 fast ones per second
    for (let i = 0; i < 1000; i++) w.record(20, 1000 + i * 0.1);
    for (let i = 0; i < 98_000; i++) w.record(0.01, 1100 + i * 0.5);
    // at 59.9 s after the slow stretch it is still in: p99 is a slow one
    expect(w.percentile(99, 60_900)).toBe(20);
    // once its slice is more than 60 s old it is out
    expect(w.percentile(99, 62_000)).toBeCloseTo(0.01, 3);
    expect(w.percentile(99, 200_000)).toBe(0);
  });

  it('puts zero, negative, tiny and huge values in the end buckets, clamped to the samples', () => {
    const w = new PercentileWindow(1000, 1000);
    w.record(0, 0);
    w.record(-1, 0);
    w.record(1e9, 0);
    expect(w.percentile(0, 0)).toBe(-1);
    expect(w.percentile(100, 0)).toBe(1e9);
  });
});
