/**
 * A .gz file inflated as a stream, read synchronously: the replay is a synchronous cursor
 * (`ReplaySource.next()`, `SimVenue.runToEnd()`), and node:zlib streams only asynchronously, so
 * a worker thread runs the ordinary stream (`createReadStream(file)` piped through
 * `createGunzip()`) and hands the inflated bytes over in 1 MiB chunks; the reader waits for the
 * next chunk with `Atomics.wait` (as a `readSync` waits for the disk). Memory stays a few MiB
 * whatever the file inflates to (a tardis.dev day file is several GB, past V8's longest
 * string), and zlib keeps checking the stream (header, CRC, length, a cut member).
 */
import { closeSync, openSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** Inflated bytes per chunk handed over. */
const CHUNK_BYTES = 1 << 20;
/** Chunks the worker may inflate ahead of the reader (bounds memory per open file). */
const CHUNKS_AHEAD = 4;
/**
 * How long the reader waits for its worker thread to start before giving up with an error.
 * Starting takes milliseconds; this only keeps a worker that cannot start (a broken runtime)
 * from blocking the replay for ever.
 */
const WORKER_START_TIMEOUT_MS = 60_000;
/** The reader's longest single wait, after which it looks at the worker's state again. */
const WAIT_SLICE_MS = 1_000;
/** How often the worker's event loop counts a beat while it runs (timers run between its reads). */
const BEAT_MS = 100;
/**
 * How long the reader waits on a started worker that shows no beat before giving up with an
 * error: a thread that died without a word (out of memory, terminated) would otherwise keep the
 * reader, blocked, waiting for ever. Its loop stalls for milliseconds at a time, seconds at worst
 * (a GC pause on a loaded machine): this is far past that.
 */
const WORKER_SILENT_MS = 15_000;
/** Slots of the shared counters. */
const PRODUCED = 0;
const CONSUMED = 1;
const CLOSED = 2;
const STARTED = 3;
const FAILED = 4;
const BEAT = 5;
const SLOTS = 6;

/** How the stream ended: whole, or with zlib's (or the file system's) error. */
export type GunzipEnd = { ok: true } | { ok: false; code: string | undefined; message: string };

/**
 * The worker's program. Evaluated, so it does not depend on where this package's files lie, and
 * written to run as a CommonJS script and as a module alike (only dynamic imports): the flags
 * that choose between them are not inherited (`execArgv: []`), but nothing may make it fail to
 * start, since the reader is blocked waiting for it. Any failure of its own sets FAILED.
 */
const WORKER_SOURCE = `
(async () => {
  const { workerData } = await import('node:worker_threads');
  const { file, counters, port, chunkBytes, chunksAhead, beatMs } = workerData;
  const [PRODUCED, CONSUMED, CLOSED, STARTED, FAILED, BEAT] = [${PRODUCED}, ${CONSUMED}, ${CLOSED}, ${STARTED}, ${FAILED}, ${BEAT}];
  Atomics.store(counters, STARTED, 1);
  const beat = setInterval(() => Atomics.add(counters, BEAT, 1), beatMs);
  try {
    const [{ createReadStream }, { createGunzip }, { pipeline }] = await Promise.all([import('node:fs'), import('node:zlib'), import('node:stream/promises')]);
    const post = (message, transfer) => {
      for (;;) {
        if (Atomics.load(counters, CLOSED) !== 0) throw new Error('closed');
        const consumed = Atomics.load(counters, CONSUMED);
        if (Atomics.load(counters, PRODUCED) - consumed < chunksAhead) break;
        Atomics.wait(counters, CONSUMED, consumed);
      }
      port.postMessage(message, transfer);
      Atomics.add(counters, PRODUCED, 1);
      Atomics.notify(counters, PRODUCED);
    };
    let parts = [];
    let size = 0;
    const flush = () => {
      if (size === 0) return;
      const chunk = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        chunk.set(p, at);
        at += p.length;
      }
      parts = [];
      size = 0;
      post(chunk, [chunk.buffer]);
    };
    let end;
    try {
      await pipeline(createReadStream(file), createGunzip(), async function (inflated) {
        for await (const piece of inflated) {
          parts.push(piece);
          size += piece.length;
          if (size >= chunkBytes) flush();
        }
      });
      end = { ok: true };
    } catch (err) {
      if (Atomics.load(counters, CLOSED) !== 0) return;
      end = { ok: false, code: err?.code, message: String(err?.message ?? err) };
    }
    flush();
    post(end);
  } catch {
    if (Atomics.load(counters, CLOSED) !== 0) return;
    Atomics.store(counters, FAILED, 1);
    Atomics.notify(counters, PRODUCED);
  } finally {
    clearInterval(beat);
  }
})();
`;

/** Test seams: another worker program, a shorter silence bound. */
export interface GunzipReaderOptions {
  workerSource?: string;
  silentAfterMs?: number;
}

/** Ends the worker of a reader that was dropped without being finished or closed. */
const abandoned = new FinalizationRegistry<{ worker: Worker; counters: Int32Array }>(stop);

function stop(w: { worker: Worker; counters: Int32Array }): void {
  Atomics.store(w.counters, CLOSED, 1);
  Atomics.notify(w.counters, CONSUMED);
  void w.worker.terminate();
}

/**
 * The inflated bytes of a gzip file (one member or several), in order; returns how the stream
 * ended. A file that cannot be opened throws here, as a plain file's does.
 */
export function* gunzipChunks(file: string, options: GunzipReaderOptions = {}): Generator<Uint8Array, GunzipEnd> {
  closeSync(openSync(file, 'r'));
  const silentAfterMs = options.silentAfterMs ?? WORKER_SILENT_MS;
  const { port1, port2 } = new MessageChannel();
  const counters = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
  const worker = new Worker(options.workerSource ?? WORKER_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { file, counters, port: port2, chunkBytes: CHUNK_BYTES, chunksAhead: CHUNKS_AHEAD, beatMs: BEAT_MS },
    transferList: [port2],
  });
  // a reader nobody finishes must not keep the process alive
  worker.unref();
  const handle = { worker, counters };
  const token = {};
  abandoned.register(token, handle, token);
  const startBy = Date.now() + WORKER_START_TIMEOUT_MS;
  let lastBeat = 0;
  let lastBeatAt = performance.now();
  try {
    for (;;) {
      const produced = Atomics.load(counters, PRODUCED);
      const got = receiveMessageOnPort(port1);
      if (got !== undefined) {
        Atomics.add(counters, CONSUMED, 1);
        Atomics.notify(counters, CONSUMED);
        const message = got.message as Uint8Array | GunzipEnd;
        if (message instanceof Uint8Array) yield message;
        else return message;
        continue;
      }
      // The worker's 'error' and 'exit' events need this thread's event loop, which is blocked
      // here: its state is read from the shared counters instead.
      if (Atomics.load(counters, FAILED) !== 0) throw new Error(`cannot read ${file}: the thread inflating it failed`);
      if (Atomics.load(counters, STARTED) === 0) {
        if (Date.now() > startBy) throw new Error(`cannot read ${file}: the thread to inflate it did not start in ${WORKER_START_TIMEOUT_MS / 1000} s`);
      } else {
        const beat = Atomics.load(counters, BEAT);
        const now = performance.now();
        if (beat !== lastBeat) {
          lastBeat = beat;
          lastBeatAt = now;
        } else if (now - lastBeatAt > silentAfterMs) {
          throw new Error(`cannot read ${file}: the thread inflating it stopped (no sign of life for ${Math.round((now - lastBeatAt) / 1000)} s: it may have run out of memory)`);
        }
      }
      Atomics.wait(counters, PRODUCED, produced, Math.min(WAIT_SLICE_MS, silentAfterMs));
    }
  } finally {
    abandoned.unregister(token);
    port1.close();
    stop(handle);
  }
}
