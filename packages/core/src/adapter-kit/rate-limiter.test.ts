/**
 * RateLimiter.acquire with an unbounded wait (maxWaitMs = Infinity: a REST query that must wait
 * for its budget rather than fail) and the local refusals it still gives, each named. Fake
 * timers and a hand-moved clock: nothing waits for real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimitExceededError, RateLimiter } from './rate-limiter.js';
import { TimerSet } from './timers.js';

describe('RateLimiter.acquire without a wait limit', () => {
  let now: number;
  let timers: TimerSet;
  let rl: RateLimiter;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    timers = new TimerSet();
    rl = new RateLimiter([{ name: 'rest', limit: 2, intervalMs: 45_000 }], () => now, timers);
  });
  afterEach(() => {
    rl.close();
    vi.useRealTimers();
  });
  const step = async (ms: number) => {
    now += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };

  it('waits a whole window (past the 30 s default limit) and then spends', async () => {
    await rl.acquire({ rest: 2 }, Infinity);
    let done = false;
    const p = rl.acquire({ rest: 1 }, Infinity).then(() => (done = true));
    await step(44_000);
    expect(done).toBe(false);
    await step(1_001);
    await p;
    expect(done).toBe(true);
    expect(rl.available('rest')).toBe(1);
    // the bounded default still refuses the same wait, as a wait refusal
    await rl.acquire({ rest: 1 });
    const err = await rl.acquire({ rest: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitExceededError);
    expect((err as RateLimitExceededError).refusal).toBe('wait');
  });

  it('a weight above the bucket is refused at once, even without a wait limit (no sleep of Infinity, which Node makes 1 ms)', async () => {
    const err = await rl.acquire({ rest: 3 }, Infinity).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitExceededError);
    expect((err as RateLimitExceededError).refusal).toBe('weight');
    expect(timers.size).toBe(0);
  });

  it('close() ends a wait under way, refused as closed, and leaves no timer', async () => {
    await rl.acquire({ rest: 2 }, Infinity);
    const p = rl.acquire({ rest: 1 }, Infinity).catch((e: unknown) => e);
    await step(10_000);
    expect(timers.size).toBe(1);
    rl.close();
    const err = await p;
    expect(err).toBeInstanceOf(RateLimitExceededError);
    expect((err as RateLimitExceededError).refusal).toBe('closed');
    expect(timers.size).toBe(0);
  });
});
