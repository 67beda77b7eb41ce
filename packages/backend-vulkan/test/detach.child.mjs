// Child of src/hostile-args.test.ts: one scenario (argv[3]) in which the caller detaches
// (transfers) the ArrayBuffer of an output array while the Vulkan call that fills it is in
// flight. A completion thread writing into that memory would write into freed memory (SIGSEGV,
// or silent corruption): the parent sees a crash as the exit signal. Prints how the call settled.
const { vulkanProvider } = await import(process.argv[2]);
const scenario = process.argv[3];
const be = await vulkanProvider.create({});
const detach = (...arrays) => {
  for (const x of arrays) structuredClone(x.buffer, { transfer: [x.buffer] });
};
const churn = () => {
  const junk = [];
  for (let i = 0; i < 400; i++) junk.push(new Float64Array(1 << 18).fill(i));
  return junk.length;
};
const settle = async (p) => {
  try {
    await p;
    return { outcome: 'resolved' };
  } catch (e) {
    return { outcome: 'rejected', name: e?.name, message: String(e?.message) };
  }
};

let p;
switch (scenario) {
  case 'rolling-out': {
    const N = 8_000_000, W = 64;
    const x = new Float32Array(N).map((_, i) => Math.sin(i));
    const mean = new Float32Array(N - W + 1), variance = new Float32Array(N - W + 1);
    p = be.rollingMoments({ series: x, length: N, window: W, out: { mean, variance } });
    detach(mean, variance, x);
    break;
  }
  case 'pattern-out': {
    const K = 100_000, D = 32, B = 8;
    const stored = new Float32Array(K * D).map((_, i) => Math.sin(i * 0.37));
    const queries = new Float32Array(B * D).map((_, i) => Math.cos(i));
    const indices = new Int32Array(B * 16), scores = new Float32Array(B * 16);
    p = be.patternScores({ stored, storedCount: K, dim: D, queries, queryCount: B, topK: 16, out: { indices, scores } });
    detach(indices, stored);
    break;
  }
  case 'sgemm-c': {
    const m = 512;
    const a = new Float32Array(m * m).fill(1), b = new Float32Array(m * m).fill(1), c = new Float32Array(m * m);
    p = be.sgemm({ m, n: m, k: m, a, b, c });
    detach(c, a);
    break;
  }
  case 'download-dst': {
    const n = 4_000_000;
    const buf = be.createBuffer(n * 4);
    await be.upload(buf, new Float32Array(n).fill(7));
    // A kernel in flight on the buffer keeps the download from taking the idle fast path (a
    // copy on the JS thread at the call): it is recorded and completes later.
    void be.rollingMoments({ series: buf, length: n, window: 16 });
    const dst = new Float32Array(n);
    p = be.download(buf, dst);
    detach(dst);
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}
churn();
const out = await settle(p);
await be.dispose();
process.stdout.write(JSON.stringify(out));
