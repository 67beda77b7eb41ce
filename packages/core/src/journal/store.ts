import type { Journal } from './journal.js';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

import type { FsyncPolicy } from '../config/types.js';
import type { Instrument } from '../domain/instrument.js';
import { LogThrottle } from '../observability/log-throttle.js';
import { describeFsError, JournalError } from './errors.js';
import { journalParse } from './json.js';
import { readOrderRows, readReportRows, type UnreadableRow } from './read-rows.js';
import type { JournalContents, JournalRecord, ReplayEvent, RiskStateName, RunRecord } from './records.js';
import { migrate, schemaVersion } from './schema.js';
import { maxSeq, type QueuedRecord } from './writer.js';
import { threadCpuClock } from './thread-cpu.js';
import { TRADES_WATERMARK_SCOPE, type TradesWatermark } from './trades-watermark.js';
import { fileChange, fileIdOf } from './file-id.js';
import { putBack, refuseUnrestoredRescue, rescuedBeside, rescuedPath } from './rescued.js';
import { refuseInterruptedRestore } from './restore-marker.js';
import type { FileId } from './writer-protocol.js';
import { WriterThread, type WriterStats } from './writer-thread.js';

/**
 * `[journal] fsync` as SQLite's `synchronous` in WAL mode:
 * - always: FULL, and every append is committed before it returns (an order is durable before
 *   it leaves the process): the engine thread hands the record to the writer thread and blocks
 *   on an Atomics.wait until the writer has committed it. Survives power loss.
 * - batch: NORMAL, records are handed to the writer thread every `batchMs` (sooner once
 *   POST_EARLY_RECORDS are queued) and committed there as they arrive. A killed process loses
 *   at most the last `batchMs` of records (a restart reconciles them from the venues); a power
 *   loss can lose the last commits.
 * - never: OFF, as batch, durability left to the OS.
 */
export const SYNCHRONOUS_BY_POLICY: Record<FsyncPolicy, 'FULL' | 'NORMAL' | 'OFF'> = { always: 'FULL', batch: 'NORMAL', never: 'OFF' };

/**
 * A queue this long is handed to the writer at the end of the current event-loop turn rather
 * than at the next timer tick: bounds what one hand-over (writing the records into the ring's
 * slots) costs the engine thread, and keeps a hand-over well inside the ring.
 */
const POST_EARLY_RECORDS = 1024;

const STARTUP_TIMEOUT_MS = 30_000;

/** The most often one kind of write failure is logged (onError's `logSuffix`); the engine's componentError throttle's interval. */
export const JOURNAL_ERROR_LOG_EVERY_MS = 10_000;

/**
 * The writer thread's nice under `batch` and `never` (Linux): CFS then gives the engine thread
 * ~10x the writer's share of a contended core. Its work is off the order path and batched, so
 * it can wait for a gap; it is never starved (a niced thread still gets its share).
 */
export const WRITER_NICE = 10;

export interface JournalOwner {
  pid: number;
  host: string;
}

export interface JournalStoreOptions {
  fsync?: FsyncPolicy;
  /** Commit interval under `batch` and `never` (default 50 ms). */
  batchMs?: number;
  /** Who writes (default this process); tests pass another to play a second process. */
  owner?: JournalOwner;
  /**
   * Whether the process of a lock taken at `lockStartedAt` (wall ms) on this host may still be
   * writing (default lockHolderAlive: signal 0, and on Linux a process started after the lock is
   * not its writer).
   */
  isAlive?: (pid: number, lockStartedAt: number) => boolean;
  systemName?: string;
  configDigest?: string;
  /** Wall time for run start/end stamps (default Date.now). */
  now?: () => number;
  /**
   * A commit failed (its records stay with the writer and are retried), or a record could not be
   * stored and was set aside (the others are committed): the engine should stop trading. Called
   * for every failure reported (count each one). `logSuffix` rate-limits the log line (LogThrottle):
   * undefined, leave it out; otherwise log the error with this suffix appended ("" or " (and N more
   * like it not logged)"). A full disk fails every retry, each with a new pending count, and the
   * log may sit on that same disk.
   */
  onError?: (err: JournalError, logSuffix: string | undefined) => void;
  /** Monotonic ms for onError's `logSuffix` (default performance.now). */
  errorLogClock?: () => number;
  /** The longest a synchronous commit (`always`, flush, close) blocks the caller (default 10 s). */
  commitTimeoutMs?: number;
  /** Node flags for the writer thread (profiling it: `['--cpu-prof', '--cpu-prof-dir=DIR']`); none by default. */
  writerExecArgv?: string[];
  /**
   * Linux nice of the writer thread alone (default WRITER_NICE under `batch`/`never`, 0 under
   * `always`, where the engine waits for the writer): when the host's cores are all busy the
   * engine thread runs first and the writer catches up in the gaps.
   */
  writerNice?: number;
  /**
   * Slots of the ring that hands orders and reports to the writer thread (default RING_SLOTS,
   * 8,192; tests make it small); 0: no ring, every record by structured clone (the bench's
   * comparison with the hand-over before the ring).
   */
  handOverRingSlots?: number;
}

/** What the timer's and early hand-overs cost the engine thread (bench). */
export interface HandoverStats {
  posts: number;
  records: number;
  /** Wall time, total and longest hand-over. */
  totalUs: number;
  maxUs: number;
  /** This thread's own CPU time in hand-overs (Linux; 0 elsewhere): what load on the host does not inflate. */
  cpuUs: number;
  /** Records that crossed by structured clone (no slot layout, or too long for a slot). */
  cloned: number;
  /** Slots written into overflow buffers because the ring was full (the writer was behind). */
  overflow: number;
}

/** What client id reservations cost the calling (engine) thread (bench, tests). */
export interface ReservationStats {
  /**
   * Waits of the caller (Atomics.wait) for a reservation: a blocking one (reserveClientIds) or
   * one taken ahead that was not durable yet (awaitClientIds); total and longest wall time.
   */
  waits: number;
  waitUs: number;
  maxWaitUs: number;
  /** Of the waits, blocking reservations (a commit of their own). */
  blocking: number;
  /** Reservations posted ahead of need: the caller did not wait. */
  ahead: number;
}

/** What opening found about earlier runs; the caller logs it. */
export interface OpenReport {
  schemaFrom: number;
  /**
   * The previous run did not close the journal (killed, crashed, power loss: no end stamp), or
   * closed it with records lost (its final commit failed, or its writer thread had died:
   * `cleanExit` false with an end stamp; that run also left a HALT, see close(), unless an
   * earlier version wrote it: those stamped `clean_exit = 0` and wrote no HALT).
   */
  uncleanPrevious?: RunRecord;
  /**
   * The journal's latest risk transition when it was opened (what the restore latches): the
   * caller words a start HALTED by the journal from it (`who = 'journal'`), not from the end
   * stamp, which an earlier version wrote without a HALT.
   */
  lastRisk?: { to: RiskStateName; who: string };
  /** A lock left by a dead process on this host, taken over. */
  staleLock?: JournalOwner & { startedAt: number };
}

/**
 * The embedded journal: one SQLite database in WAL mode with one writer process. The engine
 * thread only pushes records onto an in-memory queue and hands the queue to the journal's
 * writer thread (writer-thread.ts), which commits each hand-over in one transaction: SQLite's
 * work never runs on the engine thread. This thread keeps its own connection for opening
 * (migrations, the writer lock, the run record), reading the journal back, and closing.
 */
export class JournalStore implements Journal {
  readonly runId: number;
  readonly opened: OpenReport;
  private readonly db: Db;
  private readonly writer: WriterThread;
  private queue: QueuedRecord[] = [];
  /** Records handed to the writer thread by this process. */
  private posted = 0;
  private timer: NodeJS.Timeout | undefined;
  private earlyPost = false;
  private readonly handover: HandoverStats = { posts: 0, records: 0, totalUs: 0, maxUs: 0, cpuUs: 0, cloned: 0, overflow: 0 };
  private readonly reservations: ReservationStats = { waits: 0, waitUs: 0, maxWaitUs: 0, blocking: 0, ahead: 0 };
  /** This (the engine) thread's CPU clock, read around each hand-over (Linux; ~4 us a read, twice per batch). */
  private readonly cpuClock = threadCpuClock();
  private closed = false;
  /** Set-aside events read from the writer (WriterEvent `setAside`): close() is answered with any it has not read. */
  private setAsideSeen = 0;
  private lastError: string | undefined;
  /** Failures alike but for their numbers (the pending count) are one kind: logged every JOURNAL_ERROR_LOG_EVERY_MS at most. */
  private readonly errorLog: LogThrottle;
  /** The last flush failed. */
  private flushFailed = false;
  /** This store's writer lock in HELD_HERE. */
  private readonly heldKey: string;
  /** The file opened at `path` (undefined where it could not be read: nothing is checked then). */
  private readonly fileId: FileId | undefined;

  private constructor(
    readonly path: string,
    db: Db,
    readonly policy: FsyncPolicy,
    batchMs: number,
    private readonly opts: JournalStoreOptions,
  ) {
    this.db = db;
    this.errorLog = new LogThrottle(opts.errorLogClock ?? (() => performance.now()), JOURNAL_ERROR_LOG_EVERY_MS);
    const { runId, heldKey, report } = this.acquire();
    this.runId = runId;
    this.heldKey = heldKey;
    this.opened = report;
    this.fileId = fileIdOf(path);
    try {
      this.writer = new WriterThread({
        fileId: this.fileId,
        path,
        synchronous: SYNCHRONOUS_BY_POLICY[policy],
        retryMs: batchMs,
        waitMs: opts.commitTimeoutMs ?? 10_000,
        execArgv: opts.writerExecArgv,
        nice: opts.writerNice ?? (policy === 'always' ? 0 : WRITER_NICE),
        ringSlots: opts.handOverRingSlots,
        onEvent: (e) => {
          // after close(), whose answer named whatever the writer had not reported here
          if (this.closed) return;
          if (e.t === 'error') {
            if (e.setAside !== undefined && e.setAside >= this.setAsideSeen) this.setAsideSeen = e.setAside + 1;
            this.report(new JournalError('WRITE', path, e.message));
          } else this.lastError = undefined;
        },
      });
    } catch (err) {
      // No thread could start (its module missing, a bad flag): the open fails, and must not
      // leave a lock that refuses every other process while this one lives.
      this.releaseLock();
      throw err;
    }
    // The writer opens its own connection: wait for it, so a writer that cannot start fails the
    // open (starting a thread and loading SQLite takes a few hundred ms, more on a loaded host).
    const hello = this.writer.commit([], Math.max(opts.commitTimeoutMs ?? 0, STARTUP_TIMEOUT_MS));
    if (!hello.ok) {
      this.writer.abort();
      this.releaseLock();
      throw new JournalError('WRITE', path, hello.error ?? 'the writer thread did not start');
    }
    if (policy !== 'always') {
      this.timer = setInterval(() => this.postQueued(), batchMs);
      this.timer.unref();
    }
  }

  /**
   * Opens (creating if needed) the journal at `path` and takes the writer lock. Throws a
   * JournalError naming the journal and the path for anything in the way.
   */
  static open(path: string, opts: JournalStoreOptions = {}): JournalStore {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw new JournalError('PATH', path, `cannot create its directory ${dirname(path)}: ${describeFsError(err)}`);
    }
    if (isDirectory(path)) throw new JournalError('PATH', path, 'is a directory; [journal] path names the database file (e.g. cwts.db)');
    // A restore killed midway (its marker beside the path): the file at the path may be the old
    // journal without its -wal, whose last commits are in the kept copy. The re-run finishes it.
    refuseInterruptedRestore(path);
    // A run whose file was replaced under it (or removed, and not put back) saved its journal
    // beside the path (close, rescue): not restored, this start would trade without that run.
    // Read-only, before anything is written at the path: a refused open leaves it as it was.
    const rescued = rescuedBeside(path);
    if (rescued.length > 0) refuseUnrestoredRescue(path, rescued);
    let db: Db;
    try {
      db = new Database(path);
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${SYNCHRONOUS_BY_POLICY[opts.fsync ?? 'batch']}`);
      const check = db.pragma('quick_check', { simple: true }) as string;
      if (check !== 'ok') throw new JournalError('CORRUPT', path, `integrity check failed: ${check}; restore a backup or export what is readable with \`cwts-ultra journal export\``);
    } catch (err) {
      if (err instanceof JournalError) throw err;
      throw new JournalError('PATH', path, `cannot open: ${describeFsError(err)}`);
    }
    try {
      return new JournalStore(path, db, opts.fsync ?? 'batch', opts.batchMs ?? 50, opts);
    } catch (err) {
      db.close();
      if (err instanceof JournalError) throw err;
      throw new JournalError('PATH', path, `cannot open: ${describeFsError(err)}`);
    }
  }

  /** Opens a journal only to read it (export, status); takes no lock, works while it runs. */
  static openReadOnly(path: string): Db {
    refuseInterruptedRestore(path);
    try {
      return new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new JournalError('PATH', path, `cannot open: ${describeFsError(err)}`);
    }
  }

  /**
   * Removes a writer lock whose process is gone or cannot be checked (another host: the caller
   * vouches for it); throws LOCKED for one whose process is alive on this host. The check and the
   * delete are one immediate transaction, and the delete names the row checked: an engine that
   * takes a stale lock over while this runs either waits for it (and then finds no lock) or is
   * seen here as the live holder, and never loses its lock to this delete.
   */
  static forceUnlock(path: string, opts: { host?: string; isAlive?: (pid: number, lockStartedAt: number) => boolean } = {}): JournalOwner | undefined {
    // its write would land in the old journal's file (the kept copy's, hard-linked) without its -wal
    refuseInterruptedRestore(path);
    let db: Db;
    try {
      db = new Database(path, { fileMustExist: true });
    } catch (err) {
      throw new JournalError('PATH', path, `cannot open: ${describeFsError(err)}`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      const tx = db.transaction((): JournalOwner | undefined => {
        const holder = writerHolder(db, opts.host ?? hostname(), opts.isAlive ?? lockHolderAlive);
        if (!holder) return undefined;
        if (holder.sameHost && holder.live) throw new JournalError('LOCKED', path, `${describeHolder(holder)}; --force removes only a lock whose process is gone`);
        db.prepare('DELETE FROM writer_lock WHERE id = 1 AND pid = ? AND host = ? AND started_at = ? AND run_id = ?').run(holder.pid, holder.host, holder.startedAt, holder.runId);
        return { pid: holder.pid, host: holder.host };
      });
      return tx.immediate();
    } finally {
      db.close();
    }
  }

  // ---- writing ----------------------------------------------------------------------------

  /**
   * Queues a record (the engine thread's only cost under `batch`). Under `always` it is
   * committed before this returns. False means the record will not be committed in time (the
   * `always` commit failed, or the writer thread is gone): the caller must not act on it.
   */
  append(rec: JournalRecord): boolean {
    if (this.closed || this.writer.failure !== undefined) return false;
    this.queue.push(rec);
    if (this.policy === 'always') return this.flushQuietly();
    if (this.queue.length >= POST_EARLY_RECORDS && !this.earlyPost) {
      this.earlyPost = true;
      setImmediate(() => this.postQueued());
    }
    return true;
  }

  /** As append, for records that must be committed together: one queue, so one transaction (under `always`, one commit). */
  appendAll(recs: readonly JournalRecord[]): boolean {
    if (this.closed || this.writer.failure !== undefined) return false;
    for (const r of recs) this.queue.push(r);
    if (this.policy === 'always') return this.flushQuietly();
    if (this.queue.length >= POST_EARLY_RECORDS && !this.earlyPost) {
      this.earlyPost = true;
      setImmediate(() => this.postQueued());
    }
    return true;
  }

  /** Records appended and not yet committed (queued here or with the writer thread); a record set aside is not pending. */
  get pending(): number {
    const w = this.writer.readStats();
    return this.queue.length + this.posted - w.committed - w.setAside;
  }

  /**
   * The last commit failed, a failure the writer reported has not been followed by a commit that
   * worked, or the writer thread is gone: a synchronous commit now would most likely wait the
   * whole commit timeout for the same failure (the engine sends a HALT's cancels first then).
   */
  get failing(): boolean {
    return this.flushFailed || this.lastError !== undefined || this.writer.failure !== undefined;
  }

  /** close() has run: nothing appended now is written (JournalStore.latchHaltAfterClose can still write a HALT). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Records committed by this process (tests and the bench read it). */
  get committed(): number {
    return this.writer.readStats().committed;
  }

  /** What the writer thread spent committing (bench). */
  get writerStats(): WriterStats {
    return this.writer.readStats();
  }

  /**
   * What handing batches to the writer cost this thread (`batch`/`never`; bench): writing the
   * records into the hand-over ring (record-ring.ts), the only journal work between events
   * besides the push.
   */
  get handoverStats(): HandoverStats {
    return { ...this.handover };
  }

  /**
   * Commits everything appended so far, blocking until the writer thread has; returns the
   * number of records this call handed over. Throws JournalError when the commit failed (the
   * records stay with the writer, which retries them) or a record could not be stored (set
   * aside; the others are committed). `durable`: fsynced whatever the policy.
   */
  flush(durable = false): number {
    const recs = this.takeQueue();
    if (recs.length === 0 && this.pending === 0 && this.lastError === undefined && !this.flushFailed) return 0;
    const r = this.writer.commit(recs, undefined, durable);
    // Asked again next time even with nothing pending: a failure need not leave records pending
    // (the journal's file gone: they committed, to a file no restart reads).
    this.flushFailed = !r.ok;
    if (!r.ok) throw new JournalError('WRITE', this.path, r.error ?? 'commit failed');
    this.lastError = undefined;
    return recs.length;
  }

  private takeQueue(): QueuedRecord[] {
    const recs = this.queue;
    this.queue = [];
    this.posted += recs.length;
    return recs;
  }

  /**
   * Hands what is queued to the writer thread now, without waiting: what the `batch_ms` timer
   * does. For a caller whose loop never yields to the event loop between events, where the
   * timer cannot run (the e2e bench feeds frames from memory in one synchronous loop; a
   * deployment's socket reads return to the event loop).
   */
  handOver(): void {
    if (this.policy !== 'always') this.postQueued();
  }

  /**
   * Hands the queue to the writer thread without waiting (the timer, early posts, and a client id
   * reservation taken ahead of need: `durable`).
   */
  private postQueued(durable = false): void {
    this.earlyPost = false;
    if (this.queue.length === 0 || this.closed) return;
    const cpu = this.cpuClock?.read() ?? 0;
    const started = performance.now();
    const recs = this.takeQueue();
    const sent = this.writer.post(recs, durable);
    this.handover.cloned += sent.cloned;
    this.handover.overflow += sent.overflow;
    const us = (performance.now() - started) * 1000;
    if (this.cpuClock) this.handover.cpuUs += this.cpuClock.read() - cpu;
    this.handover.posts++;
    this.handover.records += recs.length;
    this.handover.totalUs += us;
    if (us > this.handover.maxUs) this.handover.maxUs = us;
  }

  private flushQuietly(): boolean {
    try {
      this.flush();
      return true;
    } catch (err) {
      this.report(err as JournalError);
      return false;
    }
  }

  /**
   * Reports each distinct failure once, not at every retry. Every one reaches onError (it halts
   * and is counted); only the log line is rate-limited per kind of failure.
   */
  private report(e: JournalError): void {
    if (e.message === this.lastError) return;
    this.lastError = e.message;
    this.opts.onError?.(e, this.errorLog.take(e.message.replace(/\d+/g, '#')));
  }

  /**
   * Reserves client order ids up to `upTo`, committed at once (a rare synchronous write): after
   * a crash no id at or below it is issued again, even if the order record itself was lost.
   * Fsynced under `batch` too (one fsync per block of ids): under synchronous = NORMAL a power
   * loss can take back commits since the WAL's last fsync, and a reservation taken back while
   * orders under it reached a venue would issue their ids again. `never` leaves durability to
   * the OS, as it says.
   */
  reserveClientIds(upTo: number): void {
    const started = performance.now();
    this.queue.push({ t: 'meta', key: 'client_ids_reserved', value: String(upTo) });
    this.reservations.blocking++;
    try {
      this.flush(true);
    } finally {
      this.countWait(started);
    }
  }

  /**
   * Reserves client order ids up to `upTo` without waiting: the record goes to the writer thread
   * with what is queued, committed as reserveClientIds commits it (fsynced under `batch`), and
   * once it is, `durableClientIds` says so. Only then may ids above the last durable reservation
   * be issued (OrderManager does not issue one before): a crash before the commit loses a
   * reservation no id was issued under. Does nothing once the journal is closed or its writer
   * failed (the blocking reservation then reports why).
   */
  reserveClientIdsAhead(upTo: number): void {
    if (this.closed || this.writer.failure !== undefined) return;
    this.queue.push({ t: 'meta', key: 'client_ids_reserved', value: String(upTo) });
    this.reservations.ahead++;
    this.postQueued(true);
  }

  /** The client id reservation the writer thread last made durable in this run (0 before one). */
  get durableClientIds(): number {
    return this.writer.durableClientIds;
  }

  /**
   * Waits until the writer has committed everything handed to it, a reservation taken ahead
   * included, and returns durableClientIds. Never throws: a reservation that did not become
   * durable (its commit failed) shows as a lower figure, and the blocking reservation the
   * caller then makes reports why.
   */
  awaitClientIds(): number {
    const started = performance.now();
    try {
      this.flush();
    } catch {
      // reported by the blocking reservation that follows, and to onError by the writer
    } finally {
      this.countWait(started);
    }
    return this.durableClientIds;
  }

  private countWait(started: number): void {
    const us = (performance.now() - started) * 1000;
    this.reservations.waits++;
    this.reservations.waitUs += us;
    if (us > this.reservations.maxWaitUs) this.reservations.maxWaitUs = us;
  }

  /** What client id reservations cost this thread (bench, tests). */
  get reservationStats(): ReservationStats {
    return { ...this.reservations };
  }

  /** Flushes, marks the run ended and releases the writer lock. `clean` false plays a crash in tests. */
  close(opts: { clean?: boolean } = {}): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.cpuClock?.close();
    // Whatever is written below, this process no longer writes: a lock row left behind is stale.
    HELD_HERE.delete(this.heldKey);
    if (opts.clean === false) {
      this.closed = true;
      this.writer.abort();
      this.db.close();
      return;
    }
    this.writer.post(this.takeQueue());
    // A record the final commit sets aside is reported by an event this synchronous close never
    // reads: the writer names it in the close answer instead (docs/journal.md, "Records the
    // writer cannot store"), and the run is stamped unclean and HALTED.
    const r = this.writer.close(this.setAsideSeen);
    if (!r.ok) this.report(new JournalError('WRITE', this.path, r.error ?? 'final commit failed'));
    this.closed = true;
    const now = (this.opts.now ?? Date.now)();
    // Looked at here too: a writer thread that died or did not answer said nothing of the file.
    const gone = fileChange(this.path, this.fileId);
    // Shutdown goes on whatever fails here (a full disk, another connection holding SQLite's
    // write lock): the run is then left without its end stamp and the next start reports it
    // unclean and takes the lock over (its pid is gone, or is ours and no store here holds it).
    // Immediate: the HALT's seq is read under the write lock (a writer thread that did not
    // answer in time may still commit).
    try {
      this.db.transaction(() => {
        this.db.prepare('UPDATE runs SET ended_at = ?, clean_exit = ? WHERE run_id = ?').run(now, r.ok ? 1 : 0, this.runId);
        if (!r.ok) this.latchHalt(now, r.error ?? 'final commit failed');
        this.db.prepare('DELETE FROM writer_lock WHERE run_id = ?').run(this.runId);
      }).immediate();
    } catch (err) {
      this.report(new JournalError('WRITE', this.path, `cannot mark the run ended and release the writer lock: ${describeFsError(err)}`));
    }
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A reader (an export) may hold the WAL; the next open checkpoints.
    }
    const saved = gone !== undefined ? this.rescue(now, gone) : undefined;
    try {
      this.db.close();
    } catch (err) {
      this.report(new JournalError('WRITE', this.path, `cannot close: ${describeFsError(err)}`));
    }
    if (gone !== undefined) this.reportRescue(gone, saved, !r.ok);
  }

  /**
   * A HALT that came after this process closed the journal at `path` (a process fault in the
   * last steps of run's stop), written through a connection of its own so that the next start
   * comes up HALTED as the runbook says. Written only while no live process holds the writer
   * lock (checked in the same immediate transaction): a second instance that took the journal over
   * since is not written under. A journal whose last transition is a HALT already is left as
   * it is. Returns why nothing was written, or undefined; never throws.
   */
  static latchHaltAfterClose(path: string, reason: string, who: string, now: number = Date.now()): string | undefined {
    let db: Db | undefined;
    try {
      refuseInterruptedRestore(path);
      db = new Database(path, { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const conn = db;
      return conn.transaction((): string | undefined => {
        const holder = writerHolder(conn);
        if (holder?.live) return `the journal has a writer again (${describeHolder(holder)})`;
        const last = conn.prepare('SELECT to_state AS state FROM risk_transitions ORDER BY seq DESC LIMIT 1').get() as { state: RiskStateName } | undefined;
        if (last?.state === 'HALTED') return undefined;
        conn.prepare('INSERT INTO risk_transitions (seq, from_state, to_state, reason, who, ts) VALUES (?, ?, ?, ?, ?, ?)').run(maxSeq(conn) + 1, last?.state ?? 'ACTIVE', 'HALTED', reason, who, now);
        return undefined;
      }).immediate();
    } catch (err) {
      return err instanceof JournalError ? err.message : describeFsError(err);
    } finally {
      try {
        db?.close();
      } catch {
        // the transaction's outcome is what the caller reports
      }
    }
  }

  /**
   * The last records of this run are not in the journal (its final commit failed, or its writer
   * thread had died and refused every record since, the engine's own HALT included): the HALT the
   * engine entered on that failure is written here, on this thread's connection, with the end
   * stamp, so that the next start comes up HALTED (rebuild.ts latches the last risk state) until
   * `cwts-ultra risk resume`, as the runbook says, instead of trading on a journal that lacks
   * what the run did last. The previous state, when not ACTIVE, is kept in the reason.
   */
  private latchHalt(now: number, error: string): void {
    const last = this.db.prepare('SELECT to_state AS state, reason FROM risk_transitions ORDER BY seq DESC LIMIT 1').get() as { state: RiskStateName; reason: string } | undefined;
    const before = last && last.state !== 'ACTIVE' ? `; before: ${last.state} (${last.reason})` : '';
    const reason = `journal: the last records of run ${this.runId} were not committed at shutdown (${error}); what they held (orders sent, fills) is missing from the journal: once reconciliation has run, compare /status with the venues, then \`cwts-ultra risk resume\`${before}`;
    this.db.prepare('INSERT INTO risk_transitions (seq, from_state, to_state, reason, who, ts) VALUES (?, ?, ?, ?, ?, ?)').run(maxSeq(this.db) + 1, last?.state ?? 'ACTIVE', 'HALTED', reason, 'journal', now);
  }

  /**
   * The journal's path no longer names the file this run wrote (removed, or another file put
   * there): everything this run committed is only in that file, which this connection still
   * holds open and which goes when it closes. Saved beside the path (its directory made again if
   * it was removed) as `<path>.rescued-<time>`; reportRescue puts it back at the path or says
   * what to do. The copy is complete before anything names it a journal (VACUUM INTO).
   */
  private rescue(now: number, why: string): { file: string } | { error: string } {
    const to = rescuedPath(this.path, now);
    try {
      mkdirSync(dirname(to), { recursive: true });
      this.db.prepare('VACUUM INTO ?').run(to);
      return { file: to };
    } catch (err) {
      return { error: `its file was ${why} while this run wrote it, and what the run wrote could not be saved (${describeFsError(err)}): restore a backup before the next start` };
    }
  }

  /**
   * Removed: nothing is at the path, so the saved journal goes there (putBack), with the HALT
   * close() wrote where records were lost, and the next start restores the run from it. Saved
   * only beside the path, a supervisor's restart opened an empty journal there: no positions,
   * no HALT, client ids again from cw-1. Replaced: the file put there is left alone, and the open
   * refuses it while the saved journal beside it holds a run it does not (rescued.ts).
   */
  private reportRescue(why: string, saved: { file: string } | { error: string } | undefined, halted: boolean): void {
    if (saved === undefined) return;
    if ('error' in saved) {
      this.report(new JournalError('WRITE', this.path, saved.error));
      return;
    }
    const to = saved.file;
    const refused = `the next start refuses the journal at the path until then (or until ${to} is moved away)`;
    if (why !== 'removed') {
      this.report(new JournalError('WRITE', this.path, `its file was ${why} while this run wrote it; what the run wrote is saved as ${to}: restore it before the next start (\`cwts-ultra journal restore --from ${to}\`); ${refused}`));
      return;
    }
    const failed = putBack(to, this.path);
    if (failed === undefined) {
      this.report(new JournalError('WRITE', this.path, `its file was removed while this run wrote it; what the run wrote is written back at the path, and the next start restores the run from it${halted ? ' HALTED by the journal (its last records were lost) until `cwts-ultra risk resume`' : ''}`));
      return;
    }
    this.report(new JournalError('WRITE', this.path, `its file was removed while this run wrote it; what the run wrote is saved as ${to} and could not be put back at the path (${failed}): restore it before the next start (\`cwts-ultra journal restore --from ${to}\`); ${refused}`));
  }

  // ---- reading ----------------------------------------------------------------------------

  /** Everything a restart replays, from what is committed (call before appending). */
  load(): JournalContents {
    return loadContents(this.db, this.runId);
  }

  /** This thread's connection, for read-only queries (export, tests). */
  get database(): Db {
    return this.db;
  }

  // ---- internals --------------------------------------------------------------------------

  /**
   * Takes the writer lock and brings the schema up to date, in one immediate transaction: the
   * lock is checked before anything is migrated, so a process refused here changes nothing (a
   * newer build started by mistake beside a running older one must not migrate its journal).
   */
  private acquire(): { runId: number; heldKey: string; report: OpenReport } {
    const me = this.opts.owner ?? { pid: process.pid, host: hostname() };
    const alive = this.opts.isAlive ?? lockHolderAlive;
    const now = (this.opts.now ?? Date.now)();
    const refuse = (m: string) => new JournalError('SCHEMA', this.path, m);
    const report: OpenReport = { schemaFrom: 0 };
    const tx = this.db.transaction(() => {
      // Every version has had writer_lock as it is; a new file has no tables yet.
      const holder = schemaVersion(this.db, refuse) > 0 ? writerHolder(this.db, me.host, alive) : undefined;
      if (holder?.live) throw new JournalError('LOCKED', this.path, describeHolder(holder));
      report.schemaFrom = migrate(this.db, refuse);
      if (holder) report.staleLock = { pid: holder.pid, host: holder.host, startedAt: holder.startedAt };
      const prev = this.db.prepare('SELECT * FROM runs ORDER BY run_id DESC LIMIT 1').get() as RunRow | undefined;
      // An end stamp with clean_exit = 0 is a run that closed with records lost (close(), latchHalt).
      if (prev && (prev.ended_at === null || prev.clean_exit !== 1)) report.uncleanPrevious = toRun(prev);
      const risk = this.db.prepare('SELECT to_state, who FROM risk_transitions ORDER BY seq DESC LIMIT 1').get() as { to_state: RiskStateName; who: string } | undefined;
      if (risk) report.lastRisk = { to: risk.to_state, who: risk.who };
      const info = this.db
        .prepare('INSERT INTO runs (started_at, pid, host, system_name, config_digest) VALUES (?, ?, ?, ?, ?)')
        .run(now, me.pid, me.host, this.opts.systemName ?? null, this.opts.configDigest ?? null);
      const runId = Number(info.lastInsertRowid);
      this.db.prepare('INSERT OR REPLACE INTO writer_lock (id, pid, host, started_at, run_id) VALUES (1, ?, ?, ?, ?)').run(me.pid, me.host, now, runId);
      return runId;
    });
    const runId = tx.immediate();
    const heldKey = lockKey({ pid: me.pid, host: me.host, startedAt: now, runId });
    HELD_HERE.add(heldKey);
    return { runId, heldKey, report };
  }

  /** Gives the writer lock back after a failed open. */
  private releaseLock(): void {
    HELD_HERE.delete(this.heldKey);
    try {
      this.db.prepare('DELETE FROM writer_lock WHERE run_id = ?').run(this.runId);
    } catch {
      // The open's own error is the one to report; a row left behind is stale to the next start.
    }
  }
}

interface RunRow {
  run_id: number;
  started_at: number;
  ended_at: number | null;
  pid: number;
  host: string;
  system_name: string | null;
  config_digest: string | null;
  clean_exit: number;
}

function toRun(r: RunRow): RunRecord {
  return {
    runId: r.run_id,
    startedAt: r.started_at,
    endedAt: r.ended_at ?? undefined,
    pid: r.pid,
    host: r.host,
    systemName: r.system_name ?? undefined,
    configDigest: r.config_digest ?? undefined,
    cleanExit: r.clean_exit === 1,
  };
}

/** The source of an order adopted from a venue (engine/order-manager.ts, ADOPTED_TRADE_SOURCE; the journal does not import the engine). */
const ADOPTED_SOURCE = 'reconcile:adopted';

/** Reads what a restart needs; shared by the writer (at open) and read-only tools. */
/**
 * Per venue, the venue time reconciliation reads its trades from (absent: from when the journal
 * began): the last journaled fill's, counting only fills booked while the venue was reconciled.
 * A fill booked while it was not (one an order query answered before a later read failed, one
 * its stream delivered during the retries) is later than trades never read: taken as the
 * watermark, a restart before the venue was reconciled asked for trades only from that fill on,
 * and a trade made while down before it, on an order the journal does not hold, was never read
 * and never adopted. So while the venue's last TradesWatermark says not reconciled, its time
 * stands; once it says reconciled, the last fill journaled after it (by seq, one counter across
 * tables) is the watermark, as without one. A journal without one (written before it existed)
 * has the last journaled fill's time, as then.
 */
/**
 * The marks of the last snapshot row, each a positive whole number of half-ticks; a row or a
 * mark that cannot be read is left out (the restart then values that position as before).
 */
function readLastMarks(db: Db): Record<string, number> | undefined {
  const row = db.prepare('SELECT marks FROM snapshots ORDER BY seq DESC LIMIT 1').get() as { marks: string } | undefined;
  if (row === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.marks);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) out[k] = v;
  return out;
}

function tradesWatermarks(db: Db): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of db.prepare('SELECT exchange, max(venue_ts) AS ts FROM fills GROUP BY exchange').all() as { exchange: string; ts: number }[]) out[r.exchange] = r.ts;
  const marks = db.prepare('SELECT key, seq, value FROM component_state WHERE scope = ?').all(TRADES_WATERMARK_SCOPE) as { key: string; seq: number; value: string }[];
  if (marks.length === 0) return out;
  const fillsAfter = db.prepare('SELECT max(venue_ts) FROM fills WHERE exchange = ? AND seq > ?').pluck();
  for (const m of marks) {
    const w = journalParse(m.value) as Partial<TradesWatermark> | null;
    // not of the form the engine writes: the last fill's time, as without one
    if (w === null || typeof w !== 'object' || typeof w.reconciled !== 'boolean' || !(w.ts === null || (typeof w.ts === 'number' && Number.isFinite(w.ts)))) continue;
    const later = w.reconciled ? (fillsAfter.get(m.key, m.seq) as number | null) : null;
    // a later fill before the time read from (venue and host clocks) reads more, never less
    const ts = typeof later === 'number' ? later : w.ts;
    if (ts === null) delete out[m.key];
    else out[m.key] = ts;
  }
  return out;
}

export function loadContents(db: Db, currentRunId?: number): JournalContents {
  const events: ReplayEvent[] = [];
  const unreadable: JournalContents['unreadable'] = { orders: 0, reports: 0, first: [] };
  const refuse = (row: UnreadableRow) => {
    if (row.table === 'orders') unreadable.orders++;
    // A damaged `orders.reports` is counted as one report (the ones after it in the row are lost too).
    else unreadable.reports++;
    if (unreadable.first.length < 10) unreadable.first.push(row);
  };
  for (const r of readOrderRows(db, refuse)) {
    // The row is the order as it left the engine; its later states come from the reports.
    events.push({ seq: r.seq, t: 'order', order: { ...r.order, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n } });
  }
  let reports = 0;
  for (const r of readReportRows(db, refuse)) {
    events.push({ seq: r.seq, t: 'report', report: r.report, feeAsset: r.feeAsset });
    reports++;
  }
  for (const r of db.prepare("SELECT seq, exchange, client_id, kind, detail, ts FROM reconcile_events WHERE kind = 'closed' ORDER BY seq").iterate() as Iterable<{ seq: number; exchange: string; client_id: string | null; kind: 'closed'; detail: string; ts: number }>) {
    events.push({ seq: r.seq, t: 'reconcile', exchange: r.exchange, clientOrderId: r.client_id ?? undefined, kind: r.kind, detail: r.detail, ts: r.ts });
  }
  events.sort((a, b) => a.seq - b.seq);
  const instruments = (db.prepare('SELECT json FROM instruments').all() as { json: string }[]).map((r) => journalParse(r.json) as Instrument);
  const risk = db.prepare('SELECT to_state, reason, who, ts FROM risk_transitions ORDER BY seq DESC LIMIT 1').get() as { to_state: RiskStateName; reason: string; who: string; ts: number } | undefined;
  const peak = db.prepare('SELECT peak, equity, ts FROM equity_peaks ORDER BY seq DESC LIMIT 1').get() as { peak: string; equity: string; ts: number } | undefined;
  const lastMarks = readLastMarks(db);
  const state = (db.prepare('SELECT scope, key, value, ts FROM component_state ORDER BY seq').all() as { scope: string; key: string; value: string; ts: number }[]).map((r) => ({ scope: r.scope, key: r.key, value: journalParse(r.value), ts: r.ts }));
  const lastFillTs = tradesWatermarks(db);
  const firstRun = (db.prepare('SELECT min(started_at) AS ts FROM runs').get() as { ts: number | null }).ts;
  let startedTs = typeof firstRun === 'number' && Number.isFinite(firstRun) ? firstRun : undefined;
  // Orders this engine created (in a clock a test may set before the runs' wall time) count; an
  // order adopted from a venue (ADOPTED_SOURCE) carries the venue's creation time, which says
  // nothing of when this journal began (ccxt gives 0 for none: trades were then read from 1970).
  for (const ev of events) {
    if (ev.t !== 'order' || ev.order.source === ADOPTED_SOURCE) continue;
    const ts = ev.order.createdTs;
    if (Number.isFinite(ts) && ts > 0 && (startedTs === undefined || ts < startedTs)) startedTs = ts;
  }
  const reserved = db.prepare("SELECT value FROM meta WHERE key = 'client_ids_reserved'").get() as { value: string } | undefined;
  const prev = db.prepare('SELECT * FROM runs WHERE run_id < ? ORDER BY run_id DESC LIMIT 1').get(currentRunId ?? Number.MAX_SAFE_INTEGER) as RunRow | undefined;
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    events,
    instruments,
    lastRisk: risk ? { to: risk.to_state, reason: risk.reason, who: risk.who, ts: risk.ts } : undefined,
    lastPeak: peak ? { peak: BigInt(peak.peak), equity: BigInt(peak.equity), ts: peak.ts } : undefined,
    ...(lastMarks !== undefined ? { lastMarks } : {}),
    state,
    lastFillTs,
    startedTs,
    reservedClientIds: reserved ? Number(reserved.value) : 0,
    previousRun: prev ? toRun(prev) : undefined,
    unreadable,
    counts: { orders: count('orders'), fills: count('fills'), reports: reports + unreadable.reports, signals: count('signals'), snapshots: count('snapshots') },
  };
}

/** Who holds a journal's writer lock, and whether that writer may still be running. */
export interface WriterHolder extends JournalOwner {
  startedAt: number;
  runId: number;
  sameHost: boolean;
  /** Alive on this host, or on another host (which cannot be checked, so counts as alive). */
  live: boolean;
}

/**
 * The writer locks held by this process's open stores. A same-host lock naming this process's
 * own pid is live only if one of them holds it: a container restarted after kill -9 or an OOM
 * keeps its hostname and, in a fresh pid namespace, gets the pid of the process that died, so
 * signal 0 to the lock's pid reaches ourselves and would refuse the restart forever. Kept on
 * globalThis so that two copies of this module in one process (sources and dist, two versions
 * of @cwts/core) see each other's locks. A key names no file: two journals' rows alike to the
 * millisecond and run id could only make a stale lock look live (a refusal), never the reverse.
 */
const HELD_HERE = ((globalThis as Record<symbol, unknown>)[Symbol.for('cwts.journal.heldWriterLocks')] ??= new Set<string>()) as Set<string>;

function lockKey(l: JournalOwner & { startedAt: number; runId: number }): string {
  return `${l.host}\0${l.pid}\0${l.startedAt}\0${l.runId}`;
}

/** Reads the writer lock row (any connection, read-only included). */
export function writerHolder(db: Db, host: string = hostname(), alive: (pid: number, lockStartedAt: number) => boolean = lockHolderAlive): WriterHolder | undefined {
  const row = db.prepare('SELECT pid, host, started_at AS startedAt, run_id AS runId FROM writer_lock WHERE id = 1').get() as (JournalOwner & { startedAt: number; runId: number }) | undefined;
  if (!row) return undefined;
  const sameHost = row.host === host;
  const live = !sameHost || (row.pid === process.pid ? HELD_HERE.has(lockKey(row)) : alive(row.pid, row.startedAt));
  return { pid: row.pid, host: row.host, startedAt: row.startedAt, runId: row.runId, sameHost, live };
}

/** The refusal a live holder gets, naming it and what to do. */
export function describeHolder(h: WriterHolder): string {
  const where = h.sameHost ? `pid ${h.pid} on this host (${h.host})` : `pid ${h.pid} on host ${h.host}`;
  const hint = h.sameHost ? 'stop that process first; one journal has one writer' : 'stop it first; if it is gone, remove its lock with `cwts-ultra journal unlock --force`';
  return `in use by another cwts-ultra process: ${where}, since ${new Date(h.startedAt).toISOString()}; ${hint}`;
}

/** Reads a /proc file as text, undefined where it cannot (no /proc: macOS; the process is gone). */
export type ProcReader = (path: string) => string | undefined;

/** How lockHolderAlive looks at a process (tests pass fakes). */
export interface ProcessProbe {
  /** Whether the pid names a process (signal 0). */
  exists: (pid: number) => boolean;
  readProc: ProcReader;
}

/**
 * How much later than its lock's started_at a process may seem to have started and still be
 * the lock's writer. A writer starts, then takes the lock, so its start is never after the lock;
 * the margin covers btime's whole seconds and a wall clock stepped forward (NTP) while the writer
 * runs. A process that started more than this after the lock holds a reused pid. Wide on purpose:
 * a lock judged stale that is not is two writers on one journal, one judged live that is not is
 * only a refused start, and a reused pid after a reboot started minutes to hours after the lock.
 */
export const PID_REUSE_MARGIN_MS = 60_000;

/**
 * Clock ticks per second of /proc/<pid>/stat's starttime (USER_HZ). Node cannot call
 * sysconf(_SC_CLK_TCK); USER_HZ is a fixed 100 in the kernel's ABI on x86, arm and arm64 whatever
 * the kernel's HZ, so 100 is assumed rather than spawning `getconf CLK_TCK`.
 */
const USER_HZ = 100;

const REAL_PROBE: ProcessProbe = { exists: signalZero, readProc: readProcFile };

/**
 * Whether the process of a lock taken at `lockStartedAt` on this host may still be its writer:
 * the pid names a process, and (Linux) that process did not start after the lock was taken. After
 * a reboot, or a pid wrap, the dead writer's pid names an unrelated process started since, which
 * signal 0 alone takes for the writer: every start refused, and unlock --force too. Without /proc
 * (macOS) the pid alone decides, as before.
 */
export function lockHolderAlive(pid: number, lockStartedAt: number, probe: ProcessProbe = REAL_PROBE): boolean {
  if (!probe.exists(pid)) return false;
  const started = processStartMs(pid, probe.readProc);
  return started === undefined || started <= lockStartedAt + PID_REUSE_MARGIN_MS;
}

/**
 * When a process started (wall ms), from /proc: boot time (/proc/stat btime, seconds) plus the
 * process's starttime (field 22 of /proc/<pid>/stat, clock ticks since boot). Undefined where
 * either cannot be read or parsed.
 */
export function processStartMs(pid: number, readProc: ProcReader): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  const boot = readProc('/proc/stat');
  if (stat === undefined || boot === undefined) return undefined;
  // Field 2 (comm) is in parentheses and may hold spaces and ')': the fields after the last ')'
  // start at field 3 (state), so field 22 is the 20th of them.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const ticks = Number(stat.slice(close + 1).trim().split(/\s+/)[19]);
  const btime = /^btime\s+(\d+)$/m.exec(boot);
  if (!btime || !Number.isSafeInteger(ticks) || ticks < 0) return undefined;
  return Number(btime[1]) * 1000 + (ticks * 1000) / USER_HZ;
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
