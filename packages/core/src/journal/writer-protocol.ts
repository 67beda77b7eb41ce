import type { MessagePort } from 'node:worker_threads';

import type { QueuedRecord } from './writer.js';

/**
 * Messages between the engine thread (writer-thread.ts) and the journal writer thread
 * (writer-worker.ts). Orders and reports cross in the slots of the shared hand-over ring
 * (record-ring.ts); the other records by structured clone (bigints included), in `recs`.
 */
export type WriterRequest =
  /**
   * One hand-over, in order: `slots` ring slots, then the overflow's slots (a transferred buffer,
   * when the ring was full; markers in either place records of `recs`), then the rest of `recs`.
   * `sync` asks for a reply on the sync port once committed (or failed). `durable`: commit
   * with synchronous = FULL whatever the policy (the client id reservation: an fsync per block of
   * ids, so a power loss cannot take a reservation back while ids issued under it reached a venue);
   * once it is committed the writer publishes the reservation it made durable
   * (STAT.durableClientIds), which is how a reservation posted ahead of need, without `sync`,
   * tells the engine thread it may issue those ids.
   */
  | { t: 'records'; slots: number; overflow?: { buffer: ArrayBuffer; slots: number }; recs: QueuedRecord[]; sync?: number; durable?: boolean }
  /**
   * Commit what is pending, close the connection, reply. `seenSetAside`: how many set-aside
   * events (WriterEvent `setAside`) the engine thread has read: the reply's error names every
   * record set aside since that it has not (a record set aside by the final hand-over, whose
   * event the closing thread never reads), so the close is not ok.
   */
  | { t: 'close'; sync: number; seenSetAside?: number }
  /** Close the connection without committing anything pending (a crash, for tests). */
  | { t: 'abort'; sync: number };

/** A reply to a request with `sync`, on the sync port (read with receiveMessageOnPort). */
export interface WriterReply {
  id: number;
  ok: boolean;
  error?: string;
}

/** Unprompted news from the writer thread, on its parent port. */
export type WriterEvent =
  /** `setAside`: the index (from 0, in this run) of the record set aside that the message reports. */
  | { t: 'error'; message: string; setAside?: number }
  | { t: 'recovered' };

/** A file's identity: the same path naming another file (or none) is another journal. */
export interface FileId {
  dev: bigint;
  ino: bigint;
}

export interface WriterWorkerData {
  path: string;
  synchronous: 'FULL' | 'NORMAL' | 'OFF';
  /** How long a failed commit waits before it is retried. */
  retryMs: number;
  control: SharedArrayBuffer;
  /** The hand-over ring's memory (record-ring.ts); undefined: none, every record in `recs`. */
  ring: SharedArrayBuffer | undefined;
  syncPort: MessagePort;
  /** Linux nice for the writer thread alone (0: as the process). */
  nice: number;
  /** The journal file as the store opened it; the writer checks its path still names it. */
  fileId?: FileId;
}

/**
 * The shared control block: an Int32 the writer bumps and notifies after each sync reply (the
 * engine thread sleeps on it with Atomics.wait), then counters as BigInt64 (a long run passes
 * 2^31 records).
 */
export const CONTROL_BYTES = 96;
export const SIGNAL_INDEX = 0;
/**
 * `threadCpuUs`: the writer thread's own CPU time so far (-1 where the OS cannot say; see
 * writer-worker.ts). `refusedSlots`: hand-over ring slots that did not read (never applied).
 * `checkpoints`: WAL checkpoints the writer ran (idle or at the WAL's cap). `setAside`: records
 * that could not be stored (writer-worker.ts): left out, each reported as a write error.
 * `fullSyncCommits`: commits made with synchronous = FULL (every one under `always`; the client
 * id reservations otherwise). `durableClientIds`: the client id reservation as the journal held
 * it right after the last durable request committed in full (0 before one): every id at or below
 * it is reserved on disk, whatever happens to the process or the host after.
 */
export const STAT = { committed: 0, commits: 1, commitUs: 2, maxCommitUs: 3, pending: 4, threadCpuUs: 5, refusedSlots: 6, checkpoints: 7, setAside: 8, fullSyncCommits: 9, durableClientIds: 10 } as const;

export function controlViews(buf: SharedArrayBuffer): { signal: Int32Array; stats: BigInt64Array } {
  return { signal: new Int32Array(buf, 0, 2), stats: new BigInt64Array(buf, 8, 11) };
}
