// Child of openblas-spin.test.ts: loads the addon (and with it OpenBLAS), runs sgemm bursts, then
// reports the CPU that the threads the load started (OpenBLAS's workers) used in the 300 ms after.
import { readFileSync, readdirSync } from 'node:fs';

const tids = () => new Set(readdirSync('/proc/self/task'));
const cpuMs = (t) => {
  try {
    return Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return 0;
  }
};
const before = tids();
const { cpuSimdProvider } = await import(process.argv[2]);
const probe = await cpuSimdProvider.probe();
const loadThreads = [...tids()].filter((t) => !before.has(t));
const backend = await cpuSimdProvider.create({ threadPoolSize: 2 });
const n = 384;
const a = new Float32Array(n * n).fill(1);
const c = new Float32Array(n * n);
let after = 0;
for (let burst = 0; burst < 3; burst++) {
  for (let i = 0; i < 5; i++) await backend.sgemm({ m: n, n, k: n, a, b: a, c });
  const start = loadThreads.reduce((s, t) => s + cpuMs(t), 0);
  await new Promise((r) => setTimeout(r, 300));
  after += loadThreads.reduce((s, t) => s + cpuMs(t), 0) - start;
}
await backend.dispose();
process.stdout.write(JSON.stringify({ blas: probe.available ? backend.device.name : null, usesBlas: backend.usesBlas, loadThreads: loadThreads.length, idleCpuMs: after, env: process.env.OPENBLAS_THREAD_TIMEOUT ?? null }));
