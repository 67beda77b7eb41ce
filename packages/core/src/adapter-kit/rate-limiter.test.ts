/**
 * RateLimiter.acquire with an unbounded wait (maxWaitMs = Infinity: a REST query that must wait
 * for its budget rather than fail) and the local refusals it still gives, each named; and its
 * priority line (cancels ahead of queued creates). Fake timers and a hand-moved clock: nothing
 * waits for real.
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

/**
 * Priority acquires (a cancel) go before every normal acquire (a create) queued before them,
 * without ever spending more than the budget or going out during a venue pause; normal acquires
 * proceed as before when no priority one waits.
 */
describe('RateLimiter.acquire with priority', () => {
  let now: number;
  let timers: TimerSet;
  let rl: RateLimiter;
  /** What spent, in order, with the clock at that moment. */
  let spent: { who: string; at: number }[];
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    timers = new TimerSet();
    spent = [];
    rl = new RateLimiter([{ name: 'orders', limit: 2, intervalMs: 1000 }], () => now, timers);
  });
  afterEach(() => {
    rl.close();
    vi.useRealTimers();
  });
  const step = async (ms: number) => {
    now += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };
  const take = (who: string, priority = false) =>
    rl.acquire({ orders: 1 }, priority ? { priority: true } : 30_000).then(
      () => void spent.push({ who, at: now }),
      (e: unknown) => void spent.push({ who: `${who}:${(e as RateLimitExceededError).refusal}`, at: now }),
    );
  /** At most `limit` spends in any window of the bucket (the sliding log's own rule). */
  const withinBudget = () => spent.every((s) => spent.filter((t) => t.at > s.at - 1000 && t.at <= s.at).length <= 2);

  it('a priority acquire is served before normal ones queued earlier; the budget is never exceeded', async () => {
    await take('c1');
    await take('c2');
    const pending = [take('c3'), take('c4'), take('c5'), take('c6')];
    await step(10);
    pending.push(take('x1', true), take('x2', true));
    await step(10);
    expect(spent.map((s) => s.who)).toEqual(['c1', 'c2']);
    for (let k = 0; k < 100 && spent.length < 8; k++) await step(100);
    await Promise.all(pending);
    expect(spent.map((s) => s.who)).toEqual(['c1', 'c2', 'x1', 'x2', 'c3', 'c4', 'c5', 'c6']);
    expect(withinBudget()).toBe(true);
    expect(spent.find((s) => s.who === 'x1')!.at).toBeGreaterThanOrEqual(1000);
    expect(timers.size).toBe(0);
  });

  it('normal acquires are not starved: with no priority one waiting they go in their order, and resume after one', async () => {
    const pending = [take('c1'), take('c2'), take('c3')];
    await step(0);
    expect(spent.map((s) => s.who)).toEqual(['c1', 'c2']);
    pending.push(take('x1', true));
    for (let k = 0; k < 100 && spent.length < 4; k++) await step(100);
    await Promise.all(pending);
    expect(spent.map((s) => s.who)).toEqual(['c1', 'c2', 'x1', 'c3']);
    expect(withinBudget()).toBe(true);
  });

  it('a venue pause binds a priority acquire: it waits for the pause to end, still ahead of the normal line', async () => {
    rl.blockUntil(500);
    const pending = [take('c1'), take('x1', true)];
    await step(490);
    expect(spent).toEqual([]);
    await step(20);
    await Promise.all(pending);
    expect(spent.map((s) => s.who)).toEqual(['x1', 'c1']);
    expect(spent[0]!.at).toBeGreaterThanOrEqual(500);
    // a pause past the priority acquire's maxWaitMs refuses it at once, like anyone's
    rl.blockUntil(now + 60_000);
    const err = await rl.acquire({ orders: 1 }, { priority: true }).catch((e: unknown) => e);
    expect((err as RateLimitExceededError).refusal).toBe('wait');
  });

  it('close() refuses every waiter, the normal ones held behind priority ones included, and leaves no timer', async () => {
    await take('c1');
    await take('c2');
    const pending = [take('c3'), take('c4'), take('x1', true), take('x2', true)];
    await step(10);
    rl.close();
    await Promise.all(pending);
    expect(spent.map((s) => s.who).sort()).toEqual(['c1', 'c2', 'c3:closed', 'c4:closed', 'x1:closed', 'x2:closed']);
    expect(timers.size).toBe(0);
  });
});
