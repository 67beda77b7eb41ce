/**
 * A shard cut off from NATS with orders resting on a leased symbol. The lease gate stops new
 * orders when the lease's validity ends (send time of the last renewal + lifetime - margin), but
 * the resting orders were cancelled only when a lease round noticed the loss (onEvent 'lost' ->
 * the shard's engine.cancel). Cut off, every KV call of a round waits for the client's timeout
 * (openCluster: half a lease lifetime) and an in-flight round blocks the next, so the loss was
 * noticed ~1.5 lifetimes after the last renewal (7.5 s with the defaults): after the server had
 * expired the key (one lifetime) and another shard could trade the symbol. Each held lease now
 * has a timer at its validity end, re-armed by every renewal.
 *
 * Product default timings (takeover_ms 10000: lifetime 6000, margin 1200, round every 1500 ms,
 * KV timeout 3000 ms), on fake timers: a KV link that, cut, answers nothing and fails each call
 * after the client's timeout, as @nats-io/jetstream does.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KV } from '@nats-io/kv';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { leaseTimings } from './names.js';
import { FakeBucket, fakeKv } from '../test/fake-kv.js';

const TAKEOVER = 10_000;
const timings = leaseTimings(TAKEOVER);
const KV_TIMEOUT = Math.max(1000, Math.round(timings.ttlMs / 2)); // connect.ts
const KEY = 'sim.BTCUSDT';

interface Link {
  cut: boolean;
  lateUpdates: number;
}

/** A KV whose calls, while `cut`, get no answer and fail after the client's timeout; `lateUpdates`: an update applied at once, answered that late. */
function partitionable(kv: KV, link: Link): KV {
  return new Proxy(kv, {
    get(target, prop) {
      const f = (target as unknown as Record<string | symbol, unknown>)[prop];
      if (typeof f !== 'function') return f;
      return async (...args: unknown[]) => {
        if (link.cut) {
          await new Promise((r) => setTimeout(r, KV_TIMEOUT));
          throw new Error('TIMEOUT');
        }
        const answer = await (f as (...a: unknown[]) => unknown).apply(target, args);
        if (prop === 'update' && link.lateUpdates > 0) await new Promise((r) => setTimeout(r, link.lateUpdates));
        return answer;
      };
    },
  }) as KV;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A shard's LeaseManager holding KEY, with its loop (a round every tickMs, skipped while one runs: shard.ts startRound). */
async function holding() {
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const leases = new FakeBucket(now, timings.ttlMs);
  const members = new FakeBucket(now, timings.ttlMs);
  // An established bucket (written longer than a lifetime after its creation): no quarantine.
  leases.createdAt = now() - 100_000;
  leases.lastWriteAt = now();
  const link: Link = { cut: false, lateUpdates: 0 };
  const events: { at: number; e: LeaseEvent }[] = [];
  const a = new LeaseManager({
    leases: partitionable(fakeKv(leases, { down: false }), link), members: partitionable(fakeKv(members, { down: false }), link),
    shardId: 'a', instance: 'a-1', timings, monoMs: now, wallMs: now, candidates: [{ exchange: 'sim', symbol: 'BTCUSDT' }],
    onEvent: (e) => events.push({ at: now(), e }), openOrders: () => 2, position: () => 0, handoverMs: 3 * TAKEOVER, onError: () => {},
  });
  for (let k = 0; k < 10 && !a.holds('sim', 'BTCUSDT'); k++) await a.tick();
  expect(a.holds('sim', 'BTCUSDT')).toBe(true);
  let running: Promise<void> | undefined;
  const round = () => {
    running ??= a.tick().finally(() => (running = undefined));
  };
  const loop = setInterval(round, timings.tickMs);
  const stop = async () => {
    clearInterval(loop);
    link.cut = false;
    link.lateUpdates = 0;
    await vi.advanceTimersByTimeAsync(KV_TIMEOUT);
    await running;
    await a.stop();
  };
  return { a, now, leases, link, events, stop };
}

describe('a shard cut off from NATS with orders resting on a leased symbol', () => {
  it('drops the lease as lost (its orders cancelled) when its validity ends, before the server expires the key', async () => {
    const { a, now, leases, link, events, stop } = await holding();
    try {
      // Rounds renew it for a while: the timer is re-armed by each renewal, nothing is dropped.
      await vi.advanceTimersByTimeAsync(4 * timings.ttlMs);
      expect(events.filter((x) => x.e.kind === 'lost')).toEqual([]);
      expect(a.holds('sim', 'BTCUSDT')).toBe(true);
      // A renewal in progress reaches the server; then the network goes (the next round blocks on its calls).
      let renewedAt = -1;
      const before = leases.live(KEY)!.revision;
      while (renewedAt < 0) {
        await vi.advanceTimersByTimeAsync(1);
        if (leases.live(KEY)!.revision !== before) renewedAt = now();
      }
      link.cut = true;
      await vi.advanceTimersByTimeAsync(timings.ttlMs + 300);
      expect(leases.live(KEY), 'the key should have expired on the (fake) server').toBeUndefined();
      const lost = events.filter((x) => x.e.kind === 'lost' && x.e.key === KEY);
      expect(lost, 'the lease was not dropped (its 2 resting orders not cancelled) before the server expired the key').toHaveLength(1);
      // At the validity end: the renewal was sent at most 1 ms before the server wrote it.
      expect(lost[0]!.at - renewedAt).toBeLessThanOrEqual(timings.ttlMs - timings.marginMs);
      expect(lost[0]!.at - renewedAt).toBeGreaterThanOrEqual(timings.ttlMs - timings.marginMs - 1);
      expect(a.holds('sim', 'BTCUSDT')).toBe(false);
    } finally {
      await stop();
    }
  });

  it('a renewal applied but answered after the validity ended: dropped at the validity end all the same, and not taken back by the late answer', async () => {
    const { a, now, leases, link, events, stop } = await holding();
    try {
      await vi.advanceTimersByTimeAsync(2 * timings.tickMs);
      // The server applies each renewal at once, its answer arrives 5 s later (a congested link).
      link.lateUpdates = 5000;
      const slowFrom = now();
      await vi.advanceTimersByTimeAsync(timings.ttlMs);
      const lost = events.filter((x) => x.e.kind === 'lost');
      expect(lost, 'the lease was never dropped: its validity ended while each renewal was still out').toHaveLength(1);
      expect(lost[0]!.at - slowFrom).toBeLessThanOrEqual(timings.ttlMs - timings.marginMs);
      // The renewal in flight at the drop (sent at slowFrom + tickMs) is answered, before the key it
      // renewed expires: the lease stays dropped (its orders are being cancelled).
      const sent = slowFrom + timings.tickMs;
      await vi.advanceTimersByTimeAsync(sent + 5000 + 100 - now());
      expect(now()).toBeLessThan(sent + timings.ttlMs);
      expect(a.holds('sim', 'BTCUSDT')).toBe(false);
      expect(a.heldCount()).toBe(0);
      // The key is still this process's (the renewal applied): nobody takes it before it expires by max_age.
      expect(JSON.parse(new TextDecoder().decode(leases.live(KEY)!.value)).instance).toBe('a-1');
      link.lateUpdates = 0;
    } finally {
      await stop();
    }
  });
});
