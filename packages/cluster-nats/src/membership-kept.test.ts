/**
 * A membership epoch begun in a members bucket that keeps keys for less than this process counts
 * them (recreated after a store loss by a process with a shorter takeover_ms): the key expired
 * server-side while the epoch still counted, and another shard reclaimed the budget it used.
 * The store now raises the bucket before the epoch counts; a raise answered too late to be sure
 * the key was still there bounds the epoch by what the bucket kept; an unraised one begins none.
 * A stub members bucket and store on a manual monotonic clock.
 */
import { describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { Membership } from './membership.js';
import { leaseTimings } from './names.js';

const timings = () => leaseTimings(10_000); // lifetime 6000, margin 1200

function setup(keep: () => Promise<{ leasesLongestMs: number }>) {
  let t = 0;
  let ttl = 600;
  const members = {
    create: async () => 1,
    update: async (_k: string, _v: unknown, rev: number) => rev + 1,
    status: async () => ({ ttl, streamInfo: { created: '2026-01-01T00:00:00Z' } }),
  } as unknown as KV;
  const epochs: (string | undefined)[] = [];
  const errors: string[] = [];
  const m = new Membership({
    members, shardId: 'a', instance: 'i', timings: timings(), monoMs: () => t, wallMs: () => 0,
    onEpoch: (e) => epochs.push(e), onError: (e) => errors.push(e),
    store: { keep: async () => { const r = await keep(); ttl = 6000; return r; } },
  });
  return { m, epochs, errors, advance: (ms: number) => (t += ms), now: () => t };
}

describe('membership in a bucket that keeps keys for less than it counts', () => {
  it('has the bucket raised before the epoch counts its whole lifetime', async () => {
    let kept = 0;
    const s = setup(async () => {
      kept++;
      return { leasesLongestMs: 0 };
    });
    expect(await s.m.beat()).toBe('ok');
    expect(kept).toBe(1);
    s.advance(4799);
    expect(s.m.current()).toBeDefined();
    s.advance(1);
    expect(s.m.current()).toBeUndefined();
  });

  it('counts the epoch only as long as the key was sure to live when the raise came late', async () => {
    const s = setup(async () => {
      s.advance(1000); // the raise answered after the 600 ms key may have expired
      return { leasesLongestMs: 0 };
    });
    expect(await s.m.beat()).toBe('ok');
    expect(s.m.current(), 'counted past the key the server may have dropped').toBeUndefined();
  });

  it('begins no epoch where the bucket could not be raised or read', async () => {
    const s = setup(async () => {
      throw new Error('timeout');
    });
    expect(await s.m.beat()).toBe('unreachable');
    expect(s.m.current()).toBeUndefined();
    expect(s.epochs).toEqual([]);
    expect(s.errors.join('\n')).toMatch(/keeps keys 600 ms, less than the 6000 ms/);
  });
});
