/**
 * `pnpm bench microstructure`: matching engine vs nodejs-order-book on the same deterministic
 * 1M-operation flow, L2 book delta throughput and top-10 reads, SPSC ring vs ringbuf.js vs
 * worker postMessage. Writes bench/results/microstructure.json. Runs the compiled engine
 * (packages/core/dist), i.e. what ships.
 *
 * Peer comparisons (matching engine, ring throughput, ring round trip) run one contender per
 * fresh process (no JIT, GC or allocator state inherited from the other contender), the
 * contenders' processes interleaved round by round with the order rotated each round (load on
 * a shared machine hits all alike), each process warming up its own contender before timing.
 * The ratios written are medians over all processes, with the per-round ratios (the contenders'
 * processes of one round ran back to back) as the spread.
 *
 * Env: MICRO_OPS (default 1_000_000), MICRO_REPEATS (timed matching runs per process of ours,
 * default 5; the peer runs once per process: it takes seconds), MICRO_ROUNDS (fresh processes
 * per matching contender, default 3), MICRO_RING_ROUNDS (per ring contender and batch size,
 * default 5), MICRO_RING_RUNS (timed runs per ring process, default 2).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { OrderBook, Side } from 'nodejs-order-book';
import { RingBuffer } from 'ringbuf.js';
import { MatchingEngine, L2Book, SpscRing, BID, ASK, ObjectPool, IndexAllocator } from '../packages/core/dist/microstructure/index.js';
import { GcWatch, ROOT, forceGc, heapUsedMiB, histogram, log, median, now, percentiles, timerOverheadNs, writeResults, type BenchResult, type Percentiles } from './lib/harness.js';
import { OP_CANCEL, OP_FOK, OP_IOC, OP_LIMIT, OP_MARKET, generateFlow, mulberry32, type Flow } from './lib/flow.js';

const N = Number(process.env.MICRO_OPS ?? 1_000_000);
const REPEATS = Number(process.env.MICRO_REPEATS ?? 5);
const ROUNDS = Number(process.env.MICRO_ROUNDS ?? 3);
const RING_ROUNDS = Number(process.env.MICRO_RING_ROUNDS ?? 5);
const RING_RUNS = Number(process.env.MICRO_RING_RUNS ?? 2);
const SELF = fileURLToPath(import.meta.url);
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

  // 2) throughput and 3) per-operation latency: one contender per fresh process, interleaved
  const got = interleaved<MatchingChildOut>(['matching-ours', 'matching-peer'], ROUNDS, (r, out) => {
    const o = out.get('matching-ours')!;
    const p = out.get('matching-peer')!;
    log(`  round ${r + 1}: ours ${o.tput.map((x) => (x / 1e6).toFixed(2)).join(', ')} Mops/s (latency p50/p99 ${o.lat.p50}/${o.lat.p99} ns); peer ${p.tput.map((x) => (x / 1e3).toFixed(0)).join(', ')} kops/s (latency p50/p99 ${p.lat.p50}/${p.lat.p99} ns)`);
  });
  const oursOut = got.get('matching-ours')!;
  const peerOut = got.get('matching-peer')!;
  const ours = oursOut.flatMap((o) => o.tput);
  const peer = peerOut.flatMap((o) => o.tput);
  // per round: the median of ours' runs over the peer's run in the process next to it
  const roundRatios = oursOut.map((o, r) => median(o.tput) / median(peerOut[r]!.tput));
  const ratio = median(ours) / median(peer);
  const lastOurs = oursOut[oursOut.length - 1]!;
  const lastPeer = peerOut[peerOut.length - 1]!;
  const method = `${ROUNDS} interleaved fresh processes per contender (order rotated per round), each warmed up on ${Math.min(N, WARM_OPS)} ops of the flow on a throwaway instance`;
  log(`  throughput ours median ${(median(ours) / 1e6).toFixed(2)} Mops/s, peer ${(median(peer) / 1e3).toFixed(0)} kops/s: ${ratio.toFixed(1)}x (per round ${roundRatios.map((x) => x.toFixed(1)).join(', ')})`);
  results.push({ name: 'matching.throughput', metric: 'median', unit: 'ops/s', value: Math.round(median(ours)), peer: PEER_OB, peerValue: Math.round(median(peer)), note: `median of ${ours.length} runs (ours: ${REPEATS} per process) / ${peer.length} runs (peer: 1 per process) of ${N} ops; ${method}; ours runs: ${ours.map((x) => Math.round(x)).join(',')}; peer runs: ${peer.map((x) => Math.round(x)).join(',')}` });
  results.push({ name: 'matching.throughput', metric: 'p10', unit: 'ops/s', value: Math.round(pct(ours, 0.1)), peer: PEER_OB, peerValue: Math.round(pct(peer, 0.1)), note: 'slowest tenth of the runs of each side' });
  results.push({ name: 'matching.throughput.ratio', metric: 'median', unit: 'x', value: Math.round(ratio * 10) / 10, note: `median(ours) / median(peer), fresh processes interleaved; per-round ratios ${roundRatios.map((x) => x.toFixed(1)).join(', ')} (range ${Math.min(...roundRatios).toFixed(1)}-${Math.max(...roundRatios).toFixed(1)})` });
  results.push({ name: 'matching.throughput_run.gc_count', metric: 'count', unit: 'gcs', value: lastOurs.gc.count, peer: PEER_OB, peerValue: lastPeer.gc.count, note: 'last timed run of the last process of each side' });
  results.push({ name: 'matching.throughput_run.gc_max_pause', metric: 'max', unit: 'ms', value: round3(lastOurs.gc.maxMs), peer: PEER_OB, peerValue: round3(lastPeer.gc.maxMs) });
  results.push({ name: 'matching.throughput_run.heap_before', metric: 'heapUsed', unit: 'MiB', value: lastOurs.heap.before, peer: PEER_OB, peerValue: lastPeer.heap.before });
  results.push({ name: 'matching.throughput_run.heap_after', metric: 'heapUsed', unit: 'MiB', value: lastOurs.heap.after, peer: PEER_OB, peerValue: lastPeer.heap.after });
  const overhead = median(oursOut.map((o) => o.overheadNs));
  for (const [k, label] of [['p50', 'p50'], ['p99', 'p99'], ['p999', 'p99.9'], ['max', 'max']] as const) {
    const o = oursOut.map((x) => x.lat[k]);
    const q = peerOut.map((x) => x.lat[k]);
    results.push({ name: 'matching.latency', metric: label, unit: 'ns', value: median(o), peer: PEER_OB, peerValue: median(q), note: `median over ${ROUNDS} fresh processes per side, one latency run of the whole flow each; per process: ours ${o.join(' / ')}, peer ${q.join(' / ')}` });
  }
  log(`  latency ns (median over processes) ours p50 ${median(oursOut.map((o) => o.lat.p50))} p99 ${median(oursOut.map((o) => o.lat.p99))} p99.9 ${median(oursOut.map((o) => o.lat.p999))}; peer p50 ${median(peerOut.map((o) => o.lat.p50))} p99 ${median(peerOut.map((o) => o.lat.p99))} p99.9 ${median(peerOut.map((o) => o.lat.p999))}; empty sample p50 ${overhead.toFixed(0)} ns`);
  results.push({ name: 'matching.latency.timer_overhead', metric: 'p50', unit: 'ns', value: Math.round(overhead), note: 'p50 of an empty sample (two performance.now() calls): included in every latency sample, not subtracted' });
  results.push({ name: 'matching.latency_run.gc_count', metric: 'count', unit: 'gcs', value: lastOurs.latGc.count, peer: PEER_OB, peerValue: lastPeer.latGc.count });
  results.push({ name: 'matching.latency_run.gc_max_pause', metric: 'max', unit: 'ms', value: round3(lastOurs.latGc.maxMs), peer: PEER_OB, peerValue: round3(lastPeer.latGc.maxMs) });
  results.push({ name: 'matching.latency_run.heap_before', metric: 'heapUsed', unit: 'MiB', value: lastOurs.latHeap.before, peer: PEER_OB, peerValue: lastPeer.latHeap.before });
  results.push({ name: 'matching.latency_run.heap_after', metric: 'heapUsed', unit: 'MiB', value: lastOurs.latHeap.after, peer: PEER_OB, peerValue: lastPeer.latHeap.after });
}

/** Warm-up before timing, the same number of operations for both engines (on a throwaway instance). */
const WARM_OPS = 250_000;

interface MatchingChildOut {
  tput: number[];
  gc: { count: number; maxMs: number };
  heap: { before: number; after: number };
  lat: Percentiles;
  latGc: { count: number; maxMs: number };
  latHeap: { before: number; after: number };
  overheadNs: number;
}

/** One matching contender in this (fresh) process: warm-up, throughput runs, one latency run. */
async function matchingChild(who: 'ours' | 'peer'): Promise<MatchingChildOut> {
  const flow = generateFlow(N, 42, MatchingEngine as never);
  const sid = who === 'peer' ? Array.from(flow.id, (x) => String(x)) : [];
  const warm = Math.min(flow.n, WARM_OPS);
  if (who === 'ours') runOurs(newOurs(), flow, 0, warm);
  else {
    const ob = new OrderBook();
    for (let i = 0; i < warm; i++) peerOp(ob, flow, sid, i);
  }
  const gc = new GcWatch();
  const tput: number[] = [];
  let gcLast = { count: 0, maxMs: 0 };
  let heapLast = { before: 0, after: 0 };
  const runs = who === 'ours' ? REPEATS : 1;
  for (let r = 0; r < runs; r++) {
    const e = who === 'ours' ? newOurs() : undefined;
    const ob = who === 'peer' ? new OrderBook() : undefined;
    forceGc();
    const hb = heapUsedMiB();
    gc.start();
    const t = now();
    if (e) runOurs(e, flow);
    else runPeer(ob!, flow, sid);
    const dt = now() - t;
    await gc.stop();
    tput.push((flow.n / dt) * 1000);
    gcLast = { count: gc.count, maxMs: gc.maxMs };
    heapLast = { before: hb, after: heapUsedMiB() };
  }
  // per-operation latency (performance.now() around each op; overhead reported)
  const overheadNs = timerOverheadNs();
  const h = histogram();
  const e = who === 'ours' ? newOurs() : undefined;
  const ob = who === 'peer' ? new OrderBook() : undefined;
  forceGc();
  const hb = heapUsedMiB();
  gc.start();
  for (let i = 0; i < flow.n; i++) {
    const t = now();
    if (e) runOurs(e, flow, i, i + 1);
    else peerOp(ob!, flow, sid, i);
    const d = now() - t;
    h.recordValue(Math.max(1, Math.round(d * 1e6)));
  }
  await gc.stop();
  return { tput, gc: gcLast, heap: heapLast, lat: percentiles(h), latGc: { count: gc.count, maxMs: gc.maxMs }, latHeap: { before: hb, after: heapUsedMiB() }, overheadNs };
}

/** Runs one job of this file in a fresh process (`--child JOB`) and returns the JSON it printed last. */
function inChild<T>(job: string): T {
  const p = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, '--child', job], { encoding: 'utf8', env: process.env, maxBuffer: 64 << 20 });
  if (p.status !== 0) throw new Error(`child ${job} failed (exit ${p.status ?? p.signal}): ${p.stderr}`);
  return JSON.parse(p.stdout.trim().split('\n').pop()!) as T;
}

/** `rounds` rounds of every job in its own fresh process, the order rotated each round so none always runs first. */
function interleaved<T>(jobs: string[], rounds: number, onRound?: (r: number, out: Map<string, T>) => void): Map<string, T[]> {
  const all = new Map<string, T[]>(jobs.map((j) => [j, []]));
  for (let r = 0; r < rounds; r++) {
    const round = new Map<string, T>();
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[(i + r) % jobs.length]!;
      if (process.env.MICRO_DEBUG) log(`    round ${r + 1}: ${job}...`);
      const out = inChild<T>(job);
      round.set(job, out);
      all.get(job)!.push(out);
    }
    onRound?.(r, round);
  }
  return all;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!;
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
    // Zero-copy: the records are read in place, every one of their 16 words (the copy readers
    // move all 16 into dst; reading one word would be 1/16 of their work): the first word is
    // checked for order, the other 15 summed into a checksum verified after the run.
    const i32 = ring.i32;
    let words = 0;
    while (got < total) {
      const n = ring.readable();
      if (n === 0) continue;
      const m = n < batch ? n : batch;
      for (let k = 0; k < m; k++) {
        const o = ring.readSlotWord(k);
        if (i32[o] !== expect + k) bad++;
        for (let j = 1; j < WORDS; j++) words += i32[o + j]!;
      }
      ring.release(m);
      expect += m;
      got += m;
    }
    // the producer writes word k = k for k >= 1: 1 + 2 + ... + 15 = 120 per record
    if (words !== got * 120) bad++;
  }
  const dt = now() - t;
  await w.terminate();
  if (bad) throw new Error(`SpscRing bench: ${bad} out-of-order or corrupt records`);
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

type RingKind = 'ours' | 'ours-zc' | 'ours-block' | 'peer' | 'pm';
const RING_KINDS: RingKind[] = ['ours', 'ours-zc', 'ours-block', 'peer', 'pm'];
const RTT_KINDS = ['ours', 'peer', 'pm'] as const;

function ringTotal(kind: RingKind, batch: number): number {
  if (kind === 'pm') return batch === 1 ? 200_000 : 1_000_000;
  return batch === 1 ? Number(process.env.MICRO_RING_SINGLE ?? 500_000) : Number(process.env.MICRO_RING_BATCH ?? 4_000_000);
}

/** One ring contender in this (fresh) process: a warm-up run on a quarter of the records, then RING_RUNS timed runs, each with a fresh worker and ring. */
async function ringThroughputChild(kind: RingKind, batch: number): Promise<{ runs: number[] }> {
  const total = ringTotal(kind, batch);
  await ringThroughput(kind, batch, Math.max(batch, Math.floor(total / 4 / batch) * batch));
  const runs: number[] = [];
  for (let r = 0; r < RING_RUNS; r++) runs.push(await ringThroughput(kind, batch, total));
  return { runs };
}

async function ringRttChild(kind: (typeof RTT_KINDS)[number]): Promise<Percentiles> {
  const samples = Number(process.env.MICRO_RTT_SAMPLES ?? 50_000);
  const n = kind === 'pm' ? Math.min(samples, 20_000) : samples;
  await ringRtt(kind, Math.max(1000, Math.floor(n / 5))); // warm-up
  return ringRtt(kind, n);
}

async function ring(): Promise<void> {
  const method = `one contender per fresh process, ${RING_ROUNDS} rounds interleaved (order rotated per round), each process a warm-up run then ${RING_RUNS} timed runs with a fresh worker and ring`;
  for (const batch of [1, 64]) {
    const jobs = RING_KINDS.map((k) => `ring-tp:${k}:${batch}`);
    const got = interleaved<{ runs: number[] }>(jobs, RING_ROUNDS, (r, out) => {
      log(`  ring batch ${batch} round ${r + 1}: ${RING_KINDS.map((k) => `${k} ${fmtM(out.get(`ring-tp:${k}:${batch}`)!.runs)}`).join(' | ')} M records/s`);
    });
    const runs = (k: RingKind): number[] => got.get(`ring-tp:${k}:${batch}`)!.flatMap((x) => x.runs);
    const roundMedians = (k: RingKind): number[] => got.get(`ring-tp:${k}:${batch}`)!.map((x) => median(x.runs));
    const o = runs('ours');
    const z = runs('ours-zc');
    const bl = runs('ours-block');
    const p = runs('peer');
    const m = runs('pm');
    const perRound = (k: RingKind): number[] => roundMedians(k).map((x, r) => x / roundMedians('peer')[r]!);
    const spread = (xs: number[]): string => `${xs.map((x) => x.toFixed(2)).join(', ')} (range ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
    const ratioOf = (xs: number[]): number => Math.round((median(xs) / median(p)) * 100) / 100;
    log(`  ring batch ${batch}, median of all runs: ours ${(median(o) / 1e6).toFixed(1)} | ours zero-copy ${(median(z) / 1e6).toFixed(1)} | ours blocking ${(median(bl) / 1e6).toFixed(1)} | ringbuf.js ${(median(p) / 1e6).toFixed(1)} | postMessage ${(median(m) / 1e6).toFixed(2)} M records/s; ours / ringbuf.js ${ratioOf(o)}x (per round ${spread(perRound('ours'))}), zero-copy ${ratioOf(z)}x`);
    const label = batch === 1 ? 'single' : 'batch64';
    const range = (xs: number[]): string => `p10 ${Math.round(pct(xs, 0.1))} / p90 ${Math.round(pct(xs, 0.9))}`;
    results.push({ name: `ring.throughput.${label}`, metric: 'median', unit: 'records/s', value: Math.round(median(o)), peer: PEER_RB, peerValue: Math.round(median(p)), note: `64-byte records, copy API (write/read) both sides, ring of 1024 records, worker -> main; ${method}; ours ${range(o)}, peer ${range(p)}; runs: ours ${o.map(Math.round).join(',')}; peer ${p.map(Math.round).join(',')}` });
    results.push({ name: `ring.throughput.${label}.vs_postMessage`, metric: 'median', unit: 'records/s', value: Math.round(median(o)), peer: 'worker postMessage (structured clone of Int32Array)', peerValue: Math.round(median(m)), note: `postMessage ${range(m)}` });
    results.push({ name: `ring.throughput.${label}.zero_copy`, metric: 'median', unit: 'records/s', value: Math.round(median(z)), peer: PEER_RB, peerValue: Math.round(median(p)), note: `ours with claim/publish and peek/release (records built in place; the reader reads all 16 words of each record in place); peer with its copy API; ours ${range(z)}; ratio ${ratioOf(z)}x, per round ${spread(perRound('ours-zc'))}` });
    results.push({ name: `ring.throughput.${label}.blocking`, metric: 'median', unit: 'records/s', value: Math.round(median(bl)), peer: PEER_RB, peerValue: Math.round(median(p)), note: `ours with writeBlocking/readBlocking (spin 64, then Atomics.wait), which frees the core when the other side is behind; the peer has no blocking mode and spins; ours ${range(bl)}; ratio ${ratioOf(bl)}x, per round ${spread(perRound('ours-block'))}` });
    results.push({ name: `ring.throughput.${label}.ratio`, metric: 'median', unit: 'x', value: ratioOf(o), note: `copy API both sides: median(ours) / median(ringbuf.js) over all runs, fresh processes interleaved; per-round ratios ${spread(perRound('ours'))}; goal >= 1.5x: ${ratioOf(o) >= 1.5 ? (Math.min(...perRound('ours')) >= 1.5 ? 'met in every round' : 'met at the median, not in every round') : 'MISSED'}` });
    results.push({ name: `ring.throughput.${label}.zero_copy.ratio`, metric: 'median', unit: 'x', value: ratioOf(z), note: `zero-copy ours against ringbuf.js's copy API; per-round ratios ${spread(perRound('ours-zc'))}` });
  }
  const got = interleaved<Percentiles>(RTT_KINDS.map((k) => `ring-rtt:${k}`), ROUNDS);
  const rtt = (k: (typeof RTT_KINDS)[number], q: keyof Percentiles): number[] => got.get(`ring-rtt:${k}`)!.map((x) => x[q]);
  log(`  ring RTT ns (median over ${ROUNDS} processes each) ours p50 ${median(rtt('ours', 'p50'))} p99 ${median(rtt('ours', 'p99'))} p99.9 ${median(rtt('ours', 'p999'))} max ${median(rtt('ours', 'max'))}; ringbuf.js p50 ${median(rtt('peer', 'p50'))} p99 ${median(rtt('peer', 'p99'))} p99.9 ${median(rtt('peer', 'p999'))}; postMessage p50 ${median(rtt('pm', 'p50'))} p99 ${median(rtt('pm', 'p99'))}`);
  for (const [k, label] of [['p50', 'p50'], ['p99', 'p99'], ['p999', 'p99.9'], ['max', 'max']] as const) {
    const note = `median over ${ROUNDS} fresh processes per contender, interleaved; per process: ours ${rtt('ours', k).join(' / ')}, ringbuf.js ${rtt('peer', k).join(' / ')}, postMessage ${rtt('pm', k).join(' / ')}`;
    results.push({ name: 'ring.round_trip', metric: label, unit: 'ns', value: median(rtt('ours', k)), peer: PEER_RB, peerValue: median(rtt('peer', k)), note: label === 'p50' ? `one 64-byte record main -> worker -> main over two rings, both sides spinning; ${note}` : note });
    results.push({ name: 'ring.round_trip.vs_postMessage', metric: label, unit: 'ns', value: median(rtt('ours', k)), peer: 'worker postMessage', peerValue: median(rtt('pm', k)) });
  }
}

function fmtM(xs: number[]): string {
  return xs.map((x) => (x / 1e6).toFixed(1)).join('/');
}
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// ---------------------------------------------------------------------------------------

async function child(job: string): Promise<unknown> {
  const [what, a, b] = job.split(':');
  if (what === 'matching-ours') return matchingChild('ours');
  if (what === 'matching-peer') return matchingChild('peer');
  if (what === 'ring-tp') return ringThroughputChild(a as RingKind, Number(b));
  if (what === 'ring-rtt') return ringRttChild(a as (typeof RTT_KINDS)[number]);
  throw new Error(`unknown child job ${job}`);
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  const out = await child(process.argv[childAt + 1]!);
  process.stdout.write(JSON.stringify(out) + '\n');
} else {
  const only = process.env.MICRO_ONLY; // matching | l2 | pools | ring (debugging)
  if (!(globalThis as { gc?: unknown }).gc) log('note: run with --expose-gc for exact heap figures (scripts/bench.mjs does)');
  if (!only || only === 'matching') await matching();
  if (!only || only === 'l2') await l2();
  if (!only || only === 'pools') await pools();
  if (!only || only === 'ring') await ring();
  const file = writeResults('microstructure', results, { config: { ops: N, repeats: REPEATS, rounds: ROUNDS, ringRounds: RING_ROUNDS, ringRuns: RING_RUNS, method: 'peer comparisons: one contender per fresh process, processes interleaved round by round' } });
  log(`wrote ${file}`);
}
