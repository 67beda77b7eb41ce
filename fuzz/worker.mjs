/**
 * One fuzz target in a worker thread. The main thread's watchdog reads the shared control
 * block: frames done, busy flag, and the bytes of the frame being parsed (so a frame that never
 * returns can be saved after this worker is terminated). Findings are posted as they happen so
 * a later hang loses none.
 */
import { MessageChannel, Worker, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { FuzzFailure } from './failure.mjs';

const { module, seed, frames, startAt, slowMs, sab } = workerData;
const ctl = new Int32Array(sab, 0, 4);
const frameBytes = new Uint8Array(sab, 16);
const enc = new TextEncoder();
const CONTEXT = 3;

const shown = (v) => (typeof v === 'string' ? v : Buffer.from(v).toString('latin1'));

process.on('unhandledRejection', (err) => {
  // async work the adapter started and nobody awaited: a crash, reported with the current frame
  parentPort.postMessage({ type: 'async-crash', message: String(err?.stack ?? err) });
});

/** The real ones: a ws target installs virtual timers over the thread's (fuzz/virtual-time.mjs). */
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
/** How long a re-timing (the spare instance's start included) is waited for before it counts as slow. */
const PROBE_WAIT_MS = 30_000;
let prober;

/**
 * A slow frame re-timed on the target's spare instance in a thread of its own (probe-worker.mjs),
 * this thread blocked meanwhile. Run here, a probe shared the run's state (counters, random
 * draws, virtual clock) and let the run's pending async work go on between its awaits, and which
 * frames are slow is up to the host's load: one seed's frames and counts differed from run to run.
 * Returns the time of the frame alone, ms; throws when the spare instance failed.
 */
function probeAlone(f) {
  if (!prober) {
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('./probe-worker.mjs', import.meta.url), { workerData: { module, seed, port: port2, flag }, transferList: [port2] });
    worker.unref();
    port1.unref();
    // gone (its start failed, or it was stopped): the next slow frame starts another
    worker.on('error', () => {});
    worker.on('exit', () => {
      if (prober?.worker === worker) prober = undefined;
    });
    prober = { worker, port: port1, flag: new Int32Array(flag), next: 0 };
  }
  const p = prober;
  const id = ++p.next;
  Atomics.store(p.flag, 0, 0);
  try {
    p.port.postMessage({ id, frame: f });
  } catch {
    // a frame that cannot cross to another thread is not re-timed: counted transient
    return 0;
  }
  const t0 = performance.now();
  for (;;) {
    for (let m; (m = receiveMessageOnPort(p.port)?.message) !== undefined; ) {
      if (m.id !== id) continue;
      if (m.error !== undefined) throw new Error(`re-timing a slow frame failed: ${m.error}`);
      return m.ms;
    }
    const left = PROBE_WAIT_MS - (performance.now() - t0);
    if (left <= 0) {
      // stuck (or gone): a fresh spare for the next slow frame; this one was slow
      void p.worker.terminate();
      prober = undefined;
      return PROBE_WAIT_MS;
    }
    Atomics.wait(p.flag, 0, 0, left);
    Atomics.store(p.flag, 0, 0);
  }
}

/** Ends the spare instance's thread, its exit hooks run (terminated with this one, they were not). */
async function stopProber() {
  const p = prober;
  if (!p) return;
  prober = undefined;
  // held until it has exited (or 5 s): unreferenced, this thread ended first, the wait unfinished
  p.worker.ref();
  let timer;
  const exited = new Promise((resolve) => {
    p.worker.once('exit', resolve);
    timer = realSetTimeout(resolve, 5000);
  });
  p.port.postMessage({ stop: true });
  await exited;
  realClearTimeout(timer);
  void p.worker.terminate();
}

const mod = await import(module);
const inst = await mod.create({ seed });
for (let i = 0; i < startAt; i++) inst.next();
Atomics.store(ctl, 0, startAt);
parentPort.postMessage({ type: 'ready' });

const recent = [];
const started = performance.now();
let done = startAt;
for (let i = startAt; i < frames; i++) {
  const f = inst.next();
  const saved = inst.saved(f);
  const bytes = typeof saved === 'string' ? enc.encode(saved) : saved;
  const n = Math.min(bytes.length, frameBytes.length);
  frameBytes.set(n === bytes.length ? bytes : bytes.subarray(0, n));
  Atomics.store(ctl, 2, n);
  Atomics.store(ctl, 3, bytes.length);
  Atomics.store(ctl, 1, 1);
  const t0 = performance.now();
  try {
    const p = inst.run(f);
    if (p) await p;
  } catch (err) {
    const failure = err instanceof FuzzFailure;
    parentPort.postMessage({
      type: 'finding',
      finding: {
        kind: failure ? err.kind : 'crash',
        frameIndex: i,
        message: failure ? err.message : String(err?.stack ?? err),
        frame: shown(saved),
        preceding: recent.map(shown),
      },
    });
    await inst.reset();
  }
  const dt = performance.now() - t0;
  Atomics.store(ctl, 1, 0);
  done = i + 1;
  Atomics.store(ctl, 0, done);
  recent.push(saved);
  if (recent.length > CONTEXT) recent.shift();
  if (dt > slowMs) {
    // on a shared machine a GC pause or a descheduled thread looks like a slow frame: re-time
    // the frame alone on a fresh instance and report it only when it is slow every time
    let again;
    try {
      again = probeAlone(f);
    } catch (err) {
      parentPort.postMessage({ type: 'finding', finding: { kind: 'crash', frameIndex: i, message: String(err?.message ?? err), frame: shown(saved), preceding: [] } });
    }
    if (again !== undefined) parentPort.postMessage(again > slowMs ? { type: 'slow', frameIndex: i, ms: Number(again.toFixed(3)), frame: shown(saved).slice(0, 2000) } : { type: 'slow', transient: true });
  }
  // counts survive a later hang: the main thread keeps the latest of each worker
  if ((i & 8191) === 8191) parentPort.postMessage({ type: 'counts', counts: inst.counts() });
}
const seconds = (performance.now() - started) / 1000;
const counts = inst.counts();
await stopProber();
parentPort.postMessage({ type: 'done', frames: done - startAt, seconds, counts });
