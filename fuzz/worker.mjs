/**
 * One fuzz target in a worker thread. The main thread's watchdog reads the shared control
 * block: frames done, busy flag, and the bytes of the frame being parsed (so a frame that never
 * returns can be saved after this worker is terminated). Findings are posted as they happen so
 * a later hang loses none.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FuzzFailure } from './failure.mjs';

const { target, seed, frames, startAt, slowMs, sab } = workerData;
const ctl = new Int32Array(sab, 0, 4);
const frameBytes = new Uint8Array(sab, 16);
const enc = new TextEncoder();
const CONTEXT = 3;

const shown = (v) => (typeof v === 'string' ? v : Buffer.from(v).toString('latin1'));

process.on('unhandledRejection', (err) => {
  // async work the adapter started and nobody awaited: a crash, reported with the current frame
  parentPort.postMessage({ type: 'async-crash', message: String(err?.stack ?? err) });
});

const mod = await import(`./targets/${target}.mjs`);
const inst = await mod.create({ seed });
for (let i = 0; i < startAt; i++) inst.next();
Atomics.store(ctl, 0, startAt);

const recent = [];
const slow = { confirmed: [], confirmedCount: 0, transient: 0, worstMs: 0 };
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
    const again = await inst.probe(f);
    if (again > slowMs) {
      slow.confirmedCount++;
      slow.worstMs = Math.max(slow.worstMs, again);
      if (slow.confirmed.length < 10) slow.confirmed.push({ frameIndex: i, ms: Number(again.toFixed(3)), frame: shown(saved).slice(0, 2000) });
    } else slow.transient++;
  }
}
parentPort.postMessage({ type: 'done', frames: done - startAt, seconds: (performance.now() - started) / 1000, slow, counts: inst.counts() });
