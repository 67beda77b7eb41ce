/**
 * `pnpm bench microstructure`: matching engine vs nodejs-order-book on the same deterministic
 * 1M-operation flow, L2 book delta throughput and top-10 reads, SPSC ring vs ringbuf.js vs
 * worker postMessage. Writes bench/results/microstructure.json. Runs the compiled engine
 * (packages/core/dist), i.e. what ships. Env: MICRO_OPS (default 1_000_000), MICRO_REPEATS (5).
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { OrderBook, Side } from 'nodejs-order-book';
import { RingBuffer } from 'ringbuf.js';
import { MatchingEngine, L2Book, SpscRing, BID, ASK, ObjectPool, IndexAllocator } from '../packages/core/dist/microstructure/index.js';
import { GcWatch, ROOT, forceGc, heapUsedMiB, histogram, log, median, now, percentiles, timerOverheadNs, writeResults, type BenchResult } from './lib/harness.js';
import { OP_CANCEL, OP_FOK, OP_IOC, OP_LIMIT, OP_MARKET, generateFlow, mulberry32, type Flow } from './lib/flow.js';

const N = Number(process.env.MICRO_OPS ?? 1_000_000);
const REPEATS = Number(process.env.MICRO_REPEATS ?? 5);
const results: BenchResult[] = [];
const PEER_OB = 'nodejs-order-book@10.1.1';
const PEER_RB = 'ringbuf.js@0.4.0';

// ---------------------------------------------------------------------------------------
// matching engine: ours vs nodejs-order-book

function newOurs(): MatchingEngine {
  return new MatchingEngine('BENCH', { initialOrders: 1 << 18, initialLevels: 1 << 14 });
}

function runOurs(e: MatchingEngine, f: Flow, from = 0, to = f.n): void {
  const type = f.type;
  const side = f.side;
  const price = f.price;
  const qty = f.qty;
  const id = f.id;
  for (let i = from; i < to; i++) {
    const t = type[i]!;
    if (t === OP_CANCEL) e.cancel(id[i]!);
    else e.submit(id[i]!, side[i] as 0 | 1, (t === OP_LIMIT ? 0 : t === OP_MARKET ? 1 : t === OP_IOC ? 2 : 3) as 0 | 1 | 2 | 3, price[i]!, qty[i]!);
  }
}

const SIDES = [Side.BUY, Side.SELL];
function peerOp(ob: OrderBook, f: Flow, sid: string[], i: number): number {
  const t = f.type[i]!;
  if (t === OP_CANCEL) return ob.cancel(sid[i]!) ? 1 : 0;
  const side = SIDES[f.side[i]!]!;
  const size = f.qty[i]!;
  let r;
  if (t === OP_MARKET) r = ob.market({ side, size });
  else if (t === OP_LIMIT) r = ob.limit({ id: sid[i]!, side, size, price: f.price[i]! });
  else r = ob.limit({ id: sid[i]!, side, size, price: f.price[i]!, timeInForce: (t === OP_IOC ? 'IOC' : 'FOK') as never });
  return r.err ? 0 : size - r.quantityLeft;
}
function runPeer(ob: OrderBook, f: Flow, sid: string[]): void {
  for (let i = 0; i < f.n; i++) peerOp(ob, f, sid, i);
}

async function matching(): Promise<void> {
  log(`generating ${N} operations...`);
  const t0 = now();
  const flow = generateFlow(N, 42, MatchingEngine as never);
  log(`  generated in ${((now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(flow.counts)}`);
  const sid = Array.from(flow.id, (x) => String(x));

  // 1) agreement check (untimed): per-op filled quantity, cancel outcome, final depth
  {
    const e = newOurs();
    const ob = new OrderBook();
    let mismatches = 0;
    let firstMismatch = -1;
    let traded = 0;
    for (let i = 0; i < flow.n; i++) {
      runOurs(e, flow, i, i + 1);
      const ours = flow.type[i] === OP_CANCEL ? (e.result.status === 0 ? 1 : 0) : e.result.status === 0 ? e.result.filledQty : 0;
      const peer = peerOp(ob, flow, sid, i);
      if (flow.type[i] !== OP_CANCEL) traded += ours;
      if (ours !== peer) {
        mismatches++;
        if (firstMismatch < 0) firstMismatch = i;
      }
    }
    // nodejs-order-book's depth() returns [asks ascending, bids descending]
    const [pa, pb] = ob.depth();
    const ob2: { price: number; qty: number }[] = [];
    const ours = [e.topLevels('bid', 1e9, ob2), ob2.slice()];
    const depthEqual =
      JSON.stringify(ob2.slice(0, ours[0] as number).map((l) => [l.price, l.qty])) === JSON.stringify(pb) &&
      (() => {
        const oa: { price: number; qty: number }[] = [];
        const n = e.topLevels('ask', 1e9, oa);
        return JSON.stringify(oa.slice(0, n).map((l) => [l.price, l.qty])) === JSON.stringify(pa);
      })();
    log(`  agreement: ${mismatches} per-op mismatches (first at ${firstMismatch}), final depth equal: ${depthEqual}, taker volume ${traded} lots, resting orders ${e.orderCount}, levels ${e.levelCount('bid')}/${e.levelCount('ask')}`);
    results.push({ name: 'matching.agreement.per_op_filled_mismatches', metric: 'count', unit: 'ops', value: mismatches, note: `over ${N} ops: taker filled qty per order and cancel outcome compared with ${PEER_OB}; final depth equal: ${depthEqual}` });
    results.push({ name: 'matching.flow.final_resting_orders', metric: 'count', unit: 'orders', value: e.orderCount });
  }

  // 2) throughput, REPEATS runs each side (peer fewer: it takes seconds per run)
  const ours: number[] = [];
  const gc = new GcWatch();
  let gcOurs = { count: 0, maxMs: 0 };
  let heapOurs = { before: 0, after: 0 };
  for (let r = 0; r < REPEATS; r++) {
    const e = newOurs();
    forceGc();
    const hb = heapUsedMiB();
    gc.start();
    const t = now();
    runOurs(e, flow);
    const dt = now() - t;
    await gc.stop();
    const ha = heapUsedMiB();
    ours.push((flow.n / dt) * 1000);
    if (r === REPEATS - 1) {
      gcOurs = { count: gc.count, maxMs: gc.maxMs };
      heapOurs = { before: hb, after: ha };
    }
  }
  const peer: number[] = [];
  let gcPeer = { count: 0, maxMs: 0 };
  let heapPeer = { before: 0, after: 0 };
  const peerRuns = Math.max(1, Math.min(3, REPEATS));
  for (let r = 0; r < peerRuns; r++) {
    const ob = new OrderBook();
    forceGc();
    const hb = heapUsedMiB();
    gc.start();
    const t = now();
    runPeer(ob, flow, sid);
    const dt = now() - t;
    await gc.stop();
    const ha = heapUsedMiB();
    peer.push((flow.n / dt) * 1000);
    if (r === peerRuns - 1) {
      gcPeer = { count: gc.count, maxMs: gc.maxMs };
      heapPeer = { before: hb, after: ha };
    }
  }
  log(`  throughput ours ${ours.map((x) => (x / 1e6).toFixed(2)).join(', ')} Mops/s; peer ${peer.map((x) => (x / 1e3).toFixed(0)).join(', ')} kops/s`);
  results.push({ name: 'matching.throughput', metric: 'median', unit: 'ops/s', value: Math.round(median(ours)), peer: PEER_OB, peerValue: Math.round(median(peer)), note: `median of ${REPEATS} (ours) / ${peerRuns} (peer) runs of ${N} ops; ours runs: ${ours.map((x) => Math.round(x)).join(',')}; peer runs: ${peer.map((x) => Math.round(x)).join(',')}` });
  results.push({ name: 'matching.throughput', metric: 'best', unit: 'ops/s', value: Math.round(Math.max(...ours)), peer: PEER_OB, peerValue: Math.round(Math.max(...peer)) });
  results.push({ name: 'matching.throughput.ratio', metric: 'median', unit: 'x', value: Math.round((median(ours) / median(peer)) * 10) / 10 });
  results.push({ name: 'matching.throughput_run.gc_count', metric: 'count', unit: 'gcs', value: gcOurs.count, peer: PEER_OB, peerValue: gcPeer.count });
  results.push({ name: 'matching.throughput_run.gc_max_pause', metric: 'max', unit: 'ms', value: round3(gcOurs.maxMs), peer: PEER_OB, peerValue: round3(gcPeer.maxMs) });
  results.push({ name: 'matching.throughput_run.heap_before', metric: 'heapUsed', unit: 'MiB', value: heapOurs.before, peer: PEER_OB, peerValue: heapPeer.before });
  results.push({ name: 'matching.throughput_run.heap_after', metric: 'heapUsed', unit: 'MiB', value: heapOurs.after, peer: PEER_OB, peerValue: heapPeer.after });

  // 3) per-operation latency (performance.now() around each op; overhead reported)
  const overhead = timerOverheadNs();
  const lat = async (run: (i: number) => void) => {
    const h = histogram();
    forceGc();
    const hb = heapUsedMiB();
    gc.start();
    for (let i = 0; i < flow.n; i++) {
      const t = now();
      run(i);
      const d = now() - t;
      h.recordValue(Math.max(1, Math.round(d * 1e6)));
    }
    await gc.stop();
    return { p: percentiles(h), gcs: gc.count, gcMax: gc.maxMs, hb, ha: heapUsedMiB() };
  };
  const e = newOurs();
  // warm the JIT on a separate engine so both sides start with optimized code paths
  runOurs(newOurs(), flow, 0, Math.min(flow.n, 200_000));
  const lo = await lat((i) => runOurs(e, flow, i, i + 1));
  const ob = new OrderBook();
  const lp = await lat((i) => peerOp(ob, flow, sid, i));
  log(`  latency ns ours p50 ${lo.p.p50} p99 ${lo.p.p99} p99.9 ${lo.p.p999} max ${lo.p.max} (gc ${lo.gcs}, max ${lo.gcMax.toFixed(2)} ms); peer p50 ${lp.p.p50} p99 ${lp.p.p99} p99.9 ${lp.p.p999} max ${lp.p.max} (gc ${lp.gcs}, max ${lp.gcMax.toFixed(2)} ms); empty sample p50 ${overhead.toFixed(0)} ns`);
  for (const [k, label] of [['p50', 'p50'], ['p99', 'p99'], ['p999', 'p99.9'], ['max', 'max']] as const) {
    results.push({ name: 'matching.latency', metric: label, unit: 'ns', value: lo.p[k], peer: PEER_OB, peerValue: lp.p[k] });
  }
  results.push({ name: 'matching.latency.timer_overhead', metric: 'p50', unit: 'ns', value: Math.round(overhead), note: 'p50 of an empty sample (two performance.now() calls): included in every latency sample, not subtracted' });
  results.push({ name: 'matching.latency_run.gc_count', metric: 'count', unit: 'gcs', value: lo.gcs, peer: PEER_OB, peerValue: lp.gcs });
  results.push({ name: 'matching.latency_run.gc_max_pause', metric: 'max', unit: 'ms', value: round3(lo.gcMax), peer: PEER_OB, peerValue: round3(lp.gcMax) });
  results.push({ name: 'matching.latency_run.heap_before', metric: 'heapUsed', unit: 'MiB', value: lo.hb, peer: PEER_OB, peerValue: lp.hb });
  results.push({ name: 'matching.latency_run.heap_after', metric: 'heapUsed', unit: 'MiB', value: lo.ha, peer: PEER_OB, peerValue: lp.ha });
}

// ---------------------------------------------------------------------------------------
// L2 book

async function l2(): Promise<void> {
  const n = 4_000_000;
  const rnd = mulberry32(7);
  const side = new Uint8Array(n);
  const price = new Float64Array(n);
  const qty = new Float64Array(n);
  let mid = 1_000_000;
  for (let i = 0; i < n; i++) {
    if (rnd() < 0.01) mid += rnd() < 0.5 ? -1 : 1;
    const s = rnd() < 0.5 ? 0 : 1;
    const d = Math.floor(-Math.log(1 - rnd()) * 8); // most updates near the top
    side[i] = s;
    price[i] = s === 0 ? mid - 1 - d : mid + 1 + d;
    qty[i] = rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 100);
  }
  const rates: number[] = [];
  const gc = new GcWatch();
  let gcs = 0;
  for (let r = 0; r < REPEATS; r++) {
    const b = new L2Book('bench', 'X', { initialLevels: 1024 });
    b.applySnapshot({ seq: 1, bids: [], asks: [] });
    gc.start();
    const t = now();
    for (let i = 0; i < n; i++) b.applyLevel(side[i] as 0 | 1, price[i]!, qty[i]!);
    const dt = now() - t;
    await gc.stop();
    gcs = gc.count;
    rates.push((n / dt) * 1000);
  }
  // delta events through applyDelta (sequence checks, crossed check, 1 level per delta)
  const evs = Array.from({ length: 1024 }, () => ({ firstSeq: 0, seq: 0, bids: [{ price: 0, qty: 0 }], asks: [] as { price: number; qty: number }[] }));
  const evsA = Array.from({ length: 1024 }, () => ({ firstSeq: 0, seq: 0, bids: [] as { price: number; qty: number }[], asks: [{ price: 0, qty: 0 }] }));
  const b = new L2Book('bench', 'X');
  b.applySnapshot({ seq: 1, bids: [], asks: [] });
  let seq = 1;
  const t = now();
  for (let i = 0; i < n; i++) {
    const ev = side[i] === 0 ? evs[i & 1023]! : evsA[i & 1023]!;
    const lv = side[i] === 0 ? ev.bids[0]! : ev.asks[0]!;
    lv.price = price[i]!;
    lv.qty = qty[i]!;
    seq++;
    ev.firstSeq = seq;
    ev.seq = seq;
    b.applyDelta(ev);
  }
  const deltaRate = (n / (now() - t)) * 1000;
  // top-10 reads
  const ps = new Float64Array(10);
  const qs = new Float64Array(10);
  const out: { price: number; qty: number }[] = [];
  const reads = 2_000_000;
  let sink = 0;
  let t1 = now();
  for (let i = 0; i < reads; i++) sink += b.topInto((i & 1) as 0 | 1, 10, ps, qs) + ps[0]!;
  const topInto = ((now() - t1) * 1e6) / reads;
  t1 = now();
  for (let i = 0; i < reads; i++) sink += b.topLevels(i & 1 ? 'ask' : 'bid', 10, out) + out[0]!.price;
  const topObj = ((now() - t1) * 1e6) / reads;
  t1 = now();
  for (let i = 0; i < reads; i++) sink += (i & 1 ? b.bestAskOr(0) : b.bestBidOr(0));
  const best = ((now() - t1) * 1e6) / reads;
  if (sink === 0.5) log('');
  log(`  L2 level updates ${rates.map((x) => (x / 1e6).toFixed(1)).join(', ')} M/s (gc ${gcs}); applyDelta events ${(deltaRate / 1e6).toFixed(1)} M/s; top-10 ${topInto.toFixed(1)} ns (typed) / ${topObj.toFixed(1)} ns (objects); best ${best.toFixed(1)} ns; levels ${b.levelCount('bid')}/${b.levelCount('ask')}`);
  results.push({ name: 'l2.level_updates', metric: 'median', unit: 'updates/s', value: Math.round(median(rates)), note: `applyLevel, ${n} updates, 20% deletes, exponential distance from a drifting mid; runs: ${rates.map(Math.round).join(',')}; GCs in last run: ${gcs}` });
  results.push({ name: 'l2.delta_events', metric: 'rate', unit: 'deltas/s', value: Math.round(deltaRate), note: 'applyDelta with sequence and crossed checks, one level per delta' });
  results.push({ name: 'l2.top10_read.typed', metric: 'mean', unit: 'ns', value: round3(topInto) });
  results.push({ name: 'l2.top10_read.objects', metric: 'mean', unit: 'ns', value: round3(topObj) });
  results.push({ name: 'l2.best_read', metric: 'mean', unit: 'ns', value: round3(best) });
  void BID;
  void ASK;
}

// ---------------------------------------------------------------------------------------
// pools: acquire + release of a pooled event object vs allocating a fresh one

async function pools(): Promise<void> {
  type Ev = { type: number; price: number; qty: number; seq: number; ts: number };
  const pool = new ObjectPool<Ev>({ create: () => ({ type: 0, price: 0, qty: 0, seq: 0, ts: 0 }), initial: 1024 });
  const slots = new IndexAllocator(1024);
  const n = 1_000_000;
  const gc = new GcWatch();
  const held: Ev[] = new Array(64);
  const run = async (label: string, body: (i: number) => void) => {
    const h = histogram();
    for (let i = 0; i < 100_000; i++) body(i); // warm-up
    forceGc();
    gc.start();
    for (let i = 0; i < n; i++) {
      const t = now();
      body(i);
      h.recordValue(Math.max(1, Math.round((now() - t) * 1e6)));
    }
    await gc.stop();
    return { p: percentiles(h), gcs: gc.count };
  };
  // keep 64 objects live, so a fresh allocation has to survive a little like a queued event
  const pooled = await run('pool', (i) => {
    const k = i & 63;
    const old = held[k];
    if (old !== undefined) pool.release(old);
    const e = pool.acquire();
    e.price = i;
    e.seq = i;
    held[k] = e;
  });
  const fresh = await run('alloc', (i) => {
    held[i & 63] = { type: 1, price: i, qty: 1, seq: i, ts: 0 };
  });
  const slab = await run('slab', () => {
    slots.free(slots.alloc());
  });
  log(`  pool acquire+release p50 ${pooled.p.p50} p99 ${pooled.p.p99} max ${pooled.p.max} ns (gc ${pooled.gcs}); fresh object p50 ${fresh.p.p50} p99 ${fresh.p.p99} max ${fresh.p.max} ns (gc ${fresh.gcs}); slab alloc+free p99 ${slab.p.p99} ns; misses ${pool.misses}`);
  for (const [k, label] of [['p50', 'p50'], ['p99', 'p99'], ['max', 'max']] as const) {
    results.push({ name: 'pool.acquire_release', metric: label, unit: 'ns', value: pooled.p[k], peer: 'new object literal (GC-managed)', peerValue: fresh.p[k], note: label === 'p50' ? `per operation incl. ~40 ns timer; GCs over 1M ops: pool ${pooled.gcs}, fresh ${fresh.gcs}; pool misses ${pool.misses}` : undefined });
  }
  results.push({ name: 'pool.gc_count', metric: 'count', unit: 'gcs', value: pooled.gcs, peer: 'new object literal (GC-managed)', peerValue: fresh.gcs });
  results.push({ name: 'pool.slab_alloc_free', metric: 'p99', unit: 'ns', value: slab.p.p99 });
}

// ---------------------------------------------------------------------------------------
// ring buffer

const WORKER = join(ROOT, 'bench', 'workers', 'ring-bench.worker.mjs');
const WORDS = 16;

function startWorker(data: Record<string, unknown>): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: data });
    w.once('error', reject);
    w.once('message', (m) => (m === 'ready' ? resolve(w) : reject(new Error(String(m)))));
  });
}

async function ringThroughput(kind: 'ours' | 'ours-zc' | 'ours-block' | 'peer' | 'pm', batch: number, total: number): Promise<number> {
  const cap = 1024;
  const dst = new Int32Array(batch * WORDS);
  if (kind === 'pm') {
    // One listener from the start: no window between 'ready' and the data in which a message
    // could arrive without a listener.
    const w = new Worker(WORKER, { workerData: { mode: 'pm-produce', total, batch } });
    let t = 0;
    let got = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`postMessage bench: ${got}/${total} records after 120 s`)), 120_000);
      w.on('error', reject);
      w.on('message', (m: Int32Array | string) => {
        if (m === 'ready') {
          t = now();
          return;
        }
        got += (m as Int32Array).length / WORDS;
        if (got >= total) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const dt = now() - t;
    await w.terminate();
    return (total / dt) * 1000;
  }
  if (kind === 'peer') {
    const sab = RingBuffer.getStorageForCapacity(cap * WORDS, Int32Array);
    const ring = new RingBuffer(sab, Int32Array);
    const w = await startWorker({ mode: 'peer-produce', total, batch, a: sab });
    const t = now();
    let words = 0;
    const want = total * WORDS;
    const len = batch * WORDS;
    let bad = 0;
    while (words < want) {
      const n = ring.pop(dst, len);
      if (n > 0 && dst[0]! < 0) bad++;
      words += n;
    }
    const dt = now() - t;
    await w.terminate();
    if (bad) throw new Error('ringbuf.js bench: corrupt data');
    return (total / dt) * 1000;
  }
  const ring = SpscRing.create(cap, 64);
  const w = await startWorker({ mode: kind === 'ours' ? 'ours-produce' : kind === 'ours-block' ? 'ours-block-produce' : 'ours-zc-produce', total, batch, a: ring.buffer });
  const t = now();
  let got = 0;
  let expect = 0;
  let bad = 0;
  if (kind === 'ours-block') {
    while (got < total) {
      const n = ring.readBlocking(dst, 0, batch, Infinity, 64);
      if (n === 0) break;
      if (dst[0] !== expect) bad++;
      expect += n;
      got += n;
    }
  } else if (kind === 'ours') {
    while (got < total) {
      const n = ring.read(dst, 0, batch);
      if (n > 0 && dst[0] !== expect) bad++;
      expect += n;
      got += n;
    }
  } else {
    const i32 = ring.i32;
    while (got < total) {
      const n = ring.readable();
      if (n === 0) continue;
      const m = n < batch ? n : batch;
      for (let k = 0; k < m; k++) if (i32[ring.readSlotWord(k)] !== expect + k) bad++;
      ring.release(m);
      expect += m;
      got += m;
    }
  }
  const dt = now() - t;
  await w.terminate();
  if (bad) throw new Error(`SpscRing bench: ${bad} out-of-order records`);
  return (total / dt) * 1000;
}

async function ringRtt(kind: 'ours' | 'peer' | 'pm', samples: number): Promise<ReturnType<typeof percentiles>> {
  const h = histogram();
  const buf = new Int32Array(WORDS);
  if (kind === 'pm') {
    const w = await startWorker({ mode: 'pm-echo' });
    for (let i = 0; i < samples; i++) {
      buf[0] = i;
      const t = now();
      await new Promise<void>((resolve) => {
        w.once('message', () => resolve());
        w.postMessage(buf);
      });
      h.recordValue(Math.max(1, Math.round((now() - t) * 1e6)));
    }
    await w.terminate();
    return percentiles(h);
  }
  if (kind === 'peer') {
    const sa = RingBuffer.getStorageForCapacity(64 * WORDS, Int32Array);
    const sb = RingBuffer.getStorageForCapacity(64 * WORDS, Int32Array);
    const ra = new RingBuffer(sa, Int32Array);
    const rb = new RingBuffer(sb, Int32Array);
    const w = await startWorker({ mode: 'peer-echo', total: samples, a: sa, b: sb });
    for (let i = 0; i < samples; i++) {
      buf[0] = i;
      const t = now();
      ra.push(buf, WORDS);
      let got = 0;
      while (got < WORDS) got += rb.pop(buf, WORDS - got, got);
      h.recordValue(Math.max(1, Math.round((now() - t) * 1e6)));
    }
    await w.terminate();
    return percentiles(h);
  }
  const ra = SpscRing.create(64, 64);
  const rb = SpscRing.create(64, 64);
  const w = await startWorker({ mode: 'ours-echo', total: samples, a: ra.buffer, b: rb.buffer });
  for (let i = 0; i < samples; i++) {
    buf[0] = i;
    const t = now();
    ra.write(buf, 0, 1);
    while (rb.read(buf, 0, 1) === 0);
    h.recordValue(Math.max(1, Math.round((now() - t) * 1e6)));
  }
  await w.terminate();
  return percentiles(h);
}

async function ring(): Promise<void> {
  const reps = Math.max(1, Math.min(3, REPEATS));
  const tp = async (kind: 'ours' | 'ours-zc' | 'ours-block' | 'peer' | 'pm', batch: number, total: number) => {
    const xs: number[] = [];
    for (let r = 0; r < reps; r++) {
      if (process.env.MICRO_DEBUG) log(`    ${kind} batch ${batch} run ${r}...`);
      xs.push(await ringThroughput(kind, batch, total));
    }
    return xs;
  };
  for (const batch of [1, 64]) {
    const total = batch === 1 ? Number(process.env.MICRO_RING_SINGLE ?? 500_000) : Number(process.env.MICRO_RING_BATCH ?? 4_000_000);
    const o = await tp('ours', batch, total);
    const z = await tp('ours-zc', batch, total);
    const bl = await tp('ours-block', batch, total);
    const p = await tp('peer', batch, total);
    const m = await tp('pm', batch, batch === 1 ? 200_000 : 1_000_000);
    log(`  ring batch ${batch}: ours ${fmtM(o)} | ours zero-copy ${fmtM(z)} | ours blocking ${fmtM(bl)} | ringbuf.js ${fmtM(p)} | postMessage ${fmtM(m)} M records/s`);
    const label = batch === 1 ? 'single' : 'batch64';
    results.push({ name: `ring.throughput.${label}`, metric: 'median', unit: 'records/s', value: Math.round(median(o)), peer: PEER_RB, peerValue: Math.round(median(p)), note: `64-byte records, copy API (write/read) both sides, ring of 1024 records, worker -> main, ${reps} runs: ours ${o.map(Math.round).join(',')}; peer ${p.map(Math.round).join(',')}` });
    results.push({ name: `ring.throughput.${label}.vs_postMessage`, metric: 'median', unit: 'records/s', value: Math.round(median(o)), peer: 'worker postMessage (structured clone of Int32Array)', peerValue: Math.round(median(m)) });
    results.push({ name: `ring.throughput.${label}.zero_copy`, metric: 'median', unit: 'records/s', value: Math.round(median(z)), peer: PEER_RB, peerValue: Math.round(median(p)), note: 'ours with claim/publish and peek/release (records built in place); peer with its copy API' });
    results.push({ name: `ring.throughput.${label}.blocking`, metric: 'median', unit: 'records/s', value: Math.round(median(bl)), peer: PEER_RB, peerValue: Math.round(median(p)), note: 'ours with writeBlocking/readBlocking (spin 64, then Atomics.wait), which frees the core when the other side is behind; the peer has no blocking mode and spins' });
    results.push({ name: `ring.throughput.${label}.ratio`, metric: 'median', unit: 'x', value: Math.round((median(o) / median(p)) * 100) / 100 });
  }
  const samples = Number(process.env.MICRO_RTT_SAMPLES ?? 50_000);
  const ro = await ringRtt('ours', samples);
  const rp = await ringRtt('peer', samples);
  const rm = await ringRtt('pm', Math.min(samples, 20_000));
  log(`  ring RTT ns ours p50 ${ro.p50} p99 ${ro.p99} p99.9 ${ro.p999} max ${ro.max}; ringbuf.js p50 ${rp.p50} p99 ${rp.p99} p99.9 ${rp.p999}; postMessage p50 ${rm.p50} p99 ${rm.p99}`);
  for (const [k, label] of [['p50', 'p50'], ['p99', 'p99'], ['p999', 'p99.9'], ['max', 'max']] as const) {
    results.push({ name: 'ring.round_trip', metric: label, unit: 'ns', value: ro[k], peer: PEER_RB, peerValue: rp[k], note: label === 'p50' ? 'one 64-byte record main -> worker -> main over two rings, both sides spinning' : undefined });
    results.push({ name: 'ring.round_trip.vs_postMessage', metric: label, unit: 'ns', value: ro[k], peer: 'worker postMessage', peerValue: rm[k] });
  }
}

function fmtM(xs: number[]): string {
  return xs.map((x) => (x / 1e6).toFixed(1)).join('/');
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------

const only = process.env.MICRO_ONLY; // matching | l2 | pools | ring (debugging)
if (!(globalThis as { gc?: unknown }).gc) log('note: run with --expose-gc for exact heap figures (scripts/bench.mjs does)');
if (!only || only === 'matching') await matching();
if (!only || only === 'l2') await l2();
if (!only || only === 'pools') await pools();
if (!only || only === 'ring') await ring();
const file = writeResults('microstructure', results, { config: { ops: N, repeats: REPEATS } });
log(`wrote ${file}`);
