import type { Journal } from './journal.js';
import { mkdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';

import type { FsyncPolicy } from '../config/types.js';
import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { describeFsError, JournalError } from './errors.js';
import { journalParse, journalStringify } from './json.js';
import type { JournalContents, JournalRecord, ReplayEvent, RiskStateName, RunRecord } from './records.js';
import { migrate } from './schema.js';

/**
 * `[journal] fsync` as SQLite's `synchronous` in WAL mode:
 * - always: FULL, and every append commits before it returns (an order is durable before it
 *   leaves the process). Survives power loss.
 * - batch: NORMAL, appends commit together every `batchMs`. A killed process loses nothing
 *   committed (the WAL is in the OS page cache); a power loss can lose the last commits.
 * - never: OFF, committed every `batchMs`, durability left to the OS.
 */
export const SYNCHRONOUS_BY_POLICY: Record<FsyncPolicy, 'FULL' | 'NORMAL' | 'OFF'> = { always: 'FULL', batch: 'NORMAL', never: 'OFF' };

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
  /** Whether a pid on this host is alive (default: signal 0). */
  isAlive?: (pid: number) => boolean;
  systemName?: string;
  configDigest?: string;
  /** Wall time for run start/end stamps (default Date.now). */
  now?: () => number;
  /** A commit failed: the batch stays queued and is retried; the engine should stop trading. */
  onError?: (err: JournalError) => void;
}

/** What opening found about earlier runs; the caller logs it. */
export interface OpenReport {
  schemaFrom: number;
  /** The previous run did not close the journal (killed, crashed, power loss). */
  uncleanPrevious?: RunRecord;
  /** A lock left by a dead process on this host, taken over. */
  staleLock?: JournalOwner & { startedAt: number };
}

/**
 * The embedded journal: one SQLite database in WAL mode with one writer process. The engine
 * thread only pushes records onto an in-memory queue; `flush` commits the queue in one
 * transaction, from a timer (`batch`, `never`) or at once (`always`).
 */
export class JournalStore implements Journal {
  readonly runId: number;
  readonly opened: OpenReport;
  private readonly db: Db;
  private queue: { seq: number; rec: JournalRecord }[] = [];
  private nextSeq: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastError: string | undefined;
  private readonly stmts: Record<string, Statement>;
  private readonly commitBatch: (batch: { seq: number; rec: JournalRecord }[]) => void;
  /** Records committed by this process (tests and the bench read it). */
  committed = 0;

  private constructor(
    readonly path: string,
    db: Db,
    readonly policy: FsyncPolicy,
    private readonly batchMs: number,
    private readonly opts: JournalStoreOptions,
  ) {
    this.db = db;
    const schemaFrom = migrate(db, (m) => new JournalError('SCHEMA', path, m));
    this.nextSeq = maxSeq(db) + 1;
    this.stmts = prepareAll(db);
    const { runId, report } = this.acquire(schemaFrom);
    this.runId = runId;
    this.opened = report;
    this.commitBatch = db.transaction((batch: { seq: number; rec: JournalRecord }[]) => {
      for (const { seq, rec } of batch) this.write(seq, rec);
    });
    if (policy !== 'always') {
      this.timer = setInterval(() => this.flushQuietly(), batchMs);
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
    try {
      return new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new JournalError('PATH', path, `cannot open: ${describeFsError(err)}`);
    }
  }

  /** Removes a writer lock left by a process that cannot be checked (another host). */
  static forceUnlock(path: string): JournalOwner | undefined {
    const db = new Database(path, { fileMustExist: true });
    try {
      const row = db.prepare('SELECT pid, host FROM writer_lock WHERE id = 1').get() as JournalOwner | undefined;
      db.prepare('DELETE FROM writer_lock').run();
      return row;
    } finally {
      db.close();
    }
  }

  // ---- writing ----------------------------------------------------------------------------

  /**
   * Queues a record (the engine thread's only cost). Under `always` it is committed before
   * this returns; false means that commit failed (the caller must not act on the record).
   */
  append(rec: JournalRecord): boolean {
    if (this.closed) return false;
    this.queue.push({ seq: this.nextSeq++, rec });
    if (this.policy === 'always') return this.flushQuietly();
    return true;
  }

  /** Records queued and not yet committed. */
  get pending(): number {
    return this.queue.length;
  }

  /** Commits everything queued in one transaction; throws JournalError (the batch stays queued). */
  flush(): number {
    if (this.queue.length === 0) return 0;
    const batch = this.queue;
    this.queue = [];
    try {
      this.commitBatch(batch);
    } catch (err) {
      this.queue = batch.concat(this.queue);
      throw new JournalError('WRITE', this.path, `commit of ${batch.length} record(s) failed: ${describeFsError(err)}`);
    }
    this.committed += batch.length;
    this.lastError = undefined;
    return batch.length;
  }

  private flushQuietly(): boolean {
    try {
      this.flush();
      return true;
    } catch (err) {
      const e = err as JournalError;
      // Report each distinct failure once, not every 50 ms.
      if (e.message !== this.lastError) {
        this.lastError = e.message;
        this.opts.onError?.(e);
      }
      return false;
    }
  }

  /**
   * Reserves client order ids up to `upTo`, committed at once (a rare synchronous write): after
   * a crash no id at or below it is issued again, even if the order record itself was lost.
   */
  reserveClientIds(upTo: number): void {
    this.flushQuietly();
    this.stmts.setMeta!.run('client_ids_reserved', String(upTo));
  }

  /** Flushes, marks the run ended and releases the writer lock. `clean` false plays a crash in tests. */
  close(opts: { clean?: boolean } = {}): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (opts.clean === false) {
      this.closed = true;
      this.db.close();
      return;
    }
    this.flushQuietly();
    this.closed = true;
    const now = (this.opts.now ?? Date.now)();
    this.db.transaction(() => {
      this.db.prepare('UPDATE runs SET ended_at = ?, clean_exit = ? WHERE run_id = ?').run(now, this.queue.length === 0 ? 1 : 0, this.runId);
      this.db.prepare('DELETE FROM writer_lock WHERE run_id = ?').run(this.runId);
    })();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A reader (an export) may hold the WAL; the next open checkpoints.
    }
    this.db.close();
  }

  // ---- reading ----------------------------------------------------------------------------

  /** Everything a restart replays, from what is committed (call before appending). */
  load(): JournalContents {
    return loadContents(this.db, this.runId);
  }

  /** The raw database for read-only queries (export, tests). */
  get database(): Db {
    return this.db;
  }

  // ---- internals --------------------------------------------------------------------------

  private acquire(schemaFrom: number): { runId: number; report: OpenReport } {
    const me = this.opts.owner ?? { pid: process.pid, host: hostname() };
    const alive = this.opts.isAlive ?? pidAlive;
    const now = (this.opts.now ?? Date.now)();
    const report: OpenReport = { schemaFrom };
    const tx = this.db.transaction(() => {
      const row = this.db.prepare('SELECT pid, host, started_at AS startedAt, run_id AS runId FROM writer_lock WHERE id = 1').get() as (JournalOwner & { startedAt: number; runId: number }) | undefined;
      if (row) {
        const sameHost = row.host === me.host;
        if (!sameHost || alive(row.pid)) {
          const where = sameHost ? `pid ${row.pid} on this host (${row.host})` : `pid ${row.pid} on host ${row.host}`;
          const hint = sameHost ? 'stop that process first; one journal has one writer' : 'stop it first; if it is gone, remove its lock with `cwts-ultra journal unlock --force`';
          throw new JournalError('LOCKED', this.path, `in use by another cwts-ultra process: ${where}, since ${new Date(row.startedAt).toISOString()}; ${hint}`);
        }
        report.staleLock = { pid: row.pid, host: row.host, startedAt: row.startedAt };
      }
      const prev = this.db.prepare('SELECT * FROM runs ORDER BY run_id DESC LIMIT 1').get() as RunRow | undefined;
      if (prev && prev.ended_at === null) report.uncleanPrevious = toRun(prev);
      const info = this.db
        .prepare('INSERT INTO runs (started_at, pid, host, system_name, config_digest) VALUES (?, ?, ?, ?, ?)')
        .run(now, me.pid, me.host, this.opts.systemName ?? null, this.opts.configDigest ?? null);
      const runId = Number(info.lastInsertRowid);
      this.db.prepare('INSERT OR REPLACE INTO writer_lock (id, pid, host, started_at, run_id) VALUES (1, ?, ?, ?, ?)').run(me.pid, me.host, now, runId);
      return runId;
    });
    const runId = tx.immediate();
    return { runId, report };
  }

  private write(seq: number, rec: JournalRecord): void {
    const s = this.stmts;
    switch (rec.t) {
      case 'order': {
        const o = rec.order;
        s.insertOrder!.run(o.clientOrderId, seq, o.exchange, o.symbol, o.side, o.type, o.price ?? null, o.qty, o.tif, o.source, o.status, o.filledQty, o.feeAtoms.toString(), o.venueOrderId ?? null, o.createdTs, o.updatedTs, journalStringify(o));
        break;
      }
      case 'report': {
        const r = rec.report;
        s.insertReport!.run(seq, r.clientOrderId, r.exchange, r.kind, rec.order.status, r.ts, rec.ts, journalStringify({ ...r, feeAsset: rec.feeAsset }));
        s.updateOrder!.run(rec.order.status, rec.order.filledQty, rec.order.feeAtoms.toString(), rec.order.venueOrderId ?? null, rec.ts, r.clientOrderId);
        if (r.kind === 'fill') s.insertFill!.run(seq, r.exchange, r.symbol, r.clientOrderId, r.tradeId ?? null, r.side, r.lastPrice, r.lastQty, r.feeAtoms.toString(), rec.feeAsset, r.liquidity ?? null, r.ts, rec.ts);
        break;
      }
      case 'risk':
        s.insertRisk!.run(seq, rec.from, rec.to, rec.reason, rec.who, rec.ts);
        break;
      case 'peak':
        s.insertPeak!.run(seq, rec.peak.toString(), rec.equity.toString(), rec.why, rec.ts);
        break;
      case 'signal': {
        const g = rec.signal;
        s.insertSignal!.run(seq, g.id, g.detector, g.exchange, g.symbol, g.direction, Number.isFinite(g.strength) ? g.strength : 0, g.ts, journalStringify(g));
        break;
      }
      case 'snapshot':
        s.insertSnapshot!.run(seq, rec.why, rec.equity.toString(), rec.realized.toString(), rec.unrealized.toString(), rec.fees.toString(), JSON.stringify(rec.marks), rec.ts);
        break;
      case 'reconcile':
        s.insertReconcile!.run(seq, rec.exchange, rec.clientOrderId ?? null, rec.kind, rec.detail, rec.ts);
        if (rec.kind === 'closed' && rec.clientOrderId) s.closeOrder!.run(rec.ts, rec.clientOrderId);
        break;
      case 'state':
        s.putState!.run(rec.scope, rec.key, seq, journalStringify(rec.value), rec.ts);
        break;
      case 'instrument':
        s.putInstrument!.run(rec.instrument.exchange, rec.instrument.symbol, journalStringify(rec.instrument));
        break;
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

function prepareAll(db: Db): Record<string, Statement> {
  return {
    insertOrder: db.prepare(
      `INSERT INTO orders (client_id, seq, exchange, symbol, side, type, price, qty, tif, source, status, filled_qty, fee_atoms, venue_order_id, created_ts, updated_ts, json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING`,
    ),
    updateOrder: db.prepare('UPDATE orders SET status = ?, filled_qty = ?, fee_atoms = ?, venue_order_id = coalesce(?, venue_order_id), updated_ts = ? WHERE client_id = ?'),
    closeOrder: db.prepare("UPDATE orders SET status = 'cancelled', updated_ts = ? WHERE client_id = ? AND status NOT IN ('filled', 'cancelled', 'rejected')"),
    insertReport: db.prepare('INSERT INTO execution_reports (seq, client_id, exchange, kind, status_after, venue_ts, ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertFill: db.prepare(
      'INSERT OR IGNORE INTO fills (seq, exchange, symbol, client_id, trade_id, side, price, qty, fee_atoms, fee_asset, liquidity, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertRisk: db.prepare('INSERT INTO risk_transitions (seq, from_state, to_state, reason, who, ts) VALUES (?, ?, ?, ?, ?, ?)'),
    insertPeak: db.prepare('INSERT INTO equity_peaks (seq, peak, equity, why, ts) VALUES (?, ?, ?, ?, ?)'),
    insertSignal: db.prepare('INSERT INTO signals (seq, id, detector, exchange, symbol, direction, strength, ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    insertSnapshot: db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertReconcile: db.prepare('INSERT INTO reconcile_events (seq, exchange, client_id, kind, detail, ts) VALUES (?, ?, ?, ?, ?, ?)'),
    putState: db.prepare('INSERT OR REPLACE INTO component_state (scope, key, seq, value, ts) VALUES (?, ?, ?, ?, ?)'),
    putInstrument: db.prepare('INSERT OR REPLACE INTO instruments (exchange, symbol, json) VALUES (?, ?, ?)'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };
}

const SEQ_TABLES = ['orders', 'execution_reports', 'fills', 'risk_transitions', 'equity_peaks', 'signals', 'snapshots', 'reconcile_events', 'component_state'];

function maxSeq(db: Db): number {
  const sql = SEQ_TABLES.map((t) => `SELECT max(seq) AS m FROM ${t}`).join(' UNION ALL ');
  const row = db.prepare(`SELECT max(m) AS m FROM (${sql})`).get() as { m: number | null };
  return row.m ?? 0;
}

/** Reads what a restart needs; shared by the writer (at open) and read-only tools. */
export function loadContents(db: Db, currentRunId?: number): JournalContents {
  const events: ReplayEvent[] = [];
  for (const r of db.prepare('SELECT seq, json FROM orders ORDER BY seq').iterate() as Iterable<{ seq: number; json: string }>) {
    const order = journalParse(r.json) as Order;
    // The row is the order as it left the engine; its later states come from the reports.
    events.push({ seq: r.seq, t: 'order', order: { ...order, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n } });
  }
  for (const r of db.prepare('SELECT seq, json FROM execution_reports ORDER BY seq').iterate() as Iterable<{ seq: number; json: string }>) {
    const { feeAsset, ...report } = journalParse(r.json) as ExecutionReport & { feeAsset: string };
    events.push({ seq: r.seq, t: 'report', report: report as ExecutionReport, feeAsset });
  }
  for (const r of db.prepare("SELECT seq, exchange, client_id, kind, detail, ts FROM reconcile_events WHERE kind = 'closed' ORDER BY seq").iterate() as Iterable<{ seq: number; exchange: string; client_id: string | null; kind: 'closed'; detail: string; ts: number }>) {
    events.push({ seq: r.seq, t: 'reconcile', exchange: r.exchange, clientOrderId: r.client_id ?? undefined, kind: r.kind, detail: r.detail, ts: r.ts });
  }
  events.sort((a, b) => a.seq - b.seq);
  const instruments = (db.prepare('SELECT json FROM instruments').all() as { json: string }[]).map((r) => journalParse(r.json) as Instrument);
  const risk = db.prepare('SELECT to_state, reason, who, ts FROM risk_transitions ORDER BY seq DESC LIMIT 1').get() as { to_state: RiskStateName; reason: string; who: string; ts: number } | undefined;
  const peak = db.prepare('SELECT peak, equity, ts FROM equity_peaks ORDER BY seq DESC LIMIT 1').get() as { peak: string; equity: string; ts: number } | undefined;
  const state = (db.prepare('SELECT scope, key, value, ts FROM component_state ORDER BY seq').all() as { scope: string; key: string; value: string; ts: number }[]).map((r) => ({ scope: r.scope, key: r.key, value: journalParse(r.value), ts: r.ts }));
  const lastFillTs: Record<string, number> = {};
  for (const r of db.prepare('SELECT exchange, max(venue_ts) AS ts FROM fills GROUP BY exchange').all() as { exchange: string; ts: number }[]) lastFillTs[r.exchange] = r.ts;
  const reserved = db.prepare("SELECT value FROM meta WHERE key = 'client_ids_reserved'").get() as { value: string } | undefined;
  const prev = db.prepare('SELECT * FROM runs WHERE run_id < ? ORDER BY run_id DESC LIMIT 1').get(currentRunId ?? Number.MAX_SAFE_INTEGER) as RunRow | undefined;
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return {
    events,
    instruments,
    lastRisk: risk ? { to: risk.to_state, reason: risk.reason, who: risk.who, ts: risk.ts } : undefined,
    lastPeak: peak ? { peak: BigInt(peak.peak), equity: BigInt(peak.equity), ts: peak.ts } : undefined,
    state,
    lastFillTs,
    reservedClientIds: reserved ? Number(reserved.value) : 0,
    previousRun: prev ? toRun(prev) : undefined,
    counts: { orders: count('orders'), fills: count('fills'), reports: count('execution_reports'), signals: count('signals'), snapshots: count('snapshots') },
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
