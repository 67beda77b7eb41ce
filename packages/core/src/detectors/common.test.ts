import { describe, expect, it } from 'vitest';
import { clockTime, MAX_VENUE_LEAD_MS } from './common.js';

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
