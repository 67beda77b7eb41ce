/**
 * The journal writer thread: owns the connection that writes records, so SQLite's statement
 * work, JSON encoding and the commit itself never run on the engine thread. Every message is
 * committed as it arrives, in one transaction (the engine thread already batches: see
 * writer-thread.ts); a commit that fails for the database's sake (a full disk, a lock) keeps its
 * records, in order, and is retried. A record that cannot be stored at all is set aside, never
 * retried with the others (writer.ts, isRecordFault).
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { Database as Db, Statement } from 'better-sqlite3';

import { describeValue } from '../domain/describe-value.js';
import { describeFsError } from './errors.js';
import { fileChange } from './file-id.js';
import { RecordRingReader } from './record-ring.js';
import { threadCpuClock } from './thread-cpu.js';
import { niceThisThread } from './thread-priority.js';
import { isRecordFault, JournalWriter, type QueuedRecord } from './writer.js';
import { controlViews, SIGNAL_INDEX, STAT, type WriterEvent, type WriterReply, type WriterRequest, type WriterWorkerData } from './writer-protocol.js';

const data = workerData as WriterWorkerData;
const { signal, stats } = controlViews(data.control);
const port = parentPort!;
const ring = new RecordRingReader(data.ring);
/** This thread's CPU time, published after every message (bench: the writer's CPU per record). */
const cpuClock = threadCpuClock();

/**
 * WAL checkpoints wait for a quiet moment (docs/journal.md, "checkpoints"): SQLite's automatic
 * checkpoint (every 1,000 WAL pages by default) ran inside the commit that crossed the line,
 * in the middle of a burst: reading the WAL back, writing the database file, two fsyncs, and the
 * disk's interrupts landing on whichever core, the engine's included. Here the writer runs one
 * (PASSIVE: it never blocks a reader) once no commit has come for IDLE_CHECKPOINT_MS, and SQLite's
 * own only when the WAL passes WAL_CAP_PAGES in a burst that long.
 */
const IDLE_CHECKPOINT_MS = 100;
/** 16,384 pages of 4 KiB: 64 MiB of WAL, ~400,000 records (tens of seconds at the bench's burst). */
const WAL_CAP_PAGES = 16_384;

/**
 * How often the writer looks at its file when nothing commits (it also looks after every commit):
 * a journal removed while the engine is idle halts it before its next order, not after.
 */
const FILE_CHECK_MS = 1000;

/** Opening failed: every request is answered with this (the store's open reports it). */
let fatal: string | undefined;
let db: Db | undefined;
let writer: JournalWriter | undefined;
let readReservation: Statement<[], string | undefined> | undefined;
try {
  // Loaded here, not imported at the top: a native module that fails to load is then an answer
  // to the store's first request rather than a thread that dies in silence.
  const { default: Database } = await import('better-sqlite3');
  db = new Database(data.path, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma(`synchronous = ${data.synchronous}`);
  db.pragma(`wal_autocheckpoint = ${WAL_CAP_PAGES}`);
  writer = new JournalWriter(db);
  readReservation = db.prepare<[], string | undefined>("SELECT value FROM meta WHERE key = 'client_ids_reserved'").pluck();
  // The path named another file by the time this thread opened it: two connections, two journals.
  const changed = fileChange(data.path, data.fileId);
  if (changed !== undefined) throw new Error(`the journal file was ${changed} while it was being opened`);
  // Only now, with everything loaded: a thread inherits its creator's nice, and loading modules
  // may start threads the whole process shares (libuv's pool, a module-hooks thread). From here
  // on this thread makes only synchronous calls, which start none.
  niceThisThread(data.nice);
} catch (err) {
  fatal = `the writer thread cannot open it: ${describeFsError(err)}`;
  db?.close();
}

let pending: QueuedRecord[] = [];
/** SQLite's synchronous on this connection now: the policy's, or FULL for a durable request. */
let synchronous: WriterWorkerData['synchronous'] = data.synchronous;
let lastError: string | undefined;
/**
 * The reports of the records set aside in this run (setAside), by index, up to SET_ASIDE_KEPT
 * (a count beyond): the close answer names those the engine thread had not read (its event is
 * read on the engine thread's event loop, which a synchronous close never turns).
 */
const setAsideReports: string[] = [];
let setAsideCount = 0;
const SET_ASIDE_KEPT = 100;
let retry: NodeJS.Timeout | undefined;
let open = true;
let idleCheckpoint: NodeJS.Timeout | undefined;
/**
 * Set once the journal's path no longer names the file this thread writes (fileLost): every
 * answer from then on is this failure. Records are still committed, into the file as it was
 * (what the store's close saves, store.ts rescue), never to the path.
 */
let lost: string | undefined;
const fileCheck = fatal === undefined && data.fileId !== undefined ? setInterval(() => open && fileLost(), FILE_CHECK_MS) : undefined;
fileCheck?.unref();

/**
 * SQLite goes on committing into a file unlinked under it, without an error: the run "commits"
 * into an inode that the next start never opens (it creates an empty journal at the path:
 * positions, open orders, the HALT and the client id reservation gone). One stat per commit
 * (not per record) and one a second when idle; the first change is reported as a write error,
 * which halts trading, and every later answer fails with it.
 */
function fileLost(): string | undefined {
  if (lost !== undefined) return lost;
  const why = fileChange(data.path, data.fileId);
  if (why === undefined) return undefined;
  lost = `journal file removed or replaced under the running engine (it was ${why}): what this run commits goes to a file the next start does not read until shutdown saves it (written back at the path where nothing is there, else beside it, for a restore); stop the engine (docs/operations.md, JournalWriteFailed)`;
  event({ t: 'error', message: lost });
  return lost;
}

/** (Re)starts the quiet-time clock after a commit: the checkpoint runs once commits stop. */
function checkpointWhenIdle(): void {
  if (idleCheckpoint) idleCheckpoint.refresh();
  else idleCheckpoint = setTimeout(checkpointNow, IDLE_CHECKPOINT_MS);
}

function checkpointNow(): void {
  idleCheckpoint = undefined;
  if (!open) return;
  try {
    db!.pragma('wal_checkpoint(PASSIVE)');
    Atomics.add(stats, STAT.checkpoints, 1n);
  } catch (err) {
    // Nothing is lost (the commits are in the WAL); the next quiet moment or the cap tries again.
    event({ t: 'error', message: `checkpoint failed: ${describeFsError(err)}` });
  }
}

function event(e: WriterEvent): void {
  port.postMessage(e);
}

function reply(r: WriterReply): void {
  data.syncPort.postMessage(r);
  Atomics.add(signal, SIGNAL_INDEX, 1);
  Atomics.notify(signal, SIGNAL_INDEX);
}

/**
 * Commits everything pending. Returns the error text when the commit failed for the database's
 * sake (what it could not commit stays pending, in order, and is retried), or when records were
 * set aside (the others are committed); undefined when all of it is committed.
 */
function commitPending(): string | undefined {
  if (pending.length === 0) return undefined;
  const batch = pending;
  // Wall time: process.cpuUsage() counts every thread of the process.
  const started = performance.now();
  const aside: string[] = [];
  let stuck: Stuck | undefined;
  try {
    commitCounted(batch);
  } catch (err) {
    // A record the writer cannot store fails the whole transaction, and would at every retry,
    // with every record queued after it (fills included) and the engine halted meanwhile: find
    // it by halves, set it aside, commit the others in their order.
    stuck = isRecordFault(err) ? isolate(batch, 0, batch.length, err, aside) : { at: 0, err };
  }
  const us = BigInt(Math.round((performance.now() - started) * 1000));
  Atomics.add(stats, STAT.commitUs, us);
  if (us > Atomics.load(stats, STAT.maxCommitUs)) Atomics.store(stats, STAT.maxCommitUs, us);
  if (stuck !== undefined) {
    // What comes before the failure is committed or set aside: only the rest waits for the retry.
    pending = stuck.at === 0 ? batch : batch.slice(stuck.at);
    Atomics.store(stats, STAT.pending, BigInt(pending.length));
    const message = `commit of ${pending.length} record(s) failed: ${describeFsError(stuck.err)}`;
    if (message !== lastError) event({ t: 'error', message });
    lastError = message;
    if (!retry) retry = setTimeout(retryNow, data.retryMs);
    return [...aside, message].join('; ');
  }
  pending = [];
  Atomics.store(stats, STAT.pending, 0n);
  checkpointWhenIdle();
  const gone = fileLost();
  if (gone !== undefined) aside.push(gone);
  else if (lastError !== undefined) {
    lastError = undefined;
    event({ t: 'recovered' });
  }
  return aside.length > 0 ? aside.join('; ') : undefined;
}

/** Where a commit stopped on a failure of the database (not of a record): records from `at` on are not committed. */
interface Stuck {
  at: number;
  err: unknown;
}

/** Commits records in one transaction and counts it; throws as JournalWriter.commit does. */
function commitCounted(recs: readonly QueuedRecord[]): void {
  writer!.commit(recs);
  Atomics.add(stats, STAT.committed, BigInt(recs.length));
  Atomics.add(stats, STAT.commits, 1n);
  if (synchronous === 'FULL') Atomics.add(stats, STAT.fullSyncCommits, 1n);
}

/**
 * Commits recs[from, to), whose commit as one failed with `err`, a record fault: by halves, each
 * committed as one where it can be, down to the single records that cannot, which are set aside.
 * Order is kept: a half is committed only after everything before it is committed or set aside.
 * Returns where a failure of the database stopped it (nothing from there on is committed).
 */
function isolate(recs: readonly QueuedRecord[], from: number, to: number, err: unknown, aside: string[]): Stuck | undefined {
  if (to - from === 1) {
    aside.push(setAside(recs[from]!, err));
    return undefined;
  }
  const mid = (from + to) >>> 1;
  for (const [a, b] of [[from, mid], [mid, to]] as const) {
    try {
      commitCounted(recs.slice(a, b));
    } catch (e) {
      if (!isRecordFault(e)) return { at: a, err: e };
      const stuck = isolate(recs, a, b, e, aside);
      if (stuck !== undefined) return stuck;
    }
  }
  return undefined;
}

/**
 * Leaves out a record that cannot be stored: counted, and reported as a write error, which halts
 * trading as a failed commit does (the journal now lacks a record the engine acted on, so the
 * next restart may differ from what ran). Never silent, and never at the cost of the records
 * around it. Returns the report's text.
 */
function setAside(rec: QueuedRecord, err: unknown): string {
  Atomics.add(stats, STAT.setAside, 1n);
  const message = `${describeRecord(rec)} could not be stored and was set aside, not journaled (the records around it are): ${describeFsError(err)}`;
  if (setAsideReports.length < SET_ASIDE_KEPT) setAsideReports.push(message);
  event({ t: 'error', message, setAside: setAsideCount++ });
  return message;
}

/** Which record, in words; any field of it may be of any type (that may be why it could not be stored). */
function describeRecord(rec: QueuedRecord): string {
  const word = (v: unknown) => (typeof v === 'string' ? v : describeValue(v));
  if (rec.t === 'order') return `the order record of ${word(rec.order?.clientOrderId)}`;
  if (rec.t === 'report') return `a ${word(rec.report?.kind)} report of order ${word(rec.report?.clientOrderId)}`;
  return `a ${word(rec.t)} record`;
}

/**
 * After a durable request committed in full: the reservation the journal now holds is on disk
 * (that commit fsynced the WAL, every earlier frame with it), so the engine thread may issue ids
 * up to it without waiting (docs/journal.md, "Client ids reserved ahead"). Read back rather than
 * taken from the request: a reservation committed only by a retry under the policy's
 * synchronous (not fsynced) is published by the next durable commit, never before; a failed or
 * partial commit publishes nothing (the engine then waits on a blocking reservation).
 */
function publishDurableReservation(): void {
  try {
    const value = Number(readReservation!.get() ?? 0);
    if (Number.isSafeInteger(value) && BigInt(value) > Atomics.load(stats, STAT.durableClientIds)) Atomics.store(stats, STAT.durableClientIds, BigInt(value));
  } catch (err) {
    // Nothing published: the engine thread reserves with a blocking commit when it needs ids.
    event({ t: 'error', message: `cannot read back the client id reservation: ${describeFsError(err)}` });
  }
}

function setSynchronous(mode: WriterWorkerData['synchronous']): void {
  db!.pragma(`synchronous = ${mode}`);
  synchronous = mode;
}

function retryNow(): void {
  retry = undefined;
  if (open) commitPending();
}

port.on('message', (m: WriterRequest) => {
  if (fatal !== undefined || !open) {
    if (m.sync !== undefined) reply({ id: m.sync, ok: false, error: fatal ?? 'the journal writer is closed' });
    if (m.t !== 'records') port.close();
    return;
  }
  switch (m.t) {
    case 'records': {
      if (m.slots === 0 && !m.overflow && pending.length === 0) pending = m.recs;
      else {
        const refused = ring.take(m, pending, (slot, err) => event({ t: 'error', message: `hand-over ring slot ${slot} refused, its record is not journaled: ${err.message}` }));
        if (refused > 0) Atomics.add(stats, STAT.refusedSlots, BigInt(refused));
      }
      Atomics.store(stats, STAT.pending, BigInt(pending.length));
      // A durable request (the client id reservation) is fsynced under `batch` too.
      const full = m.durable === true && synchronous === 'NORMAL';
      if (full) setSynchronous('FULL');
      let error: string | undefined;
      try {
        // Nothing to commit still fails once the file is gone: a flush must not read as success.
        error = commitPending() ?? lost;
      } finally {
        if (full) setSynchronous(data.synchronous);
      }
      if (m.durable === true && error === undefined) publishDurableReservation();
      if (cpuClock) Atomics.store(stats, STAT.threadCpuUs, BigInt(cpuClock.read()));
      if (m.sync !== undefined) reply({ id: m.sync, ok: error === undefined, error });
      break;
    }
    case 'close': {
      const before = setAsideCount;
      const last = commitPending() ?? fileLost();
      // Set aside by earlier commits (the final hand-over's, posted without waiting) and not yet
      // read by the engine thread: a close that answered ok stamped the run clean without them.
      const unread: string[] = [];
      for (let i = Math.max(0, m.seenSetAside ?? 0); i < before; i++) {
        if (i < setAsideReports.length) unread.push(setAsideReports[i]!);
        else {
          unread.push(`${before - i} more record(s) set aside`);
          break;
        }
      }
      if (last !== undefined) unread.push(last);
      const error = unread.length > 0 ? unread.join('; ') : undefined;
      open = false;
      if (retry) clearTimeout(retry);
      if (idleCheckpoint) clearTimeout(idleCheckpoint);
      if (fileCheck) clearInterval(fileCheck);
      db!.close();
      reply({ id: m.sync, ok: error === undefined, error });
      port.close();
      break;
    }
    case 'abort':
      open = false;
      if (retry) clearTimeout(retry);
      if (idleCheckpoint) clearTimeout(idleCheckpoint);
      if (fileCheck) clearInterval(fileCheck);
      db!.close();
      reply({ id: m.sync, ok: true });
      port.close();
      break;
  }
});
