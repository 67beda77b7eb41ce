/**
 * Re-times slow frames for one fuzz worker (worker.mjs) on an instance of the target of its own,
 * in a thread of its own. A target's probe() shares nothing with the run it re-times: not its
 * counters, random draws, virtual clock (ws targets install theirs over the thread's timer
 * functions) or module state. Which frames are slow depends on the host's load, so a probe that
 * touched the run made one seed's frames and counts differ from run to run.
 *
 * Protocol: one request at a time on `port` ({ id, frame }); the answer ({ id, ms } or
 * { id, error }) is posted back, then `flag[0]` is set to 1 and notified, for a fuzz worker that
 * waits for it blocked (Atomics.wait) so none of its own work runs meanwhile. { stop: true } ends
 * the thread.
 */
import { workerData } from 'node:worker_threads';

const { module, seed, port, flag } = workerData;
const signal = new Int32Array(flag);

// async work or timers of the spare instance that failed: timing only, never a finding of the run
process.on('unhandledRejection', () => {});
process.on('uncaughtException', () => {});

/** A Buffer in a frame arrives as a plain Uint8Array (structured clone); targets expect a Buffer. */
const asBuffer = (v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);
function revive(frame) {
  if (frame instanceof Uint8Array) return asBuffer(frame);
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return frame;
  const out = { ...frame };
  for (const [k, v] of Object.entries(out)) out[k] = asBuffer(v);
  return out;
}

let inst;
let failed;
try {
  inst = await (await import(module)).create({ seed });
} catch (err) {
  failed = `the re-timing instance failed to start: ${String(err?.stack ?? err)}`;
}

port.on('message', async ({ id, frame, stop }) => {
  // ends the thread with its exit hooks run (a target's scratch files), which terminate() skips
  if (stop) process.exit(0);
  let answer;
  try {
    if (failed !== undefined) throw new Error(failed);
    answer = { id, ms: await inst.probe(revive(frame)) };
  } catch (err) {
    answer = { id, error: String(err?.stack ?? err) };
  }
  port.postMessage(answer);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
