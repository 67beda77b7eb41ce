import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

import { RecordRingWriter, RING_SLOTS } from './record-ring.js';
import type { QueuedRecord } from './writer.js';
import { CONTROL_BYTES, controlViews, SIGNAL_INDEX, STAT, type FileId, type WriterEvent, type WriterReply, type WriterRequest, type WriterWorkerData } from './writer-protocol.js';

export interface WriterThreadOptions {
  path: string;
  synchronous: WriterWorkerData['synchronous'];
  retryMs: number;
  /** The longest a synchronous request (flush, `always`, close) blocks the calling thread. */
  waitMs: number;
  onEvent: (e: WriterEvent) => void;
  /** Node flags for the writer thread only (profiling: `['--cpu-prof', '--cpu-prof-dir=DIR']`). */
  execArgv?: string[];
  /** Linux nice of the writer thread alone (0 or absent: as the process). */
  nice?: number;
  /** Slots of the hand-over ring (default RING_SLOTS; tests make it small to fill it; 0: no ring). */
  ringSlots?: number;
  /** The journal file as opened: the writer reports an error once its path names another file, or none. */
  fileId?: FileId;
}

/** Commit statistics kept by the writer thread in shared memory (bench, tests). */
export interface WriterStats {
  committed: number;
  commits: number;
  /** Wall time the writer thread spent in commits, total and longest. */
  commitUs: number;
  maxCommitUs: number;
  /** The writer thread's own CPU time so far (Linux; undefined where the OS cannot say). */
  threadCpuUs: number | undefined;
  /** Hand-over ring slots that did not read: refused, not applied (each one also an error event). */
  refusedSlots: number;
  /** WAL checkpoints run by the writer (when idle, or when the WAL reached its cap). */
  checkpoints: number;
  /** Records that could not be stored: left out, never retried with the others (each also an error event). */
  setAside: number;
  /** Commits made with synchronous = FULL (fsynced): every one under `always`, else the client id reservations. */
  fullSyncCommits: number;
  /** The client id reservation the last durable request made durable (0 before one). */
  durableClientIds: number;
}

/**
 * The engine thread's handle on the journal writer thread. `post` hands records over and
 * returns at once (the cost on the calling thread is writing orders and reports into the
 * hand-over ring's slots, record-ring.ts, and one small postMessage); `request` blocks
 * the calling thread with Atomics.wait until the writer answers on a port read synchronously
 * (receiveMessageOnPort), which is how `fsync = "always"` commits a record before the order
 * leaves, with no event-loop turn in between.
 */
export class WriterThread {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private readonly signal: Int32Array;
  private readonly stats: BigInt64Array;
  private readonly ring: RecordRingWriter;
  private nextId = 1;
  private closing = false;
  /** Why the thread is gone, once it is. */
  private dead: string | undefined;

  constructor(private readonly opts: WriterThreadOptions) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    ({ signal: this.signal, stats: this.stats } = controlViews(control));
    this.stats[STAT.threadCpuUs] = -1n;
    this.ring = new RecordRingWriter(opts.ringSlots ?? RING_SLOTS);
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    const data: WriterWorkerData = { path: opts.path, synchronous: opts.synchronous, retryMs: opts.retryMs, control, ring: this.ring.buffer, syncPort: port2, nice: opts.nice ?? 0, fileId: opts.fileId };
    this.worker = new Worker(writerWorkerFile(), {
      workerData: data,
      transferList: [port2],
      // No inherited Node flags: `--input-type` (a process started with `node -e`) breaks a
      // worker started from a file, V8 flags such as `--expose-gc` are refused in workers, and
      // the writer is plain compiled JavaScript that needs no loader.
      execArgv: opts.execArgv ?? [],
    });
    // The writer never keeps the process alive: close() commits what is left; a process that
    // exits without close() loses what a crash would.
    this.worker.unref();
    this.worker.on('message', (e: WriterEvent) => opts.onEvent(e));
    this.worker.on('error', (err) => {
      this.dead = `the journal writer thread failed: ${err.message}`;
      opts.onEvent({ t: 'error', message: this.dead });
    });
    this.worker.on('exit', (code) => {
      if (this.closing) return;
      this.dead ??= `the journal writer thread exited (code ${code})`;
      opts.onEvent({ t: 'error', message: this.dead });
    });
  }

  /** Why the writer cannot take records any more, if so. */
  get failure(): string | undefined {
    return this.dead;
  }

  /**
   * Hands records to the writer without waiting; returns how many crossed by structured clone
   * and how many slots went into an overflow buffer (the ring was full). `durable`: committed
   * with synchronous = FULL whatever the policy, and the reservation it holds then published
   * (durableClientIds): a client id reservation taken ahead of need.
   */
  post(recs: QueuedRecord[], durable = false): { cloned: number; overflow: number } {
    if (this.dead || recs.length === 0) return { cloned: 0, overflow: 0 };
    const h = this.ring.handOver(recs);
    this.send({ t: 'records', slots: h.slots, overflow: h.overflow, recs: h.recs, ...(durable ? { durable } : {}) });
    return { cloned: h.recs.length, overflow: h.overflow?.slots ?? 0 };
  }

  /** Posts a request, moving (not copying) an overflow buffer. */
  private send(m: WriterRequest): void {
    if (m.t === 'records' && m.overflow) this.worker.postMessage(m, [m.overflow.buffer]);
    else this.worker.postMessage(m);
  }

  /**
   * Hands records over and blocks until they are committed (or the commit failed). `durable`:
   * committed with synchronous = FULL whatever the policy (the client id reservation).
   */
  commit(recs: QueuedRecord[], waitMs = this.opts.waitMs, durable = false): WriterReply {
    // A dead writer reads nothing more: the ring is left alone (request answers with the failure).
    const h = this.dead ? { slots: 0, overflow: undefined, recs } : this.ring.handOver(recs);
    return this.request((sync) => ({ t: 'records', slots: h.slots, overflow: h.overflow, recs: h.recs, sync, durable }), waitMs);
  }

  /**
   * Commits what is pending and closes the writer's connection. `seenSetAside`: the set-aside
   * events read so far; the answer fails naming every record set aside that was not.
   */
  close(seenSetAside = 0): WriterReply {
    this.closing = true;
    const r = this.request((sync) => ({ t: 'close', sync, seenSetAside }));
    void this.worker.terminate();
    return r;
  }

  /** Closes the writer's connection dropping what it has not committed (a crash, for tests). */
  abort(): void {
    this.closing = true;
    this.request((sync) => ({ t: 'abort', sync }));
    void this.worker.terminate();
  }

  readStats(): WriterStats {
    const n = (i: number) => Number(Atomics.load(this.stats, i));
    const cpu = n(STAT.threadCpuUs);
    return {
      committed: n(STAT.committed),
      commits: n(STAT.commits),
      commitUs: n(STAT.commitUs),
      maxCommitUs: n(STAT.maxCommitUs),
      threadCpuUs: cpu < 0 ? undefined : cpu,
      refusedSlots: n(STAT.refusedSlots),
      checkpoints: n(STAT.checkpoints),
      setAside: n(STAT.setAside),
      fullSyncCommits: n(STAT.fullSyncCommits),
      durableClientIds: n(STAT.durableClientIds),
    };
  }

  /** The client id reservation the writer last made durable (one shared-memory read; the order path asks once per block of ids). */
  get durableClientIds(): number {
    return Number(Atomics.load(this.stats, STAT.durableClientIds));
  }

  private request(make: (sync: number) => WriterRequest, waitMs = this.opts.waitMs): WriterReply {
    const id = this.nextId++;
    if (this.dead) return { id, ok: false, error: this.dead };
    this.send(make(id));
    const deadline = performance.now() + waitMs;
    for (;;) {
      const seen = Atomics.load(this.signal, SIGNAL_INDEX);
      for (let m = receiveMessageOnPort(this.replies); m !== undefined; m = receiveMessageOnPort(this.replies)) {
        const r = m.message as WriterReply;
        // Replies to earlier requests that timed out are stale: only this one ends the wait.
        if (r.id === id) return r;
      }
      const left = deadline - performance.now();
      if (left <= 0) return { id, ok: false, error: `the journal writer thread did not answer within ${waitMs} ms` };
      Atomics.wait(this.signal, SIGNAL_INDEX, seen, left);
    }
  }
}

/**
 * The worker runs compiled JavaScript. From the built package it sits beside this file; when
 * this file runs from TypeScript sources (vitest), the built one in dist/ stands in.
 */
function writerWorkerFile(): URL {
  const beside = new URL('./writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/journal/writer-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`the journal writer thread's module is missing (${fileURLToPath(beside)}); build @cwts/core first (pnpm build)`);
}
