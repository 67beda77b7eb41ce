import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SpscRing } from './ring-buffer.js';
import { FEED_RECORD_BYTES, FeedRecordReader } from './feed-records.js';
import { L2Book } from './l2-book.js';
import { IndexAllocator, ObjectPool } from './pool.js';
import { IdIndex } from './id-index.js';

// Workers load compiled JS (vitest does not transform worker files): the fixture imports
// packages/core/dist/microstructure/*.js, which `pnpm test` (tsc -b && vitest run) builds.
const workerFile = fileURLToPath(new URL('./__fixtures__/ring-worker.mjs', import.meta.url));
const distRing = fileURLToPath(new URL('../../dist/microstructure/ring-buffer.js', import.meta.url));

function runWorker(data: Record<string, unknown>): { worker: Worker; done: Promise<any> } {
  const worker = new Worker(workerFile, { workerData: data });
  const done = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`worker exited ${code}`)));
  });
  return { worker, done };
}

const WORDS = 16; // 64-byte records

describe('SpscRing (single thread)', () => {
  it('rounds capacity, validates geometry, attaches to an existing buffer', () => {
    const r = SpscRing.create(5, 64);
    expect(r.capacity).toBe(8);
    expect(r.recordWords).toBe(16);
    expect(() => SpscRing.create(4, 12)).toThrow(/multiple of 8/);
    expect(() => new SpscRing(new SharedArrayBuffer(256))).toThrow(/not an SpscRing/);
    const other = new SpscRing(r.buffer);
    expect(other.capacity).toBe(8);
  });

  it('wraps around, reports full and empty, copies records bit-exactly', () => {
    const r = SpscRing.create(4, 16);
    const src = new Int32Array(4 * 4);
    for (let i = 0; i < src.length; i++) src[i] = i * 7 - 3;
    src[1] = 0x7fc00001; // NaN-like payload, preserved as int32
    const dst = new Int32Array(16);
    let total = 0;
    for (let round = 0; round < 10; round++) {
      expect(r.write(src, 0, 3)).toBe(3);
      expect(r.write(src, 3, 3)).toBe(1); // only one slot left
      expect(r.write(src, 0, 1)).toBe(0);
      expect(r.read(dst, 0, 2)).toBe(2);
      expect(r.read(dst, 2, 10)).toBe(2);
      expect([...dst]).toEqual([...src]);
      expect(r.read(dst, 0, 1)).toBe(0);
      total += 4;
    }
    expect(total).toBe(40);
  });

  it('zero-copy claim/publish and peek/release', () => {
    const r = SpscRing.create(4, 64);
    expect(r.writable()).toBe(4);
    for (let k = 0; k < 3; k++) r.f64[r.slotWord(k) >> 1] = 10 + k;
    r.publish(3);
    expect(r.readable()).toBe(3);
    expect(r.f64[r.readSlotWord(2) >> 1]).toBe(12);
    r.release(3);
    expect(r.readable()).toBe(0);
    expect(r.writable()).toBe(4);
  });

  it("consumerBacklog is the consumer's exact backlog while size() lags behind the lazily published read counter; discardReadable frees the rest at once", () => {
    const w = SpscRing.create(64, 64);
    const r = new SpscRing(w.buffer);
    w.publish(40);
    expect(r.readable()).toBe(40);
    r.release(5); // under capacity/8 (8) and not caught up: the read counter is not published yet
    expect({ backlog: r.consumerBacklog(), size: r.size() }).toEqual({ backlog: 35, size: 40 });
    expect(r.discardReadable()).toBe(35);
    expect({ backlog: r.consumerBacklog(), size: r.size(), writable: w.writable(), readable: r.readable() }).toEqual({ backlog: 0, size: 0, writable: 64, readable: 0 });
    w.publish(3);
    expect(r.consumerBacklog()).toBe(3);
    expect(r.readSlotWord(0)).toBe(40 * WORDS); // the next record after the discarded ones
  });

  it('waits time out, close drains then reports closed, waitAsync wakes on data', async () => {
    const r = SpscRing.create(2, 8);
    expect(r.waitReadable(5, 4)).toBe('timed-out');
    const p = r.waitReadableAsync(2000);
    r.write(new Int32Array([1, 2]), 0, 1);
    expect(await p).toBe('ok');
    r.write(new Int32Array([3, 4]), 0, 1);
    expect(r.waitWritable(5, 4)).toBe('timed-out');
    r.close();
    expect(r.waitReadable(5)).toBe('ok');
    const dst = new Int32Array(4);
    expect(r.read(dst, 0, 2)).toBe(2);
    expect(r.waitReadable(5)).toBe('closed');
    expect(await r.waitReadableAsync(5)).toBe('closed');
  });
});

describe('SpscRing across worker threads', () => {
  it('needs the compiled ring (run `tsc -b` first)', () => {
    expect(existsSync(distRing), `${distRing} missing: build with pnpm exec tsc -b`).toBe(true);
  });

  it('worker -> main: wrap-around and back-pressure on a small ring, every record in order', async () => {
    const ring = SpscRing.create(64, 64);
    const n = 200_000;
    const { done } = runWorker({ sab: ring.buffer, mode: 'produce', n, words: WORDS });
    const buf = new Int32Array(64 * WORDS);
    let seq = 0;
    let bad = 0;
    let reads = 0;
    for (;;) {
      // async wait so the worker's messages and errors still reach us
      if ((await ring.waitReadableAsync(10_000)) !== 'ok') break;
      const got = ring.read(buf, 0, 64);
      reads++;
      for (let i = 0; i < got; i++) {
        if (buf[i * WORDS] !== seq) bad++;
        for (let k = 1; k < WORDS; k++) if (buf[i * WORDS + k] !== ((Math.imul(seq, 2654435761) + k) | 0)) bad++;
        seq++;
      }
    }
    expect(await done).toEqual({ done: n });
    expect(bad).toBe(0);
    expect(seq).toBe(n);
    expect(ring.closed).toBe(true);
    expect(reads).toBeGreaterThan(n / 64 - 1); // the ring (64 slots) wrapped thousands of times
  });

  it('main -> worker: blocking consumer (Atomics.wait), producer blocks when full', async () => {
    // A lost wake-up would show as a timed-out wait: a short write here or a short count there.
    const ring = SpscRing.create(8, 64);
    const n = 100_000;
    const { done } = runWorker({ sab: ring.buffer, mode: 'consume', n, words: WORDS });
    const batch = new Int32Array(50 * WORDS);
    let seq = 0;
    let blockedWrites = 0;
    while (seq < n) {
      const c = Math.min(1 + (seq % 50), n - seq);
      for (let i = 0; i < c; i++) {
        batch[i * WORDS] = seq + i;
        for (let k = 1; k < WORDS; k++) batch[i * WORDS + k] = (Math.imul(seq + i, 2654435761) + k) | 0;
      }
      if (ring.writable() < c) blockedWrites++;
      expect(ring.writeBlocking(batch, 0, c, 10_000, 32)).toBe(c);
      seq += c;
    }
    ring.close();
    const res = await done;
    expect(res).toMatchObject({ received: n, bad: 0, closed: true });
    expect(blockedWrites).toBeGreaterThan(0);
  });

  it('feed worker -> engine thread: records drive an L2 book, sequence gap starts a resync', async () => {
    const ring = SpscRing.create(256, FEED_RECORD_BYTES);
    const n = 5000;
    const book = new L2Book('sim', 'BTC');
    const trades: number[] = [];
    const reader = new FeedRecordReader(ring, [book], (_i, _s, price, qty) => trades.push(price * 1000 + qty));
    const { done } = runWorker({ sab: ring.buffer, mode: 'feed', n });
    // reference: the same updates applied directly
    const ref = new L2Book('sim', 'REF');
    ref.applySnapshot({ seq: 100, bids: [{ price: 1000, qty: 5 }], asks: [{ price: 1010, qty: 7 }] });
    for (let i = 0; i < n; i++) ref.applyDelta({ firstSeq: 101 + i, seq: 101 + i, bids: [{ price: 990 + (i % 10), qty: i % 4 }], asks: [{ price: 1011 + (i % 10), qty: 1 + (i % 3) }] });
    for (;;) {
      if ((await ring.waitReadableAsync(10_000)) !== 'ok') break;
      reader.drain();
    }
    const res = await done;
    expect(res.lastSeq).toBe(100 + n);
    expect(trades.length).toBe(Math.ceil(n / 7));
    const a: { price: number; qty: number }[] = [];
    const b: { price: number; qty: number }[] = [];
    book.topLevels('bid', 50, a);
    ref.topLevels('bid', 50, b);
    expect(a).toEqual(b);
    book.topLevels('ask', 50, a);
    ref.topLevels('ask', 50, b);
    expect(a.slice(0, book.levelCount('ask'))).toEqual(b.slice(0, ref.levelCount('ask')));
    expect(book.qtyAt('bid', 999)).toBe(ref.qtyAt('bid', 999)); // the gapped delta was not applied
    expect(book.state).toBe('resyncing');
    expect(book.stateReason).toContain('sequence_gap');
  });
});

describe('pools', () => {
  it('IndexAllocator recycles slots; ObjectPool reuses objects and counts misses', () => {
    const a = new IndexAllocator(2);
    expect([a.alloc(), a.alloc(), a.alloc()]).toEqual([0, 1, 2]);
    a.free(1);
    expect(a.alloc()).toBe(1);
    expect(a.inUse).toBe(3);
    const pool = new ObjectPool({ create: () => ({ v: 0 }), reset: (o) => (o.v = 0), initial: 2 });
    const x = pool.acquire();
    x.v = 5;
    pool.release(x);
    expect(pool.acquire()).toBe(x);
    expect(x.v).toBe(0);
    pool.acquire();
    pool.acquire();
    expect(pool.misses).toBe(1);
  });

  it('IdIndex behaves like a Map under churn', () => {
    const idx = new IdIndex(4);
    const m = new Map<number, number>();
    let s = 7;
    for (let i = 0; i < 20000; i++) {
      s = (Math.imul(s, 48271) + 11) & 0x7fffffff;
      const id = (s % 500) * 4294967296 + (s % 97); // ids beyond 2^32 too
      if (s % 3 === 0) {
        expect(idx.delete(id)).toBe(m.has(id) ? m.get(id) : -1);
        m.delete(id);
      } else {
        idx.set(id, i);
        m.set(id, i);
      }
      if (i % 1000 === 0) for (const [k, v] of m) expect(idx.get(k)).toBe(v);
    }
    expect(idx.size).toBe(m.size);
  });
});
