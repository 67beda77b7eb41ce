// Child of pool-reuse.test.ts: many small jobs back to back on a 2-thread pool, each split into
// tasks (rollingMoments64 over 40,000 points takes 3), sync and async; prints "ok" and the checksum.
// A pool worker that wakes after its job finished and then joins the next one crashes the
// process (SIGSEGV), which the parent sees as the exit status.
const { cpuSimdProvider } = await import(process.argv[2]);
const calls = Number(process.argv[3]);
const backend = await cpuSimdProvider.create({ threadPoolSize: 2 });
const N = 40_000;
const W = 20;
const x = new Float64Array(N);
for (let i = 0; i < N; i++) x[i] = 30000 + (i % 17) * 0.01;
const mean = new Float64Array(N - W + 1);
let sum = 0;
for (let k = 0; k < calls; k++) {
  backend.sync.rollingMoments64({ series: x, length: N, window: W, meanOnly: true, out: { mean } });
  sum += mean[k % mean.length];
  // Every 64th job also from the libuv pool (parallel_for, which blocks for the pool).
  if (k % 64 === 0) sum += (await backend.rollingMoments64({ series: x, length: N, window: W, meanOnly: true })).mean[0];
}
await backend.dispose();
process.stdout.write(JSON.stringify({ ok: true, calls, sum }));
