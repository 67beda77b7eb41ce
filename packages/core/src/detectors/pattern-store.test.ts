import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JsComputeBackend } from '../compute/js-backend.js';
import type { ComputeBackend, DeviceBuffer } from '../contracts/compute.js';
import { seededRandom } from '../testing/seeded-random.js';
import { crc32, PATTERN_FILE_HEADER_BYTES, PatternFileError, PatternStore, readPatternHeader } from './pattern-store.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-patterns-'));

/** Independent oracle: Pearson correlation of two raw windows in float64. */
function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Top-k of `raw` windows (live ones, with their ids) for one query, by brute force. */
function bruteTopK(live: { id: number; w: number[] }[], q: number[], k: number): { id: number; score: number }[] {
  return live
    .map((x) => ({ id: x.id, score: pearson(x.w, q) }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, k);
}

function randomWindow(r: ReturnType<typeof seededRandom>, d: number, scale = 1, offset = 0): number[] {
  return Array.from({ length: d }, () => offset + scale * r.normal());
}

describe('PatternStore', () => {
  const backend = new JsComputeBackend();

  it('top-k by Pearson correlation matches a brute-force oracle on raw windows (batched queries)', async () => {
    const r = seededRandom(1);
    const D = 32;
    const store = new PatternStore({ dim: D, capacity: 2000 });
    const live: { id: number; w: number[] }[] = [];
    for (let i = 0; i < 1500; i++) {
      // raw windows with arbitrary scale and offset: the store z-normalizes, correlation does not care
      const w = randomWindow(r, D, 0.001 + r.next() * 5, r.normal() * 10);
      live.push({ id: store.add(w, 0, r.normal(), i), w });
    }
    const B = 6;
    const K = 10;
    const queries = new Float32Array(B * D);
    const qs: number[][] = [];
    for (let b = 0; b < B; b++) {
      // half the queries are noisy copies of stored windows, so the top scores are high
      const q = b % 2 ? randomWindow(r, D) : live[r.int(live.length)].w.map((x) => x + 0.3 * r.normal());
      qs.push(q);
      queries.set(q, b * D);
    }
    const res = await store.query(backend, queries, B, K);
    for (let b = 0; b < B; b++) {
      const want = bruteTopK(live, qs[b], K);
      const got = Array.from(res.indices.subarray(b * K, b * K + K));
      expect(got).toEqual(want.map((x) => x.id));
      for (let j = 0; j < K; j++) expect(res.scores[b * K + j]).toBeCloseTo(want[j].score, 5);
    }
  });

  it('evicts oldest first when full, keeps slots dense, and queries see only live patterns', async () => {
    const r = seededRandom(2);
    const D = 8;
    const store = new PatternStore({ dim: D, capacity: 50 });
    const raw: number[][] = [];
    for (let i = 0; i < 80; i++) {
      const w = randomWindow(r, D);
      raw.push(w);
      store.add(w, 0, i, 1000 + i);
    }
    expect(store.count).toBe(50);
    const order = store.slotsInOrder();
    expect(order.map((s) => store.times[s])).toEqual(Array.from({ length: 50 }, (_, i) => 1030 + i));
    expect(order.map((s) => store.outcomes[s])).toEqual(Array.from({ length: 50 }, (_, i) => 30 + i));
    // remove some from the middle, then evict by time
    store.remove(order[10]);
    store.remove(order[20]);
    expect(store.count).toBe(48);
    expect(store.evictBefore(1035)).toBe(5);
    expect(store.count).toBe(43);
    const liveTimes = store.slotsInOrder().map((s) => store.times[s]);
    expect(liveTimes).toEqual(Array.from({ length: 50 }, (_, i) => 1030 + i).filter((t) => t >= 1035 && t !== 1040 && t !== 1050));
    // adding after removals keeps order (the order ring compacts itself when needed)
    for (let i = 80; i < 200; i++) {
      const w = randomWindow(r, D);
      raw.push(w);
      store.add(w, 0, i, 1000 + i);
    }
    expect(store.count).toBe(50);
    expect(store.slotsInOrder().map((s) => store.times[s])).toEqual(Array.from({ length: 50 }, (_, i) => 1150 + i));
    // the query agrees with brute force over the live set
    const live = store.slotsInOrder().map((s) => ({ id: s, w: raw[store.times[s] - 1000] }));
    const q = randomWindow(r, D);
    const res = await store.query(backend, Float32Array.from(q), 1, 5);
    expect(Array.from(res.indices)).toEqual(bruteTopK(live, q, 5).map((x) => x.id));
  });

  it('stores constant windows as zeros (they score 0) and refuses changes while a query is in flight', async () => {
    const store = new PatternStore({ dim: 4, capacity: 4 });
    store.add([1, 1, 1, 1], 0, 0, 0);
    store.add([1, 2, 3, 4], 0, 0, 1);
    expect(Array.from(store.windows.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    const p = store.query(backend, Float32Array.from([1, 2, 3, 5]), 1, 2);
    expect(store.queryInFlight).toBe(true);
    expect(() => store.add([1, 2, 3, 4], 0, 0, 2)).toThrow('while a query was in flight');
    const res = await p;
    expect(res.indices[0]).toBe(1);
    expect(res.scores[1]).toBe(0);
    expect(store.queryInFlight).toBe(false);
  });

  it('on a backend with device memory, keeps the store resident and uploads only changed slots', async () => {
    const js = new JsComputeBackend();
    let uploaded = 0;
    let created = 0;
    const device: ComputeBackend = Object.create(js, {
      capabilities: { value: { ...js.capabilities, deviceMemory: true } },
      createBuffer: { value: (n: number): DeviceBuffer => (created++, js.createBuffer(n)) },
      upload: { value: (dst: DeviceBuffer, src: ArrayBufferView, off?: number) => ((uploaded += src.byteLength), js.upload(dst, src, off)) },
      patternScores: { value: js.patternScores.bind(js) },
      freeBuffer: { value: js.freeBuffer.bind(js) },
    });
    const r = seededRandom(3);
    const D = 16;
    const store = new PatternStore({ dim: D, capacity: 1000 });
    const raw: number[][] = [];
    for (let i = 0; i < 500; i++) {
      raw.push(randomWindow(r, D));
      store.add(raw[i], 0, 0, i);
    }
    const q = Float32Array.from(randomWindow(r, D));
    const a = await store.query(device, q, 1, 3);
    expect(created).toBe(1);
    expect(uploaded).toBe(500 * D * 4);
    uploaded = 0;
    await store.query(device, q, 1, 3);
    expect(uploaded).toBe(0);
    store.add(raw[7], 0, 0, 999);
    const b = await store.query(device, q, 1, 3);
    expect(uploaded).toBe(D * 4);
    const host = await store.query(js, q, 1, 3);
    expect(Array.from(b.indices)).toEqual(Array.from(host.indices));
    expect(Array.from(a.indices).length).toBe(3);
    store.releaseDevice();
    expect(js.liveBuffers).toBe(0);
  });

  it('a failed upload keeps the changed slots for the next query (first upload and a later one)', async () => {
    // The changed range was cleared before the upload: once an upload failed, every later query
    // scored against the device's stale slots (zeros, or old patterns), without an error.
    const js = new JsComputeBackend();
    let fail = 0;
    const device: ComputeBackend = Object.create(js, {
      capabilities: { value: { ...js.capabilities, deviceMemory: true } },
      createBuffer: { value: (n: number): DeviceBuffer => js.createBuffer(n) },
      upload: {
        value: async (dst: DeviceBuffer, src: ArrayBufferView, off?: number) => {
          if (fail > 0) {
            fail--;
            throw new Error('transient device error');
          }
          return js.upload(dst, src, off);
        },
      },
      patternScores: { value: js.patternScores.bind(js) },
      freeBuffer: { value: js.freeBuffer.bind(js) },
    });
    const r = seededRandom(5);
    const D = 16;
    const store = new PatternStore({ dim: D, capacity: 100 });
    for (let i = 0; i < 50; i++) store.add(randomWindow(r, D), 0, i * 1e-4, i);
    const same = async (slot: number): Promise<void> => {
      const q = store.windows.slice(slot * D, slot * D + D);
      const onDevice = await store.query(device, q, 1, 3);
      const onHost = await store.query(js, q, 1, 3);
      expect(onHost.indices[0]).toBe(slot);
      expect(Array.from(onDevice.indices)).toEqual(Array.from(onHost.indices));
      expect(Array.from(onDevice.scores)).toEqual(Array.from(onHost.scores));
    };
    const q7 = store.windows.slice(7 * D, 8 * D);
    fail = 1;
    await expect(store.query(device, q7, 1, 3)).rejects.toThrow(/transient/);
    expect(store.queryInFlight).toBe(false);
    await same(7);
    // slots changed after a good upload: a failure must not lose them either
    for (let i = 0; i < 10; i++) store.add(randomWindow(r, D), 0, 0, 100 + i);
    fail = 1;
    await expect(store.query(device, q7, 1, 3)).rejects.toThrow(/transient/);
    await same(55);
    store.releaseDevice();
    expect(js.liveBuffers).toBe(0);
  });

  it('on a host backend whose async calls copy their inputs, keeps the store resident too; on one that does not, passes the slab', async () => {
    // CPU SIMD copies every host input of an async call: a 1M x 64 slab passed as a host array
    // was 256 MB copied per query (docs/performance.md, "Detectors").
    for (const copies of [true, false]) {
      const js = new JsComputeBackend();
      let created = 0;
      const seen: unknown[] = [];
      const host: ComputeBackend = Object.create(js, {
        capabilities: { value: { ...js.capabilities, deviceMemory: false, copiesHostInputs: copies } },
        createBuffer: { value: (n: number): DeviceBuffer => (created++, js.createBuffer(n)) },
        upload: { value: js.upload.bind(js) },
        patternScores: { value: (a: Parameters<ComputeBackend['patternScores']>[0]) => (seen.push(a.stored), js.patternScores(a)) },
        freeBuffer: { value: js.freeBuffer.bind(js) },
      });
      const r = seededRandom(4);
      const D = 8;
      const store = new PatternStore({ dim: D, capacity: 10 });
      for (let i = 0; i < 10; i++) store.add(randomWindow(r, D), 0, 0, i);
      const q = Float32Array.from(randomWindow(r, D));
      const res = await store.query(host, q, 1, 2);
      const direct = await store.query(js, q, 1, 2);
      expect(Array.from(res.indices)).toEqual(Array.from(direct.indices));
      expect(created).toBe(copies ? 1 : 0);
      expect(seen[0] instanceof Float32Array).toBe(!copies);
      store.releaseDevice();
      expect(js.liveBuffers).toBe(0);
    }
  });
});

describe('PatternStore files', () => {
  function filled(n: number, D = 16, capacity = n): { store: PatternStore; path: string } {
    const r = seededRandom(n);
    const store = new PatternStore({ dim: D, capacity, horizon: 8 });
    for (let i = 0; i < n; i++) store.add(randomWindow(r, D), 0, r.normal() * 1e-3, 1_700_000_000_000 + i * 1000);
    const path = join(dir, `p-${n}-${D}-${capacity}.bin`);
    store.save(path);
    return { store, path };
  }

  it('round-trips: same windows, outcomes, timestamps and order; header as documented', () => {
    const { store, path } = filled(300, 16, 200); // evictions happened: order != slot order
    const h = readPatternHeader(path);
    expect(h).toMatchObject({ version: 1, dim: 16, horizon: 8, count: 200, flags: 1, payloadBytes: 200 * (8 + 4 + 64) });
    expect(statSync(path).size).toBe(PATTERN_FILE_HEADER_BYTES + 200 * (8 + 4 + 64));
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('CWTSPAT\0');
    expect(bytes.readUInt32LE(60)).toBe(crc32(bytes.subarray(0, 60)));
    expect(bytes.readUInt32LE(40)).toBe(crc32(bytes.subarray(64)));

    const back = new PatternStore({ dim: 16, capacity: 500 });
    expect(back.load(path)).toEqual({ count: 200, horizon: 8, skipped: 0 });
    const order = store.slotsInOrder();
    expect(back.slotsInOrder()).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (let i = 0; i < 200; i++) {
      const s = order[i];
      expect(back.times[i]).toBe(store.times[s]);
      expect(back.outcomes[i]).toBe(store.outcomes[s]);
      expect(Array.from(back.windows.subarray(i * 16, i * 16 + 16))).toEqual(Array.from(store.windows.subarray(s * 16, s * 16 + 16)));
    }
    // a smaller store keeps the newest patterns
    const small = new PatternStore({ dim: 16, capacity: 50 });
    expect(small.load(path)).toEqual({ count: 50, horizon: 8, skipped: 150 });
    expect(small.times[0]).toBe(store.times[order[150]]);
    const again = PatternStore.fromFile(path);
    expect(again.count).toBe(200);
    expect(again.capacity).toBe(200);
  });

  it('an empty store round-trips', () => {
    const store = new PatternStore({ dim: 8, capacity: 4 });
    const path = join(dir, 'empty.bin');
    store.save(path);
    expect(new PatternStore({ dim: 8, capacity: 4 }).load(path).count).toBe(0);
  });

  function expectFileError(fn: () => unknown, code: string, text: string): void {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(PatternFileError);
      expect((err as PatternFileError).code).toBe(code);
      expect((err as Error).message).toContain(text);
      return;
    }
    throw new Error(`expected a PatternFileError ${code}`);
  }

  it('a truncated file is a clear error and leaves the store unchanged', () => {
    const { path } = filled(100);
    const cut = join(dir, 'cut.bin');
    writeFileSync(cut, readFileSync(path).subarray(0, statSync(path).size - 10));
    const target = new PatternStore({ dim: 16, capacity: 100 });
    target.add(Array.from({ length: 16 }, (_, i) => i), 0, 0.5, 42);
    expectFileError(() => target.load(cut), 'TRUNCATED', 'truncated: the header announces 100 patterns of length 16');
    expect(target.count).toBe(1);
    expect(target.times[0]).toBe(42);
    writeFileSync(cut, readFileSync(path).subarray(0, 30));
    expectFileError(() => target.load(cut), 'TRUNCATED', 'shorter than the 64-byte header');
    truncateSync(cut, 0);
    expectFileError(() => target.load(cut), 'TRUNCATED', 'truncated');
    expectFileError(() => target.load(join(dir, 'missing.bin')), 'NOT_FOUND', 'no such file');
  });

  it('a corrupted file is a clear error (payload, header, magic, trailing bytes, wrong dim)', () => {
    const { path } = filled(100);
    const bad = join(dir, 'bad.bin');
    const target = new PatternStore({ dim: 16, capacity: 100 });
    const flip = (offset: number): void => {
      const b = Buffer.from(readFileSync(path));
      b[offset] ^= 0x20;
      writeFileSync(bad, b);
    };
    flip(PATTERN_FILE_HEADER_BYTES + 100 * 12 + 777); // inside a window
    expectFileError(() => target.load(bad), 'CHECKSUM', 'payload checksum mismatch');
    flip(PATTERN_FILE_HEADER_BYTES + 3); // inside a timestamp
    expectFileError(() => target.load(bad), 'CHECKSUM', 'the file is damaged');
    flip(24); // the count
    expectFileError(() => target.load(bad), 'CHECKSUM', 'header checksum mismatch');
    flip(0);
    expectFileError(() => target.load(bad), 'BAD_MAGIC', 'not a CWTS pattern file');
    writeFileSync(bad, Buffer.concat([readFileSync(path), Buffer.from([1, 2, 3])]));
    expectFileError(() => target.load(bad), 'TRAILING_BYTES', '3 unexpected bytes');
    expectFileError(() => new PatternStore({ dim: 32, capacity: 10 }).load(path), 'DIM_MISMATCH', 'windows have length 16, this store uses 32');
    expect(target.count).toBe(0);
  });

  it('a file learnt with another horizon is refused by a store with a horizon; a store without one loads it', () => {
    // The header's horizon was informational: 32-bar outcomes loaded into a 4-bar store were
    // reported as 4-bar forecasts (8x too large).
    const { path } = filled(100); // horizon 8
    const target = new PatternStore({ dim: 16, capacity: 100, horizon: 4 });
    target.add(Array.from({ length: 16 }, (_, i) => i), 0, 0.5, 42);
    expectFileError(() => target.load(path), 'HORIZON_MISMATCH', 'outcomes are log returns over 8 bars, this store forecasts 4 bars (horizon)');
    expect(target.count).toBe(1);
    expect(target.times[0]).toBe(42);
    expect(new PatternStore({ dim: 16, capacity: 100, horizon: 8 }).load(path).count).toBe(100);
    expect(new PatternStore({ dim: 16, capacity: 100 }).load(path)).toEqual({ count: 100, horizon: 8, skipped: 0 });
    // a file that does not record its horizon cannot be shown to match
    const unknown = join(dir, 'no-horizon.bin');
    new PatternStore({ dim: 16, capacity: 4 }).save(unknown);
    expect(readPatternHeader(unknown).horizon).toBe(0);
    expectFileError(() => target.load(unknown), 'HORIZON_MISMATCH', 'do not record their horizon (0)');
    expect(new PatternStore({ dim: 16, capacity: 4 }).load(unknown).count).toBe(0);
  });
});

describe('PatternStore files: non-finite values', () => {
  const D = 8;
  const N = 20;
  /** A valid file, then one value replaced and both checksums recomputed (as another writer would produce it). */
  function hostileFile(name: string, patch: (b: Buffer) => void): string {
    const r = seededRandom(3);
    const store = new PatternStore({ dim: D, capacity: N, horizon: 2 });
    for (let i = 0; i < N; i++) store.add(randomWindow(r, D), 0, -1e-3, 1000 * i);
    const path = join(dir, name);
    store.save(path);
    const b = Buffer.from(readFileSync(path));
    patch(b);
    b.writeUInt32LE(crc32(b.subarray(PATTERN_FILE_HEADER_BYTES)), 40);
    b.writeUInt32LE(crc32(b.subarray(0, 60)), 60);
    writeFileSync(path, b);
    return path;
  }
  const timeAt = (i: number) => PATTERN_FILE_HEADER_BYTES + 8 * i;
  const outcomeAt = (i: number) => PATTERN_FILE_HEADER_BYTES + 8 * N + 4 * i;
  const windowAt = (i: number, j: number) => PATTERN_FILE_HEADER_BYTES + 12 * N + 4 * (i * D + j);

  function expectNonFinite(fn: () => unknown, text: string): void {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PatternFileError);
    expect((caught as PatternFileError).code).toBe('NON_FINITE');
    expect((caught as Error).message).toContain(text);
  }

  it('a file with a non-finite outcome, timestamp or window value (checksums valid) is refused naming the row; the store is unchanged', () => {
    const cases: [string, (b: Buffer) => void, string][] = [
      ['nf-outcome.bin', (b) => b.writeFloatLE(-Infinity, outcomeAt(2)), 'pattern 2 (0-based, oldest first) has a non-finite outcome (-Infinity)'],
      ['nf-outcome-nan.bin', (b) => b.writeFloatLE(NaN, outcomeAt(19)), 'pattern 19 (0-based, oldest first) has a non-finite outcome (NaN)'],
      ['nf-time.bin', (b) => b.writeDoubleLE(Infinity, timeAt(7)), 'pattern 7 (0-based, oldest first) has a non-finite timestamp (Infinity)'],
      ['nf-window.bin', (b) => b.writeFloatLE(NaN, windowAt(5, 3)), 'pattern 5 (0-based, oldest first) has a non-finite window value 3 (NaN)'],
    ];
    for (const [name, patch, text] of cases) {
      const path = hostileFile(name, patch);
      const target = new PatternStore({ dim: D, capacity: 100 });
      target.add(Array.from({ length: D }, (_, i) => i), 0, 0.5, 42);
      expectNonFinite(() => target.load(path), text);
      expect(target.count).toBe(1);
      expect(target.times[0]).toBe(42);
      expectNonFinite(() => PatternStore.fromFile(path), text);
    }
    // the unpatched file loads
    const ok = hostileFile('nf-none.bin', () => {});
    expect(new PatternStore({ dim: D, capacity: 100 }).load(ok).count).toBe(N);
  });

  it('add refuses a non-finite outcome or time (and one beyond float32 range); save refuses rows that have them', () => {
    const store = new PatternStore({ dim: D, capacity: 10 });
    const w = Array.from({ length: D }, (_, i) => Math.sin(i));
    for (const [outcome, ts] of [[-Infinity, 0], [NaN, 0], [1e39, 0], [0, Infinity], [0, NaN]] as const) {
      expect(() => store.add(w, 0, outcome, ts)).toThrow(RangeError);
      expect(() => store.addFromRing(Float64Array.from(w), 0, outcome, ts)).toThrow(RangeError);
    }
    expect(store.count).toBe(0);
    store.add(w, 0, 1e-3, 5);
    expect(store.count).toBe(1);
    // a writer fed non-finite rows writes nothing (and leaves an existing file as it was)
    const path = join(dir, 'nf-save.bin');
    store.save(path);
    const before = readFileSync(path);
    store.outcomes[0] = -Infinity; // as if set behind the store's back
    expectNonFinite(() => store.save(path), 'pattern 0 (0-based, oldest first) has a non-finite outcome (-Infinity)');
    store.outcomes[0] = 1e-3;
    store.times[0] = NaN;
    expectNonFinite(() => store.save(path), 'non-finite timestamp (NaN)');
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe('PatternStore at 1M patterns', () => {
  it('holds 1,000,000 windows of length 64, evicts past capacity, and finds planted windows', async () => {
    const D = 64;
    const N = 1_000_000;
    const store = new PatternStore({ dim: D, capacity: N });
    const r = seededRandom(9);
    // cheap distinct windows: a few random base windows, shifted and scaled
    const bases = Array.from({ length: 64 }, () => Float64Array.from(randomWindow(r, D + 64)));
    for (let i = 0; i < N + 10; i++) store.add(bases[i & 63], (i >> 6) & 63, i, i);
    expect(store.count).toBe(N);
    expect(store.times[store.slotsInOrder()[0]]).toBe(10);
    // plant two unique windows and find them
    const plantA = randomWindow(r, D);
    const plantB = randomWindow(r, D);
    store.add(plantA, 0, 1, 2e6);
    store.add(plantB, 0, -1, 2e6 + 1);
    // slots move when older patterns are evicted (the last slot fills the hole): find them by time
    const order = store.slotsInOrder();
    const a = order[N - 2];
    const b = order[N - 1];
    expect([store.times[a], store.times[b]]).toEqual([2e6, 2e6 + 1]);
    const q = new Float32Array(2 * D);
    q.set(plantA.map((x) => 3 * x + 1), 0);
    q.set(plantB, D);
    const res = await store.query(backend2(), q, 2, 4);
    expect(res.indices[0]).toBe(a);
    expect(res.scores[0]).toBeCloseTo(1, 5);
    expect(res.indices[4]).toBe(b);
    expect(store.bytesPerScan()).toBe(N * D * 4);
  }, 120_000);
});

function backend2(): JsComputeBackend {
  return new JsComputeBackend();
}
