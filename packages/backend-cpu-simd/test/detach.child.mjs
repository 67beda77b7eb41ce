// Child of detach.test.ts: one scenario (argv[3]) in which the caller detaches (transfers) the
// ArrayBuffer of a typed-array argument while the async call that uses it is in flight or queued.
// Memory used in place by the worker would then be freed under it (SIGSEGV, or silent garbage):
// the parent sees a crash as the exit signal. Prints one JSON line: how the call settled.
const { cpuSimdProvider } = await import(process.argv[2]);
const scenario = process.argv[3];
const be = await cpuSimdProvider.create({ threadPoolSize: 2, settings: { async_threshold: 0 } });

const detach = (...arrays) => {
  for (const x of arrays) structuredClone(x.buffer, { transfer: [x.buffer] });
};
// Fresh allocations reuse the freed memory, as a busy process would.
const churn = () => {
  const junk = [];
  for (let i = 0; i < 400; i++) junk.push(new Float64Array(1 << 18).fill(i));
  return junk.length;
};
const settle = async (p) => {
  try {
    return { outcome: 'resolved', value: await p };
  } catch (e) {
    return { outcome: 'rejected', name: e?.name, message: String(e?.message) };
  }
};

const m = 1536, n = 1536, k = 1536;
const ones = (len) => new Float32Array(len).fill(1);
let out;
switch (scenario) {
  case 'sgemm-all': {
    // A detector hands its arrays to a worker thread (transfer) right after starting the kernel.
    const a = ones(m * k), b = ones(k * n), c = new Float32Array(m * n);
    const p = be.sgemm({ m, n, k, a, b, c });
    detach(a, b, c);
    churn();
    const r = await settle(p);
    out = { ...r, value: undefined };
    break;
  }
  case 'sgemm-inputs': {
    // Inputs detached (or rewritten) after the call: the call computes on what they held at the call.
    const a = ones(m * k), b = ones(k * n), c = new Float32Array(m * n);
    const p = be.sgemm({ m, n, k, a, b, c });
    a.fill(5); // a write the call must not see
    detach(a, b);
    churn();
    const r = await settle(p);
    let wrong = 0;
    for (let i = 0; i < c.length; i++) if (c[i] !== k) wrong++;
    out = { outcome: r.outcome, message: r.message, wrong };
    break;
  }
  case 'rolling-out': {
    const N = 4_000_000, W = 64;
    const x = new Float32Array(N).map((_, i) => Math.sin(i));
    const mean = new Float32Array(N - W + 1), variance = new Float32Array(N - W + 1);
    const p = be.rollingMoments({ series: x, length: N, window: W, out: { mean, variance } });
    detach(mean, x);
    churn();
    out = await settle(p);
    break;
  }
  case 'queued': {
    // A second call queued behind a running one: its inputs are captured at the call, its
    // outputs checked at its turn.
    const first = be.sgemm({ m, n, k, a: ones(m * k), b: ones(k * n), c: new Float32Array(m * n) });
    const N = 200_000, W = 10;
    const x = new Float32Array(N).fill(2);
    const mean = new Float32Array(N - W + 1), variance = new Float32Array(N - W + 1);
    const p = be.rollingMoments({ series: x, length: N, window: W, out: { mean, variance } });
    const x2 = new Float32Array(N).fill(3);
    const q = be.rollingMoments({ series: x2, length: N, window: W });
    detach(variance, x2);
    churn();
    const [r0, r1, r2] = [await settle(first), await settle(p), await settle(q)];
    out = { first: r0.outcome, detachedOut: { ...r1, value: undefined }, detachedIn: r2.outcome === 'resolved' ? r2.value.mean.every((v) => v === 3) : r2 };
    break;
  }
  case 'pattern-out': {
    const K = 200_000, D = 16, B = 4;
    const stored = new Float32Array(K * D).map((_, i) => Math.sin(i * 0.37));
    const queries = new Float32Array(B * D).map((_, i) => Math.cos(i));
    const indices = new Int32Array(B * 8), scores = new Float32Array(B * 8);
    const p = be.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 8, out: { indices, scores } });
    detach(scores, stored, queries);
    churn();
    out = await settle(p);
    if (out.outcome === 'resolved') out.value = undefined;
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
await be.dispose();
process.stdout.write(JSON.stringify(out));
