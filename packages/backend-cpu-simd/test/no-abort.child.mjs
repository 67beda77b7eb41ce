// Child of no-abort.test.ts: one scenario (argv[3]) in which the addon meets a failure that a C++
// exception reports (an allocation, a thread start) or completes a call while its environment is
// torn down. Any such exception leaving an N-API callback ends the whole process with SIGABRT,
// which the parent sees as the exit signal; otherwise this prints one JSON line.
//   alloc-measure    VmSize (kB) with the caller's arrays allocated, for the parent's ulimit -v
//   alloc            (under that limit) an async call whose copies of those arrays cannot be had
//   threads          (under ulimit -s/-v) a thread pool that cannot be started
//   worker           Workers that exit or are terminated with a call in flight
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const print = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const failure = (e) => ({ outcome: 'rejected', name: e?.constructor?.name, message: String(e?.message ?? e) });

if (!isMainThread) {
  // Worker: start an async call, then leave while it is in flight. The call is still in flight
  // when the environment stops whatever the timing: its completion runs on this thread, which
  // never returns to its event loop.
  const { entry, how } = workerData;
  const { cpuSimdProvider } = await import(entry);
  const be = await cpuSimdProvider.create({ threadPoolSize: 2, settings: { async_threshold: 0 } });
  const n = 1 << 20;
  const series = new Float32Array(n).fill(1.5);
  const out = { mean: new Float32Array(n - 15), variance: new Float32Array(n - 15) };
  be.rollingMoments({ series, length: n, window: 16, out }).catch(() => {});
  // An output detached in flight: completion then builds a CWTS_ARG_DETACHED rejection.
  if (how === 'exit-detached') structuredClone(out.mean.buffer, { transfer: [out.mean.buffer] });
  if (how === 'terminate') {
    parentPort.postMessage('started');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until terminate() stops it
  }
  process.exit(0);
} else {
  const [entry, scenario] = process.argv.slice(2);
  const { cpuSimdProvider } = await import(entry);

  if (scenario === 'alloc-measure' || scenario === 'alloc') {
    const n = Number(process.argv[4]);
    const be = await cpuSimdProvider.create({ threadPoolSize: 2, settings: { async_threshold: 0 } });
    const series = new Float32Array(n);
    const out = { mean: new Float32Array(n), variance: new Float32Array(n) };
    if (scenario === 'alloc-measure') {
      const { readFileSync } = await import('node:fs');
      print({ vmKb: Number(/VmSize:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) });
      process.exit(0);
    }
    let result;
    try {
      await be.rollingMoments({ series, length: n, window: 1, out });
      result = { outcome: 'resolved' };
    } catch (e) {
      result = failure(e);
    }
    // The backend still works once memory is to be had.
    const small = await be.rollingMoments({ series: new Float32Array(64).fill(2), length: 64, window: 8 });
    print({ ...result, after: small.mean[0] });
  } else if (scenario === 'threads') {
    let result;
    try {
      const be = await cpuSimdProvider.create({ threadPoolSize: 64 });
      result = { outcome: 'created', threads: be.threads };
      await be.dispose();
    } catch (e) {
      result = failure(e);
    }
    // The threads that did start were stopped and their stacks released: a small pool fits.
    const be = await cpuSimdProvider.create({ threadPoolSize: 2, settings: { async_threshold: 0 } });
    const small = await be.rollingMoments({ series: new Float32Array(64).fill(3), length: 64, window: 8 });
    await be.dispose();
    print({ ...result, after: small.mean[0] });
  } else if (scenario === 'worker') {
    const ran = [];
    for (const how of ['exit', 'exit-detached', 'terminate', 'exit', 'terminate']) {
      const w = new Worker(new URL(import.meta.url), { workerData: { entry, how } });
      const exited = new Promise((resolve, reject) => {
        w.on('exit', resolve);
        w.on('error', reject);
      });
      if (how === 'terminate') {
        await new Promise((resolve) => w.once('message', resolve));
        await w.terminate();
      }
      await exited;
      ran.push(how);
    }
    print({ outcome: 'survived', ran });
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
}
